//! The one connector trait every threat-intel source implements, and the error every lookup returns.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use picket_core::{Finding, ObservableType};

use crate::config::ConnectorConfig;
use crate::http::Http;

/// A threat-intel source: an HTTP provider, an offline file, a polled TAXII collection.
///
/// Implementations only translate: one indicator in, one [`Finding`] out. Timeouts, retries, quotas,
/// the circuit breaker, the concurrency cap, caching and staleness are the framework's (see
/// `guard.rs`, `cache.rs`, `enricher.rs`), so every connector behaves the same way under failure.
#[async_trait]
pub trait Connector: Send + Sync {
    /// The indicator kinds this source can answer for.
    fn kinds(&self) -> &[ObservableType];

    /// Looks up one indicator. A provider that does not know the indicator (HTTP 404, an empty
    /// result) answers `Ok(Finding::unknown())`, never an error.
    async fn lookup(&self, kind: ObservableType, value: &str) -> Result<Finding, ConnectorError>;

    /// A cheap call proving the base URL and the credentials work (`picket connectors check`).
    /// Returns a short human description of what was verified.
    async fn healthcheck(&self) -> Result<String, ConnectorError>;

    /// For sources that sync data locally (TAXII collections): fetch what is new and reload.
    /// Returns what was done, or `None` for sources that answer live.
    async fn refresh(&self) -> Result<Option<String>, ConnectorError> {
        Ok(None)
    }

    /// How often the service should call [`Connector::refresh`]; `None` for live sources.
    fn refresh_interval(&self) -> Option<std::time::Duration> {
        None
    }
}

/// Why a lookup gave no answer. `code()` is the stable string recorded in enrichment failures,
/// telemetry and the audit trail. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConnectorError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("the enrichment deadline passed before an answer")]
    Deadline,
    #[error("authentication failed (HTTP 401): {0}")]
    Unauthorized(String),
    #[error("access denied (HTTP 403): {0}")]
    Forbidden(String),
    #[error("rate limited by the provider (HTTP 429){}", retry_note(*.0))]
    RateLimited(Option<Duration>),
    #[error("local quota exhausted: {0}")]
    QuotaExhausted(String),
    #[error("circuit open after repeated failures; retrying after {0:?}")]
    CircuitOpen(Duration),
    #[error("provider error (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    #[error("unexpected HTTP {status}: {message}")]
    Http { status: u16, message: String },
    #[error("malformed response: {0}")]
    Malformed(String),
    #[error("transport error: {0}")]
    Transport(String),
    #[error("this source cannot look up {0} indicators")]
    Unsupported(ObservableType),
    #[error("configuration: {0}")]
    Config(String),
}

fn retry_note(d: Option<Duration>) -> String {
    d.map(|d| format!(", retry after {}s", d.as_secs()))
        .unwrap_or_default()
}

impl ConnectorError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Timeout(_) => "timeout",
            Self::Deadline => "deadline",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::RateLimited(_) => "rate_limited",
            Self::QuotaExhausted(_) => "quota_exhausted",
            Self::CircuitOpen(_) => "circuit_open",
            Self::Server { .. } => "server_error",
            Self::Http { .. } => "http_error",
            Self::Malformed(_) => "malformed_response",
            Self::Transport(_) => "transport",
            Self::Unsupported(_) => "unsupported",
            Self::Config(_) => "config",
        }
    }

    /// Whether trying again later may succeed (counts against the circuit breaker).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Timeout(_)
                | Self::RateLimited(_)
                | Self::Server { .. }
                | Self::Transport(_)
                | Self::Malformed(_)
        )
    }
}

/// A provider's documented request quota (free or default tier); `None` means no documented limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Quota {
    pub per_minute: Option<u32>,
    pub per_day: Option<u32>,
}

/// Whether a provider needs an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUse {
    Required,
    Optional,
    None,
}

/// Builds a connector from validated config.
pub type BuildFn = fn(&ConnectorConfig, BuildContext) -> Result<Arc<dyn Connector>, ConnectorError>;

/// One row of the provider registry ([`crate::providers::PROVIDERS`]).
pub struct Provider {
    /// The `provider = "..."` value in `[[connectors]]`.
    pub name: &'static str,
    pub description: &'static str,
    /// The provider's API reference, for operators.
    pub docs: &'static str,
    pub kinds: &'static [ObservableType],
    /// Used when `base_url` is not configured; `None` for sources that have no default (MISP,
    /// OpenCTI, TAXII, files).
    pub default_base_url: Option<&'static str>,
    /// Speaks HTTP (needs a base URL, gets timeouts and retries); false for local files.
    pub http: bool,
    pub key: KeyUse,
    /// The documented quota; `per_minute` / `per_day` in config override it.
    pub quota: Quota,
    /// Provider-specific checks of `options` (pure; no I/O): `(key, message)` pairs.
    pub check: fn(&ConnectorConfig) -> Vec<(String, String)>,
    /// Builds the connector from validated config.
    pub build: BuildFn,
}

/// What `build` gets besides the config: the HTTP client (already carrying the timeout, retries,
/// secret and telemetry) and the base directory relative paths resolve against.
#[derive(Clone)]
pub struct BuildContext {
    pub http: Http,
    pub base_dir: std::path::PathBuf,
    /// Picket's data directory, where syncing sources keep what they fetched.
    pub data_dir: std::path::PathBuf,
}

impl BuildContext {
    pub fn path(&self, p: &str) -> std::path::PathBuf {
        let p = std::path::Path::new(p);
        if p.is_relative() {
            self.base_dir.join(p)
        } else {
            p.to_path_buf()
        }
    }
}
