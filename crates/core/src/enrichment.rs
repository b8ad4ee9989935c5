//! Threat-intel enrichment: what each source said about each indicator, and when.
//!
//! `AlertEnrichment` is the typed artifact the enrichment step produces for an alert or an incident.
//! The assessment reads it as cited evidence (`intel:<source>:<type>:<value>`); the incident line and
//! the API show it. Nothing here does I/O.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::observable::ObservableType;

/// What a source says about an indicator.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum IntelVerdict {
    Malicious,
    Suspicious,
    Benign,
    /// The source does not know the indicator, or says nothing either way.
    Unknown,
}

impl IntelVerdict {
    pub const ALL: [IntelVerdict; 4] = [
        Self::Malicious,
        Self::Suspicious,
        Self::Benign,
        Self::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malicious => "malicious",
            Self::Suspicious => "suspicious",
            Self::Benign => "benign",
            Self::Unknown => "unknown",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Order of precedence when sources disagree: malicious > suspicious > benign > unknown.
    pub fn rank(self) -> u8 {
        match self {
            Self::Malicious => 3,
            Self::Suspicious => 2,
            Self::Benign => 1,
            Self::Unknown => 0,
        }
    }
}

impl fmt::Display for IntelVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a connector found about one indicator, before the framework stamps it with its source,
/// time and freshness.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    pub verdict: Option<IntelVerdict>,
    /// The provider's own score normalised to [0, 1] (1 = certainly malicious), when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Provider-specific facts worth showing an analyst (e.g. `last_analysis_stats`,
    /// `abuseConfidenceScore`, `classification`, `country`, `asn`), keyed by the provider's own names.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub highlights: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub first_seen: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub last_seen: Option<Timestamp>,
    /// A link an analyst can open at the provider (GUI permalink), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl Finding {
    pub fn unknown() -> Self {
        Self {
            verdict: Some(IntelVerdict::Unknown),
            ..Self::default()
        }
    }

    pub fn verdict(&self) -> IntelVerdict {
        self.verdict.unwrap_or(IntelVerdict::Unknown)
    }

    pub fn highlight(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.highlights.insert(key.to_owned(), value.into());
        self
    }
}

/// One source's answer about one indicator, as the enrichment step records and caches it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IntelResult {
    /// The connector instance's name (`[[connectors]] name`).
    pub source: String,
    /// The provider it speaks to (`virustotal`, `abuseipdb`, `stix_bundle`…).
    pub provider: String,
    #[serde(rename = "type")]
    pub kind: ObservableType,
    pub value: String,
    pub verdict: IntelVerdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub highlights: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub first_seen: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub last_seen: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// When the source was asked (for a cached result: when it was first fetched, not now).
    #[schemars(with = "String")]
    pub fetched_at: Timestamp,
    /// The result is older than the connector's `max_age`: it is shown, but weighed as stale.
    pub stale: bool,
    /// Served from the cache rather than asked now.
    pub cached: bool,
    /// The connector's configured reliability weight in [0, 1].
    pub reliability: f64,
}

impl IntelResult {
    /// The evidence `source` the assessment cites for this result.
    pub fn citation(&self) -> String {
        format!("intel:{}:{}:{}", self.source, self.kind, self.value)
    }
}

/// Why a source gave no answer about an indicator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SourceFailure {
    pub source: String,
    /// A stable code: `timeout`, `deadline`, `unauthorized`, `forbidden`, `rate_limited`,
    /// `quota_exhausted`, `circuit_open`, `server_error`, `malformed_response`, `transport`, `config`.
    pub code: String,
    pub message: String,
}

/// Everything learned about one indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IndicatorEnrichment {
    #[serde(rename = "type")]
    pub kind: ObservableType,
    pub value: String,
    /// The combined verdict: the strongest verdict any fresh, reliable source gave (see
    /// `docs/enrichment.md`).
    pub verdict: IntelVerdict,
    pub results: Vec<IntelResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<SourceFailure>,
}

/// Counts over the indicators of one enrichment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct EnrichmentSummary {
    pub indicators: u32,
    pub malicious: u32,
    pub suspicious: u32,
    pub benign: u32,
    pub unknown: u32,
    /// Lookups answered (fresh or cached).
    pub lookups: u32,
    /// Lookups answered from the cache.
    pub cached: u32,
    /// Lookups that failed or did not finish before the deadline.
    pub failed: u32,
    /// Answers older than their connector's `max_age`.
    pub stale: u32,
}

