//! What `triage` and `normalize` share: picking adapters from flags and config, loading knowledge,
//! and reading inputs into alerts while reporting bad records on stderr with file:line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressStyle};
use picket_core::{Alert, SourceFormat};
use picket_ingest::{InputKind, Normalizer, NormalizerOptions, RecordError, records};
pub use picket_intel::warninglists::Warninglists;
use picket_triage::knowledge::CompiledSuppression;
use picket_triage::{Inventory, Knowledge};
use rayon::prelude::*;

use crate::config::Config;

/// Input selection shared by `triage` and `normalize`.
#[derive(Debug, Clone, ClapArgs)]
pub struct InputArgs {
    /// Alert files: JSON object, JSON array, NDJSON, or CSV (gzip-compressed is fine); `-` for stdin.
    #[arg(required = true)]
    pub files: Vec<String>,
    /// Read every record as this format instead of detecting it (see `picket formats`).
    #[arg(long, value_parser = parse_format)]
    pub format: Option<SourceFormat>,
    /// Generic mapping (a `[[mappings]]` name in the config) for CSV input or `--format generic`.
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

pub fn normalizer(cfg: &Config, args: &InputArgs) -> anyhow::Result<Normalizer> {
    let mapping = match &args.mapping {
        Some(name) => Some(cfg.mapping(name).cloned().with_context(|| {
            let known: Vec<&str> = cfg.mappings.iter().map(|m| m.name.as_str()).collect();
            format!(
                "no mapping `{name}` in the config (known: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )
        })?),
        None if cfg.mappings.len() == 1 => Some(cfg.mappings[0].clone()),
        None => None,
    };
    Normalizer::new(NormalizerOptions {
        format: args.format,
        mapping,
        max_record_bytes: 0,
    })
    .map_err(anyhow::Error::msg)
}

pub fn warninglists(cfg: &Config, args: &InputArgs) -> anyhow::Result<Option<Warninglists>> {
    let dir = match (&args.warninglists, &cfg.knowledge.warninglists) {
        (Some(d), _) => d.clone(),
        (None, Some(d)) => cfg.resolve(d),
        (None, None) => return Ok(None),
    };
    Ok(Some(load_warninglists(&dir)?))
}

/// The ATT&CK catalog: `knowledge.attack` if set, else the one `picket attack import` put in
/// `data_dir`, else none.
pub fn attack_catalog(
    cfg: &Config,
    data_dir: &std::path::Path,
) -> anyhow::Result<Option<std::sync::Arc<picket_intel::AttackCatalog>>> {
    let path = match &cfg.knowledge.attack {
        Some(p) => cfg.resolve(p),
        None => {
            let p = data_dir.join("attack/enterprise-attack.json");
            if !p.exists() {
                return Ok(None);
            }
            p
        }
    };
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let c = picket_intel::AttackCatalog::from_bundle(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Some(std::sync::Arc::new(c)))
}

/// [`knowledge`] with the ATT&CK catalog looked for in `data_dir`.
pub fn knowledge_in(cfg: &Config, data_dir: &std::path::Path) -> anyhow::Result<Knowledge> {
    let mut k = knowledge(cfg)?;
    k.attack = attack_catalog(cfg, data_dir)?;
    Ok(k)
}

pub fn knowledge(cfg: &Config) -> anyhow::Result<Knowledge> {
    let inventory = match &cfg.knowledge.inventory {
        None => Inventory::default(),
        Some(p) => {
            let path = cfg.resolve(p);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading inventory {}", path.display()))?;
            let inv: Inventory =
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let problems = inv.check();
            if !problems.is_empty() {
                let list: Vec<String> = problems
                    .iter()
                    .map(|(k, m)| format!("{}: `{k}`: {m}", path.display()))
                    .collect();
                bail!(
                    "inventory has {} problem(s):\n{}",
                    list.len(),
                    list.join("\n")
                );
            }
            inv
        }
    };
    let suppressions = cfg
        .suppressions
        .iter()
        .cloned()
        .map(CompiledSuppression::compile)
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    Ok(Knowledge {
        inventory,
        suppressions,
        ..Knowledge::default()
    })
}

/// An alert and where its record was.
pub struct Located {
    pub alert: Alert,
    pub location: picket_ingest::Location,
}

/// What reading the inputs went through: records seen and those rejected.
#[derive(Default)]
pub struct Stats {
    pub rejected: Vec<RecordError>,
    pub records: u64,
    pub alerts: u64,
}

/// Alerts read from all inputs, and the rejected records.
pub struct Loaded {
    pub alerts: Vec<Located>,
    pub stats: Stats,
}

/// Reads every input into memory (see [`each`]).
pub fn load(
    args: &InputArgs,
    normalizer: &Normalizer,
    lists: Option<&Warninglists>,
    keep_raw: bool,
) -> anyhow::Result<Loaded> {
    let mut alerts = Vec::new();
    let stats = each(args, normalizer, lists, keep_raw, |a| alerts.push(a))?;
    Ok(Loaded { alerts, stats })
}

/// Reads every input and hands each alert to `f` as it is normalized. Bad records are printed to
/// stderr as they are found (`file:line: reason [code]`) and kept in the returned stats; good records
/// keep going.
pub fn each(
    args: &InputArgs,
    normalizer: &Normalizer,
    lists: Option<&Warninglists>,
    keep_raw: bool,
    mut f: impl FnMut(Located),
) -> anyhow::Result<Stats> {
    let forced = match args.input.as_str() {
        "json" => Some(InputKind::Json),
        "csv" => Some(InputKind::Csv),
        _ => None,
    };
    let mut stats = Stats::default();
    let progress = std::io::stderr().is_terminal();
    for file in &args.files {
        let (bytes, by_name) = crate::input::read(file)?;
        let kind = forced.unwrap_or(by_name);
        let source = if file == "-" {
            "<stdin>"
        } else {
            file.as_str()
        };
        // Records are cut a chunk at a time, so a large file's records are never all in memory.
        let mut records = records(&bytes, kind, source);
        let bar = if progress && bytes.len() > 4 << 20 {
            let b = ProgressBar::new(bytes.len() as u64);
            b.set_style(
                ProgressStyle::with_template(
                    "{msg} {bar:40} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
                )
                .expect("static template"),
            );
            b.set_message(source.to_owned());
            b
        } else {
            ProgressBar::hidden()
        };
        // Normalizing is pure and per record: it runs on every core, a chunk at a time (so memory
        // stays bounded when streaming), and results are handed on in input order.
        loop {
            let chunk: Vec<_> = records.by_ref().take(PARALLEL_CHUNK).collect();
            if chunk.is_empty() {
                break;
            }
            let results: Vec<_> = chunk
                .into_par_iter()
                .map(|rec| {
                    rec.and_then(|r| {
                        let location = r.location().clone();
                        let mut alert = normalizer.normalize_owned(r)?;
                        if let Some(l) = lists {
                            l.annotate(&mut alert.observables);
                        }
                        if !keep_raw {
                            alert.raw = String::new();
                        }
                        Ok((alert, location))
                    })
                })
                .collect();
            bar.set_position(records.consumed() as u64);
            for result in results {
                stats.records += 1;
                match result {
                    Ok((alert, location)) => {
                        stats.alerts += 1;
                        f(Located { alert, location });
                    }
                    Err(e) => {
                        bar.suspend(|| eprintln!("{e}"));
                        stats.rejected.push(e);
                    }
                }
            }
        }
        bar.finish_and_clear();
    }
    Ok(stats)
}

/// Records normalized in parallel at a time.
const PARALLEL_CHUNK: usize = 16_384;

/// Loads a warninglists directory; lists that cannot be read are reported on stderr and skipped.
pub fn load_warninglists(dir: &std::path::Path) -> anyhow::Result<Warninglists> {
    let (lists, problems) = Warninglists::load_dir(dir)
        .with_context(|| format!("loading warninglists from {}", dir.display()))?;
    for p in problems {
        eprintln!("picket: warning: warninglist skipped: {p}");
    }
    Ok(lists)
}

/// Builds every enabled `[[connectors]]` entry (secrets read now, so a missing key is reported by
/// name before anything runs). Every failure is reported at once.
pub fn sources(cfg: &Config) -> anyhow::Result<Vec<picket_enrich::Source>> {
    sources_in(cfg, &cfg.resolve(&cfg.store.data_dir))
}

/// [`sources`] with an explicit data directory (where TAXII collections are kept).
pub fn sources_in(
    cfg: &Config,
    data_dir: &std::path::Path,
) -> anyhow::Result<Vec<picket_enrich::Source>> {
    let base = cfg
        .path
        .as_deref()
        .and_then(std::path::Path::parent)
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for c in cfg.connectors.iter().filter(|c| c.enabled) {
        match picket_enrich::build_source_in(
            c,
            &base,
            data_dir,
            std::sync::Arc::new(picket_enrich::TracingObserver),
        ) {
            Ok(s) => out.push(s),
            Err(e) => problems.push(format!("connector `{}`: {e}", c.name)),
        }
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(out)
}

/// The enricher over the configured connectors, or None when there are none.
pub fn enricher(
    cfg: &Config,
    sources: Vec<picket_enrich::Source>,
    backend: Option<std::sync::Arc<dyn picket_enrich::CacheBackend>>,
) -> Option<std::sync::Arc<picket_enrich::Enricher>> {
    enricher_audited(cfg, sources, backend, None)
}

/// [`enricher`] recording every lookup in the audit trail.
pub fn enricher_audited(
    cfg: &Config,
    sources: Vec<picket_enrich::Source>,
    backend: Option<std::sync::Arc<dyn picket_enrich::CacheBackend>>,
    audit: Option<std::sync::Arc<dyn picket_enrich::LookupObserver>>,
) -> Option<std::sync::Arc<picket_enrich::Enricher>> {
    if sources.is_empty() {
        return None;
    }
    let cache = std::sync::Arc::new(picket_enrich::Cache::new(1_000_000, backend));
    let mut e = picket_enrich::Enricher::new(sources, cfg.enrichment.clone(), cache);
    if let Some(a) = audit {
        e = e.with_audit(a);
    }
    Some(std::sync::Arc::new(e))
}

/// The secrets the configuration names (connector keys, server tokens), for the audit trail's
/// redactor: should one ever appear in recorded data, it is replaced before hashing.
pub fn known_secrets(cfg: &Config) -> Vec<String> {
    // One secret source: an environment variable, else a file (relative to the config).
    let read = |env: &Option<String>, file: &Option<PathBuf>| match (env, file) {
        (Some(v), _) => picket_enrich::Secret::from_env(v).ok(),
        (None, Some(f)) => picket_enrich::Secret::from_file(&cfg.resolve(f)).ok(),
        _ => None,
    };
    let mut found = Vec::new();
    for c in &cfg.connectors {
        found.push(read(&c.api_key_env, &c.api_key_file));
    }
    for r in &cfg.responders {
        found.push(resolved_responder(cfg, r).secret().ok().flatten());
    }
    for p in &cfg.llm {
        found.push(read(&p.api_key_env, &p.api_key_file));
    }
    for s in &cfg.siem {
        found.push(read(&s.api_key_env, &s.api_key_file));
        found.push(read(&s.password_env, &s.password_file));
    }
    for t in &cfg.server.tokens {
        found.push(read(&t.token_env, &t.token_file));
    }
    found
        .into_iter()
        .flatten()
        .map(|s| s.expose().to_owned())
        .collect()
}

/// The `[[siem]]` connectors (relative secret files resolved against the config's directory).
pub fn siems(
    cfg: &Config,
    observer: Arc<dyn picket_enrich::Observer>,
) -> anyhow::Result<Vec<Arc<dyn picket_siem::Siem>>> {
    cfg.siem
        .iter()
        .filter(|s| s.enabled)
        .map(|s| {
            let mut s = s.clone();
            s.api_key_file = s.api_key_file.map(|f| cfg.resolve(&f));
            s.password_file = s.password_file.map(|f| cfg.resolve(&f));
            picket_siem::build_with(
                &s,
                picket_siem::Context {
                    observer: observer.clone(),
                },
            )
            .map_err(|e| anyhow::anyhow!("siem `{}`: {e}", s.name))
        })
        .collect()
}

/// The `[[llm]]` providers `[agent]` names (all when it names none), guards included; `None` when
/// the agent is off.
pub fn agent(
    cfg: &Config,
    observer: Arc<dyn picket_enrich::Observer>,
) -> anyhow::Result<Option<picket_server::AgentSetup>> {
    if !cfg.agent.enabled {
        return Ok(None);
    }
    let chosen: Vec<&picket_agent::ProviderConfig> = if cfg.agent.providers.is_empty() {
        cfg.llm.iter().collect()
    } else {
        cfg.agent
            .providers
            .iter()
            .filter_map(|n| cfg.llm.iter().find(|p| &p.name == n))
            .collect()
    };
    let providers = chosen
        .into_iter()
        .map(|p| {
            let mut p = p.clone();
            p.api_key_file = p.api_key_file.map(|f| cfg.resolve(&f));
            picket_agent::build(&p, observer.clone()).map_err(|e| anyhow::anyhow!("{e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Some(picket_server::AgentSetup {
        config: cfg.agent.clone(),
        providers,
    }))
}

/// The audit signing key from `[audit]`, if one is configured.
pub fn audit_key(cfg: &Config) -> anyhow::Result<Option<picket_audit::SigningKey>> {
    let text = match (&cfg.audit.signing_key_file, &cfg.audit.signing_key_env) {
        (Some(f), _) => {
            let path = cfg.resolve(f);
            std::fs::read_to_string(&path)
                .with_context(|| format!("reading the audit signing key {}", path.display()))?
        }
        (None, Some(var)) => std::env::var(var)
            .with_context(|| format!("the audit signing key variable `{var}` is not set"))?,
        (None, None) => return Ok(None),
    };
    picket_audit::signing_key_from_text(&text)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("audit signing key: {e}"))
}

/// A responder entry with its secret file resolved against the config file's directory.
pub fn resolved_responder(
    cfg: &Config,
    r: &picket_respond::ResponderConfig,
) -> picket_respond::ResponderConfig {
    let mut r = r.clone();
    r.secret_file = r.secret_file.map(|f| cfg.resolve(&f));
    r
}

/// The configured responders, their HTTP calls observed by `observer` (the audit trail).
pub fn responders(
    cfg: &Config,
    observer: std::sync::Arc<dyn picket_enrich::Observer>,
) -> anyhow::Result<picket_respond::Responders> {
    let list: Vec<_> = cfg
        .responders
        .iter()
        .map(|r| resolved_responder(cfg, r))
        .collect();
    picket_respond::Responders::build(&list, picket_respond::Context { observer })
        .map_err(|(name, e)| anyhow::anyhow!("responder `{name}`: {e}"))
}

/// Every `*.toml` file a path names (itself, or the files of a directory, sorted).
pub fn playbook_files(paths: &[std::path::PathBuf]) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(p)
                .with_context(|| format!("reading {}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Loads and checks playbook files; every problem of every file at once.
pub fn load_playbooks(
    paths: &[std::path::PathBuf],
) -> Result<Vec<picket_playbook::Playbook>, Vec<String>> {
    let files = playbook_files(paths).map_err(|e| vec![format!("{e:#}")])?;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for f in files {
        let shown = f.display().to_string();
        match std::fs::read_to_string(&f) {
            Ok(text) => match picket_playbook::load(&text, &shown) {
                Ok(p) => out.push(p),
                Err(errs) => problems.extend(errs.iter().map(ToString::to_string)),
            },
            Err(e) => problems.push(format!("{shown}: {e}")),
        }
    }
    let mut seen = std::collections::HashSet::new();
    for p in &out {
        if !seen.insert(p.name.clone()) {
            problems.push(format!(
                "{}: playbook `{}` is defined twice",
                p.file, p.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// The playbooks `[response] playbooks` names.
pub fn playbooks(cfg: &Config) -> anyhow::Result<Vec<picket_playbook::Playbook>> {
    let paths: Vec<_> = cfg
        .response
        .playbooks
        .iter()
        .map(|p| cfg.resolve(p))
        .collect();
    load_playbooks(&paths).map_err(|p| anyhow::anyhow!("playbooks:\n{}", p.join("\n")))
}
