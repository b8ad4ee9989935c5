//! picket.toml: parsed, then validated, every problem reported at once with its location.
//!
//! Each top-level section is read on its own so that a mistake in one does not hide mistakes in the
//! others; a section's unknown or mistyped key is located by searching for it inside the section's
//! span. Secrets never appear here in clear: the file names environment variables or files.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use picket_ingest::adapters::generic::GenericMapping;
use picket_triage::{Suppression, TriageConfig};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The config file format version this build reads.
pub const CONFIG_VERSION: i64 = 1;

/// Where Picket keeps its state and knowledge files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    /// Directory of the embedded SQLite database (`picket.db`), created on first run.
    pub data_dir: PathBuf,
}

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./picket-data"),
        }
    }
}

/// Known-benign lists and the asset inventory.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KnowledgeSection {
    /// Directory of MISP warninglists in MISP's layout (`lists/<name>/list.json`, or the lists directly).
    pub warninglists: Option<PathBuf>,
    /// Inventory file (TOML: `[[hosts]]`, `[[users]]`, `[[subnets]]` with criticality and owner).
    pub inventory: Option<PathBuf>,
    /// MITRE ATT&CK Enterprise STIX bundle. Unset: `<data_dir>/attack/enterprise-attack.json` when
    /// `picket attack import` put one there, else none (the built-in tactic table and keyword
    /// mapping still apply).
    pub attack: Option<PathBuf>,
}

/// The audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AuditSection {
    /// File holding the ed25519 signing key for checkpoints (64 hex digits; `picket audit keygen`).
    pub signing_key_file: Option<PathBuf>,
    /// Environment variable holding the signing key instead.
    pub signing_key_env: Option<String>,
    /// Sign a checkpoint of the chain's head every this many records (and at shutdown).
    pub checkpoint_every: u64,
}

impl Default for AuditSection {
    fn default() -> Self {
        Self {
            signing_key_file: None,
            signing_key_env: None,
            checkpoint_every: 1000,
        }
    }
}

/// Rates and costs behind the SOC metrics (docs/metrics.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsSection {
    /// Analyst minutes a manual SOC spends per alert, low and high (the seeds: 15–30).
    pub minutes_per_alert: [f64; 2],
    /// Analyst minutes per incident that reaches a human.
    pub minutes_per_incident: f64,
    /// Loaded cost of an analyst hour.
    pub analyst_hourly_cost: f64,
    /// Compute cost of processing one incident.
    pub compute_cost_per_incident: f64,
    /// LLM cost per 1,000 tokens.
    pub llm_cost_per_1k_tokens: f64,
}

impl Default for MetricsSection {
    fn default() -> Self {
        let d = picket_metrics::Settings::default();
        Self {
            minutes_per_alert: [d.minutes_per_alert.0, d.minutes_per_alert.1],
            minutes_per_incident: d.minutes_per_incident,
            analyst_hourly_cost: d.analyst_hourly_cost,
            compute_cost_per_incident: d.compute_cost_per_incident,
            llm_cost_per_1k_tokens: d.llm_cost_per_1k_tokens,
        }
    }
}

impl MetricsSection {
    pub fn settings(&self) -> picket_metrics::Settings {
        picket_metrics::Settings {
            minutes_per_alert: (self.minutes_per_alert[0], self.minutes_per_alert[1]),
            minutes_per_incident: self.minutes_per_incident,
            analyst_hourly_cost: self.analyst_hourly_cost,
            compute_cost_per_incident: self.compute_cost_per_incident,
            llm_cost_per_1k_tokens: self.llm_cost_per_1k_tokens,
        }
    }

    fn check(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let [lo, hi] = self.minutes_per_alert;
        if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo <= hi) {
            out.push((
                "minutes_per_alert".into(),
                "must be [low, high] with 0 < low <= high".into(),
            ));
        }
        for (k, v) in [
            ("minutes_per_incident", self.minutes_per_incident),
            ("analyst_hourly_cost", self.analyst_hourly_cost),
            ("compute_cost_per_incident", self.compute_cost_per_incident),
            ("llm_cost_per_1k_tokens", self.llm_cost_per_1k_tokens),
        ] {
            if !v.is_finite() || v < 0.0 {
                out.push((k.into(), "must be a number >= 0".into()));
            }
        }
        out
    }
}

