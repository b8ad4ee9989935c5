//! The SOC metrics the seeds ask teams to track, computed from what the store recorded: incidents,
//! their lifecycle events (detected, ingested, triaged, escalated, acknowledged, contained, resolved,
//! attack started) with who or what did each, and analyst verdicts with the engine's verdict at the
//! time. Pure: [`compute`] takes those records and returns every figure with its numerator and
//! denominator, medians and p90 beside means. Exact definitions: `docs/metrics.md`.

mod stats;

use std::collections::BTreeMap;

use jiff::Timestamp;
use picket_core::{Escalation, Incident, Priority, Verdict};
use picket_store::{IncidentLifecycle, LifecycleEvent};
use serde::Serialize;

pub use stats::Durations;

/// The range metrics cover when none is given: the last 30 days.
pub const DEFAULT_WINDOW_DAYS: i64 = 30;

/// The start of the default range ending at `until`.
pub fn default_since(until: Timestamp) -> Timestamp {
    until
        .checked_sub(jiff::SignedDuration::from_hours(24 * DEFAULT_WINDOW_DAYS))
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Rates and checklist the cost and completeness figures use.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    /// Analyst minutes a manual SOC spends per alert (the seeds: 15–30); the midpoint is used.
    pub minutes_per_alert: (f64, f64),
    /// Analyst minutes per incident that reaches a human.
    pub minutes_per_incident: f64,
    /// Loaded cost of an analyst hour.
    pub analyst_hourly_cost: f64,
    /// Compute cost per incident (Picket's own processing).
    pub compute_cost_per_incident: f64,
    /// LLM cost per 1,000 tokens, for investigations whose provider has no price configured.
    pub llm_cost_per_1k_tokens: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            minutes_per_alert: (15.0, 30.0),
            minutes_per_incident: 20.0,
            analyst_hourly_cost: 60.0,
            compute_cost_per_incident: 0.0001,
            llm_cost_per_1k_tokens: 0.0,
        }
    }
}

/// Which incidents count: by source format, rule key and priority (all optional).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// An alert of the incident came from this format (`wazuh`, `crowdstrike`…).
    pub source: Option<String>,
    /// A rule key (`format:rule`) of the incident, or a substring of one.
    pub rule: Option<String>,
    pub priority: Option<Priority>,
}

/// A figure with its parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ratio {
    pub numerator: u64,
    pub denominator: u64,
    /// `None` when the denominator is 0.
    pub rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    /// `above` or `below`.
    pub direction: &'static str,
    pub value: f64,
    pub met: Option<bool>,
}

