//! Microsoft Sentinel against mocks of the documented Microsoft identity platform token endpoint
//! and Log Analytics query API: the exact requests, the tables reply, each documented error.

mod common;

use common::*;
use picket_siem::SiemConfig;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "Qx18Q~abcdefghijklmnopqrstuvwxyz0123456";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT: &str = "0c1d2e3f-4a5b-6c7d-8e9f-a0b1c2d3e4f5";
const WORKSPACE: &str = "b4e2a0c3-5d6f-4a1b-9c8d-7e6f5a4b3c2d";
const TOKEN: &str =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2FwaS5sb2dhbmFseXRpY3MuaW8ifQ.sig1";
const TOKEN2: &str =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2FwaS5sb2dhbmFseXRpY3MuaW8ifQ.sig2";

fn config(server: &MockServer) -> SiemConfig {
    let mut c = SiemConfig::new("sentinel", "sentinel");
    c.base_url = Some(server.uri());
    c.workspace_id = Some(WORKSPACE.into());
    c.tenant_id = Some(TENANT.into());
    c.client_id = Some(CLIENT.into());
    c.token_url = Some(format!("{}/{TENANT}/oauth2/v2.0/token", server.uri()));
    c.api_key_file = Some(secret_file(SECRET));
    c.retries = 0;
    c
}

fn token_reply(token: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token
    }))
}

async fn mount_token(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(FormIs::new(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("client_secret", SECRET),
            ("scope", "https://api.loganalytics.io/.default"),
        ]))
        .respond_with(token_reply(TOKEN))
        .expect(times)
        .mount(server)
        .await;
}

const Q: &str =
    "SigninLogs | where UserPrincipalName == \"alice@example.com\" and ResultType != \"0\"";

/// The documented reply: one `PrimaryResult` table.
const TABLES: &str = r#"{"tables":[{"name":"PrimaryResult","columns":[{"name":"TimeGenerated","type":"datetime"},{"name":"UserPrincipalName","type":"string"},{"name":"IPAddress","type":"string"},{"name":"ResultType","type":"string"},{"name":"LocationDetails","type":"dynamic"},{"name":"RiskLevelDuringSignIn","type":"string"}],"rows":[["2024-05-01T10:15:02.1234567Z","alice@example.com","203.0.113.7","50126","{\"city\":\"Lagos\",\"state\":\"Lagos\",\"countryOrRegion\":\"NG\"}","high"],["2024-05-01T10:14:58.7654321Z","alice@example.com","203.0.113.7","50126","{\"city\":\"Lagos\",\"state\":\"Lagos\",\"countryOrRegion\":\"NG\"}","none"]]}]}"#;

#[tokio::test]
async fn fetches_a_token_then_sends_the_documented_query_and_reads_the_table() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/workspaces/{WORKSPACE}/query")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "query": format!("{Q}\n| take 11"),
            "timespan": "2024-05-01T00:00:00.000Z/2024-05-02T00:00:00.000Z",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_raw(TABLES, "application/json"))
        .expect(2)
        .mount(&server)
        .await;
    let (siem, rec) = build(config(&server));
    assert_eq!(siem.kind(), "sentinel");
    let r = siem.search(&query(Q, 10)).await.unwrap();
    assert_eq!(r.total, None);
    assert!(!r.truncated);
    assert_eq!(r.events.len(), 2);
    assert_eq!(
        r.events[0],
        json!({
            "TimeGenerated": "2024-05-01T10:15:02.1234567Z",
            "UserPrincipalName": "alice@example.com",
            "IPAddress": "203.0.113.7",
            "ResultType": "50126",
            "LocationDetails": {"city": "Lagos", "state": "Lagos", "countryOrRegion": "NG"},
            "RiskLevelDuringSignIn": "high",
        })
    );
    // The token is reused.
    siem.search(&query(Q, 10)).await.unwrap();
    let ops: Vec<String> = rec.events().into_iter().map(|e| e.operation).collect();
    assert_eq!(ops, ["oauth_token", "search", "search"]);
    assert_events_clean(&rec, SECRET);
}

#[tokio::test]
async fn extra_rows_and_partial_errors_mark_the_result_truncated() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/workspaces/{WORKSPACE}/query")))
        .and(body_json(json!({
            "query": "SecurityEvent | where EventID == 4625\n| take 2",
            "timespan": "2024-05-01T00:00:00.000Z/2024-05-02T00:00:00.000Z",
        })))
        .respond_with(ResponseTemplate::new(200).set_body_raw(TABLES, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.max_limit = 1;
    let (siem, _) = build(c);
    let r = siem
        .search(&query("SecurityEvent | where EventID == 4625;", 50))
        .await
        .unwrap();
    assert_eq!(r.events.len(), 1);
    assert!(r.truncated);

    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"tables":[{"name":"PrimaryResult","columns":[{"name":"Computer","type":"string"}],"rows":[["web01"]]}],"error":{"message":"There were some errors when processing your query.","code":"PartialError","correlationId":"a1b2c3d4-0000-0000-0000-000000000000","innererror":{"code":"OperationFailedException","message":"Query exceeded the maximum allowed memory"}}}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let (siem, _) = build(config(&server));
    let r = siem.search(&query("Heartbeat", 10)).await.unwrap();
    assert_eq!(r.events, vec![json!({"Computer": "web01"})]);
    assert!(r.truncated);
}

async fn error_for(status: u16, body: &str) -> picket_siem::SiemError {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/workspaces/{WORKSPACE}/query")))
        .respond_with(
            ResponseTemplate::new(status).set_body_raw(body.to_owned(), "application/json"),
        )
        .mount(&server)
        .await;
    let (siem, rec) = build(config(&server));
    let e = siem.search(&query(Q, 10)).await.unwrap_err();
    assert_clean(&e, SECRET);
    assert_clean(&e, TOKEN);
    assert_events_clean(&rec, SECRET);
    e
}

