//! `[enrichment]` and `[[connectors]]` in picket.toml: parsed by serde, then checked (pure, no I/O)
//! with every problem reported as a `(key, message)` pair the config loader locates.

use std::collections::HashSet;
use std::path::PathBuf;

use picket_core::{IntelVerdict, ObservableType};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::providers;

/// How the enrichment step fans out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct EnrichmentConfig {
    /// Overall deadline for one alert's or incident's enrichment, in milliseconds. Lookups still
    /// running then are reported as `deadline` failures (the result is marked partial) and finish in
    /// the background to fill the cache.
    pub deadline_ms: u64,
    /// Sources below this reliability, and stale answers, can make an indicator suspicious but never
    /// malicious.
    pub min_reliability: f64,
    /// Send private, loopback and other non-public addresses to online providers. Off by default:
    /// they mean nothing to a public provider and leak internal topology. Offline sources always see
    /// them.
    pub send_private: bool,
    /// Most indicators looked up per alert or incident (the rest are listed as skipped).
    pub max_indicators: usize,
}

impl Default for EnrichmentConfig {
    fn default() -> Self {
        Self {
            deadline_ms: 3000,
            min_reliability: 0.5,
            send_private: false,
            max_indicators: 50,
        }
    }
}

impl EnrichmentConfig {
    pub fn check(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.deadline_ms == 0 {
            out.push(("deadline_ms".into(), "must be at least 1".into()));
        }
        if !(0.0..=1.0).contains(&self.min_reliability) {
            out.push(("min_reliability".into(), "must be within [0, 1]".into()));
        }
        if self.max_indicators == 0 {
            out.push(("max_indicators".into(), "must be at least 1".into()));
        }
        out
    }
}

/// How long answers stay in the cache, per verdict, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CacheTtl {
    pub malicious: u64,
    pub suspicious: u64,
    pub benign: u64,
    pub unknown: u64,
}

impl Default for CacheTtl {
    fn default() -> Self {
        Self {
            malicious: 24 * 3600,
            suspicious: 12 * 3600,
            benign: 7 * 24 * 3600,
            unknown: 3600,
        }
    }
}

impl CacheTtl {
    pub fn for_verdict(&self, v: IntelVerdict) -> u64 {
        match v {
            IntelVerdict::Malicious => self.malicious,
            IntelVerdict::Suspicious => self.suspicious,
            IntelVerdict::Benign => self.benign,
            IntelVerdict::Unknown => self.unknown,
        }
    }
}

/// One `[[connectors]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    /// This instance's name: cited in evidence (`intel:<name>:…`), telemetry and the audit trail.
    pub name: String,
    /// Which provider (`picket connectors list` shows them).
    pub provider: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Overrides the provider's default API address (required for self-hosted ones: MISP, OpenCTI,
    /// TAXII).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Environment variable holding the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// File holding the API key (first line).
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    /// Per-request timeout in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Retries after a timeout, HTTP 429 or 5xx (backoff doubles from 200 ms; `Retry-After` honoured).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Requests per minute; defaults to the provider's documented quota. 0 = unlimited.
    #[serde(default)]
    pub per_minute: Option<u32>,
    /// Requests per day; defaults to the provider's documented quota. 0 = unlimited.
    #[serde(default)]
    pub per_day: Option<u32>,
    /// Requests in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: u32,
    /// Consecutive failures that open the circuit breaker.
    #[serde(default = "default_breaker_failures")]
    pub breaker_failures: u32,
    /// Seconds the breaker stays open before one trial request.
    #[serde(default = "default_breaker_cooldown")]
    pub breaker_cooldown_secs: u64,
    #[serde(default)]
    pub cache_ttl: CacheTtl,
    /// Answers older than this many hours are marked stale (shown, weighed less).
    #[serde(default = "default_max_age_hours")]
    pub max_age_hours: u64,
    /// How far this source is trusted, in [0, 1].
    #[serde(default = "default_reliability")]
    pub reliability: f64,
    /// Restricts lookups to these indicator kinds (default: all the provider supports).
    #[serde(default)]
    pub kinds: Option<Vec<ObservableType>>,
    /// Provider-specific settings (see `docs/enrichment.md`).
    #[serde(default)]
    pub options: serde_json::Map<String, serde_json::Value>,
}

