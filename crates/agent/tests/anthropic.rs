//! The Anthropic client against a mock of the Messages API: requests as documented
//! (`POST /v1/messages`, `x-api-key`, `anthropic-version: 2023-06-01`, content blocks) and the
//! documented responses and error bodies.

mod common;

use std::time::{Duration, Instant};

use common::{KEY, assert_no_key, bodies, client, default_client, lookup_schema, verdict_schema};
use picket_agent::{
    Anthropic, CompletionRequest, Message, OutputSchema, Provider, ProviderError, StopReason,
    ToolCall, ToolDef, Usage,
};
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MODEL: &str = "claude-sonnet-4-5-20250929";

fn messages_mock() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("x-api-key", KEY))
        .and(header("anthropic-version", "2023-06-01"))
        .and(header("content-type", "application/json"))
}

fn error_body(kind: &str, message: &str) -> serde_json::Value {
    json!({
        "type": "error",
        "error": {"type": kind, "message": message},
        "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"
    })
}

fn lookup_tool() -> ToolDef {
    ToolDef::new(
        "lookup_ip",
        "Look up an IP address in threat intelligence.",
        lookup_schema(),
    )
}

#[tokio::test]
async fn a_plain_text_answer() {
    let server = MockServer::start().await;
    messages_mock()
        .and(body_partial_json(json!({
            "model": MODEL,
            "max_tokens": 512,
            "system": "You are a SOC analyst.",
            "temperature": 0.2,
            "messages": [{"role": "user", "content": "Summarise alert 42."}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "type": "message",
            "role": "assistant",
            "content": [{"type": "text", "text": "Alert 42 is a failed SSH login burst."}],
            "model": MODEL,
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {
                "input_tokens": 25,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": 11
            }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let c = default_client(&server);
    let p = Anthropic::new(c.http, MODEL);
    let req = CompletionRequest::new(512)
        .system("You are a SOC analyst.")
        .temperature(0.2)
        .user("Summarise alert 42.");
    let out = p.complete(&req).await.unwrap();
    assert_eq!(out.text, "Alert 42 is a failed SSH login burst.");
    assert_eq!(out.stop_reason, StopReason::EndTurn);
    assert_eq!(
        out.usage,
        Usage {
            input_tokens: 25,
            output_tokens: 11
        }
    );
    assert_eq!(out.model, MODEL);
    assert!(out.tool_calls.is_empty());
    assert_eq!(out.structured, None);
    // No tools were offered, so none were sent.
    let sent = &bodies(&server).await[0];
    assert!(sent.get("tools").is_none() && sent.get("tool_choice").is_none());
    let events = c.recorder.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].operation, "messages");
    assert_eq!(events[0].outcome, "ok");
    assert_eq!(events[0].url, format!("{}/v1/messages", server.uri()));
}

#[tokio::test]
async fn a_tool_use_turn_then_the_tool_result() {
    let server = MockServer::start().await;
    let tools = json!([{
        "name": "lookup_ip",
        "description": "Look up an IP address in threat intelligence.",
        "input_schema": lookup_schema()
    }]);
    messages_mock()
        .and(body_partial_json(json!({
            "tools": tools,
            "messages": [{"role": "user", "content": "Is 203.0.113.7 known bad?"}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_01Aq9w938a90dw8q",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [
                {"type": "text", "text": "I'll look that address up."},
                {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "lookup_ip",
                 "input": {"ip": "203.0.113.7"}}
            ],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": {"input_tokens": 380, "output_tokens": 62}
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    // The second request carries the model's turn back and the result as a tool_result block.
    messages_mock()
        .and(body_partial_json(json!({
            "tools": tools,
            "messages": [
                {"role": "user", "content": "Is 203.0.113.7 known bad?"},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "I'll look that address up."},
                    {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "lookup_ip",
                     "input": {"ip": "203.0.113.7"}}
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01A09q90qw90lq917835lq9",
                     "content": "{\"listed\":true,\"feeds\":[\"abuse.ch\"]}"}
                ]}
            ]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_01Bq9w938a90dw8r",
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [{"type": "text", "text": "Yes: 203.0.113.7 is listed by abuse.ch."}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {"input_tokens": 470, "output_tokens": 15}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let p = Anthropic::new(default_client(&server).http, MODEL);
    let mut req = CompletionRequest::new(1024)
        .tool(lookup_tool())
        .user("Is 203.0.113.7 known bad?");
    let first = p.complete(&req).await.unwrap();
    assert_eq!(first.stop_reason, StopReason::ToolUse);
    assert_eq!(first.text, "I'll look that address up.");
    assert_eq!(
        first.tool_calls,
        [ToolCall {
            id: "toolu_01A09q90qw90lq917835lq9".into(),
            name: "lookup_ip".into(),
            arguments: json!({"ip": "203.0.113.7"}),
        }]
    );
    req.messages.push(Message::from_completion(&first));
    req.messages.push(Message::tool_result(
        &first.tool_calls[0].id,
        r#"{"listed":true,"feeds":["abuse.ch"]}"#,
    ));
    let second = p.complete(&req).await.unwrap();
    assert_eq!(second.text, "Yes: 203.0.113.7 is listed by abuse.ch.");
    assert_eq!(second.stop_reason, StopReason::EndTurn);
    assert_eq!(second.usage.input_tokens, 470);
    assert_eq!(bodies(&server).await.len(), 2);
}

fn structured_request() -> CompletionRequest {
    CompletionRequest::new(400)
        .user("Give your verdict on incident 7.")
        .respond_with(
            OutputSchema::new("triage_verdict", verdict_schema()).described("The final verdict."),
        )
}

fn forced_tool_reply(input: serde_json::Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "msg_01C",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [{"type": "tool_use", "id": "toolu_01V", "name": "triage_verdict", "input": input}],
        "stop_reason": "tool_use",
        "stop_sequence": null,
        "usage": {"input_tokens": 210, "output_tokens": 40}
    }))
}

#[tokio::test]
async fn structured_output_through_a_forced_tool() {
    let server = MockServer::start().await;
    messages_mock()
        .and(body_partial_json(json!({
            "tools": [{"name": "triage_verdict", "description": "The final verdict.",
                       "input_schema": verdict_schema()}],
            "tool_choice": {"type": "tool", "name": "triage_verdict"}
        })))
        .respond_with(forced_tool_reply(json!({
            "verdict": "malicious", "confidence": 0.92, "rationale": "C2 beacon to a listed host"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let p = Anthropic::new(default_client(&server).http, MODEL);
    let out = p.complete(&structured_request()).await.unwrap();
    assert_eq!(
        out.structured,
        Some(
            json!({"verdict": "malicious", "confidence": 0.92, "rationale": "C2 beacon to a listed host"})
        )
    );
    // The schema tool is the answer, not a tool call for the caller to run.
    assert!(out.tool_calls.is_empty());
    assert_eq!(out.stop_reason, StopReason::EndTurn);
}

#[tokio::test]
async fn with_other_tools_the_model_may_pick_any() {
    let server = MockServer::start().await;
    messages_mock()
        .and(body_partial_json(json!({"tool_choice": {"type": "any"}})))
        .respond_with(forced_tool_reply(json!({
            "verdict": "benign", "confidence": 0.7, "rationale": "known scanner"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let p = Anthropic::new(default_client(&server).http, MODEL);
    let out = p
        .complete(&structured_request().tool(lookup_tool()))
        .await
        .unwrap();
    assert_eq!(out.structured.unwrap()["verdict"], "benign");
    let sent = &bodies(&server).await[0];
    let names: Vec<&str> = sent["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["lookup_ip", "triage_verdict"]);
}

#[tokio::test]
async fn structured_output_that_breaks_its_schema_is_invalid_output() {
    let server = MockServer::start().await;
    messages_mock()
        .respond_with(forced_tool_reply(json!({
            "verdict": "probably-fine", "confidence": 1.7, "rationale": "x"
        })))
        .mount(&server)
        .await;
    let p = Anthropic::new(default_client(&server).http, MODEL);
    let e = p.complete(&structured_request()).await.unwrap_err();
    assert_eq!(e.code(), "invalid_output");
    let text = e.to_string();
    assert!(text.contains("triage_verdict"), "{text}");
    assert!(text.contains("at /verdict"), "{text}");
    assert!(text.contains("at /confidence"), "{text}");
    // The tokens were spent all the same.
    assert_eq!(
        e.usage(),
        Some(Usage {
            input_tokens: 210,
            output_tokens: 40
        })
    );
}

#[tokio::test]
async fn a_model_that_ignores_the_schema_tool_is_invalid_output() {
    let server = MockServer::start().await;
    messages_mock()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_01D", "type": "message", "role": "assistant", "model": MODEL,
            "content": [{"type": "text", "text": "I think it is benign."}],
            "stop_reason": "max_tokens", "stop_sequence": null,
            "usage": {"input_tokens": 200, "output_tokens": 400}
        })))
        .mount(&server)
        .await;
    let p = Anthropic::new(default_client(&server).http, MODEL);
    let e = p.complete(&structured_request()).await.unwrap_err();
    assert_eq!(e.code(), "invalid_output");
    assert!(e.to_string().contains("max_tokens"), "{e}");
}

#[tokio::test]
async fn tool_arguments_that_break_the_tool_schema_are_invalid_output() {
    let server = MockServer::start().await;
    messages_mock()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_01E", "type": "message", "role": "assistant", "model": MODEL,
            "content": [{"type": "tool_use", "id": "toolu_02", "name": "lookup_ip",
                         "input": {"ip": 3405803783u32, "rm": "-rf"}}],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 100, "output_tokens": 20}
        })))
        .mount(&server)
        .await;
    let p = Anthropic::new(default_client(&server).http, MODEL);
    let req = CompletionRequest::new(100).tool(lookup_tool()).user("x");
    let e = p.complete(&req).await.unwrap_err();
    assert_eq!(e.code(), "invalid_output");
    assert!(e.to_string().contains("at /ip"), "{e}");
}

#[tokio::test]
async fn authentication_permission_and_request_errors_keep_the_message_not_the_key() {
    let server = MockServer::start().await;
    // The API does not echo keys; the mocks do, to prove nothing would leak if one did.
    messages_mock()
        .and(body_partial_json(
            json!({"messages": [{"role": "user", "content": "401"}]}),
        ))
        .respond_with(ResponseTemplate::new(401).set_body_json(error_body(
            "authentication_error",
            &format!("invalid x-api-key {KEY}"),
        )))
        .mount(&server)
        .await;
    messages_mock()
        .and(body_partial_json(
            json!({"messages": [{"role": "user", "content": "403"}]}),
        ))
        .respond_with(ResponseTemplate::new(403).set_body_json(error_body(
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        )))
        .mount(&server)
        .await;
    messages_mock()
        .and(body_partial_json(
            json!({"messages": [{"role": "user", "content": "400"}]}),
        ))
        .respond_with(ResponseTemplate::new(400).set_body_json(error_body(
            "invalid_request_error",
            &format!("messages.0.content: Input should be a valid list (key {KEY})"),
        )))
        .mount(&server)
        .await;
    messages_mock()
        .and(body_partial_json(
            json!({"messages": [{"role": "user", "content": "404"}]}),
        ))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(error_body("not_found_error", "model: claude-nope")),
        )
        .mount(&server)
        .await;
    let c = client(&server, 2, Duration::from_secs(5));
    let p = Anthropic::new(c.http, MODEL);
    let ask = |s: &str| CompletionRequest::new(10).user(s);

    let e = p.complete(&ask("401")).await.unwrap_err();
    assert_eq!(
        e,
        ProviderError::Unauthorized("authentication_error: invalid x-api-key ***".into())
    );
    assert_no_key(&e.to_string(), &c.recorder);

    let e = p.complete(&ask("403")).await.unwrap_err();
    assert_eq!(e.code(), "forbidden");
    assert!(e.to_string().contains(
        "permission_error: Your API key does not have permission to use the specified resource."
    ));

    let e = p.complete(&ask("400")).await.unwrap_err();
    assert_eq!(
        e,
        ProviderError::BadRequest {
            status: 400,
            kind: "invalid_request_error".into(),
            message: "messages.0.content: Input should be a valid list (key ***)".into()
        }
    );
    assert_no_key(&format!("{e} {e:?}"), &c.recorder);

    let e = p.complete(&ask("404")).await.unwrap_err();
    assert!(
        matches!(&e, ProviderError::BadRequest { status: 404, kind, .. } if kind == "not_found_error")
    );

    // None of these is retried: one request each.
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
    let outcomes: Vec<String> = c.recorder.events().into_iter().map(|e| e.outcome).collect();
    assert_eq!(outcomes, ["unauthorized", "forbidden", "ok", "ok"]);
}

#[tokio::test]
async fn rate_limited_waits_for_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    messages_mock()
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(error_body(
                    "rate_limit_error",
                    "Number of request tokens has exceeded your per-minute rate limit",
                )),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    messages_mock()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "msg_01F", "type": "message", "role": "assistant", "model": MODEL,
            "content": [{"type": "text", "text": "done"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 5, "output_tokens": 1}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, 1, Duration::from_secs(5));
    let p = Anthropic::new(c.http, MODEL);
    let started = Instant::now();
    let out = p
        .complete(&CompletionRequest::new(10).user("x"))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After not honoured"
    );
    assert_eq!(out.text, "done");
    let ev = c.recorder.events();
    assert_eq!(
        ev.iter()
            .map(|e| (e.attempt, e.status, e.outcome.as_str()))
            .collect::<Vec<_>>(),
        [(1, Some(429), "rate_limited"), (2, Some(200), "ok")]
    );
}

#[tokio::test]
async fn overloaded_529_is_retried_then_reported_as_overloaded() {
    let server = MockServer::start().await;
    messages_mock()
        .respond_with(
            ResponseTemplate::new(529).set_body_json(error_body("overloaded_error", "Overloaded")),
        )
        .expect(2)
        .mount(&server)
        .await;
    let c = client(&server, 1, Duration::from_secs(5));
    let p = Anthropic::new(c.http, MODEL);
    let e = p
        .complete(&CompletionRequest::new(10).user("x"))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ProviderError::Overloaded("overloaded_error: Overloaded".into())
    );
    assert_eq!(e.code(), "overloaded");
}

#[tokio::test]
async fn server_errors_are_retried_then_fail_as_server_error() {
    let server = MockServer::start().await;
    messages_mock()
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(error_body("api_error", "Internal server error")),
        )
        .expect(3)
        .mount(&server)
        .await;
    let c = client(&server, 2, Duration::from_secs(5));
    let p = Anthropic::new(c.http, MODEL);
    let e = p
        .complete(&CompletionRequest::new(10).user("x"))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ProviderError::Server {
            status: Some(500),
            message: "api_error: Internal server error".into()
        }
    );
    assert_eq!(c.recorder.events().len(), 3);
    assert!(
        c.recorder
            .events()
            .iter()
            .all(|e| e.outcome == "server_error")
    );
}

