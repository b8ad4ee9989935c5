//! `picket triage`: offline triage of alert files, one JSON line per incident.
//!
//! Exit status: 0 when every record was read, 2 when some were rejected (the rest are still triaged),
//! 1 on a fatal error (unreadable file, bad config).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use clap::Args as ClapArgs;
use picket_core::Alert;
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
    /// Stream instead of reading everything first: alerts up to this many seconds out of event-time
    /// order (and at most 20,000 waiting) are put back in order before correlation; later stragglers are
    /// correlated as they come. Default: read all inputs, then correlate in event-time order.
    #[arg(long)]
    pub reorder_secs: Option<u64>,
    /// Keep everything in the embedded database under this directory (created if missing; the same
    /// one `picket serve` uses): alerts with their raw bytes, rejected records, incidents. Its history
    /// (analyst verdicts, how often rules fire) feeds the assessment. Without it nothing is written.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,
    /// Print a summary (alerts, incidents by verdict and escalation) on stderr at the end.
    #[arg(long)]
    pub summary: bool,
    /// Look the indicators up with the `[[connectors]]` of the config before assessing (online ones
    /// reach out to their providers; see docs/enrichment.md). Off by default: triage stays offline.
    #[arg(long)]
    pub enrich: bool,
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    let normalizer = pipeline::normalizer(&cfg, &args.input)?;
    let lists = pipeline::warninglists(&cfg, &args.input)?;
    let mut knowledge = pipeline::knowledge_in(
        &cfg,
        &args
            .data_dir
            .clone()
            .unwrap_or_else(|| cfg.resolve(&cfg.store.data_dir)),
    )?;
    // With --data-dir: the shared store, its history (analyst feedback, rule baseline) feeding the
    // assessment, and every alert and rejected record kept.
    let sources = if args.enrich {
        let s = match &args.data_dir {
            Some(d) => pipeline::sources_in(&cfg, d)?,
            None => pipeline::sources(&cfg)?,
        };
        if s.is_empty() {
            anyhow::bail!("--enrich: no enabled [[connectors]] in the config (see `picket init`)");
        }
        s
    } else {
        Vec::new()
    };
    let rt = (args.data_dir.is_some() || args.enrich)
        .then(super::persist::runtime)
        .transpose()?;
    let store = match (&args.data_dir, &rt) {
        (Some(dir), Some(rt)) => Some(rt.block_on(async {
            let store = super::persist::open(dir).await?;
            super::persist::load_history(&store, &mut knowledge).await?;
            anyhow::Ok(store)
        })?),
        _ => None,
    };
    let mut sorted: Vec<Alert> = Vec::new();
    // By default every alert is read before correlation starts (a full sort by event time: exports
    // are often grouped by detector, days apart); `--reorder-secs` bounds memory for endless streams.
    let mut reorder = match args.reorder_secs {
        Some(w) => Reorder::new(w, REORDER_CAP),
        None => Reorder::new(u64::MAX / 2, usize::MAX),
    };
    let mut engine = Engine::new(cfg.triage.clone(), knowledge);
    let mut placed: Vec<(String, String, u64)> = Vec::new();
    let mut indicators: Vec<picket_core::Observable> = Vec::new();
    let mut seen_indicators = std::collections::HashSet::new();
    let persisting = store.is_some();
    let mut feed = |x: Alert| {
        if persisting {
            sorted.push(x);
        } else {
            engine.push(&x);
        }
    };
    let stats = pipeline::each(&args.input, &normalizer, lists.as_ref(), persisting, |a| {
        if args.assignments.is_some() {
            placed.push((
                a.alert.id.clone(),
                a.location.source.clone(),
                a.location.line,
            ));
        }
        if args.enrich {
            for o in &a.alert.observables {
                if seen_indicators.insert((o.kind, o.value.clone())) {
                    indicators.push(o.clone());
                }
            }
        }
        reorder.push(a.alert, &mut feed);
    })?;
    reorder.drain(&mut feed);
    if let (Some(store), Some(rt)) = (&store, &rt) {
        let (inserted, duplicates) = rt.block_on(super::persist::ingest_and_triage(
            store,
            std::mem::take(&mut sorted),
            &stats.rejected,
            &mut engine,
        ))?;
        eprintln!(
            "picket: stored {inserted} new alerts ({duplicates} already stored) and {} rejected records in {}",
            stats.rejected.len(),
            args.data_dir.as_deref().unwrap_or(Path::new("")).display()
        );
    }
    if let Some(path) = &args.assignments {
        write_assignments(path, &placed, &stats, &engine)?;
    }
    if args.enrich
        && let Some(rt) = &rt
    {
        let backend: Option<std::sync::Arc<dyn picket_enrich::CacheBackend>> =
            store.as_ref().map(|s| {
                let s: std::sync::Arc<dyn picket_store::Store> = std::sync::Arc::new(s.clone());
                std::sync::Arc::new(picket_server::StoreCache(s)) as _
            });
        let enricher =
            pipeline::enricher(&cfg, sources, backend).expect("sources checked non-empty above");
        let answers = rt.block_on(enrich_all(enricher, indicators));
        engine.add_intel(answers);
    }
    let incidents = engine.finish();
    if let (Some(store), Some(rt)) = (store, &rt) {
        rt.block_on(super::persist::finish(store, &incidents))?;
    }
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
            stats.records,
            stats.alerts,
            stats.rejected.len(),
            incidents.len(),
            by.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if !stats.rejected.is_empty() {
        eprintln!(
            "picket: {} of {} records rejected (see above); the rest were triaged",
            stats.rejected.len(),
            stats.records
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// With `--reorder-secs`, at most this many alerts wait in the reorder buffer, whatever their times.
const REORDER_CAP: usize = 20_000;

/// Puts alerts back in event-time order within a window before the engine sees them, so input need
/// not be sorted and memory stays bounded: only alerts younger than the window (or the newest
/// `cap`) are held.
struct Reorder {
    heap: BinaryHeap<Reverse<Pending>>,
    window: i64,
    cap: usize,
    newest: i64,
    seq: u64,
}

struct Pending(jiff::Timestamp, u64, Alert);

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.0, self.1) == (o.0, o.1)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.0, self.1).cmp(&(o.0, o.1))
    }
}