fn yes() -> bool {
    true
}
fn default_timeout_ms() -> u64 {
    5000
}
fn default_retries() -> u32 {
    2
}
fn default_concurrency() -> u32 {
    4
}
fn default_breaker_failures() -> u32 {
    5
}
fn default_breaker_cooldown() -> u64 {
    60
}
fn default_max_age_hours() -> u64 {
    30 * 24
}
fn default_reliability() -> f64 {
    0.7
}

impl ConnectorConfig {
    /// A config with every default, for tests and `picket init`.
    pub fn new(name: &str, provider: &str) -> Self {
        Self {
            name: name.to_owned(),
            provider: provider.to_owned(),
            enabled: true,
            base_url: None,
            api_key_env: None,
            api_key_file: None,
            timeout_ms: default_timeout_ms(),
            retries: default_retries(),
            per_minute: None,
            per_day: None,
            concurrency: default_concurrency(),
            breaker_failures: default_breaker_failures(),
            breaker_cooldown_secs: default_breaker_cooldown(),
            cache_ttl: CacheTtl::default(),
            max_age_hours: default_max_age_hours(),
            reliability: default_reliability(),
            kinds: None,
            options: serde_json::Map::new(),
        }
    }

    /// A string option.
    pub fn opt_str(&self, key: &str) -> Option<&str> {
        self.options.get(key).and_then(|v| v.as_str())
    }

    /// Checks one entry; keys are relative to the entry (`base_url`, `options.path`…).
    pub fn check(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |k: &str, m: String| out.push((k.to_owned(), m));
        if self.name.trim().is_empty() || self.name.contains(':') {
            bad("name", "must be non-empty and contain no `:`".into());
        }
        let Some(p) = providers::find(&self.provider) else {
            bad(
                "provider",
                format!(
                    "unknown provider `{}`, expected one of: {}",
                    self.provider,
                    providers::names().join(", ")
                ),
            );
            return out;
        };
        match (&self.base_url, p.default_base_url) {
            (None, None) if p.http => {
                bad("base_url", format!("required for provider `{}`", p.name))
            }
            (Some(u), _) => match url::Url::parse(u) {
                Ok(u) if matches!(u.scheme(), "http" | "https") => {}
                Ok(u) => bad(
                    "base_url",
                    format!("scheme `{}` is not http or https", u.scheme()),
                ),
                Err(e) => bad("base_url", format!("not a URL: {e}")),
            },
            _ => {}
        }
        if self.api_key_env.is_some() && self.api_key_file.is_some() {
            bad(
                "api_key_env",
                "give api_key_env or api_key_file, not both".into(),
            );
        }
        if p.key == crate::connector::KeyUse::Required
            && self.api_key_env.is_none()
            && self.api_key_file.is_none()
        {
            bad(
                "api_key_env",
                format!(
                    "provider `{}` needs an API key: set api_key_env or api_key_file",
                    p.name
                ),
            );
        }
        if self.timeout_ms == 0 {
            bad("timeout_ms", "must be at least 1".into());
        }
        if self.retries > 10 {
            bad("retries", "at most 10".into());
        }
        if self.concurrency == 0 {
            bad("concurrency", "must be at least 1".into());
        }
        if self.breaker_failures == 0 {
            bad("breaker_failures", "must be at least 1".into());
        }
        if !(0.0..=1.0).contains(&self.reliability) || self.reliability.is_nan() {
            bad("reliability", "must be within [0, 1]".into());
        }
        if let Some(kinds) = &self.kinds {
            for k in kinds {
                if !p.kinds.contains(k) {
                    bad(
                        "kinds",
                        format!("provider `{}` cannot look up {k} indicators", p.name),
                    );
                }
            }
        }
        for (k, m) in (p.check)(self) {
            out.push((k, m));
        }
        out
    }
}

/// Checks all entries, including duplicate names; keys are `connectors[i].key`.
pub fn check_all(connectors: &[ConnectorConfig]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for (i, c) in connectors.iter().enumerate() {
        for (k, m) in c.check() {
            out.push((format!("connectors[{i}].{k}"), m));
        }
        if !names.insert(c.name.as_str()) {
            out.push((
                format!("connectors[{i}].name"),
                format!("connector `{}` is defined twice", c.name),
            ));
        }
    }
    out
}
