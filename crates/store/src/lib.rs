//! Picket's durable state behind one [`Store`] trait: alerts (pending until triaged), dead letters,
//! incidents, analyst verdicts and the rule baseline.
//!
//! [`SqliteStore`] is the embedded backend; a PostgreSQL backend implements the same trait and runs
//! the same test suite (`tests/suite.rs`, `store_test_suite!`).

mod error;
mod model;
mod pages;
mod sqlite;

use std::collections::HashMap;

use async_trait::async_trait;
use jiff::Timestamp;
use picket_core::{Alert, Incident, Verdict};

pub use error::{Result, StoreError};
pub use model::{
    ActionRecord, ActionState, AlertStatus, ApprovalRecord, DeadLetter, Execution, IncidentEvent,
    IncidentFilter, IncidentLifecycle, InsertOutcome, InvestigationRecord, LifecycleEvent,
    PendingAlert, StoreStats, StoredAlert, TriageCommit, UndoPlan, VerdictRecord, lifecycle_events,
};
pub use pages::IncidentPages;
pub use sqlite::SqliteStore;

/// Everything the server and the triage worker keep across restarts.
///
/// The trait uses `async_trait` (boxed futures) rather than native `async fn` in traits: callers hold
/// an `Arc<dyn Store>` chosen at startup (SQLite or PostgreSQL), and native async trait methods are not
/// object-safe. One allocation per call is nothing next to a database round trip.
///
/// Every method that writes commits before it returns: once it returns `Ok`, the data survives a
/// crash.
#[async_trait]
pub trait Store: Send + Sync {
    /// Checks that the database answers (`/healthz`).
    async fn ping(&self) -> Result<()>;

    /// Closes connections, waiting for running statements. The store is unusable afterwards.
    async fn close(&self);

    /// Stores new alerts as pending, in one transaction, in the order given. An alert whose id is
    /// already stored (or came earlier in the batch) is left as it was: re-sending an event is a no-op.
    async fn insert_alerts(&self, alerts: &[Alert]) -> Result<Vec<InsertOutcome>>;

    /// Up to `limit` pending alerts, oldest insertion first, with their raw bytes.
    async fn pending_alerts(&self, limit: u32) -> Result<Vec<PendingAlert>>;

    /// How many alerts wait for triage (the ingest queue's length).
    async fn count_pending(&self) -> Result<u64>;

    /// Marks alerts (by `seq`) as processed. Unknown or already processed ones are ignored.
    async fn mark_processed(&self, seqs: &[i64]) -> Result<()>;

    /// Processed alerts whose event time is at or after `since`, ordered by time (then insertion), to
    /// rebuild the engine's window on restart. `raw` is left empty: the engine does not read it, and
    /// a window can hold many alerts.
    async fn alerts_since(&self, since: Timestamp) -> Result<Vec<Alert>>;

    /// The latest event time among processed alerts.
    async fn latest_processed_time(&self) -> Result<Option<Timestamp>>;

    /// One alert with its raw bytes.
    async fn get_alert(&self, id: &str) -> Result<Option<StoredAlert>>;

    async fn insert_dead_letters(&self, letters: &[DeadLetter]) -> Result<()>;

    /// Dead letters, newest first, with their store ids.
    async fn list_dead_letters(&self, limit: u32, offset: u32) -> Result<Vec<(i64, DeadLetter)>>;

    /// Stores each incident's latest assessment, and which alerts and rules it holds. An incident whose
    /// alerts all moved into another one (a merge) is marked superseded and no longer listed.
    async fn upsert_incidents(&self, incidents: &[Incident]) -> Result<()>;

    /// One incident, superseded or not.
    async fn get_incident(&self, id: &str) -> Result<Option<Incident>>;

    /// Incidents matching `filter`, latest activity first; superseded ones are left out.
    async fn list_incidents(&self, filter: &IncidentFilter) -> Result<Vec<Incident>>;

    /// The rule keys (`format:rule_id_or_name`, see `picket_triage::knowledge::rule_key`) of an
    /// incident's alerts.
    async fn incident_rule_keys(&self, incident_id: &str) -> Result<Vec<String>>;

    /// Records an analyst verdict. [`StoreError::NotFound`] when the incident does not exist.
    async fn record_verdict(&self, verdict: &VerdictRecord) -> Result<()>;

    /// An incident's verdicts, oldest first.
    async fn list_verdicts(&self, incident_id: &str) -> Result<Vec<VerdictRecord>>;

    /// Every verdict as feedback on the rules of its incident: (rule key, incident id, verdict), oldest
    /// verdict first so that replaying them into `Feedback::record` leaves the latest one standing.
    async fn feedback_by_rule(&self) -> Result<Vec<(String, String, Verdict)>>;

    /// Adds to the (rule key, entity) occurrence counts.
    async fn bump_rule_counts(&self, counts: &[(String, String, u64)]) -> Result<()>;

    async fn load_rule_counts(&self) -> Result<HashMap<(String, String), u64>>;

    /// One triage step in one transaction: upsert the incidents, bump the counts, mark the alerts
    /// processed (see [`TriageCommit`]).
    async fn commit_triage(&self, step: &TriageCommit) -> Result<()>;

    async fn stats(&self) -> Result<StoreStats>;

    /// Appends records to the audit trail, chaining them after the current head in one transaction
    /// (one writer: the chain cannot fork). Returns them with their seq and hashes.
    async fn append_audit(
        &self,
        records: Vec<picket_audit::NewRecord>,
    ) -> Result<Vec<picket_audit::AuditRecord>>;

