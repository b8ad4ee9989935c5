//! `picket attack import|lookup|coverage`: the MITRE ATT&CK knowledge base (the Enterprise STIX
//! bundle users download themselves) and which techniques incidents have shown.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use picket_intel::AttackCatalog;
use picket_intel::attack::Unresolved;
use picket_store::{IncidentFilter, IncidentPages, Store};

use super::pipeline;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Check an Enterprise ATT&CK STIX bundle (2.0 or 2.1) and install it into the data directory,
    /// where `triage` and `serve` find it.
    Import {
        file: PathBuf,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// What an ATT&CK id stands for today (revoked ids show their replacement). Exit 1 when it is
    /// unknown or deprecated.
    Lookup {
        id: String,
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Which techniques incidents have shown: from the store, or from `picket triage` output.
    Coverage {
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Incident lines (NDJSON, `-` for stdin) instead of the store.
        #[arg(long, value_name = "FILE")]
        from: Option<String>,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    let dir = |d: Option<PathBuf>| d.unwrap_or_else(|| cfg.resolve(&cfg.store.data_dir));
    match args.command {
        Cmd::Import { file, data_dir } => import(&file, &dir(data_dir)),
        Cmd::Lookup { id, data_dir } => {
            let catalog = pipeline::attack_catalog(&cfg, &dir(data_dir))?.context(
                "no ATT&CK bundle: run `picket attack import enterprise-attack.json` first",
            )?;
            lookup(&catalog, &id)
        }
        Cmd::Coverage {
            data_dir,
            from,
            json,
        } => {
            let d = dir(data_dir);
            let catalog = pipeline::attack_catalog(&cfg, &d)?;
            coverage(&d, from.as_deref(), json, catalog.as_deref())
        }
    }
}

fn import(file: &Path, data_dir: &Path) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let c = AttackCatalog::from_bundle(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let s = c.stats();
    let dest_dir = data_dir.join("attack");
    std::fs::create_dir_all(&dest_dir)
        .with_context(|| format!("creating {}", dest_dir.display()))?;
    let dest = dest_dir.join("enterprise-attack.json");
    let tmp = dest_dir.join("enterprise-attack.json.tmp");
    std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &dest).with_context(|| format!("installing {}", dest.display()))?;
    println!(
        "imported {}: {} techniques, {} sub-techniques, {} tactics ({} revoked and {} deprecated ids resolved or withheld) into {}",
        c.version,
        s.techniques,
        s.sub_techniques,
        s.tactics,
        s.revoked,
        s.deprecated,
        dest.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn lookup(c: &AttackCatalog, id: &str) -> anyhow::Result<ExitCode> {
    match c.resolve(id) {
        Ok(r) => {
            println!(
                "{}",
                serde_json::json!({
                    "id": r.id, "name": r.name, "full_name": c.full_name(&r.id), "tactics": r.tactics,
                    "parent": r.parent, "replaces": r.replaces,
                })
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let why = match e {
                Unresolved::Unknown => "not in the loaded ATT&CK bundle",
                Unresolved::Deprecated => "deprecated, with no replacement: Picket never emits it",
                Unresolved::RevokedWithoutReplacement => {
                    "revoked, and no current replacement is recorded"
                }
            };
            eprintln!("picket: {id}: {why} ({})", c.version);
            Ok(ExitCode::FAILURE)
        }
    }
}

fn coverage(
    data_dir: &Path,
    from: Option<&str>,
    json: bool,
    catalog: Option<&AttackCatalog>,
) -> anyhow::Result<ExitCode> {
    let incidents: Vec<picket_core::Incident> = match from {
        Some(f) => {
            let (bytes, _) = crate::input::read(f)?;
            let mut out = Vec::new();
            for (i, line) in bytes.lines().enumerate() {
                let line = line?;
                if line.trim().is_empty() {
                    continue;
                }
                out.push(
                    serde_json::from_str(&line)
                        .with_context(|| format!("{f}:{}: not an incident line", i + 1))?,
                );
            }
            out
        }
        None => {
            let rt = super::persist::runtime()?;
            rt.block_on(async {
                let store = super::persist::open(data_dir).await?;
                let mut all = Vec::new();
                let mut pages = IncidentPages::new(IncidentFilter {
                    limit: 1000,
                    ..IncidentFilter::default()
                });
                while let Some(page) = pages.next(&store).await? {
                    all.extend(page);
                }
                store.close().await;
                anyhow::Ok(all)
            })?
        }
    };
    let rows = picket_triage::coverage::coverage(&incidents, catalog);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        for r in &rows {
            serde_json::to_writer(&mut out, r)?;
            out.write_all(b"\n")?;
        }
    } else {
        writeln!(
            out,
            "{:<11} {:<9} {:>7}  {:<22} name",
            "technique", "incidents", "alerts", "tactics"
        )?;
        for r in &rows {
            writeln!(
                out,
                "{:<11} {:<9} {:>7}  {:<22} {}",
                r.technique,
                r.incidents,
                r.alerts,
                r.tactics.join(","),
                r.name.as_deref().unwrap_or("")
            )?;
        }
        writeln!(
            out,
            "{} techniques seen in {} incidents",
            rows.len(),
            incidents.len()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
