//! The router: one module per resource, layers through one `ServiceBuilder`.

pub(crate) mod actions;
pub(crate) mod alerts;
pub(crate) mod attack;
pub(crate) mod dead_letters;
pub(crate) mod export;
pub(crate) mod incidents;
pub(crate) mod intel;
pub(crate) mod investigations;
pub(crate) mod ops;
pub(crate) mod soc;

use std::time::Instant;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use picket_core::ErrorCode;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::AppState;

/// The whole HTTP API over `state`. Tests drive it with `tower::ServiceExt::oneshot`.
pub fn router(state: AppState) -> Router {
    let limits = &state.0.limits;
    let layers = ServiceBuilder::new()
        .layer(TraceLayer::new_for_http())
        .layer(middleware::from_fn(json_errors))
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        // A timed-out request is abandoned; its 503 tells the client to retry (ingest is idempotent).
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.request_timeout,
        ))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes));
    Router::new()
        .route("/api/v1/alerts", post(alerts::ingest))
        .route("/api/v1/alerts/{id}", get(alerts::get_alert))
        .route("/api/v1/alerts/{id}/ocsf", get(alerts::get_alert_ocsf))
        .route("/api/v1/dead-letters", get(dead_letters::list))
        .route("/api/v1/incidents", get(incidents::list))
        .route("/api/v1/incidents/{id}", get(incidents::get))
        .route(
            "/api/v1/incidents/{id}/verdict",
            post(incidents::record_verdict),
        )
        .route("/api/v1/incidents/{id}/stix", get(export::stix))
        .route("/api/v1/incidents/{id}/misp", get(export::misp))
        .route("/api/v1/incidents/{id}/report", get(export::report))
        .route(
            "/api/v1/incidents/{id}/investigations",
            get(investigations::list),
        )
        .route(
            "/api/v1/incidents/{id}/investigate",
            post(investigations::investigate),
        )
        .route("/api/v1/intel/{type}/{value}", get(intel::lookup))
        .route(
            "/api/v1/alerts/{id}/enrichment",
            get(intel::alert_enrichment),
        )
        .route("/api/v1/attack/coverage", get(attack::coverage))
        .route("/api/v1/actions", post(actions::propose).get(actions::list))
        .route("/api/v1/actions/{id}", get(actions::get))
        .route("/api/v1/actions/{id}/approval", post(actions::approve))
        .route("/api/v1/actions/{id}/rollback", post(actions::rollback))
        .route(
            "/api/v1/response",
            get(actions::response_status).post(actions::set_response),
        )
        .route("/api/v1/metrics/soc", get(soc::soc))
        .route("/api/v1/openapi.json", get(ops::openapi))
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/mcp", crate::mcp::route(&state))
        .route_layer(middleware::from_fn_with_state(state.clone(), track_latency))
        .fallback(not_found)
        .layer(layers)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such route")
}

/// Request latency per matched route (the route pattern, not the concrete path: ids stay out of labels).
async fn track_latency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let start = Instant::now();
    let resp = next.run(req).await;
    state.metrics().request(&method, &route, start.elapsed());
    resp
}

/// Error responses made by layers or axum itself (body limit, timeout, bad method, extractor
/// rejections) are plain text; rewrite them into the `{code, message, details}` shape.
async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (
            ErrorCode::PayloadTooLarge,
            "the request body is over the configured limit (max_body_bytes)",
        ),
        StatusCode::SERVICE_UNAVAILABLE => (
            ErrorCode::StoreUnavailable,
            "the request did not finish in time; retry later",
        ),
        StatusCode::NOT_FOUND => (ErrorCode::NotFound, "no such route"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            (ErrorCode::UnsupportedMediaType, "unsupported content type")
        }
        s if s.is_server_error() => (ErrorCode::Internal, "internal error"),
        _ => (ErrorCode::BadRequest, "the request is not valid here"),
    };
    // Keep the status the layer chose (e.g. 405); only the body changes.
    let mut out = ApiError::new(code, message).into_response();
    *out.status_mut() = status;
    for (k, v) in resp.headers() {
        if k == header::ALLOW || k == header::RETRY_AFTER {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}
