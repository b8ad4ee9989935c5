//! Values going in and out of the store.

use jiff::Timestamp;
use picket_core::{Alert, Incident, IncidentStatus, Priority, Verdict};

/// What happened to one alert of an [`insert_alerts`](crate::Store::insert_alerts) batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted,
    /// An alert with this id was already stored (or appeared earlier in the same batch).
    Duplicate,
}

/// Where an alert is in the triage pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertStatus {
    /// Stored, not yet seen by the triage engine.
    Pending,
    /// The engine has seen it and its incidents are stored.
    Processed,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processed => "processed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "processed" => Some(Self::Processed),
            _ => None,
        }
    }
}

/// An alert waiting for triage, in insertion order.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingAlert {
    pub seq: i64,
    pub received_at: Timestamp,
    pub alert: Alert,
}

/// An alert as stored: with its raw bytes and where it is in the pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    pub seq: i64,
    pub received_at: Timestamp,
    pub status: AlertStatus,
    pub alert: Alert,
}

/// A record that could not be read, kept with its bytes exactly as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub received_at: Timestamp,
    /// The payload's name (`request`, a file path).
    pub source: String,
    /// 1-based line the record starts on.
    pub line: u64,
    /// 0-based position of the record in its payload.
    pub index: u64,
    /// An [`ErrorCode`](picket_core::ErrorCode) string.
    pub code: String,
    pub message: String,
    /// The bytes as received, even when they are not UTF-8.
    pub raw: Vec<u8>,
}

/// Which incidents [`list_incidents`](crate::Store::list_incidents) returns, newest (`last_seen`) first.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentFilter {
    pub status: Option<IncidentStatus>,
    pub verdict: Option<Verdict>,
    pub priority: Option<Priority>,
    /// Only incidents still active at or after this time (`last_seen >= since`).
    pub since: Option<Timestamp>,
    /// Only incidents that began at or before this time (`first_seen <= until`).
    pub until: Option<Timestamp>,
    pub limit: u32,
    pub offset: u32,
}

impl Default for IncidentFilter {
    fn default() -> Self {
        Self {
            status: None,
            verdict: None,
            priority: None,
            since: None,
            until: None,
            limit: 100,
            offset: 0,
        }
    }
}

/// An analyst's verdict on an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictRecord {
    pub incident_id: String,
    pub verdict: Verdict,
    /// The engine's verdict on the incident when the analyst gave theirs.
    pub engine_verdict: Option<Verdict>,
    /// The name of the token (or user) that gave it.
    pub analyst: String,
    pub note: Option<String>,
    pub at: Timestamp,
}

/// One step of the triage worker, committed atomically: the incidents it changed, the rule counts it
/// adds, and the alerts it has now processed. Committing them together means a crash either loses the
/// whole step (the alerts stay pending and are processed again) or none of it; counts are never
/// bumped twice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TriageCommit {
    pub incidents: Vec<Incident>,
    pub rule_counts: Vec<(String, String, u64)>,
    pub processed: Vec<i64>,
    /// Lifecycle events of these incidents (detected, ingested, triaged, escalated, resolved).
    pub events: Vec<IncidentEvent>,
}

/// One lifecycle event of an incident. Only the first of each kind per incident is kept.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IncidentEvent {
    pub incident_id: String,
    pub event: LifecycleEvent,
    pub at: Timestamp,
    /// Who or what: `engine`, `token:<name>`, `playbook:<name>`, `source:<format>`, `picket`.
    pub actor: String,
}

/// An incident with everything SOC metrics read about it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentLifecycle {
    pub incident: Incident,
    pub events: Vec<IncidentEvent>,
    /// Analyst verdicts, oldest first.
    pub verdicts: Vec<VerdictRecord>,
    /// Rule keys (`format:rule`) of its alerts.
    pub rules: Vec<String>,
    /// LLM tokens its investigations used (input + output).
    pub llm_tokens: u64,
    /// What its investigations cost, at the providers' configured prices.
    pub llm_cost: f64,
}

/// One LLM investigation of an incident, as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InvestigationRecord {
    pub id: String,
    pub incident_id: String,
    pub mode: String,
    pub provider: String,
    /// `completed` or `degraded`.
    pub status: String,
    /// The verdict that stands after reconciliation.
    pub verdict: Verdict,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost: f64,
    /// The whole investigation.
    pub doc: serde_json::Value,
}

/// The lifecycle of an incident, in the usual order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleEvent {
    /// The attack began (known from an analyst or a label), for time to detect.
    AttackStarted,
    /// The first alert's event time: the detector fired.
    Detected,
    /// Picket accepted its first alert.
    Ingested,
    /// The engine first assessed it.
    Triaged,
    /// It first went to a human (analyst queue or on-call).
    Escalated,
    /// A human first acted on it (a verdict, a proposed action).
    Acknowledged,
    /// A containment action on it first succeeded.
    Contained,
    /// Closed: auto-closed by the engine, or an analyst's verdict.
    Resolved,
}

