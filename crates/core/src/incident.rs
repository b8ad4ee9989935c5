//! Incidents: correlated alerts, their timeline, scope, and the assessment with its evidence.
//!
//! `Incident` is the incident line that `picket triage` prints and the API returns; its JSON Schema is
//! generated from these types (`docs/schema/incident.schema.json`).

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::alert::{AttackRef, SourceFormat};
use crate::enrichment::AlertEnrichment;
use crate::observable::ObservableType;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Malicious,
    Suspicious,
    Benign,
    NeedsReview,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malicious => "malicious",
            Self::Suspicious => "suspicious",
            Self::Benign => "benign",
            Self::NeedsReview => "needs_review",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Malicious,
            Self::Suspicious,
            Self::Benign,
            Self::NeedsReview,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// P1 is the most urgent.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum Priority {
    P1,
    P2,
    P3,
    P4,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::P1 => "P1",
            Self::P2 => "P2",
            Self::P3 => "P3",
            Self::P4 => "P4",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::P1, Self::P2, Self::P3, Self::P4]
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s))
    }
}

/// Where the incident goes next.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Escalation {
    /// Closed without a human: benign with enough confidence, or suppressed by a rule.
    AutoClose,
    /// Goes to the analyst review queue.
    AnalystQueue,
    /// Pages the on-call responder.
    OnCall,
}

impl Escalation {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AutoClose => "auto_close",
            Self::AnalystQueue => "analyst_queue",
            Self::OnCall => "on_call",
        }
    }

    /// Whether a human must look at it.
    pub fn needs_human(self) -> bool {
        !matches!(self, Self::AutoClose)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    #[default]
    Open,
    Closed,
}

/// An alert in an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AlertRef {
    pub id: String,
    pub format: SourceFormat,
    pub raw_sha256: String,
    /// How many times this alert repeated (deduplicated copies folded into it), at least 1.
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Scope {
    pub hosts: Vec<String>,
    pub users: Vec<String>,
    #[serde(default)]
    pub ips: Vec<String>,
}

/// An indicator in an incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ObservableRef {
    #[serde(rename = "type")]
    pub kind: ObservableType,
    pub value: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    pub benign_lists: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TimelineEntry {
    #[schemars(with = "String")]
    pub time: Timestamp,
    /// The alert id.
    pub alert: String,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tactic: Option<String>,
    /// Repetitions folded into this entry (1 when the alert did not repeat).
    pub count: u64,
}

/// One fact the assessment rests on, citing where it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    pub claim: String,
    /// What the claim rests on: `alert:<id>:<field>`, `warninglist:<name>`, `inventory:<kind>:<name>`,
    /// `history:<rule>`, `feedback:<incident>`, `suppression:<rule name>`, `attack:<tactic>`.
    pub source: String,
    /// Signed contribution to the maliciousness score (positive raises it).
    pub weight: f64,
}

/// A triaged incident: the line `picket triage` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Incident {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub status: IncidentStatus,
    pub verdict: Verdict,
    pub priority: Priority,
    /// Confidence in the verdict, in [0, 1].
    pub confidence: f64,
    /// Why the engine is as sure (or unsure) as it is, in words.
    pub confidence_note: String,
    pub escalation: Escalation,
    #[schemars(with = "String")]
    pub first_seen: Timestamp,
    #[schemars(with = "String")]
    pub last_seen: Timestamp,
    /// Alerts in the incident, counting folded duplicates.
    pub alert_count: u64,
    pub alerts: Vec<AlertRef>,
    pub scope: Scope,
    pub observables: Vec<ObservableRef>,
    pub attack: Vec<AttackRef>,
    pub timeline: Vec<TimelineEntry>,
    pub evidence: Vec<Evidence>,
    /// Threat-intel enrichment of the incident's indicators, when connectors are configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrichment: Option<AlertEnrichment>,
}
