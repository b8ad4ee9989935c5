//! Microsoft Entra ID through a mock of the documented Microsoft Graph v1.0 user calls and the
//! Microsoft identity platform token endpoint.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use picket_respond::ResponderConfig;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "graph-client-secret-xyz";
const TOKEN_PATH: &str = "/contoso-tenant/oauth2/v2.0/token";

fn config(server: &MockServer) -> ResponderConfig {
    let mut c = ResponderConfig::new("entra", "entra");
    c.base_url = Some(server.uri());
    c.client_id = Some("graph-app".into());
    c.tenant_id = Some("contoso-tenant".into());
    c.token_url = Some(format!("{}{TOKEN_PATH}", server.uri()));
    c.secret_file = Some(secret_file(SECRET));
    c.retries = 0;
    c
}

fn token_form(r: &Request) -> bool {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&r.body).into_owned().collect();
    let want = [
        ("client_id", "graph-app"),
        ("client_secret", SECRET),
        ("grant_type", "client_credentials"),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    form.len() == want.len()
        && want
            .iter()
            .all(|(k, v)| form.get(*k).map(String::as_str) == Some(*v))
}

async fn token(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(token_form)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
            "access_token": "graph-token-1"
        })))
        .expect(times)
        .mount(server)
        .await;
}

/// Graph's error object, in its documented key order (`code`, `message`, `innerError`).
fn graph_error(code: &str, message: &str) -> String {
    format!(
        r#"{{"error":{{"code":{},"message":{},"innerError":{{"date":"2024-05-02T14:39:38","request-id":"5f5c9b3a-4f5e-4d1e-9e0e-1c2d3e4f5a6b","client-request-id":"5f5c9b3a-4f5e-4d1e-9e0e-1c2d3e4f5a6b"}}}}}}"#,
        json!(code),
        json!(message)
    )
}

fn graph_reply(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(graph_error(code, message), "application/json")
}

