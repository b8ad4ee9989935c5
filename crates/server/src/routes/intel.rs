//! Threat-intel lookups through the configured connectors.

use axum::Json;
use axum::extract::{Path, State};
use picket_core::{ErrorCode, IndicatorEnrichment, ObservableType};

use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Looks one indicator up with every connector that takes its type (cache first, under the
/// enrichment deadline). Analysts only: online lookups spend the providers' quotas.
#[utoipa::path(
    get,
    path = "/api/v1/intel/{type}/{value}",
    tag = "intel",
    params(
        ("type" = String, Path, description = "ipv4, ipv6, domain, url, email, md5, sha1, sha256, sha512, cve"),
        ("value" = String, Path, description = "The indicator (URL-encoded)"),
    ),
    responses(
        (status = 200, description = "Combined verdict, each source's answer and each failure", body = Object),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No connectors are configured", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn lookup(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, value)): Path<(String, String)>,
) -> Result<Json<IndicatorEnrichment>, ApiError> {
    caller.require(Permission::RecordVerdict)?;
    let kind = ObservableType::ALL
        .into_iter()
        .find(|k| k.as_str() == kind)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "unknown indicator type `{kind}`, expected one of: ipv4, ipv6, domain, url, email, md5, sha1, sha256, sha512, cve"
            ))
        })?;
    let value = value.trim();
    if value.is_empty() || value.len() > 2048 {
        return Err(ApiError::bad_request("the value must be 1 to 2048 bytes"));
    }
    let value = if kind.is_hash() || kind == ObservableType::Domain {
        value.to_ascii_lowercase()
    } else {
        value.to_owned()
    };
    let Some(enricher) = state.enricher() else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "no threat-intel connectors are configured ([[connectors]] in picket.toml)",
        ));
    };
    Ok(Json(enricher.lookup_one(kind, &value).await))
}

/// The enrichment artifact of one stored alert: its indicators looked up with every connector (the
/// worker has usually asked already, so answers come from the cache). Analysts only.
#[utoipa::path(
    get,
    path = "/api/v1/alerts/{id}/enrichment",
    tag = "intel",
    params(("id" = String, Path, description = "Alert id")),
    responses(
        (status = 200, description = "AlertEnrichment: per-indicator verdicts, each source's answer and failure, a summary", body = Object),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, description = "No such alert, or no connectors configured", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn alert_enrichment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<picket_core::AlertEnrichment>, ApiError> {
    caller.require(Permission::RecordVerdict)?;
    let stored = state
        .store()
        .get_alert(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("alert", &id))?;
    let Some(enricher) = state.enricher() else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "no threat-intel connectors are configured ([[connectors]] in picket.toml)",
        ));
    };
    Ok(Json(
        enricher
            .enrich(&format!("alert:{id}"), &stored.alert.observables)
            .await,
    ))
}
