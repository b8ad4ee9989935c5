//! Behaviour of deduplication, correlation and assessment on small hand-built alert streams.

use jiff::Timestamp;
use picket_core::{
    Alert, AttackRef, Entities, Escalation, Product, Rule, Severity, SourceFormat, Verdict,
};
use picket_triage::engine::Pushed;
use picket_triage::knowledge::{CompiledSuppression, Feedback};
use picket_triage::{Criticality, Engine, Inventory, Knowledge, Suppression, TriageConfig};

fn alert(id: &str, secs: i64, rule: &str, host: &str, sev: Severity) -> Alert {
    let mut entities = Entities::default();
    entities.add_host(Some(host), None, None);
    Alert {
        id: id.to_owned(),
        format: SourceFormat::Wazuh,
        source_event_id: Some(id.to_owned()),
        time: Timestamp::from_second(1_700_000_000 + secs).unwrap(),
        product: Product {
            vendor: "Wazuh".into(),
            name: "Wazuh".into(),
        },
        rule: Rule {
            id: None,
            name: rule.to_owned(),
            category: None,
        },
        severity: sev,
        vendor_severity: None,
        message: rule.to_owned(),
        entities,
        attack: Vec::new(),
        observables: Vec::new(),
        raw_sha256: "0".repeat(64),
        raw: String::new(),
    }
}

fn engine() -> Engine {
    Engine::new(TriageConfig::default(), Knowledge::default())
}

#[test]
fn the_same_source_event_twice_is_one_alert() {
    let mut e = engine();
    let a = alert("a1", 0, "r", "h", Severity::Low);
    assert_eq!(e.push(&a), Pushed::NewGroup);
    assert_eq!(e.push(&a), Pushed::Duplicate);
    let inc = e.finish();
    assert_eq!(inc.len(), 1);
    assert_eq!(inc[0].alert_count, 1);
}

#[test]
fn repeats_within_the_dedup_window_fold_with_count_and_span() {
    let mut e = engine();
    for i in 0..5 {
        e.push(&alert(&format!("a{i}"), i * 60, "rule", "h", Severity::Low));
    }
    // Beyond the dedup window (3600 s after the last repeat): a new group, and a new incident since
    // the correlation window has passed too.
    e.push(&alert("late", 4 * 60 + 3601, "rule", "h", Severity::Low));
    let inc = e.finish();
    assert_eq!(inc.len(), 2);
    assert_eq!(inc[0].alert_count, 5);
    assert_eq!(inc[0].alerts.len(), 1);
    assert_eq!(inc[0].alerts[0].count, 5);
    assert_eq!(inc[0].timeline[0].count, 5);
    assert_eq!(
        (inc[0].last_seen.as_second() - inc[0].first_seen.as_second()),
        240
    );
}

#[test]
fn alerts_sharing_an_entity_within_the_window_join_one_incident() {
    let mut e = engine();
    e.push(&alert("a", 0, "first rule", "web01", Severity::Medium));
    e.push(&alert("b", 600, "second rule", "web01", Severity::Medium));
    e.push(&alert("c", 700, "third rule", "db01", Severity::Medium));
    e.push(&alert(
        "d",
        600 + 1801,
        "fourth rule",
        "web01",
        Severity::Medium,
    ));
    let inc = e.finish();
    let sizes: Vec<(Vec<String>, u64)> = inc
        .iter()
        .map(|i| (i.scope.hosts.clone(), i.alert_count))
        .collect();
    assert_eq!(
        sizes,
        vec![
            (vec!["web01".to_owned()], 2),
            (vec!["db01".to_owned()], 1),
            (vec!["web01".to_owned()], 1)
        ]
    );
    assert_eq!(inc[0].timeline.len(), 2);
    assert!(inc[0].timeline[0].time <= inc[0].timeline[1].time);
}

#[test]
fn a_shared_entity_merges_incidents_that_started_apart() {
    let mut e = engine();
    let mut a = alert("a", 0, "r1", "h1", Severity::Medium);
    a.entities.add_user("alice");
    let b = alert("b", 10, "r2", "h2", Severity::Medium);
    let mut c = alert("c", 20, "r3", "h2", Severity::Medium);
    c.entities.add_user("alice");
    for x in [&a, &b, &c] {
        e.push(x);
    }
    let inc = e.finish();
    assert_eq!(inc.len(), 1, "user alice bridges h1 and h2");
    assert_eq!(inc[0].scope.hosts, vec!["h1", "h2"]);
    assert_eq!(e_incident_of_all(&[&a, &b, &c]), 1);
}

