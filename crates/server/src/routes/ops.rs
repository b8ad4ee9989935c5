//! Operations: `/healthz`, `/metrics`, `/api/v1/openapi.json`. No token needed: probes and scrapers
//! run without one, and none of these reveal alert or incident content.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::error::{ApiError, ErrorBody};
use crate::openapi::ApiDoc;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok`
    status: &'static str,
}

/// Liveness and store reachability.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, body = Health), (status = 503, description = "The store does not answer", body = ErrorBody))
)]
pub(crate) async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.store().ping().await?;
    Ok(Json(Health { status: "ok" }))
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "OpenMetrics text", content_type = "application/openmetrics-text", body = String), (status = 503, body = ErrorBody))
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let stats = state.store().stats().await?;
    if let Some(e) = state.enricher() {
        state.metrics().sync_intel(e);
    }
    if state.metrics().soc_due() {
        let until = jiff::Timestamp::now();
        let since = picket_metrics::default_since(until);
        let life = state.store().lifecycle(since, until).await?;
        let m = picket_metrics::compute(
            &life,
            &picket_metrics::Filter::default(),
            state.soc_settings(),
            since,
            until,
        );
        state.metrics().set_soc(&m);
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics().render(&stats),
    ))
}

/// This API's OpenAPI document.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object))
)]
pub(crate) async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
