//! Microsoft Defender for Endpoint isolation against a mock of the documented machines API and the
//! Microsoft identity platform token endpoint.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use picket_respond::ResponderConfig;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "mde-client-secret-xyz";
const TOKEN_PATH: &str = "/tenant-1/oauth2/v2.0/token";
const MACHINE: &str = "1e5bc9d7e413ddd7902c2932e418702b84d0cc07";

fn config(server: &MockServer) -> ResponderConfig {
    let mut c = ResponderConfig::new("mde", "defender");
    c.base_url = Some(server.uri());
    c.client_id = Some("app-123".into());
    c.tenant_id = Some("tenant-1".into());
    c.token_url = Some(format!("{}{TOKEN_PATH}", server.uri()));
    c.secret_file = Some(secret_file(SECRET));
    c.retries = 0;
    c
}

/// The client credentials form, every field checked.
fn token_form(r: &Request) -> bool {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&r.body).into_owned().collect();
    let want = [
        ("client_id", "app-123"),
        ("client_secret", SECRET),
        ("grant_type", "client_credentials"),
        ("scope", "https://api.securitycenter.microsoft.com/.default"),
    ];
    form.len() == want.len()
        && want
            .iter()
            .all(|(k, v)| form.get(*k).map(String::as_str) == Some(*v))
}

async fn token(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(token_form)
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
            "access_token": "mde-token-1"
        })))
        .expect(times)
        .mount(server)
        .await;
}

/// `GET /api/machines?$filter=computerDnsName eq '<host>'`, `$filter` spelled literally.
async fn machines(server: &MockServer, host: &str, value: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path("/api/machines"))
        .and(query_param(
            "$filter",
            format!("computerDnsName eq '{host}'"),
        ))
        .and(|r: &Request| r.url.query().is_some_and(|q| q.starts_with("$filter=")))
        .and(header("authorization", "Bearer mde-token-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "@odata.context": "https://api.securitycenter.microsoft.com/api/$metadata#Machines",
            "value": value
        })))
        .mount(server)
        .await;
}

fn machine(id: &str, name: &str) -> serde_json::Value {
    json!({
        "id": id, "computerDnsName": name, "osPlatform": "Windows10",
        "healthStatus": "Active", "riskScore": "Low", "lastIpAddress": "172.17.230.209"
    })
}

fn machine_action(id: &str, kind: &str, status: &str, comment: &str) -> serde_json::Value {
    json!({
        "id": id, "type": kind, "scope": "Full", "requestor": "app-123",
        "requestorComment": comment, "status": status, "machineId": MACHINE,
        "computerDnsName": "web01.contoso.com",
        "creationDateTimeUtc": "2024-05-02T14:39:38.2262283Z",
        "lastUpdateDateTimeUtc": "2024-05-02T14:39:38.2262283Z", "relatedFileInfo": null
    })
}

