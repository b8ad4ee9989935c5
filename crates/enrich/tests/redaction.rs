//! A provider that echoes the API key back in an error body never gets it into an error message,
//! not even a part of it cut at the message's length limit.

use std::sync::Arc;

use picket_enrich::{ConnectorError, Http, Recorder, RetryPolicy, Secret};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_key_straddling_the_cut_is_still_redacted() {
    let key = "sk-live-0123456789abcdef0123456789abcdef";
    for pad in [0usize, 150, 190, 195, 199, 200, 240] {
        let server = MockServer::start().await;
        let body = format!("{}{key} is not valid", "x".repeat(pad));
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(401).set_body_string(body))
            .mount(&server)
            .await;
        let http = Http::new(
            "t",
            Some(&server.uri()),
            Some(Secret::new(key)),
            RetryPolicy::default(),
            Arc::new(Recorder::default()),
        )
        .unwrap();
        let url = http.url("x").unwrap();
        let e = http
            .send("probe", |c| c.get(url.clone()))
            .await
            .unwrap_err();
        let ConnectorError::Unauthorized(msg) = &e else {
            panic!("{e:?}")
        };
        assert!(!msg.contains(&key[..6]), "pad {pad}: {msg}");
    }
}

#[tokio::test]
async fn an_echoed_key_never_reaches_a_connector_interpreting_the_reply() {
    let key = "sk-live-fedcba9876543210";
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(400).set_body_string(format!(
            "{{\"error\": \"bad request for key {key}\", \"padding\": \"{}\"}}",
            "y".repeat(500)
        )))
        .mount(&server)
        .await;
    let http = Http::new(
        "t",
        Some(&server.uri()),
        Some(Secret::new(key)),
        RetryPolicy::default(),
        Arc::new(Recorder::default()),
    )
    .unwrap();
    let url = http.url("x").unwrap();
    let reply = http.send("probe", |c| c.get(url.clone())).await.unwrap();
    assert_eq!(reply.status, 400);
    let text = String::from_utf8_lossy(&reply.body);
    assert!(!text.contains(key) && text.contains("***"), "{text}");
    let v: serde_json::Value = reply.json().unwrap();
    assert_eq!(v["error"], "bad request for key ***", "still valid JSON");
    assert!(!reply.unexpected().to_string().contains(&key[..6]));
}
