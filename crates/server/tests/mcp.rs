//! `/mcp` driven by a real MCP client (rmcp over streamable HTTP) against the server on a loopback
//! port: the token decides which tools exist and which calls run, results are the toolbox's,
//! proposals go through the policy, calls are audited.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use picket_agent::tools::{self, PROPOSE_ACTION};
use picket_audit::AuditKind;
use picket_policy::Proposer;
use picket_server::{Auditor, Auth, Pipeline, Role, ServerConfig};
use picket_store::{ActionState, IncidentFilter, SqliteStore, Store};
use rmcp::model::{CallToolRequestParams, CallToolResult, Tool};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Value, json};
use tower::ServiceExt as _;

const INGEST: &str = "ingest-secret-mcp-000000001";
const VIEWER: &str = "viewer-secret-mcp-000000001";
const RESPONDER: &str = "responder-secret-mcp-0000001";

type Client = RunningService<RoleClient, ()>;

/// The shared sample data: `PICKET_SHARED_DATA`, or `shared/data` beside the repository.
fn shared_data() -> PathBuf {
    std::env::var_os("PICKET_SHARED_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    )
}

struct Server {
    _dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    auditor: Auditor,
    router: axum::Router,
    url: String,
    /// The incident seeded from the sshd sample, as the store has it.
    incident: Value,
}

impl Server {
    /// A server with viewer ("vic"), responder ("rita") and ingest ("ship") tokens, the sshd
    /// brute-force sample ingested through the API and triaged, serving on 127.0.0.1:<random>.
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(dir.path().join("data")).await.unwrap());
        let (auditor, _task) = Auditor::start(
            store.clone(),
            None,
            1000,
            picket_audit::Redactor::new(Vec::<String>::new()),
        );
        let pipeline = Pipeline {
            auditor: Some(auditor.clone()),
            ..Pipeline::default()
        };
        let auth = Auth::with_tokens([
            ("ship".to_owned(), Role::Ingest, INGEST.to_owned()),
            ("vic".to_owned(), Role::Viewer, VIEWER.to_owned()),
            ("rita".to_owned(), Role::Responder, RESPONDER.to_owned()),
        ])
        .unwrap();
        let cfg = ServerConfig::default();
        let (state, mut worker) =
            picket_server::prepare_with_auth(&cfg, auth, store.clone(), pipeline)
                .await
                .unwrap();
        let router = picket_server::router(state);

        // Seed: one real alert through the API, triaged by the worker.
        let sample = std::fs::read_to_string(
            shared_data().join("alerts/wazuh/sshd_bruteforce_custom_rule_mitre.json"),
        )
        .unwrap();
        let req = Request::post("/api/v1/alerts")
            .header(header::AUTHORIZATION, format!("Bearer {INGEST}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(sample))
            .unwrap();
        let resp = router.clone().oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        while worker.run_once().await.unwrap() > 0 {}
        let incidents = store
            .list_incidents(&IncidentFilter::default())
            .await
            .unwrap();
        assert_eq!(incidents.len(), 1, "one incident from one alert");
        let incident = serde_json::to_value(&incidents[0]).unwrap();
        let scope = &incident["scope"];
        assert!(
            !scope["hosts"].as_array().unwrap().is_empty()
                || !scope["ips"].as_array().unwrap().is_empty(),
            "the incident has a host or an IP in scope: {scope}"
        );

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        let served = router.clone();
        tokio::spawn(async move { axum::serve(listener, served).await });
        Self {
            _dir: dir,
            store,
            auditor,
            router,
            url,
            incident,
        }
    }

    fn incident_id(&self) -> &str {
        self.incident["id"].as_str().unwrap()
    }

    /// An MCP client presenting `token` (initialize done).
    async fn client(&self, token: &str) -> Client {
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(self.url.clone()).auth_header(token),
        );
        ().serve(transport).await.expect("MCP initialize")
    }

    /// `/mcp` as a plain HTTP request (an MCP initialize body), with an optional bearer token.
    async fn raw_initialize(&self, authorization: Option<&str>) -> (StatusCode, HeaderMap, Value) {
        let mut req = Request::post("/mcp")
            .header(header::HOST, "127.0.0.1")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json, text/event-stream");
        if let Some(a) = authorization {
            req = req.header(header::AUTHORIZATION, a);
        }
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "raw", "version": "0"}}});
        let resp = self
            .router
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
            .await
            .unwrap();
        let (parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        (
            parts.status,
            parts.headers,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

async fn call(client: &Client, name: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments are an object")
    };
    client
        .call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(args))
        .await
        .expect("a tool result, not a protocol error")
}