/// Response orchestration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseSection {
    /// The response policy file (docs/policy.md). Unset: the built-in defaults (the seeds' tiers,
    /// 100 IP blocks per hour, 5 hosts isolated at once).
    pub policy: Option<PathBuf>,
    /// Limit, in seconds, on one action's run at its responder (all vendor calls and retries).
    pub action_timeout_secs: u64,
    /// Actions the executor runs at once (a slow vendor does not hold the others back).
    pub executor_concurrency: usize,
    /// Alert-flood guard: a minute with more alerts than this and more than `flood_factor` times the
    /// previous hour's median pauses automated response (never ingestion). 0 disables it.
    pub flood_min_per_minute: u64,
    pub flood_factor: f64,
    /// Playbook files or directories of `*.toml` playbooks (docs/playbooks.md).
    pub playbooks: Vec<PathBuf>,
}

impl Default for ResponseSection {
    fn default() -> Self {
        let d = picket_server::ResponseSettings::default();
        Self {
            policy: None,
            action_timeout_secs: d.action_timeout_secs,
            executor_concurrency: d.executor_concurrency,
            flood_min_per_minute: d.flood_min_per_minute,
            flood_factor: d.flood_factor,
            playbooks: Vec::new(),
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    pub store: StoreSection,
    pub triage: TriageConfig,
    pub knowledge: KnowledgeSection,
    pub suppressions: Vec<Suppression>,
    pub mappings: Vec<GenericMapping>,
    pub server: picket_server::ServerConfig,
    pub enrichment: picket_enrich::EnrichmentConfig,
    pub connectors: Vec<picket_enrich::ConnectorConfig>,
    pub audit: AuditSection,
    pub response: ResponseSection,
    /// `[[responders]]`: the vendor integrations that carry out approved actions.
    pub responders: Vec<picket_respond::ResponderConfig>,
    pub metrics: MetricsSection,
    /// `[[llm]]`: LLM providers the agent may use (docs/agent.md).
    pub llm: Vec<picket_agent::ProviderConfig>,
    /// `[agent]`: which incidents are investigated, how, within which limits.
    pub agent: picket_server::AgentConfig,
    /// `[[siem]]`: SIEMs the agent's `siem_search` tool may query (docs/siem.md).
    pub siem: Vec<picket_siem::SiemConfig>,
    /// The file it was read from, if any (relative paths in it resolve against its directory).
    pub path: Option<PathBuf>,
}

/// One configuration problem, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

struct Ctx<'a> {
    file: String,
    text: &'a str,
    errors: Vec<ConfigError>,
    /// Spans of each `[[name]]` array element, as `name[i]`.
    elements: Vec<(String, Range<usize>)>,
}

impl Ctx<'_> {
    fn at(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.rfind('\n').map_or(offset, |p| offset - p - 1) + 1;
        (line, col)
    }

    fn push(&mut self, span: Range<usize>, key: &str, message: String) {
        let message = message.split_whitespace().collect::<Vec<_>>().join(" ");
        // `name[i]...` keys point into that array element when its header is found.
        let head = key.split('.').next().unwrap_or(key);
        let span = self
            .elements
            .iter()
            .find(|(n, _)| n == head)
            .map_or(span, |(_, r)| r.clone());
        // Point at the key itself when it appears inside the span.
        let leaf = key.rsplit('.').next().unwrap_or(key);
        let leaf = leaf.split('[').next().unwrap_or(leaf);
        let offset = if leaf.is_empty() {
            span.start
        } else {
            self.text
                .get(span.clone())
                .and_then(|s| find_key(s, leaf))
                .map_or(span.start, |p| span.start + p)
        };
        let (line, column) = self.at(offset);
        self.errors.push(ConfigError {
            file: self.file.clone(),
            line,
            column,
            key: key.to_owned(),
            message,
        });
    }

