//! The templated HTTP responder: the OPNsense alias example from its module docs against a mock of
//! OPNsense's firewall API, then templating, escaping, config checks, retries and auth.

mod common;

use std::time::{Duration, Instant};

use common::*;
use picket_respond::ResponderConfig;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// OPNsense API key and secret, sent as HTTP basic auth.
const CREDENTIAL: &str = "opn-key:opn-secret-xyz";
const BASIC: &str = "Basic b3BuLWtleTpvcG4tc2VjcmV0LXh5eg==";

fn opnsense(server: &MockServer) -> ResponderConfig {
    let mut c = ResponderConfig::new("opnsense", "http");
    c.base_url = Some(server.uri());
    c.secret_file = Some(secret_file(CREDENTIAL));
    c.retries = 0;
    c.options = json!({
        "auth": "basic",
        "alias": "picket_blocklist",
        "actions": {
            "block_ip": {
                "method": "POST",
                "path": "/api/firewall/alias_util/add/{{ options.alias }}",
                "body": "{\"address\": \"{{ target }}\"}",
                "expect": {"status": "done"},
                "idempotent": true
            },
            "unblock_ip": {
                "method": "POST",
                "path": "/api/firewall/alias_util/delete/{{ options.alias }}",
                "body": "{\"address\": \"{{ target }}\"}",
                "expect": {"status": "done"},
                "idempotent": true
            }
        }
    })
    .as_object()
    .unwrap()
    .clone();
    c
}

/// One action configured on a plain bearer-token API.
fn api(server: &MockServer, actions: serde_json::Value) -> ResponderConfig {
    let mut c = ResponderConfig::new("api", "http");
    c.base_url = Some(server.uri());
    c.secret_file = Some(secret_file("api-token-xyz"));
    c.retries = 0;
    c.options.insert("actions".into(), actions);
    c
}

fn problems(c: ResponderConfig) -> Vec<(String, String)> {
    picket_respond::check_all(&[c])
}

#[tokio::test]
async fn blocks_and_unblocks_an_address_in_an_opnsense_alias() {
    let server = MockServer::start().await;
    for op in ["add", "delete"] {
        Mock::given(method("POST"))
            .and(path(format!(
                "/api/firewall/alias_util/{op}/picket_blocklist"
            )))
            .and(header("authorization", BASIC))
            .and(header("content-type", "application/json"))
            .and(body_json(json!({"address": "203.0.113.7"})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "done"})))
            .expect(1)
            .mount(&server)
            .await;
    }
    let (r, rec) = build(opnsense(&server));
    let out = run(&r, &request("block_ip", "203.0.113.7")).await.unwrap();
    assert_eq!(out.details["status"], 200);
    assert_eq!(out.details["response"], json!({"status": "done"}));
    assert_eq!(
        out.details["path"],
        "/api/firewall/alias_util/add/picket_blocklist"
    );
    assert_eq!(
        out.summary,
        "`block_ip` 203.0.113.7 done: POST /api/firewall/alias_util/add/picket_blocklist answered HTTP 200"
    );
    run(&r, &request("unblock_ip", "203.0.113.7"))
        .await
        .unwrap();

    let events = serde_json::to_string(&rec.events()).unwrap();
    assert!(!events.contains("opn-secret-xyz"), "{events}");
    for (action, undo) in [("block_ip", "unblock_ip"), ("unblock_ip", "block_ip")] {
        let (_, def) = r.route(action, None).unwrap();
        assert_eq!(def.undo.as_deref(), Some(undo));
        assert!(def.idempotent);
    }
}

#[tokio::test]
async fn a_200_that_is_not_the_expected_answer_is_a_failure() {
    let server = MockServer::start().await;
    // OPNsense refuses what does not look like an address with HTTP 200.
    Mock::given(method("POST"))
        .and(path("/api/firewall/alias_util/add/picket_blocklist"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "not_an_address"})))
        .expect(1)
        .mount(&server)
        .await;
    let (r, _) = build(opnsense(&server));
    let e = run(&r, &request("block_ip", "web01.example.net"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "rejected");
    assert_eq!(
        e.to_string(),
        r#"the vendor refused the request (HTTP 200): the response does not contain {"status":"done"}: {"status":"not_an_address"}"#
    );
}

#[tokio::test]
async fn a_rate_limited_idempotent_action_waits_for_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/firewall/alias_util/add/picket_blocklist"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/firewall/alias_util/add/picket_blocklist"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "done"})))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = opnsense(&server);
    c.retries = 2;
    let (r, rec) = build(c);
    let started = Instant::now();
    run(&r, &request("block_ip", "203.0.113.7")).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    let outcomes: Vec<String> = rec.events().iter().map(|e| e.outcome.clone()).collect();
    assert_eq!(outcomes, ["rate_limited", "ok"]);
}

