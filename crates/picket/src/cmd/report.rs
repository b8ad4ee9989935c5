//! `picket report INCIDENT`: the incident report draft (Markdown, or HTML with `--html`) from a store.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args as ClapArgs;

use super::persist;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// The incident id (`inc_…`).
    pub incident: String,
    /// Data directory (default: `store.data_dir` from the config, ./picket-data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// HTML instead of Markdown.
    #[arg(long)]
    pub html: bool,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    let dir = args
        .data_dir
        .clone()
        .unwrap_or_else(|| cfg.resolve(&cfg.store.data_dir));
    if !dir.join("picket.db").exists() {
        bail!("no Picket store in {} (give --data-dir)", dir.display());
    }
    let format = if args.html {
        picket_server::ReportFormat::Html
    } else {
        picket_server::ReportFormat::Markdown
    };
    let text = persist::runtime()?.block_on(async {
        let store = persist::open(&dir).await?;
        let r = picket_server::incident_report(&store, &args.incident, format).await;
        picket_store::Store::close(&store).await;
        r.context("reading the store")
    })?;
    let Some(text) = text else {
        bail!("no incident `{}` in {}", args.incident, dir.display());
    };
    match &args.output {
        Some(f) => std::fs::write(f, text).with_context(|| format!("writing {}", f.display()))?,
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
