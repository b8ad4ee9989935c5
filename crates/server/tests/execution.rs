//! Durable execution through the API: approved actions run at their responder once, their undo is
//! recorded before they run, a rollback proposes the undo through the policy, an interrupted call is
//! resumed only when repeating it is harmless, and a paused response holds automated actions.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use picket_policy::{Proposal, Proposer};
use picket_respond::{Context, ResponderConfig, Responders};
use picket_server::{AppState, Pipeline, Role, ServerConfig};
use picket_store::{ActionState, SqliteStore, Store};
use serde_json::{Value, json};
use tower::ServiceExt;
use wiremock::matchers::{header as has_header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const RITA: &str = "responder-token-rita-000000001";
const ALICE: &str = "approver-token-alice-00000001";

fn webhook(name: &str, url: &str, actions: &[&str], idempotent: bool) -> ResponderConfig {
    let mut c = ResponderConfig::new(name, "webhook");
    c.base_url = Some(url.into());
    c.retries = 0;
    c.options.insert("actions".into(), json!(actions));
    c.options.insert("idempotent".into(), json!(idempotent));
    c
}

async fn setup(
    dir: &std::path::Path,
    responders: &[ResponderConfig],
) -> (axum::Router, AppState, Arc<dyn Store>) {
    setup_with(dir, responders, Vec::new()).await
}

async fn setup_with(
    dir: &std::path::Path,
    responders: &[ResponderConfig],
    playbooks: Vec<picket_playbook::Playbook>,
) -> (axum::Router, AppState, Arc<dyn Store>) {
    let token = |name: &str, secret: &str, role| common::token_file(dir, name, secret, role);
    let cfg = ServerConfig {
        tokens: vec![
            token("rita", RITA, Role::Responder),
            token("alice", ALICE, Role::Approver),
        ],
        ..ServerConfig::default()
    };
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.join("data")).await.unwrap());
    assert!(picket_respond::check_all(responders).is_empty());
    let pipeline = Pipeline {
        responders: Responders::build(
            responders,
            Context {
                observer: Arc::new(picket_enrich::TracingObserver),
            },
        )
        .map_err(|(n, e)| format!("{n}: {e}"))
        .unwrap(),
        playbooks,
        ..Pipeline::default()
    };
    let (state, _worker) = picket_server::prepare(&cfg, store.clone(), pipeline)
        .await
        .unwrap();
    (picket_server::router(state.clone()), state, store)
}

async fn call(
    r: &axum::Router,
    m: Method,
    uri: &str,
    token: &str,
    body: Value,
) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(m)
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

async fn action_view(r: &axum::Router, id: &str) -> Value {
    call(
        r,
        Method::GET,
        &format!("/api/v1/actions/{id}"),
        RITA,
        Value::Null,
    )
    .await
    .1
}

async fn action(r: &axum::Router, id: &str) -> Value {
    call(
        r,
        Method::GET,
        &format!("/api/v1/actions/{id}"),
        RITA,
        Value::Null,
    )
    .await
    .1["action"]
        .clone()
}

