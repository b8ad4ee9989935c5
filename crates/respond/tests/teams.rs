//! Microsoft Teams Workflows webhook against a mock answering as Power Automate does.

mod common;

use common::*;
use picket_respond::ResponderConfig;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FLOW_PATH: &str = "/workflows/7b1f4967d9728e5aa3c06a9e617a22a4/triggers/manual/paths/invoke";
const SIG: &str = "Xk3yS1gn4tur3V4lu3AbCdEfGhIjKlMnOpQrStUv";

fn config(server: &MockServer) -> ResponderConfig {
    let mut c = ResponderConfig::new("teams", "teams");
    c.secret_file = Some(secret_file(&format!(
        "{}{FLOW_PATH}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}",
        server.uri()
    )));
    c
}

fn no_secret(text: &str) {
    assert!(!text.contains(SIG) && !text.contains(FLOW_PATH), "{text}");
}

fn card(text: &str) -> serde_json::Value {
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [{"type": "TextBlock", "text": text, "wrap": true}]
            }
        }]
    })
}

async fn flow(server: &MockServer, text: &str, status: u16) {
    Mock::given(method("POST"))
        .and(path(FLOW_PATH))
        .and(query_param("api-version", "1"))
        .and(query_param("sp", "/triggers/manual/run"))
        .and(query_param("sv", "1.0"))
        .and(query_param("sig", SIG))
        .and(header("content-type", "application/json"))
        .and(body_json(card(text)))
        .respond_with(ResponseTemplate::new(status))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn posts_an_adaptive_card_and_accepts_202_or_200() {
    let server = MockServer::start().await;
    let mut req = request("notify", "web01");
    flow(&server, &req.summary, 202).await;
    flow(&server, "Host web01 contained", 200).await;
    let (r, rec) = build(config(&server));
    let out = run(&r, &req).await.unwrap();
    assert_eq!(out.details["status"], 202);
    req.params = json!({"message": "Host web01 contained"});
    let out = run(&r, &req).await.unwrap();
    assert_eq!(out.details["status"], 200);

    let events = rec.events();
    assert_eq!(events[0].url, format!("{}***", server.uri()));
    no_secret(&serde_json::to_string(&events).unwrap());
    let (_, def) = r.route("notify", None).unwrap();
    assert!(!def.idempotent);
}

#[tokio::test]
async fn flow_errors_are_reported_without_the_signature() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(query_param("sig", SIG))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"error":{"code":"TriggerInputSchemaMismatch","message":"The input body for trigger 'manual' of type 'Request' did not match its schema definition. Error details: 'Required properties are missing from object: attachments.'."}}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (r, _) = build(config(&server));
    let e = run(&r, &request("notify", "")).await.unwrap_err();
    assert_eq!(e.code(), "rejected");
    assert!(
        e.to_string()
            .starts_with("the vendor refused the request (HTTP 400): TriggerInputSchemaMismatch: The input body for trigger 'manual'"),
        "{e}"
    );

    // A receiver that echoes the signature back never gets it into the error.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            format!(
                r#"{{"error":{{"code":"DirectApiInvalidAuthorizationSignature","message":"The provided authorization signature '{SIG}' is not valid."}}}}"#
            ),
            "application/json",
        ))
        .mount(&server)
        .await;
    let (r, rec) = build(config(&server));
    let e = run(&r, &request("notify", "")).await.unwrap_err();
    assert_eq!(e.code(), "unauthorized");
    assert!(
        e.to_string()
            .contains("DirectApiInvalidAuthorizationSignature"),
        "{e}"
    );
    no_secret(&e.to_string());
    no_secret(&serde_json::to_string(&rec.events()).unwrap());

    // Nor a URL echoed in a not-found message.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(404).set_body_raw(
            format!(
                r#"{{"error":{{"code":"WorkflowNotFound","message":"The workflow '7b1f4967d9728e5aa3c06a9e617a22a4' could not be found; url {}{FLOW_PATH}?sig={SIG}"}}}}"#,
                server.uri()
            ),
            "application/json",
        ))
        .mount(&server)
        .await;
    let (r, _) = build(config(&server));
    let e = run(&r, &request("notify", "")).await.unwrap_err();
    assert_eq!(e.code(), "rejected");
    assert!(e.to_string().contains("WorkflowNotFound"), "{e}");
    no_secret(&e.to_string());
}

#[tokio::test]
async fn a_server_error_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502).set_body_raw(
            r#"{"error":{"code":"BadGateway","message":"The flow run failed."}}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.retries = 4;
    let (r, rec) = build(c);
    let e = run(&r, &request("notify", "")).await.unwrap_err();
    assert_eq!(e.code(), "server_error");
    assert_eq!(rec.events().len(), 1);
    no_secret(&e.to_string());
}