impl Reorder {
    fn new(window_secs: u64, cap: usize) -> Self {
        Self {
            heap: BinaryHeap::new(),
            window: window_secs as i64,
            cap,
            newest: i64::MIN,
            seq: 0,
        }
    }

    fn push(&mut self, a: Alert, out: &mut impl FnMut(Alert)) {
        self.newest = self.newest.max(a.time.as_second());
        self.seq += 1;
        self.heap.push(Reverse(Pending(a.time, self.seq, a)));
        while let Some(Reverse(oldest)) = self.heap.peek() {
            if self.heap.len() > self.cap || self.newest - oldest.0.as_second() > self.window {
                let Reverse(Pending(_, _, a)) = self.heap.pop().expect("peeked");
                out(a);
            } else {
                break;
            }
        }
    }

    fn drain(&mut self, out: &mut impl FnMut(Alert)) {
        while let Some(Reverse(Pending(_, _, a))) = self.heap.pop() {
            out(a);
        }
    }
}

fn write_assignments(
    path: &Path,
    placed: &[(String, String, u64)],
    stats: &pipeline::Stats,
    engine: &Engine,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let f = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(f);
    for (id, source, line) in placed {
        let line = serde_json::json!({
            "source": source, "line": line, "alert": id, "incident": engine.incident_of(id),
        });
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    for e in &stats.rejected {
        let line = serde_json::json!({
            "source": e.location.source, "line": e.location.line, "alert": null, "incident": null, "code": e.code,
        });
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// Enriches every indicator, a few batches of `max_indicators` at a time, each under the deadline.
async fn enrich_all(
    enricher: std::sync::Arc<picket_enrich::Enricher>,
    indicators: Vec<picket_core::Observable>,
) -> Vec<picket_core::IndicatorEnrichment> {
    let chunk = enricher.config().max_indicators.max(1);
    let mut set = tokio::task::JoinSet::new();
    let mut out = Vec::new();
    let (mut partial, total) = (0usize, indicators.len());
    for (i, c) in indicators.chunks(chunk).enumerate() {
        if set.len() >= 8
            && let Some(Ok(e)) = set.join_next().await
        {
            let e: picket_core::AlertEnrichment = e;
            partial += usize::from(e.partial);
            out.extend(e.indicators);
        }
        let (en, c) = (enricher.clone(), c.to_vec());
        set.spawn(async move { en.enrich(&format!("batch:{i}"), &c).await });
    }
    while let Some(r) = set.join_next().await {
        if let Ok(e) = r {
            partial += usize::from(e.partial);
            out.extend(e.indicators);
        }
    }
    let malicious = out
        .iter()
        .filter(|i| i.verdict == picket_core::IntelVerdict::Malicious)
        .count();
    eprintln!(
        "picket: enriched {total} indicators ({malicious} malicious){}",
        if partial > 0 {
            format!("; {partial} batch(es) partial (failures listed on the incidents)")
        } else {
            String::new()
        }
    );
    out
}
