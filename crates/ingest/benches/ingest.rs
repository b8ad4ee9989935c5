//! Criterion benchmarks of the pure ingest stages on the shared vendor samples: serde_json parse alone
//! (the reference), split + normalize (parse, detect, map, hash, extract), and extraction on text.
//! Run: `cargo bench -p picket-ingest`. Figures: docs/performance.md.

use std::path::{Path, PathBuf};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use picket_ingest::extract::Extractor;
use picket_ingest::{InputKind, Normalizer, split};

fn samples() -> Vec<String> {
    let base = std::env::var_os("PICKET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(base.join("alerts"))
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for d in dirs {
        let mut files: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .flatten()
            .map(|f| f.path())
            .collect();
        files.sort();
        for f in files {
            let v: serde_json::Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
            out.push(serde_json::to_string(&v).unwrap());
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let docs = samples();
    let ndjson = docs.join("\n");
    let mut g = c.benchmark_group("ingest");
    g.throughput(Throughput::Elements(docs.len() as u64));
    g.bench_function("serde_json_parse", |b| {
        b.iter(|| {
            for d in &docs {
                std::hint::black_box(serde_json::from_str::<serde_json::Value>(d).unwrap());
            }
        })
    });
    let normalizer = Normalizer::default();
    g.bench_function("split_normalize", |b| {
        b.iter_batched(
            || ndjson.as_bytes(),
            |bytes| {
                for r in split(bytes, InputKind::Json, "bench").into_iter().flatten() {
                    let _ = std::hint::black_box(normalizer.normalize_owned(r));
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let text = "Beacon to hxxp://evil[.]example[.]com/gate.php from 10.1.2.3 and 2001:db8::1; dropped \
                invoice.pdf (44d88612fea8a8f36de82e1278abb02f) mailed by bob@example.org, CVE-2021-44228. "
        .repeat(20);
    let ex = Extractor::new();
    let mut g = c.benchmark_group("extract");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("text_2kb", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            ex.extract_text(&text, "text", &mut out);
            std::hint::black_box(out)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
