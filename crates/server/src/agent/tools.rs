//! The service's [`Toolbox`]: the read-only tools over the store, the inventory, ATT&CK, threat
//! intel, the incident index and the SIEMs, and `propose_action` through [`Response::propose`].
//! Shared by Picket's own agent and by MCP clients.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use picket_agent::Caller;
use picket_agent::tools::{ProposeArgs, SiemArgs, ToolOutput, ToolRequest, Toolbox};
use picket_core::{Incident, ObservableType};
use picket_policy::{Proposal, Proposer};
use picket_store::Store;
use picket_triage::Engine;
use serde_json::{Value, json};

use crate::response::Response;

/// Most results a search tool returns.
const MAX_HITS: u32 = 20;

pub(crate) struct ServiceToolbox {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) engine: Arc<Mutex<Engine>>,
    pub(crate) response: Arc<Response>,
    pub(crate) enricher: Option<Arc<picket_enrich::Enricher>>,
    pub(crate) index: Option<Arc<picket_search::IncidentIndex>>,
    pub(crate) siems: Vec<Arc<dyn picket_siem::Siem>>,
}

fn store_error(e: impl std::fmt::Display) -> ToolOutput {
    ToolOutput::error(format!("the store failed: {e}"))
}

/// Whether `target` names an entity of `incident` (host, user, IP or indicator).
pub(crate) fn in_scope(incident: &Incident, target: &str) -> bool {
    let t = target.trim();
    if t.is_empty() {
        return true;
    }
    let s = &incident.scope;
    s.hosts
        .iter()
        .chain(&s.users)
        .chain(&s.ips)
        .any(|x| x.eq_ignore_ascii_case(t))
        || incident
            .observables
            .iter()
            .any(|o| o.value.eq_ignore_ascii_case(t))
}

impl ServiceToolbox {
    async fn incident(&self, id: &str) -> Result<Incident, ToolOutput> {
        match self.store.get_incident(id).await {
            Ok(Some(i)) => Ok(i),
            Ok(None) => Err(ToolOutput::error(format!("no incident `{id}`"))),
            Err(e) => Err(store_error(e)),
        }
    }

    fn asset(&self, name: &str) -> ToolOutput {
        let Ok(engine) = self.engine.lock() else {
            return ToolOutput::error("the inventory is unavailable");
        };
        let inv = &engine.knowledge().inventory;
        if let Some(a) = inv.host(name) {
            return ToolOutput::ok(json!({"kind": "host", "asset": a}));
        }
        if let Some(a) = inv.user(name) {
            return ToolOutput::ok(json!({"kind": "user", "asset": a}));
        }
        if let Ok(ip) = name.parse::<std::net::IpAddr>()
            && let Some(s) = inv.subnet(ip)
        {
            return ToolOutput::ok(json!({"kind": "subnet", "asset": s}));
        }
        ToolOutput::ok(
            json!({"kind": "unknown", "note": format!("`{name}` is not in the inventory")}),
        )
    }

    fn technique(&self, id: &str) -> ToolOutput {
        let Ok(engine) = self.engine.lock() else {
            return ToolOutput::error("the ATT&CK catalog is unavailable");
        };
        let Some(cat) = engine.knowledge().attack.clone() else {
            return ToolOutput::error("no ATT&CK bundle is loaded (`[knowledge] attack`)");
        };
        match cat.resolve(id) {
            Ok(r) => ToolOutput::ok(json!({
                "id": r.id, "name": cat.full_name(&r.id).unwrap_or(r.name), "tactics": r.tactics,
                "parent": r.parent, "replaces": r.replaces, "attack_version": cat.version,
            })),
            Err(e) => ToolOutput::error(format!("`{id}` does not resolve: {e:?}")),
        }
    }

    async fn indicator(&self, kind: &str, value: &str) -> ToolOutput {
        let Ok(kind) = serde_json::from_value::<ObservableType>(Value::String(kind.into())) else {
            return ToolOutput::error(format!("`{kind}` is not an observable type"));
        };
        match &self.enricher {
            Some(e) => ToolOutput::ok(json!(e.lookup_one(kind, value).await)),
            None => ToolOutput::error("no threat-intel connector is configured"),
        }
    }

    /// Runs `f` on the index off the async threads (tantivy searches block).
    async fn on_index<F>(&self, f: F) -> ToolOutput
    where
        F: FnOnce(
                &picket_search::IncidentIndex,
            ) -> Result<Vec<picket_search::Hit>, picket_search::SearchError>
            + Send
            + 'static,
    {
        let Some(index) = self.index.clone() else {
            return ToolOutput::error("the incident index is unavailable");
        };
        match tokio::task::spawn_blocking(move || f(&index)).await {
            Ok(Ok(hits)) => ToolOutput::ok(json!(hits)),
            Ok(Err(e)) => ToolOutput::error(e.to_string()),
            Err(e) => ToolOutput::error(format!("the search failed: {e}")),
        }
    }

