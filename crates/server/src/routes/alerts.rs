//! `POST /api/v1/alerts` (ingest) and `GET /api/v1/alerts/{id}` (one stored alert).
//!
//! Ingest answers only after the accepted alerts are committed: a 200 or 207 means they survive a
//! crash. Each record gets its own result; rejected records are kept as dead letters with their bytes.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use picket_core::{Alert, ErrorCode};
use picket_ingest::{InputKind, RecordError, split};
use picket_store::{DeadLetter, InsertOutcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// The name rejected records carry as their source.
const SOURCE: &str = "request";

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct IngestQuery {
    /// A generic mapping from picket.toml (`[[mappings]]`); required for CSV.
    mapping: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RecordStatus {
    Accepted,
    Duplicate,
    Rejected,
}

/// The outcome for one record of the body.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecordResult {
    /// 0-based position of the record in the body.
    index: u64,
    /// 1-based line the record starts on.
    line: u64,
    status: RecordStatus,
    /// The alert id (accepted and duplicate records).
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    /// Why it was rejected: a code from the public table.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
}

/// Per-record report of an ingest request.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct IngestResponse {
    accepted: u64,
    duplicates: u64,
    rejected: u64,
    results: Vec<RecordResult>,
}

/// One record after normalizing: an alert (its id, position and line), or why it was rejected (the
/// error carries the rejected bytes).
enum Outcome {
    Alert { id: String, index: u64, line: u64 },
    Rejected(RecordError),
}

/// Send alerts.
///
/// The body is one JSON object, a JSON array, NDJSON (`application/x-ndjson`), or CSV (`text/csv`,
/// with `?mapping=NAME`). Answers 200 when every record was accepted or was a duplicate, 207 when some
/// were rejected and others not, and 422 when every record was rejected; the body is the per-record
/// report in all three cases. Rejected records are kept as dead letters.
#[utoipa::path(
    post,
    path = "/api/v1/alerts",
    tag = "alerts",
    params(IngestQuery),
    request_body(content = String, description = "JSON object, JSON array, NDJSON or CSV", content_type = "application/json"),
    responses(
        (status = 200, description = "Every record accepted or already stored", body = IngestResponse),
        (status = 207, description = "Some records rejected (kept as dead letters)", body = IngestResponse),
        (status = 422, description = "Every record rejected", body = IngestResponse),
        (status = 400, description = "Empty body, unknown mapping, or CSV without a mapping", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, description = "Body over `max_body_bytes`", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 429, description = "Ingest queue full; honour Retry-After", body = ErrorBody),
        (status = 503, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn ingest(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<IngestQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Permission::IngestAlerts)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let kind = input_kind(&headers)?;
    if kind == InputKind::Csv && query.mapping.is_none() {
        return Err(ApiError::bad_request(
            "CSV needs a generic mapping: add ?mapping=NAME",
        ));
    }
    state.0.normalizers.get(query.mapping.as_deref())?;
    let limits = &state.0.limits;
    if state.store().count_pending().await? >= limits.queue_capacity {
        return Err(ApiError::queue_full(limits.retry_after_secs));
    }

    // Splitting and normalizing are CPU work: keep them off the async workers.
    let worker_state = state.clone();
    let (alerts, outcomes) = tokio::task::spawn_blocking(move || {
        let normalizers = &worker_state.0.normalizers;
        let (mut alerts, outcomes) =
            normalize_body(normalizers.get(query.mapping.as_deref())?, &body, kind);
        normalizers.annotate(&mut alerts);
        Ok::<_, ApiError>((alerts, outcomes))
    })
    .await
    .map_err(|_| ApiError::new(ErrorCode::Internal, "normalizing the body failed"))??;
    if outcomes.is_empty() {
        return Err(ApiError::bad_request("the body holds no records"));
    }
    let inserted = if alerts.is_empty() {
        Vec::new()
    } else {
        state.store().insert_alerts(&alerts).await?
    };
    let now = Timestamp::now();
    let letters: Vec<DeadLetter> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Rejected(e) => Some(dead_letter(e, now)),
            Outcome::Alert { .. } => None,
        })
        .collect();
    if !letters.is_empty() {
        state.store().insert_dead_letters(&letters).await?;
    }

    let mut report = IngestResponse {
        accepted: 0,
        duplicates: 0,
        rejected: 0,
        results: Vec::with_capacity(outcomes.len()),
    };
    let mut inserted_iter = inserted.iter();
    for o in outcomes {
        report.results.push(match o {
            Outcome::Alert { id, index, line } => {
                let status = match inserted_iter.next() {
                    Some(InsertOutcome::Duplicate) => {
                        report.duplicates += 1;
                        RecordStatus::Duplicate
                    }
                    _ => {
                        report.accepted += 1;
                        RecordStatus::Accepted
                    }
                };
                RecordResult {
                    index,
                    line,
                    status,
                    id: Some(id),
                    code: None,
                    message: None,
                }
            }
            Outcome::Rejected(e) => {
                report.rejected += 1;
                state.metrics().rejected(e.code.as_str());
                RecordResult {
                    index: e.location.index,
                    line: e.location.line,
                    status: RecordStatus::Rejected,
                    id: None,
                    code: Some(e.code.as_str().to_owned()),
                    message: Some(e.message),
                }
            }
        });
    }
    state.metrics().ingest(report.accepted, report.duplicates);
    if let Some(a) = state.auditor() {
        // The input versions every later decision refers to.
        let accepted: Vec<serde_json::Value> = alerts
            .iter()
            .zip(inserted.iter())
            .filter(|(_, o)| !matches!(o, InsertOutcome::Duplicate))
            .map(|(al, _)| serde_json::json!({"id": al.id, "format": al.format, "raw_sha256": al.raw_sha256}))
            .collect();
        a.record(
            picket_audit::AuditKind::Input,
            &format!("token:{}", caller.name),
            "alerts",
            serde_json::json!({"accepted": accepted, "duplicates": report.duplicates, "rejected": report.rejected}),
        );
    }
    if report.accepted > 0 {
        state.0.wake.notify_one();
        // Flood protection: an anomalous volume pauses automated response, never ingestion.
        let minute = jiff::Timestamp::now().as_second().div_euclid(60);
        if let Some(why) = state.flood().record(minute, report.accepted) {
            let resp = state.response().clone();
            tokio::spawn(async move {
                if let Err(e) = resp.pause(&why, None).await {
                    tracing::error!(error = %e, "pausing automated response failed");
                }
            });
        }
    }
    let status = if report.rejected == 0 {
        StatusCode::OK
    } else if report.accepted + report.duplicates > 0 {
        StatusCode::MULTI_STATUS
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, Json(report)).into_response())
}

