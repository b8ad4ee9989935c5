//! TheHive 5 alerts and cases against a mock of the documented API v1.

mod common;

use std::time::{Duration, Instant};

use common::*;
use picket_respond::ResponderConfig;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "hive-api-key-xyz";

fn config(server: &MockServer) -> ResponderConfig {
    let mut c = ResponderConfig::new("hive", "thehive");
    c.base_url = Some(server.uri());
    c.secret_file = Some(secret_file(KEY));
    c.retries = 0;
    c
}

fn hive_error(status: u16, kind: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        format!(r#"{{"type":"{kind}","message":{}}}"#, json!(message)),
        "application/json",
    )
}

fn alert_reply() -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({
        "_id": "~41128", "_type": "Alert", "_createdBy": "picket@soc.local",
        "_createdAt": 1714660778000u64, "type": "picket", "source": "picket",
        "sourceRef": "act-0123456789abcdef", "title": "t", "description": "d",
        "severity": 3, "severityLabel": "HIGH", "date": 1714660778000u64,
        "tags": ["picket"], "tlp": 2, "tlpLabel": "AMBER", "pap": 2, "papLabel": "AMBER",
        "follow": true, "customFields": [], "observableCount": 1, "status": "New",
        "stage": "New", "extraData": {}, "newDate": 1714660778000u64, "timeToDetect": 0
    }))
}

#[tokio::test]
async fn creates_an_alert_keyed_by_the_action_id() {
    let server = MockServer::start().await;
    let mut req = request("create_alert", "203.0.113.7");
    req.params = json!({
        "title": "Phishing reported by alice",
        "description": "Mail with a credential-harvesting link",
        "severity": "high",
        "tags": ["phishing"],
    });
    Mock::given(method("POST"))
        .and(path("/api/v1/alert"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "type": "picket",
            "source": "picket",
            "sourceRef": "act-0123456789abcdef",
            "title": "Phishing reported by alice",
            "description": "Mail with a credential-harvesting link",
            "severity": 3,
            "tlp": 2,
            "pap": 2,
            "tags": ["picket", "phishing"],
            "observables": [{"dataType": "ip", "data": "203.0.113.7"}],
        })))
        .respond_with(alert_reply())
        .expect(1)
        .mount(&server)
        .await;
    let (r, rec) = build(config(&server));
    let out = run(&r, &req).await.unwrap();
    assert_eq!(out.details["alert_id"], "~41128");
    assert_eq!(out.details["source_ref"], "act-0123456789abcdef");
    assert_eq!(
        out.summary,
        "TheHive alert ~41128 created: Phishing reported by alice"
    );
    assert!(!serde_json::to_string(&rec.events()).unwrap().contains(KEY));
    let (_, def) = r.route("create_alert", None).unwrap();
    assert_eq!(def.undo, None);
    assert!(def.idempotent);
}

