//! SOC metrics from hand-built lifecycles: every figure checked against its definition
//! (docs/metrics.md); property: rates stay in [0, 1] and groups add up.

use jiff::Timestamp;
use picket_core::{Escalation, Incident, Priority, Verdict};
use picket_metrics::{Filter, Settings, compute};
use picket_store::{IncidentEvent, IncidentLifecycle, LifecycleEvent, VerdictRecord};
use proptest::prelude::*;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_763_000_000 + secs).unwrap()
}

fn incident(
    id: &str,
    verdict: &str,
    priority: &str,
    escalation: &str,
    format: &str,
    alerts: u64,
) -> Incident {
    serde_json::from_value(serde_json::json!({
        "id": id, "title": id, "status": "open", "verdict": verdict, "priority": priority,
        "confidence": 0.8, "confidence_note": "note", "escalation": escalation,
        "first_seen": t(0), "last_seen": t(10), "alert_count": alerts,
        "alerts": [{"id": format!("al_{id}"), "format": format, "raw_sha256": "00", "count": alerts}],
        "scope": {"hosts": ["h1"], "users": [], "ips": []},
        "observables": [], "attack": [], "timeline": [{"time": t(0), "alert": format!("al_{id}"), "summary": "s", "count": 1}],
        "evidence": [{"claim": "c", "source": "alert:x:severity", "weight": 0.1}],
    }))
    .unwrap()
}

fn ev(id: &str, event: LifecycleEvent, secs: i64, actor: &str) -> IncidentEvent {
    IncidentEvent {
        incident_id: id.into(),
        event,
        at: t(secs),
        actor: actor.into(),
    }
}

fn verdict(id: &str, engine: Verdict, analyst: Verdict) -> VerdictRecord {
    VerdictRecord {
        incident_id: id.into(),
        verdict: analyst,
        engine_verdict: Some(engine),
        analyst: "alice".into(),
        note: None,
        at: t(500),
    }
}

fn fixture() -> Vec<IncidentLifecycle> {
    use LifecycleEvent::*;
    let life = |incident: Incident, events: Vec<IncidentEvent>, verdicts: Vec<VerdictRecord>| {
        IncidentLifecycle {
            rules: vec![format!(
                "{}:rule-{}",
                incident.alerts[0].format.as_str(),
                incident.id
            )],
            incident,
            events,
            verdicts,
            llm_tokens: 0,
            llm_cost: 0.0,
        }
    };
    vec![
        // Auto-closed noise, P4: triaged 2 s after ingest, nobody touched it.
        life(
            incident("a", "benign", "P4", "auto_close", "wazuh", 50),
            vec![
                ev("a", Detected, 0, "source:wazuh"),
                ev("a", Ingested, 1, "picket"),
                ev("a", Triaged, 3, "engine"),
                ev("a", Resolved, 3, "engine"),
            ],
            vec![],
        ),
        // Escalated P1, contained 600 s after detection by a playbook, confirmed malicious.
        life(
            incident("b", "malicious", "P1", "on_call", "crowdstrike", 3),
            vec![
                ev("b", AttackStarted, -300, "token:alice"),
                ev("b", Detected, 0, "source:crowdstrike"),
                ev("b", Ingested, 5, "picket"),
                ev("b", Triaged, 9, "engine"),
                ev("b", Escalated, 9, "engine"),
                ev("b", Acknowledged, 120, "token:alice"),
                ev("b", Contained, 600, "playbook:c2"),
                ev("b", Resolved, 900, "token:alice"),
            ],
            vec![verdict("b", Verdict::Malicious, Verdict::Malicious)],
        ),
        // Escalated P3 that the analyst overturned: engine suspicious, analyst benign (a false positive
        // that reached a human, and an override).
        life(
            incident("c", "suspicious", "P3", "analyst_queue", "wazuh", 7),
            vec![
                ev("c", Detected, 0, "source:wazuh"),
                ev("c", Ingested, 2, "picket"),
                ev("c", Triaged, 7, "engine"),
                ev("c", Escalated, 7, "engine"),
            ],
            vec![verdict("c", Verdict::Suspicious, Verdict::Benign)],
        ),
        // needs_review answered malicious: not an override; the engine missed a positive.
        life(
            incident("d", "needs_review", "P3", "analyst_queue", "suricata", 1),
            vec![
                ev("d", Detected, 0, "source:suricata"),
                ev("d", Ingested, 1, "picket"),
                ev("d", Triaged, 401, "engine"),
                ev("d", Escalated, 401, "engine"),
            ],
            vec![verdict("d", Verdict::NeedsReview, Verdict::Malicious)],
        ),
    ]
}

