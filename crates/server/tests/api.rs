//! The HTTP API driven through `router(state)` with `oneshot`, over a SQLite store in a temp dir.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use picket_server::{Pipeline, Role, ServerConfig, TokenConfig, Worker};
use picket_store::{SqliteStore, Store};
use serde_json::{Value, json};
use tower::ServiceExt;

const INGEST: &str = "ingest-secret-0000000001";
const ANALYST: &str = "analyst-secret-000000001";
const VIEWER: &str = "viewer-secret-0000000001";

/// The shared sample data: `PICKET_SHARED_DATA`, or `shared/data` beside the repository.
fn shared_data() -> PathBuf {
    std::env::var_os("PICKET_SHARED_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    )
}

fn wazuh_samples() -> Vec<String> {
    let dir = shared_data().join("alerts/wazuh");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no Wazuh samples in {}", dir.display());
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

/// The sshd brute-force sample, as a value to vary.
fn sshd_alert() -> Value {
    let dir = shared_data().join("alerts/wazuh/sshd_bruteforce_custom_rule_mitre.json");
    serde_json::from_str(&std::fs::read_to_string(dir).unwrap()).unwrap()
}

fn csv_mapping() -> picket_ingest::adapters::generic::GenericMapping {
    serde_json::from_value(json!({
        "name": "fw",
        "time": "time",
        "rule_name": "signature",
        "event_id": "event_id",
        "hosts": ["host"],
        "src_ips": ["src"],
    }))
    .unwrap()
}

struct Server {
    dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    router: Router,
    worker: Worker,
}

fn config(dir: &std::path::Path) -> ServerConfig {
    let token = |name: &str, secret: &str, role| {
        let path = dir.join(format!("{name}.token"));
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        TokenConfig {
            name: name.to_owned(),
            token_env: None,
            token_file: Some(path),
            role,
        }
    };
    ServerConfig {
        tokens: vec![
            token("shipper", INGEST, Role::Ingest),
            token("alice", ANALYST, Role::Analyst),
            token("dashboard", VIEWER, Role::Viewer),
        ],
        ..ServerConfig::default()
    }
}

fn pipeline() -> Pipeline {
    Pipeline {
        mappings: vec![csv_mapping()],
        warninglists: Some(tiny_warninglists()),
        ..Pipeline::default()
    }
}

/// One MISP-format list covering the address range of the Wazuh samples' sources.
fn tiny_warninglists() -> picket_intel::Warninglists {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("lists/test-range");
    std::fs::create_dir_all(&list).unwrap();
    std::fs::write(
        list.join("list.json"),
        r#"{"name": "Test lab range", "type": "cidr", "version": 1, "description": "test",
            "matching_attributes": ["ip-src", "ip-dst"], "list": ["192.168.121.0/24"]}"#,
    )
    .unwrap();
    let (lists, problems) = picket_intel::Warninglists::load_dir(dir.path()).unwrap();
    assert!(problems.is_empty(), "{problems:?}");
    lists
}

impl Server {
    async fn start(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        tweak(&mut cfg);
        Self::open(dir, &cfg).await
    }

    /// Opens the store under `dir/data` and prepares the server, as a (re)starting process does.
    async fn open(dir: tempfile::TempDir, cfg: &ServerConfig) -> Self {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(dir.path().join("data")).await.unwrap());
        let (state, worker) = picket_server::prepare(cfg, store.clone(), pipeline())
            .await
            .unwrap();
        Self {
            dir,
            store,
            router: picket_server::router(state),
            worker,
        }
    }

    /// Stops everything (nothing processed in between), closes the store, and starts again.
    async fn restart(self) -> Self {
        let cfg = config(self.dir.path());
        let Self {
            dir,
            store,
            router,
            worker,
        } = self;
        drop((router, worker));
        store.close().await;
        drop(store);
        Self::open(dir, &cfg).await
    }

    async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if let Some(ct) = content_type {
            req = req.header(header::CONTENT_TYPE, ct);
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(body.into()).unwrap())
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let value = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (parts.status, parts.headers, value)
    }

    async fn post_alerts(&self, ct: &str, body: impl Into<Body>) -> (StatusCode, Value) {
        let (s, _, v) = self
            .call(Method::POST, "/api/v1/alerts", Some(INGEST), Some(ct), body)
            .await;
        (s, v)
    }

    async fn get(&self, uri: &str, token: &str) -> (StatusCode, Value) {
        let (s, _, v) = self
            .call(Method::GET, uri, Some(token), None, Body::empty())
            .await;
        (s, v)
    }

    /// Runs the worker until the queue is empty; returns the alerts processed.
    async fn triage(&mut self) -> usize {
        let mut total = 0;
        loop {
            match self.worker.run_once().await.unwrap() {
                0 => return total,
                n => total += n,
            }
        }
    }
}

