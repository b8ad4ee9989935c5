//! The `[server]` settings: parsed (unknown keys rejected), then checked by a pure [`ServerConfig::check`]
//! that reports every problem at once. Token secrets are not here: each token names the environment
//! variable or the file that holds it, read once at startup.

use std::net::SocketAddr;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::auth::Role;

/// HTTP server settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    #[schemars(with = "String")]
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// Most alerts allowed to wait for triage. While the queue holds this many, ingest answers 429.
    pub queue_capacity: u64,
    /// The `Retry-After` (seconds) sent with 429.
    pub retry_after_secs: u64,
    /// A request taking longer than this (seconds) is abandoned with 503; ingest is idempotent, so
    /// clients retry safely.
    pub request_timeout_secs: u64,
    /// Alerts the triage worker takes from the queue per step.
    pub worker_batch: u32,
    /// When the triage engine holds more deduplicated alert groups than this, it is rebuilt from the
    /// recent window in the store (as on a restart), bounding its memory.
    pub engine_max_groups: usize,
    /// Serve without tokens. Only honoured when `listen` is a loopback address: a server reachable
    /// from the network without authentication would accept forged alerts and leak incidents.
    pub allow_unauthenticated_loopback: bool,
    /// Bearer tokens and what each may do.
    pub tokens: Vec<TokenConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 10 << 20,
            queue_capacity: 100_000,
            retry_after_secs: 5,
            request_timeout_secs: 30,
            worker_batch: 500,
            engine_max_groups: 250_000,
            allow_unauthenticated_loopback: false,
            tokens: Vec::new(),
        }
    }
}

/// One API token. The secret comes from exactly one of `token_env` or `token_file`; it is kept in
/// memory only as its SHA-256 and never logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenConfig {
    /// Who holds the token; recorded as the analyst on verdicts and in logs.
    pub name: String,
    /// Environment variable holding the secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// File holding the secret (surrounding whitespace is ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    pub role: Role,
}

/// Shortest accepted token secret, in bytes.
pub const MIN_TOKEN_BYTES: usize = 16;

impl ServerConfig {
    /// Every problem at once, as (key, message). Pure: secrets are not read here.
    pub fn check(&self) -> Vec<(String, String)> {
        let mut errs = Vec::new();
        let mut err = |k: &str, m: &str| errs.push((k.to_owned(), m.to_owned()));
        if self.max_body_bytes < 1024 {
            err("max_body_bytes", "must be at least 1024");
        }
        if self.queue_capacity == 0 {
            err("queue_capacity", "must be at least 1");
        }
        if self.request_timeout_secs == 0 {
            err("request_timeout_secs", "must be at least 1");
        }
        if self.worker_batch == 0 {
            err("worker_batch", "must be at least 1");
        }
        if self.engine_max_groups == 0 {
            err("engine_max_groups", "must be at least 1");
        }
        // No tokens at all is not a config error: `picket serve` then generates an admin token, and
        // `prepare` refuses to serve without any (unless opted in on loopback).
        if self.tokens.is_empty()
            && self.allow_unauthenticated_loopback
            && !self.listen.ip().is_loopback()
        {
            err(
                "allow_unauthenticated_loopback",
                "only allowed when `listen` is a loopback address (127.0.0.1 or ::1)",
            );
        }
        let mut names = std::collections::HashSet::new();
        for (i, t) in self.tokens.iter().enumerate() {
            let key = |f: &str| format!("tokens[{i}].{f}");
            if t.name.trim().is_empty() {
                errs.push((key("name"), "must not be empty".to_owned()));
            } else if !names.insert(t.name.as_str()) {
                errs.push((key("name"), format!("`{}` is used twice", t.name)));
            }
            match (&t.token_env, &t.token_file) {
                (Some(_), Some(_)) => errs.push((
                    key("token_env"),
                    "give token_env or token_file, not both".to_owned(),
                )),
                (None, None) => {
                    errs.push((key("token_env"), "give token_env or token_file".to_owned()))
                }
                (Some(v), None) if v.trim().is_empty() => {
                    errs.push((key("token_env"), "must not be empty".to_owned()))
                }
                _ => {}
            }
        }
        errs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_check_clean_and_the_loopback_opt_in_stays_on_loopback() {
        assert!(ServerConfig::default().check().is_empty());
        let open = ServerConfig {
            allow_unauthenticated_loopback: true,
            ..Default::default()
        };
        assert!(open.check().is_empty());
        let exposed = ServerConfig {
            listen: "0.0.0.0:8080".parse().unwrap(),
            ..open
        };
        assert_eq!(exposed.check()[0].0, "allow_unauthenticated_loopback");
    }

    #[test]
    fn every_problem_is_reported() {
        let t = |name: &str, env: Option<&str>, file: Option<&str>| TokenConfig {
            name: name.into(),
            token_env: env.map(Into::into),
            token_file: file.map(Into::into),
            role: Role::Viewer,
        };
        let cfg = ServerConfig {
            max_body_bytes: 10,
            queue_capacity: 0,
            tokens: vec![
                t("a", Some("A"), Some("/a")),
                t("a", None, None),
                t("", Some("B"), None),
            ],
            ..Default::default()
        };
        let keys: Vec<String> = cfg.check().into_iter().map(|e| e.0).collect();
        assert_eq!(
            keys,
            vec![
                "max_body_bytes",
                "queue_capacity",
                "tokens[0].token_env",
                "tokens[1].name",
                "tokens[1].token_env",
                "tokens[2].name"
            ]
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let e = serde_json::from_str::<ServerConfig>(r#"{"listen":"127.0.0.1:1","bogus":1}"#);
        assert!(e.is_err());
    }
}