/// The enrichment artifact of an alert or an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AlertEnrichment {
    /// What was enriched: `alert:<id>` or `incident:<id>`.
    pub subject: String,
    /// Some lookups failed or were still running at the deadline.
    pub partial: bool,
    #[schemars(with = "String")]
    pub started_at: Timestamp,
    /// Milliseconds from start to the last answer taken (at most the deadline).
    pub elapsed_ms: u64,
    pub summary: EnrichmentSummary,
    pub indicators: Vec<IndicatorEnrichment>,
}

impl AlertEnrichment {
    /// The indicator's enrichment, if it was looked up.
    pub fn indicator(&self, kind: ObservableType, value: &str) -> Option<&IndicatorEnrichment> {
        self.indicators
            .iter()
            .find(|i| i.kind == kind && i.value == value)
    }

    /// Recomputes `summary` from `indicators`.
    pub fn summarize(&mut self) {
        let mut s = EnrichmentSummary {
            indicators: self.indicators.len() as u32,
            ..EnrichmentSummary::default()
        };
        for i in &self.indicators {
            match i.verdict {
                IntelVerdict::Malicious => s.malicious += 1,
                IntelVerdict::Suspicious => s.suspicious += 1,
                IntelVerdict::Benign => s.benign += 1,
                IntelVerdict::Unknown => s.unknown += 1,
            }
            s.lookups += i.results.len() as u32;
            s.cached += i.results.iter().filter(|r| r.cached).count() as u32;
            s.stale += i.results.iter().filter(|r| r.stale).count() as u32;
            s.failed += i.failures.len() as u32;
        }
        self.partial = s.failed > 0;
        self.summary = s;
    }
}

/// The combined verdict over several sources' results: stale results and sources with reliability
/// below `min_reliability` count only when nothing better answers; among the rest the strongest verdict
/// wins (malicious > suspicious > benign > unknown).
pub fn combine(results: &[IntelResult], min_reliability: f64) -> IntelVerdict {
    let strongest = |it: &mut dyn Iterator<Item = &IntelResult>| {
        it.map(|r| r.verdict)
            .max_by_key(|v| v.rank())
            .unwrap_or(IntelVerdict::Unknown)
    };
    let trusted = strongest(
        &mut results
            .iter()
            .filter(|r| !r.stale && r.reliability >= min_reliability),
    );
    if trusted != IntelVerdict::Unknown {
        return trusted;
    }
    // Weaker sources may still say "suspicious" at most: a stale or unreliable "malicious" is a reason
    // to look, not a conviction.
    match strongest(&mut results.iter()) {
        IntelVerdict::Malicious | IntelVerdict::Suspicious => IntelVerdict::Suspicious,
        _ => IntelVerdict::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(verdict: IntelVerdict, stale: bool, reliability: f64) -> IntelResult {
        IntelResult {
            source: "s".into(),
            provider: "p".into(),
            kind: ObservableType::Ipv4,
            value: "203.0.113.9".into(),
            verdict,
            score: None,
            highlights: BTreeMap::new(),
            first_seen: None,
            last_seen: None,
            reference: None,
            fetched_at: Timestamp::UNIX_EPOCH,
            stale,
            cached: false,
            reliability,
        }
    }

    #[test]
    fn strongest_fresh_reliable_verdict_wins() {
        use IntelVerdict::*;
        assert_eq!(
            combine(&[r(Benign, false, 0.9), r(Malicious, false, 0.9)], 0.5),
            Malicious
        );
        assert_eq!(combine(&[r(Benign, false, 0.9)], 0.5), Benign);
        assert_eq!(combine(&[], 0.5), Unknown);
    }

    #[test]
    fn stale_or_unreliable_malicious_is_only_suspicious() {
        use IntelVerdict::*;
        assert_eq!(combine(&[r(Malicious, true, 0.9)], 0.5), Suspicious);
        assert_eq!(combine(&[r(Malicious, false, 0.2)], 0.5), Suspicious);
        assert_eq!(
            combine(&[r(Malicious, true, 0.9), r(Benign, false, 0.9)], 0.5),
            Benign
        );
    }
}
