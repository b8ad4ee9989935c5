//! Okta user suspension against a mock of the documented Users API lifecycle operations.

mod common;

use common::*;
use picket_respond::ResponderConfig;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "00okta-api-token-xyz";
const ID: &str = "00ub0oNGTSWTBKOLGLNR";

fn config(server: &MockServer) -> ResponderConfig {
    let mut c = ResponderConfig::new("okta", "okta");
    c.base_url = Some(server.uri());
    c.secret_file = Some(secret_file(TOKEN));
    c.retries = 0;
    c
}

fn user(status: &str) -> serde_json::Value {
    json!({
        "id": ID,
        "status": status,
        "created": "2013-06-24T16:39:18.000Z",
        "activated": "2013-06-24T16:39:19.000Z",
        "statusChanged": "2013-06-24T16:39:19.000Z",
        "lastLogin": "2013-06-24T17:39:19.000Z",
        "lastUpdated": "2013-07-02T21:36:25.344Z",
        "passwordChanged": "2013-07-02T21:36:25.344Z",
        "profile": {
            "firstName": "Isaac", "lastName": "Brock",
            "email": "isaac.brock@example.com", "login": "isaac.brock@example.com",
            "mobilePhone": "555-415-1337"
        },
        "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
        "_links": {"self": {"href": format!("https://example.okta.com/api/v1/users/{ID}")}}
    })
}

