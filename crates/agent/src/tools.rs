//! The tools a model may call — the same set for Picket's own agent and for external agents over MCP.
//!
//! All but one are read-only: incident and alert details, threat-intel lookup, asset and identity
//! context, ATT&CK lookup, similar past incidents, SIEM search. The one that is not,
//! [`PROPOSE_ACTION`], only *proposes*: the service sends the proposal through the same policy and
//! approval tiers as any other, with the model (or MCP client) as proposer. No tool approves, and
//! nothing a model writes counts as a user.
//!
//! This module defines the names, argument types (their JSON Schemas are what the model sees) and
//! the [`Toolbox`] trait; the service implements it over its store and connectors.

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::provider::{ToolCall, ToolDef};

pub const GET_INCIDENT: &str = "get_incident";
pub const GET_ALERT: &str = "get_alert";
pub const LOOKUP_INDICATOR: &str = "lookup_indicator";
pub const GET_ASSET: &str = "get_asset";
pub const ATTACK_TECHNIQUE: &str = "attack_technique";
pub const SIMILAR_INCIDENTS: &str = "similar_incidents";
pub const SEARCH_INCIDENTS: &str = "search_incidents";
pub const SIEM_SEARCH: &str = "siem_search";
pub const PROPOSE_ACTION: &str = "propose_action";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentArgs {
    /// Incident id (`inc_…`).
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertArgs {
    /// Alert id (`al_…`).
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorArgs {
    /// Observable type: ipv4, ipv6, domain, url, md5, sha1, sha256, email…
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetArgs {
    /// Host name, IP address or user name as the inventory knows it.
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TechniqueArgs {
    /// ATT&CK technique id, e.g. `T1059.001`.
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimilarArgs {
    /// The incident to compare with past ones.
    pub id: String,
    /// At most this many (1–20).
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Full-text query over past incidents (titles, rules, indicators, hosts, users, techniques).
    pub query: String,
    /// At most this many (1–20).
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiemArgs {
    /// The configured SIEM's name; empty for the first one.
    pub siem: String,
    /// The query in the SIEM's own language (Lucene query string, SPL, KQL).
    pub query: String,
    /// RFC 3339 start of the time range.
    pub from: String,
    /// RFC 3339 end of the time range.
    pub to: String,
    /// At most this many events (capped by the SIEM's configured maximum).
    pub limit: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeArgs {
    /// A catalog action (`block_ip`, `isolate_host`, `disable_user`, `notify`…).
    pub action: String,
    /// Its target (IP, host name, user); empty for untargeted actions.
    pub target: String,
    /// The incident it responds to.
    pub incident: String,
    /// Why, citing evidence ids.
    pub reason: String,
}

/// One tool call, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolRequest {
    Incident(IncidentArgs),
    Alert(AlertArgs),
    Indicator(IndicatorArgs),
    Asset(AssetArgs),
    Technique(TechniqueArgs),
    Similar(SimilarArgs),
    Search(SearchArgs),
    Siem(SiemArgs),
    Propose(ProposeArgs),
}

impl ToolRequest {
    /// Parses a call by tool name; an unknown tool or arguments of the wrong shape is an error
    /// message for the model, never a panic.
    pub fn parse(name: &str, args: &Value) -> Result<Self, String> {
        fn de<T: serde::de::DeserializeOwned>(name: &str, args: &Value) -> Result<T, String> {
            serde_json::from_value(args.clone()).map_err(|e| format!("`{name}` arguments: {e}"))
        }
        Ok(match name {
            GET_INCIDENT => Self::Incident(de(name, args)?),
            GET_ALERT => Self::Alert(de(name, args)?),
            LOOKUP_INDICATOR => Self::Indicator(de(name, args)?),
            GET_ASSET => Self::Asset(de(name, args)?),
            ATTACK_TECHNIQUE => Self::Technique(de(name, args)?),
            SIMILAR_INCIDENTS => Self::Similar(de(name, args)?),
            SEARCH_INCIDENTS => Self::Search(de(name, args)?),
            SIEM_SEARCH => Self::Siem(de(name, args)?),
            PROPOSE_ACTION => Self::Propose(de(name, args)?),
            other => return Err(format!("no tool is called `{other}`")),
        })
    }

    pub fn is_read_only(&self) -> bool {
        !matches!(self, Self::Propose(_))
    }
}

/// Every tool, described for the model. `propose_action` last.
pub fn definitions() -> Vec<ToolDef> {
    vec![
        ToolDef::of::<IncidentArgs>(
            GET_INCIDENT,
            "An incident: verdict, priority, confidence note, scope, indicators, ATT&CK mapping, \
             timeline, evidence and enrichment.",
        ),
        ToolDef::of::<AlertArgs>(
            GET_ALERT,
            "One alert as normalized (source, rule, severity, hosts, users, indicators, message).",
        ),
        ToolDef::of::<IndicatorArgs>(
            LOOKUP_INDICATOR,
            "Threat-intel verdicts on one indicator from the configured sources (cached).",
        ),
        ToolDef::of::<AssetArgs>(
            GET_ASSET,
            "Inventory context of a host, IP or user: owner, criticality, protection, tags.",
        ),
        ToolDef::of::<TechniqueArgs>(
            ATTACK_TECHNIQUE,
            "An ATT&CK technique: name, tactics, platforms, data sources, detection notes.",
        ),
        ToolDef::of::<SimilarArgs>(
            SIMILAR_INCIDENTS,
            "Past incidents sharing indicators, hosts, users, rules or techniques with this one, \
             with their verdicts.",
        ),
        ToolDef::of::<SearchArgs>(SEARCH_INCIDENTS, "Full-text search over past incidents."),
        ToolDef::of::<SiemArgs>(
            SIEM_SEARCH,
            "A bounded read-only search in a configured SIEM over a time range.",
        ),
        ToolDef::of::<ProposeArgs>(
            PROPOSE_ACTION,
            "Proposes a response action. It is only a proposal: the policy decides whether it may \
             run, and most actions wait for human approval. The answer says what was decided.",
        ),
    ]
}

/// The read-only tools only.
pub fn read_only_definitions() -> Vec<ToolDef> {
    definitions()
        .into_iter()
        .filter(|d| d.name != PROPOSE_ACTION)
        .collect()
}

/// Who calls a tool: what the audit trail names as actor and the policy as proposer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "snake_case")]
pub enum Caller {
    /// Picket's own agent, through the named provider.
    Agent(String),
    /// An external agent over MCP, authenticated by the named token.
    Mcp(String),
}

impl Caller {
    pub fn actor(&self) -> String {
        match self {
            Self::Agent(p) => format!("agent:{p}"),
            Self::Mcp(t) => format!("mcp:{t}"),
        }
    }
}

/// A tool's answer. `content` is data collected from stores and connectors — attacker-influenced,
/// so the caller spotlights it before a model reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolOutput {
    pub content: Value,
    pub is_error: bool,
}

impl ToolOutput {
    pub fn ok(content: Value) -> Self {
        Self {
            content,
            is_error: false,
        }
    }

    pub fn error(message: impl Into<String>) -> Self {
        Self {
            content: Value::String(message.into()),
            is_error: true,
        }
    }
}

/// Runs tools. Implementations never trust the arguments beyond their schema: ids are looked up,
/// limits clamped, and proposals go through the policy.
#[async_trait]
pub trait Toolbox: Send + Sync {
    async fn run(&self, request: ToolRequest, caller: &Caller) -> ToolOutput;

    /// Parses and runs one model tool call.
    async fn call(&self, call: &ToolCall, caller: &Caller) -> ToolOutput {
        match ToolRequest::parse(&call.name, &call.arguments) {
            Ok(r) => self.run(r, caller).await,
            Err(e) => ToolOutput::error(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_definition_parses_its_own_example_and_rejects_unknown_fields() {
        let defs = definitions();
        assert_eq!(defs.len(), 9);
        for d in &defs {
            assert_eq!(d.input_schema["type"], "object", "{}", d.name);
            assert_eq!(d.input_schema["additionalProperties"], false, "{}", d.name);
        }
        let ok = ToolRequest::parse(GET_INCIDENT, &serde_json::json!({"id": "inc_1"})).unwrap();
        assert!(ok.is_read_only());
        let p = ToolRequest::parse(
            PROPOSE_ACTION,
            &serde_json::json!({"action": "block_ip", "target": "1.2.3.4", "incident": "inc_1", "reason": "r"}),
        )
        .unwrap();
        assert!(!p.is_read_only());
        assert!(
            ToolRequest::parse(GET_ALERT, &serde_json::json!({"id": "a", "approve": true}))
                .unwrap_err()
                .contains("unknown field")
        );
        assert!(
            ToolRequest::parse("approve_action", &serde_json::json!({}))
                .unwrap_err()
                .contains("no tool")
        );
        assert!(
            !read_only_definitions()
                .iter()
                .any(|d| d.name == PROPOSE_ACTION)
        );
    }
}