#[tokio::test]
async fn isolates_and_releases_a_device_by_dns_name() {
    let server = MockServer::start().await;
    token(&server, 1).await;
    machines(
        &server,
        "web01.contoso.com",
        json!([machine(MACHINE, "web01.contoso.com")]),
    )
    .await;
    let isolate = request("isolate_host", "web01.contoso.com");
    Mock::given(method("POST"))
        .and(path(format!("/api/machines/{MACHINE}/isolate")))
        .and(header("authorization", "Bearer mde-token-1"))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"Comment": isolate.summary, "IsolationType": "Full"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(machine_action(
            "5382f7ea-7557-4ab7-9782-d50480024a4e",
            "Isolate",
            "Pending",
            &isolate.summary,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let release = request("release_host", "web01.contoso.com");
    Mock::given(method("POST"))
        .and(path(format!("/api/machines/{MACHINE}/unisolate")))
        .and(header("authorization", "Bearer mde-token-1"))
        .and(body_json(json!({"Comment": release.summary})))
        .respond_with(ResponseTemplate::new(201).set_body_json(machine_action(
            "b89eb834-4578-496c-8be0-03f004061435",
            "Unisolate",
            "Pending",
            &release.summary,
        )))
        .expect(1)
        .mount(&server)
        .await;

    let (r, rec) = build(config(&server));
    let out = run(&r, &isolate).await.unwrap();
    assert_eq!(out.details["machine_id"], MACHINE);
    assert_eq!(
        out.details["machine_action_id"],
        "5382f7ea-7557-4ab7-9782-d50480024a4e"
    );
    assert_eq!(out.details["machine_action_status"], "Pending");
    assert_eq!(out.details["isolation_type"], "Full");
    assert!(
        out.summary.contains("isolation requested"),
        "{}",
        out.summary
    );
    let out = run(&r, &release).await.unwrap();
    assert_eq!(
        out.details["machine_action_id"],
        "b89eb834-4578-496c-8be0-03f004061435"
    );
    assert!(out.details["isolation_type"].is_null());

    // One token for all four calls; neither it nor the client secret reaches an event.
    let events = serde_json::to_string(&rec.events()).unwrap();
    assert!(
        !events.contains(SECRET) && !events.contains("mde-token-1"),
        "{events}"
    );
    assert_eq!(rec.events().len(), 5);
    for (action, undo) in [
        ("isolate_host", "release_host"),
        ("release_host", "isolate_host"),
    ] {
        let (_, def) = r.route(action, None).unwrap();
        assert_eq!(def.undo.as_deref(), Some(undo));
        assert!(def.idempotent);
    }
}

#[tokio::test]
async fn selective_isolation_is_an_option_and_options_are_checked() {
    let server = MockServer::start().await;
    token(&server, 1).await;
    machines(&server, "web01", json!([machine(MACHINE, "web01")])).await;
    let req = request("isolate_host", "web01");
    Mock::given(method("POST"))
        .and(path(format!("/api/machines/{MACHINE}/isolate")))
        .and(body_json(
            json!({"Comment": req.summary, "IsolationType": "Selective"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(machine_action(
            "a1",
            "Isolate",
            "Pending",
            &req.summary,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.options
        .insert("isolation_type".into(), json!("Selective"));
    let (r, _) = build(c.clone());
    let out = run(&r, &req).await.unwrap();
    assert_eq!(out.details["isolation_type"], "Selective");

    c.options.insert("isolation_type".into(), json!("Partial"));
    c.options.insert("comment".into(), json!("x"));
    let problems = picket_respond::check_all(&[c]);
    let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        keys.contains(&"responders[0].options.isolation_type"),
        "{problems:?}"
    );
    assert!(
        keys.contains(&"responders[0].options.comment"),
        "{problems:?}"
    );

    // tenant_id (or token_url) and client_id are required.
    let mut c = ResponderConfig::new("mde", "defender");
    c.secret_env = Some("MDE_SECRET".into());
    let problems = picket_respond::check_all(&[c]);
    let keys: Vec<&str> = problems.iter().map(|(k, _)| k.as_str()).collect();
    assert!(keys.contains(&"responders[0].tenant_id"), "{problems:?}");
    assert!(keys.contains(&"responders[0].client_id"), "{problems:?}");
}

#[tokio::test]
async fn unknown_or_ambiguous_devices_are_not_guessed() {
    let server = MockServer::start().await;
    token(&server, 1).await;
    machines(&server, "ghost", json!([])).await;
    machines(
        &server,
        "dup",
        json!([machine("aaa", "dup"), machine("bbb", "dup")]),
    )
    .await;
    // "If there are no recent machines, you see 404 Not Found."
    Mock::given(method("GET"))
        .and(path("/api/machines"))
        .and(query_param("$filter", "computerDnsName eq 'old'"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {"code": "NotFound", "message": "No machines found", "target": "t-1"}
        })))
        .mount(&server)
        .await;
    // A quote in the name is doubled inside the OData literal.
    machines(&server, "o''brien", json!([])).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&server)
        .await;

    let (r, _) = build(config(&server));
    for host in ["ghost", "old", "o'brien"] {
        let e = run(&r, &request("isolate_host", host)).await.unwrap_err();
        assert_eq!(e.code(), "target_not_found", "{host}: {e}");
        assert!(e.to_string().contains(host), "{e}");
    }
    let e = run(&r, &request("isolate_host", "dup")).await.unwrap_err();
    assert_eq!(e.code(), "target_not_found");
    assert!(e.to_string().contains("2 Defender devices"), "{e}");
    let e = run(&r, &request("isolate_host", "")).await.unwrap_err();
    assert_eq!(e.code(), "target_not_found");
}

#[tokio::test]
async fn an_action_already_pending_counts_only_when_it_is_the_same_action() {
    let server = MockServer::start().await;
    token(&server, 1).await;
    machines(&server, "web01", json!([machine(MACHINE, "web01")])).await;
    for verb in ["isolate", "unisolate"] {
        Mock::given(method("POST"))
            .and(path(format!("/api/machines/{MACHINE}/{verb}")))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error": {
                    "code": "ActiveRequestAlreadyExists",
                    "message": "Action is already in progress",
                    "target": "43f4cb08-8fac-4b65-9db1-745c2ae65f3a"
                }
            })))
            .mount(&server)
            .await;
    }
    // An isolation is pending; a release is not.
    for (kind, value) in [
        (
            "Isolate",
            json!([
                machine_action("old-1", "Isolate", "Succeeded", "earlier"),
                machine_action("pend-1", "Isolate", "Pending", "now")
            ]),
        ),
        (
            "Unisolate",
            json!([machine_action("old-2", "Unisolate", "Succeeded", "x")]),
        ),
    ] {
        Mock::given(method("GET"))
            .and(path("/api/machineactions"))
            .and(query_param(
                "$filter",
                format!("machineId eq '{MACHINE}' and type eq '{kind}'"),
            ))
            .and(header("authorization", "Bearer mde-token-1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": value})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let (r, _) = build(config(&server));
    let out = run(&r, &request("isolate_host", "web01")).await.unwrap();
    assert_eq!(out.details["already_pending"], true);
    assert_eq!(out.details["machine_action_id"], "pend-1");

    let e = run(&r, &request("release_host", "web01"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "rejected");
    assert!(
        e.to_string().contains("ActiveRequestAlreadyExists")
            && e.to_string().contains("another machine action is pending"),
        "{e}"
    );
}

#[tokio::test]
async fn api_errors_are_reported_with_the_vendor_code_and_message() {
    let server = MockServer::start().await;
    token(&server, 1).await;
    machines(&server, "web01", json!([machine(MACHINE, "web01")])).await;
    Mock::given(method("POST"))
        .and(path(format!("/api/machines/{MACHINE}/isolate")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {
                "code": "OsPlatformNotSupported",
                "message": "OS Platform Linux isn't supported for this action.",
                "target": "1fa66c0f-18bd-4133-b378-36d76f3a2ba0"
            }
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/api/machines/{MACHINE}/unisolate")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "error": {
                "code": "ResourceNotFound",
                "message": format!("Machine {MACHINE} was not found"),
                "target": "43f4cb08-8fac-4b65-9db1-745c2ae65f3a"
            }
        })))
        .mount(&server)
        .await;
    let (r, _) = build(config(&server));
    let e = run(&r, &request("isolate_host", "web01"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "rejected");
    assert_eq!(
        e.to_string(),
        "the vendor refused the request (HTTP 400): OsPlatformNotSupported: OS Platform Linux isn't supported for this action."
    );
    let e = run(&r, &request("release_host", "web01"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "target_not_found");
    assert!(e.to_string().contains("ResourceNotFound"), "{e}");
}

#[tokio::test]
async fn a_rejected_token_is_fetched_again_once_and_bad_credentials_fail_clearly() {
    let server = MockServer::start().await;
    token(&server, 2).await;
    Mock::given(method("GET"))
        .and(path("/api/machines"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"code": "Unauthorized", "message": "Unauthorized", "target": "t"}
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    machines(&server, "web01", json!([machine(MACHINE, "web01")])).await;
    Mock::given(method("POST"))
        .and(path(format!("/api/machines/{MACHINE}/isolate")))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(machine_action("a2", "Isolate", "Pending", "c")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (r, _) = build(config(&server));
    run(&r, &request("isolate_host", "web01")).await.unwrap();

    // A wrong client secret: the identity platform's invalid_client answer.
    let bad = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            "error_codes": [7000215],
            "timestamp": "2024-05-02 14:39:38Z",
            "trace_id": "0000aaaa-11bb-cccc-dd22-eeeeee333333",
            "correlation_id": "aaaa0000-bb11-2222-33cc-444444dddddd"
        })))
        .mount(&bad)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&bad)
        .await;
    let (r, rec) = build(config(&bad));
    let e = run(&r, &request("isolate_host", "web01"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unauthorized");
    assert!(e.to_string().contains("invalid_client"), "{e}");
    assert!(!e.to_string().contains(SECRET));
    assert!(
        !serde_json::to_string(&rec.events())
            .unwrap()
            .contains(SECRET)
    );
}

#[tokio::test]
async fn a_rate_limited_lookup_waits_for_retry_after() {
    let server = MockServer::start().await;
    token(&server, 1).await;
    Mock::given(method("GET"))
        .and(path("/api/machines"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({
                    "error": {
                        "code": "TooManyRequests",
                        "message": "Response represents reaching quota limit",
                        "target": "t"
                    }
                })),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    machines(&server, "web01", json!([machine(MACHINE, "web01")])).await;
    Mock::given(method("POST"))
        .and(path(format!("/api/machines/{MACHINE}/isolate")))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(machine_action("a3", "Isolate", "Pending", "c")),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut c = config(&server);
    c.retries = 1;
    let (r, rec) = build(c);
    let started = Instant::now();
    let out = run(&r, &request("isolate_host", "web01")).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(out.details["machine_action_id"], "a3");
    let outcomes: Vec<String> = rec.events().iter().map(|e| e.outcome.clone()).collect();
    assert_eq!(outcomes, ["ok", "rate_limited", "ok", "ok"]);
}