/// Okta's error object, in its documented key order.
fn okta_error(status: u16, code: &str, summary: &str, causes: &[&str]) -> ResponseTemplate {
    let causes: Vec<String> = causes
        .iter()
        .map(|c| format!(r#"{{"errorSummary":{}}}"#, json!(c)))
        .collect();
    ResponseTemplate::new(status).set_body_raw(
        format!(
            r#"{{"errorCode":"{code}","errorSummary":{},"errorLink":"{code}","errorId":"oaeHfmOAx1iRLa0H10DeMz5fQ","errorCauses":[{}]}}"#,
            json!(summary),
            causes.join(",")
        ),
        "application/json",
    )
}

async fn get_user(server: &MockServer, status: &str) {
    Mock::given(method("GET"))
        .and(path("/api/v1/users/isaac.brock@example.com"))
        .and(header("authorization", format!("SSWS {TOKEN}").as_str()))
        .and(header("accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user(status)))
        .mount(server)
        .await;
}

async fn lifecycle(server: &MockServer, op: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/users/{ID}/lifecycle/{op}")))
        .and(header("authorization", format!("SSWS {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn suspends_an_active_user_and_unsuspends_a_suspended_one() {
    let server = MockServer::start().await;
    get_user(&server, "ACTIVE").await;
    lifecycle(&server, "suspend", 1).await;
    lifecycle(&server, "unsuspend", 0).await;
    let (r, rec) = build(config(&server));
    let out = run(&r, &request("suspend_user", "isaac.brock@example.com"))
        .await
        .unwrap();
    assert_eq!(out.details["user_id"], ID);
    assert_eq!(out.details["status"], "SUSPENDED");
    assert_eq!(out.details["changed"], true);
    assert_eq!(
        out.summary,
        format!("Okta user isaac.brock@example.com ({ID}) suspended")
    );
    // An active user has nothing to unsuspend: no call.
    let out = run(&r, &request("unsuspend_user", "isaac.brock@example.com"))
        .await
        .unwrap();
    assert_eq!(out.details["changed"], false);
    assert!(
        !serde_json::to_string(&rec.events())
            .unwrap()
            .contains(TOKEN)
    );

    let server = MockServer::start().await;
    get_user(&server, "SUSPENDED").await;
    lifecycle(&server, "unsuspend", 1).await;
    lifecycle(&server, "suspend", 0).await;
    let (r, _) = build(config(&server));
    let out = run(&r, &request("unsuspend_user", "isaac.brock@example.com"))
        .await
        .unwrap();
    assert_eq!(out.details["status"], "ACTIVE");
    assert_eq!(out.details["changed"], true);
    // Already suspended: success without a call.
    let out = run(&r, &request("suspend_user", "isaac.brock@example.com"))
        .await
        .unwrap();
    assert_eq!(out.details["changed"], false);
    assert!(out.summary.contains("already SUSPENDED"), "{}", out.summary);

    for (action, undo) in [
        ("suspend_user", "unsuspend_user"),
        ("unsuspend_user", "suspend_user"),
    ] {
        let (_, def) = r.route(action, None).unwrap();
        assert_eq!(def.undo.as_deref(), Some(undo));
        assert!(def.idempotent);
    }
}

#[tokio::test]
async fn a_retried_suspend_that_already_happened_counts_as_done() {
    let server = MockServer::start().await;
    // First read: active; after the (lost) first suspend, the user is suspended.
    Mock::given(method("GET"))
        .and(path("/api/v1/users/isaac.brock@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("ACTIVE")))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    get_user(&server, "SUSPENDED").await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/users/{ID}/lifecycle/suspend")))
        .respond_with(okta_error(
            400,
            "E0000001",
            "Api validation failed: suspendUser",
            &["Cannot suspend a user that is not active"],
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (r, _) = build(config(&server));
    let out = run(&r, &request("suspend_user", "isaac.brock@example.com"))
        .await
        .unwrap();
    assert_eq!(out.details["status"], "SUSPENDED");
    assert_eq!(out.details["changed"], false);
}

#[tokio::test]
async fn okta_errors_are_reported_with_code_summary_and_causes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/ghost@example.com"))
        .respond_with(okta_error(
            404,
            "E0000007",
            "Not found: Resource not found: ghost@example.com (User)",
            &[],
        ))
        .mount(&server)
        .await;
    // A provisioned (never activated) user cannot be suspended.
    Mock::given(method("GET"))
        .and(path("/api/v1/users/isaac.brock@example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("PROVISIONED")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/v1/users/{ID}/lifecycle/suspend")))
        .respond_with(okta_error(
            400,
            "E0000001",
            "Api validation failed: suspendUser",
            &["Cannot suspend a user that is not active"],
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (r, _) = build(config(&server));
    let e = run(&r, &request("suspend_user", "ghost@example.com"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "target_not_found");
    assert_eq!(
        e.to_string(),
        "target not found: Okta user ghost@example.com: E0000007 Not found: Resource not found: ghost@example.com (User)"
    );
    let e = run(&r, &request("suspend_user", "isaac.brock@example.com"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "rejected");
    assert_eq!(
        e.to_string(),
        "the vendor refused the request (HTTP 400): E0000001 Api validation failed: suspendUser (Cannot suspend a user that is not active)"
    );
}

#[tokio::test]
async fn an_invalid_token_is_unauthorized_and_never_shown() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(okta_error(401, "E0000011", "Invalid token provided", &[]))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let (r, rec) = build(config(&server));
    let e = run(&r, &request("suspend_user", "isaac.brock@example.com"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unauthorized");
    assert!(e.to_string().contains("E0000011"), "{e}");
    assert!(!e.to_string().contains(TOKEN));
    let events = serde_json::to_string(&rec.events()).unwrap();
    assert!(!events.contains(TOKEN), "{events}");
}

#[tokio::test]
async fn a_rate_limited_call_is_retried() {
    // Okta's 429 carries X-Rate-Limit-* headers (reset as epoch seconds), not Retry-After: the
    // client's own backoff applies.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/users/isaac.brock@example.com"))
        .respond_with(
            okta_error(
                429,
                "E0000047",
                "API call exceeded rate limit due to too many requests.",
                &[],
            )
            .insert_header("x-rate-limit-limit", "600")
            .insert_header("x-rate-limit-remaining", "0")
            .insert_header("x-rate-limit-reset", "1609459200"),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    get_user(&server, "ACTIVE").await;
    lifecycle(&server, "suspend", 1).await;
    let mut c = config(&server);
    c.retries = 1;
    let (r, rec) = build(c);
    run(&r, &request("suspend_user", "isaac.brock@example.com"))
        .await
        .unwrap();
    let outcomes: Vec<String> = rec.events().iter().map(|e| e.outcome.clone()).collect();
    assert_eq!(outcomes, ["rate_limited", "ok", "ok"]);
}

#[tokio::test]
async fn the_org_url_is_required_and_options_are_refused() {
    let mut c = ResponderConfig::new("okta", "okta");
    c.secret_env = Some("OKTA_TOKEN".into());
    c.options.insert("group".into(), json!("x"));
    let problems = picket_respond::check_all(&[c]);
    let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["responders[0].base_url", "responders[0].options.group"],
        "{problems:?}"
    );
}
