//! The service enriches triaged alerts in the background and re-assesses their incidents; answers
//! are cached in the store, so a restart re-enriches its replay window without asking again.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use picket_core::{Finding, IntelVerdict, ObservableType};
use picket_enrich::{
    BuildContext, Cache, Connector, ConnectorConfig, ConnectorError, Enricher, EnrichmentConfig,
    KeyUse, Provider, Quota, Source,
};
use picket_server::{Pipeline, Role, ServerConfig, StoreCache, TokenConfig};
use picket_store::{SqliteStore, Store};
use serde_json::Value;
use tower::ServiceExt;

const TOKEN: &str = "admin-token-for-tests-0001";

struct Intel {
    calls: AtomicU32,
}

#[async_trait]
impl Connector for Intel {
    fn kinds(&self) -> &[ObservableType] {
        &[ObservableType::Ipv4]
    }
    async fn lookup(&self, _: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(Finding {
            verdict: Some(if value == "45.33.32.156" {
                IntelVerdict::Malicious
            } else {
                IntelVerdict::Unknown
            }),
            score: Some(0.95),
            ..Finding::default()
        })
    }
    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        Ok("ok".into())
    }
}

fn nobuild(_: &ConnectorConfig, _: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    Err(ConnectorError::Config("test".into()))
}

static TEST_PROVIDER: Provider = Provider {
    name: "test-intel",
    description: "in-process test source",
    docs: "",
    kinds: &[ObservableType::Ipv4],
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

const EVE: &str = r#"{"timestamp":"2026-11-20T10:00:00.000000+0000","flow_id":991,"event_type":"alert","src_ip":"10.0.0.5","src_port":51514,"dest_ip":"45.33.32.156","dest_port":4444,"proto":"TCP","host":"sensor1","alert":{"action":"allowed","gid":1,"signature_id":2100498,"rev":7,"signature":"GPL ATTACK_RESPONSE id check returned root","category":"Potentially Bad Traffic","severity":2}}"#;

async fn start(
    dir: &std::path::Path,
    intel: Arc<Intel>,
) -> (Arc<dyn Store>, axum::Router, picket_server::Worker) {
    std::fs::write(dir.join("admin.token"), TOKEN).unwrap();
    let cfg = ServerConfig {
        tokens: vec![TokenConfig {
            name: "admin".into(),
            token_env: None,
            token_file: Some(dir.join("admin.token")),
            role: Role::Admin,
        }],
        ..ServerConfig::default()
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.join("data")).await.unwrap());
    let source = Source {
        config: Arc::new(ConnectorConfig::new("intel", "test-intel")),
        provider: &TEST_PROVIDER,
        connector: intel,
    };
    let cache = Arc::new(Cache::new(1000, Some(Arc::new(StoreCache(store.clone())))));
    let enricher = Enricher::new(vec![source], EnrichmentConfig::default(), cache);
    let pipeline = Pipeline {
        enricher: Some(Arc::new(enricher)),
        ..Pipeline::default()
    };
    let (state, worker) = picket_server::prepare(&cfg, store.clone(), pipeline)
        .await
        .unwrap();
    (store, picket_server::router(state), worker)
}

async fn call(router: &axum::Router, method: Method, uri: &str, body: &str) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn incidents_are_reassessed_when_intel_arrives_and_answers_survive_restart() {
    let dir = tempfile::tempdir().unwrap();
    let intel = Arc::new(Intel {
        calls: AtomicU32::new(0),
    });
    let (store, router, mut worker) = start(dir.path(), intel.clone()).await;
    let (st, _) = call(&router, Method::POST, "/api/v1/alerts", EVE).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(worker.run_once().await.unwrap(), 1);
    // Stored at once, without intel: triage does not wait for it.
    let (_, page) = call(&router, Method::GET, "/api/v1/incidents", "").await;
    let id = page["incidents"][0]["id"].as_str().unwrap().to_owned();
    assert!(page["incidents"][0].get("enrichment").is_none());

    let n = worker.settle_intel(Duration::from_secs(5)).await.unwrap();
    assert_eq!(n, 1, "the incident holding the indicator is re-assessed");
    let (_, one) = call(&router, Method::GET, &format!("/api/v1/incidents/{id}"), "").await;
    let inc = &one["incident"];
    assert_eq!(inc["enrichment"]["summary"]["malicious"], 1);
    assert!(
        inc["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["source"] == "intel:intel:ipv4:45.33.32.156"),
        "{inc}"
    );
    // Only the public address was sent.
    assert_eq!(intel.calls.load(Ordering::SeqCst), 1);

    // The alert's own enrichment artifact (from the cache).
    let alert_id = inc["alerts"][0]["id"].as_str().unwrap();
    let (st, ae) = call(
        &router,
        Method::GET,
        &format!("/api/v1/alerts/{alert_id}/enrichment"),
        "",
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(ae["subject"], format!("alert:{alert_id}"));
    assert_eq!(ae["summary"]["malicious"], 1);
    assert_eq!(ae["indicators"][0]["results"][0]["cached"], true);
    assert_eq!(intel.calls.load(Ordering::SeqCst), 1);

    // ATT&CK coverage over stored incidents (this one names no technique).
    let (st, cov) = call(&router, Method::GET, "/api/v1/attack/coverage", "").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(cov["incidents"], 1);
    assert!(cov["techniques"].as_array().unwrap().is_empty());
    let (st, _) = call(
        &router,
        Method::GET,
        "/api/v1/attack/coverage?since=yesterday",
        "",
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    // Analysts can look an indicator up; the answer comes from the cache.
    let (st, one) = call(&router, Method::GET, "/api/v1/intel/ipv4/45.33.32.156", "").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(one["verdict"], "malicious");
    assert_eq!(one["results"][0]["cached"], true);
    assert_eq!(intel.calls.load(Ordering::SeqCst), 1);
    let (st, err) = call(&router, Method::GET, "/api/v1/intel/ipv5/x", "").await;
    assert_eq!(
        (st, err["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let req = Request::builder()
        .uri("/metrics")
        .body(Body::empty())
        .unwrap();
    let resp = router.clone().oneshot(req).await.unwrap();
    let text = String::from_utf8(
        axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.contains(r#"picket_intel_lookups_total{source="intel",outcome="ok"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"picket_intel_cache_hits_total{source="intel"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"picket_intel_circuit_open{source="intel"} 0"#),
        "{text}"
    );

    // Restart: the replayed alert's indicators are re-enriched from the store's cache.
    drop((router, worker));
    store.close().await;
    drop(store);
    let again = Arc::new(Intel {
        calls: AtomicU32::new(0),
    });
    let (_store, router, mut worker) = start(dir.path(), again.clone()).await;
    worker.settle_intel(Duration::from_secs(2)).await.unwrap();
    assert_eq!(
        again.calls.load(Ordering::SeqCst),
        0,
        "answered from the store"
    );
    let second = EVE.replace("\"flow_id\":991", "\"flow_id\":992");
    call(&router, Method::POST, "/api/v1/alerts", &second).await;
    worker.run_once().await.unwrap();
    let (_, one) = call(&router, Method::GET, &format!("/api/v1/incidents/{id}"), "").await;
    assert_eq!(one["incident"]["alert_count"], 2);
    assert_eq!(
        one["incident"]["enrichment"]["summary"]["malicious"], 1,
        "the re-assessed incident keeps its intel evidence after the restart"
    );
}
