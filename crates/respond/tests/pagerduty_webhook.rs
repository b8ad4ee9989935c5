//! PagerDuty Events v2 and the generic webhook against mocks of their documented requests.

mod common;

use common::*;
use picket_respond::ResponderConfig;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn pagerduty_triggers_with_a_dedup_key_per_incident() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .and(body_partial_json(serde_json::json!({
            "routing_key": "R0UT1NGKEY0000000000000000000000",
            "event_action": "trigger",
            "dedup_key": "picket-inc-42",
            "payload": {"source": "picket", "severity": "critical", "summary": "P1 on web01"},
        })))
        .respond_with(ResponseTemplate::new(202).set_body_json(serde_json::json!({
            "status": "success", "message": "Event processed", "dedup_key": "picket-inc-42"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = ResponderConfig::new("pd", "pagerduty");
    c.base_url = Some(server.uri());
    c.secret_file = Some(secret_file("R0UT1NGKEY0000000000000000000000"));
    let (r, rec) = build(c);
    let mut req = request("page_on_call", "");
    req.params = serde_json::json!({"message": "P1 on web01"});
    let out = run(&r, &req).await.unwrap();
    assert_eq!(out.details["dedup_key"], "picket-inc-42");
    let (_, def) = r.route("page_on_call", None).unwrap();
    assert!(def.idempotent, "deduplicated by PagerDuty");
    assert!(
        !serde_json::to_string(&rec.events())
            .unwrap()
            .contains("R0UT1NGKEY")
    );
}

#[tokio::test]
async fn pagerduty_invalid_events_are_rejected_with_its_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/enqueue"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!({
            "status": "invalid event", "message": "Event object is invalid",
            "errors": ["'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info')"]
        })))
        .mount(&server)
        .await;
    let mut c = ResponderConfig::new("pd", "pagerduty");
    c.base_url = Some(server.uri());
    c.secret_file = Some(secret_file("R0UT1NGKEY0000000000000000000001"));
    let (r, _) = build(c);
    let e = run(&r, &request("page_on_call", "")).await.unwrap_err();
    assert_eq!(e.code(), "rejected");
    assert!(e.to_string().contains("payload.severity"), "{e}");
}

#[tokio::test]
async fn webhook_signs_the_body_and_sends_the_idempotency_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks/picket"))
        .and(header("idempotency-key", "act-0123456789abcdef"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = ResponderConfig::new("hook", "webhook");
    c.base_url = Some(format!("{}/hooks/picket", server.uri()));
    c.secret_file = Some(secret_file("hmac-key-for-tests"));
    c.options.insert(
        "actions".into(),
        serde_json::json!(["notify", "block_ip", "unblock_ip"]),
    );
    let (r, _) = build(c);
    run(&r, &request("notify", "")).await.unwrap();
    let sent = &server.received_requests().await.unwrap()[0];
    let sig = sent
        .headers
        .get("x-picket-signature")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    // The receiver's check: HMAC-SHA256 of the exact body under the shared key.
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"hmac-key-for-tests").unwrap();
    mac.update(&sent.body);
    assert_eq!(
        sig,
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    let body: serde_json::Value = serde_json::from_slice(&sent.body).unwrap();
    assert_eq!(body["action"], "notify");
    assert_eq!(body["incident"], "inc-42");
    // Configured pairs undo each other; a receiver not declared idempotent is not resumable.
    let (_, def) = r.route("block_ip", None).unwrap();
    assert_eq!(def.undo.as_deref(), Some("unblock_ip"));
    assert!(!def.idempotent);
    assert!(r.route("isolate_host", None).is_none());
}
