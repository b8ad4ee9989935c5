//! Response actions: proposed through the API, decided by the policy, approved by humans.
//!
//! Nothing runs here yet (responders come later): an action ends `approved`, `awaiting_approval`,
//! `rejected` or `denied`. Approved actions count toward rate limits and blast radius already, so
//! the guardrails hold from the first proposal.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use picket_core::ErrorCode;
use picket_policy::{Executed, History, Outcome, Proposal, Proposer, evaluate};
use picket_store::{ActionRecord, ActionState, ApprovalRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// How far back approved actions count toward the policy's windows.
const HISTORY: u32 = 10_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProposeBody {
    /// A catalog action (`block_ip`, `isolate_host`, …; docs/policy.md).
    action: String,
    /// The IP, host or user acted on.
    #[serde(default)]
    target: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    params: serde_json::Value,
    #[serde(default)]
    incident: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActionView {
    #[schema(value_type = Object)]
    action: ActionRecord,
    #[schema(value_type = Vec<Object>)]
    approvals: Vec<ApprovalRecord>,
}

async fn history(state: &AppState) -> Result<History, ApiError> {
    let approved = state
        .store()
        .list_actions(Some(ActionState::Approved), HISTORY)
        .await?;
    Ok(History {
        executed: approved
            .iter()
            .map(|a| Executed {
                at: a.updated_at,
                action: a.proposal.action.clone(),
                target: a.proposal.target.clone(),
                incident: a.proposal.incident.clone(),
                automated: a.proposal.proposer.automated(),
                undone: false,
            })
            .collect(),
        paused: None,
    })
}

/// Proposes a response action. The policy decides at once: allowed (approved), awaiting approval
/// (with the approvals needed), or denied, with every reason.
#[utoipa::path(
    post,
    path = "/api/v1/actions",
    tag = "actions",
    request_body = ProposeBody,
    responses(
        (status = 201, description = "The action with the policy's decision", body = ActionView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn propose(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<ProposeBody>, JsonRejection>,
) -> Result<(StatusCode, Json<ActionView>), ApiError> {
    caller.require(Permission::ProposeAction)?;
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let protected = {
        let engine = state.engine()?;
        let inv = &engine.knowledge().inventory;
        inv.host(&b.target).is_some_and(|a| a.protected)
            || inv.user(&b.target).is_some_and(|a| a.protected)
    };
    let proposal = Proposal {
        action: b.action,
        target: b.target,
        params: b.params,
        incident: b.incident,
        proposer: Proposer::Api,
        requester: caller.name.clone(),
        protected,
    };
    let now = Timestamp::now();
    let decision = evaluate(state.policy(), &proposal, &history(&state).await?, now);
    let (st, needed) = match &decision.outcome {
        Outcome::Allow => (ActionState::Approved, 0),
        Outcome::NeedsApproval { approvals, .. } => (ActionState::AwaitingApproval, *approvals),
        Outcome::Deny { .. } => (ActionState::Denied, 0),
    };
    let id = picket_core::hash::stable_id(
        "act",
        &[
            decision.approval_hash.as_bytes(),
            caller.name.as_bytes(),
            now.to_string().as_bytes(),
        ],
    );
    let record = ActionRecord {
        id,
        created_at: now,
        updated_at: now,
        state: st,
        approvals_needed: needed,
        proposal,
        decision,
    };
    state.store().insert_action(&record).await?;
    if let Some(a) = state.auditor() {
        a.record(
            picket_audit::AuditKind::Action,
            &format!("token:{}", caller.name),
            &format!("action:{}", record.id),
            serde_json::json!({"event": "proposed", "proposal": record.proposal, "decision": record.decision, "state": st.as_str()}),
        );
    }
    Ok((
        StatusCode::CREATED,
        Json(ActionView {
            action: record,
            approvals: Vec::new(),
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    /// awaiting_approval (the review queue), approved, rejected, denied.
    state: Option<String>,
    #[param(default = 100)]
    limit: Option<u32>,
}

/// Actions, newest first; `state=awaiting_approval` is the review queue.
#[utoipa::path(
    get,
    path = "/api/v1/actions",
    tag = "actions",
    params(ListQuery),
    responses((status = 200, body = Vec<Object>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<ActionRecord>>, ApiError> {
    caller.require(Permission::Read)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let st = match q.state.as_deref() {
        None => None,
        Some(s) => Some(ActionState::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "state `{s}` is not awaiting_approval, approved, rejected or denied"
            ))
        })?),
    };
    Ok(Json(
        state
            .store()
            .list_actions(st, q.limit.unwrap_or(100).clamp(1, 1000))
            .await?,
    ))
}

/// One action: its exact parameters, the policy's decision and reasons, and its approvals.
#[utoipa::path(
    get,
    path = "/api/v1/actions/{id}",
    tag = "actions",
    params(("id" = String, Path, description = "Action id")),
    responses((status = 200, body = ActionView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ActionView>, ApiError> {
    caller.require(Permission::Read)?;
    let (action, approvals) = state
        .store()
        .get_action(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("action", &id))?;
    Ok(Json(ActionView { action, approvals }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApprovalBody {
    approve: bool,
    /// Why (kept with the approval).
    reason: String,
    /// The `decision.approval_hash` of the action as the approver saw it: an approval binds to the
    /// exact action and parameters.
    approval_hash: String,
}

/// Approves or rejects an action awaiting approval. Counts only distinct humans who are not the
/// requester; the action moves to approved once enough have approved, to rejected on any rejection.
#[utoipa::path(
    post,
    path = "/api/v1/actions/{id}/approval",
    tag = "actions",
    params(("id" = String, Path, description = "Action id")),
    request_body = ApprovalBody,
    responses(
        (status = 200, body = ActionView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Not an approver, or the requester approving their own action", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The action is not awaiting approval, or the hash does not match it", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn approve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<ApprovalBody>, JsonRejection>,
) -> Result<Json<ActionView>, ApiError> {
    caller.require(Permission::ApproveAction)?;
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if b.reason.trim().is_empty() {
        return Err(ApiError::bad_request("a reason is required"));
    }
    let (action, _) = state
        .store()
        .get_action(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("action", &id))?;
    if action.proposal.requester == caller.name {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "the requester cannot approve their own action",
        ));
    }
    if action.state != ActionState::AwaitingApproval {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "the action is {}, not awaiting approval",
                action.state.as_str()
            ),
        ));
    }
    if b.approval_hash != action.decision.approval_hash {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "approval_hash does not match this action's exact parameters",
        ));
    }
    let record = ApprovalRecord {
        user: caller.name.clone(),
        approve: b.approve,
        reason: Some(b.reason),
        approval_hash: b.approval_hash,
        at: Timestamp::now(),
    };
    let (action, approvals) = state
        .store()
        .approve_action(&id, &record)
        .await?
        .ok_or_else(|| ApiError::not_found("action", &id))?;
    if let Some(a) = state.auditor() {
        a.record(
            picket_audit::AuditKind::Approval,
            &format!("token:{}", caller.name),
            &format!("action:{id}"),
            serde_json::json!({"approve": record.approve, "reason": record.reason, "approval_hash": record.approval_hash, "state": action.state.as_str()}),
        );
    }
    Ok(Json(ActionView { action, approvals }))
}
