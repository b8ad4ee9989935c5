//! The executor: runs approved actions at their responders (up to `[response] executor_concurrency`
//! at once), one state change committed before and one after each vendor call, so a crash at any point neither repeats an effect nor loses an action.
//!
//! - approved → executing is a compare-and-set in the store (`claim_action`) that also records the
//!   responder and the undo: an action is claimed once, and its undo is on disk before it runs.
//! - On start, actions left executing by a stopped process are resumed only when their responder
//!   declares the call idempotent (it sets a state, or carries an idempotency key the vendor honours);
//!   the others are marked failed with `interrupted`, outcome unknown, for a human; never sent twice.
//! - Approved actions not yet claimed simply wait in the store and run after the restart.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, stream};
use jiff::Timestamp;
use picket_policy::default_catalog;
use picket_respond::{ActionRequest, Configured};
use picket_store::{ActionRecord, ActionState, StoreError, UndoPlan};
use tokio::sync::watch;

use super::Response;

/// How often the executor looks for approved actions even without a wake-up.
const POLL: Duration = Duration::from_secs(2);

pub(crate) fn spawn(
    resp: Arc<Response>,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = recover(&resp).await {
            tracing::error!(error = %e, "recovering interrupted actions failed");
        }
        if let Err(e) = resp.rescan_playbooks().await {
            tracing::error!(error = %e, "running playbooks on recent incidents failed");
        }
        loop {
            if *stop.borrow() {
                break;
            }
            if let Err(e) = run_pending(&resp).await {
                tracing::error!(error = %e, "action executor failed; retrying");
            }
            tokio::select! {
                _ = resp.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => {}
            }
        }
    })
}

/// Actions a stopped process left executing: resumed when a repeat is harmless, else failed.
pub(crate) async fn recover(resp: &Response) -> Result<(), StoreError> {
    for a in resp
        .store
        .list_actions(Some(ActionState::Executing), 10_000)
        .await?
    {
        let routed = resp
            .responders
            .route(&a.proposal.action, a.execution.responder.as_deref());
        match routed {
            Some((c, def)) if def.idempotent => {
                let Some(a) = resp.store.resume_action(&a.id, Timestamp::now()).await? else {
                    continue;
                };
                resp.audit(
                    picket_audit::AuditKind::Action,
                    "picket",
                    &format!("action:{}", a.id),
                    serde_json::json!({"event": "resumed", "responder": c.name, "attempt": a.execution.attempts,
                        "why": "the process stopped during the vendor call; the call is idempotent"}),
                );
                let c = c.clone();
                execute(resp, &a, &c).await?;
            }
            _ => {
                let result = serde_json::json!({
                    "code": "interrupted",
                    "message": "the process stopped during the vendor call; the outcome is unknown and \
                                the call is not safe to repeat, so it was not sent again: check at the \
                                vendor, then propose it again if needed",
                });
                finish(resp, &a, false, result).await?;
            }
        }
    }
    Ok(())
}

/// Runs every approved action waiting, oldest first, in batches. While automated response is
/// paused, actions that no human approved stay approved and wait.
pub(crate) async fn run_pending(resp: &Response) -> Result<usize, StoreError> {
    const BATCH: u32 = 100;
    let mut ran = 0;
    loop {
        let paused = resp.paused().await?.is_some();
        let batch = resp.store.approved_actions(BATCH).await?;
        let full = batch.len() == BATCH as usize;
        let runnable: Vec<ActionRecord> = batch
            .into_iter()
            .filter(|a| !(paused && a.proposal.proposer.automated() && a.approvals_needed == 0))
            .collect();
        let ran_now = runnable.len();
        // Up to `concurrency` at once, started oldest first: a slow vendor does not hold the others
        // back. Each action is claimed once (compare-and-set) whatever runs beside it.
        let results: Vec<Result<(), StoreError>> = stream::iter(runnable)
            .map(|a| run_one(resp, a))
            .buffer_unordered(resp.concurrency.max(1))
            .collect()
            .await;
        for r in results {
            r?;
        }
        ran += ran_now;
        // Held actions fill the batch without running: stop rather than spin.
        if !full || ran_now == 0 {
            return Ok(ran);
        }
    }
}

