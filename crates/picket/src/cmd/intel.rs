//! `picket intel poll`: fetch what syncing sources (TAXII collections) have added since the last
//! poll into the data directory. The service does this by itself every `poll_interval_secs`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args as ClapArgs, Subcommand};

use super::pipeline;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Poll every syncing connector (or only `--connector NAME`). Exits 1 when a poll fails.
    Poll {
        #[arg(long)]
        connector: Option<String>,
        /// Data directory (default: `store.data_dir` from the config, ./picket-data).
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    let Cmd::Poll {
        connector,
        data_dir,
    } = args.command;
    let data_dir = data_dir.unwrap_or_else(|| cfg.resolve(&cfg.store.data_dir));
    let mut chosen = cfg.clone();
    chosen
        .connectors
        .retain(|c| connector.as_deref().is_none_or(|n| c.name == n));
    if chosen.connectors.is_empty() {
        anyhow::bail!(match connector {
            Some(n) => format!("no connector named `{n}` in the config"),
            None => "no connectors configured".to_owned(),
        });
    }
    let sources = pipeline::sources_in(&chosen, &data_dir)?;
    let rt = super::persist::runtime()?;
    let mut failed = 0;
    let mut polled = 0;
    for s in &sources {
        match rt.block_on(s.connector.refresh()) {
            Ok(Some(what)) => {
                polled += 1;
                println!("ok    {:<14} {what}", s.name());
            }
            Ok(None) => {}
            Err(e) => {
                failed += 1;
                println!("FAIL  {:<14} {}: {e}", s.name(), e.code());
            }
        }
    }
    if polled + failed == 0 {
        eprintln!("picket: none of the chosen connectors syncs data (only taxii does)");
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