fn text(r: &CallToolResult) -> &str {
    r.content
        .first()
        .and_then(|c| c.as_text())
        .map(|t| t.text.as_str())
        .expect("a text block")
}

fn is_error(r: &CallToolResult) -> bool {
    r.is_error == Some(true)
}

fn names(tools: &[Tool]) -> Vec<&str> {
    tools.iter().map(|t| t.name.as_ref()).collect()
}

fn propose(action: &str, target: &str, incident: &str) -> Value {
    json!({"action": action, "target": target, "incident": incident, "reason": "evidence al_1"})
}

#[tokio::test]
async fn initialize_names_picket_and_warns_that_results_are_untrusted() {
    let s = Server::start().await;
    let client = s.client(VIEWER).await;
    let info = client.peer_info().expect("server info after initialize");
    let server = info.server_info.as_ref().expect("serverInfo");
    assert_eq!(server.name, "picket");
    assert_eq!(server.version, env!("CARGO_PKG_VERSION"));
    let instructions = info.instructions.as_deref().unwrap_or_default();
    assert!(instructions.contains("untrusted"), "{instructions}");
    assert!(instructions.contains("policy"), "{instructions}");
    assert!(info.capabilities.tools.is_some());
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn the_token_decides_which_tools_are_listed() {
    let s = Server::start().await;

    let viewer = s.client(VIEWER).await;
    let tools = viewer.list_all_tools().await.unwrap();
    let listed = names(&tools);
    assert!(listed.contains(&tools::GET_INCIDENT), "{listed:?}");
    assert!(!listed.contains(&PROPOSE_ACTION), "{listed:?}");
    let read_only: Vec<String> = tools::read_only_definitions()
        .into_iter()
        .map(|d| d.name)
        .collect();
    assert_eq!(listed, read_only);
    viewer.cancel().await.unwrap();

    let responder = s.client(RESPONDER).await;
    let tools = responder.list_all_tools().await.unwrap();
    let defs = tools::definitions();
    assert_eq!(
        names(&tools),
        defs.iter().map(|d| d.name.as_str()).collect::<Vec<_>>()
    );
    for (t, d) in tools.iter().zip(&defs) {
        assert_eq!(
            Value::Object(t.input_schema.as_ref().clone()),
            d.input_schema,
            "{}",
            d.name
        );
        assert_eq!(t.description.as_deref(), Some(d.description.as_str()));
        let read_only = t.annotations.as_ref().and_then(|a| a.read_only_hint);
        assert_eq!(read_only, Some(d.name != PROPOSE_ACTION), "{}", d.name);
    }
    responder.cancel().await.unwrap();
}

#[tokio::test]
async fn get_incident_returns_the_incident_and_bad_calls_are_tool_errors() {
    let s = Server::start().await;
    let client = s.client(VIEWER).await;
    let id = s.incident_id().to_owned();

    let r = call(&client, tools::GET_INCIDENT, json!({"id": id})).await;
    assert!(!is_error(&r), "{}", text(&r));
    let body: Value = serde_json::from_str(text(&r)).unwrap();
    assert_eq!(body["id"], id.as_str());
    assert_eq!(body["scope"], s.incident["scope"]);
    assert_eq!(r.structured_content.as_ref(), Some(&body));

    let r = call(&client, tools::GET_INCIDENT, json!({"id": "inc_nope"})).await;
    assert!(is_error(&r));
    assert!(text(&r).contains("inc_nope"), "{}", text(&r));

    let r = call(&client, "approve_action", json!({"id": "act_1"})).await;
    assert!(is_error(&r));
    assert!(text(&r).contains("no tool"), "{}", text(&r));

    let r = call(
        &client,
        tools::GET_INCIDENT,
        json!({"id": id, "approve": true}),
    )
    .await;
    assert!(is_error(&r), "unknown fields are refused");
    assert!(text(&r).contains("unknown field"), "{}", text(&r));
    let r = call(&client, tools::GET_INCIDENT, json!({})).await;
    assert!(is_error(&r), "missing arguments are refused");
    client.cancel().await.unwrap();

    // Every call is in the audit trail under the token's name.
    s.auditor.flush().await;
    let records = s.store.audit_records(0, 1000).await.unwrap();
    let calls: Vec<_> = records
        .iter()
        .filter(|r| r.kind == AuditKind::ConnectorCall && r.actor == "mcp:vic")
        .collect();
    assert_eq!(calls.len(), 5, "{calls:?}");
    assert_eq!(calls[0].subject, "tool:get_incident");
    assert_eq!(
        calls[0].data,
        json!({"arguments": {"id": id}, "is_error": false})
    );
    assert_eq!(calls[1].data["is_error"], true);
    assert_eq!(calls[2].subject, "tool:approve_action");
}

#[tokio::test]
async fn a_viewer_cannot_propose() {
    let s = Server::start().await;
    let client = s.client(VIEWER).await;
    let host = s.incident["scope"]["hosts"][0].as_str().unwrap().to_owned();
    let r = call(
        &client,
        PROPOSE_ACTION,
        propose("isolate_host", &host, s.incident_id()),
    )
    .await;
    assert!(is_error(&r));
    assert!(text(&r).contains("viewer"), "{}", text(&r));
    assert!(r.structured_content.is_none());
    assert!(
        s.store.list_actions(None, 100).await.unwrap().is_empty(),
        "no action stored"
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_responder_proposes_and_the_policy_decides() {
    let s = Server::start().await;
    let client = s.client(RESPONDER).await;
    let id = s.incident_id().to_owned();
    let host = s.incident["scope"]["hosts"][0].as_str().unwrap().to_owned();

    // A host of the incident: a proposal waiting for a human.
    let r = call(&client, PROPOSE_ACTION, propose("isolate_host", &host, &id)).await;
    assert!(!is_error(&r), "{}", text(&r));
    let out = r.structured_content.clone().expect("structured result");
    assert_eq!(out["state"], "awaiting_approval", "{out}");
    assert_eq!(out["target"], host.as_str());
    let actions = s.store.list_actions(None, 100).await.unwrap();
    assert_eq!(actions.len(), 1);
    let a = &actions[0];
    assert_eq!(a.id, out["action_id"].as_str().unwrap());
    assert_eq!(a.proposal.proposer, Proposer::Mcp);
    assert_eq!(a.proposal.requester, "rita");
    assert_eq!(a.proposal.incident.as_deref(), Some(id.as_str()));
    assert_eq!(a.state, ActionState::AwaitingApproval);
    let (_, approvals) = s.store.get_action(&a.id).await.unwrap().unwrap();
    assert!(approvals.is_empty(), "nobody approved: {approvals:?}");

    // The whole internet: not a target.
    let r = call(
        &client,
        PROPOSE_ACTION,
        propose("block_ip", "0.0.0.0/0", &id),
    )
    .await;
    let out = r.structured_content.clone().expect("structured result");
    assert_eq!(out["state"], "denied", "{out}");
    assert_eq!(out["decision"]["code"], "invalid_target", "{out}");

    // A host the incident does not contain.
    let r = call(
        &client,
        PROPOSE_ACTION,
        propose("isolate_host", "payroll-db-01", &id),
    )
    .await;
    let out = r.structured_content.clone().expect("structured result");
    assert_eq!(out["state"], "denied", "{out}");
    assert_eq!(out["decision"]["code"], "out_of_scope", "{out}");

    let stored = s.store.list_actions(None, 100).await.unwrap();
    assert_eq!(stored.len(), 3);
    assert_eq!(
        stored
            .iter()
            .filter(|a| a.state == ActionState::AwaitingApproval)
            .count(),
        1,
        "only the in-scope proposal waits; nothing was approved or runs"
    );
    assert!(stored.iter().all(|a| a.proposal.proposer == Proposer::Mcp));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn no_token_is_401_and_an_ingest_token_403() {
    let s = Server::start().await;
    let (st, headers, body) = s.raw_initialize(None).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthorized");
    assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
    let (st, _, _) = s
        .raw_initialize(Some("Bearer not-a-token-at-all-000000"))
        .await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, _, body) = s.raw_initialize(Some(&format!("Bearer {INGEST}"))).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden");
    // The same request with a reader's token is an MCP initialize answer.
    let (st, _, body) = s.raw_initialize(Some(&format!("Bearer {VIEWER}"))).await;
    assert_eq!(st, StatusCode::OK, "{body}");
    assert_eq!(body["result"]["serverInfo"]["name"], "picket");

    // A real client without a token does not get in.
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(s.url.clone()),
    );
    assert!(().serve(transport).await.is_err());
}
