//! Incident export for sharing: a stored incident as a STIX 2.1 bundle or a MISP event, built from the
//! incident and its stored alerts (docs/export.md).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use picket_core::{Alert, Incident};
use picket_export::ExportOptions;
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::IntoParams;

use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Alerts read per exported incident; a larger incident is exported with its first ones.
const MAX_ALERTS: usize = 1_000;

/// How the export is labelled and marked.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExportQuery {
    /// Traffic Light Protocol marking: `clear` (or `white`), `green`, `amber`, `amber+strict`, `red`.
    tlp: Option<String>,
    /// TLP standard of the STIX marking definitions: `2` (default) or `1`.
    tlp_version: Option<String>,
    /// The producing organisation's name (default `Picket`).
    producer: Option<String>,
}

impl ExportQuery {
    fn options(&self) -> Result<ExportOptions, ApiError> {
        ExportOptions::parse(
            self.producer.as_deref(),
            self.tlp.as_deref(),
            self.tlp_version.as_deref(),
        )
        .map_err(|e| {
            ApiError::bad_request("invalid export options")
                .with_details(json!([{ "message": e.to_string() }]))
        })
    }
}

async fn load(
    state: &AppState,
    caller: &Caller,
    id: &str,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<(Incident, Vec<Alert>, ExportOptions), ApiError> {
    caller.require(Permission::Read)?;
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let options = query.options()?;
    let incident = state
        .store()
        .get_incident(id)
        .await?
        .ok_or_else(|| ApiError::not_found("incident", id))?;
    let mut alerts = Vec::new();
    for r in incident.alerts.iter().take(MAX_ALERTS) {
        if let Some(stored) = state.store().get_alert(&r.id).await? {
            alerts.push(stored.alert);
        }
    }
    Ok((incident, alerts, options))
}

/// One incident as a STIX 2.1 bundle.
///
/// Identity, indicators (for indicators on no known-benign list and not non-public addresses),
/// observed data, sightings, ATT&CK attack patterns, relationships and a report. Ids are derived from
/// the incident: exporting it again gives the same bundle.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/stix",
    tag = "incidents",
    params(("id" = String, Path, description = "Incident id"), ExportQuery),
    responses((status = 200, description = "STIX 2.1 bundle", body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn stix(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let (incident, alerts, options) = load(&state, &caller, &id, query).await?;
    Ok(Json(picket_export::stix_bundle(
        &incident, &alerts, &options,
    )))
}

/// One incident as a MISP event (MISP core format).
///
/// One attribute per indicator (`to_ids` false for known-benign and non-public ones), users and
/// hosts as targeting data, tags for TLP and ATT&CK techniques.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/misp",
    tag = "incidents",
    params(("id" = String, Path, description = "Incident id"), ExportQuery),
    responses((status = 200, description = "MISP event: `{\"Event\": {…}}`", body = Object), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn misp(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let (incident, alerts, options) = load(&state, &caller, &id, query).await?;
    Ok(Json(picket_export::misp_event(
        &incident, &alerts, &options,
    )))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub(crate) struct ReportQuery {
    /// `markdown` (default) or `html`.
    format: Option<String>,
}

/// The incident report draft: summary, scope, timeline, ATT&CK mapping, evidence, indicators,
/// actions taken, recommendations — built from the stored record, in Markdown or HTML.
#[utoipa::path(
    get,
    path = "/api/v1/incidents/{id}/report",
    tag = "incidents",
    params(("id" = String, Path, description = "Incident id"), ReportQuery),
    responses(
        (status = 200, description = "text/markdown or text/html", body = String),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    caller.require(Permission::Read)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let (format, ct) = match q.format.as_deref() {
        None | Some("markdown") | Some("md") => (
            crate::ReportFormat::Markdown,
            "text/markdown; charset=utf-8",
        ),
        Some("html") => (crate::ReportFormat::Html, "text/html; charset=utf-8"),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format `{other}` is not markdown or html"
            )));
        }
    };
    let text = crate::incident_report(state.store(), &id, format)
        .await?
        .ok_or_else(|| ApiError::not_found("incident", &id))?;
    Ok(([(axum::http::header::CONTENT_TYPE, ct)], text).into_response())
}
