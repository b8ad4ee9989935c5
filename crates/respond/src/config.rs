//! `[[responders]]` entries: parsed, then checked, every problem reported at once.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use picket_enrich::{RetryPolicy, Secret, SecretError};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::responders;

/// One `[[responders]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponderConfig {
    /// This instance's name (recorded on every action it runs and in the audit trail).
    pub name: String,
    /// Which integration (`picket responders list` shows them).
    pub kind: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The vendor's API address; defaults to its public cloud endpoint where it has one.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Environment variable holding the secret (API token, client secret, routing key, or for Slack
    /// and Teams the webhook URL itself).
    #[serde(default)]
    pub secret_env: Option<String>,
    /// File holding the secret (first line).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// OAuth client id (CrowdStrike, Defender, Entra ID).
    #[serde(default)]
    pub client_id: Option<String>,
    /// Microsoft Entra tenant id (Defender, Entra ID).
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// Overrides the OAuth token endpoint (sovereign clouds, tests).
    #[serde(default)]
    pub token_url: Option<String>,
    /// Per-request timeout in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Retries after a timeout, 429 or 5xx, for calls that are safe to repeat; calls that are not
    /// (a chat message, a new case) are never retried.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Restricts this instance to these actions (default: every action the kind performs).
    #[serde(default)]
    pub actions: Option<Vec<String>>,
    /// Kind-specific settings (`docs/response.md`).
    #[serde(default)]
    pub options: serde_json::Map<String, serde_json::Value>,
}

fn yes() -> bool {
    true
}
fn default_timeout_ms() -> u64 {
    10_000
}
fn default_retries() -> u32 {
    2
}

impl ResponderConfig {
    pub fn new(name: &str, kind: &str) -> Self {
        Self {
            name: name.into(),
            kind: kind.into(),
            enabled: true,
            base_url: None,
            secret_env: None,
            secret_file: None,
            client_id: None,
            tenant_id: None,
            token_url: None,
            timeout_ms: default_timeout_ms(),
            retries: default_retries(),
            actions: None,
            options: serde_json::Map::new(),
        }
    }

    pub fn opt_str(&self, key: &str) -> Option<&str> {
        self.options.get(key).and_then(|v| v.as_str())
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            timeout: Duration::from_millis(self.timeout_ms.max(1)),
            retries: self.retries,
            ..RetryPolicy::default()
        }
    }

    /// Reads the secret, if one is configured.
    pub fn secret(&self) -> Result<Option<Secret>, SecretError> {
        match (&self.secret_env, &self.secret_file) {
            (Some(v), _) => Secret::from_env(v).map(Some),
            (None, Some(f)) => Secret::from_file(f).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// Checks one entry; keys are relative to it.
    pub fn check(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |k: &str, m: String| out.push((k.to_owned(), m));
        if self.name.trim().is_empty() || self.name.contains(':') {
            bad("name", "must be non-empty and contain no `:`".into());
        }
        let Some(kind) = responders::find(&self.kind) else {
            bad(
                "kind",
                format!(
                    "unknown responder kind `{}`, expected one of: {}",
                    self.kind,
                    responders::names().join(", ")
                ),
            );
            return out;
        };
        match (&self.base_url, kind.default_base_url) {
            (None, None) if kind.needs_base_url => {
                bad("base_url", format!("required for kind `{}`", kind.name))
            }
            (Some(u), _) => check_url(u, "base_url", &mut bad),
            _ => {}
        }
        if let Some(u) = &self.token_url {
            check_url(u, "token_url", &mut bad);
        }
        if self.secret_env.is_some() && self.secret_file.is_some() {
            bad(
                "secret_env",
                "give secret_env or secret_file, not both".into(),
            );
        }
        if kind.needs_secret && self.secret_env.is_none() && self.secret_file.is_none() {
            bad(
                "secret_env",
                format!(
                    "kind `{}` needs a secret ({}): set secret_env or secret_file",
                    kind.name, kind.secret
                ),
            );
        }
        if kind.oauth && self.client_id.is_none() {
            bad("client_id", format!("required for kind `{}`", kind.name));
        }
        if kind.tenant && self.tenant_id.is_none() && self.token_url.is_none() {
            bad(
                "tenant_id",
                format!("required for kind `{}` (or give token_url)", kind.name),
            );
        }
        if self.timeout_ms == 0 {
            bad("timeout_ms", "must be at least 1".into());
        }
        if self.retries > 10 {
            bad("retries", "at most 10".into());
        }
        for (k, m) in (kind.check)(self) {
            out.push((k, m));
        }
        // Only after the kind's own options are valid can its actions be listed.
        if out.is_empty()
            && let Some(list) = &self.actions
        {
            let defs = (kind.actions)(self);
            for a in list {
                if !defs.iter().any(|d| &d.action == a) {
                    out.push((
                        "actions".into(),
                        format!("kind `{}` does not perform `{a}`", kind.name),
                    ));
                }
            }
        }
        out
    }
}

fn check_url(u: &str, key: &str, bad: &mut impl FnMut(&str, String)) {
    match url::Url::parse(u) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        Ok(u) => bad(key, format!("scheme `{}` is not http or https", u.scheme())),
        Err(e) => bad(key, format!("not a URL: {e}")),
    }
}

/// Checks every entry, duplicate names included; keys are `responders[i].key`.
pub fn check_all(list: &[ResponderConfig]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for (i, c) in list.iter().enumerate() {
        for (k, m) in c.check() {
            out.push((format!("responders[{i}].{k}"), m));
        }
        if !names.insert(c.name.as_str()) {
            out.push((
                format!("responders[{i}].name"),
                format!("responder `{}` is defined twice", c.name),
            ));
        }
    }
    out
}
