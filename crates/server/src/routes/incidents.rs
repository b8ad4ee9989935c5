//! Incidents: list with filters, one with its analyst verdicts, and recording a verdict (which becomes
//! feedback for later assessments of the same rules).

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use picket_core::{ErrorCode, IncidentStatus, Priority, Verdict};
use picket_store::{IncidentFilter, VerdictRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Largest page of incidents.
const MAX_LIMIT: u32 = 1000;
const MAX_NOTE_CHARS: usize = 4000;

/// Query parameters, read as text and validated together so that every bad value is reported.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// `open` or `closed`.
    status: Option<String>,
    /// `malicious`, `suspicious`, `benign` or `needs_review`.
    verdict: Option<String>,
    /// `P1` … `P4`.
    priority: Option<String>,
    /// RFC 3339 time: incidents active at or after it.
    since: Option<String>,
    /// RFC 3339 time: incidents that began at or before it.
    until: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<String>,
    /// Incidents to skip (default 0).
    offset: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> Result<IncidentFilter, ApiError> {
        let mut problems: Vec<Value> = Vec::new();
        let mut bad = |field: &str, message: String| {
            problems.push(json!({ "field": field, "message": message }));
        };
        let mut f = IncidentFilter::default();
        if let Some(s) = &self.status {
            match s.as_str() {
                "open" => f.status = Some(IncidentStatus::Open),
                "closed" => f.status = Some(IncidentStatus::Closed),
                _ => bad("status", format!("`{s}` is not open or closed")),
            }
        }
        if let Some(s) = &self.verdict {
            match Verdict::parse(s) {
                Some(v) => f.verdict = Some(v),
                None => bad(
                    "verdict",
                    format!("`{s}` is not malicious, suspicious, benign or needs_review"),
                ),
            }
        }
        if let Some(s) = &self.priority {
            match Priority::parse(s) {
                Some(p) => f.priority = Some(p),
                None => bad("priority", format!("`{s}` is not P1, P2, P3 or P4")),
            }
        }
        for (field, value, slot) in [
            ("since", &self.since, &mut f.since),
            ("until", &self.until, &mut f.until),
        ] {
            if let Some(s) = value {
                match s.parse::<Timestamp>() {
                    Ok(t) => *slot = Some(t),
                    Err(_) => bad(field, format!("`{s}` is not an RFC 3339 time")),
                }
            }
        }
        if let Some(s) = &self.limit {
            match s.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => f.limit = n,
                _ => bad(
                    "limit",
                    format!("`{s}` is not a number from 1 to {MAX_LIMIT}"),
                ),
            }
        }
        if let Some(s) = &self.offset {
            match s.parse::<u32>() {
                Ok(n) => f.offset = n,
                Err(_) => bad("offset", format!("`{s}` is not a non-negative number")),
            }
        }
        if let (Some(a), Some(b)) = (f.since, f.until)
            && a > b
        {
            bad("since", "`since` is after `until`".to_owned());
        }
        if problems.is_empty() {
            Ok(f)
        } else {
            Err(ApiError::bad_request("invalid query parameters").with_details(json!(problems)))
        }
    }
}

/// A page of incidents, latest activity first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IncidentPage {
    /// Incident lines (see docs/schema/incident.schema.json).
    #[schema(value_type = Vec<Object>)]
    incidents: Vec<Value>,
    limit: u32,
    offset: u32,
}

/// List incidents.
#[utoipa::path(
    get,
    path = "/api/v1/incidents",
    tag = "incidents",
    params(ListQuery),
    responses((status = 200, body = IncidentPage), (status = 400, description = "Invalid filter (every problem in `details`)", body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<IncidentPage>, ApiError> {
    caller.require(Permission::Read)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let filter = query.filter()?;
    let incidents = state.store().list_incidents(&filter).await?;
    Ok(Json(IncidentPage {
        incidents: incidents.iter().map(to_value).collect::<Result<_, _>>()?,
        limit: filter.limit,
        offset: filter.offset,
    }))
}

fn to_value<T: Serialize>(v: &T) -> Result<Value, ApiError> {
    serde_json::to_value(v).map_err(|_| ApiError::new(ErrorCode::Internal, "cannot encode"))
}

/// An analyst's verdict.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerdictView {
    verdict: String,
    analyst: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    /// RFC 3339.
    at: String,
}

impl From<VerdictRecord> for VerdictView {
    fn from(v: VerdictRecord) -> Self {
        Self {
            verdict: v.verdict.as_str().to_owned(),
            analyst: v.analyst,
            note: v.note,
            at: v.at.to_string(),
        }
    }
}

/// One incident and what analysts said about it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IncidentView {
    /// The incident line (see docs/schema/incident.schema.json).
    #[schema(value_type = Object)]
    incident: Value,
    /// Analyst verdicts, oldest first.
    verdicts: Vec<VerdictView>,
    /// The latest LLM investigation, summarized (`GET …/investigations` has it whole): its status
    /// (`completed`, or `degraded` and why: then the engine's result stands alone), the model's
    /// verdict and the one that stands, why it went to a human, injection flags. The incident's
    /// own verdict is the engine's; a model never changes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    agent: Option<Value>,
}

