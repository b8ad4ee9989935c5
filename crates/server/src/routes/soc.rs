//! SOC metrics over a time range (docs/metrics.md).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use jiff::Timestamp;
use picket_core::Priority;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::{Caller, Permission};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
pub(crate) struct SocQuery {
    /// Start of the range (RFC 3339); default: 30 days before `until`.
    since: Option<String>,
    /// End of the range (RFC 3339); default: now.
    until: Option<String>,
    /// Only incidents with an alert from this source format (`wazuh`, `crowdstrike`…).
    source: Option<String>,
    /// Only incidents with a rule key containing this (`wazuh:5712`, `sshd`…).
    rule: Option<String>,
    /// Only incidents of this priority (P1–P4).
    priority: Option<String>,
}

/// The SOC metrics of incidents active in the range: times to triage, respond, detect and
/// acknowledge (mean, median, p90), automation rate, false-positive reduction, investigation
/// completeness, override rate, cost per incident, and the engine's accuracy against analysts, per
/// priority and per source too. Every ratio carries its numerator and denominator.
#[utoipa::path(
    get,
    path = "/api/v1/metrics/soc",
    tag = "metrics",
    params(SocQuery),
    responses((status = 200, body = Object), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub(crate) async fn soc(
    State(state): State<AppState>,
    caller: Caller,
    query: Result<Query<SocQuery>, QueryRejection>,
) -> Result<Json<picket_metrics::SocMetrics>, ApiError> {
    caller.require(Permission::Read)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let mut bad = Vec::new();
    let mut time = |name: &str, v: &Option<String>| -> Option<Timestamp> {
        let v = v.as_ref()?;
        match v.parse::<Timestamp>() {
            Ok(t) => Some(t),
            Err(_) => {
                bad.push(serde_json::json!({"field": name, "message": format!("`{v}` is not an RFC 3339 time")}));
                None
            }
        }
    };
    let until = time("until", &q.until).unwrap_or_else(Timestamp::now);
    let since = time("since", &q.since).unwrap_or_else(|| picket_metrics::default_since(until));
    let priority = match q.priority.as_deref() {
        None => None,
        Some(p) => match Priority::parse(p) {
            Some(p) => Some(p),
            None => {
                bad.push(serde_json::json!({"field": "priority", "message": format!("`{p}` is not P1, P2, P3 or P4")}));
                None
            }
        },
    };
    if since > until {
        bad.push(serde_json::json!({"field": "since", "message": "is after until"}));
    }
    if !bad.is_empty() {
        return Err(ApiError::bad_request("invalid query").with_details(serde_json::json!(bad)));
    }
    let life = state.store().lifecycle(since, until).await?;
    let filter = picket_metrics::Filter {
        source: q.source,
        rule: q.rule,
        priority,
    };
    Ok(Json(picket_metrics::compute(
        &life,
        &filter,
        state.soc_settings(),
        since,
        until,
    )))
}