async fn run_one(resp: &Response, a: ActionRecord) -> Result<(), StoreError> {
    let preferred = a.proposal.params.get("responder").and_then(|v| v.as_str());
    let Some((c, def)) = resp.responders.route(&a.proposal.action, preferred) else {
        let Some(a) = resp
            .store
            .claim_action(&a.id, "", None, Timestamp::now())
            .await?
        else {
            return Ok(());
        };
        let message = match preferred {
            Some(p) => format!(
                "no enabled responder named `{p}` performs `{}`",
                a.proposal.action
            ),
            None => format!("no enabled responder performs `{}`", a.proposal.action),
        };
        return finish(
            resp,
            &a,
            false,
            serde_json::json!({"code": "no_responder", "message": message}),
        )
        .await;
    };
    let catalog_undo = default_catalog()
        .into_iter()
        .find(|s| s.name == a.proposal.action)
        .and_then(|s| s.undo);
    let undo = def.undo.as_ref().map(|u| UndoPlan {
        action: u.clone(),
        target: a.proposal.target.clone(),
        params: a.proposal.params.clone(),
        responder: Some(c.name.clone()),
    });
    let c = c.clone();
    let Some(a) = resp
        .store
        .claim_action(&a.id, &c.name, undo.as_ref(), Timestamp::now())
        .await?
    else {
        return Ok(());
    };
    // Reversibility: an automated action runs only with its undo recorded.
    if undo.is_none()
        && catalog_undo.is_some()
        && a.proposal.proposer.automated()
        && a.approvals_needed == 0
    {
        let result = serde_json::json!({
            "code": "no_undo",
            "message": format!("responder `{}` cannot undo `{}`; an automated action runs only with its undo recorded", c.name, a.proposal.action),
        });
        return finish(resp, &a, false, result).await;
    }
    resp.audit(
        picket_audit::AuditKind::Action,
        "picket",
        &format!("action:{}", a.id),
        serde_json::json!({"event": "executing", "responder": c.name, "attempt": a.execution.attempts, "undo": undo}),
    );
    execute(resp, &a, &c).await
}

/// One responder call for a claimed action, and its result committed.
async fn execute(resp: &Response, a: &ActionRecord, c: &Configured) -> Result<(), StoreError> {
    let p = &a.proposal;
    let req = ActionRequest {
        action_id: a.id.clone(),
        action: p.action.clone(),
        target: p.target.clone(),
        params: p.params.clone(),
        incident: p.incident.clone(),
        summary: summary(a),
    };
    let started = std::time::Instant::now();
    let outcome = tokio::time::timeout(resp.action_timeout, c.responder.execute(&req)).await;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    let (ok, result) = match outcome {
        Ok(Ok(o)) => (
            true,
            serde_json::json!({"summary": o.summary, "details": o.details, "duration_ms": ms}),
        ),
        Ok(Err(e)) => (
            false,
            serde_json::json!({"code": e.code(), "message": e.to_string(), "duration_ms": ms}),
        ),
        Err(_) => (
            false,
            serde_json::json!({"code": "timeout", "message": format!("no answer within {:?}", resp.action_timeout), "duration_ms": ms}),
        ),
    };
    finish(resp, a, ok, result).await
}

async fn finish(
    resp: &Response,
    a: &ActionRecord,
    ok: bool,
    result: serde_json::Value,
) -> Result<(), StoreError> {
    let Some(done) = resp
        .store
        .finish_action(&a.id, ok, &result, Timestamp::now())
        .await?
    else {
        return Ok(());
    };
    if ok {
        tracing::info!(action = %done.id, kind = %done.proposal.action, target = %done.proposal.target, "action succeeded");
        // Lifecycle: the first containment that succeeds contains the incident.
        let containment = default_catalog()
            .iter()
            .any(|s| s.name == done.proposal.action && s.containment);
        if containment && let Some(inc) = &done.proposal.incident {
            resp.store
                .record_incident_events(&[picket_store::IncidentEvent {
                    incident_id: inc.clone(),
                    event: picket_store::LifecycleEvent::Contained,
                    at: done.execution.finished_at.unwrap_or_else(Timestamp::now),
                    actor: super::actor(&done.proposal),
                }])
                .await?;
        }
    } else {
        tracing::warn!(action = %done.id, kind = %done.proposal.action, target = %done.proposal.target, result = %result, "action failed");
    }
    resp.audit(
        picket_audit::AuditKind::Action,
        "picket",
        &format!("action:{}", done.id),
        serde_json::json!({
            "event": if ok { "succeeded" } else { "failed" },
            "responder": done.execution.responder, "attempts": done.execution.attempts,
            "result": result, "undoes": done.execution.undoes,
        }),
    );
    Ok(())
}

/// One line for the vendor and for notifications.
fn summary(a: &ActionRecord) -> String {
    let p = &a.proposal;
    let mut s = p.action.replace('_', " ");
    if !p.target.is_empty() {
        s.push(' ');
        s.push_str(&p.target);
    }
    if let Some(i) = &p.incident {
        s.push_str(&format!(" (Picket incident {i})"));
    }
    if let Some(r) = p.params.get("reason").and_then(|v| v.as_str()) {
        s.push_str(": ");
        s.push_str(r);
    }
    s.push_str(&format!(" [action {}]", a.id));
    s
}
