//! Elasticsearch and OpenSearch against a mock of the documented `_search` API: the exact request,
//! the documented reply, each documented error.

mod common;

use common::*;
use picket_siem::SiemConfig;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// An Elasticsearch API key's `encoded` value (base64 of `id:api_key`).
const KEY: &str = "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==";
const PASSWORD: &str = "s3cr3t-elastic-pw";

fn config(server: &MockServer) -> SiemConfig {
    let mut c = SiemConfig::new("elastic", "elasticsearch");
    c.base_url = Some(server.uri());
    c.index = Some("logs-*".into());
    c.api_key_file = Some(secret_file(KEY));
    c.retries = 0;
    c
}

fn request_body(size: u32, field: &str) -> serde_json::Value {
    json!({
        "size": size,
        "query": {"bool": {
            "must": [{"query_string": {"query": "event.action:logon-failed AND user.name:alice"}}],
            "filter": [{"range": {field: {"gte": "2024-05-01T00:00:00.000Z", "lte": "2024-05-02T00:00:00.000Z"}}}]
        }},
        "sort": [{field: "desc"}]
    })
}

/// The documented search reply (Elasticsearch 8.x), two hits.
fn reply(total: u64) -> serde_json::Value {
    json!({
        "took": 12,
        "timed_out": false,
        "_shards": {"total": 3, "successful": 3, "skipped": 0, "failed": 0},
        "hits": {
            "total": {"value": total, "relation": "eq"},
            "max_score": null,
            "hits": [
                {
                    "_index": ".ds-logs-system.auth-default-2024.05.01-000001",
                    "_id": "kxWFcnMByiguvud1Z8vC",
                    "_score": null,
                    "_source": {
                        "@timestamp": "2024-05-01T10:15:02.000Z",
                        "event": {"action": "logon-failed", "category": ["authentication"], "outcome": "failure"},
                        "user": {"name": "alice"},
                        "source": {"ip": "203.0.113.7"},
                        "host": {"name": "web01"}
                    },
                    "sort": [1714558502000i64]
                },
                {
                    "_index": ".ds-logs-system.auth-default-2024.05.01-000001",
                    "_id": "lBWFcnMByiguvud1Z8vC",
                    "_score": null,
                    "_source": {
                        "@timestamp": "2024-05-01T10:14:58.000Z",
                        "event": {"action": "logon-failed", "category": ["authentication"], "outcome": "failure"},
                        "user": {"name": "alice"},
                        "source": {"ip": "203.0.113.7"},
                        "host": {"name": "web01"}
                    },
                    "sort": [1714558498000i64]
                }
            ]
        }
    })
}

const Q: &str = "event.action:logon-failed AND user.name:alice";

#[tokio::test]
async fn sends_the_documented_search_and_reads_the_hits() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/logs-*/_search"))
        .and(header("authorization", format!("ApiKey {KEY}").as_str()))
        .and(header("content-type", "application/json"))
        .and(header("accept", "application/json"))
        .and(body_json(request_body(10, "@timestamp")))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply(2)))
        .expect(1)
        .mount(&server)
        .await;
    let (siem, rec) = build(config(&server));
    assert_eq!(siem.name(), "elastic");
    assert_eq!(siem.kind(), "elasticsearch");
    let r = siem.search(&query(Q, 10)).await.unwrap();
    assert_eq!(r.total, Some(2));
    assert!(!r.truncated);
    assert_eq!(r.events.len(), 2);
    assert_eq!(r.events[0]["_id"], "kxWFcnMByiguvud1Z8vC");
    assert_eq!(
        r.events[0]["_index"],
        ".ds-logs-system.auth-default-2024.05.01-000001"
    );
    assert_eq!(r.events[0]["user"]["name"], "alice");
    assert_eq!(r.events[0]["@timestamp"], "2024-05-01T10:15:02.000Z");
    assert_eq!(r.events[1]["_id"], "lBWFcnMByiguvud1Z8vC");
    let events = rec.events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].operation, "search");
    assert_eq!(events[0].outcome, "ok");
    assert_events_clean(&rec, KEY);
}

#[tokio::test]
async fn the_limit_is_clamped_and_a_larger_total_marks_the_result_truncated() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/winlogbeat-*,filebeat-*/_search"))
        .and(header(
            "authorization",
            // base64("analyst:s3cr3t-elastic-pw")
            "Basic YW5hbHlzdDpzM2NyM3QtZWxhc3RpYy1wdw==",
        ))
        .and(body_json(request_body(2, "event.created")))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply(57)))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.index = Some("winlogbeat-*,filebeat-*".into());
    c.time_field = Some("event.created".into());
    c.api_key_file = None;
    c.username = Some("analyst".into());
    c.password_file = Some(secret_file(PASSWORD));
    c.max_limit = 2;
    let (siem, rec) = build(c);
    let r = siem.search(&query(Q, 500)).await.unwrap();
    assert_eq!(r.total, Some(57));
    assert!(r.truncated);
    assert_eq!(r.events.len(), 2);
    assert_events_clean(&rec, PASSWORD);
}

