//! Threat-intel answers as assessment evidence.
//!
//! The enrichment step (crates/enrich) hands the engine one `IndicatorEnrichment` per indicator; the
//! engine keeps them in an [`IntelBook`] and every incident holding that indicator is re-assessed.
//! Weights (docs/assessment.md, "Threat intel"):
//! - an indicator whose combined verdict is malicious: +0.5 × the best reliability among the fresh
//!   sources saying so (0.35 for a source of default reliability 0.7); at most +0.7 in all;
//! - suspicious: +0.2 × that reliability; counted within the same cap;
//! - benign from every source that answered, fresh: −0.1 per indicator, at most −0.2, and only when no
//!   indicator of the incident is malicious or suspicious;
//! - a partial enrichment (lookups failed or ran past the deadline) adds a weight-0 note, so the
//!   confidence note says what is missing.

use std::collections::HashMap;

use picket_core::{AlertEnrichment, Evidence, IndicatorEnrichment, IntelVerdict, ObservableType};

/// The intel known per indicator.
pub type IntelBook = HashMap<(ObservableType, String), IndicatorEnrichment>;

const MALICIOUS: f64 = 0.5;
const SUSPICIOUS: f64 = 0.2;
const CAP: f64 = 0.7;
const BENIGN: f64 = -0.1;
const BENIGN_CAP: f64 = -0.2;

/// The incident's enrichment artifact: the book's entries for its indicators, in the given order.
pub(crate) fn artifact<'a>(
    incident_id: &str,
    book: &IntelBook,
    indicators: impl Iterator<Item = (ObservableType, &'a str)>,
) -> Option<AlertEnrichment> {
    if book.is_empty() {
        return None;
    }
    let found: Vec<IndicatorEnrichment> = indicators
        .filter_map(|(k, v)| book.get(&(k, v.to_owned())).cloned())
        .collect();
    if found.is_empty() {
        return None;
    }
    let started_at = found
        .iter()
        .flat_map(|i| i.results.iter().map(|r| r.fetched_at))
        .min()
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let mut a = AlertEnrichment {
        subject: format!("incident:{incident_id}"),
        partial: false,
        started_at,
        elapsed_ms: 0,
        summary: Default::default(),
        indicators: found,
    };
    a.summarize();
    Some(a)
}

fn best(i: &IndicatorEnrichment, v: IntelVerdict) -> Option<&picket_core::IntelResult> {
    i.results
        .iter()
        .filter(|r| r.verdict == v && !r.stale)
        .max_by(|a, b| a.reliability.total_cmp(&b.reliability))
        .or_else(|| {
            // A verdict combined from stale or weak sources: cite the strongest such result.
            i.results
                .iter()
                .filter(|r| r.verdict.rank() >= v.rank())
                .max_by(|a, b| a.reliability.total_cmp(&b.reliability))
        })
}

/// Evidence items for the incident's enrichment.
pub(crate) fn evidence(e: &AlertEnrichment) -> Vec<Evidence> {
    let mut out = Vec::new();
    let mut positive = 0.0;
    for i in &e.indicators {
        let (factor, v) = match i.verdict {
            IntelVerdict::Malicious => (MALICIOUS, IntelVerdict::Malicious),
            IntelVerdict::Suspicious => (SUSPICIOUS, IntelVerdict::Suspicious),
            _ => continue,
        };
        let Some(r) = best(i, v) else { continue };
        let w = (factor * r.reliability).min(CAP - positive).max(0.0);
        positive += w;
        let others = i
            .results
            .iter()
            .filter(|x| x.verdict.rank() >= IntelVerdict::Suspicious.rank())
            .count();
        out.push(crate::assess::ev(
            format!(
                "{} {} is {} according to {}{}{}{}",
                i.kind,
                i.value,
                i.verdict,
                r.source,
                r.score
                    .map(|s| format!(" (score {:.2})", s))
                    .unwrap_or_default(),
                if others > 1 {
                    format!(", with {} other sources agreeing", others - 1)
                } else {
                    String::new()
                },
                if r.stale { ", stale answer" } else { "" },
            ),
            r.citation(),
            w,
        ));
    }
    if positive == 0.0 {
        let mut negative = 0.0;
        for i in e
            .indicators
            .iter()
            .filter(|i| i.verdict == IntelVerdict::Benign)
        {
            let Some(r) = best(i, IntelVerdict::Benign) else {
                continue;
            };
            let w = BENIGN.max(BENIGN_CAP - negative);
            if w >= 0.0 {
                break;
            }
            negative += w;
            out.push(crate::assess::ev(
                format!("{} {} is benign according to {}", i.kind, i.value, r.source),
                r.citation(),
                w,
            ));
        }
    }
    if e.summary.failed > 0 {
        let mut codes: Vec<&str> = e
            .indicators
            .iter()
            .flat_map(|i| i.failures.iter().map(|f| f.code.as_str()))
            .collect();
        codes.sort_unstable();
        codes.dedup();
        out.push(crate::assess::ev(
            format!(
                "enrichment is partial: {} lookups gave no answer ({})",
                e.summary.failed,
                codes.join(", ")
            ),
            "intel:partial".to_owned(),
            0.0,
        ));
    }
    out
}
