//! Warninglist lookups per second against the shared MISP lists (all types mixed).
//! Run: `cargo bench -p picket-intel`. Figures: docs/performance.md.

use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use picket_core::ObservableType as T;
use picket_intel::Warninglists;

fn bench(c: &mut Criterion) {
    let dir = std::env::var_os("PICKET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
        .join("misp-warninglists");
    let (wl, _) = Warninglists::load_dir(&dir).unwrap();
    let values: Vec<(T, String)> = (0..20_000u32)
        .map(|i| match i % 4 {
            0 => (
                T::Ipv4,
                format!("{}.{}.{}.{}", i % 223 + 1, i % 251, i % 7, i % 250),
            ),
            1 => (T::Domain, format!("host{i}.example{}.com", i % 97)),
            2 => (T::Url, format!("https://w{i}.example.org/a/{i}")),
            _ => (
                T::Sha256,
                format!("{:064x}", u128::from(i) * 0x9e37_79b9_7f4a_7c15),
            ),
        })
        .collect();
    let mut g = c.benchmark_group("warninglists");
    g.throughput(Throughput::Elements(values.len() as u64));
    g.bench_function("hits_mixed_20k", |b| {
        b.iter(|| {
            values
                .iter()
                .map(|(k, v)| wl.hits(*k, v).len())
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