#[tokio::test]
async fn an_approved_action_runs_once_and_rolls_back_through_the_policy() {
    let fw = MockServer::start().await;
    Mock::given(method("POST"))
        .and(has_header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "done"})))
        .mount(&fw)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (r, state, _) = setup(
        dir.path(),
        &[webhook(
            "edge-fw",
            &fw.uri(),
            &["block_ip", "unblock_ip"],
            true,
        )],
    )
    .await;

    let (st, v) = call(&r, Method::POST, "/api/v1/actions", RITA,
        json!({"action": "block_ip", "target": "45.33.32.156", "incident": "inc_1", "params": {"reason": "C2"}})).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let id = v["action"]["id"].as_str().unwrap().to_owned();
    assert_eq!(picket_server::execute_approved(&state).await.unwrap(), 1);
    assert_eq!(
        picket_server::execute_approved(&state).await.unwrap(),
        0,
        "runs once"
    );
    let a = action(&r, &id).await;
    assert_eq!(a["state"], "succeeded", "{a}");
    assert_eq!(a["execution"]["attempts"], 1);
    assert_eq!(a["execution"]["responder"], "edge-fw");
    assert_eq!(
        a["execution"]["undo"]["action"], "unblock_ip",
        "undo recorded: {a}"
    );
    let sent = fw.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0]
            .headers
            .get("idempotency-key")
            .unwrap()
            .to_str()
            .unwrap(),
        id
    );
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(
        (body["action"].as_str(), body["target"].as_str()),
        (Some("block_ip"), Some("45.33.32.156"))
    );

    // Rollback: the undo goes through the policy and runs at the same responder.
    let rb = format!("/api/v1/actions/{id}/rollback");
    let (st, v) = call(
        &r,
        Method::POST,
        &rb,
        RITA,
        json!({"reason": "false positive: CDN address"}),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["action"]["proposal"]["action"], "unblock_ip");
    assert_eq!(v["action"]["execution"]["undoes"], id.as_str());
    let (st, _) = call(&r, Method::POST, &rb, RITA, json!({"reason": "again"})).await;
    assert_eq!(st, StatusCode::CONFLICT, "one rollback at a time");
    picket_server::execute_approved(&state).await.unwrap();
    let a = action(&r, &id).await;
    assert_eq!(a["state"], "rolled_back", "{a}");
    assert_eq!(a["execution"]["rolled_back_by"], v["action"]["id"]);
    let sent = fw.received_requests().await.unwrap();
    assert_eq!(sent.len(), 2);
    let body: Value = serde_json::from_slice(&sent[1].body).unwrap();
    assert_eq!(body["action"], "unblock_ip");
    let (st, _) = call(&r, Method::POST, &rb, RITA, json!({"reason": "again"})).await;
    assert_eq!(st, StatusCode::CONFLICT, "already rolled back");
}

#[tokio::test]
async fn failures_are_recorded_not_retried_and_unroutable_actions_fail_clearly() {
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream down"))
        .mount(&hook)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (r, state, _) = setup(
        dir.path(),
        &[webhook("chat", &hook.uri(), &["notify"], false)],
    )
    .await;
    let (_, v) = call(
        &r,
        Method::POST,
        "/api/v1/actions",
        RITA,
        json!({"action": "notify", "params": {"message": "hi"}}),
    )
    .await;
    let id = v["action"]["id"].as_str().unwrap().to_owned();
    let (_, v) = call(
        &r,
        Method::POST,
        "/api/v1/actions",
        RITA,
        json!({"action": "block_ip", "target": "1.2.3.4"}),
    )
    .await;
    let unroutable = v["action"]["id"].as_str().unwrap().to_owned();
    picket_server::execute_approved(&state).await.unwrap();
    let a = action(&r, &id).await;
    assert_eq!(a["state"], "failed");
    assert_eq!(a["execution"]["result"]["code"], "server_error", "{a}");
    assert_eq!(
        hook.received_requests().await.unwrap().len(),
        1,
        "a notification is never retried"
    );
    let a = action(&r, &unroutable).await;
    assert_eq!(a["state"], "failed");
    assert_eq!(a["execution"]["result"]["code"], "no_responder");
    let (st, _) = call(
        &r,
        Method::POST,
        &format!("/api/v1/actions/{id}/rollback"),
        RITA,
        json!({"reason": "x"}),
    )
    .await;
    assert_eq!(
        st,
        StatusCode::CONFLICT,
        "a failed action has nothing to roll back"
    );
}

