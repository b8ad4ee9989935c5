//! `GET /api/v1/dead-letters`: records that were rejected, newest first, with their bytes.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    /// Page size, 1 to 1000 (default 100).
    limit: Option<u32>,
    /// Entries to skip (default 0).
    offset: Option<u32>,
}

/// A rejected record.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DeadLetterView {
    id: i64,
    /// RFC 3339.
    received_at: String,
    source: String,
    line: u64,
    index: u64,
    /// Error code from the public table.
    code: String,
    message: String,
    /// The bytes as received, when they are UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<String>,
    /// The bytes as received, hex-encoded (always present, exact even for invalid UTF-8).
    raw_hex: String,
}

/// List dead letters.
#[utoipa::path(
    get,
    path = "/api/v1/dead-letters",
    tag = "alerts",
    params(PageQuery),
    responses((status = 200, body = Vec<DeadLetterView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Vec<DeadLetterView>>, ApiError> {
    caller.require(Permission::Read)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request("limit must be from 1 to 1000"));
    }
    let letters = state
        .store()
        .list_dead_letters(limit, q.offset.unwrap_or(0))
        .await?;
    Ok(Json(
        letters
            .into_iter()
            .map(|(id, d)| DeadLetterView {
                id,
                received_at: d.received_at.to_string(),
                source: d.source,
                line: d.line,
                index: d.index,
                code: d.code,
                message: d.message,
                raw_hex: hex::encode(&d.raw),
                raw: String::from_utf8(d.raw).ok(),
            })
            .collect(),
    ))
}
