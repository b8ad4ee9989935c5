//! The Chat Completions client against mocks of OpenAI, Azure OpenAI and an OpenAI-compatible
//! server: documented requests (`Authorization: Bearer`, Azure's `api-key` and deployment path,
//! tools, tool results, `response_format`) and documented responses and error bodies.

mod common;

use std::time::{Duration, Instant};

use common::{KEY, assert_no_key, bodies, client, default_client, lookup_schema, verdict_schema};
use picket_agent::{
    CompletionRequest, Message, OpenAi, OutputSchema, Provider, ProviderError, StopReason,
    ToolCall, ToolDef, Usage,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MODEL: &str = "gpt-4.1-2025-04-14";

fn chat_mock() -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(header("content-type", "application/json"))
}

/// A documented `chat.completion` object around one choice.
fn completion(message: Value, finish_reason: &str, prompt: u64, completion: u64) -> Value {
    json!({
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": MODEL,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason
        }],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0
            }
        },
        "service_tier": "default",
        "system_fingerprint": "fp_3aa7262c27"
    })
}

fn text_message(content: &str) -> Value {
    json!({"role": "assistant", "content": content, "refusal": null, "annotations": []})
}

fn tool_call_message(id: &str, name: &str, arguments: &str) -> Value {
    json!({
        "role": "assistant",
        "content": null,
        "tool_calls": [{"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}],
        "refusal": null,
        "annotations": []
    })
}

fn error_body(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
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
    chat_mock()
        .and(body_partial_json(json!({
            "model": MODEL,
            "messages": [
                {"role": "system", "content": "You are a SOC analyst."},
                {"role": "user", "content": "Summarise alert 42."}
            ],
            "max_completion_tokens": 512,
            "temperature": 0.2
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            text_message("Alert 42 is a failed SSH login burst."),
            "stop",
            19,
            10,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let c = default_client(&server);
    let p = OpenAi::new(c.http, MODEL);
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
            input_tokens: 19,
            output_tokens: 10
        }
    );
    assert_eq!(out.model, MODEL);
    let sent = &bodies(&server).await[0];
    for absent in ["tools", "response_format", "max_tokens"] {
        assert!(sent.get(absent).is_none(), "{absent} sent: {sent}");
    }
    let ev = c.recorder.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].operation, "chat.completions");
    assert_eq!(ev[0].url, format!("{}/v1/chat/completions", server.uri()));
}

#[tokio::test]
async fn tool_calls_then_the_tool_result() {
    let server = MockServer::start().await;
    let tools = json!([{
        "type": "function",
        "function": {
            "name": "lookup_ip",
            "description": "Look up an IP address in threat intelligence.",
            "parameters": lookup_schema()
        }
    }]);
    chat_mock()
        .and(body_partial_json(json!({
            "tools": tools,
            "messages": [{"role": "user", "content": "Is 203.0.113.7 known bad?"}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            tool_call_message(
                "call_abc123",
                "lookup_ip",
                "{\n\"ip\": \"203.0.113.7\",\n\"include_history\": true\n}",
            ),
            "tool_calls",
            82,
            18,
        )))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    chat_mock()
        .and(body_partial_json(json!({
            "tools": tools,
            "messages": [
                {"role": "user", "content": "Is 203.0.113.7 known bad?"},
                {"role": "assistant", "content": null, "tool_calls": [{
                    "id": "call_abc123", "type": "function",
                    "function": {"name": "lookup_ip"}
                }]},
                {"role": "tool", "tool_call_id": "call_abc123",
                 "content": "{\"listed\":true,\"feeds\":[\"abuse.ch\"]}"}
            ]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            text_message("Yes: 203.0.113.7 is listed by abuse.ch."),
            "stop",
            131,
            14,
        )))
        .expect(1)
        .mount(&server)
        .await;

    let p = OpenAi::new(default_client(&server).http, MODEL);
    let mut req = CompletionRequest::new(1024)
        .tool(lookup_tool())
        .user("Is 203.0.113.7 known bad?");
    let first = p.complete(&req).await.unwrap();
    assert_eq!(first.stop_reason, StopReason::ToolUse);
    assert_eq!(first.text, "");
    assert_eq!(
        first.tool_calls,
        [ToolCall {
            id: "call_abc123".into(),
            name: "lookup_ip".into(),
            arguments: json!({"ip": "203.0.113.7", "include_history": true}),
        }]
    );
    req.messages.push(Message::from_completion(&first));
    req.messages.push(Message::tool_result(
        "call_abc123",
        r#"{"listed":true,"feeds":["abuse.ch"]}"#,
    ));
    let second = p.complete(&req).await.unwrap();
    assert_eq!(second.text, "Yes: 203.0.113.7 is listed by abuse.ch.");
    assert_eq!(second.usage.input_tokens, 131);
    // The arguments went back as a JSON string holding the same object.
    let sent = &bodies(&server).await[1];
    let args = sent["messages"][1]["tool_calls"][0]["function"]["arguments"]
        .as_str()
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(args).unwrap(),
        json!({"ip": "203.0.113.7", "include_history": true})
    );
}

fn structured_request() -> CompletionRequest {
    CompletionRequest::new(400)
        .user("Give your verdict on incident 7.")
        .respond_with(OutputSchema::new("triage_verdict", verdict_schema()))
}

fn response_format() -> Value {
    json!({"response_format": {"type": "json_schema", "json_schema": {
        "name": "triage_verdict", "schema": verdict_schema(), "strict": true
    }}})
}

#[tokio::test]
async fn structured_output_that_validates() {
    let server = MockServer::start().await;
    chat_mock()
        .and(body_partial_json(response_format()))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            text_message(
                r#"{"verdict":"malicious","confidence":0.92,"rationale":"C2 beacon to a listed host"}"#,
            ),
            "stop",
            210,
            31,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let p = OpenAi::new(default_client(&server).http, MODEL);
    let out = p.complete(&structured_request()).await.unwrap();
    assert_eq!(
        out.structured,
        Some(
            json!({"verdict": "malicious", "confidence": 0.92, "rationale": "C2 beacon to a listed host"})
        )
    );
    assert_eq!(out.stop_reason, StopReason::EndTurn);
}

#[tokio::test]
async fn structured_output_that_does_not_validate_is_invalid_output() {
    let server = MockServer::start().await;
    chat_mock()
        .and(body_partial_json(response_format()))
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            text_message(r#"{"verdict":"malicious","confidence":"high"}"#),
            "stop",
            210,
            12,
        )))
        .mount(&server)
        .await;
    let p = OpenAi::new(default_client(&server).http, MODEL);
    let e = p.complete(&structured_request()).await.unwrap_err();
    assert_eq!(e.code(), "invalid_output");
    let text = e.to_string();
    assert!(text.contains("at /confidence"), "{text}");
    assert!(
        text.contains("rationale"),
        "missing property reported: {text}"
    );
    assert_eq!(
        e.usage(),
        Some(Usage {
            input_tokens: 210,
            output_tokens: 12
        })
    );
}

#[tokio::test]
async fn truncated_structured_output_is_invalid_output() {
    let server = MockServer::start().await;
    chat_mock()
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            text_message(r#"{"verdict":"malicious","confid"#),
            "length",
            210,
            400,
        )))
        .mount(&server)
        .await;
    let p = OpenAi::new(default_client(&server).http, MODEL);
    let e = p.complete(&structured_request()).await.unwrap_err();
    assert_eq!(e.code(), "invalid_output");
    assert!(e.to_string().contains("not JSON"), "{e}");
    assert!(e.to_string().contains("max_tokens"), "{e}");
}

