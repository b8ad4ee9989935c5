//! Providers built from config, behind their guards, against mock servers: the circuit breaker
//! fails fast without reaching the server and closes after the cooldown; the per-incident token
//! budget refuses calls without a request; usage and cost accumulate per incident.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{KEY, verdict_schema};
use picket_agent::{
    BreakerState, CompletionRequest, OutputSchema, Provider, ProviderConfig, ProviderError,
    ProviderKind, Usage, build,
};
use picket_enrich::Recorder;
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn key_file() -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), format!("{KEY}\n")).unwrap();
    f
}

fn config(
    kind: ProviderKind,
    server: &MockServer,
    key: &tempfile::NamedTempFile,
) -> ProviderConfig {
    let mut c = ProviderConfig::new("llm-main", kind, "claude-sonnet-4-5");
    c.base_url = Some(server.uri());
    c.api_key_file = Some(key.path().to_path_buf());
    c.retries = 0;
    c
}

fn anthropic_text(text: &str, input: u64, output: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": input, "output_tokens": output}
    }))
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_and_closes_after_the_cooldown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "type": "error", "error": {"type": "api_error", "message": "Internal server error"}
        })))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(anthropic_text("back", 10, 2))
        .mount(&server)
        .await;
    let key = key_file();
    let mut cfg = config(ProviderKind::Anthropic, &server, &key);
    cfg.breaker_failures = 3;
    cfg.breaker_cooldown_secs = 60;
    let recorder = Arc::new(Recorder::default());
    let p = build(&cfg, recorder.clone()).unwrap();
    let req = CompletionRequest::new(10).user("x");

    for _ in 0..3 {
        assert_eq!(p.complete(&req).await.unwrap_err().code(), "server_error");
    }
    assert_eq!(p.breaker_state(), BreakerState::Open);
    for _ in 0..5 {
        let e = p.complete(&req).await.unwrap_err();
        assert_eq!(e.code(), "circuit_open");
    }
    // Failing fast: the server saw the three failures and nothing since.
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert_eq!(recorder.events().len(), 3);

    // On tokio's paused clock (no request is made while paused: the breaker answers).
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(59)).await;
    match p.complete(&req).await.unwrap_err() {
        ProviderError::CircuitOpen(left) => {
            assert!(
                left <= Duration::from_secs(1) && left > Duration::from_millis(500),
                "{left:?}"
            )
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(p.breaker_state(), BreakerState::HalfOpen);
    tokio::time::resume();

    // The trial call reaches the server, succeeds and closes the breaker.
    let out = p.complete(&req).await.unwrap();
    assert_eq!(out.text, "back");
    assert_eq!(p.breaker_state(), BreakerState::Closed);
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn rejected_requests_do_not_open_the_breaker() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "type": "error", "error": {"type": "invalid_request_error", "message": "bad"}
        })))
        .mount(&server)
        .await;
    let key = key_file();
    let mut cfg = config(ProviderKind::Anthropic, &server, &key);
    cfg.breaker_failures = 2;
    let p = build(&cfg, Arc::new(Recorder::default())).unwrap();
    for _ in 0..4 {
        let e = p
            .complete(&CompletionRequest::new(10).user("x"))
            .await
            .unwrap_err();
        assert_eq!(e.code(), "bad_request");
    }
    assert_eq!(p.breaker_state(), BreakerState::Closed);
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn the_incident_budget_refuses_calls_without_a_request_and_costs_add_up() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_partial_json(
            json!({"response_format": {"type": "json_schema"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-2", "object": "chat.completion", "created": 1, "model": "gpt-4.1",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "{\"verdict\":\"maybe\"}"}}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 10, "total_tokens": 40}
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4.1",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "noted"}}],
            "usage": {"prompt_tokens": 60, "completion_tokens": 50, "total_tokens": 110}
        })))
        .mount(&server)
        .await;
    let key = key_file();
    let mut cfg = config(ProviderKind::OpenAi, &server, &key);
    cfg.model = "gpt-4.1".into();
    cfg.max_tokens_per_incident = 200;
    cfg.price_per_1k_input = 3.0;
    cfg.price_per_1k_output = 15.0;
    let p = build(&cfg, Arc::new(Recorder::default())).unwrap();
    let ask = |incident: &str| CompletionRequest::new(50).user("x").incident(incident);
    let one_call = 60.0 / 1000.0 * 3.0 + 50.0 / 1000.0 * 15.0; // 0.93

    // 0 → 110 → 220 tokens: the third call is over budget and never sent.
    p.complete(&ask("INC-1")).await.unwrap();
    p.complete(&ask("INC-1")).await.unwrap();
    let e = p.complete(&ask("INC-1")).await.unwrap_err();
    assert_eq!(
        e,
        ProviderError::BudgetExceeded {
            incident: "INC-1".into(),
            used: 220,
            limit: 200
        }
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);

    // Another incident has its own budget.
    p.complete(&ask("INC-2")).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 3);

    // A structured answer that fails validation still spent its tokens.
    let bad = ask("INC-2").respond_with(OutputSchema::new("triage_verdict", verdict_schema()));
    assert_eq!(p.complete(&bad).await.unwrap_err().code(), "invalid_output");

    let inc1 = p.spend("INC-1");
    assert_eq!(inc1.calls, 2);
    assert_eq!(
        inc1.usage,
        Usage {
            input_tokens: 120,
            output_tokens: 100
        }
    );
    assert!((inc1.cost - 2.0 * one_call).abs() < 1e-9, "{}", inc1.cost);
    let inc2 = p.spend("INC-2");
    assert_eq!(inc2.calls, 2);
    assert_eq!(
        inc2.usage,
        Usage {
            input_tokens: 90,
            output_tokens: 60
        }
    );
    let bad_call = 30.0 / 1000.0 * 3.0 + 10.0 / 1000.0 * 15.0;
    assert!(
        (inc2.cost - (one_call + bad_call)).abs() < 1e-9,
        "{}",
        inc2.cost
    );
    let total = p.total();
    assert_eq!(total.calls, 4);
    assert_eq!(total.usage.total(), 220 + 150);
    assert!((total.cost - (3.0 * one_call + bad_call)).abs() < 1e-9);

    // Forgetting a closed incident resets its budget.
    assert_eq!(p.forget("INC-1").unwrap().calls, 2);
    p.complete(&ask("INC-1")).await.unwrap();
    assert_eq!(p.spend("INC-1").calls, 1);
}

#[tokio::test]
async fn azure_built_from_config() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/gpt-4o-prod/chat/completions"))
        .and(query_param("api-version", "2024-10-21"))
        .and(header("api-key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-A", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-11-20",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": "hi"}}],
            "usage": {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let key = key_file();
    let mut cfg = config(ProviderKind::AzureOpenAi, &server, &key);
    cfg.model = String::new();
    cfg.deployment = Some("gpt-4o-prod".into());
    cfg.api_version = Some("2024-10-21".into());
    let recorder = Arc::new(Recorder::default());
    let p = build(&cfg, recorder.clone()).unwrap();
    assert_eq!(p.name(), "llm-main");
    let out = p
        .complete(&CompletionRequest::new(5).user("hello"))
        .await
        .unwrap();
    assert_eq!(out.text, "hi");
    let ev = recorder.events();
    assert_eq!(ev[0].connector, "llm-main");
    assert!(!serde_json::to_string(&ev).unwrap().contains(KEY));
}