#[test]
fn every_figure_follows_its_definition() {
    let m = compute(
        &fixture(),
        &Filter::default(),
        &Settings::default(),
        t(-1000),
        t(1000),
    );
    assert_eq!((m.incidents, m.alerts), (4, 61));
    // Ingested → triaged: 2, 4, 5, 400 s.
    assert_eq!(m.time_to_triage.count, 4);
    assert_eq!(m.time_to_triage.mean_secs, Some(102.75));
    assert_eq!(m.time_to_triage.median_secs, Some(4.0));
    assert_eq!(m.time_to_triage.p90_secs, Some(400.0));
    assert_eq!(m.time_to_triage.met, Some(true), "< 5 min");
    assert_eq!(m.time_to_respond.mean_secs, Some(600.0));
    assert_eq!(m.time_to_detect.mean_secs, Some(300.0));
    assert_eq!(m.time_to_acknowledge.mean_secs, Some(111.0));
    // Only `a` was handled without a human; of the low-severity (a, c, d) one in three.
    assert_eq!((m.automation.numerator, m.automation.denominator), (1, 4));
    assert_eq!(
        (
            m.automation_low_severity.numerator,
            m.automation_low_severity.denominator
        ),
        (1, 3)
    );
    assert_eq!(
        m.automation_low_severity.target.as_ref().unwrap().met,
        Some(false)
    );
    // False positives: a (50 alerts, no human) and c (7 alerts, reached a human).
    assert_eq!(
        (m.false_positives.incidents, m.false_positives.alerts),
        (2, 57)
    );
    assert_eq!(m.false_positives.minutes_before, 57.0 * 22.5);
    assert_eq!(m.false_positives.minutes_after, 20.0);
    // Overrides: c only (d answered a needs_review).
    assert_eq!(
        (m.override_rate.numerator, m.override_rate.denominator),
        (1, 3)
    );
    // Accuracy: b TP, c FP (engine suspicious, analyst benign), d FN.
    assert_eq!(
        (
            m.accuracy.precision.numerator,
            m.accuracy.precision.denominator
        ),
        (1, 2)
    );
    assert_eq!(
        (m.accuracy.recall.numerator, m.accuracy.recall.denominator),
        (1, 2)
    );
    assert_eq!(m.accuracy.confusion["suspicious"]["benign"], 1);
    assert_eq!(m.accuracy.judged, 3);
    // Cost: three incidents reached a human × 20 min at 60/h = 60, plus compute.
    assert!((m.cost.analyst - 60.0).abs() < 1e-9);
    // Completeness: `a` (auto-closed) has scope and evidence: 100%; escalated ones miss intel on
    // indicators? none (no observables) — they miss attack mapping and asset context.
    assert_eq!(m.investigation_completeness.items["scope"].rate, Some(1.0));
    assert_eq!(
        m.investigation_completeness.items["attack_mapping"].numerator,
        0
    );
    // Groups.
    assert_eq!(m.by_priority["P3"].incidents, 2);
    assert_eq!(m.by_source["wazuh"].alerts, 57);
}