#[tokio::test]
async fn a_refusal_is_invalid_output() {
    let server = MockServer::start().await;
    chat_mock()
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            json!({"role": "assistant", "content": null, "refusal": "I can't help with that."}),
            "stop",
            50,
            8,
        )))
        .mount(&server)
        .await;
    let p = OpenAi::new(default_client(&server).http, MODEL);
    let e = p.complete(&structured_request()).await.unwrap_err();
    assert_eq!(e.code(), "invalid_output");
    assert!(e.to_string().contains("I can't help with that."), "{e}");
}

#[tokio::test]
async fn malformed_tool_arguments_are_invalid_output() {
    let server = MockServer::start().await;
    chat_mock()
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            tool_call_message("call_x", "lookup_ip", "{\"ip\": \"203.0.113.7\""),
            "tool_calls",
            80,
            9,
        )))
        .mount(&server)
        .await;
    let p = OpenAi::new(default_client(&server).http, MODEL);
    let req = CompletionRequest::new(100).tool(lookup_tool()).user("x");
    let e = p.complete(&req).await.unwrap_err();
    assert_eq!(e.code(), "invalid_output");
    assert!(
        e.to_string()
            .contains("arguments of tool `lookup_ip` are not valid JSON"),
        "{e}"
    );
}

#[tokio::test]
async fn tool_arguments_off_schema_are_invalid_output() {
    let server = MockServer::start().await;
    chat_mock()
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            tool_call_message("call_y", "lookup_ip", r#"{"address":"203.0.113.7"}"#),
            "tool_calls",
            80,
            9,
        )))
        .mount(&server)
        .await;
    let p = OpenAi::new(default_client(&server).http, MODEL);
    let req = CompletionRequest::new(100).tool(lookup_tool()).user("x");
    let e = p.complete(&req).await.unwrap_err();
    assert_eq!(e.code(), "invalid_output");
    assert!(
        e.to_string().contains("\"ip\" is a required property"),
        "{e}"
    );
}

