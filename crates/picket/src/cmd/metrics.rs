//! `picket metrics`: the SOC metrics of a store (docs/metrics.md) in the terminal, or as JSON.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use jiff::Timestamp;
use picket_metrics::{Durations, Filter, Ratio, SocMetrics};
use picket_store::Store;

use super::persist;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Data directory (default: `store.data_dir` from the config, ./picket-data).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Start of the range (RFC 3339); default: 30 days before --until.
    #[arg(long)]
    pub since: Option<Timestamp>,
    /// End of the range (RFC 3339); default: now.
    #[arg(long)]
    pub until: Option<Timestamp>,
    /// Only incidents with an alert from this source format.
    #[arg(long)]
    pub source: Option<String>,
    /// Only incidents with a rule key containing this.
    #[arg(long)]
    pub rule: Option<String>,
    #[arg(long, value_parser = ["P1", "P2", "P3", "P4"])]
    pub priority: Option<String>,
    /// One JSON document instead of the table.
    #[arg(long)]
    pub json: bool,
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
    let until = args.until.unwrap_or_else(Timestamp::now);
    let since = args
        .since
        .unwrap_or_else(|| picket_metrics::default_since(until));
    if since > until {
        bail!("--since is after --until");
    }
    let filter = Filter {
        source: args.source.clone(),
        rule: args.rule.clone(),
        priority: args
            .priority
            .as_deref()
            .and_then(picket_core::Priority::parse),
    };
    let life = persist::runtime()?.block_on(async {
        let store = persist::open(&dir).await?;
        let life = store.lifecycle(since, until).await;
        store.close().await;
        life.context("reading the store")
    })?;
    let m = picket_metrics::compute(&life, &filter, &cfg.metrics.settings(), since, until);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&m)?);
    } else {
        print!("{}", table(&m));
    }
    Ok(ExitCode::SUCCESS)
}

fn secs(v: Option<f64>) -> String {
    match v {
        None => "—".into(),
        Some(s) if s < 120.0 => format!("{s:.1} s"),
        Some(s) if s < 7200.0 => format!("{:.1} min", s / 60.0),
        Some(s) => format!("{:.1} h", s / 3600.0),
    }
}

fn pct(r: &Ratio) -> String {
    match r.rate {
        None => format!("— (0/{})", r.denominator),
        Some(x) => format!("{:.1}% ({}/{})", x * 100.0, r.numerator, r.denominator),
    }
}

fn met(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "met",
        Some(false) => "NOT MET",
        None => "no data",
    }
}

fn dur_row(name: &str, d: &Durations, target: &str) -> String {
    format!(
        "{name:<34} {:>10} {:>10} {:>10} {:>6}  {target}{}\n",
        secs(d.mean_secs),
        secs(d.median_secs),
        secs(d.p90_secs),
        d.count,
        if d.target_secs.is_some() {
            format!(" ({})", met(d.met))
        } else {
            String::new()
        }
    )
}

fn table(m: &SocMetrics) -> String {
    let mut out = format!(
        "SOC metrics {} → {}: {} incidents, {} alerts\n\n",
        m.since, m.until, m.incidents, m.alerts
    );
    out += &format!(
        "{:<34} {:>10} {:>10} {:>10} {:>6}  target\n",
        "time", "mean", "median", "p90", "n"
    );
    out += &dur_row(
        "to triage (ingested → triaged)",
        &m.time_to_triage,
        "< 5 min",
    );
    out += &dur_row("detection → triage", &m.time_from_detection_to_triage, "");
    out += &dur_row(
        "to acknowledge (escalated → human)",
        &m.time_to_acknowledge,
        "",
    );
    out += &dur_row(
        "to respond (detected → contained)",
        &m.time_to_respond,
        "< 30 min",
    );
    out += &dur_row("to detect (attack start → detected)", &m.time_to_detect, "");
    out += "\n";
    let t = |r: &Ratio| {
        r.target
            .as_ref()
            .map(|t| {
                format!(
                    "{} {:.0}% ({})",
                    if t.direction == "above" { ">" } else { "<" },
                    t.value * 100.0,
                    met(t.met)
                )
            })
            .unwrap_or_default()
    };
    for (name, r) in [
        ("automation (no human)", &m.automation),
        (
            "automation, low severity (P3–P4)",
            &m.automation_low_severity,
        ),
        ("human override rate", &m.override_rate),
        ("verdict precision vs analysts", &m.accuracy.precision),
        ("verdict recall vs analysts", &m.accuracy.recall),
    ] {
        out += &format!("{name:<34} {:<24} {}\n", pct(r), t(r));
    }
    let c = &m.investigation_completeness;
    out += &format!(
        "{:<34} {:<24} > 80% ({})\n",
        "investigation completeness",
        c.mean
            .map(|x| format!(
                "{:.1}% (median {:.0}%)",
                x * 100.0,
                c.median.unwrap_or(0.0) * 100.0
            ))
            .unwrap_or_else(|| "—".into()),
        met(c.target.met)
    );
    let fp = &m.false_positives;
    out += &format!(
        "{:<34} {} benign incidents ({} alerts): {:.0} analyst h manually → {:.1} h with Picket{}\n",
        "false positives",
        fp.incidents,
        fp.alerts,
        fp.minutes_before / 60.0,
        fp.minutes_after / 60.0,
        fp.reduction
            .map(|r| format!(" ({:.1}% less)", r * 100.0))
            .unwrap_or_default()
    );
    out += &format!(
        "{:<34} {} per incident (compute {:.4}, LLM {:.4}, analyst {:.2}; total {:.2})\n",
        "cost",
        m.cost
            .per_incident
            .map(|c| format!("{c:.2}"))
            .unwrap_or_else(|| "—".into()),
        m.cost.compute,
        m.cost.llm,
        m.cost.analyst,
        m.cost.total
    );
    if !m.by_priority.is_empty() {
        out += "\nby priority: ";
        out += &m
            .by_priority
            .iter()
            .map(|(p, g)| {
                format!(
                    "{p} {} incidents, automation {}",
                    g.incidents,
                    pct(&g.automation)
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        out += "\n";
    }
    if !m.by_source.is_empty() {
        out += "by source:   ";
        out += &m
            .by_source
            .iter()
            .map(|(s, g)| format!("{s} {} incidents", g.incidents))
            .collect::<Vec<_>>()
            .join("; ");
        out += "\n";
    }
    out
}