fn statuses(report: &Value) -> Vec<&str> {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn missing_or_wrong_tokens_are_401_and_wrong_roles_403() {
    let s = Server::start(|_| {}).await;
    let (st, _, body) = s
        .call(Method::GET, "/api/v1/incidents", None, None, Body::empty())
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthorized");
    let (st, _, _) = s
        .call(
            Method::GET,
            "/api/v1/incidents",
            Some("not-a-valid-token-at-all"),
            None,
            Body::empty(),
        )
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _, body) = s
        .call(
            Method::POST,
            "/api/v1/alerts",
            Some(VIEWER),
            Some("application/json"),
            "{}",
        )
        .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden");
    assert_eq!(
        s.get("/api/v1/incidents", INGEST).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(s.get("/api/v1/incidents", VIEWER).await.0, StatusCode::OK);
    let (st, _, body) = s
        .call(Method::GET, "/healthz", None, None, Body::empty())
        .await;
    assert_eq!((st, body), (StatusCode::OK, json!({"status": "ok"})));
}

#[tokio::test]
async fn no_tokens_is_refused_unless_opted_in_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_in_memory().await.unwrap());
    let none = ServerConfig::default();
    assert!(
        picket_server::prepare(&none, store.clone(), pipeline())
            .await
            .is_err()
    );
    let exposed = ServerConfig {
        listen: "0.0.0.0:8080".parse().unwrap(),
        allow_unauthenticated_loopback: true,
        ..ServerConfig::default()
    };
    let err = picket_server::prepare(&exposed, store.clone(), pipeline())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("loopback"), "{err}");
    let open = ServerConfig {
        allow_unauthenticated_loopback: true,
        ..ServerConfig::default()
    };
    let (state, _) = picket_server::prepare(&open, store.clone(), pipeline())
        .await
        .unwrap();
    let resp = picket_server::router(state)
        .oneshot(
            Request::get("/api/v1/incidents")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // A token file that cannot be read stops the start, naming the token but not leaking anything.
    let mut cfg = config(dir.path());
    cfg.tokens[0].token_file = Some(dir.path().join("missing.token"));
    let err = picket_server::prepare(&cfg, store, pipeline())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("shipper"), "{err}");
}