#[test]
fn filters_select_by_source_rule_and_priority() {
    let f = fixture();
    let s = Settings::default();
    let by = |filter: Filter| compute(&f, &filter, &s, t(-1000), t(1000)).incidents;
    assert_eq!(
        by(Filter {
            source: Some("wazuh".into()),
            ..Default::default()
        }),
        2
    );
    assert_eq!(
        by(Filter {
            priority: Some(Priority::P1),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        by(Filter {
            rule: Some("rule-d".into()),
            ..Default::default()
        }),
        1
    );
    assert_eq!(
        by(Filter {
            rule: Some("nothing".into()),
            ..Default::default()
        }),
        0
    );
    let empty = compute(&[], &Filter::default(), &s, t(0), t(1));
    assert_eq!(empty.automation.rate, None);
    assert_eq!(empty.time_to_triage.mean_secs, None);
}

proptest! {
    #[test]
    fn rates_stay_in_range_and_groups_add_up(
        spec in prop::collection::vec((0usize..4, 0usize..4, 0usize..3, 1u64..100, any::<bool>(), 0i64..10_000), 0..30)
    ) {
        let verdicts = ["malicious", "suspicious", "benign", "needs_review"];
        let prios = ["P1", "P2", "P3", "P4"];
        let esc = ["auto_close", "analyst_queue", "on_call"];
        let items: Vec<IncidentLifecycle> = spec
            .iter()
            .enumerate()
            .map(|(n, (v, p, e, alerts, judged, dt))| {
                let id = format!("i{n}");
                let inc = incident(&id, verdicts[*v], prios[*p], esc[*e], ["wazuh", "suricata"][n % 2], *alerts);
                let mut events = vec![ev(&id, LifecycleEvent::Ingested, 0, "picket"), ev(&id, LifecycleEvent::Triaged, *dt, "engine")];
                if inc.escalation == Escalation::AutoClose {
                    events.push(ev(&id, LifecycleEvent::Resolved, *dt, "engine"));
                }
                let vs = if *judged { vec![verdict(&id, inc.verdict, Verdict::Benign)] } else { vec![] };
                IncidentLifecycle { rules: vec![], incident: inc, events, verdicts: vs, llm_tokens: 0, llm_cost: 0.0 }
            })
            .collect();
        let m = compute(&items, &Filter::default(), &Settings::default(), t(0), t(1));
        for r in [&m.automation, &m.automation_low_severity, &m.override_rate, &m.accuracy.precision, &m.accuracy.recall] {
            prop_assert!(r.numerator <= r.denominator);
            if let Some(x) = r.rate { prop_assert!((0.0..=1.0).contains(&x)); }
        }
        prop_assert_eq!(m.by_priority.values().map(|g| g.incidents).sum::<u64>(), m.incidents);
        prop_assert_eq!(m.by_source.values().map(|g| g.incidents).sum::<u64>(), m.incidents);
        if let (Some(md), Some(p90)) = (m.time_to_triage.median_secs, m.time_to_triage.p90_secs) {
            prop_assert!(md <= p90);
        }
        let judged: u64 = m.accuracy.confusion.values().flat_map(|r| r.values()).sum();
        prop_assert_eq!(judged, m.accuracy.judged);
    }
}

#[test]
fn llm_cost_is_what_the_investigations_cost_or_their_tokens_at_the_fallback_rate() {
    let mut items = fixture();
    items[0].llm_cost = 0.5;
    items[0].llm_tokens = 4000;
    items[1].llm_tokens = 2000;
    let settings = Settings {
        llm_cost_per_1k_tokens: 0.01,
        ..Settings::default()
    };
    let m = compute(&items, &Filter::default(), &settings, t(-1000), t(1000));
    // The priced investigation counts at its price; the unpriced one at 2 × 0.01.
    assert!((m.cost.llm - 0.52).abs() < 1e-9, "{}", m.cost.llm);
    let without = compute(&fixture(), &Filter::default(), &settings, t(-1000), t(1000));
    assert!((m.cost.total - without.cost.total - 0.52).abs() < 1e-9);
}
