//! The enrichment step with in-process connectors: fan-out, deadline and partial results, background
//! completion into the cache, private-address rule, quotas, circuit breaker, TTL per verdict.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use picket_core::{Finding, IntelVerdict, Observable, ObservableType};
use picket_enrich::{
    BuildContext, Cache, Connector, ConnectorConfig, ConnectorError, Enricher, EnrichmentConfig,
    KeyUse, Provider, Quota, Source,
};

struct Fake {
    delay: Duration,
    answer: Result<IntelVerdict, ConnectorError>,
    calls: AtomicU32,
}

#[async_trait]
impl Connector for Fake {
    fn kinds(&self) -> &[ObservableType] {
        &[ObservableType::Ipv4, ObservableType::Domain]
    }
    async fn lookup(&self, _: ObservableType, _: &str) -> Result<Finding, ConnectorError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        self.answer.clone().map(|v| Finding {
            verdict: Some(v),
            ..Finding::default()
        })
    }
    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        Ok("fake".into())
    }
}

fn nobuild(_: &ConnectorConfig, _: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    Err(ConnectorError::Config("test provider".into()))
}

static ONLINE: Provider = Provider {
    name: "fake-online",
    description: "test",
    docs: "",
    kinds: &[ObservableType::Ipv4, ObservableType::Domain],
    default_base_url: None,
    http: true,
    key: KeyUse::None,
    quota: Quota {
        per_minute: None,
        per_day: None,
    },
    check: |_| Vec::new(),
    build: nobuild,
};

static OFFLINE: Provider = Provider {
    name: "fake-offline",
    http: false,
    ..ONLINE
};

fn source(
    name: &str,
    provider: &'static Provider,
    fake: Arc<Fake>,
    tweak: impl FnOnce(&mut ConnectorConfig),
) -> Source {
    let mut c = ConnectorConfig::new(name, provider.name);
    tweak(&mut c);
    Source {
        config: Arc::new(c),
        provider,
        connector: fake,
    }
}

fn fake(delay_ms: u64, answer: Result<IntelVerdict, ConnectorError>) -> Arc<Fake> {
    Arc::new(Fake {
        delay: Duration::from_millis(delay_ms),
        answer,
        calls: AtomicU32::new(0),
    })
}

fn ip(v: &str) -> Observable {
    Observable::new(ObservableType::Ipv4, v, "f")
}

fn cfg(deadline_ms: u64) -> EnrichmentConfig {
    EnrichmentConfig {
        deadline_ms,
        ..EnrichmentConfig::default()
    }
}

fn cache() -> Arc<Cache> {
    Arc::new(Cache::new(10_000, None))
}