#[tokio::test]
async fn a_slow_answer_times_out() {
    let server = MockServer::start().await;
    messages_mock()
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_json(json!({})),
        )
        .mount(&server)
        .await;
    let c = client(&server, 0, Duration::from_millis(200));
    let p = Anthropic::new(c.http, MODEL);
    let e = p
        .complete(&CompletionRequest::new(10).user("x"))
        .await
        .unwrap_err();
    assert_eq!(e, ProviderError::Timeout(Duration::from_millis(200)));
    assert_eq!(c.recorder.events()[0].outcome, "timeout");
}

#[tokio::test]
async fn bad_requests_are_refused_before_sending() {
    let server = MockServer::start().await;
    let p = Anthropic::new(default_client(&server).http, MODEL);
    let req =
        CompletionRequest::new(10)
            .user("x")
            .tool(ToolDef::new("bad name!", "d", lookup_schema()));
    assert_eq!(p.complete(&req).await.unwrap_err().code(), "config");
    let req = CompletionRequest::new(10)
        .user("x")
        .tool(lookup_tool())
        .respond_with(OutputSchema::new("lookup_ip", verdict_schema()));
    assert_eq!(p.complete(&req).await.unwrap_err().code(), "config");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_client_without_key_is_a_config_error() {
    let server = MockServer::start().await;
    let c = common::client_with(&server, None, 0, Duration::from_secs(1));
    let p = Anthropic::new(c.http, MODEL);
    let e = p
        .complete(&CompletionRequest::new(10).user("x"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "config");
    assert!(server.received_requests().await.unwrap().is_empty());
}
