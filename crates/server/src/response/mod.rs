//! Response orchestration in the service: every proposal (API, playbook, agent, MCP) goes through
//! [`Response::propose`], which asks the policy with the history of what ran, stores the action and
//! wakes the [`executor`]. The breaker and the alert-flood guard pause automated response (never
//! ingestion) and page on-call; a human resumes it.

pub(crate) mod executor;
pub(crate) mod flood;
pub(crate) mod timeouts;

use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use picket_policy::{History, Outcome, Proposal, Proposer, evaluate};
use picket_respond::Responders;
use picket_store::{ActionRecord, ActionState, Execution, Store, StoreError};
use picket_triage::Engine;
use tokio::sync::Notify;

use crate::audit::Auditor;

/// The response side of the service, shared by the routes, the worker and the executor.
pub(crate) struct Response {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) policy: Arc<picket_policy::Policy>,
    pub(crate) responders: Responders,
    pub(crate) auditor: Option<Auditor>,
    pub(crate) engine: Arc<Mutex<Engine>>,
    /// Wakes the executor when an action becomes approved.
    pub(crate) wake: Notify,
    /// Limit on one action's run, all its vendor calls and retries included.
    pub(crate) action_timeout: std::time::Duration,
    /// Actions run at once by the executor.
    pub(crate) concurrency: usize,
    /// Playbooks run on incidents as the worker commits them.
    pub(crate) playbooks: Vec<picket_playbook::Playbook>,
    /// The pause as last read from or written to the store (`None`: not read yet). This process is
    /// the only writer, so the store is read once.
    pub(crate) pause_cache: Mutex<Option<Option<String>>>,
}

impl Response {
    pub(crate) fn audit(
        &self,
        kind: picket_audit::AuditKind,
        actor: &str,
        subject: &str,
        data: serde_json::Value,
    ) {
        if let Some(a) = &self.auditor {
            a.record(kind, actor, subject, data);
        }
    }

    /// Whether the target is a protected asset (host or user) in the inventory, and its asset class
    /// (criticality).
    pub(crate) fn asset(&self, target: &str) -> (bool, Option<String>) {
        let Ok(engine) = self.engine.lock() else {
            // A poisoned engine: treat every target as protected rather than guess.
            return (true, None);
        };
        let inv = &engine.knowledge().inventory;
        match inv.asset(target) {
            Some(a) => (a.protected, Some(a.criticality.as_str().to_owned())),
            None => (false, None),
        }
    }

    /// The longest window any rule of the policy looks back over.
    fn longest_window(&self) -> u64 {
        let p = &self.policy;
        p.rate_limits
            .iter()
            .map(|r| r.per_secs)
            .chain(p.blast_radius.iter().map(|b| b.window_secs))
            .chain([p.breaker.window_secs])
            .max()
            .unwrap_or(3600)
    }