    fn section<T: DeserializeOwned + Default>(
        &mut self,
        table: &toml::Table,
        spans: &Spans,
        name: &str,
    ) -> T {
        match table.get(name) {
            None => T::default(),
            Some(v) => match v.clone().try_into::<T>() {
                Ok(t) => t,
                Err(e) => {
                    let msg = e.message().to_owned();
                    let key = culprit::<T>(v, &msg)
                        .map(|k| format!("{name}{k}"))
                        .unwrap_or_else(|| name.to_owned());
                    self.push(spans.of(name), &key, msg);
                    T::default()
                }
            },
        }
    }
}

/// Finds `key` as a TOML key (at a line start, before `=`) in `s`.
fn find_key(s: &str, key: &str) -> Option<usize> {
    let mut offset = 0;
    for line in s.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let bare = trimmed.trim_start_matches('"');
        if bare.starts_with(key)
            && bare[key.len()..]
                .trim_start_matches('"')
                .trim_start()
                .starts_with('=')
        {
            return Some(offset + indent);
        }
        offset += line.len();
    }
    None
}

/// Which key of `v` causes `msg`: named in the message for unknown fields, otherwise found by removing
/// keys (or array items) one at a time until the error goes away. Returns a suffix like `.key` or
/// `[2].key`.
fn culprit<T: DeserializeOwned>(v: &toml::Value, msg: &str) -> Option<String> {
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        return rest.split('`').next().map(|k| format!(".{k}"));
    }
    match v {
        toml::Value::Table(t) => t.keys().find_map(|k| {
            let mut without = t.clone();
            without.remove(k);
            let gone = match toml::Value::Table(without).try_into::<T>() {
                Ok(_) => true,
                Err(e) => e.message() != msg,
            };
            gone.then(|| format!(".{k}"))
        }),
        toml::Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let alone = toml::Value::Array(vec![item.clone()]);
            let e = alone.try_into::<T>().err()?;
            let inner = match item {
                toml::Value::Table(t) => t.keys().find_map(|k| {
                    let mut without = t.clone();
                    without.remove(k);
                    let gone = toml::Value::Array(vec![toml::Value::Table(without)])
                        .try_into::<T>()
                        .map_or_else(|e2| e2.message() != e.message(), |_| true);
                    gone.then(|| format!(".{k}"))
                }),
                _ => None,
            };
            Some(format!("[{i}]{}", inner.unwrap_or_default()))
        }),
        _ => None,
    }
}

/// Byte spans of the top-level sections, from a spanned parse.
struct Spans(Vec<(String, Range<usize>)>);

impl Spans {
    fn of(&self, name: &str) -> Range<usize> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, r)| r.clone())
            .unwrap_or(0..0)
    }
}

fn section_spans(text: &str) -> Spans {
    // A section runs from its first `[name]` / `[[name]]` / `name =` line to the next different section.
    let mut out: Vec<(String, Range<usize>)> = Vec::new();
    let mut offset = 0;
    let mut current: Option<(String, usize)> = None;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        let header = t
            .strip_prefix("[[")
            .and_then(|r| r.split_once("]]"))
            .map(|(n, _)| n)
            .or_else(|| {
                t.strip_prefix('[')
                    .and_then(|r| r.split_once(']'))
                    .map(|(n, _)| n)
            });
        if let Some(h) = header {
            let name = h
                .trim()
                .split('.')
                .next()
                .unwrap_or("")
                .trim_matches('"')
                .to_owned();
            match &current {
                Some((n, _)) if *n == name => {}
                _ => {
                    if let Some((n, start)) = current.take() {
                        extend(&mut out, n, start..offset);
                    }
                    current = Some((name, offset));
                }
            }
        } else if current.is_none()
            && let Some((k, _)) = t.split_once('=')
        {
            let k = k.trim().trim_matches('"').to_owned();
            if !k.starts_with('#') {
                extend(&mut out, k, offset..offset + line.len());
            }
        }
        offset += line.len();
    }
    if let Some((n, start)) = current {
        extend(&mut out, n, start..offset);
    }
    Spans(out)
}

