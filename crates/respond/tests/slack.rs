//! Slack incoming webhook against a mock answering as Slack documents, success and failures.

mod common;

use common::*;
use picket_respond::ResponderConfig;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The secret part of a Slack webhook URL is its path.
const HOOK_PATH: &str = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX";
const TOKEN: &str = "XXXXXXXXXXXXXXXXXXXXXXXX";

fn config(server: &MockServer) -> ResponderConfig {
    let mut c = ResponderConfig::new("slack", "slack");
    c.secret_file = Some(secret_file(&format!("{}{HOOK_PATH}", server.uri())));
    c
}

fn no_secret(text: &str) {
    assert!(!text.contains(TOKEN) && !text.contains(HOOK_PATH), "{text}");
}

#[tokio::test]
async fn posts_the_message_as_text() {
    let server = MockServer::start().await;
    let mut req = request("notify", "web01");
    Mock::given(method("POST"))
        .and(path(HOOK_PATH))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"text": req.summary})))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(HOOK_PATH))
        .and(body_json(
            json!({"text": "*web01* contained (incident inc-42)"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let (r, rec) = build(config(&server));
    let out = run(&r, &req).await.unwrap();
    assert_eq!(out.details["status"], 200);
    assert_eq!(out.details["response"], "ok");
    req.params = json!({"message": "*web01* contained (incident inc-42)"});
    run(&r, &req).await.unwrap();

    // Events show scheme and host only.
    let events = rec.events();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].url, format!("{}***", server.uri()));
    no_secret(&serde_json::to_string(&events).unwrap());
    let (_, def) = r.route("notify", None).unwrap();
    assert!(!def.idempotent);
    assert_eq!(def.undo, None);
}

#[tokio::test]
async fn documented_failures_are_reported_with_slacks_reason() {
    for (status, body, code) in [
        (400, "invalid_payload", "rejected"),
        (400, "no_text", "rejected"),
        (404, "no_service", "rejected"),
        (404, "channel_not_found", "rejected"),
        (410, "channel_is_archived", "rejected"),
        (403, "invalid_token", "forbidden"),
        (403, "action_prohibited", "forbidden"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(HOOK_PATH))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .expect(1)
            .mount(&server)
            .await;
        let (r, rec) = build(config(&server));
        let e = run(&r, &request("notify", "")).await.unwrap_err();
        assert_eq!(e.code(), code, "{status} {body}: {e}");
        assert!(e.to_string().contains(body), "{e}");
        if code == "rejected" {
            assert!(e.to_string().contains(&format!("HTTP {status}")), "{e}");
        }
        no_secret(&e.to_string());
        no_secret(&serde_json::to_string(&rec.events()).unwrap());
    }
}

#[tokio::test]
async fn a_server_error_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HOOK_PATH))
        .respond_with(ResponseTemplate::new(500).set_body_string("rollup_error"))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.retries = 5;
    let (r, rec) = build(c);
    let e = run(&r, &request("notify", "")).await.unwrap_err();
    assert_eq!(e.code(), "server_error");
    assert!(e.to_string().contains("rollup_error"), "{e}");
    assert_eq!(rec.events().len(), 1);
}

#[tokio::test]
async fn a_rate_limited_message_is_not_retried_either() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(HOOK_PATH))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .expect(1)
        .mount(&server)
        .await;
    let (r, _) = build(config(&server));
    let e = run(&r, &request("notify", "")).await.unwrap_err();
    assert_eq!(e.code(), "rate_limited");
}

#[tokio::test]
async fn the_webhook_url_is_required_checked_and_never_printed() {
    // No secret: a config error.
    let c = ResponderConfig::new("slack", "slack");
    let problems = picket_respond::check_all(&[c]);
    assert_eq!(problems[0].0, "responders[0].secret_env", "{problems:?}");

    // Plain http to a remote host is refused, without repeating the URL.
    let mut c = ResponderConfig::new("slack", "slack");
    c.secret_file = Some(secret_file(&format!("http://hooks.slack.com{HOOK_PATH}")));
    assert!(picket_respond::check_all(std::slice::from_ref(&c)).is_empty());
    let e = picket_respond::Responders::build(
        &[c],
        picket_respond::Context {
            observer: std::sync::Arc::new(picket_enrich::Recorder::default()),
        },
    )
    .err()
    .unwrap();
    assert!(e.1.to_string().contains("must be https"), "{}", e.1);
    no_secret(&e.1.to_string());

    let mut c = ResponderConfig::new("slack", "slack");
    c.secret_file = Some(secret_file(&format!("https://hooks.slack.com{HOOK_PATH}")));
    c.options.insert("channel".into(), json!("#soc"));
    let problems = picket_respond::check_all(&[c]);
    assert_eq!(
        problems[0].0, "responders[0].options.channel",
        "{problems:?}"
    );
}
