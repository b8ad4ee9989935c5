//! CrowdStrike Falcon containment against a mock of the documented Hosts API.

mod common;

use common::*;
use picket_respond::ResponderConfig;
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn config(server: &MockServer) -> ResponderConfig {
    let mut c = ResponderConfig::new("falcon", "crowdstrike");
    c.base_url = Some(server.uri());
    c.client_id = Some("client-abc".into());
    c.secret_file = Some(secret_file("falcon-secret-xyz"));
    c.retries = 0;
    c
}

async fn token(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .and(body_string_contains("client_id=client-abc"))
        .and(body_string_contains("client_secret=falcon-secret-xyz"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({
            "access_token": "tok-1", "token_type": "bearer", "expires_in": 1799
        })))
        .expect(times)
        .mount(server)
        .await;
}

async fn host(server: &MockServer, name: &str, ids: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path("/devices/queries/devices/v1"))
        .and(query_param("filter", format!("hostname:'{name}'")))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "meta": {"query_time": 0.01, "powered_by": "device-api", "trace_id": "t"},
            "resources": ids, "errors": []
        })))
        .mount(server)
        .await;
}

#[tokio::test]
async fn contains_and_lifts_a_host_by_name() {
    let server = MockServer::start().await;
    token(&server, 1).await;
    host(&server, "web01", serde_json::json!(["aid-1"])).await;
    for name in ["contain", "lift_containment"] {
        Mock::given(method("POST"))
            .and(path("/devices/entities/devices-actions/v2"))
            .and(query_param("action_name", name))
            .and(header("authorization", "Bearer tok-1"))
            .and(body_json(serde_json::json!({"ids": ["aid-1"]})))
            .respond_with(ResponseTemplate::new(202).set_body_json(serde_json::json!({
                "meta": {"query_time": 0.2, "trace_id": "t"},
                "resources": [{"id": "aid-1", "path": "/devices/entities/devices/v1"}],
                "errors": []
            })))
            .expect(1)
            .mount(&server)
            .await;
    }
    let (r, rec) = build(config(&server));
    let out = run(&r, &request("isolate_host", "web01")).await.unwrap();
    assert_eq!(out.details["aid"], "aid-1");
    assert!(out.summary.contains("contained"), "{}", out.summary);
    let out = run(&r, &request("release_host", "web01")).await.unwrap();
    assert_eq!(out.details["action_name"], "lift_containment");
    // The token is reused; no event carries the secret.
    let events = serde_json::to_string(&rec.events()).unwrap();
    assert!(!events.contains("falcon-secret-xyz") && !events.contains("tok-1"));
    // Undo declared both ways.
    let (_, def) = r.route("isolate_host", None).unwrap();
    assert_eq!(def.undo.as_deref(), Some("release_host"));
    assert!(def.idempotent);
}

#[tokio::test]
async fn unknown_or_ambiguous_hosts_are_not_guessed() {
    let server = MockServer::start().await;
    token(&server, 1).await;
    host(&server, "ghost", serde_json::json!([])).await;
    host(&server, "dup", serde_json::json!(["a", "b"])).await;
    let (r, _) = build(config(&server));
    let e = run(&r, &request("isolate_host", "ghost"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "target_not_found");
    let e = run(&r, &request("isolate_host", "dup")).await.unwrap_err();
    assert!(e.to_string().contains("2 Falcon hosts"), "{e}");
}

#[tokio::test]
async fn api_errors_are_reported_with_the_vendor_message() {
    let server = MockServer::start().await;
    token(&server, 1).await;
    host(&server, "web01", serde_json::json!(["aid-1"])).await;
    Mock::given(method("POST"))
        .and(path("/devices/entities/devices-actions/v2"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "meta": {"query_time": 0.01, "trace_id": "t"},
            "resources": null,
            "errors": [{"code": 400, "message": "Device aid-1 is not eligible for containment"}]
        })))
        .mount(&server)
        .await;
    let (r, _) = build(config(&server));
    let e = run(&r, &request("isolate_host", "web01"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "rejected");
    assert!(e.to_string().contains("not eligible"), "{e}");
}

#[tokio::test]
async fn a_rejected_token_is_fetched_again_once_and_bad_credentials_fail_clearly() {
    let server = MockServer::start().await;
    token(&server, 2).await;
    // The first API call says the token is no longer valid (revoked or expired early).
    Mock::given(method("GET"))
        .and(path("/devices/queries/devices/v1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "meta": {}, "errors": [{"code": 401, "message": "access denied, invalid bearer token"}]
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    host(&server, "web01", serde_json::json!(["aid-1"])).await;
    Mock::given(method("POST"))
        .and(path("/devices/entities/devices-actions/v2"))
        .respond_with(ResponseTemplate::new(202).set_body_json(serde_json::json!({
            "resources": [{"id": "aid-1"}], "errors": []
        })))
        .mount(&server)
        .await;
    let (r, _) = build(config(&server));
    run(&r, &request("isolate_host", "web01")).await.unwrap();

    let bad = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth2/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "meta": {}, "errors": [{"code": 401, "message": "access denied, authorization failed"}]
        })))
        .mount(&bad)
        .await;
    let (r, _) = build(config(&bad));
    let e = run(&r, &request("isolate_host", "web01"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unauthorized");
    assert!(!e.to_string().contains("falcon-secret-xyz"));
}
