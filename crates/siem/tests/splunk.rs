//! Splunk against a mock of the documented streaming export endpoint: the exact form, the
//! newline-delimited JSON reply, each documented error.

mod common;

use common::*;
use picket_siem::SiemConfig;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A Splunk authentication token (a JWT).
const TOKEN: &str =
    "eyJraWQiOiJzcGx1bmsuc2VjcmV0IiwiYWxnIjoiSFM1MTIifQ.eyJpc3MiOiJhZG1pbiJ9.c2lnbmF0dXJl";
const PASSWORD: &str = "changeme-splunk-pw";

fn config(server: &MockServer) -> SiemConfig {
    let mut c = SiemConfig::new("splunk", "splunk");
    c.base_url = Some(server.uri());
    c.api_key_file = Some(secret_file(TOKEN));
    c.retries = 0;
    c
}

/// Two results as `output_mode=json` streams them: one object per line, the last with `lastrow`.
const TWO_RESULTS: &str = concat!(
    r#"{"preview":false,"offset":0,"result":{"_bkt":"main~42~6D1AE1D2-7F4B-4C1B-9D52-0C5E2A1B3C4D","_cd":"42:118823","_indextime":"1714558503","_raw":"May  1 10:15:02 web01 sshd[2210]: Failed password for alice from 203.0.113.7 port 52314 ssh2","_serial":"0","_si":["idx-1","main"],"_sourcetype":"linux_secure","_time":"2024-05-01T10:15:02.000+00:00","host":"web01","index":"main","linecount":"1","source":"/var/log/secure","sourcetype":"linux_secure","splunk_server":"idx-1"}}"#,
    "\n",
    r#"{"preview":false,"offset":1,"lastrow":true,"result":{"_bkt":"main~42~6D1AE1D2-7F4B-4C1B-9D52-0C5E2A1B3C4D","_cd":"42:118811","_indextime":"1714558499","_raw":"May  1 10:14:58 web01 sshd[2208]: Failed password for alice from 203.0.113.7 port 52310 ssh2","_serial":"1","_si":["idx-1","main"],"_sourcetype":"linux_secure","_time":"2024-05-01T10:14:58.000+00:00","host":"web01","index":"main","linecount":"1","source":"/var/log/secure","sourcetype":"linux_secure","splunk_server":"idx-1"}}"#,
    "\n"
);

const Q: &str = "index=main sourcetype=linux_secure \"Failed password\" alice";

#[tokio::test]
async fn sends_the_documented_export_request_and_reads_the_stream() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/search/v2/jobs/export"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(FormIs::new(&[
            (
                "search",
                "search index=main sourcetype=linux_secure \"Failed password\" alice | head 11",
            ),
            ("earliest_time", "1714521600"),
            ("latest_time", "1714608000"),
            ("output_mode", "json"),
            ("count", "11"),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_raw(TWO_RESULTS, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let (siem, rec) = build(config(&server));
    assert_eq!(siem.kind(), "splunk");
    let r = siem.search(&query(Q, 10)).await.unwrap();
    assert_eq!(r.total, None);
    assert!(!r.truncated);
    assert_eq!(r.events.len(), 2);
    assert_eq!(r.events[0]["_time"], "2024-05-01T10:15:02.000+00:00");
    assert_eq!(r.events[0]["host"], "web01");
    assert!(r.events[1]["_raw"].as_str().unwrap().contains("port 52310"));
    assert_events_clean(&rec, TOKEN);
}