#[tokio::test]
async fn a_non_idempotent_action_is_sent_exactly_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v2/hosts/web01/wipe"))
        .and(header("authorization", "Bearer api-token-xyz"))
        .respond_with(ResponseTemplate::new(500).set_body_string("internal error"))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = api(
        &server,
        json!({"wipe_endpoint": {"method": "post", "path": "/api/v2/hosts/{{ target }}/wipe"}}),
    );
    c.retries = 3;
    let (r, rec) = build(c);
    let e = run(&r, &request("wipe_endpoint", "web01"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "server_error");
    assert_eq!(rec.events().len(), 1);
    let (_, def) = r.route("wipe_endpoint", None).unwrap();
    assert!(!def.idempotent);
    assert_eq!(def.undo, None);
}

#[tokio::test]
async fn values_are_escaped_for_the_path_and_for_json() {
    let server = MockServer::start().await;
    let target = "corp\\al ice/\"x\"?";
    Mock::given(method("PUT"))
        // Percent-encoded as one segment, whether printed plainly or through |urlencode.
        .and(path(
            "/api/users/corp%5Cal%20ice%2F%22x%22%3F/state/corp%5Cal%20ice%2F%22x%22%3F",
        ))
        .and(header("x-request-id", "act-0123456789abcdef"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "user": target,
            "reason": format!("disable_user {target} for incident inc-42"),
            "incident": "inc-42",
            "params": {"ticket": 7},
            "enabled": false
        })))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/users/bob/state/bob"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let body = r#"{"user": "{{ target }}", "reason": "{{ summary }}", "incident": "{{ incident }}", "params": {{ params }}, "enabled": {{ action == "enable_user" }}}"#;
    let c = api(
        &server,
        json!({
            "disable_user": {
                "method": "PUT",
                "path": "/api/users/{{ target }}/state/{{ target|urlencode }}",
                "body": body,
                "headers": {"X-Request-Id": "{{ action_id }}"}
            },
            "enable_user": {
                "method": "PUT",
                "path": "/api/users/{{ target }}/state/{{ target|urlencode }}",
                "body": body
            }
        }),
    );
    let (r, _) = build(c);
    let mut req = request("disable_user", target);
    req.params = json!({"ticket": 7});
    let out = run(&r, &req).await.unwrap();
    assert_eq!(out.details["status"], 204);
    let mut req = request("enable_user", "bob");
    req.params = json!({});
    run(&r, &req).await.unwrap();
}

#[tokio::test]
async fn a_path_cannot_leave_the_base_url_and_a_broken_body_is_not_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let c = api(
        &server,
        json!({
            "block_ip": {"method": "POST", "path": "{{ params.url|safe }}", "body": "{\"ip\": {{ target|safe }}}"},
            "unblock_ip": {"method": "POST", "path": "/x/{{ incident }}", "body": "{\"ip\": \"{{ params.port }}\"}"}
        }),
    );
    let (r, _) = build(c);
    let mut req = request("block_ip", "203.0.113.7");
    req.params = json!({"url": "https://evil.example/steal"});
    let e = run(&r, &req).await.unwrap_err();
    assert_eq!(e.code(), "template");
    assert!(e.to_string().contains("must stay under base_url"), "{e}");
    req.params = json!({"url": "/ok"});
    let e = run(&r, &req).await.unwrap_err();
    assert_eq!(e.code(), "template");
    assert!(
        e.to_string()
            .contains("options.actions.block_ip.body: did not render to valid JSON"),
        "{e}"
    );
    // A none value cannot become a path segment.
    let mut req = request("unblock_ip", "203.0.113.7");
    req.incident = None;
    let e = run(&r, &req).await.unwrap_err();
    assert_eq!(e.code(), "template");
    assert!(e.to_string().contains("cannot be part of a path"), "{e}");
    // Strict: a missing parameter is an error, not an empty string.
    let e = run(&r, &request("unblock_ip", "203.0.113.7"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "template");
    assert!(
        e.to_string()
            .starts_with("template: options.actions.unblock_ip.body: "),
        "{e}"
    );
    assert!(e.to_string().contains("undefined"), "{e}");
}

