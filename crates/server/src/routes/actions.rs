//! Response actions: proposed through the API, decided by the policy, approved by humans.
//!
//! Approved actions are run by the executor (`response/executor.rs`) at the configured responders; a
//! succeeded action with an undo can be rolled back, which proposes its undo through the same policy.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use picket_core::ErrorCode;
use picket_policy::{Proposal, Proposer};
use picket_store::{ActionRecord, ActionState, ApprovalRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProposeBody {
    /// A catalog action (`block_ip`, `isolate_host`, …; docs/policy.md).
    action: String,
    /// The IP, host or user acted on.
    #[serde(default)]
    target: String,
    /// Parameters passed to the responder (`reason`, `message`, `responder` to pick an instance…).
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
    /// What a reviewer weighs: the incident's verdict, priority, confidence note and evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    incident: Option<serde_json::Value>,
}

/// The incident context shown with an action under review.
async fn incident_context(
    state: &AppState,
    a: &ActionRecord,
) -> Result<Option<serde_json::Value>, ApiError> {
    let Some(id) = &a.proposal.incident else {
        return Ok(None);
    };
    Ok(state.store().get_incident(id).await?.map(|i| {
        serde_json::json!({
            "id": i.id, "title": i.title, "verdict": i.verdict, "priority": i.priority,
            "confidence": i.confidence, "confidence_note": i.confidence_note,
            "escalation": i.escalation, "scope": i.scope, "evidence": i.evidence,
        })
    }))
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
    let proposal = Proposal {
        action: b.action,
        target: b.target,
        params: b.params,
        incident: b.incident,
        proposer: Proposer::Api,
        requester: caller.name.clone(),
        protected: false,
        min_approvals: 0,
        asset_class: None,
        out_of_scope: false,
    };
    let record = state.response().propose(proposal, None).await?;
    Ok((
        StatusCode::CREATED,
        Json(ActionView {
            // The incident context is for reviewers (GET); the proposer has it already.
            incident: None,
            action: record,
            approvals: Vec::new(),
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct ListQuery {
    /// awaiting_approval (the review queue), approved, executing, succeeded, failed, rolled_back,
    /// rejected, denied.
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
                "state `{s}` is not one of awaiting_approval, approved, executing, succeeded, failed, rolled_back, rejected, denied"
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
    Ok(Json(ActionView {
        incident: incident_context(&state, &action).await?,
        action,
        approvals,
    }))
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
    if action.state == ActionState::Approved {
        state.response().wake.notify_one();
    }
    Ok(Json(ActionView {
        incident: incident_context(&state, &action).await?,
        action,
        approvals,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RollbackBody {
    /// Why (kept with the undo action).
    reason: String,
}

/// Rolls back a succeeded action: proposes its recorded undo (same target and parameters, same
/// responder) through the policy like any other action. The original becomes `rolled_back` when the
/// undo succeeds.
#[utoipa::path(
    post,
    path = "/api/v1/actions/{id}/rollback",
    tag = "actions",
    params(("id" = String, Path, description = "Action id")),
    request_body = RollbackBody,
    responses(
        (status = 201, description = "The undo action with the policy's decision", body = ActionView),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Not succeeded, already rolled back, or irreversible", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn rollback(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<RollbackBody>, JsonRejection>,
) -> Result<(StatusCode, Json<ActionView>), ApiError> {
    caller.require(Permission::ProposeAction)?;
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if b.reason.trim().is_empty() {
        return Err(ApiError::bad_request("a reason is required"));
    }
    let (action, _) = state
        .store()
        .get_action(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("action", &id))?;
    if action.state != ActionState::Succeeded {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "the action is {}; only a succeeded action can be rolled back",
                action.state.as_str()
            ),
        ));
    }
    let Some(undo) = action.execution.undo.clone() else {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "`{}` recorded no undo: it cannot be rolled back",
                action.proposal.action
            ),
        ));
    };
    let pending = state.store().list_actions(None, 10_000).await?;
    if let Some(other) = pending.iter().find(|a| {
        a.execution.undoes.as_deref() == Some(id.as_str())
            && matches!(
                a.state,
                ActionState::AwaitingApproval | ActionState::Approved | ActionState::Executing
            )
    }) {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "a rollback of this action is already under way: {}",
                other.id
            ),
        ));
    }
    let mut params = undo.params;
    if let Some(obj) = params.as_object_mut() {
        if let Some(r) = &undo.responder {
            obj.insert("responder".into(), serde_json::json!(r));
        }
        obj.insert("reason".into(), serde_json::json!(b.reason));
    }
    let proposal = Proposal {
        action: undo.action,
        target: undo.target,
        params,
        incident: action.proposal.incident.clone(),
        proposer: Proposer::Analyst,
        requester: caller.name.clone(),
        protected: false,
        min_approvals: 0,
        asset_class: None,
        out_of_scope: false,
    };
    let record = state.response().propose(proposal, Some(id)).await?;
    Ok((
        StatusCode::CREATED,
        Json(ActionView {
            // The incident context is for reviewers (GET); the proposer has it already.
            incident: None,
            action: record,
            approvals: Vec::new(),
        }),
    ))
}

/// Whether automated response runs or is paused, and why.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ResponseStatus {
    paused: bool,
    reason: Option<String>,
    #[schema(value_type = Option<String>)]
    since: Option<Timestamp>,
}

async fn status_of(state: &AppState) -> Result<ResponseStatus, ApiError> {
    let p = state.store().response_pause().await?;
    Ok(ResponseStatus {
        paused: p.is_some(),
        reason: p.as_ref().map(|(r, _)| r.clone()),
        since: p.map(|(_, t)| t),
    })
}

/// Automated response: running or paused (the breaker tripped, an alert flood), and why.
#[utoipa::path(
    get,
    path = "/api/v1/response",
    tag = "actions",
    responses((status = 200, body = ResponseStatus), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn response_status(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ResponseStatus>, ApiError> {
    caller.require(Permission::Read)?;
    Ok(Json(status_of(&state).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PauseBody {
    /// `true` pauses automated response, `false` resumes it.
    paused: bool,
    reason: String,
}

/// Pauses or resumes automated response (approvers and admins). Pausing pages on-call; resuming is
/// always a human's decision, also after the breaker or the flood guard paused it.
#[utoipa::path(
    post,
    path = "/api/v1/response",
    tag = "actions",
    request_body = PauseBody,
    responses((status = 200, body = ResponseStatus), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn set_response(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<PauseBody>, JsonRejection>,
) -> Result<Json<ResponseStatus>, ApiError> {
    caller.require(Permission::ManageResponse)?;
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if b.reason.trim().is_empty() {
        return Err(ApiError::bad_request("a reason is required"));
    }
    if b.paused {
        state
            .response()
            .pause(&format!("paused by {}: {}", caller.name, b.reason), None)
            .await?;
    } else {
        state.response().resume(&caller.name, &b.reason).await?;
    }
    Ok(Json(status_of(&state).await?))
}
