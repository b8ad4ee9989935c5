//! `picket export stix|misp`: incidents as STIX 2.1 bundles or MISP events, one JSON document per line
//! (one per incident), for sharing with other teams and platforms (docs/export.md).
//!
//! From the store (`--incident ID --data-dir DIR`) the export also reads the incident's alerts, which
//! add endpoint roles, file names and per-indicator times; from incident lines (`--from FILE`, as
//! `picket triage` prints them) it has the incident alone.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args as ClapArgs, ValueEnum};
use picket_core::{Alert, Incident};
use picket_export::ExportOptions;
use picket_store::Store;

use super::persist;

/// Alerts read per exported incident; a larger incident is exported with its first ones.
const MAX_ALERTS: usize = 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A STIX 2.1 bundle.
    Stix,
    /// A MISP event in MISP core format.
    Misp,
}

#[derive(Debug, ClapArgs)]
#[command(group = clap::ArgGroup::new("source").required(true).args(["incident", "from"]))]
pub struct Args {
    /// What to write.
    #[arg(value_enum)]
    pub format: Format,
    /// A stored incident id (`inc_…`); repeat for several.
    #[arg(long, value_name = "ID")]
    pub incident: Vec<String>,
    /// Incident lines as `picket triage` prints them (`-` for stdin).
    #[arg(long, value_name = "FILE", conflicts_with = "data_dir")]
    pub from: Option<PathBuf>,
    /// Data directory of the store (default: `store.data_dir` from the config, ./picket-data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Traffic Light Protocol marking: clear (white), green, amber, amber+strict, red.
    #[arg(long, value_name = "LEVEL")]
    pub tlp: Option<String>,
    /// TLP standard for the STIX marking definitions: 2 (TLP 2.0) or 1 (TLP 1.0).
    #[arg(long, value_name = "VERSION", default_value = "2")]
    pub tlp_version: String,
    /// The producing organisation's name.
    #[arg(long, value_name = "NAME", default_value = picket_export::DEFAULT_PRODUCER)]
    pub producer: String,
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let options = ExportOptions::parse(
        Some(&args.producer),
        args.tlp.as_deref(),
        Some(&args.tlp_version),
    )?;
    let export = |incident: &Incident, alerts: &[Alert]| match args.format {
        Format::Stix => picket_export::stix_bundle(incident, alerts, &options),
        Format::Misp => picket_export::misp_event(incident, alerts, &options),
    };
    let mut out = std::io::stdout().lock();
    if let Some(path) = &args.from {
        let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
            Box::new(BufReader::new(std::io::stdin()))
        } else {
            let file =
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            Box::new(BufReader::new(file))
        };
        for (n, line) in reader.lines().enumerate() {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let incident: Incident = serde_json::from_str(&line)
                .with_context(|| format!("{}:{}: not an incident line", path.display(), n + 1))?;
            writeln!(out, "{}", export(&incident, &[]))?;
        }
        return Ok(ExitCode::SUCCESS);
    }

    let dir = match args.data_dir {
        Some(d) => d,
        None => {
            let cfg = crate::config::load(config)?;
            cfg.resolve(&cfg.store.data_dir)
        }
    };
    if !dir.join("picket.db").exists() {
        bail!(
            "no Picket database in {} (run `picket serve` or `picket triage --data-dir {}` first)",
            dir.display(),
            dir.display()
        );
    }
    let found = persist::runtime()?.block_on(async {
        let store = persist::open(&dir).await?;
        let mut found = Vec::new();
        for id in &args.incident {
            let Some(incident) = store.get_incident(id).await? else {
                store.close().await;
                bail!("no incident `{id}` in {}", dir.display());
            };
            let mut alerts = Vec::new();
            for r in incident.alerts.iter().take(MAX_ALERTS) {
                if let Some(stored) = store.get_alert(&r.id).await? {
                    alerts.push(stored.alert);
                }
            }
            found.push((incident, alerts));
        }
        store.close().await;
        anyhow::Ok(found)
    })?;
    for (incident, alerts) in &found {
        writeln!(out, "{}", export(incident, alerts))?;
    }
    Ok(ExitCode::SUCCESS)
}