#[tokio::test]
async fn success_statuses_auth_headers_and_vendor_errors() {
    let server = MockServer::start().await;
    // An already removed address answers 404, listed as success.
    Mock::given(method("DELETE"))
        .and(path("/api/blocklist/203.0.113.7"))
        .and(header("x-api-key", "api-token-xyz"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "no such entry"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/blocklist"))
        .and(header("x-api-key", "api-token-xyz"))
        .and(body_json(json!({"ip": "203.0.113.7", "ttl": 3600})))
        .respond_with(ResponseTemplate::new(422).set_body_json(json!({
            "error": "ttl must be at most 600 (api-token-xyz)"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let mut c = api(
        &server,
        json!({
            "block_ip": {"method": "POST", "path": "/api/blocklist",
                         "body": "{\"ip\": \"{{ target }}\", \"ttl\": {{ options.ttl }}}"},
            "unblock_ip": {"method": "DELETE", "path": "/api/blocklist/{{ target }}",
                           "success": [200, 204, 404]}
        }),
    );
    c.options.insert("auth".into(), json!("header:X-Api-Key"));
    c.options.insert("ttl".into(), json!(3600));
    let (r, _) = build(c);
    let out = run(&r, &request("unblock_ip", "203.0.113.7"))
        .await
        .unwrap();
    assert_eq!(out.details["status"], 404);
    let e = run(&r, &request("block_ip", "203.0.113.7"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "rejected");
    assert_eq!(
        e.to_string(),
        r#"the vendor refused the request (HTTP 422): {"error":"ttl must be at most 600 (***)"}"#
    );
}

#[tokio::test]
async fn wrong_credentials_are_unauthorized_and_never_shown() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        // A receiver that echoes the password alone still never gets it into the error.
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "status": 401, "message": "Authentication Failed (key opn-key, secret opn-secret-xyz)"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (r, rec) = build(opnsense(&server));
    let e = run(&r, &request("block_ip", "203.0.113.7"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), "unauthorized");
    assert!(e.to_string().contains("Authentication Failed"), "{e}");
    assert!(!e.to_string().contains("opn-secret-xyz"));
    assert!(
        !serde_json::to_string(&rec.events())
            .unwrap()
            .contains("opn-secret-xyz")
    );
}

#[tokio::test]
async fn the_config_check_reports_every_problem_with_its_key() {
    let server = MockServer::start().await;
    // A template syntax error, reported at check time with its key.
    let mut c = opnsense(&server);
    c.options["actions"]["block_ip"]["body"] = json!("{\"address\": \"{{ target }\"}");
    c.options["actions"]["unblock_ip"]["headers"] = json!({"X-Trace": "{% if %}"});
    let p = problems(c);
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0].0, "responders[0].options.actions.block_ip.body");
    assert!(p[0].1.contains("syntax error"), "{p:?}");
    assert_eq!(
        p[1].0,
        "responders[0].options.actions.unblock_ip.headers.X-Trace"
    );
    assert!(p[1].1.contains("syntax error"), "{p:?}");

    // Only one of a reversible pair: its undo would be missing.
    let mut c = opnsense(&server);
    c.options["actions"]
        .as_object_mut()
        .unwrap()
        .remove("unblock_ip");
    let p = problems(c);
    assert_eq!(p.len(), 1, "{p:?}");
    assert_eq!(p[0].0, "responders[0].options.actions.block_ip");
    assert!(p[0].1.contains("configure `unblock_ip` too"), "{p:?}");

    // Unknown variables, options not set, options no template uses.
    let mut c = opnsense(&server);
    c.options["actions"]["block_ip"]["path"] = json!("/api/{{ taget }}/{{ options.aliass }}");
    c.options.insert("unused".into(), json!(1));
    let p = problems(c);
    let got: Vec<(&str, &str)> = p.iter().map(|(k, m)| (k.as_str(), m.as_str())).collect();
    assert!(
        got.contains(&(
            "responders[0].options.actions.block_ip.path",
            "uses options.aliass, which is not set"
        )),
        "{p:?}"
    );
    assert!(
        got.iter()
            .any(|(k, m)| *k == "responders[0].options.actions.block_ip.path"
                && m.starts_with("unknown variable `taget`")),
        "{p:?}"
    );
    assert!(
        got.iter()
            .any(|(k, _)| *k == "responders[0].options.unused"),
        "{p:?}"
    );

    // Bad shapes: a non-catalog action, an unknown key, a bad method, a bad auth, bad statuses.
    let mut c = api(
        &server,
        json!({
            "reboot": {"method": "POST", "path": "/x"},
            "notify": {"method": "FETCH", "path": "/x", "retry": true, "success": [99]}
        }),
    );
    c.options.insert("auth".into(), json!("digest"));
    let p = problems(c);
    let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
    for key in [
        "responders[0].options.auth",
        "responders[0].options.actions.reboot",
        "responders[0].options.actions.notify.retry",
        "responders[0].options.actions.notify.method",
        "responders[0].options.actions.notify.success",
    ] {
        assert!(keys.contains(&key), "{key} missing from {p:?}");
    }

    // auth without a secret; no actions at all.
    let mut c = ResponderConfig::new("api", "http");
    c.base_url = Some(server.uri());
    c.options.insert("auth".into(), json!("bearer"));
    let p = problems(c);
    let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "responders[0].options.auth",
            "responders[0].options.actions"
        ],
        "{p:?}"
    );

    // The worked example itself is clean, and restricting `actions` still works.
    let mut c = opnsense(&server);
    c.actions = Some(vec!["block_ip".into()]);
    assert!(problems(c).is_empty());
}

#[tokio::test]
async fn basic_auth_needs_user_and_password() {
    let server = MockServer::start().await;
    let mut c = opnsense(&server);
    c.secret_file = Some(secret_file("just-a-token-value"));
    assert!(problems(c.clone()).is_empty());
    let e = picket_respond::Responders::build(
        &[c],
        picket_respond::Context {
            observer: std::sync::Arc::new(picket_enrich::Recorder::default()),
        },
    )
    .err()
    .unwrap();
    assert!(e.1.to_string().contains("user:password"), "{}", e.1);
    assert!(!e.1.to_string().contains("just-a-token-value"));
}
