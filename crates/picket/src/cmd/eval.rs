//! `picket eval`: replays labelled alerts through the same pipeline as `picket triage` (read,
//! normalize, sort by event time, correlate, assess) and scores Picket against the labels: quality
//! at each escalation threshold, automation, attack phases reached, throughput, the manual
//! baseline, and event-time figures (docs/evaluation.md). The figures come from `picket-eval`.
//!
//! Exit status: 0 when the evaluation ran (rejected records are reported on stderr and counted as
//! left to a human), 1 on a fatal error (unreadable input or labels, bad config, labels triage could
//! see).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use picket_core::SourceFormat;
use picket_eval::{IncidentFacts, Label, Minutes, Options, Row};
use picket_ingest::{InputKind, RawRecord, split};
use picket_triage::Engine;

use super::pipeline::{self, InputArgs};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Labelled alert files: JSON object, JSON array, NDJSON, or CSV (gzip-compressed is fine).
    #[arg(required = true)]
    pub files: Vec<String>,
    /// Labels as JSON lines, one per alert: `{"file": "alerts.ndjson", "line": 3, "label": "..."}`
    /// (an input row: the file as given or its name, and the 1-based line its record starts on) or
    /// `{"alert": "al_…", "label": "..."}` (a normalized alert id). Without it, labels are read from
    /// the CSV column `--label-column`.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// CSV column holding each row's label (when there is no `--labels`). The config's mapping must
    /// list it in `ignore`, so that triage never sees it.
    #[arg(long, default_value = "time_label")]
    pub label_column: String,
    /// The label of a false positive; any other non-empty label names an attack phase.
    #[arg(long, default_value = "false_positive")]
    pub benign_label: String,
    /// Analyst minutes to look at one alert by hand: a range `LOW-HIGH` or one figure.
    #[arg(long, default_value = "15-30", value_name = "MINUTES")]
    pub minutes_per_alert: Minutes,
    /// Analyst minutes per incident Picket escalates (default: `--minutes-per-alert`).
    #[arg(long, value_name = "MINUTES")]
    pub minutes_per_incident: Option<Minutes>,
    /// `table` for the terminal, or `json`: one document with every figure.
    #[arg(long, value_parser = ["table", "json"], default_value = "table")]
    pub format: String,
    /// Write the charts here (created if missing): precision-recall.svg, volume.svg,
    /// time-to-triage.svg.
    #[arg(long, value_name = "DIR")]
    pub charts: Option<PathBuf>,
    /// Read every record as this alert format instead of detecting it (see `picket formats`).
    #[arg(long, value_parser = parse_format)]
    pub alert_format: Option<SourceFormat>,
    /// Generic mapping (a `[[mappings]]` name in the config) for CSV input or `--alert-format generic`.
    #[arg(long)]
    pub mapping: Option<String>,
    /// Read inputs as CSV (or JSON) whatever their names say.
    #[arg(long, value_parser = ["auto", "json", "csv"], default_value = "auto")]
    pub input: String,
    /// MISP warninglists directory (overrides `knowledge.warninglists`).
    #[arg(long)]
    pub warninglists: Option<PathBuf>,
}

fn parse_format(s: &str) -> Result<SourceFormat, String> {
    SourceFormat::parse(s).ok_or_else(|| {
        let all: Vec<&str> = SourceFormat::ALL.iter().map(|f| f.as_str()).collect();
        format!("unknown format `{s}`; one of: {}", all.join(", "))
    })
}

/// A label given for one input, and whether some row used it.
struct Given {
    label: Label,
    used: bool,
}

/// Labels by input row (input index, 1-based line) and by alert id.
#[derive(Default)]
struct LabelBook {
    by_row: HashMap<(usize, u64), Given>,
    by_alert: HashMap<String, Given>,
    /// Labels naming a file that is not among the inputs.
    other_files: u64,
    /// Where the labels came from, for the report.
    source: String,
}

impl LabelBook {
    fn insert_row(&mut self, key: (usize, u64), label: Label) -> Option<Label> {
        self.by_row
            .insert(key, Given { label, used: false })
            .map(|g| g.label)
    }

    fn of(&mut self, row: (usize, u64), alert: Option<&str>) -> Option<Label> {
        if let Some(g) = self.by_row.get_mut(&row) {
            g.used = true;
            return Some(g.label.clone());
        }
        let g = self.by_alert.get_mut(alert?)?;
        g.used = true;
        Some(g.label.clone())
    }