#[tokio::test]
async fn a_duplicate_alert_counts_as_created_but_other_create_errors_do_not() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/alert"))
        .and(|r: &wiremock::Request| {
            serde_json::from_slice::<serde_json::Value>(&r.body)
                .is_ok_and(|b| b["sourceRef"] == "act-0123456789abcdef")
        })
        .respond_with(hive_error(
            400,
            "CreateError",
            "Alert picket:picket:act-0123456789abcdef already exist in organisation soc",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/alert"))
        .respond_with(hive_error(400, "CreateError", "Observable already exists"))
        .mount(&server)
        .await;
    let (r, _) = build(config(&server));
    let out = run(&r, &request("create_alert", "")).await.unwrap();
    assert_eq!(out.details["already_exists"], true);
    assert_eq!(out.details["source_ref"], "act-0123456789abcdef");

    let mut other = request("create_alert", "");
    other.action_id = "act-other".into();
    let e = run(&r, &other).await.unwrap_err();
    assert_eq!(e.code(), "rejected");
    assert_eq!(
        e.to_string(),
        "the vendor refused the request (HTTP 400): CreateError: Observable already exists"
    );
}

#[tokio::test]
async fn creates_a_case_once() {
    let server = MockServer::start().await;
    let req = request("create_case", "web01");
    Mock::given(method("POST"))
        .and(path("/api/v1/case"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("x-organisation", "soc"))
        .and(body_json(json!({
            "title": req.summary,
            "description": req.summary,
            "severity": 4,
            "tags": ["ir", "picket"],
            "flag": false,
            "tlp": 3,
            "pap": 1,
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "_id": "~8256", "_type": "Case", "_createdBy": "picket@soc.local",
            "_createdAt": 1714660778000u64, "number": 42, "title": req.summary,
            "description": req.summary, "severity": 4, "severityLabel": "CRITICAL",
            "startDate": 1714660778000u64, "tags": ["ir", "picket"], "flag": false,
            "tlp": 3, "tlpLabel": "RED", "pap": 1, "papLabel": "GREEN", "status": "New",
            "stage": "New", "assignee": null, "customFields": [], "userPermissions": [],
            "extraData": {}, "newDate": 1714660778000u64, "timeToDetect": 0
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.retries = 3;
    c.options.insert("severity".into(), json!(4));
    c.options.insert("tlp".into(), json!(3));
    c.options.insert("pap".into(), json!(1));
    c.options.insert("tags".into(), json!(["ir", "picket"]));
    c.options.insert("organisation".into(), json!("soc"));
    let (r, _) = build(c);
    let out = run(&r, &req).await.unwrap();
    assert_eq!(out.details["case_id"], "~8256");
    assert_eq!(out.details["case_number"], 42);
    assert!(
        out.summary.starts_with("TheHive case #42 (~8256) created"),
        "{}",
        out.summary
    );
    let (_, def) = r.route("create_case", None).unwrap();
    assert!(!def.idempotent);
}

#[tokio::test]
async fn a_failed_case_is_sent_exactly_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/case"))
        .respond_with(hive_error(500, "InternalError", "Database unavailable"))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.retries = 3;
    let (r, rec) = build(c);
    let e = run(&r, &request("create_case", "")).await.unwrap_err();
    assert_eq!(e.code(), "server_error");
    assert_eq!(rec.events().len(), 1);
}

#[tokio::test]
async fn a_rate_limited_alert_waits_for_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/alert"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/alert"))
        .respond_with(alert_reply())
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.retries = 1;
    let (r, _) = build(c);
    let started = Instant::now();
    let out = run(&r, &request("create_alert", "")).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.details["alert_id"], "~41128");
}

#[tokio::test]
async fn validation_and_authentication_errors_carry_the_vendor_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/case"))
        .respond_with(hive_error(
            400,
            "AttributeCheckingError",
            "[Invalid format for title: \"\", expected string (non-empty)]",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/alert"))
        .respond_with(hive_error(
            401,
            "AuthenticationError",
            "Authentication failure",
        ))
        .mount(&server)
        .await;
    let (r, rec) = build(config(&server));
    let e = run(&r, &request("create_case", "")).await.unwrap_err();
    assert_eq!(e.code(), "rejected");
    assert!(
        e.to_string()
            .contains("AttributeCheckingError: [Invalid format for title"),
        "{e}"
    );
    let e = run(&r, &request("create_alert", "")).await.unwrap_err();
    assert_eq!(e.code(), "unauthorized");
    assert!(e.to_string().contains("Authentication failure"), "{e}");
    assert!(!e.to_string().contains(KEY));
    assert!(!serde_json::to_string(&rec.events()).unwrap().contains(KEY));
}

#[tokio::test]
async fn bad_parameters_and_options_are_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(alert_reply())
        .expect(0)
        .mount(&server)
        .await;
    let (r, _) = build(config(&server));
    let mut req = request("create_alert", "");
    req.params = json!({"severity": 9});
    let e = run(&r, &req).await.unwrap_err();
    assert!(e.to_string().contains("params.severity"), "{e}");
    req.params = json!({"observables": ["1.2.3.4"]});
    let e = run(&r, &req).await.unwrap_err();
    assert!(e.to_string().contains("params.observables"), "{e}");

    let mut c = config(&server);
    c.options.insert("severity".into(), json!(5));
    c.options.insert("tags".into(), json!("picket"));
    c.options.insert("assignee".into(), json!("bob"));
    let problems = picket_respond::check_all(&[c]);
    let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "responders[0].options.assignee",
            "responders[0].options.severity",
            "responders[0].options.tags"
        ],
        "{problems:?}"
    );
}
