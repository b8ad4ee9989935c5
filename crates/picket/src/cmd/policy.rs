//! `picket policy check|evaluate`: validate a response policy file, and see what it decides for a
//! proposed action without running anything.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use picket_policy::{History, Policy, Proposal, evaluate};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Check a policy file (TOML); every problem is reported. Without FILE: the built-in defaults.
    Check { file: Option<PathBuf> },
    /// Evaluate a proposal (JSON: action, target, params, incident, proposer, requester, protected)
    /// against a policy and an optional history (JSON: executed actions); prints the decision.
    Evaluate {
        proposal: PathBuf,
        #[arg(long)]
        policy: Option<PathBuf>,
        #[arg(long)]
        history: Option<PathBuf>,
    },
}

fn load(file: Option<&Path>) -> anyhow::Result<Policy> {
    match file {
        None => Ok(Policy::seed_defaults()),
        Some(f) => {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            Policy::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        Cmd::Check { file } => {
            let p = load(file.as_deref())?;
            println!(
                "policy {}: {} actions allowed, {} rate limits, {} blast-radius limits, breaker: {} hits on one target or {} actions within {} s",
                p.version,
                p.allow.len(),
                p.rate_limits.len(),
                p.blast_radius.len(),
                p.breaker.same_target_max,
                p.breaker.spike_max,
                p.breaker.window_secs
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Evaluate {
            proposal,
            policy,
            history,
        } => {
            let p = load(policy.as_deref())?;
            let read = |f: &Path| -> anyhow::Result<String> {
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))
            };
            let proposal: Proposal = serde_json::from_str(&read(&proposal)?)
                .with_context(|| format!("{}: not a proposal", proposal.display()))?;
            let history: History = match history {
                Some(h) => serde_json::from_str(&read(&h)?)
                    .with_context(|| format!("{}: not a history", h.display()))?,
                None => History::default(),
            };
            let d = evaluate(&p, &proposal, &history, jiff::Timestamp::now());
            println!("{}", serde_json::to_string_pretty(&d)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
