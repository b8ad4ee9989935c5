//! `picket incidents` and `picket verdict`: read stored incidents and give analyst feedback from the
//! terminal, on the same store the service and `triage --data-dir` use.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use picket_core::{IncidentStatus, Priority, Verdict};
use picket_store::{IncidentFilter, Store, VerdictRecord};

use super::persist;

#[derive(Debug, ClapArgs)]
pub struct ListArgs {
    /// Data directory (default: `store.data_dir` from the config, ./picket-data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Only this status: open, closed.
    #[arg(long, value_parser = ["open", "closed"])]
    pub status: Option<String>,
    /// Only this verdict: malicious, suspicious, benign, needs_review.
    #[arg(long, value_parser = ["malicious", "suspicious", "benign", "needs_review"])]
    pub verdict: Option<String>,
    /// Only this priority: P1..P4.
    #[arg(long, value_parser = ["P1", "P2", "P3", "P4"])]
    pub priority: Option<String>,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
}

#[derive(Debug, ClapArgs)]
pub struct VerdictArgs {
    /// The incident id (`inc_…`).
    pub incident: String,
    /// The analyst's verdict.
    #[arg(value_parser = ["malicious", "suspicious", "benign", "needs_review"])]
    pub verdict: String,
    /// Why (kept with the verdict).
    #[arg(long)]
    pub note: Option<String>,
    /// Who gives it (default: $USER).
    #[arg(long, env = "USER")]
    pub analyst: Option<String>,
    /// Data directory (default: `store.data_dir` from the config, ./picket-data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

fn data_dir(config: Option<&Path>, flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(d) = flag {
        return Ok(d);
    }
    let cfg = crate::config::load(config)?;
    Ok(cfg.resolve(&cfg.store.data_dir))
}

fn existing(dir: &Path) -> anyhow::Result<()> {
    if !dir.join("picket.db").exists() {
        bail!(
            "no Picket database in {} (run `picket serve` or `picket triage --data-dir {}` first)",
            dir.display(),
            dir.display()
        );
    }
    Ok(())
}

pub fn list(config: Option<&Path>, args: ListArgs) -> anyhow::Result<ExitCode> {
    let dir = data_dir(config, args.data_dir)?;
    existing(&dir)?;
    let filter = IncidentFilter {
        status: args.status.as_deref().map(|s| {
            if s == "open" {
                IncidentStatus::Open
            } else {
                IncidentStatus::Closed
            }
        }),
        verdict: args.verdict.as_deref().and_then(Verdict::parse),
        priority: args.priority.as_deref().and_then(Priority::parse),
        limit: args.limit,
        ..IncidentFilter::default()
    };
    let incidents = persist::runtime()?.block_on(async {
        let store = persist::open(&dir).await?;
        let v = store.list_incidents(&filter).await?;
        store.close().await;
        anyhow::Ok(v)
    })?;
    for i in incidents {
        println!("{}", serde_json::to_string(&i)?);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn verdict(config: Option<&Path>, args: VerdictArgs) -> anyhow::Result<ExitCode> {
    let dir = data_dir(config, args.data_dir)?;
    existing(&dir)?;
    let verdict = Verdict::parse(&args.verdict).context("verdict")?;
    let analyst = args
        .analyst
        .filter(|a| !a.trim().is_empty())
        .unwrap_or_else(|| "cli".to_owned());
    persist::runtime()?.block_on(async {
        let store = persist::open(&dir).await?;
        let Some(incident) = store.get_incident(&args.incident).await? else {
            bail!("no incident `{}` in {}", args.incident, dir.display());
        };
        store
            .record_verdict(&VerdictRecord {
                incident_id: incident.id.clone(),
                engine_verdict: Some(incident.verdict),
                verdict,
                analyst: analyst.clone(),
                note: args.note.clone(),
                at: jiff::Timestamp::now(),
            })
            .await?;
        store.close().await;
        eprintln!(
            "picket: recorded {} by {analyst} on {} (engine said {}); later assessments of its rules will weigh it",
            verdict.as_str(),
            incident.id,
            incident.verdict.as_str()
        );
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