/// Spans of `[[name]]` array elements, named `name[i]`: from the element's header to the next header
/// that is not one of its own sub-tables (`[name.sub]`, `[[name.sub]]`).
fn element_spans(text: &str) -> Vec<(String, Range<usize>)> {
    let mut out = Vec::new();
    let mut counts: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut open: Option<(String, usize)> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        let array = t.strip_prefix("[[").and_then(|r| r.split_once("]]"));
        let table = t.strip_prefix('[').and_then(|r| r.split_once(']'));
        if let Some(h) = array.or(table).map(|(n, _)| n.trim().trim_matches('"')) {
            let own_sub = open.as_ref().is_some_and(|(name, _)| {
                let base = name.split('[').next().unwrap_or("");
                h.starts_with(&format!("{base}."))
            });
            if !own_sub {
                if let Some((n, start)) = open.take() {
                    out.push((n, start..offset));
                }
                if array.is_some() && !h.contains('.') {
                    let i = counts.entry(h.to_owned()).or_default();
                    open = Some((format!("{h}[{i}]"), offset));
                    *i += 1;
                }
            }
        }
        offset += line.len();
    }
    if let Some((n, start)) = open {
        out.push((n, start..offset));
    }
    out
}

fn extend(out: &mut Vec<(String, Range<usize>)>, name: String, r: Range<usize>) {
    if let Some((_, existing)) = out.iter_mut().find(|(n, _)| *n == name) {
        existing.start = existing.start.min(r.start);
        existing.end = existing.end.max(r.end);
    } else {
        out.push((name, r));
    }
}

const SECTIONS: &[&str] = &[
    "version",
    "store",
    "triage",
    "knowledge",
    "suppressions",
    "mappings",
    "server",
    "enrichment",
    "connectors",
    "audit",
    "response",
    "responders",
    "metrics",
    "llm",
    "agent",
    "siem",
];

