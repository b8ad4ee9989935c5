//! LLM investigations of an incident: list them, or ask for one.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use picket_agent::Mode;
use picket_core::ErrorCode;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Every investigation of the incident, oldest first: mode, status (`completed`, or `degraded`
/// and why), findings, artifacts, votes, the model's and the standing verdict, injection flags,
/// tool calls, proposals, tokens and cost.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/investigations",
    tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = Vec<Object>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    caller.require(Permission::Read)?;
    if state.store().get_incident(&id).await?.is_none() {
        return Err(ApiError::not_found("incident", &id));
    }
    let records = state.store().investigations(&id).await?;
    Ok(Json(
        records
            .into_iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "started_at": r.started_at, "finished_at": r.finished_at,
                    "investigation": r.doc,
                })
            })
            .collect(),
    ))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvestigateBody {
    /// `pipeline`, `parallel`, `supervisor_worker`, `blackboard` or `consensus`; default: the
    /// playbook's, the first matching `[[agent.routes]]`, else `[agent] mode`.
    #[serde(default)]
    mode: Option<String>,
    /// Answer with the finished investigation instead of queueing it (bounded by
    /// `[agent] deadline_secs`).
    #[serde(default)]
    wait: bool,
}

/// Asks the LLM agent to investigate the incident. Queued (202) unless `wait` is set (200 with the
/// investigation). Needs the agent enabled (`[agent]`, `[[llm]]`).
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/investigate",
    tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    request_body = InvestigateBody,
    responses((status = 200, body = Object), (status = 202, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn investigate(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<InvestigateBody>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    caller.require(Permission::Investigate)?;
    let Json(b) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mode = match b.mode.as_deref() {
        None => None,
        Some(m) => Some(Mode::parse(m).ok_or_else(|| {
            ApiError::bad_request(format!(
                "mode `{m}` is not one of: {}",
                Mode::ALL.map(Mode::as_str).join(", ")
            ))
        })?),
    };
    let Some(agent) = state.agent() else {
        return Err(ApiError::new(
            ErrorCode::Conflict,
            "the agent is not enabled: set `[agent] enabled = true` with an `[[llm]]` provider",
        ));
    };
    if state.store().get_incident(&id).await?.is_none() {
        return Err(ApiError::not_found("incident", &id));
    }
    let job = crate::agent::Job {
        incident: id.clone(),
        mode,
        requested_by: format!("token:{}", caller.name),
    };
    if b.wait {
        let inv = agent
            .investigate(&job)
            .await?
            .ok_or_else(|| ApiError::not_found("incident", &id))?;
        return Ok((StatusCode::OK, Json(serde_json::json!(inv))));
    }
    agent
        .request(job)
        .map_err(|m| ApiError::new(ErrorCode::QueueFull, m))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({"queued": true, "incident": id})),
    ))
}