    fn unmatched(&self) -> u64 {
        self.other_files
            + self.by_row.values().filter(|g| !g.used).count() as u64
            + self.by_alert.values().filter(|g| !g.used).count() as u64
    }

    fn entries(&self) -> u64 {
        self.other_files + self.by_row.len() as u64 + self.by_alert.len() as u64
    }
}

fn forced_kind(input: &str) -> Option<InputKind> {
    match input {
        "json" => Some(InputKind::Json),
        "csv" => Some(InputKind::Csv),
        _ => None,
    }
}

/// Reads the label column of every CSV input.
fn column_labels(args: &Args) -> anyhow::Result<LabelBook> {
    let col = args.label_column.as_str();
    let mut book = LabelBook {
        source: format!("CSV column `{col}`"),
        ..LabelBook::default()
    };
    for (idx, file) in args.files.iter().enumerate() {
        if file == "-" {
            bail!(
                "the label column is read from the inputs before the replay, so stdin (`-`) cannot \
                 be an input here: name the file, or give the labels with --labels FILE"
            );
        }
        let (bytes, by_name) = crate::input::read(file)?;
        let kind = forced_kind(&args.input).unwrap_or(by_name);
        let mut column: Option<usize> = None;
        for rec in split(&bytes, kind, file) {
            match rec {
                Ok(RawRecord::Csv {
                    headers,
                    values,
                    location,
                    ..
                }) => {
                    let at = match column {
                        Some(at) => at,
                        None => {
                            let at = headers.iter().position(|h| h.trim() == col).with_context(
                                || {
                                    format!(
                                        "{file}: the CSV header has no column `{col}` (columns: {}); \
                                         name the label column with --label-column, or give the \
                                         labels with --labels FILE",
                                        headers.join(", ")
                                    )
                                },
                            )?;
                            column = Some(at);
                            at
                        }
                    };
                    if let Some(label) = values
                        .get(at)
                        .and_then(|v| Label::parse(v, &args.benign_label))
                    {
                        book.insert_row((idx, location.line), label);
                    }
                }
                Ok(RawRecord::Json { location, .. }) => bail!(
                    "{location}: a JSON record, but labels are read from the CSV column `{col}`: \
                     give JSON alerts their labels with --labels FILE"
                ),
                // Unreadable records are reported (and counted) by the replay.
                Err(_) => {}
            }
        }
    }
    Ok(book)
}

/// Reads a labels file (JSON lines).
fn file_labels(path: &Path, files: &[String], benign: &str) -> anyhow::Result<LabelBook> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).with_context(|| format!("reading labels {shown}"))?;
    let mut book = LabelBook {
        source: format!("labels file {shown}"),
        ..LabelBook::default()
    };
    let name_of = |f: &str| {
        Path::new(f)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    };
    for (n, line) in text.lines().enumerate() {
        let at = format!("{shown}:{}", n + 1);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("{at}: not JSON"))?;
        let Some(obj) = v.as_object() else {
            bail!(
                "{at}: expected a JSON object such as {{\"file\": \"alerts.csv\", \"line\": 2, \"label\": \"dirb\"}}"
            );
        };
        if let Some(k) = obj
            .keys()
            .find(|k| !["alert", "file", "line", "label"].contains(&k.as_str()))
        {
            bail!("{at}: unknown key `{k}` (known: alert, file, line, label)");
        }
        let Some(label) = obj.get("label").and_then(|l| l.as_str()) else {
            bail!("{at}: `label` must be a string");
        };
        let label = Label::parse(label, benign);
        match (obj.get("alert"), obj.get("file"), obj.get("line")) {
            (Some(a), None, None) => {
                let Some(id) = a.as_str().filter(|s| !s.is_empty()) else {
                    bail!("{at}: `alert` must be an alert id (a non-empty string)");
                };
                let Some(label) = label else { continue };
                if let Some(old) = book.by_alert.get(id)
                    && old.label != label
                {
                    bail!("{at}: alert `{id}` is labelled twice, differently");
                }
                book.by_alert
                    .insert(id.to_owned(), Given { label, used: false });
            }
            (None, Some(f), Some(l)) => {
                let Some(f) = f.as_str() else {
                    bail!("{at}: `file` must be a string (an input file, as given or by name)");
                };
                let Some(l) = l.as_u64().filter(|l| *l >= 1) else {
                    bail!("{at}: `line` must be a line number (1 or more)");
                };
                let exact: Vec<usize> = (0..files.len()).filter(|&i| files[i] == f).collect();
                let idx = if let Some(&i) = exact.first() {
                    Some(i)
                } else {
                    let by_name: Vec<usize> = (0..files.len())
                        .filter(|&i| name_of(&files[i]).as_deref() == Some(f))
                        .collect();
                    if by_name.len() > 1 {
                        bail!(
                            "{at}: `{f}` names several inputs ({}); give the path as on the command line",
                            by_name
                                .iter()
                                .map(|&i| files[i].as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        );
                    }
                    by_name.first().copied()
                };
                let Some(label) = label else { continue };
                match idx {
                    Some(i) => {
                        if let Some(old) = book.insert_row((i, l), label.clone())
                            && old != label
                        {
                            bail!("{at}: {f}:{l} is labelled twice, differently");
                        }
                    }
                    None => book.other_files += 1,
                }
            }
            _ => bail!(
                "{at}: give either `alert` (an alert id) or both `file` and `line` (an input row)"
            ),
        }
    }
    Ok(book)
}