/// One incident.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}",
    tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    responses((status = 200, body = IncidentView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<IncidentView>, ApiError> {
    caller.require(Permission::Read)?;
    let incident = state
        .store()
        .get_incident(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("incident", &id))?;
    let verdicts = state.store().list_verdicts(&id).await?;
    let agent = state.store().investigations(&id).await?.pop().map(|r| {
        let d = &r.doc;
        serde_json::json!({
            "investigation": r.id, "mode": r.mode, "provider": r.provider,
            "status": r.status, "degraded": d.get("degraded"),
            "finished_at": r.finished_at, "engine_verdict": d.get("engine_verdict"),
            "model_verdict": d.get("model_verdict"), "verdict": r.verdict,
            "review_reason": d.get("review_reason"), "injection": d.get("injection"),
            "cost": r.cost,
        })
    });
    Ok(Json(IncidentView {
        incident: to_value(&incident)?,
        verdicts: verdicts.into_iter().map(Into::into).collect(),
        agent,
    }))
}

/// An analyst's conclusion about an incident.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerdictRequest {
    /// `malicious`, `suspicious`, `benign` or `needs_review`.
    verdict: String,
    /// Why (up to 4000 characters).
    #[serde(default)]
    note: Option<String>,
    /// When the attack began, if the analyst knows it (RFC 3339): feeds the time-to-detect metric.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    attack_started_at: Option<Timestamp>,
}

/// Record a verdict.
///
/// The analyst is the token's name. The verdict is stored and becomes feedback on the rules of the
/// incident's alerts: later incidents from those rules are assessed with it.
#[utoipa::path(
    post,
    path = "/api/v1/incidents/{id}/verdict",
    tag = "incidents",
    params(("id" = String, Path, description = "Incident id")),
    request_body = VerdictRequest,
    responses((status = 201, body = VerdictView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn record_verdict(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<VerdictRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<VerdictView>), ApiError> {
    caller.require(Permission::RecordVerdict)?;
    let Json(req) = body.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let verdict = Verdict::parse(&req.verdict).ok_or_else(|| {
        ApiError::bad_request(format!(
            "`{}` is not malicious, suspicious, benign or needs_review",
            req.verdict
        ))
    })?;
    if req
        .note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
    {
        return Err(ApiError::bad_request(format!(
            "the note is longer than {MAX_NOTE_CHARS} characters"
        )));
    }
    // An override: the analyst overturns a verdict the engine reached on its own (a needs_review
    // verdict asked for the human, so answering it is not an override).
    let engine_verdict = state.store().get_incident(&id).await?.map(|i| i.verdict);
    let now = Timestamp::now();
    let record = VerdictRecord {
        incident_id: id.clone(),
        engine_verdict,
        verdict,
        analyst: caller.name.clone(),
        note: req.note,
        at: now,
    };
    let overrides = engine_verdict.is_some_and(|e| e != Verdict::NeedsReview && e != verdict);
    state.store().record_verdict(&record).await?;
    // Lifecycle: a human acknowledged it and, with a verdict, resolved it; an attack start the
    // analyst knows gives the time to detect.
    let ev = |event, at| picket_store::IncidentEvent {
        incident_id: id.clone(),
        event,
        at,
        actor: format!("token:{}", caller.name),
    };
    let mut events = vec![
        ev(picket_store::LifecycleEvent::Acknowledged, now),
        ev(picket_store::LifecycleEvent::Resolved, now),
    ];
    if let Some(t) = req.attack_started_at {
        events.push(ev(picket_store::LifecycleEvent::AttackStarted, t));
    }
    state.store().record_incident_events(&events).await?;
    state.metrics().verdict(overrides);
    if let Some(a) = state.auditor() {
        a.record(
            picket_audit::AuditKind::Feedback,
            &format!("token:{}", caller.name),
            &format!("incident:{id}"),
            serde_json::json!({
                "verdict": verdict.as_str(), "note": record.note,
                "engine_verdict": engine_verdict.map(|v| v.as_str()), "override": overrides,
            }),
        );
    }
    let rules = state.store().incident_rule_keys(&id).await?;
    {
        let mut engine = state.engine()?;
        let feedback = &mut engine.knowledge_mut().feedback;
        for rule in &rules {
            feedback.record(rule, &id, verdict);
        }
    }
    tracing::info!(incident = %id, analyst = %caller.name, verdict = verdict.as_str(), "verdict recorded");
    Ok((StatusCode::CREATED, Json(record.into())))
}
