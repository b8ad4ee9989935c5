//! Read-only SIEM search: a bounded query in the team's SIEM during an investigation, for the LLM
//! agent's `siem_search` tool and for analysts.
//!
//! One [`Siem`] trait, one file per vendor in [`vendors`], one row per vendor in
//! [`vendors::KINDS`]. Data path: `[[siem]]` entries ([`SiemConfig`], checked by [`check`] without
//! I/O) → [`build`] (secret read, HTTP client made, the vendor row's `build`) → an `Arc<dyn Siem>`
//! wrapped so that every vendor behaves the same way: the query is validated (non-empty, a time
//! range with `from <= to`), the limit is clamped to the entry's `max_limit`, and each returned event
//! is cut to [`MAX_EVENT_BYTES`] so a tool result stays bounded.
//!
//! HTTP goes through [`picket_enrich::Http`]: per-request timeout, bounded retries honouring
//! `Retry-After`, the secret removed from every reply body, errors without URLs or keys.

mod bound;
mod config;
mod siem;
pub mod vendors;

use std::collections::HashSet;
use std::sync::Arc;

pub use bound::{MAX_EVENT_BYTES, MAX_QUERY_CHARS, cap_event};
pub use config::SiemConfig;
pub use picket_enrich::{CallEvent, Observer, Recorder, TracingObserver};
pub use siem::{Siem, SiemError, SiemQuery, SiemResult};
pub use vendors::{Context, KINDS, Kind};

/// Checks every `[[siem]]` entry without I/O, duplicate names included. Every problem at once, as
/// `(key, message)` with keys like `siem[0].base_url`.
pub fn check(configs: &[SiemConfig]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut names = HashSet::new();
    for (i, c) in configs.iter().enumerate() {
        for (k, m) in c.check() {
            out.push((format!("siem[{i}].{k}"), m));
        }
        if !names.insert(c.name.as_str()) {
            out.push((
                format!("siem[{i}].name"),
                format!("SIEM `{}` is defined twice", c.name),
            ));
        }
    }
    out
}

/// Builds one SIEM connector, logging its HTTP calls through `tracing` at debug level. Reads the
/// secret (environment variable or file) here; a problem is reported by the variable or file name,
/// never by value. The entry is checked first: a config problem is a `config` error.
pub fn build(cfg: &SiemConfig) -> Result<Arc<dyn Siem>, SiemError> {
    build_with(
        cfg,
        Context {
            observer: Arc::new(TracingObserver),
        },
    )
}

/// [`build`] with an observer that receives one [`CallEvent`] per HTTP request (telemetry, the
/// audit trail); events never carry a secret or a query string.
pub fn build_with(cfg: &SiemConfig, ctx: Context) -> Result<Arc<dyn Siem>, SiemError> {
    let problems = cfg.check();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(|(k, m)| format!("{k}: {m}")).collect();
        return Err(SiemError::Config(format!(
            "SIEM `{}`: {}",
            cfg.name,
            list.join("; ")
        )));
    }
    let kind = vendors::find(&cfg.kind)
        .ok_or_else(|| SiemError::Config(format!("unknown SIEM kind `{}`", cfg.kind)))?;
    let inner = (kind.build)(cfg, ctx)?;
    Ok(Arc::new(bound::Bounded::new(inner, cfg.max_limit)))
}