#[tokio::test]
async fn an_interrupted_call_is_resumed_only_when_a_repeat_is_harmless() {
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let responders = [
        webhook(
            "fw",
            &format!("{}/", hook.uri()),
            &["block_ip", "unblock_ip"],
            true,
        ),
        webhook("chat", &format!("{}/", hook.uri()), &["notify"], false),
    ];
    let ids = {
        let (r, _, store) = setup(dir.path(), &responders).await;
        let mut ids = Vec::new();
        for body in [
            json!({"action": "block_ip", "target": "9.9.9.9"}),
            json!({"action": "notify"}),
        ] {
            let (_, v) = call(&r, Method::POST, "/api/v1/actions", RITA, body).await;
            ids.push(v["action"]["id"].as_str().unwrap().to_owned());
        }
        // The process claims both, then dies during the vendor calls.
        for (id, resp) in ids.iter().zip(["fw", "chat"]) {
            store
                .claim_action(id, resp, None, jiff::Timestamp::now())
                .await
                .unwrap()
                .unwrap();
        }
        store.close().await;
        ids
    };
    // The restart.
    let (r, state, _) = setup(dir.path(), &responders).await;
    picket_server::recover_actions(&state).await.unwrap();
    let fw = action(&r, &ids[0]).await;
    assert_eq!(fw["state"], "succeeded", "idempotent: resumed: {fw}");
    assert_eq!(fw["execution"]["attempts"], 2);
    let chat = action(&r, &ids[1]).await;
    assert_eq!(chat["state"], "failed", "{chat}");
    assert_eq!(chat["execution"]["result"]["code"], "interrupted");
    let sent = hook.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1, "only the idempotent call was sent again");
    assert_eq!(
        sent[0]
            .headers
            .get("idempotency-key")
            .unwrap()
            .to_str()
            .unwrap(),
        ids[0]
    );
}

#[tokio::test]
async fn a_pause_holds_automated_actions_until_a_human_resumes() {
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let responders = [
        webhook("fw", &hook.uri(), &["block_ip", "unblock_ip"], true),
        webhook("oncall", &hook.uri(), &["page_on_call"], true),
    ];
    let (r, state, store) = setup(dir.path(), &responders).await;
    // An automated (playbook) block approved by the policy before the pause.
    let p = Proposal {
        action: "block_ip".into(),
        target: "5.6.7.8".into(),
        params: json!({}),
        incident: None,
        proposer: Proposer::Playbook,
        requester: "c2-beaconing".into(),
        protected: false,
        min_approvals: 0,
        asset_class: None,
        out_of_scope: false,
    };
    let decision = picket_policy::evaluate(
        &picket_policy::Policy::seed_defaults(),
        &p,
        &Default::default(),
        jiff::Timestamp::now(),
    );
    let now = jiff::Timestamp::now();
    store
        .insert_action(&picket_store::ActionRecord {
            id: "act_auto".into(),
            created_at: now,
            updated_at: now,
            state: ActionState::Approved,
            approvals_needed: 0,
            proposal: p,
            decision,
            execution: Default::default(),
        })
        .await
        .unwrap();

    let (st, v) = call(
        &r,
        Method::POST,
        "/api/v1/response",
        RITA,
        json!({"paused": true, "reason": "x"}),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN, "{v}");
    let (st, v) = call(
        &r,
        Method::POST,
        "/api/v1/response",
        ALICE,
        json!({"paused": true, "reason": "investigating a spike"}),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["paused"], true);
    picket_server::execute_approved(&state).await.unwrap();
    assert_eq!(
        action(&r, "act_auto").await["state"],
        "approved",
        "held while paused"
    );
    // On-call was paged about the pause.
    let sent = hook.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1);
    let page: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(page["action"], "page_on_call");
    assert!(
        page["params"]["message"]
            .as_str()
            .unwrap()
            .contains("investigating a spike")
    );

    let (_, v) = call(
        &r,
        Method::POST,
        "/api/v1/response",
        ALICE,
        json!({"paused": false, "reason": "spike explained"}),
    )
    .await;
    assert_eq!(v["paused"], false);
    picket_server::execute_approved(&state).await.unwrap();
    assert_eq!(action(&r, "act_auto").await["state"], "succeeded");
}

