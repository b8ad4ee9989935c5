//! Response actions through the API: the policy decides, approvals bind to the exact action, dual
//! approval needs two distinct humans who are not the requester, roles are enforced.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use picket_server::{Pipeline, Role, ServerConfig};
use picket_store::{SqliteStore, Store};
use picket_triage::knowledge::AssetEntry;
use picket_triage::{Criticality, Inventory, Knowledge};
use serde_json::{Value, json};
use tower::ServiceExt;

const RITA: &str = "responder-token-rita-000000001";
const ALICE: &str = "approver-token-alice-00000001";
const BOB: &str = "approver-token-bob-0000000001";
const VIC: &str = "viewer-token-vic-000000000001";

async fn router(dir: &std::path::Path) -> (axum::Router, Arc<dyn Store>) {
    let token = |name: &str, secret: &str, role| common::token_file(dir, name, secret, role);
    let cfg = ServerConfig {
        tokens: vec![
            token("rita", RITA, Role::Responder),
            token("alice", ALICE, Role::Approver),
            token("bob", BOB, Role::Approver),
            token("vic", VIC, Role::Viewer),
        ],
        ..ServerConfig::default()
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.join("data")).await.unwrap());
    let knowledge = Knowledge {
        inventory: Inventory {
            hosts: vec![AssetEntry {
                name: "dc01".into(),
                criticality: Criticality::Critical,
                owner: None,
                protected: true,
            }],
            ..Inventory::default()
        },
        ..Knowledge::default()
    };
    let pipeline = Pipeline {
        knowledge,
        ..Pipeline::default()
    };
    let (state, _worker) = picket_server::prepare(&cfg, store.clone(), pipeline)
        .await
        .unwrap();
    (picket_server::router(state), store)
}

async fn call(
    r: &axum::Router,
    method: Method,
    uri: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(if body.is_null() {
            Body::empty()
        } else {
            Body::from(body.to_string())
        })
        .unwrap();
    let resp = r.clone().oneshot(req).await.unwrap();
    let st = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (st, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn proposals_are_decided_and_dual_approval_needs_two_other_humans() {
    let dir = tempfile::tempdir().unwrap();
    let (r, store) = router(dir.path()).await;
    let post = Method::POST;

    // Low impact: allowed at once.
    let (st, v) = call(
        &r,
        post.clone(),
        "/api/v1/actions",
        RITA,
        json!({"action": "block_ip", "target": "45.33.32.156", "incident": "inc_1"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["action"]["state"], "approved");

    // Critical: dual approval.
    let (_, v) = call(
        &r,
        post.clone(),
        "/api/v1/actions",
        RITA,
        json!({"action": "wipe_endpoint", "target": "laptop-7", "params": {"keep_logs": true}}),
    )
    .await;
    assert_eq!(v["action"]["state"], "awaiting_approval");
    assert_eq!(v["action"]["approvals_needed"], 2);
    let id = v["action"]["id"].as_str().unwrap().to_owned();
    let hash = v["action"]["decision"]["approval_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("/api/v1/actions/{id}/approval");
    let ok =
        |h: &str| json!({"approve": true, "reason": "confirmed ransomware", "approval_hash": h});

    assert_eq!(
        call(&r, post.clone(), &url, RITA, ok(&hash)).await.0,
        StatusCode::FORBIDDEN,
        "a responder cannot approve"
    );
    assert_eq!(
        call(&r, post.clone(), &url, VIC, ok(&hash)).await.0,
        StatusCode::FORBIDDEN
    );
    let (st, e) = call(&r, post.clone(), &url, ALICE, ok("0123")).await;
    assert_eq!(
        (st, e["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict")),
        "bound to the exact action"
    );
    let (_, v) = call(&r, post.clone(), &url, ALICE, ok(&hash)).await;
    assert_eq!(v["action"]["state"], "awaiting_approval");
    let (_, v) = call(&r, post.clone(), &url, ALICE, ok(&hash)).await;
    assert_eq!(
        v["action"]["state"], "awaiting_approval",
        "the same approver twice is one"
    );
    let (_, queue) = call(
        &r,
        Method::GET,
        "/api/v1/actions?state=awaiting_approval",
        VIC,
        Value::Null,
    )
    .await;
    assert_eq!(queue.as_array().unwrap().len(), 1);
    let (_, v) = call(&r, post.clone(), &url, BOB, ok(&hash)).await;
    assert_eq!(v["action"]["state"], "approved");
    assert_eq!(v["approvals"].as_array().unwrap().len(), 3);
    let (st, _) = call(&r, post.clone(), &url, BOB, ok(&hash)).await;
    assert_eq!(st, StatusCode::CONFLICT, "settled");

    // A protected asset: dual approval whatever the tier says; a rejection ends it.
    let (_, v) = call(
        &r,
        post.clone(),
        "/api/v1/actions",
        RITA,
        json!({"action": "isolate_host", "target": "dc01"}),
    )
    .await;
    assert_eq!(v["action"]["state"], "awaiting_approval");
    assert_eq!(v["action"]["approvals_needed"], 2);
    let pid = v["action"]["id"].as_str().unwrap().to_owned();
    let ph = v["action"]["decision"]["approval_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, v) = call(
        &r,
        post.clone(),
        &format!("/api/v1/actions/{pid}/approval"),
        ALICE,
        json!({"approve": false, "reason": "domain controller", "approval_hash": ph}),
    )
    .await;
    assert_eq!(v["action"]["state"], "rejected");

    // Not on the allowlist: denied, with the reason.
    let (_, v) = call(
        &r,
        post.clone(),
        "/api/v1/actions",
        RITA,
        json!({"action": "format_disk", "target": "x"}),
    )
    .await;
    assert_eq!(v["action"]["state"], "denied");
    assert_eq!(v["action"]["decision"]["outcome"]["code"], "not_allowed");

    // An isolation nobody approves: its tier's timeout keeps it blocked, never approves it.
    let (_, v) = call(
        &r,
        post.clone(),
        "/api/v1/actions",
        RITA,
        json!({"action": "isolate_host", "target": "web01"}),
    )
    .await;
    let iso = v["action"]["id"].as_str().unwrap().to_owned();
    let later = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(2))
        .unwrap();
    let timed = picket_server::sweep_action_timeouts(store.as_ref(), None, later)
        .await
        .unwrap();
    assert_eq!(
        timed,
        vec![(
            iso.clone(),
            picket_policy::TimeoutBehavior::BlockUntilApproved
        )]
    );
    assert!(
        picket_server::sweep_action_timeouts(store.as_ref(), None, later)
            .await
            .unwrap()
            .is_empty(),
        "once"
    );
    let (_, v) = call(
        &r,
        Method::GET,
        &format!("/api/v1/actions/{iso}"),
        VIC,
        Value::Null,
    )
    .await;
    assert_eq!(v["action"]["state"], "awaiting_approval");

    // Viewers read, but cannot propose.
    assert_eq!(
        call(
            &r,
            post,
            "/api/v1/actions",
            VIC,
            json!({"action": "notify"})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (st, one) = call(
        &r,
        Method::GET,
        &format!("/api/v1/actions/{id}"),
        VIC,
        Value::Null,
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(one["action"]["proposal"]["params"]["keep_logs"], true);
}