fn e_incident_of_all(alerts: &[&Alert]) -> usize {
    let mut e = engine();
    for a in alerts {
        e.push(a);
    }
    let ids: std::collections::HashSet<String> = alerts
        .iter()
        .map(|a| e.incident_of(&a.id).unwrap().to_owned())
        .collect();
    ids.len()
}

#[test]
fn a_long_running_routine_rule_leaves_the_incident_it_was_in() {
    let cfg = TriageConfig {
        routine_after: 10,
        routine_span_secs: 600,
        ..TriageConfig::default()
    };
    let mut e = Engine::new(cfg, Knowledge::default());
    // A chatty update job on host h every 100 s.
    for i in 0..20 {
        e.push(&alert(
            &format!("u{i}"),
            i * 100,
            "Signature database update",
            "h",
            Severity::Low,
        ));
    }
    // Then an attack-looking alert on the same host.
    let mut bad = alert(
        "x",
        2050,
        "sshd: brute force trying to get access",
        "h",
        Severity::High,
    );
    bad.attack.push(AttackRef {
        name: None,
        technique: Some("T1110".into()),
        tactic: Some("credential-access".into()),
    });
    e.push(&bad);
    let inc = e.finish();
    assert_eq!(inc.len(), 2, "{inc:#?}");
    let routine = inc
        .iter()
        .find(|i| i.title.starts_with("Signature"))
        .unwrap();
    let attack = inc.iter().find(|i| i.title.starts_with("sshd")).unwrap();
    assert_eq!(routine.alert_count, 20);
    assert_eq!(routine.verdict, Verdict::Benign);
    assert_eq!(routine.escalation, Escalation::AutoClose);
    assert!(
        routine
            .evidence
            .iter()
            .any(|e| e.source.starts_with("history:") && e.weight < 0.0)
    );
    assert_eq!(attack.alert_count, 1);
    assert_ne!(attack.escalation, Escalation::AutoClose);
}

#[test]
fn a_burst_is_not_routine() {
    let cfg = TriageConfig {
        routine_after: 10,
        routine_span_secs: 3600,
        ..TriageConfig::default()
    };
    let mut e = Engine::new(cfg, Knowledge::default());
    for i in 0..30 {
        e.push(&alert(
            &format!("b{i}"),
            i,
            "Multiple authentication failures",
            "h",
            Severity::Medium,
        ));
    }
    let inc = e.finish();
    assert_eq!(inc.len(), 1);
    assert!(
        inc[0].evidence.iter().any(|e| e.claim.starts_with("burst")),
        "{:#?}",
        inc[0].evidence
    );
    assert!(!inc[0].evidence.iter().any(|e| e.claim.contains("routine")));
}

#[test]
fn kill_chain_progression_escalates_to_on_call() {
    let mut e = engine();
    let steps = [
        ("Nmap port scan detected", "reconnaissance", "T1595"),
        ("sshd: brute force", "credential-access", "T1110"),
        ("Reverse shell spawned", "execution", "T1059"),
    ];
    for (i, (rule, tactic, tech)) in steps.iter().enumerate() {
        let mut a = alert(
            &format!("s{i}"),
            i as i64 * 300,
            rule,
            "web01",
            Severity::High,
        );
        a.attack.push(AttackRef {
            name: None,
            technique: Some((*tech).into()),
            tactic: Some((*tactic).into()),
        });
        e.push(&a);
    }
    let inc = e.finish();
    assert_eq!(inc.len(), 1);
    let i = &inc[0];
    assert_eq!(i.verdict, Verdict::Malicious);
    assert_eq!(i.escalation, Escalation::OnCall);
    assert_eq!(i.priority.as_str(), "P1");
    let order: Vec<&str> = i
        .attack
        .iter()
        .filter_map(|a| a.tactic.as_deref())
        .collect();
    assert_eq!(
        order,
        vec!["reconnaissance", "execution", "credential-access"]
    );
    assert!(i.evidence.iter().any(|e| e.source == "attack:progression"));
    assert!(i.evidence.iter().all(|e| !e.source.is_empty()));
    assert!(i.confidence_note.contains("malicious"));
}

