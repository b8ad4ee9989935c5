//! `picket investigate INCIDENT`: asks the running service's LLM agent to investigate an incident
//! (through the API, so roles, the policy and the audit trail apply), and prints the investigation
//! or its past ones.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args as ClapArgs;
use reqwest::Method;
use serde_json::{Value, json};

use super::actions::Client;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The incident id.
    pub incident: String,
    /// pipeline, parallel, supervisor_worker, blackboard or consensus (default: the playbook's,
    /// the first matching `[[agent.routes]]`, else `[agent] mode`).
    #[arg(long)]
    pub mode: Option<String>,
    /// Queue it and return at once instead of waiting for the result.
    #[arg(long)]
    pub no_wait: bool,
    /// Print the incident's past investigations instead of starting one.
    #[arg(long)]
    pub list: bool,
    /// The service's address (default: http://<server.listen>).
    #[arg(long, env = "PICKET_URL")]
    pub url: Option<String>,
    /// File holding the API token (default: the PICKET_TOKEN environment variable).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    // Waiting covers the agent's whole deadline.
    let timeout = std::time::Duration::from_secs(cfg.agent.deadline_secs.saturating_add(30));
    let c = Client::connect(&cfg, args.url, args.token_file.as_deref(), timeout)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let id = args.incident;
    let out: Value = rt.block_on(async {
        if args.list {
            c.send(
                Method::GET,
                &format!("/api/v1/incidents/{id}/investigations"),
                None,
            )
            .await
        } else {
            c.send(
                Method::POST,
                &format!("/api/v1/incidents/{id}/investigate"),
                Some(json!({"mode": args.mode, "wait": !args.no_wait})),
            )
            .await
        }
    })?;
    if let Some(d) = out.get("degraded").filter(|d| !d.is_null()) {
        eprintln!(
            "picket: the investigation degraded at {} ({}): the deterministic result stands",
            d["step"].as_str().unwrap_or("?"),
            d["code"].as_str().unwrap_or("?")
        );
    }
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}