fn ratio(n: u64, d: u64, target: Option<(&'static str, f64)>) -> Ratio {
    let rate = (d > 0).then(|| n as f64 / d as f64);
    Ratio {
        numerator: n,
        denominator: d,
        rate,
        target: target.map(|(direction, value)| Target {
            direction,
            value,
            met: rate.map(|r| {
                if direction == "above" {
                    r > value
                } else {
                    r < value
                }
            }),
        }),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FalsePositives {
    /// Incidents judged benign (by the analyst, else by the engine).
    pub incidents: u64,
    pub alerts: u64,
    /// Analyst minutes a manual SOC spends on those alerts (alerts × minutes per alert, midpoint).
    pub minutes_before: f64,
    /// Analyst minutes left with Picket: benign incidents that still reached a human × minutes per
    /// incident.
    pub minutes_after: f64,
    /// 1 − after / before.
    pub reduction: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Completeness {
    /// Mean share of the incident's checklist gathered automatically.
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
    pub target: Target,
    /// How often each checklist item was satisfied, over the incidents it applies to.
    pub items: BTreeMap<&'static str, Ratio>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cost {
    pub incidents: u64,
    pub compute: f64,
    pub llm: f64,
    pub analyst: f64,
    pub total: f64,
    /// Total ÷ incidents.
    pub per_incident: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Accuracy {
    /// Incidents with an analyst verdict (the latest) and the engine's verdict at the time.
    pub judged: u64,
    /// engine verdict → analyst verdict → count.
    pub confusion: BTreeMap<&'static str, BTreeMap<&'static str, u64>>,
    /// Positive = malicious or suspicious. Precision: of the engine's positives, the share analysts
    /// confirmed; recall: of the analysts' positives, the share the engine called positive.
    pub precision: Ratio,
    pub recall: Ratio,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    pub incidents: u64,
    pub alerts: u64,
    pub automation: Ratio,
    pub time_to_triage: Durations,
    pub time_to_respond: Durations,
}

/// Every metric over one range and filter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SocMetrics {
    pub since: Timestamp,
    pub until: Timestamp,
    pub incidents: u64,
    pub alerts: u64,
    /// Ingested → triaged (Picket's own time), target < 5 min.
    pub time_to_triage: Durations,
    /// Detected → triaged (includes the detector's and the pipeline's delays).
    pub time_from_detection_to_triage: Durations,
    /// Escalated → acknowledged by a human.
    pub time_to_acknowledge: Durations,
    /// Detected → contained, target < 30 min.
    pub time_to_respond: Durations,
    /// Attack started → detected, where the start is known.
    pub time_to_detect: Durations,
    /// Incidents resolved with no human: all, and low severity (P3, P4; target > 70%).
    pub automation: Ratio,
    pub automation_low_severity: Ratio,
    pub false_positives: FalsePositives,
    pub investigation_completeness: Completeness,
    /// Analyst verdicts overturning the engine's own verdict (not needs_review), target < 10%.
    pub override_rate: Ratio,
    pub cost: Cost,
    pub accuracy: Accuracy,
    pub by_priority: BTreeMap<&'static str, Group>,
    pub by_source: BTreeMap<String, Group>,
    pub settings: Settings,
}

fn at(l: &IncidentLifecycle, e: LifecycleEvent) -> Option<&picket_store::IncidentEvent> {
    l.events.iter().find(|x| x.event == e)
}

fn between(l: &IncidentLifecycle, from: LifecycleEvent, to: LifecycleEvent) -> Option<f64> {
    let (a, b) = (at(l, from)?, at(l, to)?);
    let secs = b.at.duration_since(a.at).as_secs_f64();
    // Clocks of different machines (detector vs Picket) can disagree slightly: never negative.
    Some(secs.max(0.0))
}

/// A human acted on it.
fn touched(l: &IncidentLifecycle) -> bool {
    !l.verdicts.is_empty()
        || at(l, LifecycleEvent::Acknowledged).is_some_and(|e| e.actor.starts_with("token:"))
}

/// Resolved with no human: closed by the engine, never acknowledged by anyone.
fn automated(l: &IncidentLifecycle) -> bool {
    !touched(l)
        && l.incident.escalation == Escalation::AutoClose
        && at(l, LifecycleEvent::Resolved).is_some_and(|e| e.actor == "engine")
}

fn sources(i: &Incident) -> Vec<String> {
    let mut s: Vec<String> = i
        .alerts
        .iter()
        .map(|a| a.format.as_str().to_owned())
        .collect();
    s.sort();
    s.dedup();
    s
}

fn keep(l: &IncidentLifecycle, f: &Filter) -> bool {
    f.priority.is_none_or(|p| l.incident.priority == p)
        && f.source
            .as_ref()
            .is_none_or(|s| sources(&l.incident).contains(s))
        && f.rule
            .as_ref()
            .is_none_or(|r| l.rules.iter().any(|k| k.contains(r.as_str())))
}

/// The checklist of context an incident should carry, by class: an incident that went to a human
/// needs the whole investigation context; an auto-closed one its scope and evidence.
fn checklist(l: &IncidentLifecycle) -> Vec<(&'static str, bool)> {
    let i = &l.incident;
    let mut items = vec![
        (
            "scope",
            !i.scope.hosts.is_empty() || !i.scope.users.is_empty() || !i.scope.ips.is_empty(),
        ),
        ("evidence", !i.evidence.is_empty()),
    ];
    if i.escalation != Escalation::AutoClose {
        items.extend([
            ("timeline", !i.timeline.is_empty()),
            ("indicators", !i.observables.is_empty()),
            (
                "attack_mapping",
                i.attack
                    .iter()
                    .any(|a| a.technique.is_some() || a.tactic.is_some()),
            ),
            (
                "threat_intel",
                i.enrichment
                    .as_ref()
                    .is_some_and(|e| !e.indicators.is_empty())
                    || i.observables.is_empty(),
            ),
            (
                "asset_context",
                i.evidence.iter().any(|e| e.source.starts_with("inventory")),
            ),
            ("confidence_note", !i.confidence_note.is_empty()),
        ]);
    }
    items
}

fn positive(v: Verdict) -> bool {
    matches!(v, Verdict::Malicious | Verdict::Suspicious)
}

fn group(items: &[&IncidentLifecycle]) -> Group {
    Group {
        incidents: items.len() as u64,
        alerts: items.iter().map(|l| l.incident.alert_count).sum(),
        automation: ratio(
            items.iter().filter(|l| automated(l)).count() as u64,
            items.len() as u64,
            None,
        ),
        time_to_triage: Durations::of(
            items
                .iter()
                .filter_map(|l| between(l, LifecycleEvent::Ingested, LifecycleEvent::Triaged)),
            None,
        ),
        time_to_respond: Durations::of(
            items
                .iter()
                .filter_map(|l| between(l, LifecycleEvent::Detected, LifecycleEvent::Contained)),
            None,
        ),
    }
}

/// Computes every metric over the incidents that pass `filter`.
pub fn compute(
    all: &[IncidentLifecycle],
    filter: &Filter,
    settings: &Settings,
    since: Timestamp,
    until: Timestamp,
) -> SocMetrics {
    let items: Vec<&IncidentLifecycle> = all.iter().filter(|l| keep(l, filter)).collect();
    let dur =
        |from, to, target| Durations::of(items.iter().filter_map(|l| between(l, from, to)), target);
    use LifecycleEvent::*;

    let low: Vec<&&IncidentLifecycle> = items
        .iter()
        .filter(|l| matches!(l.incident.priority, Priority::P3 | Priority::P4))
        .collect();

    // False positives: the analyst's latest verdict, else the engine's.
    let judged =
        |l: &IncidentLifecycle| l.verdicts.last().map_or(l.incident.verdict, |v| v.verdict);
    let fps: Vec<&&IncidentLifecycle> = items
        .iter()
        .filter(|l| judged(l) == Verdict::Benign)
        .collect();
    let fp_alerts: u64 = fps.iter().map(|l| l.incident.alert_count).sum();
    let fp_human = fps
        .iter()
        .filter(|l| at(l, Escalated).is_some() || touched(l))
        .count() as f64;
    let mid = (settings.minutes_per_alert.0 + settings.minutes_per_alert.1) / 2.0;
    let before = fp_alerts as f64 * mid;
    let after = fp_human * settings.minutes_per_incident;

    // Completeness.
    let mut scores = Vec::new();
    let mut per_item: BTreeMap<&'static str, (u64, u64)> = BTreeMap::new();
    for l in &items {
        let c = checklist(l);
        let ok = c.iter().filter(|(_, v)| *v).count();
        scores.push(ok as f64 / c.len() as f64);
        for (name, v) in c {
            let e = per_item.entry(name).or_default();
            e.0 += u64::from(v);
            e.1 += 1;
        }
    }
    let comp = Durations::of(scores.iter().copied(), None);

    // Overrides and accuracy: each incident's latest analyst verdict against the engine's verdict at
    // the time (needs_review answers are not overrides).
    let mut overrides = (0u64, 0u64);
    let mut confusion: BTreeMap<&'static str, BTreeMap<&'static str, u64>> = BTreeMap::new();
    let (mut tp, mut fp, mut fneg, mut judged_n) = (0u64, 0u64, 0u64, 0u64);
    for l in &items {
        for v in &l.verdicts {
            if let Some(e) = v.engine_verdict {
                overrides.1 += 1;
                if e != Verdict::NeedsReview && e != v.verdict {
                    overrides.0 += 1;
                }
            }
        }
        let Some(v) = l.verdicts.last() else { continue };
        let engine = v.engine_verdict.unwrap_or(l.incident.verdict);
        judged_n += 1;
        *confusion
            .entry(engine.as_str())
            .or_default()
            .entry(v.verdict.as_str())
            .or_default() += 1;
        match (positive(engine), positive(v.verdict)) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fneg += 1,
            (false, false) => {}
        }
    }

    // Cost.
    let n = items.len() as u64;
    let touched_n = items
        .iter()
        .filter(|l| touched(l) || at(l, Escalated).is_some())
        .count() as f64;
    let compute = n as f64 * settings.compute_cost_per_incident;
    // What the investigations cost at the providers' prices; tokens of an investigation without a
    // configured price are costed at `llm_cost_per_1k_tokens`.
    let llm: f64 = items
        .iter()
        .map(|l| {
            if l.llm_cost > 0.0 {
                l.llm_cost
            } else {
                l.llm_tokens as f64 / 1000.0 * settings.llm_cost_per_1k_tokens
            }
        })
        .sum();
    let analyst = touched_n * settings.minutes_per_incident / 60.0 * settings.analyst_hourly_cost;
    let total = compute + llm + analyst;

    let mut by_priority: BTreeMap<&'static str, Vec<&IncidentLifecycle>> = BTreeMap::new();
    let mut by_source: BTreeMap<String, Vec<&IncidentLifecycle>> = BTreeMap::new();
    for l in &items {
        by_priority
            .entry(l.incident.priority.as_str())
            .or_default()
            .push(l);
        for s in sources(&l.incident) {
            by_source.entry(s).or_default().push(l);
        }
    }

    SocMetrics {
        since,
        until,
        incidents: n,
        alerts: items.iter().map(|l| l.incident.alert_count).sum(),
        time_to_triage: dur(Ingested, Triaged, Some(300.0)),
        time_from_detection_to_triage: dur(Detected, Triaged, None),
        time_to_acknowledge: dur(Escalated, Acknowledged, None),
        time_to_respond: dur(Detected, Contained, Some(1800.0)),
        time_to_detect: dur(AttackStarted, Detected, None),
        automation: ratio(
            items.iter().filter(|l| automated(l)).count() as u64,
            n,
            None,
        ),
        automation_low_severity: ratio(
            low.iter().filter(|l| automated(l)).count() as u64,
            low.len() as u64,
            Some(("above", 0.7)),
        ),
        false_positives: FalsePositives {
            incidents: fps.len() as u64,
            alerts: fp_alerts,
            minutes_before: before,
            minutes_after: after,
            reduction: (before > 0.0).then(|| 1.0 - after / before),
        },
        investigation_completeness: Completeness {
            mean: comp.mean_secs,
            median: comp.median_secs,
            p90: comp.p90_secs,
            target: Target {
                direction: "above",
                value: 0.8,
                met: comp.mean_secs.map(|m| m > 0.8),
            },
            items: per_item
                .into_iter()
                .map(|(k, (a, b))| (k, ratio(a, b, None)))
                .collect(),
        },
        override_rate: ratio(overrides.0, overrides.1, Some(("below", 0.1))),
        cost: Cost {
            incidents: n,
            compute,
            llm,
            analyst,
            total,
            per_incident: (n > 0).then(|| total / n as f64),
        },
        accuracy: Accuracy {
            judged: judged_n,
            confusion,
            precision: ratio(tp, tp + fp, Some(("above", 0.95))),
            recall: ratio(tp, tp + fneg, None),
        },
        by_priority: by_priority
            .into_iter()
            .map(|(k, v)| (k, group(&v)))
            .collect(),
        by_source: by_source.into_iter().map(|(k, v)| (k, group(&v))).collect(),
        settings: settings.clone(),
    }
}