#[test]
fn suppression_rules_close_and_cite_themselves() {
    let s = Suppression {
        name: "clamav".into(),
        reason: "routine updates".into(),
        rule: Some("ClamAV".into()),
        rule_id: None,
        host: Some("MAIL".into()),
        network: None,
    };
    let k = Knowledge {
        suppressions: vec![CompiledSuppression::compile(s).unwrap()],
        ..Knowledge::default()
    };
    let mut e = Engine::new(TriageConfig::default(), k);
    e.push(&alert(
        "a",
        0,
        "ClamAV database update",
        "mail",
        Severity::High,
    ));
    e.push(&alert(
        "b",
        5,
        "ClamAV database update",
        "web",
        Severity::High,
    ));
    let inc = e.finish();
    let mail = inc.iter().find(|i| i.scope.hosts == ["mail"]).unwrap();
    assert_eq!(mail.verdict, Verdict::Benign);
    assert_eq!(mail.escalation, Escalation::AutoClose);
    assert_eq!(mail.evidence[0].source, "suppression:clamav");
    let web = inc.iter().find(|i| i.scope.hosts == ["web"]).unwrap();
    assert_ne!(
        web.escalation,
        Escalation::AutoClose,
        "the host condition limits the suppression"
    );
}

#[test]
fn analyst_feedback_moves_later_verdicts() {
    let mut fb = Feedback::default();
    for i in 0..3 {
        fb.record("wazuh:Noisy rule", &format!("inc_{i}"), Verdict::Benign);
    }
    let mut e = Engine::new(
        TriageConfig::default(),
        Knowledge {
            feedback: fb,
            ..Knowledge::default()
        },
    );
    e.push(&alert("a", 0, "Noisy rule", "h", Severity::High));
    let inc = e.finish();
    assert!(
        inc[0]
            .evidence
            .iter()
            .any(|e| e.source == "feedback:inc_2" && e.weight < 0.0),
        "{:#?}",
        inc[0].evidence
    );
    let mut plain = engine();
    plain.push(&alert("a", 0, "Noisy rule", "h", Severity::High));
    let before = plain.finish();
    assert!(inc[0].confidence_note != before[0].confidence_note);
}

#[test]
fn a_critical_asset_raises_priority_and_keeps_a_human_in_the_loop() {
    let inv: Inventory = toml_inventory();
    let mut e = Engine::new(
        TriageConfig::default(),
        Knowledge {
            inventory: inv,
            ..Knowledge::default()
        },
    );
    e.push(&alert(
        "a",
        0,
        "Odd but probably fine",
        "dc01",
        Severity::Medium,
    ));
    let inc = e.finish();
    assert!(
        inc[0]
            .evidence
            .iter()
            .any(|e| e.source == "inventory:host:dc01")
    );
    assert_ne!(inc[0].escalation, Escalation::AutoClose);
}

fn toml_inventory() -> Inventory {
    Inventory {
        hosts: vec![picket_triage::knowledge::AssetEntry {
            name: "DC01".into(),
            criticality: Criticality::Critical,
            owner: Some("it-ops".into()),
            protected: true,
        }],
        ..Inventory::default()
    }
}

#[test]
fn drain_final_returns_closed_incidents_once() {
    let mut e = engine();
    e.push(&alert("a", 0, "r", "h1", Severity::Low));
    e.push(&alert("b", 100_000, "r", "h2", Severity::Low));
    let done = e.drain_final();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].scope.hosts, vec!["h1"]);
    assert!(e.drain_final().is_empty());
    let rest = e.finish();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].scope.hosts, vec!["h2"]);
}

proptest::proptest! {
    /// Whatever the stream, every alert lands in exactly one incident and counts add up.
    #[test]
    fn every_alert_is_counted_once(events in proptest::collection::vec((0i64..20_000, 0usize..4, 0usize..5, 0usize..3), 1..200)) {
        let mut e = engine();
        let mut ids = std::collections::HashSet::new();
        let mut alerts = Vec::new();
        for (i, (t, r, h, dup)) in events.iter().enumerate() {
            let id = if *dup == 0 && i > 0 { format!("e{}", i - 1) } else { format!("e{i}") };
            let a = alert(&id, *t, &format!("rule{r}"), &format!("h{h}"), Severity::Low);
            alerts.push(a);
        }
        alerts.sort_by_key(|a| a.time);
        for a in &alerts {
            e.push(a);
            ids.insert(a.id.clone());
        }
        let inc = e.finish();
        let total: u64 = inc.iter().map(|i| i.alert_count).sum();
        proptest::prop_assert_eq!(total as usize, ids.len());
        for i in &inc {
            proptest::prop_assert!((0.0..=1.0).contains(&i.confidence));
            proptest::prop_assert!(i.first_seen <= i.last_seen);
        }
    }
}