#[tokio::test]
async fn disables_enables_and_revokes_a_user() {
    let server = MockServer::start().await;
    token(&server, 1).await;
    for enabled in [false, true] {
        Mock::given(method("PATCH"))
            .and(path("/v1.0/users/alice@contoso.com"))
            .and(header("authorization", "Bearer graph-token-1"))
            .and(header("content-type", "application/json"))
            .and(body_json(json!({"accountEnabled": enabled})))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(path("/v1.0/users/alice@contoso.com/revokeSignInSessions"))
        .and(header("authorization", "Bearer graph-token-1"))
        .and(header("content-length", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean",
            "value": true
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (r, rec) = build(config(&server));
    let out = run(&r, &request("disable_user", "alice@contoso.com"))
        .await
        .unwrap();
    assert_eq!(out.summary, "Entra ID user alice@contoso.com disabled");
    assert_eq!(out.details["status"], 204);
    let out = run(&r, &request("enable_user", "alice@contoso.com"))
        .await
        .unwrap();
    assert_eq!(out.summary, "Entra ID user alice@contoso.com enabled");
    let out = run(&r, &request("revoke_sessions", "alice@contoso.com"))
        .await
        .unwrap();
    assert_eq!(
        out.summary,
        "Entra ID user alice@contoso.com sign-in sessions revoked"
    );

    let events = serde_json::to_string(&rec.events()).unwrap();
    assert!(!events.contains(SECRET) && !events.contains("graph-token-1"));
    let (_, def) = r.route("disable_user", None).unwrap();
    assert_eq!(def.undo.as_deref(), Some("enable_user"));
    assert!(def.idempotent);
    let (_, def) = r.route("enable_user", None).unwrap();
    assert_eq!(def.undo.as_deref(), Some("disable_user"));
    let (_, def) = r.route("revoke_sessions", None).unwrap();
    assert_eq!(def.undo, None);
}

#[tokio::test]
async fn the_user_principal_name_is_one_percent_encoded_segment() {
    let server = MockServer::start().await;
    token(&server, 1).await;
    // A guest account: `#EXT#` must not end the URL.
    Mock::given(method("PATCH"))
        .and(path(
            "/v1.0/users/bob_fabrikam.com%23EXT%23@contoso.onmicrosoft.com",
        ))
        .and(body_json(json!({"accountEnabled": false})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    // A name with a slash or a question mark stays one segment.
    Mock::given(method("PATCH"))
        .and(path("/v1.0/users/a%2Fb%3Fc@contoso.com"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    // A name starting with `$`: Graph's documented `users('…')` form.
    Mock::given(method("PATCH"))
        .and(path("/v1.0/users('%24AdeleVance%40contoso.com')"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let (r, _) = build(config(&server));
    for upn in [
        "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com",
        "a/b?c@contoso.com",
        "$AdeleVance@contoso.com",
    ] {
        run(&r, &request("disable_user", upn)).await.unwrap();
    }
}

#[tokio::test]
async fn graph_errors_are_reported_with_the_vendor_code_and_message() {
    let server = MockServer::start().await;
    token(&server, 1).await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/users/ghost@contoso.com"))
        .respond_with(graph_reply(
            404,
            "Request_ResourceNotFound",
            "Resource 'ghost@contoso.com' does not exist or one of its queried reference-property objects are not present.",
        ))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/users/admin@contoso.com"))
        .respond_with(graph_reply(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1.0/users/bad@contoso.com/revokeSignInSessions"))
        .respond_with(graph_reply(
            400,
            "Request_BadRequest",
            "Invalid object identifier 'bad@contoso.com'.",
        ))
        .mount(&server)
        .await;
    let (r, _) = build(config(&server));
    let e = run(&r, &request("disable_user", "ghost@contoso.com"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "target_not_found");
    assert!(
        e.to_string()
            .contains("Request_ResourceNotFound: Resource 'ghost@contoso.com' does not exist"),
        "{e}"
    );
    let e = run(&r, &request("disable_user", "admin@contoso.com"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "forbidden");
    assert!(e.to_string().contains("Insufficient privileges"), "{e}");
    let e = run(&r, &request("revoke_sessions", "bad@contoso.com"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "rejected");
    assert_eq!(
        e.to_string(),
        "the vendor refused the request (HTTP 400): Request_BadRequest: Invalid object identifier 'bad@contoso.com'."
    );
    let e = run(&r, &request("disable_user", "  ")).await.unwrap_err();
    assert_eq!(e.code(), "target_not_found");
}

#[tokio::test]
async fn a_rejected_token_is_fetched_again_once_and_bad_credentials_fail_clearly() {
    let server = MockServer::start().await;
    token(&server, 2).await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/users/alice@contoso.com"))
        .respond_with(graph_reply(
            401,
            "InvalidAuthenticationToken",
            "Lifetime validation failed, the token is expired.",
        ))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/users/alice@contoso.com"))
        .and(header("authorization", "Bearer graph-token-1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let (r, _) = build(config(&server));
    run(&r, &request("disable_user", "alice@contoso.com"))
        .await
        .unwrap();

    let bad = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided.",
            "error_codes": [7000215]
        })))
        .mount(&bad)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&bad)
        .await;
    let (r, rec) = build(config(&bad));
    let e = run(&r, &request("disable_user", "alice@contoso.com"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unauthorized");
    assert!(e.to_string().contains("AADSTS7000215"), "{e}");
    assert!(!e.to_string().contains(SECRET));
    assert!(
        !serde_json::to_string(&rec.events())
            .unwrap()
            .contains(SECRET)
    );
}

#[tokio::test]
async fn throttling_waits_for_retry_after() {
    let server = MockServer::start().await;
    token(&server, 1).await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/users/alice@contoso.com"))
        .respond_with(
            graph_reply(
                429,
                "TooManyRequests",
                "Too many requests. Please retry after some time.",
            )
            .insert_header("retry-after", "1"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v1.0/users/alice@contoso.com"))
        .and(body_json(json!({"accountEnabled": false})))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.retries = 2;
    let (r, rec) = build(c);
    let started = Instant::now();
    run(&r, &request("disable_user", "alice@contoso.com"))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    let outcomes: Vec<String> = rec.events().iter().map(|e| e.outcome.clone()).collect();
    assert_eq!(outcomes, ["ok", "rate_limited", "ok"]);
}

#[tokio::test]
async fn the_token_scope_follows_a_national_cloud_and_options_are_refused() {
    // Without token_url the tenant's Microsoft endpoint is used; the national cloud's own scope is
    // asked for. Only the config is checked here (no network).
    let mut c = ResponderConfig::new("entra-us", "entra");
    c.base_url = Some("https://graph.microsoft.us".into());
    c.client_id = Some("app".into());
    c.tenant_id = Some("t".into());
    c.secret_file = Some(secret_file("s3cret-value"));
    assert!(picket_respond::check_all(std::slice::from_ref(&c)).is_empty());
    c.options.insert("scope".into(), json!("x"));
    let problems = picket_respond::check_all(&[c]);
    assert_eq!(problems[0].0, "responders[0].options.scope", "{problems:?}");
}