#[tokio::test]
async fn a_playbook_runs_once_per_incident_and_a_repeated_target_trips_the_breaker() {
    let hook = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&hook)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let responders = [
        webhook("fw", &hook.uri(), &["block_ip", "unblock_ip"], true),
        webhook("oncall", &hook.uri(), &["page_on_call"], true),
    ];
    // A (misbehaving) playbook that blocks the same address four times.
    let pb = picket_playbook::load(
        r#"name = "hammer"
version = "1"
[trigger]
verdicts = ["malicious"]
[[steps]]
type = "for_each"
in = "[1, 2, 3, 4]"
[[steps.steps]]
type = "action"
action = "block_ip"
target = "198.51.100.9"
params = { round = "{{ item }}" }
"#,
        "hammer.toml",
    )
    .unwrap();
    let (r, state, store) = setup_with(dir.path(), &responders, vec![pb]).await;
    let mut inc: picket_core::Incident = serde_json::from_str(include_str!(
        "../../playbook/tests/fixtures/c2-incident.json"
    ))
    .unwrap();
    inc.last_seen = jiff::Timestamp::now();
    store.upsert_incidents(&[inc]).await.unwrap();

    assert_eq!(picket_server::rescan_playbooks(&state).await.unwrap(), 4);
    assert_eq!(
        picket_server::rescan_playbooks(&state).await.unwrap(),
        0,
        "once per incident"
    );
    let all = store.list_actions(None, 100).await.unwrap();
    let blocks: Vec<_> = all
        .iter()
        .filter(|a| a.proposal.action == "block_ip")
        .collect();
    assert_eq!(blocks.len(), 4);
    assert_eq!(
        blocks
            .iter()
            .filter(|a| a.state == ActionState::Approved)
            .count(),
        3
    );
    let fourth = blocks
        .iter()
        .find(|a| a.state == ActionState::AwaitingApproval)
        .expect("the fourth waits");
    assert!(fourth.decision.trip_breaker.is_some());
    // The reviewer sees the incident's confidence note and evidence with the action.
    let v = action_view(&r, &fourth.id).await;
    assert_eq!(v["incident"]["id"], "inc_c2_0001");
    assert!(
        v["incident"]["confidence_note"]
            .as_str()
            .unwrap()
            .contains("Cobalt Strike")
    );
    assert!(v["incident"]["evidence"].is_array());
    assert_eq!(fourth.proposal.proposer, Proposer::Playbook);
    // Automated response is paused and on-call paged.
    let (_, v) = call(&r, Method::GET, "/api/v1/response", RITA, Value::Null).await;
    assert_eq!(v["paused"], true, "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("198.51.100.9"),
        "{v}"
    );
    picket_server::execute_approved(&state).await.unwrap();
    let sent = hook.received_requests().await.unwrap();
    let actions: Vec<String> = sent
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        actions,
        ["page_on_call"],
        "the approved automated blocks wait while paused"
    );
}

#[tokio::test]
async fn a_slow_vendor_does_not_hold_the_other_actions_back() {
    let slow = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_millis(1500)))
        .mount(&slow)
        .await;
    let fast = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&fast)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (r, state, _) = setup(
        dir.path(),
        &[
            webhook("chat", &slow.uri(), &["notify"], false),
            webhook("fw", &fast.uri(), &["block_ip", "unblock_ip"], true),
        ],
    )
    .await;
    // The slow notification is approved first, the block right after.
    let (_, n) = call(
        &r,
        Method::POST,
        "/api/v1/actions",
        RITA,
        json!({"action": "notify"}),
    )
    .await;
    let (_, b) = call(
        &r,
        Method::POST,
        "/api/v1/actions",
        RITA,
        json!({"action": "block_ip", "target": "203.0.113.9"}),
    )
    .await;
    assert_eq!(picket_server::execute_approved(&state).await.unwrap(), 2);
    let n = action(&r, n["action"]["id"].as_str().unwrap()).await;
    let b = action(&r, b["action"]["id"].as_str().unwrap()).await;
    assert_eq!(
        (n["state"].as_str(), b["state"].as_str()),
        (Some("succeeded"), Some("succeeded"))
    );
    let finished = |a: &Value| {
        a["execution"]["finished_at"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    assert!(
        finished(&b) < finished(&n),
        "the block ran beside the slow notification, not after it"
    );
}