impl Config {
    /// Parses and validates `text`; returns every problem found, located.
    pub fn parse(text: &str, file: &str) -> Result<Config, Vec<ConfigError>> {
        let mut cx = Ctx {
            file: file.to_owned(),
            text,
            errors: Vec::new(),
            elements: element_spans(text),
        };
        let table: toml::Table = match text.parse() {
            Ok(t) => t,
            Err(e) => {
                let span = toml::de::Error::span(&e).unwrap_or(0..0);
                let msg = e.message().to_owned();
                cx.push(span, "", msg);
                return Err(cx.errors);
            }
        };
        let spans = section_spans(text);
        for key in table.keys() {
            if !SECTIONS.contains(&key.as_str()) {
                cx.push(
                    spans.of(key),
                    key,
                    format!("unknown setting, expected one of: {}", SECTIONS.join(", ")),
                );
            }
        }
        match table.get("version") {
            None => cx.push(
                0..0,
                "version",
                format!("missing: add `version = {CONFIG_VERSION}` at the top"),
            ),
            Some(toml::Value::Integer(CONFIG_VERSION)) => {}
            Some(other) => cx.push(
                spans.of("version"),
                "version",
                format!("this build reads version {CONFIG_VERSION}, found {other}"),
            ),
        }
        let store: StoreSection = cx.section(&table, &spans, "store");
        let triage: TriageConfig = cx.section(&table, &spans, "triage");
        let knowledge: KnowledgeSection = cx.section(&table, &spans, "knowledge");
        let suppressions: Vec<Suppression> = cx.section(&table, &spans, "suppressions");
        let mappings: Vec<GenericMapping> = cx.section(&table, &spans, "mappings");
        let server: picket_server::ServerConfig = cx.section(&table, &spans, "server");
        for (key, msg) in server.check() {
            cx.push(spans.of("server"), &format!("server.{key}"), msg);
        }
        let enrichment: picket_enrich::EnrichmentConfig = cx.section(&table, &spans, "enrichment");
        for (key, msg) in enrichment.check() {
            cx.push(spans.of("enrichment"), &format!("enrichment.{key}"), msg);
        }
        let connectors: Vec<picket_enrich::ConnectorConfig> =
            cx.section(&table, &spans, "connectors");
        let audit: AuditSection = cx.section(&table, &spans, "audit");
        let response: ResponseSection = cx.section(&table, &spans, "response");
        if let Some(p) = &response.policy {
            let full = Path::new(file).parent().unwrap_or(Path::new("")).join(p);
            match std::fs::read_to_string(&full) {
                Ok(text) => {
                    if let Err(e) = picket_policy::Policy::from_toml(&text) {
                        cx.push(
                            spans.of("response"),
                            "response.policy",
                            format!("{}: {e}", full.display()),
                        );
                    }
                }
                Err(e) => cx.push(
                    spans.of("response"),
                    "response.policy",
                    format!("`{}`: {e}", full.display()),
                ),
            }
        }
        if response.executor_concurrency == 0 || response.executor_concurrency > 64 {
            cx.push(
                spans.of("response"),
                "response.executor_concurrency",
                "must be within 1..=64".into(),
            );
        }
        if response.action_timeout_secs == 0 {
            cx.push(
                spans.of("response"),
                "response.action_timeout_secs",
                "must be at least 1".into(),
            );
        }
        if response.flood_factor.is_nan() || response.flood_factor < 1.0 {
            cx.push(
                spans.of("response"),
                "response.flood_factor",
                "must be at least 1".into(),
            );
        }
        if !response.playbooks.is_empty() {
            let dir = Path::new(file).parent().unwrap_or(Path::new(""));
            let paths: Vec<PathBuf> = response.playbooks.iter().map(|p| dir.join(p)).collect();
            if let Err(problems) = crate::cmd::pipeline::load_playbooks(&paths) {
                for m in problems {
                    cx.push(spans.of("response"), "response.playbooks", m);
                }
            }
        }
        let responders: Vec<picket_respond::ResponderConfig> =
            cx.section(&table, &spans, "responders");
        let llm: Vec<picket_agent::ProviderConfig> = cx.section(&table, &spans, "llm");
        let mut llm_names = std::collections::HashSet::new();
        for (i, p) in llm.iter().enumerate() {
            for (key, msg) in p.check() {
                cx.push(spans.of("llm"), &format!("llm[{i}].{key}"), msg);
            }
            if !llm_names.insert(p.name.as_str()) {
                cx.push(
                    spans.of("llm"),
                    &format!("llm[{i}].name"),
                    format!("provider `{}` is defined twice", p.name),
                );
            }
        }
        let agent: picket_server::AgentConfig = cx.section(&table, &spans, "agent");
        let names: Vec<&str> = llm.iter().map(|p| p.name.as_str()).collect();
        for (key, msg) in agent.check(&names) {
            cx.push(spans.of("agent"), &format!("agent.{key}"), msg);
        }
        let siem: Vec<picket_siem::SiemConfig> = cx.section(&table, &spans, "siem");
        for (key, msg) in picket_siem::check(&siem) {
            cx.push(spans.of("siem"), &key, msg);
        }
        let metrics: MetricsSection = cx.section(&table, &spans, "metrics");
        for (key, msg) in metrics.check() {
            cx.push(spans.of("metrics"), &format!("metrics.{key}"), msg);
        }
        for (key, msg) in picket_respond::check_all(&responders) {
            cx.push(spans.of("responders"), &key, msg);
        }
        if audit.checkpoint_every == 0 {
            cx.push(
                spans.of("audit"),
                "audit.checkpoint_every",
                "must be at least 1".into(),
            );
        }
        if audit.signing_key_file.is_some() && audit.signing_key_env.is_some() {
            cx.push(
                spans.of("audit"),
                "audit.signing_key_env",
                "give signing_key_file or signing_key_env, not both".into(),
            );
        }
        for (key, msg) in picket_enrich::config::check_all(&connectors) {
            cx.push(spans.of("connectors"), &key, msg);
        }

        // Validation: every problem, located at its key.
        for (key, msg) in triage.check() {
            cx.push(spans.of("triage"), &format!("triage.{key}"), msg);
        }
        for (i, s) in suppressions.iter().enumerate() {
            if let Err(msg) = picket_triage::knowledge::CompiledSuppression::compile(s.clone()) {
                cx.push(spans.of("suppressions"), &format!("suppressions[{i}]"), msg);
            }
        }
        let mut names = std::collections::HashSet::new();
        for (i, m) in mappings.iter().enumerate() {
            for msg in m.check() {
                cx.push(spans.of("mappings"), &format!("mappings[{i}]"), msg);
            }
            if !names.insert(m.name.clone()) {
                cx.push(
                    spans.of("mappings"),
                    &format!("mappings[{i}].name"),
                    format!("mapping `{}` is defined twice", m.name),
                );
            }
        }
        let base = Path::new(file)
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for (key, p) in [
            ("knowledge.warninglists", &knowledge.warninglists),
            ("knowledge.inventory", &knowledge.inventory),
            ("knowledge.attack", &knowledge.attack),
        ] {
            if let Some(p) = p {
                let full = base.join(p);
                if !full.exists() {
                    cx.push(
                        spans.of("knowledge"),
                        key,
                        format!("`{}` does not exist", full.display()),
                    );
                }
            }
        }
        if cx.errors.is_empty() {
            Ok(Config {
                store,
                triage,
                knowledge,
                suppressions,
                mappings,
                server,
                enrichment,
                connectors,
                audit,
                response,
                responders,
                metrics,
                llm,
                agent,
                siem,
                path: Some(PathBuf::from(file)),
            })
        } else {
            Err(cx.errors)
        }
    }