#[tokio::test]
async fn error_bodies_keep_type_and_message_never_the_key() {
    let server = MockServer::start().await;
    // OpenAI masks the key it echoes; the mock echoes it whole to prove it is redacted here.
    chat_mock()
        .and(body_partial_json(
            json!({"messages": [{"role": "user", "content": "401"}]}),
        ))
        .respond_with(ResponseTemplate::new(401).set_body_json(error_body(
            &format!("Incorrect API key provided: {KEY}."),
            "invalid_request_error",
            None,
            Some("invalid_api_key"),
        )))
        .mount(&server)
        .await;
    chat_mock()
        .and(body_partial_json(
            json!({"messages": [{"role": "user", "content": "403"}]}),
        ))
        .respond_with(ResponseTemplate::new(403).set_body_json(error_body(
            "Country, region, or territory not supported",
            "request_forbidden",
            None,
            Some("unsupported_country_region_territory"),
        )))
        .mount(&server)
        .await;
    chat_mock()
        .and(body_partial_json(json!({"messages": [{"role": "user", "content": "400"}]})))
        .respond_with(ResponseTemplate::new(400).set_body_json(error_body(
            "Invalid schema for response_format 'triage_verdict': In context=(), 'required' is required to be supplied and to be an array including every key in properties.",
            "invalid_request_error",
            Some("response_format"),
            None,
        )))
        .mount(&server)
        .await;
    let c = client(&server, 2, Duration::from_secs(5));
    let p = OpenAi::new(c.http, MODEL);
    let ask = |s: &str| CompletionRequest::new(10).user(s);

    let e = p.complete(&ask("401")).await.unwrap_err();
    assert_eq!(
        e,
        ProviderError::Unauthorized(
            "invalid_request_error: Incorrect API key provided: ***.".into()
        )
    );
    assert_no_key(&format!("{e} {e:?}"), &c.recorder);

    let e = p.complete(&ask("403")).await.unwrap_err();
    assert_eq!(
        e,
        ProviderError::Forbidden(
            "request_forbidden: Country, region, or territory not supported".into()
        )
    );

    let e = p.complete(&ask("400")).await.unwrap_err();
    match &e {
        ProviderError::BadRequest {
            status,
            kind,
            message,
        } => {
            assert_eq!(*status, 400);
            assert_eq!(kind, "invalid_request_error");
            assert!(message.starts_with("Invalid schema for response_format 'triage_verdict'"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.code(), "bad_request");
    assert_no_key(&e.to_string(), &c.recorder);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn rate_limited_waits_for_retry_after_then_succeeds() {
    let server = MockServer::start().await;
    chat_mock()
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(error_body(
                    "Rate limit reached for gpt-4.1 on tokens per min (TPM): Limit 30000, Used 29950, Requested 400.",
                    "tokens",
                    None,
                    Some("rate_limit_exceeded"),
                )),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    chat_mock()
        .respond_with(ResponseTemplate::new(200).set_body_json(completion(
            text_message("ok"),
            "stop",
            3,
            1,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, 2, Duration::from_secs(5));
    let p = OpenAi::new(c.http, MODEL);
    let started = Instant::now();
    let out = p
        .complete(&CompletionRequest::new(10).user("x"))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(out.text, "ok");
    assert_eq!(c.recorder.events()[0].outcome, "rate_limited");
}

#[tokio::test]
async fn azure_uses_the_deployment_path_api_version_and_api_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/gpt-4o-prod/chat/completions"))
        .and(query_param("api-version", "2024-10-21"))
        .and(header("api-key", KEY))
        .and(body_partial_json(json!({
            "messages": [{"role": "user", "content": "hello"}],
            "max_completion_tokens": 64
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-Azure1",
            "object": "chat.completion",
            "created": 1741569952,
            "model": "gpt-4o-2024-11-20",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "hi", "refusal": null},
                "finish_reason": "stop",
                "logprobs": null,
                "content_filter_results": {"hate": {"filtered": false, "severity": "safe"}}
            }],
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
            "usage": {"prompt_tokens": 8, "completion_tokens": 2, "total_tokens": 10},
            "system_fingerprint": "fp_ee1d74bde0"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let c = default_client(&server);
    let p = OpenAi::azure(c.http, "", "gpt-4o-prod", "2024-10-21");
    let out = p
        .complete(&CompletionRequest::new(64).user("hello"))
        .await
        .unwrap();
    assert_eq!(out.text, "hi");
    assert_eq!(out.model, "gpt-4o-2024-11-20");
    assert_eq!(out.usage.total(), 10);
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs[0].headers.get("authorization").is_none());
    // The event URL has no query string.
    assert_eq!(
        c.recorder.events()[0].url,
        format!(
            "{}/openai/deployments/gpt-4o-prod/chat/completions",
            server.uri()
        )
    );
}

#[tokio::test]
async fn azure_401_keeps_its_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "code": "401",
            "message": "Access denied due to invalid subscription key or wrong API endpoint."
        }})))
        .mount(&server)
        .await;
    let c = default_client(&server);
    let p = OpenAi::azure(c.http, "gpt-4o", "gpt-4o-prod", "2024-10-21");
    let e = p
        .complete(&CompletionRequest::new(64).user("hello"))
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ProviderError::Unauthorized(
            "401: Access denied due to invalid subscription key or wrong API endpoint.".into()
        )
    );
    assert_no_key(&e.to_string(), &c.recorder);
}