/// Records, for every incident that changed since the last call and is now escalated, the event
/// time `at` if it is the first time it is seen escalated.
fn track(engine: &mut Engine, at: i64, escalated_at: &mut HashMap<String, i64>) {
    for inc in engine.drain_updated() {
        if inc.escalation.needs_human() {
            escalated_at.entry(inc.id).or_insert(at);
        }
    }
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    let input = InputArgs {
        files: args.files.clone(),
        format: args.alert_format,
        mapping: args.mapping.clone(),
        input: args.input.clone(),
        warninglists: args.warninglists.clone(),
    };
    let normalizer = pipeline::normalizer(&cfg, &input)?;
    let mut book = match &args.labels {
        Some(path) => file_labels(path, &args.files, &args.benign_label)?,
        None => {
            let col = &args.label_column;
            let mapping = match &args.mapping {
                Some(name) => cfg.mapping(name),
                None if cfg.mappings.len() == 1 => cfg.mappings.first(),
                None => None,
            };
            let Some(mapping) = mapping else {
                bail!(
                    "no labels: without --labels FILE, labels are read from the CSV column `{col}`, \
                     and CSV input needs a [[mappings]] entry in the config (see \
                     examples/ait-ads.toml), chosen with --mapping NAME when there are several"
                );
            };
            if !mapping.ignore.iter().any(|f| f == col) {
                bail!(
                    "the label column `{col}` is not in the `ignore` list of mapping `{}`{}: triage \
                     would read the labels. Add it (ignore = [\"{col}\"]) so Picket never sees them",
                    mapping.name,
                    cfg.path
                        .as_deref()
                        .map(|p| format!(" in {}", p.display()))
                        .unwrap_or_default()
                );
            }
            column_labels(&args)?
        }
    };

    // The replay, timed: what `picket triage` does without --reorder-secs (read every input, feed
    // the engine in event-time order, finish). The bookkeeping of the evaluation (re-assessing
    // changed incidents after each second of event time, mapping alerts to incidents) is timed
    // apart and left out of the wall time.
    let started = Instant::now();
    let mut bookkeeping = Duration::ZERO;
    let lists = pipeline::warninglists(&cfg, &input)?;
    let knowledge = pipeline::knowledge_in(&cfg, &cfg.resolve(&cfg.store.data_dir))?;
    let mut engine = Engine::new(cfg.triage.clone(), knowledge);
    let index: HashMap<&str, usize> = args
        .files
        .iter()
        .enumerate()
        .rev()
        .map(|(i, f)| (if f == "-" { "<stdin>" } else { f.as_str() }, i))
        .collect();
    let mut alerts: Vec<(picket_core::Alert, usize, u64)> = Vec::new();
    let stats = pipeline::each(&input, &normalizer, lists.as_ref(), false, |a| {
        let idx = index.get(a.location.source.as_str()).copied().unwrap_or(0);
        alerts.push((a.alert, idx, a.location.line));
    })?;
    let mut order: Vec<usize> = (0..alerts.len()).collect();
    order.sort_by_key(|&i| alerts[i].0.time);
    let mut escalated_at: HashMap<String, i64> = HashMap::new();
    let mut current: Option<i64> = None;
    for &i in &order {
        let t = alerts[i].0.time.as_second();
        if let Some(c) = current
            && t > c
        {
            let s = Instant::now();
            track(&mut engine, c, &mut escalated_at);
            bookkeeping += s.elapsed();
        }
        current = Some(t);
        engine.push(&alerts[i].0);
    }
    let s = Instant::now();
    if let Some(c) = current {
        track(&mut engine, c, &mut escalated_at);
    }
    let mut incident_ids: HashMap<String, usize> = HashMap::new();
    let mut placed: Vec<Option<usize>> = Vec::with_capacity(alerts.len());
    for (a, _, _) in &alerts {
        placed.push(engine.incident_of(&a.id).map(|id| {
            let n = incident_ids.len();
            *incident_ids.entry(id.to_owned()).or_insert(n)
        }));
    }
    bookkeeping += s.elapsed();
    let incidents = engine.finish();
    let wall = started.elapsed().saturating_sub(bookkeeping).as_secs_f64();

    // Rows: every record read, in input order; rejected records last (they have no event time).
    let mut position: Vec<Option<usize>> = vec![None; incident_ids.len()];
    for (k, inc) in incidents.iter().enumerate() {
        if let Some(&local) = incident_ids.get(&inc.id) {
            position[local] = Some(k);
        }
    }
    let mut rows: Vec<Row> = Vec::with_capacity(alerts.len() + stats.rejected.len());
    for ((a, idx, line), local) in alerts.iter().zip(&placed) {
        rows.push(Row {
            label: book.of((*idx, *line), Some(&a.id)),
            incident: local.and_then(|l| position[l]),
            time: Some(a.time.as_second()),
            rule: Some(a.rule.name.clone()),
        });
    }
    drop(alerts);
    for e in &stats.rejected {
        let idx = index.get(e.location.source.as_str()).copied().unwrap_or(0);
        rows.push(Row {
            label: book.of((idx, e.location.line), None),
            ..Row::default()
        });
    }
    let facts: Vec<IncidentFacts> = incidents
        .iter()
        .map(|i| IncidentFacts::of(i, escalated_at.get(&i.id).copied()))
        .collect();
    let report = picket_eval::evaluate(
        &rows,
        &facts,
        &Options {
            minutes_per_alert: args.minutes_per_alert,
            minutes_per_incident: args.minutes_per_incident,
            wall_secs: wall,
            overhead_secs: bookkeeping.as_secs_f64(),
        },
    );

    let unmatched = book.unmatched();
    if unmatched > 0 {
        eprintln!(
            "picket: warning: {unmatched} of {} labels match no input row or alert",
            book.entries()
        );
    }
    if report.alerts.labelled == 0 {
        eprintln!(
            "picket: warning: no input row has a label ({}): quality figures are empty",
            book.source
        );
    }
    if !stats.rejected.is_empty() {
        eprintln!(
            "picket: {} of {} records rejected (see above): counted as left to a human",
            stats.rejected.len(),
            stats.records
        );
    }

    let title = title(&args.files);
    if let Some(dir) = &args.charts {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, svg) in picket_eval::svg::all(&report, &title) {
            let path = dir.join(name);
            std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    if args.format == "json" {
        let mut doc = serde_json::to_value(&report)?;
        if let Some(obj) = doc.as_object_mut() {
            obj.insert("inputs".into(), serde_json::json!(args.files));
            obj.insert(
                "config".into(),
                serde_json::json!(cfg.path.as_deref().map(|p| p.display().to_string())),
            );
            obj.insert(
                "labels".into(),
                serde_json::json!({
                    "source": book.source,
                    "benign_label": args.benign_label,
                    "entries": book.entries(),
                    "unmatched": unmatched,
                }),
            );
            obj.insert(
                "malice_score".into(),
                serde_json::json!(
                    "malicious 0.75+0.25c, suspicious 0.5+0.25c, needs_review 0.5-0.25c, benign 0.25-0.25c (c = confidence)"
                ),
            );
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", picket_eval::render_text(&report, &title));
        println!("labels: {}", book.source);
    }
    Ok(ExitCode::SUCCESS)
}

/// The inputs, shortly: the first file's name without extensions, and how many more.
fn title(files: &[String]) -> String {
    let first = files.first().map_or("", String::as_str);
    let name = Path::new(first)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| first.to_owned());
    let stem = name.split('.').next().unwrap_or(&name).to_owned();
    match files.len() {
        0 | 1 => stem,
        n => format!("{stem} and {} more", n - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles() {
        assert_eq!(title(&["../x/fox_alerts.csv.gz".into()]), "fox_alerts");
        assert_eq!(title(&["a.json".into(), "b.json".into()]), "a and 1 more");
    }
}
