//! Triage settings (the `[triage]` table of picket.toml).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How alerts fold and join, and where the assessment draws its lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct TriageConfig {
    /// Repeats of the same fingerprint (rule + key entities) closer than this fold into one alert, in seconds.
    pub dedup_window_secs: u64,
    /// Alerts sharing an entity closer than this join one incident, in seconds.
    pub correlation_window_secs: u64,
    /// A rule seen this many times before on the same entity counts as routine: it no longer links
    /// other alerts into its incident and weighs towards benign.
    pub routine_after: u64,
    /// A group that keeps repeating at least `routine_after` times over at least this long (seconds) is
    /// routine background activity; a burst of the same size in a shorter time is not.
    pub routine_span_secs: u64,
    /// An entity shared by more than this many open incidents' worth of distinct rules is too common to
    /// link on (e.g. a gateway address).
    pub max_entity_fanout: usize,
    /// Score at or above which an incident is `malicious`.
    pub malicious_score: f64,
    /// Score at or above which an incident is `suspicious`.
    pub suspicious_score: f64,
    /// Score below which an incident is `benign`. Between this and `suspicious_score` it needs review.
    pub benign_score: f64,
    /// Below this confidence nothing is closed automatically: it goes to the analyst queue.
    pub auto_close_min_confidence: f64,
}

impl Default for TriageConfig {
    fn default() -> Self {
        Self {
            dedup_window_secs: 3600,
            correlation_window_secs: 1800,
            routine_after: 50,
            routine_span_secs: 6 * 3600,
            max_entity_fanout: 64,
            malicious_score: 0.6,
            suspicious_score: 0.3,
            benign_score: 0.1,
            auto_close_min_confidence: 0.6,
        }
    }
}

impl TriageConfig {
    /// Every problem at once, as (key, message).
    pub fn check(&self) -> Vec<(&'static str, String)> {
        let mut errs = Vec::new();
        if self.dedup_window_secs == 0 {
            errs.push(("dedup_window_secs", "must be at least 1".to_owned()));
        }
        if self.correlation_window_secs == 0 {
            errs.push(("correlation_window_secs", "must be at least 1".to_owned()));
        }
        if self.routine_after == 0 {
            errs.push(("routine_after", "must be at least 1".to_owned()));
        }
        if self.max_entity_fanout == 0 {
            errs.push(("max_entity_fanout", "must be at least 1".to_owned()));
        }
        if !(self.benign_score < self.suspicious_score
            && self.suspicious_score < self.malicious_score)
        {
            errs.push((
                "malicious_score",
                format!(
                    "scores must rise: benign_score ({}) < suspicious_score ({}) < malicious_score ({})",
                    self.benign_score, self.suspicious_score, self.malicious_score
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.auto_close_min_confidence) {
            errs.push((
                "auto_close_min_confidence",
                "must be within [0, 1]".to_owned(),
            ));
        }
        errs
    }
}
