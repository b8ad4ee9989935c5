//! `picket actions …`: the review queue and response control from a terminal, through the running
//! service's API (so roles, approvals and the audit trail apply exactly as for any other client).
//!
//! The token comes from `PICKET_TOKEN` or `--token-file`; the address from `--url`/`PICKET_URL`, else
//! `server.listen` of the config.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use serde_json::{Value, json};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The service's address (default: http://<server.listen>).
    #[arg(long, env = "PICKET_URL", global = true)]
    pub url: Option<String>,
    /// File holding the API token (default: the PICKET_TOKEN environment variable).
    #[arg(long, global = true)]
    pub token_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Actions, newest first (`--state awaiting_approval` is the review queue).
    List {
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One action: its exact parameters, the policy decision and reasons, approvals, execution.
    Show { id: String },
    /// Approve an action, bound to the exact parameters shown by `show`.
    Approve {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Reject an action.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Roll back a succeeded action: proposes its recorded undo through the policy.
    Rollback {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Whether automated response runs or is paused.
    Status,
    /// Pause automated response (pages on-call).
    Pause {
        #[arg(long)]
        reason: String,
    },
    /// Resume automated response.
    Resume {
        #[arg(long)]
        reason: String,
    },
}

/// A client of the running service's API, as one user (the token).
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    /// The address from `url`, else `server.listen`; the token from `token_file`, else
    /// `PICKET_TOKEN`. `timeout` bounds each request.
    pub(crate) fn connect(
        cfg: &crate::config::Config,
        url: Option<String>,
        token_file: Option<&Path>,
        timeout: std::time::Duration,
    ) -> anyhow::Result<Self> {
        let base = url
            .unwrap_or_else(|| format!("http://{}", cfg.server.listen))
            .trim_end_matches('/')
            .to_owned();
        let token = match token_file {
            Some(f) => picket_enrich::Secret::from_file(f),
            None => picket_enrich::Secret::from_env("PICKET_TOKEN"),
        }
        .map_err(|e| anyhow::anyhow!("API token: {e} (set PICKET_TOKEN or --token-file)"))?;
        Ok(Self {
            http: reqwest::Client::builder().timeout(timeout).build()?,
            base,
            token: token.expose().to_owned(),
        })
    }

    pub(crate) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .with_context(|| format!("cannot reach the Picket service at {}", self.base))?;
        let status = resp.status();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let msg = v["message"].as_str().unwrap_or("no message");
            anyhow::bail!(
                "HTTP {}: {} ({msg})",
                status.as_u16(),
                v["code"].as_str().unwrap_or("error")
            );
        }
        Ok(v)
    }
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    let client = Client::connect(
        &cfg,
        args.url,
        args.token_file.as_deref(),
        std::time::Duration::from_secs(30),
    )?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run_cmd(&client, args.command))
}

async fn run_cmd(c: &Client, cmd: Cmd) -> anyhow::Result<ExitCode> {
    use reqwest::Method;
    let out = match cmd {
        Cmd::List { state, limit } => {
            let q = match state {
                Some(s) => format!("?state={s}&limit={limit}"),
                None => format!("?limit={limit}"),
            };
            let v = c
                .send(Method::GET, &format!("/api/v1/actions{q}"), None)
                .await?;
            for a in v.as_array().into_iter().flatten() {
                println!("{}", serde_json::to_string(a)?);
            }
            return Ok(ExitCode::SUCCESS);
        }
        Cmd::Show { id } => {
            c.send(Method::GET, &format!("/api/v1/actions/{id}"), None)
                .await?
        }
        Cmd::Approve { id, reason } => approval(c, &id, true, &reason).await?,
        Cmd::Reject { id, reason } => approval(c, &id, false, &reason).await?,
        Cmd::Rollback { id, reason } => {
            c.send(
                Method::POST,
                &format!("/api/v1/actions/{id}/rollback"),
                Some(json!({"reason": reason})),
            )
            .await?
        }
        Cmd::Status => c.send(Method::GET, "/api/v1/response", None).await?,
        Cmd::Pause { reason } => {
            c.send(
                Method::POST,
                "/api/v1/response",
                Some(json!({"paused": true, "reason": reason})),
            )
            .await?
        }
        Cmd::Resume { reason } => {
            c.send(
                Method::POST,
                "/api/v1/response",
                Some(json!({"paused": false, "reason": reason})),
            )
            .await?
        }
    };
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

/// Approves or rejects exactly the action as fetched now: its approval hash goes with the approval,
/// so an action changed in between is refused (409) rather than approved blind.
async fn approval(c: &Client, id: &str, approve: bool, reason: &str) -> anyhow::Result<Value> {
    let v = c
        .send(reqwest::Method::GET, &format!("/api/v1/actions/{id}"), None)
        .await?;
    let a = &v["action"];
    eprintln!(
        "{} {} `{}` on `{}` with params {} (policy: {})",
        if approve { "approving" } else { "rejecting" },
        a["id"].as_str().unwrap_or(id),
        a["proposal"]["action"].as_str().unwrap_or("?"),
        a["proposal"]["target"].as_str().unwrap_or(""),
        a["proposal"]["params"],
        a["decision"]["reasons"]
    );
    let hash = a["decision"]["approval_hash"].as_str().unwrap_or_default();
    c.send(
        reqwest::Method::POST,
        &format!("/api/v1/actions/{id}/approval"),
        Some(json!({"approve": approve, "reason": reason, "approval_hash": hash})),
    )
    .await
}
