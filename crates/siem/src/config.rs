//! `[[siem]]` entries: parsed by serde, then checked (pure, no I/O), every problem reported at once
//! as a `(key, message)` pair.

use std::path::PathBuf;
use std::time::Duration;

use picket_enrich::{RetryPolicy, Secret};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::siem::SiemError;
use crate::vendors;

/// One `[[siem]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SiemConfig {
    /// This instance's name: what the `siem_search` tool and analysts choose, recorded on every
    /// call event.
    pub name: String,
    /// Which SIEM (`elasticsearch`, `opensearch`, `splunk`, `sentinel`).
    pub kind: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The SIEM's API address: `https://es.example.com:9200`, `https://splunk.example.com:8089`.
    /// Sentinel defaults to `https://api.loganalytics.io`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Elasticsearch/OpenSearch: the index, alias, data stream or pattern searched (`logs-*`,
    /// `winlogbeat-*,filebeat-*`).
    #[serde(default)]
    pub index: Option<String>,
    /// Elasticsearch/OpenSearch: the event time field the range filter and the sort use
    /// (default `@timestamp`).
    #[serde(default)]
    pub time_field: Option<String>,
    /// Splunk: the export endpoint, relative to `base_url` (default
    /// `services/search/v2/jobs/export`; `services/search/jobs/export` before Splunk 9.0.1, or a
    /// `servicesNS/<user>/<app>/…` path to search in an app's context).
    #[serde(default)]
    pub search_path: Option<String>,
    /// Sentinel: the Log Analytics workspace id (a GUID).
    #[serde(default)]
    pub workspace_id: Option<String>,
    /// Sentinel: the Microsoft Entra tenant id the app is registered in.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Sentinel: the app's (client) id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Sentinel: overrides the OAuth token endpoint (sovereign clouds, tests).
    #[serde(default)]
    pub token_url: Option<String>,
    /// Environment variable holding the API key (Elasticsearch API key, Splunk token, Sentinel
    /// client secret).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// File holding the API key (first line).
    #[serde(default)]
    pub api_key_file: Option<PathBuf>,
    /// The `Authorization` scheme the API key is sent with: `ApiKey` (Elasticsearch default) or
    /// `Bearer` (Elasticsearch tokens, OpenSearch JWT, Splunk default) or `Splunk` (Splunk session
    /// key).
    #[serde(default)]
    pub auth_scheme: Option<String>,
    /// HTTP Basic user (Elasticsearch, OpenSearch, Splunk), with `password_env` or `password_file`.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the Basic password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// File holding the Basic password (first line).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// Per-request timeout in milliseconds (a search may take a while).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Retries after a timeout, HTTP 429 or 5xx (backoff doubles from 200 ms; `Retry-After`
    /// honoured up to 30 s).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Hard cap on the events one search returns, whatever the caller asks (1 to 10000).
    #[serde(default = "default_max_limit")]
    pub max_limit: u32,
}

fn yes() -> bool {
    true
}
fn default_timeout_ms() -> u64 {
    30_000
}
fn default_retries() -> u32 {
    2
}
fn default_max_limit() -> u32 {
    100
}

/// Most events `max_limit` may allow.
const MAX_LIMIT_CEILING: u32 = 10_000;

