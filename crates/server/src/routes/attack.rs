//! ATT&CK coverage over stored incidents.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use jiff::Timestamp;
use picket_store::{IncidentFilter, IncidentPages};
use picket_triage::coverage::CoverageRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// At most this many incidents (the most recent) are counted per request.
const MAX_INCIDENTS: u64 = 100_000;

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct CoverageQuery {
    /// Only incidents active at or after this time (RFC 3339).
    since: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Coverage {
    /// Incidents counted.
    incidents: u64,
    /// The loaded ATT&CK bundle's version, when one is loaded.
    attack_version: Option<String>,
    /// Techniques seen, in kill-chain order: {technique, name, tactics, incidents, alerts}.
    #[schema(value_type = Vec<Object>)]
    techniques: Vec<CoverageRow>,
}

/// Which ATT&CK techniques stored incidents have shown.
#[utoipa::path(
    get,
    path = "/api/v1/attack/coverage",
    tag = "attack",
    params(CoverageQuery),
    responses((status = 200, body = Coverage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn coverage(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<CoverageQuery>, QueryRejection>,
) -> Result<Json<Coverage>, ApiError> {
    caller.require(Permission::Read)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let since = q
        .since
        .as_deref()
        .map(|s| {
            s.parse::<Timestamp>()
                .map_err(|e| ApiError::bad_request(format!("since: not an RFC 3339 time: {e}")))
        })
        .transpose()?;
    let mut pages = IncidentPages::new(IncidentFilter {
        since,
        limit: 1000,
        ..IncidentFilter::default()
    })
    .at_most(MAX_INCIDENTS);
    let mut all = Vec::new();
    while let Some(page) = pages.next(state.store()).await? {
        all.extend(page);
    }
    let catalog = state.engine()?.knowledge().attack.clone();
    Ok(Json(Coverage {
        incidents: all.len() as u64,
        attack_version: catalog.as_ref().map(|c| c.version.clone()),
        techniques: picket_triage::coverage::coverage(&all, catalog.as_deref()),
    }))
}
