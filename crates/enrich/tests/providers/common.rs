//! Helpers shared by the provider tests.

#![allow(dead_code)]

use std::sync::Arc;

use picket_enrich::{ConnectorConfig, Recorder, Source, build_source};
use wiremock::MockServer;

/// A connector instance of `provider` pointed at `server`, with the key `KEY` (from a key file), no
/// retries unless `retries` says so, and a recorder for its call events.
pub fn source(
    provider: &str,
    server: &MockServer,
    retries: u32,
    tweak: impl FnOnce(&mut ConnectorConfig),
) -> (Source, Arc<Recorder>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), format!("{KEY}\n")).unwrap();
    let mut c = ConnectorConfig::new(&format!("test-{provider}"), provider);
    c.base_url = Some(server.uri());
    c.api_key_file = Some("key".into());
    c.retries = retries;
    c.timeout_ms = 2000;
    tweak(&mut c);
    let problems = c.check();
    assert!(problems.is_empty(), "test config invalid: {problems:?}");
    let rec = Arc::new(Recorder::default());
    let src = build_source(&c, dir.path(), rec.clone()).expect("build");
    (src, rec, dir)
}

pub const KEY: &str = "test-key-0123456789abcdef";

/// Asserts no recorded event or error text contains the key.
pub fn assert_no_secret(rec: &Recorder, extra: &str) {
    for e in rec.events() {
        let line = serde_json::to_string(&e).unwrap();
        assert!(!line.contains(KEY), "secret leaked into call event: {line}");
    }
    assert!(!extra.contains(KEY), "secret leaked into error: {extra}");
}

/// The behaviour every HTTP provider shares, checked against a server that answers every request
/// the same way: bad credentials (401, not retried, no secret anywhere), 403, 429 with Retry-After,
/// 5xx retried then reported, a hanging server timing out, a truncated body, the circuit breaker
/// opening through the guards, and a call event (telemetry and audit) for every request.
pub async fn conformance(provider: &str, kind: picket_core::ObservableType, value: &str) {
    use std::time::Duration;

    use picket_enrich::{Cache, ConnectorError, Enricher, EnrichmentConfig};
    use wiremock::matchers::any;
    use wiremock::{Mock, ResponseTemplate};

    async fn with(
        provider: &str,
        kind: picket_core::ObservableType,
        value: &str,
        response: ResponseTemplate,
        retries: u32,
    ) -> (ConnectorError, Vec<picket_enrich::CallEvent>, usize) {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(response)
            .mount(&server)
            .await;
        let (src, rec, _dir) = source(provider, &server, retries, |c| c.timeout_ms = 300);
        let err = src
            .connector
            .lookup(kind, value)
            .await
            .expect_err("the lookup must fail");
        assert_no_secret(&rec, &err.to_string());
        assert_no_secret(&rec, &format!("{err:?}"));
        let n = server.received_requests().await.unwrap().len();
        (err, rec.events(), n)
    }

    let (e, events, n) = with(
        provider,
        kind,
        value,
        ResponseTemplate::new(401).set_body_string(format!("{{\"error\": \"bad key {KEY}\"}}")),
        2,
    )
    .await;
    assert_eq!(e.code(), "unauthorized", "{provider}: {e}");
    assert_eq!(n, 1, "{provider}: 401 is not retried");
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].outcome, "unauthorized");
    assert_eq!(events[0].connector, format!("test-{provider}"));

    let (e, _, _) = with(provider, kind, value, ResponseTemplate::new(403), 0).await;
    assert_eq!(e.code(), "forbidden", "{provider}: {e}");

    let (e, _, _) = with(
        provider,
        kind,
        value,
        ResponseTemplate::new(429).insert_header("Retry-After", "3600"),
        2,
    )
    .await;
    assert_eq!(
        e,
        ConnectorError::RateLimited(Some(Duration::from_secs(3600))),
        "{provider}: a long Retry-After is reported, not slept on"
    );

    let (e, events, n) = with(provider, kind, value, ResponseTemplate::new(503), 1).await;
    assert_eq!(e.code(), "server_error", "{provider}: {e}");
    assert_eq!(n, 2, "{provider}: 5xx is retried");
    assert_eq!(events.iter().map(|e| e.attempt).collect::<Vec<_>>(), [1, 2]);

    let started = std::time::Instant::now();
    let (e, _, _) = with(
        provider,
        kind,
        value,
        ResponseTemplate::new(200).set_delay(Duration::from_secs(3)),
        0,
    )
    .await;
    assert_eq!(e.code(), "timeout", "{provider}: {e}");
    assert!(started.elapsed() < Duration::from_secs(2));

    let (e, _, _) = with(
        provider,
        kind,
        value,
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/json")
            .set_body_string("{\"data\": {\"attri"),
        0,
    )
    .await;
    assert_eq!(e.code(), "malformed_response", "{provider}: {e}");

    // Through the guards: consecutive failures open the breaker and stop the calls.
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let (mut src, _rec, _dir) = source(provider, &server, 0, |c| {
        c.breaker_failures = 2;
        c.timeout_ms = 300;
    });
    let mut cfg = (*src.config).clone();
    cfg.per_minute = Some(0);
    cfg.per_day = Some(0);
    src.config = std::sync::Arc::new(cfg);
    let e = Enricher::new(
        vec![src],
        EnrichmentConfig {
            send_private: true,
            ..EnrichmentConfig::default()
        },
        std::sync::Arc::new(Cache::new(10, None)),
    );
    let o = picket_core::Observable::new(kind, value, "f");
    let mut codes = Vec::new();
    for _ in 0..3 {
        let out = e.enrich("t", std::slice::from_ref(&o)).await;
        codes.push(out.indicators[0].failures[0].code.clone());
    }
    assert_eq!(
        codes,
        ["server_error", "server_error", "circuit_open"],
        "{provider}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    let stats = e.telemetry().snapshot();
    assert_eq!(
        stats[&format!("test-{provider}")].outcomes["server_error"],
        2
    );
}

/// One conformance test per provider: `conformance!(test_name, "provider", ObservableType::X, "value");`
#[macro_export]
macro_rules! conformance {
    ($name:ident, $provider:literal, $kind:expr, $value:literal) => {
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            $crate::common::conformance($provider, $kind, $value).await;
        }
    };
}
