//! Errors: [`ApiError`] is every error response (`{code, message, details}` with the status from
//! picket_core's code table); [`ServerError`] is what stops the server from starting.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use picket_core::ErrorCode;
use picket_store::StoreError;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    code: ErrorCode,
    message: String,
    details: Value,
    retry_after: Option<u64>,
}

/// The JSON body of every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable code from the public table (e.g. `unauthorized`, `queue_full`, `bad_request`).
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// Machine-readable specifics (e.g. each invalid parameter); `null` when there are none.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: Value::Null,
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    pub fn queue_full(retry_after_secs: u64) -> Self {
        Self {
            retry_after: Some(retry_after_secs),
            ..Self::new(
                ErrorCode::QueueFull,
                "the ingest queue is full; retry after the delay in Retry-After",
            )
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message)
    }

    pub fn not_found(what: &str, id: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("no {what} `{id}`"))
    }

    pub fn code(&self) -> ErrorCode {
        self.code
    }

    pub(crate) fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::NotFound { kind, id } => Self::not_found(kind, id),
            _ => {
                tracing::error!(error = %e, "store error");
                Self::new(
                    e.code(),
                    "the store could not serve the request; retry later",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorBody {
            code: self.code.as_str().to_owned(),
            message: self.message,
            details: self.details,
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("invalid server configuration: {}", .0.iter().map(|(k, m)| format!("`{k}`: {m}")).collect::<Vec<_>>().join("; "))]
    Config(Vec<(String, String)>),
    /// A token could not be loaded. The message names the token and where its secret should be,
    /// never the secret.
    #[error("token `{name}`: {message}")]
    Token { name: String, message: String },
    #[error("mapping `{name}`: {message}")]
    Mapping { name: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}
