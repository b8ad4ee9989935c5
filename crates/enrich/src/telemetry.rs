//! Per-source counters the server exports to Prometheus, and the lookup-level event every lookup
//! emits (cached or not) for the audit trail.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// Latency bucket upper bounds, in seconds (Prometheus-style cumulative buckets).
pub const BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// One lookup as the audit trail records it. The indicator value is not a secret; keys never appear.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LookupEvent {
    pub source: String,
    pub provider: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
    /// `ok` or a `ConnectorError::code`.
    pub outcome: String,
    pub verdict: Option<String>,
    pub cached: bool,
    pub duration_ms: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SourceStats {
    /// Lookups by outcome (`ok`, `timeout`, `rate_limited`…), cache hits excluded.
    pub outcomes: BTreeMap<String, u64>,
    pub cache_hits: u64,
    /// Cumulative counts per bucket of [`BUCKETS`], then the total count and sum (seconds).
    pub latency_buckets: [u64; BUCKETS.len()],
    pub latency_count: u64,
    pub latency_sum: f64,
}

#[derive(Default)]
pub struct Telemetry(Mutex<BTreeMap<String, SourceStats>>);

impl Telemetry {
    pub fn record(&self, e: &LookupEvent) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let s = m.entry(e.source.clone()).or_default();
        if e.cached {
            s.cache_hits += 1;
            return;
        }
        *s.outcomes.entry(e.outcome.clone()).or_default() += 1;
        let secs = e.duration_ms / 1e3;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.latency_buckets[i] += 1;
            }
        }
        s.latency_count += 1;
        s.latency_sum += secs;
    }

    pub fn snapshot(&self) -> BTreeMap<String, SourceStats> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