#[tokio::test(start_paused = true)]
async fn fans_out_every_indicator_to_every_source_and_combines() {
    let a = fake(50, Ok(IntelVerdict::Malicious));
    let b = fake(80, Ok(IntelVerdict::Benign));
    let e = Enricher::new(
        vec![
            source("a", &ONLINE, a.clone(), |_| {}),
            source("b", &ONLINE, b.clone(), |_| {}),
        ],
        cfg(1000),
        cache(),
    );
    let obs = [ip("198.51.100.1"), ip("198.51.100.2"), ip("198.51.100.1")];
    let out = e.enrich("alert:x", &obs).await;
    assert_eq!(out.indicators.len(), 2, "duplicates looked up once");
    assert!(!out.partial);
    assert_eq!(out.summary.lookups, 4);
    assert_eq!(out.summary.malicious, 2);
    for i in &out.indicators {
        assert_eq!(i.verdict, IntelVerdict::Malicious);
        let names: Vec<_> = i.results.iter().map(|r| r.source.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
    }
    // Concurrent: the whole fan-out took about the slowest source, not the sum.
    assert!(out.elapsed_ms < 150, "took {} ms", out.elapsed_ms);
    assert_eq!(a.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_makes_it_partial_and_late_answers_fill_the_cache() {
    let slow = fake(5_000, Ok(IntelVerdict::Malicious));
    let fast = fake(10, Ok(IntelVerdict::Unknown));
    let e = Enricher::new(
        vec![
            source("slow", &ONLINE, slow.clone(), |_| {}),
            source("fast", &ONLINE, fast, |_| {}),
        ],
        cfg(200),
        cache(),
    );
    let out = e.enrich("alert:x", &[ip("198.51.100.9")]).await;
    assert!(out.partial);
    assert!(
        out.elapsed_ms <= 250,
        "never waited past the deadline: {}",
        out.elapsed_ms
    );
    let i = &out.indicators[0];
    assert_eq!(i.failures.len(), 1);
    assert_eq!(i.failures[0].source, "slow");
    assert_eq!(i.failures[0].code, "deadline");
    assert_eq!(i.results.len(), 1);
    // The slow lookup finishes in the background and lands in the cache.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let again = e.enrich("alert:y", &[ip("198.51.100.9")]).await;
    assert!(!again.partial);
    let hit = again.indicators[0]
        .results
        .iter()
        .find(|r| r.source == "slow")
        .unwrap();
    assert!(hit.cached);
    assert_eq!(again.indicators[0].verdict, IntelVerdict::Malicious);
    assert_eq!(
        slow.calls.load(Ordering::SeqCst),
        1,
        "answered from the cache"
    );
    assert_eq!(e.telemetry().snapshot()["slow"].cache_hits, 1);
}

#[tokio::test(start_paused = true)]
async fn private_addresses_stay_home_unless_allowed() {
    let online = fake(1, Ok(IntelVerdict::Unknown));
    let offline = fake(1, Ok(IntelVerdict::Unknown));
    let e = Enricher::new(
        vec![
            source("online", &ONLINE, online.clone(), |_| {}),
            source("offline", &OFFLINE, offline.clone(), |_| {}),
        ],
        cfg(1000),
        cache(),
    );
    let mut private = ip("10.1.2.3");
    private.labels.push("private".into());
    let out = e.enrich("alert:x", &[private]).await;
    let sources: Vec<_> = out.indicators[0]
        .results
        .iter()
        .map(|r| r.source.as_str())
        .collect();
    assert_eq!(sources, ["offline"]);
    assert_eq!(online.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn the_breaker_opens_after_consecutive_failures_then_tries_again() {
    let failing = fake(
        1,
        Err(ConnectorError::Server {
            status: 503,
            message: "down".into(),
        }),
    );
    let e = Enricher::new(
        vec![source("f", &ONLINE, failing.clone(), |c| {
            c.breaker_failures = 3;
            c.breaker_cooldown_secs = 60;
        })],
        cfg(1000),
        cache(),
    );
    let obs: Vec<_> = (1..=5).map(|i| ip(&format!("198.51.100.{i}"))).collect();
    for o in &obs[..3] {
        let out = e.enrich("a", std::slice::from_ref(o)).await;
        assert_eq!(out.indicators[0].failures[0].code, "server_error");
    }
    let out = e.enrich("a", &obs[3..4]).await;
    assert_eq!(out.indicators[0].failures[0].code, "circuit_open");
    assert_eq!(
        failing.calls.load(Ordering::SeqCst),
        3,
        "no call while open"
    );
    tokio::time::sleep(Duration::from_secs(61)).await;
    let out = e.enrich("a", &obs[4..5]).await;
    assert_eq!(out.indicators[0].failures[0].code, "server_error");
    assert_eq!(
        failing.calls.load(Ordering::SeqCst),
        4,
        "one trial after the cooldown"
    );
}

#[tokio::test(start_paused = true)]
async fn quotas_fail_fast_instead_of_waiting_past_the_deadline() {
    let f = fake(1, Ok(IntelVerdict::Unknown));
    let e = Enricher::new(
        vec![source("q", &ONLINE, f.clone(), |c| {
            c.per_minute = Some(2);
            c.cache_ttl.unknown = 0;
        })],
        cfg(1000),
        cache(),
    );
    let obs: Vec<_> = (1..=3).map(|i| ip(&format!("198.51.100.{i}"))).collect();
    let out = e.enrich("a", &obs).await;
    let codes: Vec<_> = out
        .indicators
        .iter()
        .flat_map(|i| i.failures.iter().map(|f| f.code.as_str()))
        .collect();
    assert_eq!(codes, ["rate_limited"]);
    assert_eq!(out.summary.lookups, 2);
    // Half a minute later the bucket has refilled one token.
    tokio::time::sleep(Duration::from_secs(31)).await;
    let out = e.enrich("a", &obs[..1]).await;
    assert!(!out.partial);
}

#[tokio::test(start_paused = true)]
async fn daily_quota_exhaustion_is_its_own_code() {
    let f = fake(1, Ok(IntelVerdict::Unknown));
    let e = Enricher::new(
        vec![source("d", &ONLINE, f, |c| {
            c.per_day = Some(1);
            c.cache_ttl.unknown = 0;
        })],
        cfg(1000),
        cache(),
    );
    e.enrich("a", &[ip("198.51.100.1")]).await;
    let out = e.enrich("a", &[ip("198.51.100.2")]).await;
    assert_eq!(out.indicators[0].failures[0].code, "quota_exhausted");
}

#[tokio::test(start_paused = true)]
async fn ttl_depends_on_the_verdict_and_extra_indicators_are_reported() {
    let f = fake(1, Ok(IntelVerdict::Unknown));
    let e = Enricher::new(
        vec![source("t", &ONLINE, f.clone(), |c| c.cache_ttl.unknown = 0)],
        EnrichmentConfig {
            max_indicators: 2,
            ..cfg(1000)
        },
        cache(),
    );
    let obs: Vec<_> = (1..=3).map(|i| ip(&format!("198.51.100.{i}"))).collect();
    let out = e.enrich("a", &obs).await;
    assert_eq!(out.indicators.len(), 3);
    assert_eq!(out.indicators[2].failures[0].code, "skipped");
    e.enrich("a", &obs[..1]).await;
    assert_eq!(
        f.calls.load(Ordering::SeqCst),
        3,
        "unknown answers with TTL 0 are not cached"
    );
}