fn input_kind(headers: &HeaderMap) -> Result<InputKind, ApiError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(InputKind::Auto);
    };
    let ct = ct.to_str().unwrap_or_default();
    let essence = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json"
        | "application/x-ndjson"
        | "application/ndjson"
        | "application/jsonl"
        | "application/x-jsonlines" => Ok(InputKind::Json),
        "text/csv" => Ok(InputKind::Csv),
        "text/plain" | "application/octet-stream" => Ok(InputKind::Auto),
        _ => Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            format!("content type `{essence}` is not JSON, NDJSON or CSV"),
        )),
    }
}

/// The alerts to store, and one outcome per record in body order.
fn normalize_body(
    normalizer: &picket_ingest::Normalizer,
    body: &[u8],
    kind: InputKind,
) -> (Vec<Alert>, Vec<Outcome>) {
    let records = split(body, kind, SOURCE);
    let mut alerts = Vec::with_capacity(records.len());
    let mut outcomes = Vec::with_capacity(records.len());
    for r in records {
        outcomes.push(match r {
            Ok(rec) => match normalizer.normalize(&rec) {
                Ok(a) => {
                    let o = Outcome::Alert {
                        id: a.id.clone(),
                        index: rec.location().index,
                        line: rec.location().line,
                    };
                    alerts.push(a);
                    o
                }
                Err(e) => Outcome::Rejected(e),
            },
            // The splitter keeps the bytes it could not cut into a record (the line, or the unread
            // rest of the body).
            Err(e) => Outcome::Rejected(e),
        });
    }
    (alerts, outcomes)
}

/// A stored alert: normalized, and the record exactly as received.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AlertView {
    /// `pending` until the triage worker has processed it, then `processed`.
    status: String,
    /// When Picket received it (RFC 3339).
    received_at: String,
    /// The canonical alert, without `raw` (see docs/schema/alert.schema.json).
    #[schema(value_type = Object)]
    normalized: Value,
    /// The original record, byte for byte.
    raw: String,
}

/// One stored alert.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}",
    tag = "alerts",
    params(("id" = String, Path, description = "Alert id")),
    responses((status = 200, body = AlertView), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn get_alert(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AlertView>, ApiError> {
    caller.require(Permission::Read)?;
    let stored = state
        .store()
        .get_alert(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("alert", &id))?;
    let mut alert = stored.alert;
    let raw = std::mem::take(&mut alert.raw);
    let normalized = serde_json::to_value(&alert)
        .map_err(|_| ApiError::new(ErrorCode::Internal, "cannot encode the alert"))?;
    Ok(Json(AlertView {
        status: stored.status.as_str().to_owned(),
        received_at: stored.received_at.to_string(),
        normalized,
        raw,
    }))
}

/// One stored alert as an OCSF 1.4.0 Detection Finding.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}/ocsf",
    tag = "alerts",
    params(("id" = String, Path, description = "Alert id")),
    responses((status = 200, description = "OCSF Detection Finding (class_uid 2004)", body = Object), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn get_alert_ocsf(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    caller.require(Permission::Read)?;
    let stored = state
        .store()
        .get_alert(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("alert", &id))?;
    Ok(Json(picket_ingest::ocsf_export::to_ocsf(&stored.alert)))
}

/// A rejected record as the store keeps it: where it was, why, and its bytes as received. The CLI's
/// `triage --data-dir` keeps its rejects the same way.
pub fn dead_letter(e: &RecordError, received_at: Timestamp) -> DeadLetter {
    DeadLetter {
        received_at,
        source: e.location.source.clone(),
        line: e.location.line,
        index: e.location.index,
        code: e.code.as_str().to_owned(),
        message: e.message.clone(),
        raw: e.raw.clone(),
    }
}
