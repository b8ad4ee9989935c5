//! `picket responders list|check`: the responder kinds Picket speaks, and the configured instances.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args as ClapArgs, Subcommand};

use super::pipeline;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Every responder kind: the actions it performs, their undo, and which are safe to resume.
    List,
    /// Check the configured `[[responders]]` (settings, secrets readable) and show how each action
    /// is routed. Sends nothing to any vendor.
    Check,
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Cmd::List => {
            for k in picket_respond::responders::KINDS {
                let defaults = (k.actions)(&picket_respond::ResponderConfig::new("x", k.name));
                let acts: Vec<String> = defaults
                    .iter()
                    .map(|d| {
                        format!(
                            "{}{}{}",
                            d.action,
                            d.undo
                                .as_deref()
                                .map(|u| format!(" (undo: {u})"))
                                .unwrap_or_default(),
                            if d.idempotent { "" } else { " [not resumable]" }
                        )
                    })
                    .collect();
                println!("{:<12} {}", k.name, k.description);
                println!("{:<12} secret: {}; docs: {}", "", k.secret, k.docs);
                if !acts.is_empty() {
                    println!("{:<12} actions: {}", "", acts.join(", "));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Check => {
            let cfg = crate::config::load(config)?;
            if cfg.responders.is_empty() {
                println!("no [[responders]] configured: approved actions fail with `no_responder`");
                return Ok(ExitCode::SUCCESS);
            }
            let built = pipeline::responders(&cfg, Arc::new(picket_enrich::TracingObserver))?;
            for c in built.list() {
                let acts: Vec<String> = c
                    .actions
                    .iter()
                    .map(|d| match &d.undo {
                        Some(u) => format!("{} (undo: {u})", d.action),
                        None => d.action.clone(),
                    })
                    .collect();
                println!("ok  {} ({}): {}", c.name, c.kind, acts.join(", "));
            }
            for a in picket_policy::default_catalog() {
                if built.route(&a.name, None).is_none() {
                    println!("--  `{}` has no responder", a.name);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