#[tokio::test]
async fn a_batch_keeps_good_records_and_dead_letters_bad_ones() {
    let s = Server::start(|_| {}).await;
    let good = serde_json::to_string(&sshd_alert()).unwrap();
    let mut body = Vec::new();
    body.extend_from_slice(good.as_bytes());
    body.extend_from_slice(b"\n{bad\n\xff\xfe{\"x\":1}\n{\"hello\":\"world\"}\n");
    let (st, report) = s.post_alerts("application/x-ndjson", body).await;
    assert_eq!(st, StatusCode::MULTI_STATUS, "{report}");
    assert_eq!(
        (report["accepted"].as_u64(), report["rejected"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(
        statuses(&report),
        vec!["accepted", "rejected", "rejected", "rejected"]
    );
    let results = report["results"].as_array().unwrap();
    assert_eq!(results[1]["code"], "invalid_json");
    assert_eq!(results[1]["line"], 2);
    assert_eq!(results[3]["code"], "unknown_format");
    assert!(results[0]["id"].as_str().unwrap().starts_with("al_"));

    let (st, letters) = s.get("/api/v1/dead-letters", VIEWER).await;
    assert_eq!(st, StatusCode::OK);
    let letters = letters.as_array().unwrap();
    assert_eq!(letters.len(), 3);
    // Newest first; the record with invalid UTF-8 keeps its exact bytes.
    let bad_utf8 = letters.iter().find(|l| l["line"] == 3).unwrap();
    assert_eq!(bad_utf8["raw_hex"], hex::encode(b"\xff\xfe{\"x\":1}"));
    assert!(bad_utf8.get("raw").is_none());
    assert_eq!(bad_utf8["code"], "invalid_json");
    let unknown = letters.iter().find(|l| l["line"] == 4).unwrap();
    assert_eq!(unknown["raw"], "{\"hello\":\"world\"}");
    assert!(unknown["message"].as_str().unwrap().contains("no adapter"));

    // Every record rejected: 422 with the same report.
    let (st, report) = s
        .post_alerts("application/json", "[1, {\"hello\": 2}]")
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(statuses(&report), vec!["rejected", "rejected"]);
    // Nothing at all: 400.
    let (st, err) = s.post_alerts("application/json", "  \n").await;
    assert_eq!(
        (st, err["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
}

#[tokio::test]
async fn json_array_ndjson_and_csv_with_a_mapping_are_accepted() {
    let s = Server::start(|_| {}).await;
    let samples = wazuh_samples();
    let (st, report) = s
        .post_alerts("application/json", format!("[{}]", samples.join(",")))
        .await;
    assert_eq!(st, StatusCode::OK, "{report}");
    assert_eq!(report["accepted"].as_u64(), Some(samples.len() as u64));

    let csv = "time,signature,event_id,host,src\n2024-05-01T10:00:00Z,Port scan,e1,fw01,203.0.113.9\n2024-05-01T10:01:00Z,Port scan,e2,fw01,203.0.113.9\n";
    let (st, _, report) = s
        .call(
            Method::POST,
            "/api/v1/alerts?mapping=fw",
            Some(INGEST),
            Some("text/csv"),
            csv,
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{report}");
    assert_eq!(report["accepted"], 2);
    assert_eq!(report["results"][1]["line"], 3);
    let id = report["results"][0]["id"].as_str().unwrap().to_owned();
    let (st, alert) = s.get(&format!("/api/v1/alerts/{id}"), VIEWER).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        alert["raw"],
        "2024-05-01T10:00:00Z,Port scan,e1,fw01,203.0.113.9"
    );
    assert_eq!(alert["normalized"]["format"], "generic");
    assert_eq!(alert["status"], "pending");

    let (st, _, err) = s
        .call(
            Method::POST,
            "/api/v1/alerts",
            Some(INGEST),
            Some("text/csv"),
            csv,
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(err["message"].as_str().unwrap().contains("mapping"));
    let (st, _, err) = s
        .call(
            Method::POST,
            "/api/v1/alerts?mapping=nope",
            Some(INGEST),
            Some("text/csv"),
            csv,
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["details"]["known_mappings"], json!(["fw"]));
    let (st, _, err) = s
        .call(
            Method::POST,
            "/api/v1/alerts",
            Some(INGEST),
            Some("application/xml"),
            "<a/>",
        )
        .await;
    assert_eq!(
        (st, err["code"].as_str()),
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Some("unsupported_media_type")
        )
    );
}

#[tokio::test]
async fn re_posting_the_same_events_is_idempotent() {
    let s = Server::start(|_| {}).await;
    let body = wazuh_samples().join("\n");
    let (st, first) = s.post_alerts("application/json", body.clone()).await;
    assert_eq!(st, StatusCode::OK, "{first}");
    let (st, again) = s.post_alerts("application/json", body).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        (again["accepted"].as_u64(), again["duplicates"].clone()),
        (Some(0), first["accepted"].clone())
    );
    assert!(statuses(&again).iter().all(|s| *s == "duplicate"));
    assert_eq!(again["results"][0]["id"], first["results"][0]["id"]);
    let stats = s.store.stats().await.unwrap();
    assert_eq!(stats.alerts, first["accepted"].as_u64().unwrap());
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let s = Server::start(|c| c.max_body_bytes = 2048).await;
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(4096));
    let (st, _, err) = s
        .call(
            Method::POST,
            "/api/v1/alerts",
            Some(INGEST),
            Some("application/json"),
            big,
        )
        .await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(err["code"], "payload_too_large");
    // With a Content-Length header the limit layer refuses before reading the body.
    let big = "z".repeat(4096);
    let req = Request::post("/api/v1/alerts")
        .header(header::AUTHORIZATION, format!("Bearer {INGEST}"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big))
        .unwrap();
    let resp = s.router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let err: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(err["code"], "payload_too_large");
}

#[tokio::test]
async fn a_full_queue_is_429_with_retry_after() {
    let mut s = Server::start(|c| {
        c.queue_capacity = 1;
        c.retry_after_secs = 7;
    })
    .await;
    let samples = wazuh_samples();
    assert_eq!(
        s.post_alerts("application/json", samples[0].clone())
            .await
            .0,
        StatusCode::OK
    );
    let (st, headers, err) = s
        .call(
            Method::POST,
            "/api/v1/alerts",
            Some(INGEST),
            Some("application/json"),
            samples[1].clone(),
        )
        .await;
    assert_eq!(st, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(err["code"], "queue_full");
    assert_eq!(headers.get(header::RETRY_AFTER).unwrap(), "7");
    // Once triaged, the queue has room again.
    assert_eq!(s.triage().await, 1);
    assert_eq!(
        s.post_alerts("application/json", samples[1].clone())
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn incidents_appear_after_the_worker_runs() {
    let mut s = Server::start(|_| {}).await;
    let samples = wazuh_samples();
    let mut ids = Vec::new();
    for text in &samples {
        let (st, report) = s.post_alerts("application/json", text.clone()).await;
        assert_eq!(st, StatusCode::OK, "{report}");
        ids.push(report["results"][0]["id"].as_str().unwrap().to_owned());
    }
    let (_, page) = s.get("/api/v1/incidents", VIEWER).await;
    assert_eq!(page["incidents"], json!([]), "nothing before triage");
    assert_eq!(s.triage().await, samples.len());
    assert_eq!(s.triage().await, 0, "each alert processed once");

    let (st, page) = s.get("/api/v1/incidents", VIEWER).await;
    assert_eq!(st, StatusCode::OK);
    let incidents = page["incidents"].as_array().unwrap();
    assert!(!incidents.is_empty());
    let total: u64 = incidents
        .iter()
        .map(|i| i["alert_count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, samples.len() as u64);
    // Observables received through the API are marked with the warninglists they hit.
    let marked = incidents
        .iter()
        .flat_map(|i| i["observables"].as_array().unwrap())
        .find(|o| o["value"] == "192.168.121.127")
        .expect("the sshd sample's source address is an observable");
    assert_eq!(marked["benign_lists"], json!(["Test lab range"]));
    let id = incidents[0]["id"].as_str().unwrap();
    let (st, one) = s.get(&format!("/api/v1/incidents/{id}"), VIEWER).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(one["incident"]["id"], id);
    assert_eq!(one["verdicts"], json!([]));
    let (st, err) = s.get("/api/v1/incidents/inc_nope", VIEWER).await;
    assert_eq!(
        (st, err["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );

    // The stored alert keeps the record byte for byte, and is processed now.
    let (st, alert) = s.get(&format!("/api/v1/alerts/{}", ids[0]), VIEWER).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(alert["raw"].as_str().unwrap(), samples[0].trim());
    assert_eq!(alert["status"], "processed");
    assert!(alert["normalized"].get("raw").is_none());
    let (st, ocsf) = s
        .get(&format!("/api/v1/alerts/{}/ocsf", ids[0]), VIEWER)
        .await;
    assert_eq!(
        (st, ocsf["class_uid"].as_u64()),
        (StatusCode::OK, Some(2004))
    );
    assert_eq!(
        s.get("/api/v1/alerts/al_nope", VIEWER).await.0,
        StatusCode::NOT_FOUND
    );

    let (_, _, metrics) = s
        .call(Method::GET, "/metrics", None, None, Body::empty())
        .await;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains(&format!(
            "picket_ingest_to_triage_seconds_count {}",
            samples.len()
        )),
        "{metrics}"
    );
    assert!(metrics.contains("picket_alerts_pending 0"), "{metrics}");
}

#[tokio::test]
async fn a_verdict_is_stored_and_informs_later_assessments() {
    let mut s = Server::start(|_| {}).await;
    let first = sshd_alert();
    assert_eq!(
        s.post_alerts("application/json", first.to_string()).await.0,
        StatusCode::OK
    );
    s.triage().await;
    let (_, page) = s.get("/api/v1/incidents", VIEWER).await;
    let inc = page["incidents"][0]["id"].as_str().unwrap().to_owned();
    let uri = format!("/api/v1/incidents/{inc}/verdict");

    let verdict = |token: &'static str, body: Value| {
        let s = &s;
        let uri = uri.clone();
        async move {
            s.call(
                Method::POST,
                &uri,
                Some(token),
                Some("application/json"),
                body.to_string(),
            )
            .await
        }
    };
    assert_eq!(
        verdict(VIEWER, json!({"verdict": "benign"})).await.0,
        StatusCode::FORBIDDEN
    );
    let (st, _, err) = verdict(ANALYST, json!({"verdict": "harmless"})).await;
    assert_eq!(
        (st, err["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let (st, _, err) = verdict(ANALYST, json!({"verdict": "benign", "bogus": 1})).await;
    assert_eq!(
        (st, err["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let (st, _, _) = s
        .call(
            Method::POST,
            "/api/v1/incidents/inc_nope/verdict",
            Some(ANALYST),
            Some("application/json"),
            r#"{"verdict":"benign"}"#,
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _, rec) = verdict(
        ANALYST,
        json!({"verdict": "benign", "note": "our red team"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{rec}");
    assert_eq!(
        (rec["analyst"].as_str(), rec["verdict"].as_str()),
        (Some("alice"), Some("benign"))
    );

    let (_, one) = s.get(&format!("/api/v1/incidents/{inc}"), VIEWER).await;
    assert_eq!(one["verdicts"][0]["note"], "our red team");
    // Counted; an override when the engine had reached a different verdict on its own.
    let overturned = !matches!(
        one["incident"]["verdict"].as_str(),
        Some("benign" | "needs_review")
    );
    let (_, _, metrics) = s
        .call(Method::GET, "/metrics", None, None, Body::empty())
        .await;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains("picket_analyst_verdicts_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "picket_analyst_overrides_total {}",
            u8::from(overturned)
        )),
        "{metrics}"
    );
    let feedback = s.store.feedback_by_rule().await.unwrap();
    assert!(
        feedback
            .iter()
            .any(|(rule, i, _)| *i == inc && rule.starts_with("wazuh:")),
        "{feedback:?}"
    );

    // The same rule fires a day later on another host: a new incident, assessed with the feedback.
    let mut later = first.clone();
    later["id"] = json!("1999999999.1");
    later["agent"]["name"] = json!("other-host");
    later["agent"]["ip"] = json!("10.9.9.9");
    later["timestamp"] = json!("2030-01-01T00:00:00.000+0000");
    if let Some(data) = later.get_mut("data") {
        *data = json!({});
    }
    assert_eq!(
        s.post_alerts("application/json", later.to_string()).await.0,
        StatusCode::OK
    );
    s.triage().await;
    let (_, page) = s.get("/api/v1/incidents", VIEWER).await;
    let newest = page["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] != inc)
        .expect("a second incident")
        .clone();
    let cites_feedback = newest["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["source"] == format!("feedback:{inc}"));
    assert!(cites_feedback, "{newest:#}");
}

#[tokio::test]
async fn incident_filters_are_validated() {
    let s = Server::start(|_| {}).await;
    let (st, err) = s
        .get(
            "/api/v1/incidents?verdict=bogus&limit=0&since=yesterday&priority=P9&status=gone",
            VIEWER,
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(err["code"], "bad_request");
    let fields: Vec<&str> = err["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec!["status", "verdict", "priority", "since", "limit"]
    );
    let (st, _) = s
        .get(
            "/api/v1/incidents?since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z",
            VIEWER,
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, page) = s
        .get("/api/v1/incidents?verdict=needs_review&priority=p2&status=open&since=2020-01-01T00:00:00Z&limit=5&offset=1", VIEWER)
        .await;
    assert_eq!(st, StatusCode::OK, "{page}");
    assert_eq!(
        (page["limit"].as_u64(), page["offset"].as_u64()),
        (Some(5), Some(1))
    );
    assert_eq!(
        s.get("/api/v1/dead-letters?limit=abc", VIEWER).await.0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn metrics_count_ingest_outcomes() {
    let s = Server::start(|_| {}).await;
    let good = sshd_alert().to_string();
    s.post_alerts("application/json", good.clone()).await;
    s.post_alerts("application/json", good).await;
    s.post_alerts("application/x-ndjson", "{bad\n").await;
    let (st, headers, text) = s
        .call(Method::GET, "/metrics", None, None, Body::empty())
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = text.as_str().unwrap();
    for needle in [
        "picket_alerts_ingested_total 1",
        "picket_alerts_duplicate_total 1",
        "picket_alerts_rejected_total{code=\"invalid_json\"} 1",
        "picket_incidents{verdict=\"malicious\"} 0",
        "picket_http_request_duration_seconds_count{method=\"POST\",route=\"/api/v1/alerts\"} 3",
        "picket_ingest_to_triage_seconds_count 0",
    ] {
        assert!(text.contains(needle), "missing `{needle}` in\n{text}");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let s = Server::start(|_| {}).await;
    let (st, _, err) = s
        .call(Method::GET, "/nope", None, None, Body::empty())
        .await;
    assert_eq!(
        (st, err["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (st, _, err) = s
        .call(
            Method::DELETE,
            "/api/v1/incidents",
            Some(VIEWER),
            None,
            Body::empty(),
        )
        .await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(err["code"], "bad_request");
}

#[tokio::test]
async fn openapi_document_is_unchanged() {
    let s = Server::start(|_| {}).await;
    let (st, _, doc) = s
        .call(
            Method::GET,
            "/api/v1/openapi.json",
            None,
            None,
            Body::empty(),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    insta::assert_json_snapshot!("openapi", doc, { ".info.version" => "[version]" });
}

/// Regression guard for the store/worker contract: alerts acknowledged but not yet triaged when the
/// process stops are triaged exactly once after the restart, and the rebuilt window still correlates.
#[tokio::test]
async fn pending_alerts_survive_a_restart_and_are_triaged_once() {
    let s = Server::start(|_| {}).await;
    let samples = wazuh_samples();
    let (st, report) = s.post_alerts("application/json", samples.join("\n")).await;
    assert_eq!(st, StatusCode::OK, "{report}");
    // Stop before the worker ran.
    let mut s = s.restart().await;
    assert_eq!(s.store.count_pending().await.unwrap(), samples.len() as u64);
    let (_, again) = s.post_alerts("application/json", samples.join("\n")).await;
    assert_eq!(
        again["accepted"], 0,
        "no duplicate alerts after the restart"
    );
    assert_eq!(s.triage().await, samples.len());
    assert_eq!(s.triage().await, 0);
    let (_, page) = s.get("/api/v1/incidents", VIEWER).await;
    let before: Vec<Value> = page["incidents"].as_array().unwrap().clone();
    let total: u64 = before
        .iter()
        .map(|i| i["alert_count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, samples.len() as u64);
    let stats = s.store.stats().await.unwrap();
    assert_eq!(
        (stats.alerts, stats.pending_alerts),
        (samples.len() as u64, 0)
    );

    // Restart again after triage: the engine replays its window, so a new alert on the same host a
    // minute later joins the existing incident instead of opening a new one.
    let mut s = s.restart().await;
    let mut next = sshd_alert();
    next["id"] = json!("1684752100.1");
    let t: jiff::Timestamp = next["timestamp"]
        .as_str()
        .unwrap()
        .replace("+0000", "Z")
        .parse()
        .unwrap();
    let t = (t + jiff::SignedDuration::from_secs(60)).to_string();
    next["timestamp"] = json!(t);
    next["@timestamp"] = json!(t);
    let (st, r) = s.post_alerts("application/json", next.to_string()).await;
    assert_eq!(st, StatusCode::OK, "{r}");
    assert_eq!(s.triage().await, 1);
    let (_, page) = s.get("/api/v1/incidents", VIEWER).await;
    let after = page["incidents"].as_array().unwrap();
    assert_eq!(
        after.len(),
        before.len(),
        "joined an existing incident:\n{after:#?}"
    );
    let total: u64 = after
        .iter()
        .map(|i| i["alert_count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, samples.len() as u64 + 1);
}

#[tokio::test]
async fn serve_until_starts_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.listen = "127.0.0.1:0".parse().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path().join("data")).await.unwrap());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(picket_server::serve_until(
        cfg,
        store.clone(),
        pipeline(),
        async {
            let _ = rx.await;
        },
    ));
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
    // The store was closed on the way out.
    assert!(store.ping().await.is_err());
}

#[tokio::test]
async fn a_grown_engine_is_compacted_from_the_store_and_keeps_correlating() {
    let mut s = Server::start(|c| c.engine_max_groups = 1).await;
    let sample = wazuh_samples()
        .into_iter()
        .find(|t| t.contains("brute force"))
        .unwrap();
    let first: Value = serde_json::from_str(&sample).unwrap();
    let (st, _) = s.post_alerts("application/json", first.to_string()).await;
    assert_eq!(st, StatusCode::OK);
    // Another rule on the same host, a minute later: a second group, so the engine is rebuilt from
    // the store after this step.
    let mut second = first.clone();
    second["id"] = json!("1684752103.1");
    second["timestamp"] = json!("2023-05-22T10:41:43.395+0000");
    second["rule"]["id"] = json!("5710");
    second["rule"]["description"] = json!("sshd: Attempt to login using a non-existent user");
    let (st, _) = s.post_alerts("application/json", second.to_string()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(s.triage().await, 2);
    // After the rebuild, a third alert on the host still joins the same incident.
    let mut third = first.clone();
    third["id"] = json!("1684752163.1");
    third["timestamp"] = json!("2023-05-22T10:42:43.395+0000");
    third["rule"]["id"] = json!("5712");
    third["rule"]["description"] =
        json!("sshd: brute force trying to get access to the system (again)");
    let (st, _) = s.post_alerts("application/json", third.to_string()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(s.triage().await, 1);
    let (_, page) = s.get("/api/v1/incidents", VIEWER).await;
    let incidents = page["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{page:#}");
    assert_eq!(incidents[0]["alert_count"], 3);
    let (_, _, metrics) = s
        .call(Method::GET, "/metrics", None, None, Body::empty())
        .await;
    let metrics = metrics.as_str().unwrap();
    let compactions: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("picket_engine_compactions_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the compaction counter is exported");
    assert!(
        compactions >= 1,
        "the engine was rebuilt at least once: {metrics}"
    );
}

#[tokio::test]
async fn incidents_export_as_stix_bundles_and_misp_events() {
    let mut s = Server::start(|_| {}).await;
    let (st, _) = s
        .post_alerts("application/json", sshd_alert().to_string())
        .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(s.triage().await, 1);
    let (_, page) = s.get("/api/v1/incidents", VIEWER).await;
    let id = page["incidents"][0]["id"].as_str().unwrap().to_owned();

    let (st, bundle) = s
        .get(&format!("/api/v1/incidents/{id}/stix?tlp=amber"), VIEWER)
        .await;
    assert_eq!(st, StatusCode::OK, "{bundle}");
    assert_eq!(bundle["type"], "bundle");
    let objects = bundle["objects"].as_array().unwrap();
    let report = objects.iter().find(|o| o["type"] == "report").unwrap();
    assert_eq!(report["external_references"][0]["external_id"], id.as_str());
    assert_eq!(
        report["object_marking_refs"],
        json!(["marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"])
    );
    // The source address is on the test warninglist: observed, never an indicator.
    assert!(
        objects
            .iter()
            .any(|o| o["type"] == "ipv4-addr" && o["value"] == "192.168.121.127")
    );
    assert!(
        !objects
            .iter()
            .filter(|o| o["type"] == "indicator")
            .any(|o| o["pattern"].as_str().unwrap().contains("192.168.121.127"))
    );
    let (_, again) = s
        .get(&format!("/api/v1/incidents/{id}/stix?tlp=amber"), VIEWER)
        .await;
    assert_eq!(
        bundle, again,
        "the same incident exports to the same bundle"
    );

    let (st, event) = s.get(&format!("/api/v1/incidents/{id}/misp"), VIEWER).await;
    assert_eq!(st, StatusCode::OK, "{event}");
    let attr = event["Event"]["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["value"] == "192.168.121.127")
        .unwrap();
    // The stored alert names it as the source of the logins.
    assert_eq!(
        (&attr["type"], &attr["to_ids"]),
        (&json!("ip-src"), &json!(false))
    );

    let (st, err) = s
        .get(&format!("/api/v1/incidents/{id}/stix?tlp=purple"), VIEWER)
        .await;
    assert_eq!(
        (st, err["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad_request"))
    );
    let (st, err) = s.get("/api/v1/incidents/inc_nope/misp", VIEWER).await;
    assert_eq!(
        (st, err["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    assert_eq!(
        s.get(&format!("/api/v1/incidents/{id}/misp"), INGEST)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn soc_metrics_come_from_the_recorded_lifecycle() {
    let mut s = Server::start(|_| {}).await;
    for body in wazuh_samples() {
        assert!(s.post_alerts("application/json", body).await.0.is_success());
    }
    s.triage().await;
    let (_, page) = s.get("/api/v1/incidents?limit=100", VIEWER).await;
    let incidents = page["incidents"].as_array().unwrap().clone();
    assert!(!incidents.is_empty());
    let escalated = incidents
        .iter()
        .find(|i| i["escalation"] != "auto_close")
        .expect("an escalated incident")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // An analyst answers it and knows when the attack started.
    let engine_verdict = incidents
        .iter()
        .find(|i| i["id"] == escalated.as_str())
        .unwrap()["verdict"]
        .clone();
    let (st, _, _) = s
        .call(
            Method::POST,
            &format!("/api/v1/incidents/{escalated}/verdict"),
            Some(ANALYST),
            Some("application/json"),
            json!({"verdict": "malicious", "attack_started_at": "2020-01-01T00:00:00Z"})
                .to_string(),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED);

    let (st, m) = s
        .get("/api/v1/metrics/soc?since=2000-01-01T00:00:00Z", VIEWER)
        .await;
    assert_eq!(st, StatusCode::OK, "{m}");
    assert_eq!(m["incidents"].as_u64().unwrap() as usize, incidents.len());
    // Every incident was ingested and triaged here: time to triage exists for each, and is short.
    assert_eq!(
        m["time_to_triage"]["count"].as_u64().unwrap() as usize,
        incidents.len()
    );
    assert!(
        m["time_to_triage"]["p90_secs"].as_f64().unwrap() < 60.0,
        "{m}"
    );
    assert_eq!(m["time_to_triage"]["met"], true);
    assert_eq!(m["time_to_detect"]["count"], 1);
    assert_eq!(m["accuracy"]["judged"], 1);
    let overridden = engine_verdict != "malicious" && engine_verdict != "needs_review";
    assert_eq!(m["override_rate"]["numerator"], u64::from(overridden));
    assert_eq!(m["override_rate"]["denominator"], 1);
    let auto = incidents
        .iter()
        .filter(|i| i["escalation"] == "auto_close")
        .count() as u64;
    assert_eq!(m["automation"]["numerator"], auto);
    assert!(m["by_source"]["wazuh"]["incidents"].as_u64().unwrap() > 0);
    // Filters and validation.
    let (_, f) = s
        .get(
            "/api/v1/metrics/soc?since=2000-01-01T00:00:00Z&source=crowdstrike",
            VIEWER,
        )
        .await;
    assert_eq!(f["incidents"], 0);
    let (st, e) = s
        .get("/api/v1/metrics/soc?since=yesterday&priority=P9", VIEWER)
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(e["details"].as_array().unwrap().len(), 2, "{e}");
    // The incident report, from the same record.
    let (st, _, md) = s
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{escalated}/report"),
            Some(VIEWER),
            None,
            Body::empty(),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let md = md.as_str().unwrap().to_owned();
    assert!(
        md.contains("## Timeline") && md.contains("## Recommendations"),
        "{md}"
    );
    assert!(
        md.contains("acknowledged (token:alice)"),
        "lifecycle in the timeline: {md}"
    );
    assert!(md.contains("Analyst alice: malicious"), "{md}");
    let (st, headers, page) = s
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{escalated}/report?format=html"),
            Some(VIEWER),
            None,
            Body::empty(),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.as_str().unwrap().contains("<h2>Evidence</h2>"));
    let (st, _, _) = s
        .call(
            Method::GET,
            &format!("/api/v1/incidents/{escalated}/report?format=pdf"),
            Some(VIEWER),
            None,
            Body::empty(),
        )
        .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _, _) = s
        .call(
            Method::GET,
            "/api/v1/incidents/inc_none/report",
            Some(VIEWER),
            None,
            Body::empty(),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    // The same figures as Prometheus gauges.
    let (_, _, text) = s
        .call(Method::GET, "/metrics", None, None, Body::empty())
        .await;
    let text = text.as_str().unwrap().to_owned();
    assert!(
        text.contains("picket_soc_time_to_triage_seconds{stat=\"p90\"}"),
        "{text}"
    );
    assert!(text.contains("picket_soc_ratio{name=\"automation\"}"));
}
