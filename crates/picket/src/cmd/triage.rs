//! `picket triage`: offline triage of alert files, one JSON line per incident.
//!
//! Exit status: 0 when every record was read, 2 when some were rejected (the rest are still triaged),
//! 1 on a fatal error (unreadable file, bad config).

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Args as ClapArgs;
use picket_triage::Engine;

use super::pipeline::{self, InputArgs};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(flatten)]
    pub input: InputArgs,
    /// Also write, for every record read, which incident it ended in (NDJSON `{source, line, alert,
    /// incident}`; rejected records get `incident: null` and their error `code`).
    #[arg(long, value_name = "FILE")]
    pub assignments: Option<std::path::PathBuf>,
    /// Print a summary (alerts, incidents by verdict and escalation) on stderr at the end.
    #[arg(long)]
    pub summary: bool,
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    let normalizer = pipeline::normalizer(&cfg, &args.input)?;
    let lists = pipeline::warninglists(&cfg, &args.input)?;
    let knowledge = pipeline::knowledge(&cfg)?;
    let mut loaded = pipeline::load(&args.input, &normalizer, lists.as_ref(), false)?;
    // Correlation reads alerts in event-time order; the sort is stable so equal times keep input order.
    loaded.alerts.sort_by_key(|a| a.alert.time);
    let mut engine = Engine::new(cfg.triage.clone(), knowledge);
    for a in &loaded.alerts {
        engine.push(&a.alert);
    }
    if let Some(path) = &args.assignments {
        write_assignments(path, &loaded, &engine)?;
    }
    let incidents = engine.finish();
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    for inc in &incidents {
        serde_json::to_writer(&mut out, inc)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    if args.summary {
        let mut by: std::collections::BTreeMap<String, u64> = Default::default();
        for i in &incidents {
            *by.entry(format!("{}/{}", i.verdict.as_str(), i.escalation.as_str()))
                .or_default() += 1;
        }
        eprintln!(
            "picket: {} records, {} alerts, {} rejected, {} incidents: {}",
            loaded.records,
            loaded.alerts.len(),
            loaded.rejected.len(),
            incidents.len(),
            by.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if !loaded.rejected.is_empty() {
        eprintln!(
            "picket: {} of {} records rejected (see above); the rest were triaged",
            loaded.rejected.len(),
            loaded.records
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

fn write_assignments(
    path: &Path,
    loaded: &pipeline::Loaded,
    engine: &Engine,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(f);
    for a in &loaded.alerts {
        let line = serde_json::json!({
            "source": a.location.source, "line": a.location.line, "alert": a.alert.id,
            "incident": engine.incident_of(&a.alert.id),
        });
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    for e in &loaded.rejected {
        let line = serde_json::json!({
            "source": e.location.source, "line": e.location.line, "alert": null, "incident": null, "code": e.code,
        });
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
