//! Enrichment fan-out and cache latency with in-process connectors of known latency.
//!
//! Criterion measures throughput; the p99 figures the targets speak of (fan-out p99 vs the slowest
//! connector's p99, cache-hit p99) are measured here directly over many runs and printed, since a
//! mean says nothing about tails. `cargo bench -p picket-enrich --bench fanout`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use picket_core::{Finding, IntelVerdict, Observable, ObservableType};
use picket_enrich::{
    BuildContext, Cache, Connector, ConnectorConfig, ConnectorError, Enricher, EnrichmentConfig,
    KeyUse, Provider, Quota, Source,
};

/// Latency: `base` plus a deterministic spread up to `spread` (a cheap LCG over the value).
struct Sim {
    base: Duration,
    spread: Duration,
}

#[async_trait]
impl Connector for Sim {
    fn kinds(&self) -> &[ObservableType] {
        &[ObservableType::Ipv4]
    }
    async fn lookup(&self, _: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        let h = value.bytes().fold(1469598103934665603u64, |h, b| {
            (h ^ b as u64).wrapping_mul(1099511628211)
        });
        let jitter = self.spread.mul_f64((h % 1000) as f64 / 1000.0);
        tokio::time::sleep(self.base + jitter).await;
        Ok(Finding {
            verdict: Some(IntelVerdict::Unknown),
            ..Finding::default()
        })
    }
    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        Ok("sim".into())
    }
}

fn nobuild(_: &ConnectorConfig, _: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    Err(ConnectorError::Config("bench".into()))
}

static SIM: Provider = Provider {
    name: "sim",
    description: "simulated",
    docs: "",
    kinds: &[ObservableType::Ipv4],
    default_base_url: None,
    http: false,
    key: KeyUse::None,
    quota: Quota {
        per_minute: None,
        per_day: None,
    },
    check: |_| Vec::new(),
    build: nobuild,
};

fn enricher(connectors: usize, cache: Arc<Cache>) -> Enricher {
    let sources = (0..connectors)
        .map(|i| {
            let mut c = ConnectorConfig::new(&format!("sim{i}"), "sim");
            c.concurrency = 128;
            c.cache_ttl.unknown = 0; // measure fan-out, not the cache
            Source {
                config: Arc::new(c),
                provider: &SIM,
                connector: Arc::new(Sim {
                    base: Duration::from_millis(5 + i as u64),
                    spread: Duration::from_millis(10),
                }),
            }
        })
        .collect();
    Enricher::new(
        sources,
        EnrichmentConfig {
            deadline_ms: 10_000,
            max_indicators: 1000,
            ..EnrichmentConfig::default()
        },
        cache,
    )
}

fn indicators(n: usize, salt: usize) -> Vec<Observable> {
    (0..n)
        .map(|i| {
            Observable::new(
                ObservableType::Ipv4,
                format!("198.51.{}.{}", salt % 250, i % 250 + 1),
                "f",
            )
        })
        .collect()
}

fn p99(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 99 / 100).min(v.len() - 1)]
}

fn report(rt: &tokio::runtime::Runtime) {
    for connectors in [8usize, 16, 32] {
        let e = enricher(connectors, Arc::new(Cache::new(10, None)));
        let mut fan = Vec::new();
        for run in 0..60 {
            let obs = indicators(100, run);
            let t = Instant::now();
            let out = rt.block_on(e.enrich("bench", &obs));
            fan.push(t.elapsed());
            assert!(!out.partial);
        }
        // The slowest simulated connector's own latency distribution: base 5+(n-1) ms + up to 10 ms.
        let slowest = Duration::from_millis(5 + connectors as u64 - 1) + Duration::from_millis(10);
        println!(
            "fanout/{connectors}x100: p99 {:.2} ms; slowest connector p99 ≤ {:.2} ms; overhead ≤ {:.2} ms",
            p99(fan.clone()).as_secs_f64() * 1e3,
            slowest.as_secs_f64() * 1e3,
            (p99(fan).as_secs_f64() - slowest.as_secs_f64()) * 1e3
        );
    }
    // Cache hits: every answer in memory.
    let cache = Arc::new(Cache::new(100_000, None));
    let mut c = ConnectorConfig::new("sim0", "sim");
    c.cache_ttl.unknown = 3600;
    let e = Enricher::new(
        vec![Source {
            config: Arc::new(c),
            provider: &SIM,
            connector: Arc::new(Sim {
                base: Duration::ZERO,
                spread: Duration::ZERO,
            }),
        }],
        EnrichmentConfig::default(),
        cache.clone(),
    );
    let obs = indicators(1, 7);
    rt.block_on(e.enrich("warm", &obs));
    let mut hits = Vec::new();
    let now = jiff::Timestamp::now();
    for _ in 0..100_000 {
        let t = Instant::now();
        let r = cache.get("sim0", ObservableType::Ipv4, &obs[0].value, 720, now);
        hits.push(t.elapsed());
        assert!(r.is_some());
    }
    println!("cache/hit: p99 {:.2} µs", p99(hits).as_secs_f64() * 1e6);
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    report(&rt);
    let e = enricher(8, Arc::new(Cache::new(10, None)));
    let obs = indicators(100, 1);
    c.bench_function("enrich/fanout_8x100", |b| {
        b.iter(|| rt.block_on(e.enrich("b", &obs)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
