//! `picket extract`: indicators in free text, one JSON line each:
//! `{"type": T, "value": V, "field": "text:LINE"}` plus `labels` for IP classes and `benign_lists`
//! when warninglists are configured. Each indicator is printed once, at its first line.

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args as ClapArgs;
use picket_ingest::extract::Extractor;
use serde::Serialize;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// A text file, or `-` for stdin.
    pub file: String,
    /// MISP warninglists directory (overrides `knowledge.warninglists`).
    #[arg(long)]
    pub warninglists: Option<PathBuf>,
}

#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    value: &'a str,
    field: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    labels: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    benign_lists: Option<&'a [String]>,
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    let lists = match (&args.warninglists, &cfg.knowledge.warninglists) {
        (Some(d), _) => Some(d.clone()),
        (None, Some(d)) => Some(cfg.resolve(d)),
        _ => None,
    }
    .map(|dir| crate::cmd::pipeline::load_warninglists(&dir))
    .transpose()?;
    let (bytes, _) = crate::input::read(&args.file)?;
    let text = String::from_utf8_lossy(&bytes);
    let extractor = Extractor::new();
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        extractor.extract_text(line, &format!("text:{}", i + 1), &mut found);
    }
    if let Some(l) = &lists {
        l.annotate(&mut found);
    }
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut seen = HashSet::new();
    for o in &found {
        if !seen.insert((o.kind, o.value.clone())) {
            continue;
        }
        let line = Line {
            kind: o.kind.as_str(),
            value: &o.value,
            field: &o.field,
            labels: &o.labels,
            benign_lists: lists.as_ref().map(|_| o.benign_lists.as_slice()),
        };
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