#[tokio::test]
async fn a_compatible_server_without_key_and_with_its_quirks() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(
            json!({"model": "llama3.1:8b", "max_tokens": 256}),
        ))
        // Ollama-style: arguments as an object, no call id, finish_reason "stop" with tool calls.
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-461",
            "object": "chat.completion",
            "created": 1741569952,
            "model": "llama3.1:8b",
            "system_fingerprint": "fp_ollama",
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": "",
                            "tool_calls": [{"type": "function", "function": {
                                "name": "lookup_ip", "arguments": {"ip": "198.51.100.4"}}}]},
                "finish_reason": "stop"
            }],
            "usage": {"prompt_tokens": 150, "completion_tokens": 20, "total_tokens": 170}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let c = common::client_with(&server, None, 0, Duration::from_secs(5));
    let p = OpenAi::compatible(c.http, "llama3.1:8b");
    let out = p
        .complete(
            &CompletionRequest::new(256)
                .tool(lookup_tool())
                .user("check 198.51.100.4"),
        )
        .await
        .unwrap();
    assert_eq!(out.stop_reason, StopReason::ToolUse);
    assert_eq!(
        out.tool_calls,
        [ToolCall {
            id: "call_0".into(),
            name: "lookup_ip".into(),
            arguments: json!({"ip": "198.51.100.4"}),
        }]
    );
    let reqs = server.received_requests().await.unwrap();
    assert!(reqs[0].headers.get("authorization").is_none());
    assert!(
        bodies(&server).await[0]
            .get("max_completion_tokens")
            .is_none()
    );
}

#[tokio::test]
async fn a_body_that_is_not_the_documented_json_is_a_server_error() {
    let server = MockServer::start().await;
    chat_mock()
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>gateway</html>"))
        .mount(&server)
        .await;
    let p = OpenAi::new(default_client(&server).http, MODEL);
    let e = p
        .complete(&CompletionRequest::new(10).user("x"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "server_error");
    assert!(e.to_string().contains("<html>gateway</html>"), "{e}");
}

#[tokio::test]
async fn insufficient_quota_is_not_retried_and_says_so() {
    let server = MockServer::start().await;
    chat_mock()
        .respond_with(ResponseTemplate::new(429).set_body_json(error_body(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            None,
            Some("insufficient_quota"),
        )))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server, 3, Duration::from_secs(5));
    let p = OpenAi::new(c.http, MODEL);
    let e = p
        .complete(&CompletionRequest::new(10).user("x"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "quota_exhausted", "{e}");
    assert!(e.to_string().contains("exceeded your current quota"), "{e}");
    assert!(e.counts_against_breaker());
    assert_no_key(&e.to_string(), &c.recorder);
}
