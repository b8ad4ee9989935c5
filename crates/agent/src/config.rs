//! One LLM provider entry (as picket.toml would carry it): parsed by serde, checked without I/O
//! (every problem reported at once as a `(key, message)` pair), then built into a guarded provider.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use picket_enrich::{Http, Observer, RetryPolicy, Secret};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::anthropic::{self, Anthropic};
use crate::guard::{Budget, GuardSettings, GuardedProvider, Pricing};
use crate::openai::{self, OpenAi};
use crate::provider::{Provider, ProviderError};
use crate::wire;

/// Which wire format and server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ProviderKind {
    /// Anthropic Messages API.
    #[serde(rename = "anthropic")]
    Anthropic,
    /// OpenAI Chat Completions.
    #[serde(rename = "openai")]
    OpenAi,
    /// Azure OpenAI (needs `base_url`, `deployment`, `api_version`).
    #[serde(rename = "azure_openai")]
    AzureOpenAi,
    /// vLLM, Ollama, llama.cpp server and other OpenAI-compatible servers (needs `base_url`; the
    /// key is optional).
    #[serde(rename = "openai_compatible")]
    OpenAiCompatible,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::OpenAi => "openai",
            Self::AzureOpenAi => "azure_openai",
            Self::OpenAiCompatible => "openai_compatible",
        }
    }

    fn default_base_url(self) -> Option<&'static str> {
        match self {
            Self::Anthropic => Some(anthropic::DEFAULT_BASE_URL),
            Self::OpenAi => Some(openai::DEFAULT_BASE_URL),
            Self::AzureOpenAi | Self::OpenAiCompatible => None,
        }
    }

    fn key_required(self) -> bool {
        !matches!(self, Self::OpenAiCompatible)
    }
}

/// One LLM provider instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// This instance's name: in telemetry, the audit trail and errors.
    pub name: String,
    pub kind: ProviderKind,
    /// The API address without `/v1` (the client appends `/v1/messages` or
    /// `/v1/chat/completions`; for Azure `https://{resource}.openai.azure.com`). Defaults to the
    /// vendor's for `anthropic` and `openai`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The model (for Azure only a label: the deployment picks the model).
    #[serde(default)]
    pub model: String,
    /// Environment variable holding the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// File holding the API key (first line).
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    /// Per-request timeout in milliseconds (a model's answer takes a while).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Retries after a timeout, a transport error, HTTP 429 or 5xx (`Retry-After` honoured).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Azure deployment name.
    #[serde(default)]
    pub deployment: Option<String>,
    /// Azure `api-version`, e.g. `2024-10-21`.
    #[serde(default)]
    pub api_version: Option<String>,
    /// Price per 1000 input tokens (cost accounting; any currency).
    #[serde(default)]
    pub price_per_1k_input: f64,
    /// Price per 1000 output tokens.
    #[serde(default)]
    pub price_per_1k_output: f64,
    /// Consecutive failures that open the circuit breaker.
    #[serde(default = "default_breaker_failures")]
    pub breaker_failures: u32,
    /// Seconds the breaker stays open before one trial call.
    #[serde(default = "default_breaker_cooldown")]
    pub breaker_cooldown_secs: u64,
    /// Input + output tokens one incident may use; 0 = unlimited.
    #[serde(default = "default_max_tokens_per_incident")]
    pub max_tokens_per_incident: u64,
}

fn default_timeout_ms() -> u64 {
    60_000
}
fn default_retries() -> u32 {
    2
}
fn default_breaker_failures() -> u32 {
    5
}
fn default_breaker_cooldown() -> u64 {
    60
}
fn default_max_tokens_per_incident() -> u64 {
    200_000
}