impl SiemConfig {
    /// An entry with every default, for tests and embedding.
    pub fn new(name: &str, kind: &str) -> Self {
        Self {
            name: name.into(),
            kind: kind.into(),
            enabled: true,
            base_url: None,
            index: None,
            time_field: None,
            search_path: None,
            workspace_id: None,
            tenant_id: None,
            client_id: None,
            token_url: None,
            api_key_env: None,
            api_key_file: None,
            auth_scheme: None,
            username: None,
            password_env: None,
            password_file: None,
            timeout_ms: default_timeout_ms(),
            retries: default_retries(),
            max_limit: default_max_limit(),
        }
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            timeout: Duration::from_millis(self.timeout_ms.max(1)),
            retries: self.retries,
            ..RetryPolicy::default()
        }
    }

    /// Reads the API key, if one is configured. The error names the variable or file, never the
    /// value.
    pub fn api_key(&self) -> Result<Option<Secret>, SiemError> {
        read_secret(&self.api_key_env, &self.api_key_file)
    }

    /// Reads the Basic password, if one is configured.
    pub fn password(&self) -> Result<Option<Secret>, SiemError> {
        read_secret(&self.password_env, &self.password_file)
    }

    pub(crate) fn has_api_key(&self) -> bool {
        self.api_key_env.is_some() || self.api_key_file.is_some()
    }

    pub(crate) fn has_password(&self) -> bool {
        self.password_env.is_some() || self.password_file.is_some()
    }

    /// The kind-specific keys and whether each is set.
    pub(crate) fn kind_keys(&self) -> [(&'static str, bool); 11] {
        [
            ("index", self.index.is_some()),
            ("time_field", self.time_field.is_some()),
            ("search_path", self.search_path.is_some()),
            ("workspace_id", self.workspace_id.is_some()),
            ("tenant_id", self.tenant_id.is_some()),
            ("client_id", self.client_id.is_some()),
            ("token_url", self.token_url.is_some()),
            ("auth_scheme", self.auth_scheme.is_some()),
            ("username", self.username.is_some()),
            ("password_env", self.password_env.is_some()),
            ("password_file", self.password_file.is_some()),
        ]
    }

    /// Checks one entry; keys are relative to it (`base_url`, `index`…).
    pub fn check(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |k: &str, m: String| out.push((k.to_owned(), m));
        if self.name.trim().is_empty() || self.name.contains(':') {
            bad("name", "must be non-empty and contain no `:`".into());
        }
        let Some(kind) = vendors::find(&self.kind) else {
            bad(
                "kind",
                format!(
                    "unknown SIEM kind `{}`, expected one of: {}",
                    self.kind,
                    vendors::names().join(", ")
                ),
            );
            return out;
        };
        match (&self.base_url, kind.default_base_url) {
            (None, None) => bad("base_url", format!("required for kind `{}`", kind.name)),
            (Some(u), _) => check_url(u, "base_url", &mut bad),
            _ => {}
        }
        if let Some(u) = &self.token_url {
            check_url(u, "token_url", &mut bad);
        }
        if self.api_key_env.is_some() && self.api_key_file.is_some() {
            bad(
                "api_key_env",
                "give api_key_env or api_key_file, not both".into(),
            );
        }
        if self.password_env.is_some() && self.password_file.is_some() {
            bad(
                "password_env",
                "give password_env or password_file, not both".into(),
            );
        }
        if self.timeout_ms == 0 {
            bad("timeout_ms", "must be at least 1".into());
        }
        if self.retries > 10 {
            bad("retries", "at most 10".into());
        }
        if !(1..=MAX_LIMIT_CEILING).contains(&self.max_limit) {
            bad(
                "max_limit",
                format!("must be from 1 to {MAX_LIMIT_CEILING}"),
            );
        }
        for (key, set) in self.kind_keys() {
            if set && !kind.keys.contains(&key) {
                let takers: Vec<&str> = vendors::KINDS
                    .iter()
                    .filter(|k| k.keys.contains(&key))
                    .map(|k| k.name)
                    .collect();
                bad(
                    key,
                    format!(
                        "kind `{}` does not use `{key}` (only {})",
                        kind.name,
                        takers.join(", ")
                    ),
                );
            }
        }
        out.extend((kind.check)(self));
        out
    }
}

fn read_secret(env: &Option<String>, file: &Option<PathBuf>) -> Result<Option<Secret>, SiemError> {
    let r = match (env, file) {
        (Some(v), _) => Secret::from_env(v).map(Some),
        (None, Some(f)) => Secret::from_file(f).map(Some),
        (None, None) => Ok(None),
    };
    r.map_err(|e| SiemError::Config(e.to_string()))
}

fn check_url(u: &str, key: &str, bad: &mut impl FnMut(&str, String)) {
    match url::Url::parse(u) {
        Ok(u) if !matches!(u.scheme(), "http" | "https") => {
            bad(key, format!("scheme `{}` is not http or https", u.scheme()))
        }
        Ok(u) if !u.username().is_empty() || u.password().is_some() => bad(
            key,
            "must not carry credentials: use username with password_env or password_file".into(),
        ),
        Ok(u) if u.query().is_some() || u.fragment().is_some() => {
            bad(key, "must not have a query string or fragment".into())
        }
        Ok(_) => {}
        Err(e) => bad(key, format!("not a URL: {e}")),
    }
}
