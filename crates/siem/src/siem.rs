//! The one trait every SIEM connector implements, the query it answers, and the error it returns.

use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use picket_enrich::ConnectorError;
use serde::{Deserialize, Serialize};

/// A SIEM that answers bounded, read-only searches.
///
/// Vendor implementations only translate: one [`SiemQuery`] into the vendor's documented search
/// request, its reply into a [`SiemResult`]. Validation, the limit cap and the event size cap are
/// applied around every implementation by [`crate::build`], so all vendors behave the same way.
#[async_trait]
pub trait Siem: Send + Sync {
    /// This instance's configured name.
    fn name(&self) -> &str;

    /// The vendor kind (`elasticsearch`, `splunk`, …): a [`crate::vendors::KINDS`] row name.
    fn kind(&self) -> &'static str;

    /// Runs one search in the vendor's own query language.
    async fn search(&self, q: &SiemQuery) -> Result<SiemResult, SiemError>;
}

/// One search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiemQuery {
    /// In the vendor's language: Lucene `query_string` syntax (Elasticsearch/OpenSearch), SPL
    /// (Splunk), KQL (Sentinel).
    pub query: String,
    /// Start of the time range (inclusive).
    pub from: Timestamp,
    /// End of the time range (inclusive for Elasticsearch and Sentinel, exclusive for Splunk's
    /// `latest_time`).
    pub to: Timestamp,
    /// Most events wanted; clamped to the instance's `max_limit`. At least 1.
    pub limit: u32,
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiemResult {
    /// How many events matched, when the SIEM reports an exact count (Elasticsearch with
    /// `hits.total.relation = "eq"`); `None` otherwise.
    pub total: Option<u64>,
    /// The events, newest first where the vendor sorts; each at most [`crate::MAX_EVENT_BYTES`]
    /// serialized.
    pub events: Vec<serde_json::Value>,
    /// The result is incomplete: more events matched than were returned, an event was cut to the
    /// size cap, or the SIEM reported a partial answer (timed-out shards, a partial error).
    pub truncated: bool,
}

/// Why a search gave no answer. `code()` is stable (tool results, telemetry, the audit trail).
/// Messages carry the vendor's own explanation, never a secret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SiemError {
    /// The query or its parameters were refused (syntax error, unknown field, bad time range).
    #[error("bad query: {0}")]
    BadQuery(String),
    /// Credentials missing, wrong or expired (401), or not allowed to search there (403).
    #[error("not authorized (HTTP {status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// The index, workspace or endpoint does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    #[error("rate limited by the SIEM (HTTP 429){}", retry_note(*.0))]
    RateLimited(Option<Duration>),
    #[error("SIEM error (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    #[error("transport error: {0}")]
    Transport(String),
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("configuration: {0}")]
    Config(String),
    /// The SIEM answered something other than its documented response.
    #[error("invalid response: {0}")]
    InvalidResponse(String),
}

fn retry_note(d: Option<Duration>) -> String {
    d.map(|d| format!(", retry after {}s", d.as_secs()))
        .unwrap_or_default()
}

impl SiemError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadQuery(_) => "bad_query",
            Self::Unauthorized { .. } => "unauthorized",
            Self::NotFound(_) => "not_found",
            Self::RateLimited(_) => "rate_limited",
            Self::Server { .. } => "server_error",
            Self::Transport(_) => "transport",
            Self::Timeout(_) => "timeout",
            Self::Config(_) => "config",
            Self::InvalidResponse(_) => "invalid_response",
        }
    }

    /// Whether the same search may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::RateLimited(_) | Self::Server { .. } | Self::Transport(_) | Self::Timeout(_)
        )
    }
}

impl From<ConnectorError> for SiemError {
    fn from(e: ConnectorError) -> Self {
        use ConnectorError as E;
        match e {
            E::Timeout(d) => Self::Timeout(d),
            E::Deadline => Self::Timeout(Duration::ZERO),
            E::Unauthorized(message) => Self::Unauthorized {
                status: 401,
                message,
            },
            E::Forbidden(message) => Self::Unauthorized {
                status: 403,
                message,
            },
            E::RateLimited(d) => Self::RateLimited(d),
            E::QuotaExhausted(_) => Self::RateLimited(None),
            E::CircuitOpen(d) => Self::Transport(format!(
                "circuit open after repeated failures; retrying after {d:?}"
            )),
            E::Server { status, message } => Self::Server { status, message },
            E::Http { status, message } => match status {
                400 | 422 => Self::BadQuery(message),
                404 => Self::NotFound(message),
                _ => Self::Server { status, message },
            },
            E::Malformed(m) => Self::InvalidResponse(m),
            E::Transport(m) => Self::Transport(m),
            E::Unsupported(k) => Self::Config(format!("unsupported indicator kind {k}")),
            E::Config(m) => Self::Config(m),
        }
    }
}