#[tokio::test]
async fn a_big_event_is_cut_to_the_cap() {
    let server = MockServer::start().await;
    let mut body = reply(2);
    body["hits"]["hits"][1]["_source"]["message"] = json!("A".repeat(40_000));
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let (siem, _) = build(config(&server));
    let r = siem.search(&query(Q, 10)).await.unwrap();
    assert!(r.truncated);
    assert_eq!(r.events[0]["_id"], "kxWFcnMByiguvud1Z8vC");
    let big = &r.events[1];
    assert!(serde_json::to_vec(big).unwrap().len() <= picket_siem::MAX_EVENT_BYTES);
    assert_eq!(big["_id"], "lBWFcnMByiguvud1Z8vC");
    assert!(big["message"].as_str().unwrap().ends_with("…[truncated]"));
    assert!(big["_truncated"]["original_bytes"].as_u64().unwrap() > 40_000);
}

async fn error_for(status: u16, body: &str) -> picket_siem::SiemError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/logs-*/_search"))
        .respond_with(
            ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json"),
        )
        .mount(&server)
        .await;
    let (siem, rec) = build(config(&server));
    let e = siem.search(&query(Q, 10)).await.unwrap_err();
    assert_clean(&e, KEY);
    assert_events_clean(&rec, KEY);
    e
}

#[tokio::test]
async fn documented_errors_map_to_stable_codes_with_the_vendor_message() {
    // A request body the parser refused.
    let e = error_for(
        400,
        r#"{"error":{"root_cause":[{"type":"parsing_exception","reason":"[query_string] unknown token [START_ARRAY] after [query]","line":1,"col":66}],"type":"parsing_exception","reason":"[query_string] unknown token [START_ARRAY] after [query]","line":1,"col":66},"status":400}"#,
    )
    .await;
    assert_eq!(e.code(), "bad_query");
    assert_eq!(
        e.to_string(),
        "bad query: parsing_exception: [query_string] unknown token [START_ARRAY] after [query]"
    );

    // Lucene syntax error: the useful part is the failed shard's cause.
    let e = error_for(
        400,
        r#"{"error":{"root_cause":[{"type":"query_shard_exception","reason":"Failed to parse query [user.name:(alice]","index_uuid":"d2kZ9wlsRXqZ1dJzJb1Y1Q","index":"logs"}],"type":"search_phase_execution_exception","reason":"all shards failed","phase":"query","grouped":true,"failed_shards":[{"shard":0,"index":"logs","node":"yFz0nwZfQeWoN5ARUwBL0A","reason":{"type":"query_shard_exception","reason":"Failed to parse query [user.name:(alice]","index_uuid":"d2kZ9wlsRXqZ1dJzJb1Y1Q","index":"logs","caused_by":{"type":"parse_exception","reason":"Cannot parse 'user.name:(alice': Encountered \"<EOF>\" at line 1, column 16.\nWas expecting one of:\n    <AND> ...\n    <OR> ...\n    \")\" ...","caused_by":{"type":"parse_exception","reason":"Encountered \"<EOF>\" at line 1, column 16."}}}}]},"status":400}"#,
    )
    .await;
    assert_eq!(e.code(), "bad_query");
    let m = e.to_string();
    assert!(
        m.starts_with("bad query: search_phase_execution_exception: all shards failed; query_shard_exception: Failed to parse query [user.name:(alice]"),
        "{m}"
    );
    assert!(
        m.contains("parse_exception: Cannot parse 'user.name:(alice': Encountered \"<EOF>\" at line 1, column 16."),
        "{m}"
    );
    assert!(!m.contains('\n'));

    // Wrong or revoked key. The body echoes the key: it never reaches the message.
    let e = error_for(
        401,
        &format!(
            r#"{{"error":{{"root_cause":[{{"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request","additional_unsuccessful_credentials":"API key: {KEY} has been invalidated","header":{{"WWW-Authenticate":["Basic realm=\"security\", charset=\"UTF-8\"","Bearer realm=\"security\"","ApiKey"]}}}}],"type":"security_exception","reason":"unable to authenticate with provided credentials and anonymous access is not allowed for this request","additional_unsuccessful_credentials":"API key: {KEY} has been invalidated","header":{{"WWW-Authenticate":["Basic realm=\"security\", charset=\"UTF-8\"","Bearer realm=\"security\"","ApiKey"]}}}},"status":401}}"#
        ),
    )
    .await;
    assert_eq!(e.code(), "unauthorized");
    assert_eq!(
        e.to_string(),
        "not authorized (HTTP 401): security_exception: unable to authenticate with provided credentials and anonymous access is not allowed for this request"
    );

    // Authenticated, not allowed to read the index.
    let e = error_for(
        403,
        r#"{"error":{"root_cause":[{"type":"security_exception","reason":"action [indices:data/read/search] is unauthorized for API key id [VuaCfGcBCdbkQm-e5aOx] of user [picket] on indices [logs-2024.05.01], this action is granted by the index privileges [read,all]"}],"type":"security_exception","reason":"action [indices:data/read/search] is unauthorized for API key id [VuaCfGcBCdbkQm-e5aOx] of user [picket] on indices [logs-2024.05.01], this action is granted by the index privileges [read,all]"},"status":403}"#,
    )
    .await;
    assert_eq!(e.code(), "unauthorized");
    assert!(
        e.to_string().starts_with(
            "not authorized (HTTP 403): security_exception: action [indices:data/read/search] is unauthorized"
        ),
        "{e}"
    );

    let e = error_for(
        404,
        r#"{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [logs-*]","resource.type":"index_or_alias","resource.id":"logs-*","index_uuid":"_na_","index":"logs-*"}],"type":"index_not_found_exception","reason":"no such index [logs-*]","resource.type":"index_or_alias","resource.id":"logs-*","index_uuid":"_na_","index":"logs-*"},"status":404}"#,
    )
    .await;
    assert_eq!(e.code(), "not_found");
    assert_eq!(
        e.to_string(),
        "not found: index_not_found_exception: no such index [logs-*]"
    );

    let e = error_for(
        429,
        r#"{"error":{"root_cause":[{"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=107374183, max_coordinating_and_primary_bytes=107374182]"}],"type":"es_rejected_execution_exception","reason":"rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=107374183, max_coordinating_and_primary_bytes=107374182]"},"status":429}"#,
    )
    .await;
    assert_eq!(e.code(), "rate_limited");

    let e = error_for(
        503,
        r#"{"error":{"root_cause":[],"type":"search_phase_execution_exception","reason":"all shards failed","phase":"query","grouped":true,"failed_shards":[]},"status":503}"#,
    )
    .await;
    assert_eq!(e.code(), "server_error");
    assert_eq!(
        e.to_string(),
        "SIEM error (HTTP 503): search_phase_execution_exception: all shards failed"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/logs-*/_search"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(json!({"error": {"type": "es_rejected_execution_exception", "reason": "rejected execution"}, "status": 429})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/logs-*/_search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply(2)))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.retries = 1;
    let (siem, rec) = build(c);
    let started = std::time::Instant::now();
    let r = siem.search(&query(Q, 10)).await.unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    assert_eq!(r.events.len(), 2);
    let outcomes: Vec<(u32, String)> = rec
        .events()
        .into_iter()
        .map(|e| (e.attempt, e.outcome))
        .collect();
    assert_eq!(outcomes, vec![(1, "rate_limited".into()), (2, "ok".into())]);
}

#[tokio::test]
async fn an_invalid_query_is_refused_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply(2)))
        .expect(0)
        .mount(&server)
        .await;
    let (siem, _) = build(config(&server));
    let mut q = query(Q, 10);
    std::mem::swap(&mut q.from, &mut q.to);
    let e = siem.search(&q).await.unwrap_err();
    assert_eq!(e.code(), "bad_query");
    assert_eq!(
        e.to_string(),
        "bad query: time range: from (2024-05-02T00:00:00Z) is after to (2024-05-01T00:00:00Z)"
    );
    let e = siem.search(&query("   ", 10)).await.unwrap_err();
    assert_eq!(e.code(), "bad_query");
    let e = siem.search(&query(Q, 0)).await.unwrap_err();
    assert_eq!(e.to_string(), "bad query: limit must be at least 1");
    let e = siem
        .search(&query(&"a".repeat(picket_siem::MAX_QUERY_CHARS + 1), 1))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_query");
}

