//! `picket bench`: throughput of the in-memory pipeline on a realistic mix built from the vendor
//! samples, beside the plain serde_json parse rate of the same bytes in the same run; and, given an
//! AIT-ADS file, the end-to-end triage time of a real scenario. Figures go to docs/performance.md.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args as ClapArgs;
use picket_ingest::{InputKind, Normalizer, records, split};
use picket_triage::{Engine, Knowledge, TriageConfig};
use serde_json::Value;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Folder of vendor samples, one alert per file, in per-format subfolders.
    #[arg(long, default_value = "../shared/data/alerts")]
    pub samples: PathBuf,
    /// Number of alerts in the mix.
    #[arg(long, default_value_t = 200_000)]
    pub count: usize,
    /// An AIT-ADS CSV (.csv or .csv.gz) to triage end to end with the `--config` mapping.
    #[arg(long)]
    pub ait: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Builds NDJSON of `count` alerts: each sample compacted, repeated with its source event id made
/// unique per copy (so copies are distinct events, not idempotent re-sends).
fn build_mix(samples: &Path, count: usize) -> anyhow::Result<Vec<u8>> {
    let normalizer = Normalizer::default();
    let mut bases: Vec<(String, Option<String>)> = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(samples)
        .with_context(|| format!("reading {}", samples.display()))?
        .flatten()
        .collect();
    dirs.sort_by_key(|d| d.path());
    for d in dirs.into_iter().filter(|d| d.path().is_dir()) {
        let mut files: Vec<_> = std::fs::read_dir(d.path())?
            .flatten()
            .map(|f| f.path())
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f)?;
            let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
                continue;
            };
            let compact = serde_json::to_string(&v)?;
            let recs = split(compact.as_bytes(), InputKind::Json, "bench");
            let Some(Ok(rec)) = recs.first() else {
                continue;
            };
            if let Ok(a) = normalizer.normalize(rec) {
                bases.push((compact, a.source_event_id));
            }
        }
    }
    anyhow::ensure!(
        !bases.is_empty(),
        "no usable samples under {}",
        samples.display()
    );
    let mut out = Vec::with_capacity(count * 2048);
    for i in 0..count {
        let (text, id) = &bases[i % bases.len()];
        let copy = i / bases.len();
        let line = match id {
            Some(id) if copy > 0 => {
                let quoted = serde_json::to_string(id)?;
                let unique = serde_json::to_string(&format!("{id}-{copy}"))?;
                text.replace(&quoted, &unique)
            }
            _ if copy > 0 => text.replacen('{', &format!("{{\"picket_bench_copy\":{copy},"), 1),
            _ => text.clone(),
        };
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}

struct Report {
    rows: Vec<(String, f64, String)>,
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    let mix = build_mix(&args.samples, args.count)?;
    let lines: Vec<&str> = std::str::from_utf8(&mix)?.lines().collect();
    let n = lines.len() as f64;
    let mb = mix.len() as f64 / 1e6;
    let mut report = Report { rows: Vec::new() };

    // 1. Plain serde_json parse of the same bytes, and the same bytes parsed into the borrowed tree
    //    the adapters read (picket_ingest::json). Each parser returns the top level's key count.
    let parse_secs = |parse: &dyn Fn(&str) -> anyhow::Result<usize>| -> anyhow::Result<f64> {
        let t = Instant::now();
        let mut keep = 0usize;
        for l in &lines {
            keep += parse(l)?;
        }
        std::hint::black_box(keep);
        Ok(t.elapsed().as_secs_f64())
    };
    let parse = parse_secs(&|l| {
        let v: Value = serde_json::from_str(l)?;
        Ok(v.as_object().map_or(0, |o| o.len()))
    })?;
    let tree = parse_secs(&|l| {
        let v = picket_ingest::json::Json::parse(l)?;
        Ok(v.as_object().map_or(0, |o| o.len()))
    })?;
    report.rows.push((
        "serde_json parse only (to Value)".into(),
        n / parse,
        format!("{:.0} MB/s", mb / parse),
    ));
    report.rows.push((
        "  parse into Picket's borrowed JSON tree".into(),
        n / tree,
        format!("{:.0} MB/s", mb / tree),
    ));

    // 2. The whole in-memory pipeline: split → parse → detect → normalize → extract → dedup → correlate → assess.
    let normalizer = Normalizer::default();
    let t = Instant::now();
    let mut engine = Engine::new(TriageConfig::default(), Knowledge::default());
    let mut rejected = 0usize;
    for r in records(&mix, InputKind::Json, "bench") {
        match r.and_then(|r| normalizer.normalize_owned(r)) {
            Ok(mut a) => {
                a.raw = String::new();
                engine.push(&a);
            }
            Err(_) => rejected += 1,
        }
    }
    let incidents = engine.finish();
    let pipe = t.elapsed().as_secs_f64();

    // Stage split of the same work, to show where the time goes.
    let t = Instant::now();
    let cut = records(&mix, InputKind::Json, "bench").flatten().count();
    let t_split = t.elapsed().as_secs_f64();
    std::hint::black_box(cut);
    let t = Instant::now();
    // Timed per record too, for the same stage per vendor format (records differ tenfold in size
    // between formats).
    let mut per_format: std::collections::BTreeMap<&'static str, (usize, usize, f64)> =
        std::collections::BTreeMap::new();
    for r in records(&mix, InputKind::Json, "bench").flatten() {
        let bytes = r.text().len();
        let t = Instant::now();
        let Ok(a) = normalizer.normalize_owned(r) else {
            continue;
        };
        let secs = t.elapsed().as_secs_f64();
        let e = per_format.entry(a.format.as_str()).or_default();
        e.0 += 1;
        e.1 += bytes;
        e.2 += secs;
    }
    let t_norm = t.elapsed().as_secs_f64() - t_split;
    // The alerts again, kept this time (raw included) for the triage and storage stages.
    let alerts: Vec<_> = records(&mix, InputKind::Json, "bench")
        .flatten()
        .filter_map(|r| normalizer.normalize_owned(r).ok())
        .collect();
    let t = Instant::now();
    let mut engine = Engine::new(TriageConfig::default(), Knowledge::default());
    for a in &alerts {
        engine.push(a);
    }
    let _ = engine.finish();
    let t_triage = t.elapsed().as_secs_f64();