    async fn similar(&self, id: &str, limit: u32) -> ToolOutput {
        if self.index.is_none() {
            return ToolOutput::error("the incident index is unavailable");
        }
        let incident = match self.incident(id).await {
            Ok(i) => i,
            Err(e) => return e,
        };
        let limit = limit.clamp(1, MAX_HITS) as usize;
        self.on_index(move |ix| ix.similar(&incident, limit)).await
    }

    async fn search(&self, query: String, limit: u32) -> ToolOutput {
        let limit = limit.clamp(1, MAX_HITS) as usize;
        self.on_index(move |ix| ix.search(&query, limit)).await
    }

    async fn siem(&self, a: SiemArgs) -> ToolOutput {
        let siem = if a.siem.is_empty() {
            self.siems.first()
        } else {
            self.siems.iter().find(|s| s.name() == a.siem)
        };
        let Some(siem) = siem else {
            return ToolOutput::error(if self.siems.is_empty() {
                "no SIEM is configured (`[[siem]]`)".to_owned()
            } else {
                format!("no SIEM is named `{}`", a.siem)
            });
        };
        let (Ok(from), Ok(to)) = (
            a.from.parse::<jiff::Timestamp>(),
            a.to.parse::<jiff::Timestamp>(),
        ) else {
            return ToolOutput::error("`from` and `to` must be RFC 3339 times");
        };
        let q = picket_siem::SiemQuery {
            query: a.query,
            from,
            to,
            limit: a.limit,
        };
        match siem.search(&q).await {
            Ok(r) => ToolOutput::ok(json!({
                "siem": siem.name(), "total": r.total, "truncated": r.truncated, "events": r.events,
            })),
            Err(e) => ToolOutput::error(format!("{} ({})", e, e.code())),
        }
    }

    async fn propose(&self, a: ProposeArgs, caller: &Caller) -> ToolOutput {
        let incident = match self.incident(&a.incident).await {
            Ok(i) => i,
            Err(e) => return e,
        };
        let (proposer, requester) = match caller {
            Caller::Agent(p) => (Proposer::Agent, p.clone()),
            Caller::Mcp(t) => (Proposer::Mcp, t.clone()),
        };
        let proposal = Proposal {
            out_of_scope: !in_scope(&incident, &a.target),
            action: a.action,
            target: a.target,
            params: json!({ "reason": a.reason }),
            incident: Some(incident.id),
            proposer,
            requester,
            protected: false,
            min_approvals: 0,
            asset_class: None,
        };
        match self.response.propose(proposal, None).await {
            Ok(r) => ToolOutput::ok(json!({
                "action_id": r.id, "action": r.proposal.action, "target": r.proposal.target,
                "state": r.state.as_str(), "decision": r.decision.outcome,
                "reasons": r.decision.reasons,
                "note": "a proposal only: the policy decided the above; approvals come from humans",
            })),
            Err(e) => store_error(e),
        }
    }
}

#[async_trait]
impl Toolbox for ServiceToolbox {
    async fn run(&self, request: ToolRequest, caller: &Caller) -> ToolOutput {
        match request {
            ToolRequest::Incident(a) => match self.incident(&a.id).await {
                Ok(i) => ToolOutput::ok(json!(i)),
                Err(e) => e,
            },
            ToolRequest::Alert(a) => match self.store.get_alert(&a.id).await {
                Ok(Some(s)) => {
                    let mut v = json!(s.alert);
                    // The raw record can be large: the normalized fields say what it says.
                    if let Some(o) = v.as_object_mut() {
                        o.remove("raw");
                    }
                    ToolOutput::ok(v)
                }
                Ok(None) => ToolOutput::error(format!("no alert `{}`", a.id)),
                Err(e) => store_error(e),
            },
            ToolRequest::Indicator(a) => self.indicator(&a.kind, &a.value).await,
            ToolRequest::Asset(a) => self.asset(&a.name),
            ToolRequest::Technique(a) => self.technique(&a.id),
            ToolRequest::Similar(a) => self.similar(&a.id, a.limit).await,
            ToolRequest::Search(a) => self.search(a.query, a.limit).await,
            ToolRequest::Siem(a) => self.siem(a).await,
            ToolRequest::Propose(a) => self.propose(a, caller).await,
        }
    }
}
