//! Prometheus metrics.
//!
//! `prometheus-client` rather than `metrics` + `metrics-exporter-prometheus`: its registry is a plain
//! value owned by the server state, not a process-wide recorder, so each test's router counts on its
//! own and nothing global holds state.

use std::time::Duration;

use picket_core::Verdict;
use picket_store::StoreStats;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerdictLabel {
    verdict: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabel {
    source: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    source: String,
    outcome: String,
}

/// Threat-intel counters, fed from the enricher's telemetry at each scrape.
#[derive(Debug, Default)]
struct IntelMetrics {
    lookups: Family<OutcomeLabel, Counter>,
    cache_hits: Family<SourceLabel, Counter>,
    seconds: Family<SourceLabel, Counter<f64, std::sync::atomic::AtomicU64>>,
    circuit_open: Family<SourceLabel, Gauge>,
    /// What was already counted, per (source, outcome) / source.
    seen: std::sync::Mutex<std::collections::HashMap<(String, String), (u64, f64)>>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    method: String,
    route: String,
}

fn request_histogram() -> Histogram {
    // 1 ms … ~32 s
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatLabel {
    stat: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameLabel {
    name: String,
}

type F64Gauge = Gauge<f64, std::sync::atomic::AtomicU64>;

/// SOC metrics over the last 30 days (docs/metrics.md), recomputed at most once a minute on scrape.
#[derive(Debug, Default)]
struct SocGauges {
    time_to_triage: Family<StatLabel, F64Gauge>,
    time_to_respond: Family<StatLabel, F64Gauge>,
    time_to_detect: Family<StatLabel, F64Gauge>,
    time_to_acknowledge: Family<StatLabel, F64Gauge>,
    ratios: Family<NameLabel, F64Gauge>,
    incidents: Gauge,
    computed: std::sync::Mutex<Option<std::time::Instant>>,
}

/// The server's metrics and their registry.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    ingested: Counter,
    duplicates: Counter,
    rejected: Family<CodeLabel, Counter>,
    incidents: Family<VerdictLabel, Gauge>,
    pending: Gauge,
    requests: Family<RouteLabel, Histogram, fn() -> Histogram>,
    ingest_to_triage: Histogram,
    compactions: Counter,
    intel: IntelMetrics,
    verdicts: Counter,
    overrides: Counter,
    soc: SocGauges,
    agent: AgentMetrics,
}

/// The LLM agent's counters.
#[derive(Debug, Default)]
struct AgentMetrics {
    /// Investigations by status (completed, degraded) and mode.
    investigations: Family<AgentLabel, Counter>,
    tokens: Family<TokenLabel, Counter>,
    cost: Counter<f64, std::sync::atomic::AtomicU64>,
    skipped: Counter,
    injection: Counter,
    review: Counter,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct AgentLabel {
    status: String,
    mode: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, prometheus_client::encoding::EncodeLabelSet)]
struct TokenLabel {
    direction: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::default();
        let ingested = Counter::default();
        let duplicates = Counter::default();
        let rejected = Family::<CodeLabel, Counter>::default();
        let incidents = Family::<VerdictLabel, Gauge>::default();
        let pending = Gauge::default();
        let requests = Family::<RouteLabel, Histogram, fn() -> Histogram>::new_with_constructor(
            request_histogram,
        );
        // 10 ms … ~90 min
        let ingest_to_triage = Histogram::new(exponential_buckets(0.01, 2.0, 20));
        let compactions = Counter::default();
        registry.register(
            "picket_engine_compactions",
            "Times the triage engine was rebuilt from the store's recent window to bound its memory",
            compactions.clone(),
        );
        registry.register(
            "picket_alerts_ingested",
            "Alerts accepted and stored (not counting duplicates)",
            ingested.clone(),
        );
        registry.register(
            "picket_alerts_duplicate",
            "Alerts received again (same id) and ignored",
            duplicates.clone(),
        );
        registry.register(
            "picket_alerts_rejected",
            "Records rejected at ingest, by error code (kept as dead letters)",
            rejected.clone(),
        );
        registry.register(
            "picket_incidents",
            "Stored incidents by the engine's verdict",
            incidents.clone(),
        );
        registry.register(
            "picket_alerts_pending",
            "Alerts waiting for triage",
            pending.clone(),
        );
        registry.register(
            "picket_http_request_duration_seconds",
            "HTTP request latency by route",
            requests.clone(),
        );
        registry.register(
            "picket_ingest_to_triage_seconds",
            "Time from an alert's receipt to its incident being stored",
            ingest_to_triage.clone(),
        );
        let verdicts = Counter::default();
        let overrides = Counter::default();
        registry.register(
            "picket_analyst_verdicts",
            "Analyst verdicts recorded on incidents",
            verdicts.clone(),
        );
        registry.register(
            "picket_analyst_overrides",
            "Analyst verdicts that overturned the engine's own verdict (the override-rate numerator)",
            overrides.clone(),
        );
        let intel = IntelMetrics::default();
        registry.register(
            "picket_intel_lookups",
            "Threat-intel lookups sent to each connector, by outcome (ok or an error code)",
            intel.lookups.clone(),
        );
        registry.register(
            "picket_intel_cache_hits",
            "Threat-intel lookups answered from the cache, by connector",
            intel.cache_hits.clone(),
        );
        registry.register(
            "picket_intel_lookup_seconds",
            "Time spent in threat-intel lookups, by connector (divide by lookups for the mean)",
            intel.seconds.clone(),
        );
        registry.register(
            "picket_intel_circuit_open",
            "1 while a connector's circuit breaker is open",
            intel.circuit_open.clone(),
        );
        let soc = SocGauges::default();
        registry.register(
            "picket_soc_time_to_triage_seconds",
            "Ingested to triaged, incidents of the last 30 days (mean, median, p90; target mean < 300)",
            soc.time_to_triage.clone(),
        );
        registry.register(
            "picket_soc_time_to_respond_seconds",
            "Detected to contained, incidents of the last 30 days (mean, median, p90; target mean < 1800)",
            soc.time_to_respond.clone(),
        );
        registry.register(
            "picket_soc_time_to_detect_seconds",
            "Attack start to detection where the start is known, last 30 days (mean, median, p90)",
            soc.time_to_detect.clone(),
        );
        registry.register(
            "picket_soc_time_to_acknowledge_seconds",
            "Escalated to acknowledged by a human, last 30 days (mean, median, p90)",
            soc.time_to_acknowledge.clone(),
        );
        registry.register(
            "picket_soc_ratio",
            "SOC ratios over the last 30 days: automation, automation_low_severity, override, investigation_completeness, precision, recall, false_positive_reduction",
            soc.ratios.clone(),
        );
        registry.register(
            "picket_soc_incidents",
            "Incidents the SOC metrics cover (active in the last 30 days)",
            soc.incidents.clone(),
        );
        let agent = AgentMetrics::default();
        registry.register(
            "picket_agent_investigations",
            "LLM investigations by status (completed, degraded) and mode",
            agent.investigations.clone(),
        );
        registry.register(
            "picket_agent_tokens",
            "LLM tokens the agent used, by direction (input, output)",
            agent.tokens.clone(),
        );
        registry.register(
            "picket_agent_cost",
            "What the agent's LLM calls cost, at the providers' configured prices",
            agent.cost.clone(),
        );
        registry.register(
            "picket_agent_skipped",
            "Incidents not investigated because the agent's queue was full (triage never waits)",
            agent.skipped.clone(),
        );
        registry.register(
            "picket_agent_injection_flagged",
            "Investigations that found injection-like content in what the model read",
            agent.injection.clone(),
        );
        registry.register(
            "picket_agent_needs_review",
            "Investigations whose model verdict went to a human (contradicted evidence, injection, disagreement)",
            agent.review.clone(),
        );
        Self {
            agent,
            soc,
            verdicts,
            overrides,
            intel,
            registry,
            ingested,
            duplicates,
            rejected,
            incidents,
            pending,
            requests,
            ingest_to_triage,
            compactions,
        }
    }

    /// Whether the SOC gauges are older than a minute (and marks them as being refreshed).
    pub(crate) fn soc_due(&self) -> bool {
        let mut c = self.soc.computed.lock().unwrap_or_else(|e| e.into_inner());
        let due = c.is_none_or(|t| t.elapsed() >= Duration::from_secs(60));
        if due {
            *c = Some(std::time::Instant::now());
        }
        due
    }

    pub(crate) fn set_soc(&self, m: &picket_metrics::SocMetrics) {
        let set = |f: &Family<StatLabel, F64Gauge>, d: &picket_metrics::Durations| {
            for (stat, v) in [
                ("mean", d.mean_secs),
                ("median", d.median_secs),
                ("p90", d.p90_secs),
            ] {
                f.get_or_create(&StatLabel { stat: stat.into() })
                    .set(v.unwrap_or(f64::NAN));
            }
        };
        set(&self.soc.time_to_triage, &m.time_to_triage);
        set(&self.soc.time_to_respond, &m.time_to_respond);
        set(&self.soc.time_to_detect, &m.time_to_detect);
        set(&self.soc.time_to_acknowledge, &m.time_to_acknowledge);
        for (name, v) in [
            ("automation", m.automation.rate),
            ("automation_low_severity", m.automation_low_severity.rate),
            ("override", m.override_rate.rate),
            (
                "investigation_completeness",
                m.investigation_completeness.mean,
            ),
            ("precision", m.accuracy.precision.rate),
            ("recall", m.accuracy.recall.rate),
            ("false_positive_reduction", m.false_positives.reduction),
        ] {
            self.soc
                .ratios
                .get_or_create(&NameLabel { name: name.into() })
                .set(v.unwrap_or(f64::NAN));
        }
        self.soc
            .incidents
            .set(i64::try_from(m.incidents).unwrap_or(i64::MAX));
    }

    pub(crate) fn compacted(&self) {
        self.compactions.inc();
    }

    pub(crate) fn ingest(&self, accepted: u64, duplicates: u64) {
        self.ingested.inc_by(accepted);
        self.duplicates.inc_by(duplicates);
    }

    pub(crate) fn verdict(&self, overrides: bool) {
        self.verdicts.inc();
        if overrides {
            self.overrides.inc();
        }
    }

    pub(crate) fn rejected(&self, code: &str) {
        self.rejected
            .get_or_create(&CodeLabel {
                code: code.to_owned(),
            })
            .inc();
    }

    pub(crate) fn request(&self, method: &str, route: &str, took: Duration) {
        self.requests
            .get_or_create(&RouteLabel {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn agent_skipped(&self) {
        self.agent.skipped.inc();
    }

    pub(crate) fn investigated(&self, inv: &picket_agent::Investigation) {
        let a = &self.agent;
        a.investigations
            .get_or_create(&AgentLabel {
                status: inv.status.clone(),
                mode: inv.mode.as_str().to_owned(),
            })
            .inc();
        for (direction, n) in [
            ("input", inv.usage.input_tokens),
            ("output", inv.usage.output_tokens),
        ] {
            a.tokens
                .get_or_create(&TokenLabel {
                    direction: direction.into(),
                })
                .inc_by(n);
        }
        a.cost.inc_by(inv.cost.max(0.0));
        if !inv.injection.is_empty() {
            a.injection.inc();
        }
        if inv.review_reason.is_some() {
            a.review.inc();
        }
    }

    pub(crate) fn triaged(&self, waited: Duration) {
        self.ingest_to_triage.observe(waited.as_secs_f64());
    }

    /// Brings the intel counters up to the enricher's telemetry.
    pub(crate) fn sync_intel(&self, enricher: &picket_enrich::Enricher) {
        let mut seen = self.intel.seen.lock().unwrap_or_else(|p| p.into_inner());
        for (source, s) in enricher.telemetry().snapshot() {
            for (outcome, n) in &s.outcomes {
                let before = seen.entry((source.clone(), outcome.clone())).or_default();
                self.intel
                    .lookups
                    .get_or_create(&OutcomeLabel {
                        source: source.clone(),
                        outcome: outcome.clone(),
                    })
                    .inc_by(n.saturating_sub(before.0));
                before.0 = *n;
            }
            let label = SourceLabel {
                source: source.clone(),
            };
            let before = seen.entry((source.clone(), String::new())).or_default();
            self.intel
                .cache_hits
                .get_or_create(&label)
                .inc_by(s.cache_hits.saturating_sub(before.0));
            self.intel
                .seconds
                .get_or_create(&label)
                .inc_by((s.latency_sum - before.1).max(0.0));
            *before = (s.cache_hits, s.latency_sum);
        }
        for g in enricher.sources() {
            let open = g.breaker_state() == picket_enrich::BreakerState::Open;
            self.intel
                .circuit_open
                .get_or_create(&SourceLabel {
                    source: g.name().to_owned(),
                })
                .set(i64::from(open));
        }
    }

    /// The OpenMetrics text, with the store's gauges refreshed from `stats`.
    pub(crate) fn render(&self, stats: &StoreStats) -> String {
        for v in [
            Verdict::Malicious,
            Verdict::Suspicious,
            Verdict::Benign,
            Verdict::NeedsReview,
        ] {
            let n = stats
                .incidents_by_verdict
                .iter()
                .find(|(x, _)| *x == v)
                .map_or(0, |(_, n)| *n);
            self.incidents
                .get_or_create(&VerdictLabel {
                    verdict: v.as_str().to_owned(),
                })
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
        self.pending
            .set(i64::try_from(stats.pending_alerts).unwrap_or(i64::MAX));
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