impl LifecycleEvent {
    pub const ALL: [Self; 8] = [
        Self::AttackStarted,
        Self::Detected,
        Self::Ingested,
        Self::Triaged,
        Self::Escalated,
        Self::Acknowledged,
        Self::Contained,
        Self::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AttackStarted => "attack_started",
            Self::Detected => "detected",
            Self::Ingested => "ingested",
            Self::Triaged => "triaged",
            Self::Escalated => "escalated",
            Self::Acknowledged => "acknowledged",
            Self::Contained => "contained",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// Row counts for `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub alerts: u64,
    pub pending_alerts: u64,
    pub dead_letters: u64,
    /// Listed (not superseded) incidents per engine verdict.
    pub incidents_by_verdict: Vec<(Verdict, u64)>,
    pub verdicts: u64,
}

/// Where a response action stands: proposed → awaiting approval → approved → executing → succeeded
/// or failed → rolled back (or rejected, or denied by the policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionState {
    /// The policy requires human approval; waiting for it.
    AwaitingApproval,
    /// Allowed by the policy, or approved by enough distinct humans; waiting for the executor.
    Approved,
    Rejected,
    /// The policy refused it.
    Denied,
    /// Claimed by the executor: the vendor call is under way (or was, when the process stopped).
    Executing,
    Succeeded,
    Failed,
    /// Succeeded, then undone by a later action (`execution.rolled_back_by`).
    RolledBack,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingApproval => "awaiting_approval",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Denied => "denied",
            Self::Executing => "executing",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::RolledBack => "rolled_back",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::AwaitingApproval,
            Self::Approved,
            Self::Rejected,
            Self::Denied,
            Self::Executing,
            Self::Succeeded,
            Self::Failed,
            Self::RolledBack,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// A proposed response action with the policy's decision.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ActionRecord {
    pub id: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub state: ActionState,
    pub approvals_needed: u8,
    pub proposal: picket_policy::Proposal,
    pub decision: picket_policy::Decision,
    #[serde(default)]
    pub execution: Execution,
}

/// How an action ran: attempts, the responder, the undo recorded before it ran, and the result.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Execution {
    /// Vendor calls started (a resumed action after a restart counts again).
    pub attempts: u32,
    pub responder: Option<String>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// The undo, recorded before the action runs (`None`: irreversible, or nothing to undo).
    pub undo: Option<UndoPlan>,
    /// The vendor's outcome (`{"summary", "details"}`) or the error (`{"code", "message"}`).
    pub result: Option<serde_json::Value>,
    /// The action this one undoes (it is a rollback).
    pub undoes: Option<String>,
    /// The action that undid this one.
    pub rolled_back_by: Option<String>,
}

/// The action that reverses another, exactly as it will be proposed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UndoPlan {
    pub action: String,
    pub target: String,
    pub params: serde_json::Value,
    pub responder: Option<String>,
}

/// One human's approval or rejection of an action.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ApprovalRecord {
    pub user: String,
    pub approve: bool,
    pub reason: Option<String>,
    /// The hash of the exact action the user saw and approved.
    pub approval_hash: String,
    pub at: Timestamp,
}

/// The lifecycle events a triage step establishes for its incidents: detected (the first alert's event
/// time, by its source), ingested (the earliest receipt among this step's alerts of the incident),
/// triaged, and escalated or resolved (auto-closed) by the engine. The store keeps the first of each.
pub fn lifecycle_events(
    incidents: &[picket_core::Incident],
    received: &std::collections::HashMap<String, Timestamp>,
    now: Timestamp,
) -> Vec<IncidentEvent> {
    let mut out = Vec::new();
    for i in incidents {
        let ev = |event, at, actor: String| IncidentEvent {
            incident_id: i.id.clone(),
            event,
            at,
            actor,
        };
        let source = i
            .alerts
            .first()
            .map(|a| format!("source:{}", a.format.as_str()))
            .unwrap_or_else(|| "source:unknown".into());
        out.push(ev(LifecycleEvent::Detected, i.first_seen, source));
        if let Some(r) = i.alerts.iter().filter_map(|a| received.get(&a.id)).min() {
            out.push(ev(LifecycleEvent::Ingested, *r, "picket".into()));
        }
        out.push(ev(LifecycleEvent::Triaged, now, "engine".into()));
        if i.escalation == picket_core::Escalation::AutoClose {
            out.push(ev(LifecycleEvent::Resolved, now, "engine".into()));
        } else {
            out.push(ev(LifecycleEvent::Escalated, now, "engine".into()));
        }
    }
    out
}