#[tokio::test]
async fn a_reply_that_is_not_the_documented_shape_is_invalid_response() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>proxy login</html>"))
        .mount(&server)
        .await;
    let (siem, _) = build(config(&server));
    let e = siem.search(&query(Q, 10)).await.unwrap_err();
    assert_eq!(e.code(), "invalid_response");

    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"acknowledged": true})))
        .mount(&server)
        .await;
    let (siem, _) = build(config(&server));
    let e = siem.search(&query(Q, 10)).await.unwrap_err();
    assert_eq!(e.code(), "invalid_response");
}

#[tokio::test]
async fn opensearch_uses_basic_or_a_bearer_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/wazuh-alerts-*/_search"))
        .and(header(
            "authorization",
            "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
        ))
        .and(body_json(request_body(10, "timestamp")))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply(2)))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = SiemConfig::new("wazuh", "opensearch");
    c.base_url = Some(format!("{}/", server.uri()));
    c.index = Some("wazuh-alerts-*".into());
    c.time_field = Some("timestamp".into());
    c.api_key_file = Some(secret_file("eyJhbGciOiJIUzI1NiJ9.e30.sig"));
    let (siem, _) = build(c);
    assert_eq!(siem.kind(), "opensearch");
    let r = siem.search(&query(Q, 10)).await.unwrap();
    assert_eq!(r.total, Some(2));
}

#[tokio::test]
async fn a_base_url_with_a_path_keeps_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/es/logs-*/_search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply(2)))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.base_url = Some(format!("{}/es", server.uri()));
    let (siem, _) = build(c);
    siem.search(&query(Q, 10)).await.unwrap();
}