#[tokio::test]
async fn a_generating_search_is_not_prefixed_and_extra_rows_mark_truncation() {
    let server = MockServer::start().await;
    let rows: String = (0..3)
        .map(|i| {
            format!(
                "{{\"preview\":false,\"offset\":{i},\"result\":{{\"host\":\"web0{i}\",\"count\":\"{}\"}}}}\n",
                10 - i
            )
        })
        .collect();
    Mock::given(method("POST"))
        .and(path("/services/search/jobs/export"))
        .and(header("authorization", format!("Splunk {TOKEN}").as_str()))
        .and(FormIs::new(&[
            ("search", "| tstats count where index=main by host | head 3"),
            ("earliest_time", "1714521600"),
            ("latest_time", "1714608000"),
            ("output_mode", "json"),
            ("count", "3"),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_raw(rows, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.search_path = Some("services/search/jobs/export".into());
    c.auth_scheme = Some("Splunk".into());
    c.max_limit = 2;
    let (siem, _) = build(c);
    let r = siem
        .search(&query("| tstats count where index=main by host", 100))
        .await
        .unwrap();
    assert_eq!(r.events.len(), 2);
    assert!(r.truncated);
    assert_eq!(r.events[1]["host"], "web01");
}

#[tokio::test]
async fn basic_auth_is_supported() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/search/v2/jobs/export"))
        // base64("svc_picket:changeme-splunk-pw")
        .and(header(
            "authorization",
            "Basic c3ZjX3BpY2tldDpjaGFuZ2VtZS1zcGx1bmstcHc=",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_raw(TWO_RESULTS, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.api_key_file = None;
    c.username = Some("svc_picket".into());
    c.password_file = Some(secret_file(PASSWORD));
    let (siem, rec) = build(c);
    assert_eq!(siem.search(&query(Q, 10)).await.unwrap().events.len(), 2);
    assert_events_clean(&rec, PASSWORD);
}

async fn error_for(status: u16, body: &str) -> picket_siem::SiemError {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/search/v2/jobs/export"))
        .respond_with(
            ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json"),
        )
        .mount(&server)
        .await;
    let (siem, rec) = build(config(&server));
    let e = siem.search(&query(Q, 10)).await.unwrap_err();
    assert_clean(&e, TOKEN);
    assert_events_clean(&rec, TOKEN);
    e
}

#[tokio::test]
async fn documented_errors_map_to_stable_codes_with_the_vendor_message() {
    let e = error_for(
        400,
        r#"{"messages":[{"type":"FATAL","text":"Error in 'search' command: Unable to parse the search: Comparator '=' has an invalid term on the left hand side: =."}]}"#,
    )
    .await;
    assert_eq!(e.code(), "bad_query");
    assert_eq!(
        e.to_string(),
        "bad query: Error in 'search' command: Unable to parse the search: Comparator '=' has an invalid term on the left hand side: =."
    );

    let e = error_for(
        401,
        r#"{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}"#,
    )
    .await;
    assert_eq!(e.code(), "unauthorized");
    assert_eq!(
        e.to_string(),
        "not authorized (HTTP 401): call not properly authenticated"
    );

    // A body echoing the token: redacted before anything reads it.
    let e = error_for(
        401,
        &format!(r#"{{"messages":[{{"type":"WARN","text":"token {TOKEN} is expired"}}]}}"#),
    )
    .await;
    assert_eq!(e.code(), "unauthorized");
    assert_eq!(
        e.to_string(),
        "not authorized (HTTP 401): token *** is expired"
    );

    let e = error_for(
        403,
        r#"{"messages":[{"type":"ERROR","text":"User 'svc_picket' with roles { svc_picket } cannot search: no indexes allowed"}]}"#,
    )
    .await;
    assert_eq!(e.code(), "unauthorized");
    assert!(e.to_string().contains("cannot search"), "{e}");

    let e = error_for(404, r#"{"messages":[{"type":"ERROR","text":"Not Found"}]}"#).await;
    assert_eq!(e.code(), "not_found");
    assert_eq!(e.to_string(), "not found: Not Found");

    let e = error_for(
        503,
        r#"{"messages":[{"type":"ERROR","text":"Search head is not ready"}]}"#,
    )
    .await;
    assert_eq!(e.code(), "server_error");
    assert_eq!(
        e.to_string(),
        "SIEM error (HTTP 503): Search head is not ready"
    );

    let e = error_for(
        429,
        r#"{"messages":[{"type":"ERROR","text":"Too many requests"}]}"#,
    )
    .await;
    assert_eq!(e.code(), "rate_limited");

    // A search that fails once running: HTTP 200, a FATAL message line.
    let e = error_for(
        200,
        "{\"preview\":false,\"messages\":[{\"type\":\"INFO\",\"text\":\"Your timerange was substituted based on your search string\"},{\"type\":\"FATAL\",\"text\":\"Unknown search command 'stast'.\"}]}\n",
    )
    .await;
    assert_eq!(e.code(), "bad_query");
    assert_eq!(e.to_string(), "bad query: Unknown search command 'stast'.");

    let e = error_for(200, "<?xml version=\"1.0\"?><response/>").await;
    assert_eq!(e.code(), "invalid_response");
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/services/search/v2/jobs/export"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_raw(
                    r#"{"messages":[{"type":"ERROR","text":"Too many requests"}]}"#,
                    "application/json",
                ),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/services/search/v2/jobs/export"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(TWO_RESULTS, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.retries = 2;
    let (siem, rec) = build(c);
    let started = std::time::Instant::now();
    let r = siem.search(&query(Q, 10)).await.unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    assert_eq!(r.events.len(), 2);
    assert_eq!(rec.events().len(), 2);
}

#[tokio::test]
async fn sub_second_bounds_are_sent_with_milliseconds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(FormIs::new(&[
            ("search", "search index=main | head 2"),
            ("earliest_time", "1714521600.250"),
            ("latest_time", "1714521660"),
            ("output_mode", "json"),
            ("count", "2"),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_raw("", "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let (siem, _) = build(config(&server));
    let r = siem
        .search(&picket_siem::SiemQuery {
            query: "index=main".into(),
            from: "2024-05-01T00:00:00.25Z".parse().unwrap(),
            to: "2024-05-01T00:01:00Z".parse().unwrap(),
            limit: 1,
        })
        .await
        .unwrap();
    assert!(r.events.is_empty());
    assert!(!r.truncated);
}