    /// What ran, as the policy needs it for a proposal about `incident`, and whether automated
    /// response is paused: the actions within the policy's longest window, and the incident's active
    /// containment whatever its age.
    pub(crate) async fn history(&self, incident: Option<&str>) -> Result<History, StoreError> {
        let secs = i64::try_from(self.longest_window()).unwrap_or(i64::MAX);
        let since = Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_secs(secs))
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let executed = self.store.policy_history(since, incident).await?;
        let paused = self.paused().await?;
        Ok(History { executed, paused })
    }

    /// Why automated response is paused, if it is.
    pub(crate) async fn paused(&self) -> Result<Option<String>, StoreError> {
        if let Some(p) = self
            .pause_cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Ok(p);
        }
        let p = self.store.response_pause().await?.map(|(why, _)| why);
        *self.pause_cache.lock().unwrap_or_else(|e| e.into_inner()) = Some(p.clone());
        Ok(p)
    }

    /// Decides and stores one proposal; the executor runs it once it is approved.
    pub(crate) async fn propose(
        &self,
        mut proposal: Proposal,
        undoes: Option<String>,
    ) -> Result<ActionRecord, StoreError> {
        let (protected, class) = self.asset(&proposal.target);
        proposal.protected = proposal.protected || protected;
        if proposal.asset_class.is_none() {
            proposal.asset_class = class;
        }
        let now = Timestamp::now();
        let history = self.history(proposal.incident.as_deref()).await?;
        let decision = evaluate(&self.policy, &proposal, &history, now);
        let (state, needed) = match &decision.outcome {
            Outcome::Allow => (ActionState::Approved, 0),
            Outcome::NeedsApproval { approvals, .. } => (ActionState::AwaitingApproval, *approvals),
            Outcome::Deny { .. } => (ActionState::Denied, 0),
        };
        let id = picket_core::hash::stable_id(
            "act",
            &[
                decision.approval_hash.as_bytes(),
                proposal.requester.as_bytes(),
                now.to_string().as_bytes(),
            ],
        );
        let trip = decision.trip_breaker.clone();
        let record = ActionRecord {
            id,
            created_at: now,
            updated_at: now,
            state,
            approvals_needed: needed,
            proposal,
            decision,
            execution: Execution {
                undoes,
                ..Execution::default()
            },
        };
        self.store.insert_action(&record).await?;
        // Lifecycle: a human proposing a response on an incident has acknowledged it.
        if let (Some(inc), false) = (
            &record.proposal.incident,
            record.proposal.proposer.automated(),
        ) && record.proposal.requester != "picket"
        {
            self.store
                .record_incident_events(&[picket_store::IncidentEvent {
                    incident_id: inc.clone(),
                    event: picket_store::LifecycleEvent::Acknowledged,
                    at: now,
                    actor: actor(&record.proposal),
                }])
                .await?;
        }
        self.audit(
            picket_audit::AuditKind::Action,
            &actor(&record.proposal),
            &format!("action:{}", record.id),
            serde_json::json!({
                "event": "proposed", "proposal": record.proposal, "decision": record.decision,
                "state": state.as_str(), "undoes": record.execution.undoes,
            }),
        );
        if let Some(why) = trip {
            self.pause(&format!("escalation trigger: {why}"), Some(&record.id))
                .await?;
        }
        if state == ActionState::Approved {
            self.wake.notify_one();
        }
        Ok(record)
    }

    /// Runs every matching playbook on these incidents, once per (incident, playbook version): each
    /// proposal it makes goes through [`Response::propose`] like any other.
    pub(crate) async fn run_playbooks(
        &self,
        incidents: &[picket_core::Incident],
    ) -> Result<usize, StoreError> {
        let mut proposed = 0;
        for inc in incidents {
            for pb in &self.playbooks {
                match pb.matches(inc) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        tracing::warn!(playbook = %pb.name, incident = %inc.id, error = %e, "playbook trigger failed");
                        continue;
                    }
                }
                if !self
                    .store
                    .claim_playbook_run(
                        &inc.id,
                        &pb.name,
                        &pb.version,
                        &pb.sha256,
                        Timestamp::now(),
                    )
                    .await?
                {
                    continue;
                }
                let subject = format!("incident:{}", inc.id);
                let actor = format!("playbook:{}", pb.name);
                match pb.plan(inc) {
                    Ok(plan) => {
                        self.audit(
                            picket_audit::AuditKind::Decision,
                            &actor,
                            &subject,
                            serde_json::json!({
                                "event": "playbook_run", "playbook": pb.name, "version": pb.version,
                                "sha256": pb.sha256,
                                "steps": plan.iter().map(|s| serde_json::json!({"step": s.step, "kind": s.kind, "note": s.note})).collect::<Vec<_>>(),
                            }),
                        );
                        tracing::info!(playbook = %pb.name, incident = %inc.id, steps = plan.len(), "playbook ran");
                        for p in plan.into_iter().filter_map(|s| s.proposal) {
                            Box::pin(self.propose(p, None)).await?;
                            proposed += 1;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(playbook = %pb.name, incident = %inc.id, error = %e, "playbook failed on this incident");
                        self.audit(
                            picket_audit::AuditKind::Decision,
                            &actor,
                            &subject,
                            serde_json::json!({"event": "playbook_failed", "playbook": pb.name, "version": pb.version, "error": e.to_string()}),
                        );
                    }
                }
            }
        }
        Ok(proposed)
    }

    /// Runs playbooks on incidents active in the last day that they have not run on (a crash between
    /// the triage commit and the playbook run loses nothing).
    pub(crate) async fn rescan_playbooks(&self) -> Result<usize, StoreError> {
        if self.playbooks.is_empty() {
            return Ok(0);
        }
        let since = Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_hours(24))
            .unwrap_or(Timestamp::UNIX_EPOCH);
        let incidents = self
            .store
            .list_incidents(&picket_store::IncidentFilter {
                since: Some(since),
                limit: 10_000,
                ..Default::default()
            })
            .await?;
        self.run_playbooks(&incidents).await
    }

    /// Pauses automated response and pages on-call (once per pause).
    pub(crate) async fn pause(&self, reason: &str, cause: Option<&str>) -> Result<(), StoreError> {
        let already = self.store.response_pause().await?.is_some();
        self.store
            .set_response_pause(Some(reason), Timestamp::now())
            .await?;
        *self.pause_cache.lock().unwrap_or_else(|e| e.into_inner()) = None;
        if already {
            return Ok(());
        }
        tracing::warn!(reason, "automated response paused");
        self.audit(
            picket_audit::AuditKind::System,
            "picket",
            "response",
            serde_json::json!({"event": "paused", "reason": reason, "cause": cause}),
        );
        self.page(
            &format!("Picket paused automated response: {reason}"),
            "response-paused",
            None,
        )
        .await
    }

    /// Pages on-call through the `page_on_call` responder (a read-only notification the policy still
    /// evaluates); logs an error when none is configured.
    pub(crate) async fn page(
        &self,
        message: &str,
        dedup_key: &str,
        incident: Option<String>,
    ) -> Result<(), StoreError> {
        if self.responders.route("page_on_call", None).is_none() {
            tracing::error!(
                message,
                "no responder performs page_on_call: on-call was not paged"
            );
            return Ok(());
        }
        let page = Proposal {
            action: "page_on_call".into(),
            target: String::new(),
            params: serde_json::json!({ "message": message, "dedup_key": dedup_key }),
            incident,
            proposer: Proposer::Api,
            requester: "picket".into(),
            protected: false,
            min_approvals: 0,
            asset_class: None,
            out_of_scope: false,
        };
        Box::pin(self.propose(page, None)).await?;
        Ok(())
    }

    /// Resumes automated response (a human's decision).
    pub(crate) async fn resume(
        &self,
        by: &str,
        reason: &str,
    ) -> Result<Option<String>, StoreError> {
        let was = self.store.response_pause().await?;
        self.store
            .set_response_pause(None, Timestamp::now())
            .await?;
        *self.pause_cache.lock().unwrap_or_else(|e| e.into_inner()) = Some(None);
        if let Some((why, _)) = &was {
            self.audit(
                picket_audit::AuditKind::System,
                &format!("token:{by}"),
                "response",
                serde_json::json!({"event": "resumed", "reason": reason, "was_paused_for": why}),
            );
            self.wake.notify_one();
        }
        Ok(was.map(|(w, _)| w))
    }
}

/// Who proposed, as the audit trail names actors.
pub(crate) fn actor(p: &Proposal) -> String {
    match p.proposer {
        Proposer::Playbook => format!("playbook:{}", p.requester),
        Proposer::Agent => format!("agent:{}", p.requester),
        Proposer::Mcp => format!("mcp:{}", p.requester),
        Proposer::Analyst | Proposer::Api => format!("token:{}", p.requester),
    }
}
