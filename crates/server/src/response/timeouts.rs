//! Approval timeouts: an action still awaiting approval past its tier's timeout gets its tier's
//! behaviour once — queued for review, kept blocked until approved, or escalated to on-call — and it is
//! recorded in the audit trail. A timeout never approves anything.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use picket_policy::{Outcome, TimeoutBehavior};
use picket_store::{Store, StoreError};

use crate::audit::Auditor;

/// How often the service looks for timed-out approvals.
pub(crate) const SWEEP_EVERY: Duration = Duration::from_secs(30);

/// Applies the timeout behaviour of every action whose approval timed out at `now`; returns them.
pub async fn sweep_action_timeouts(
    store: &dyn Store,
    auditor: Option<&Auditor>,
    now: Timestamp,
) -> Result<Vec<(String, TimeoutBehavior)>, StoreError> {
    let mut out = Vec::new();
    for a in store.take_timed_out_actions(now).await? {
        let Outcome::NeedsApproval { on_timeout, .. } = a.decision.outcome else {
            continue;
        };
        let what = match on_timeout {
            TimeoutBehavior::EscalateToOnCall => "escalated to on-call: still not approved",
            TimeoutBehavior::BlockUntilApproved => "timed out: stays blocked until approved",
            TimeoutBehavior::QueueForReview | TimeoutBehavior::AutoProceed => {
                "timed out: stays in the review queue"
            }
        };
        tracing::warn!(action = %a.id, kind = %a.proposal.action, target = %a.proposal.target, "{what}");
        if let Some(au) = auditor {
            au.record(
                picket_audit::AuditKind::Action,
                "picket",
                &format!("action:{}", a.id),
                serde_json::json!({"event": "approval_timeout", "on_timeout": on_timeout, "what": what}),
            );
        }
        out.push((a.id, on_timeout));
    }
    Ok(out)
}

/// Sweeps every [`SWEEP_EVERY`]; critical actions escalated on timeout page on-call.
pub(crate) fn spawn(resp: Arc<super::Response>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(SWEEP_EVERY).await;
            let swept =
                sweep_action_timeouts(resp.store.as_ref(), resp.auditor.as_ref(), Timestamp::now())
                    .await;
            let escalated = match swept {
                Ok(list) => list,
                Err(e) => {
                    tracing::error!(error = %e, "approval timeout sweep failed");
                    continue;
                }
            };
            for (id, behaviour) in escalated {
                if behaviour != TimeoutBehavior::EscalateToOnCall {
                    continue;
                }
                let incident = resp
                    .store
                    .get_action(&id)
                    .await
                    .ok()
                    .flatten()
                    .and_then(|(a, _)| a.proposal.incident);
                let message =
                    format!("Critical action {id} is still waiting for approval past its timeout");
                if let Err(e) = resp
                    .page(&message, &format!("timeout-{id}"), incident)
                    .await
                {
                    tracing::error!(error = %e, "paging on-call failed");
                }
            }
        }
    })
}
