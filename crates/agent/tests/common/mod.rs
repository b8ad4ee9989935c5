//! Shared by the provider tests: an `Http` pointed at a mock server, and the checks that the API key
//! never leaks.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use picket_enrich::{Http, Recorder, RetryPolicy, Secret};
use serde_json::{Value, json};
use wiremock::MockServer;

/// A key long and distinctive enough that any leak is found by substring search.
pub const KEY: &str = "sk-test-PICKET-7c1e9b04d2aa41f5";

pub struct Client {
    pub http: Http,
    pub recorder: Arc<Recorder>,
}

/// An HTTP client for `server` with the test key, `retries` retries, fast backoff.
pub fn client(server: &MockServer, retries: u32, timeout: Duration) -> Client {
    client_with(server, Some(Secret::new(KEY)), retries, timeout)
}

pub fn client_with(
    server: &MockServer,
    secret: Option<Secret>,
    retries: u32,
    timeout: Duration,
) -> Client {
    let recorder = Arc::new(Recorder::default());
    let http = Http::new(
        "llm-test",
        Some(&server.uri()),
        secret,
        RetryPolicy {
            timeout,
            retries,
            backoff: Duration::from_millis(10),
            max_retry_after: Duration::from_secs(5),
        },
        recorder.clone(),
    )
    .unwrap();
    Client { http, recorder }
}

pub fn default_client(server: &MockServer) -> Client {
    client(server, 0, Duration::from_secs(5))
}

/// The key appears in no error text and no call event.
pub fn assert_no_key(error_text: &str, recorder: &Recorder) {
    assert!(
        !error_text.contains(KEY),
        "key leaked into error: {error_text}"
    );
    let events = serde_json::to_string(&recorder.events()).unwrap();
    assert!(!events.contains(KEY), "key leaked into events: {events}");
}

/// The JSON bodies of every request the server received.
pub async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.body_json::<Value>().unwrap())
        .collect()
}

/// Arguments schema of the `lookup_ip` tool used throughout.
pub fn lookup_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "ip": {"type": "string", "description": "IPv4 or IPv6 address"},
            "include_history": {"type": "boolean"}
        },
        "required": ["ip"],
        "additionalProperties": false
    })
}

/// The structured verdict schema used throughout.
pub fn verdict_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": ["malicious", "suspicious", "benign"]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "rationale": {"type": "string"}
        },
        "required": ["verdict", "confidence", "rationale"],
        "additionalProperties": false
    })
}
