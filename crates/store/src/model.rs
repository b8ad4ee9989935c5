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