/// Names: `[A-Za-z0-9_.-]`, as in the other `[[…]]` tables.
fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl ProviderConfig {
    /// A config with every default, for tests and `picket init`.
    pub fn new(name: &str, kind: ProviderKind, model: &str) -> Self {
        Self {
            name: name.to_owned(),
            kind,
            base_url: None,
            model: model.to_owned(),
            api_key_env: None,
            api_key_file: None,
            timeout_ms: default_timeout_ms(),
            retries: default_retries(),
            deployment: None,
            api_version: None,
            price_per_1k_input: 0.0,
            price_per_1k_output: 0.0,
            breaker_failures: default_breaker_failures(),
            breaker_cooldown_secs: default_breaker_cooldown(),
            max_tokens_per_incident: default_max_tokens_per_incident(),
        }
    }

    /// The base URL in force.
    pub fn base(&self) -> Option<&str> {
        self.base_url.as_deref().or(self.kind.default_base_url())
    }

    /// Every problem, as `(key, message)` pairs. Pure: reads no environment and no file.
    pub fn check(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |k: &str, m: String| out.push((k.to_owned(), m));
        if !plain(&self.name) {
            bad("name", "must be non-empty, of A-Z a-z 0-9 _ - .".into());
        }
        let azure = self.kind == ProviderKind::AzureOpenAi;
        if self.model.trim().is_empty() && !azure {
            bad("model", "is required".into());
        }
        match self.base() {
            None => bad("base_url", format!("is required for {}", self.kind.as_str())),
            Some(b) => match url::Url::parse(b) {
                Err(e) => bad("base_url", format!("`{b}` is not a URL: {e}")),
                Ok(u) if !matches!(u.scheme(), "http" | "https") => {
                    bad("base_url", format!("`{b}` must be http or https"))
                }
                Ok(u) if u.query().is_some() || !u.username().is_empty() || u.password().is_some() => {
                    bad("base_url", "must carry no query string and no credentials (use api_key_env or api_key_file)".into())
                }
                Ok(u) if u.path().trim_end_matches('/').ends_with("/v1") => bad(
                    "base_url",
                    format!("`{b}` must not end with /v1: the client appends the API path"),
                ),
                Ok(_) => {}
            },
        }
        match (&self.api_key_env, &self.api_key_file) {
            (Some(_), Some(_)) => bad(
                "api_key_env",
                "set api_key_env or api_key_file, not both".into(),
            ),
            (None, None) if self.kind.key_required() => bad(
                "api_key_env",
                format!(
                    "{} needs an API key: set api_key_env or api_key_file",
                    self.kind.as_str()
                ),
            ),
            (Some(v), None) if v.trim().is_empty() => bad("api_key_env", "is empty".into()),
            _ => {}
        }
        if self.timeout_ms == 0 {
            bad("timeout_ms", "must be at least 1".into());
        }
        if self.retries > 10 {
            bad("retries", "must be at most 10".into());
        }
        if azure {
            match self.deployment.as_deref() {
                Some(d) if plain(d) => {}
                Some(_) => bad("deployment", "must be of A-Z a-z 0-9 _ - .".into()),
                None => bad("deployment", "is required for azure_openai".into()),
            }
            match self.api_version.as_deref() {
                Some(v) if plain(v) => {}
                Some(_) => bad("api_version", "must look like 2024-10-21".into()),
                None => bad("api_version", "is required for azure_openai".into()),
            }
        } else {
            if self.deployment.is_some() {
                bad("deployment", "only applies to azure_openai".into());
            }
            if self.api_version.is_some() {
                bad("api_version", "only applies to azure_openai".into());
            }
        }
        for (k, v) in [
            ("price_per_1k_input", self.price_per_1k_input),
            ("price_per_1k_output", self.price_per_1k_output),
        ] {
            if !v.is_finite() || v < 0.0 {
                bad(k, "must be a number ≥ 0".into());
            }
        }
        if self.breaker_failures == 0 {
            bad("breaker_failures", "must be at least 1".into());
        }
        if self.breaker_cooldown_secs == 0 {
            bad("breaker_cooldown_secs", "must be at least 1".into());
        }
        out
    }

    /// The guard settings this config asks for.
    pub fn guard_settings(&self) -> GuardSettings {
        GuardSettings {
            breaker_failures: self.breaker_failures,
            breaker_cooldown: Duration::from_secs(self.breaker_cooldown_secs),
            budget: Budget {
                max_tokens: (self.max_tokens_per_incident > 0)
                    .then_some(self.max_tokens_per_incident),
            },
            pricing: Pricing {
                per_1k_input: self.price_per_1k_input,
                per_1k_output: self.price_per_1k_output,
            },
        }
    }

    /// The retry policy: the configured timeout and retries, backoff from 500 ms, a
    /// `Retry-After` up to 60 s waited for.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            timeout: Duration::from_millis(self.timeout_ms),
            retries: self.retries,
            backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// Builds the provider a config describes, behind its guards. Reads the API key (the only I/O);
/// any problem is a `config` error listing every one.
pub fn build(
    cfg: &ProviderConfig,
    observer: Arc<dyn Observer>,
) -> Result<Arc<GuardedProvider>, ProviderError> {
    let problems = cfg.check();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|(k, m)| format!("{k}: {m}")).collect();
        return Err(ProviderError::Config(format!(
            "provider `{}`: {}",
            cfg.name,
            list.join("; ")
        )));
    }
    let secret = match (&cfg.api_key_env, &cfg.api_key_file) {
        (Some(var), _) => Some(Secret::from_env(var)),
        (None, Some(path)) => Some(Secret::from_file(path)),
        (None, None) => None,
    }
    .transpose()
    .map_err(|e| ProviderError::Config(format!("provider `{}`: {e}", cfg.name)))?;
    let http = Http::new(&cfg.name, cfg.base(), secret, cfg.retry_policy(), observer)
        .map_err(wire::from_connector)?;
    let inner: Arc<dyn Provider> = match cfg.kind {
        ProviderKind::Anthropic => Arc::new(Anthropic::new(http, &cfg.model)),
        ProviderKind::OpenAi => Arc::new(OpenAi::new(http, &cfg.model)),
        ProviderKind::OpenAiCompatible => Arc::new(OpenAi::compatible(http, &cfg.model)),
        ProviderKind::AzureOpenAi => Arc::new(OpenAi::azure(
            http,
            &cfg.model,
            cfg.deployment.clone().unwrap_or_default(),
            cfg.api_version.clone().unwrap_or_default(),
        )),
    };
    Ok(Arc::new(GuardedProvider::new(inner, cfg.guard_settings())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(c: &ProviderConfig) -> Vec<String> {
        c.check().into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut c = ProviderConfig::new("bad name", ProviderKind::AzureOpenAi, "");
        c.timeout_ms = 0;
        c.price_per_1k_input = -1.0;
        c.price_per_1k_output = f64::NAN;
        c.breaker_failures = 0;
        c.breaker_cooldown_secs = 0;
        assert_eq!(
            keys(&c),
            [
                "name",
                "base_url",
                "api_key_env",
                "timeout_ms",
                "deployment",
                "api_version",
                "price_per_1k_input",
                "price_per_1k_output",
                "breaker_failures",
                "breaker_cooldown_secs"
            ]
        );
    }

    #[test]
    fn defaults_are_valid_where_the_vendor_has_an_address() {
        let mut c = ProviderConfig::new("claude", ProviderKind::Anthropic, "claude-sonnet-4-5");
        c.api_key_env = Some("ANTHROPIC_API_KEY".into());
        assert!(c.check().is_empty(), "{:?}", c.check());
        assert_eq!(c.base(), Some("https://api.anthropic.com"));
        let mut c = ProviderConfig::new("local", ProviderKind::OpenAiCompatible, "llama3.1");
        assert_eq!(keys(&c), ["base_url"]);
        c.base_url = Some("http://localhost:11434".into());
        assert!(c.check().is_empty(), "no key is fine for a local server");
        c.base_url = Some("http://localhost:11434/v1".into());
        assert_eq!(keys(&c), ["base_url"]);
        c.base_url = Some("http://localhost:11434".into());
        c.deployment = Some("d".into());
        assert_eq!(keys(&c), ["deployment"]);
    }

    #[test]
    fn parses_from_toml_shape() {
        let c: ProviderConfig = serde_json::from_value(serde_json::json!({
            "name": "azure-gpt", "kind": "azure_openai",
            "base_url": "https://contoso.openai.azure.com",
            "api_key_file": "/run/secrets/azure", "deployment": "gpt-4o-prod",
            "api_version": "2024-10-21", "max_tokens_per_incident": 0
        }))
        .unwrap();
        assert!(c.check().is_empty(), "{:?}", c.check());
        assert_eq!(c.timeout_ms, 60_000);
        assert_eq!(c.guard_settings().budget.max_tokens, None);
        assert!(
            serde_json::from_value::<ProviderConfig>(serde_json::json!({
                "name": "x", "kind": "gemini"
            }))
            .is_err()
        );
        assert!(
            serde_json::from_value::<ProviderConfig>(serde_json::json!({
                "name": "x", "kind": "openai", "model": "m", "api_key": "inline"
            }))
            .is_err(),
            "keys are never inline"
        );
    }

    #[test]
    fn build_refuses_bad_config_and_missing_keys_without_the_value() {
        let c = ProviderConfig::new("x", ProviderKind::OpenAi, "");
        let e = build(&c, Arc::new(picket_enrich::Recorder::default()))
            .err()
            .unwrap();
        assert_eq!(e.code(), "config");
        assert!(e.to_string().contains("model: is required"), "{e}");
        let mut c = ProviderConfig::new("x", ProviderKind::OpenAi, "gpt-4o");
        c.api_key_env = Some("PICKET_AGENT_TEST_UNSET_KEY_VAR".into());
        let e = build(&c, Arc::new(picket_enrich::Recorder::default()))
            .err()
            .unwrap();
        assert_eq!(e.code(), "config");
        assert!(
            e.to_string().contains("PICKET_AGENT_TEST_UNSET_KEY_VAR"),
            "{e}"
        );
    }
}