    /// Audit records from `from_seq` on, in seq order, at most `limit`.
    async fn audit_records(
        &self,
        from_seq: u64,
        limit: u32,
    ) -> Result<Vec<picket_audit::AuditRecord>>;

    /// The chain's head (seq, hash), if any record exists.
    async fn audit_head(&self) -> Result<Option<(u64, String)>>;

    async fn put_audit_checkpoint(&self, c: &picket_audit::Checkpoint) -> Result<()>;

    async fn audit_checkpoints(&self) -> Result<Vec<picket_audit::Checkpoint>>;

    /// Stores a proposed action with its policy decision.
    async fn insert_action(&self, action: &ActionRecord) -> Result<()>;

    /// An action and its approvals.
    async fn get_action(&self, id: &str) -> Result<Option<(ActionRecord, Vec<ApprovalRecord>)>>;

    /// Actions, newest first, optionally in one state.
    async fn list_actions(
        &self,
        state: Option<ActionState>,
        limit: u32,
    ) -> Result<Vec<ActionRecord>>;

    /// Records an approval or rejection and moves the action on when the approvals now say so, in one
    /// transaction (two approvers at once cannot both miss the second approval). `None`: no such
    /// action. An action no longer awaiting approval is returned unchanged.
    async fn approve_action(
        &self,
        id: &str,
        approval: &ApprovalRecord,
    ) -> Result<Option<(ActionRecord, Vec<ApprovalRecord>)>>;

    /// Actions still awaiting approval whose approval timeout has passed at `now` and that were not
    /// handled yet; they are marked handled in the same transaction, so each is returned once.
    async fn take_timed_out_actions(&self, now: Timestamp) -> Result<Vec<ActionRecord>>;

    /// Claims an approved action for execution: moves it to executing, counts the attempt and records
    /// the responder and the undo, in one transaction, before any vendor call. `None` when the action
    /// is not approved (another claim won, or it changed state): the caller must not run it.
    async fn claim_action(
        &self,
        id: &str,
        responder: &str,
        undo: Option<&UndoPlan>,
        now: Timestamp,
    ) -> Result<Option<ActionRecord>>;

    /// Counts another attempt of an executing action (resuming one the process left mid-call).
    async fn resume_action(&self, id: &str, now: Timestamp) -> Result<Option<ActionRecord>>;

    /// Records an executing action's result: succeeded or failed. When a rollback succeeds, the
    /// action it undoes becomes rolled back in the same transaction. `None` when the action was not
    /// executing.
    async fn finish_action(
        &self,
        id: &str,
        succeeded: bool,
        result: &serde_json::Value,
        now: Timestamp,
    ) -> Result<Option<ActionRecord>>;

    /// What the policy needs to decide a proposal: actions approved or past it (approved, executing,
    /// succeeded, rolled back) changed at or after `since`, plus the still-active ones (approved,
    /// executing, succeeded) of `incident` whatever their age (blast radius per incident). `at` is
    /// when it started executing, else when it was last changed; rolled back ones are `undone`.
    async fn policy_history(
        &self,
        since: Timestamp,
        incident: Option<&str>,
    ) -> Result<Vec<picket_policy::Executed>>;

    /// Approved actions waiting for the executor, oldest first.
    async fn approved_actions(&self, limit: u32) -> Result<Vec<ActionRecord>>;

    /// Pauses automated response (`Some(reason)`), or resumes it (`None`). The first reason stands
    /// while paused.
    async fn set_response_pause(&self, reason: Option<&str>, now: Timestamp) -> Result<()>;

    /// Why and since when automated response is paused.
    async fn response_pause(&self) -> Result<Option<(String, Timestamp)>>;

    /// Records that a playbook version runs on an incident. `false` when it already did (the caller
    /// must not run it again).
    async fn claim_playbook_run(
        &self,
        incident_id: &str,
        playbook: &str,
        version: &str,
        sha256: &str,
        now: Timestamp,
    ) -> Result<bool>;

    /// Records lifecycle events; an event an incident already has is left as it was (the first
    /// occurrence stands).
    async fn record_incident_events(&self, events: &[IncidentEvent]) -> Result<()>;

    /// One incident's lifecycle events, in time order.
    async fn incident_events(&self, incident_id: &str) -> Result<Vec<IncidentEvent>>;

    /// The lifecycle events of incidents active within [since, until] (first seen at or before
    /// `until`, last seen at or after `since`), with those incidents.
    async fn lifecycle(&self, since: Timestamp, until: Timestamp)
    -> Result<Vec<IncidentLifecycle>>;

    /// Stores one LLM investigation.
    async fn insert_investigation(&self, record: &InvestigationRecord) -> Result<()>;

    /// An incident's investigations, oldest first.
    async fn investigations(&self, incident_id: &str) -> Result<Vec<InvestigationRecord>>;

    /// Caches a threat-intel answer until `expires_at` (replacing the previous one for the same
    /// source and indicator).
    async fn put_intel_result(
        &self,
        result: &picket_core::IntelResult,
        expires_at: Timestamp,
    ) -> Result<()>;

    /// Unexpired cached answers for these (source, kind, value) keys.
    async fn intel_results(
        &self,
        keys: &[(String, picket_core::ObservableType, String)],
        now: Timestamp,
    ) -> Result<Vec<(picket_core::IntelResult, Timestamp)>>;
}