#[tokio::test]
async fn documented_errors_map_to_stable_codes_with_the_vendor_message() {
    let e = error_for(
        400,
        r#"{"error":{"message":"The request had some invalid properties","code":"BadArgumentError","correlationId":"5e1a9d1d-7c7a-4d0b-8f3e-2f6b1c0d9a8e","innererror":{"code":"SyntaxError","message":"A recognition error occurred in the query.","innererror":{"code":"SYN0002","message":"Query could not be parsed at 'whre' on line [1,11]","line":1,"pos":11,"token":"whre"}}}}"#,
    )
    .await;
    assert_eq!(e.code(), "bad_query");
    assert_eq!(
        e.to_string(),
        "bad query: BadArgumentError: The request had some invalid properties; SyntaxError: A recognition error occurred in the query.; SYN0002: Query could not be parsed at 'whre' on line [1,11]"
    );

    let e = error_for(
        403,
        r#"{"error":{"message":"The provided credentials have insufficient access to perform the requested operation","code":"InsufficientAccessError","correlationId":"5e1a9d1d-7c7a-4d0b-8f3e-2f6b1c0d9a8e"}}"#,
    )
    .await;
    assert_eq!(e.code(), "unauthorized");
    assert_eq!(
        e.to_string(),
        "not authorized (HTTP 403): InsufficientAccessError: The provided credentials have insufficient access to perform the requested operation"
    );

    let e = error_for(
        404,
        r#"{"error":{"message":"The workspace could not be found","code":"WorkspaceNotFoundError","correlationId":"5e1a9d1d-7c7a-4d0b-8f3e-2f6b1c0d9a8e"}}"#,
    )
    .await;
    assert_eq!(e.code(), "not_found");
    assert_eq!(
        e.to_string(),
        "not found: WorkspaceNotFoundError: The workspace could not be found"
    );

    let e = error_for(
        429,
        r#"{"error":{"message":"Too many requests","code":"TooManyRequests"}}"#,
    )
    .await;
    assert_eq!(e.code(), "rate_limited");

    let e = error_for(
        502,
        r#"{"error":{"message":"The server encountered an error while processing the request","code":"ServiceError","correlationId":"5e1a9d1d-7c7a-4d0b-8f3e-2f6b1c0d9a8e"}}"#,
    )
    .await;
    assert_eq!(e.code(), "server_error");
    assert!(e.to_string().contains("ServiceError"), "{e}");
}

#[tokio::test]
async fn a_refused_client_secret_is_unauthorized_without_the_secret() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            format!(r#"{{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value ({SECRET}), not the client secret ID, for a secret added to app '{CLIENT}'. Trace ID: 0b6f3e0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b Correlation ID: 5e1a9d1d-7c7a-4d0b-8f3e-2f6b1c0d9a8e Timestamp: 2024-05-01 10:15:02Z","error_codes":[7000215],"timestamp":"2024-05-01 10:15:02Z","trace_id":"0b6f3e0e-1c2d-4e5f-8a9b-0c1d2e3f4a5b","correlation_id":"5e1a9d1d-7c7a-4d0b-8f3e-2f6b1c0d9a8e","error_uri":"https://login.microsoftonline.com/error?code=7000215"}}"#),
            "application/json",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/workspaces/{WORKSPACE}/query")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(TABLES, "application/json"))
        .expect(0)
        .mount(&server)
        .await;
    let (siem, rec) = build(config(&server));
    let e = siem.search(&query(Q, 10)).await.unwrap_err();
    assert_eq!(e.code(), "unauthorized");
    assert!(
        e.to_string().starts_with(
            "not authorized (HTTP 401): token endpoint refused the client credentials: invalid_client: AADSTS7000215: Invalid client secret provided."
        ),
        "{e}"
    );
    assert_clean(&e, SECRET);
    assert_events_clean(&rec, SECRET);

    // An unknown tenant is a 400 from the token endpoint.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(ResponseTemplate::new(400).set_body_raw(
            r#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant '72f988bf-86f1-41af-91ab-2d7cd011db47' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.","error_codes":[90002]}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    let (siem, _) = build(config(&server));
    let e = siem.search(&query(Q, 10)).await.unwrap_err();
    assert_eq!(e.code(), "unauthorized");
    assert!(e.to_string().contains("AADSTS90002: Tenant"), "{e}");
}

#[tokio::test]
async fn a_401_from_the_api_fetches_a_fresh_token_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(token_reply(TOKEN))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/v2.0/token")))
        .respond_with(token_reply(TOKEN2))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/workspaces/{WORKSPACE}/query")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(401).set_body_raw(
            r#"{"error":{"message":"Valid authentication was not provided","code":"AuthorizationRequiredError","correlationId":"5e1a9d1d-7c7a-4d0b-8f3e-2f6b1c0d9a8e"}}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/workspaces/{WORKSPACE}/query")))
        .and(header("authorization", format!("Bearer {TOKEN2}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(TABLES, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let (siem, _) = build(config(&server));
    assert_eq!(siem.search(&query(Q, 10)).await.unwrap().events.len(), 2);
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/workspaces/{WORKSPACE}/query")))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_raw(
                    r#"{"error":{"message":"Too many requests","code":"TooManyRequests"}}"#,
                    "application/json",
                ),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1/workspaces/{WORKSPACE}/query")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(TABLES, "application/json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.retries = 1;
    let (siem, _) = build(c);
    let started = std::time::Instant::now();
    assert_eq!(siem.search(&query(Q, 10)).await.unwrap().events.len(), 2);
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
}
