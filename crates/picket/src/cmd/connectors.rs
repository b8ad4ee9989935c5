//! `picket connectors list` and `picket connectors check`: what providers exist, and whether each
//! configured connector reaches its source with the credentials it was given.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args as ClapArgs, Subcommand};
use picket_enrich::{Source, TracingObserver, build_source, providers};

use crate::config::{self, Config};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// The providers Picket can talk to, their indicator kinds and documented quotas, and the
    /// connectors configured in picket.toml.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run each configured connector's healthcheck (one cheap authenticated call). Exits 1 when any
    /// fails.
    Check {
        /// Only this connector.
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let cfg = config::load(config)?;
    match args.command {
        Cmd::List { json } => list(&cfg, json),
        Cmd::Check { name, json } => check(&cfg, name.as_deref(), json),
    }
}

fn quota(q: picket_enrich::Quota) -> String {
    match (q.per_minute, q.per_day) {
        (None, None) => "no documented limit".into(),
        (Some(m), None) => format!("{m}/min"),
        (None, Some(d)) => format!("{d}/day"),
        (Some(m), Some(d)) => format!("{m}/min, {d}/day"),
    }
}

fn list(cfg: &Config, json: bool) -> anyhow::Result<ExitCode> {
    for p in providers::PROVIDERS {
        let kinds: Vec<&str> = p.kinds.iter().map(|k| k.as_str()).collect();
        let key = match p.key {
            picket_enrich::KeyUse::Required => "required",
            picket_enrich::KeyUse::Optional => "optional",
            picket_enrich::KeyUse::None => "none",
        };
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "provider": p.name, "description": p.description, "kinds": kinds,
                    "api_key": key, "online": p.http, "default_base_url": p.default_base_url,
                    "quota": {"per_minute": p.quota.per_minute, "per_day": p.quota.per_day},
                    "docs": p.docs,
                })
            );
        } else {
            println!("{:<16} {}", p.name, p.description);
            println!(
                "{:<16}   kinds: {}; key: {key}; quota: {}; {}",
                "",
                kinds.join(", "),
                quota(p.quota),
                p.docs
            );
        }
    }
    if !json {
        println!();
        if cfg.connectors.is_empty() {
            println!(
                "No connectors configured (add [[connectors]] to picket.toml; see `picket init`)."
            );
        }
        for c in &cfg.connectors {
            println!(
                "configured: {:<14} provider {}{}",
                c.name,
                c.provider,
                if c.enabled { "" } else { " (disabled)" }
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn check(cfg: &Config, only: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let chosen: Vec<_> = cfg
        .connectors
        .iter()
        .filter(|c| only.is_none_or(|n| c.name == n))
        .collect();
    if chosen.is_empty() {
        anyhow::bail!(match only {
            Some(n) => format!("no connector named `{n}` in the config"),
            None => "no connectors configured".to_owned(),
        });
    }
    let base = cfg
        .path
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let rt = tokio::runtime::Runtime::new()?;
    let mut failed = 0;
    for c in chosen {
        let started = std::time::Instant::now();
        let outcome: Result<String, picket_enrich::ConnectorError> = if !c.enabled {
            Ok("disabled in config: skipped".into())
        } else {
            match build_source(c, &base, Arc::new(TracingObserver)) {
                Err(e) => Err(e),
                Ok(Source { connector, .. }) => {
                    // The healthcheck's own requests time out; this bounds retries as well.
                    let limit = Duration::from_millis(c.timeout_ms) * (c.retries + 1)
                        + Duration::from_secs(30);
                    rt.block_on(async {
                        tokio::time::timeout(limit, connector.healthcheck())
                            .await
                            .unwrap_or(Err(picket_enrich::ConnectorError::Timeout(limit)))
                    })
                }
            }
        };
        let ms = started.elapsed().as_millis();
        match &outcome {
            Ok(what) if json => println!(
                "{}",
                serde_json::json!({"connector": c.name, "provider": c.provider, "ok": true, "detail": what, "ms": ms})
            ),
            Ok(what) => println!("ok    {:<14} {:<12} {what} ({ms} ms)", c.name, c.provider),
            Err(e) => {
                failed += 1;
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"connector": c.name, "provider": c.provider, "ok": false, "code": e.code(), "detail": e.to_string(), "ms": ms})
                    );
                } else {
                    println!(
                        "FAIL  {:<14} {:<12} {}: {e} ({ms} ms)",
                        c.name,
                        c.provider,
                        e.code()
                    );
                }
            }
        }
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