    /// Resolves a path from the config against the config file's directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        match &self.path {
            Some(f) if p.is_relative() => f.parent().map_or_else(|| p.to_path_buf(), |d| d.join(p)),
            _ => p.to_path_buf(),
        }
    }

    pub fn mapping(&self, name: &str) -> Option<&GenericMapping> {
        self.mappings.iter().find(|m| m.name == name)
    }
}

/// Loads the config: `explicit` if given (must exist), else `./picket.toml` if present, else defaults.
pub fn load(explicit: Option<&Path>) -> anyhow::Result<Config> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None if Path::new("picket.toml").exists() => PathBuf::from("picket.toml"),
        None => return Ok(Config::default()),
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", path.display()))?;
    Config::parse(&text, &path.display().to_string()).map_err(|errs| {
        let list: Vec<String> = errs.iter().map(ToString::to_string).collect();
        anyhow::anyhow!(
            "{} problem(s) in {}:\n{}",
            errs.len(),
            path.display(),
            list.join("\n")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_template_parses() {
        let text = crate::cmd::init::TEMPLATE;
        let cfg = Config::parse(text, "picket.toml").unwrap();
        assert_eq!(cfg.triage, TriageConfig::default());
        assert_eq!(cfg.store, StoreSection::default());
        assert_eq!(cfg.server, picket_server::ServerConfig::default());
        assert_eq!(cfg.enrichment, picket_enrich::EnrichmentConfig::default());
        assert!(cfg.connectors.is_empty());
        assert_eq!(cfg.audit, AuditSection::default());
        assert_eq!(cfg.response, ResponseSection::default());
        assert_eq!(cfg.agent, picket_server::AgentConfig::default());
    }

    #[test]
    fn agent_llm_and_siem_sections_parse_and_every_problem_is_located() {
        let ok = r#"version = 1
[[llm]]
name = "claude"
kind = "anthropic"
model = "claude-sonnet-4-5"
api_key_env = "ANTHROPIC_API_KEY"

[agent]
enabled = true
providers = ["claude"]
mode = "blackboard"

[[agent.routes]]
mode = "consensus"
verdicts = ["malicious"]

[[siem]]
name = "elastic"
kind = "elasticsearch"
base_url = "https://es.example:9200"
index = "logs-*"
api_key_env = "ES_API_KEY"
"#;
        let cfg = Config::parse(ok, "p.toml").unwrap();
        assert_eq!(cfg.llm.len(), 1);
        assert!(cfg.agent.enabled);
        assert_eq!(cfg.agent.mode, picket_agent::Mode::Blackboard);
        assert_eq!(cfg.agent.routes[0].mode, picket_agent::Mode::Consensus);
        assert_eq!(cfg.siem.len(), 1);

        let bad = r#"version = 1
[[llm]]
name = "claude"
kind = "anthropic"
model = "m"
timeout_ms = 0

[agent]
enabled = true
providers = ["gpt"]
max_turns = 0

[[siem]]
name = "s"
kind = "splunk"
"#;
        let errs = Config::parse(bad, "p.toml").unwrap_err();
        let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
        for k in ["llm[0].timeout_ms", "agent.providers[0]", "agent.max_turns"] {
            assert!(keys.contains(&k), "{k} missing from {keys:?}");
        }
        assert!(keys.iter().any(|k| k.starts_with("siem[0]")), "{keys:?}");
        let turns = errs.iter().find(|e| e.key == "agent.max_turns").unwrap();
        assert_eq!(turns.line, 11, "{turns}");
        let bad_mode = "version = 1\n[agent]\nmode = \"vibes\"\n";
        let errs = Config::parse(bad_mode, "p.toml").unwrap_err();
        assert_eq!(errs[0].key, "agent.mode", "{}", errs[0]);
    }

    #[test]
    fn the_commented_connector_example_is_valid() {
        let t = crate::cmd::init::TEMPLATE;
        let start = t.find("# [[connectors]]").expect("example present");
        let block: String = t[start..]
            .lines()
            .take_while(|l| l.starts_with('#'))
            .map(|l| format!("{}\n", l.trim_start_matches('#').trim_start()))
            .collect();
        let text = format!("version = 1\n{block}");
        let cfg = Config::parse(&text, "picket.toml").unwrap_or_else(|e| {
            panic!(
                "{text}\n{}",
                e.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        });
        assert_eq!(cfg.connectors.len(), 1);
        assert_eq!(cfg.connectors[0].provider, "virustotal");
    }

    #[test]
    fn every_problem_is_reported_with_its_location() {
        let text = "version = 1\nbogus = 3\n\n[triage]\ndedup_window_secs = 0\ncorrelation_window_secs = 10\n\n[store]\ndata_dir = 5\n\n[[suppressions]]\nname = \"x\"\nreason = \"y\"\nrule = \"(\"\n";
        let errs = Config::parse(text, "p.toml").unwrap_err();
        let shown: Vec<String> = errs.iter().map(ToString::to_string).collect();
        assert_eq!(errs.len(), 4, "{shown:#?}");
        assert!(
            shown
                .iter()
                .any(|s| s.starts_with("p.toml:2:1: `bogus`: unknown setting")),
            "{shown:#?}"
        );
        assert!(
            shown.iter().any(
                |s| s.starts_with("p.toml:5:1: `triage.dedup_window_secs`: must be at least 1")
            ),
            "{shown:#?}"
        );
        assert!(
            shown.iter().any(
                |s| s.starts_with("p.toml:8:1: `store`") || s.starts_with("p.toml:9:1: `store")
            ),
            "{shown:#?}"
        );
        assert!(
            shown
                .iter()
                .any(|s| s.contains("suppressions[0]") && s.contains("regex")),
            "{shown:#?}"
        );
    }

    #[test]
    fn unknown_key_inside_a_section_is_pointed_at() {
        let text = "version = 1\n[triage]\ndedup_window_secs = 5\ndedup_windw = 3\n";
        let errs = Config::parse(text, "p.toml").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!((errs[0].line, errs[0].column), (4, 1), "{}", errs[0]);
        assert!(errs[0].message.contains("unknown field"), "{}", errs[0]);
    }

    #[test]
    fn syntax_errors_are_located() {
        let errs = Config::parse("version = 1\n[triage\n", "p.toml").unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, 2, "{}", errs[0]);
    }

    #[test]
    fn missing_version_is_reported() {
        let errs = Config::parse("[triage]\n", "p.toml").unwrap_err();
        assert!(errs[0].to_string().contains("version = 1"));
    }
}