    // 4. Persisted: the same alerts, raw JSON kept, committed to a fresh SQLite store.
    let t_store = store_seconds(&alerts, "mix")?;
    let stored = alerts.len() as f64;
    drop(alerts);
    report
        .rows
        .push(("  stage: split records".into(), n / t_split, String::new()));
    report.rows.push((
        "  stage: parse + normalize + extract".into(),
        n / t_norm,
        String::new(),
    ));
    for (format, (count, bytes, secs)) in &per_format {
        report.rows.push((
            format!("    {format}"),
            *count as f64 / secs,
            format!(
                "{} alerts, {} B each on average",
                count,
                bytes / count.max(&1)
            ),
        ));
    }
    report.rows.push((
        "  stage: dedup + correlate + assess".into(),
        n / t_triage,
        String::new(),
    ));
    report.rows.push((
        "persisted to SQLite (raw kept, 2,000 per commit)".into(),
        stored / t_store,
        String::from("synchronous=FULL, WAL"),
    ));
    report.rows.push((
        "pipeline (normalize → assess)".into(),
        n / pipe,
        format!(
            "{:.2}× parse rate, {} incidents, {rejected} rejected",
            parse / pipe,
            incidents.len()
        ),
    ));

    // 3. A real scenario end to end (CSV through the config's mapping).
    if let Some(ait) = &args.ait {
        let input = super::pipeline::InputArgs {
            files: vec![ait.clone()],
            format: None,
            mapping: None,
            input: "auto".into(),
            warninglists: None,
        };
        let t = Instant::now();
        let normalizer = super::pipeline::normalizer(&cfg, &input)?;
        let lists = super::pipeline::warninglists(&cfg, &input)?;
        let mut alerts = Vec::new();
        let stats = super::pipeline::each(&input, &normalizer, lists.as_ref(), true, |a| {
            alerts.push(a.alert);
        })?;
        alerts.sort_by_key(|a| a.time);
        // Memory the engine holds for the whole scenario, every alert kept in its state (the worst
        // case: nothing evicted), from its own accounting of table capacities and strings.
        let mut engine = Engine::new(cfg.triage.clone(), super::pipeline::knowledge(&cfg)?);
        for a in &alerts {
            engine.push(a);
        }
        let held = Some(engine.approx_heap_bytes());
        let incidents = engine.finish();
        let secs = t.elapsed().as_secs_f64();
        // Persisted, small records: the first 200,000 of the scenario's alerts with their CSV rows.
        let sample = &alerts[..alerts.len().min(200_000)];
        let t_store = store_seconds(sample, "ait")?;
        report.rows.push((
            "  persisted to SQLite (AIT-ADS rows, raw kept)".into(),
            sample.len() as f64 / t_store,
            format!("{} alerts", sample.len()),
        ));
        if let Some(held) = held {
            report.rows.push((
                "  engine memory held per alert (bytes)".into(),
                held as f64 / alerts.len().max(1) as f64,
                format!(
                    "{:.0} MB for {} alerts, {} groups",
                    held as f64 / 1e6,
                    alerts.len(),
                    engine_groups(&incidents)
                ),
            ));
        }
        report.rows.push((
            format!("AIT-ADS end to end ({} alerts)", stats.alerts),
            stats.alerts as f64 / secs,
            format!("{secs:.2} s, {} incidents", incidents.len()),
        ));
    }

    if args.json {
        let rows: Vec<Value> = report
            .rows
            .iter()
            .map(|(name, value, note)| {
                let key = if name.contains("(bytes)") {
                    "bytes"
                } else {
                    "alerts_per_sec"
                };
                serde_json::json!({"name": name.trim(), key: value.round(), "note": note})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"alerts": lines.len(), "bytes": mix.len(), "results": rows})
            )?
        );
    } else {
        println!(
            "mix: {} alerts, {:.1} MB, from {}",
            lines.len(),
            mb,
            args.samples.display()
        );
        for (name, rate, note) in &report.rows {
            let unit = if name.contains("(bytes)") {
                "bytes   "
            } else {
                "alerts/s"
            };
            println!("{name:<48} {rate:>12.0} {unit}   {note}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn engine_groups(incidents: &[picket_core::Incident]) -> usize {
    incidents.iter().map(|i| i.alerts.len()).sum()
}

/// Seconds to commit `alerts` (raw kept) to a fresh SQLite store, 2,000 per transaction.
fn store_seconds(alerts: &[picket_core::Alert], tag: &str) -> anyhow::Result<f64> {
    let dir = std::env::temp_dir().join(format!("picket-bench-{tag}-{}", std::process::id()));
    let secs = super::persist::runtime()?.block_on(async {
        let store = super::persist::open(&dir).await?;
        let t = Instant::now();
        for chunk in alerts.chunks(2_000) {
            picket_store::Store::insert_alerts(&store, chunk).await?;
        }
        let secs = t.elapsed().as_secs_f64();
        picket_store::Store::close(&store).await;
        anyhow::Ok(secs)
    });
    let _ = std::fs::remove_dir_all(&dir);
    secs
}
