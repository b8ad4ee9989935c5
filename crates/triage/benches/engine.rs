//! Criterion benchmark of dedup + correlation + assessment: alerts pushed per second on a synthetic
//! stream shaped like a SOC's (many repeats of a few noisy rules, a few rare ones, shared hosts).
//! Run: `cargo bench -p picket-triage`. Figures: docs/performance.md.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use picket_core::{Alert, Entities, Product, Rule, Severity, SourceFormat};
use picket_triage::{Engine, Knowledge, TriageConfig};

fn stream(n: usize) -> Vec<Alert> {
    (0..n)
        .map(|i| {
            let noisy = i % 10 != 0;
            let rule = if noisy {
                format!("noisy rule {}", i % 7)
            } else {
                format!("rare rule {}", i % 97)
            };
            let mut entities = Entities::default();
            entities.add_host(Some(&format!("host{}", i % 50)), None, None);
            entities.add_endpoint(
                &format!("10.0.{}.{}", i % 13, i % 251),
                None,
                picket_core::EndpointRole::Source,
            );
            Alert {
                id: format!("a{i}"),
                format: SourceFormat::Wazuh,
                source_event_id: Some(format!("a{i}")),
                time: Timestamp::from_second(1_700_000_000 + (i as i64) / 10).unwrap(),
                product: Product {
                    vendor: "v".into(),
                    name: "p".into(),
                },
                rule: Rule {
                    id: None,
                    name: rule.clone(),
                    category: None,
                },
                severity: if noisy {
                    Severity::Low
                } else {
                    Severity::Medium
                },
                vendor_severity: None,
                message: rule,
                entities,
                attack: Vec::new(),
                observables: Vec::new(),
                raw_sha256: "0".repeat(64),
                raw: String::new(),
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let alerts = stream(100_000);
    let mut g = c.benchmark_group("triage");
    g.throughput(Throughput::Elements(alerts.len() as u64));
    g.sample_size(10);
    g.bench_function("push_100k_then_assess", |b| {
        b.iter_batched(
            || Engine::new(TriageConfig::default(), Knowledge::default()),
            |mut e| {
                for a in &alerts {
                    e.push(a);
                }
                std::hint::black_box(e.finish())
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
