//! Threat-intel answers reach the assessment as cited evidence and re-assess the incidents they touch.

use std::collections::BTreeMap;

use jiff::Timestamp;
use picket_core::{
    Alert, Entities, IndicatorEnrichment, IntelResult, IntelVerdict, Observable, ObservableType,
    Product, Rule, Severity, SourceFailure, SourceFormat, Verdict,
};
use picket_triage::{Engine, Knowledge, TriageConfig};

fn alert(id: &str, ip: &str, sev: Severity) -> Alert {
    let mut entities = Entities::default();
    entities.add_host(Some("web01"), None, None);
    Alert {
        id: id.to_owned(),
        format: SourceFormat::Suricata,
        source_event_id: Some(id.to_owned()),
        time: Timestamp::from_second(1_700_000_000).unwrap(),
        product: Product {
            vendor: "OISF".into(),
            name: "Suricata".into(),
        },
        rule: Rule {
            id: Some("2000001".into()),
            name: "Outbound connection".into(),
            category: None,
        },
        severity: sev,
        vendor_severity: None,
        message: "Outbound connection".into(),
        entities,
        attack: Vec::new(),
        observables: vec![Observable::new(ObservableType::Ipv4, ip, "dest_ip")],
        raw_sha256: "0".repeat(64),
        raw: String::new(),
    }
}

fn answer(ip: &str, verdict: IntelVerdict, reliability: f64, stale: bool) -> IndicatorEnrichment {
    let r = IntelResult {
        source: "vt".into(),
        provider: "virustotal".into(),
        kind: ObservableType::Ipv4,
        value: ip.into(),
        verdict,
        score: Some(0.9),
        highlights: BTreeMap::new(),
        first_seen: None,
        last_seen: None,
        reference: None,
        fetched_at: Timestamp::from_second(1_700_000_100).unwrap(),
        stale,
        cached: false,
        reliability,
    };
    IndicatorEnrichment {
        kind: ObservableType::Ipv4,
        value: ip.into(),
        verdict: picket_core::enrichment::combine(std::slice::from_ref(&r), 0.5),
        results: vec![r],
        failures: Vec::new(),
    }
}

#[test]
fn malicious_intel_raises_the_verdict_and_is_cited() {
    let mut e = Engine::new(TriageConfig::default(), Knowledge::default());
    e.push(&alert("a1", "198.51.100.7", Severity::High));
    let before = e.drain_updated();
    assert_eq!(before.len(), 1);
    assert_ne!(before[0].verdict, Verdict::Malicious);
    assert!(before[0].enrichment.is_none());

    e.add_intel([answer("198.51.100.7", IntelVerdict::Malicious, 0.9, false)]);
    let after = e.drain_updated();
    assert_eq!(
        after.len(),
        1,
        "the incident holding the indicator is re-assessed"
    );
    let inc = &after[0];
    assert_eq!(inc.id, before[0].id);
    assert_eq!(inc.verdict, Verdict::Malicious);
    let ev = inc
        .evidence
        .iter()
        .find(|e| e.source == "intel:vt:ipv4:198.51.100.7")
        .expect("intel evidence cited");
    assert!(ev.weight > 0.4 && ev.claim.contains("malicious"));
    let enr = inc.enrichment.as_ref().expect("artifact on the incident");
    assert_eq!(enr.subject, format!("incident:{}", inc.id));
    assert_eq!(enr.summary.malicious, 1);
}

#[test]
fn intel_on_other_indicators_leaves_incidents_alone() {
    let mut e = Engine::new(TriageConfig::default(), Knowledge::default());
    e.push(&alert("a1", "198.51.100.7", Severity::High));
    e.drain_updated();
    e.add_intel([answer("203.0.113.1", IntelVerdict::Malicious, 0.9, false)]);
    assert!(e.drain_updated().is_empty());
}

#[test]
fn stale_malicious_only_counts_as_suspicious() {
    let mut fresh = Engine::new(TriageConfig::default(), Knowledge::default());
    let mut stale = Engine::new(TriageConfig::default(), Knowledge::default());
    for e in [&mut fresh, &mut stale] {
        e.push(&alert("a1", "198.51.100.7", Severity::Low));
    }
    fresh.add_intel([answer("198.51.100.7", IntelVerdict::Malicious, 0.9, false)]);
    stale.add_intel([answer("198.51.100.7", IntelVerdict::Malicious, 0.9, true)]);
    let w = |e: Engine| {
        e.finish()[0]
            .evidence
            .iter()
            .filter(|x| x.source.starts_with("intel:vt"))
            .map(|x| x.weight)
            .sum::<f64>()
    };
    let (f, s) = (w(fresh), w(stale));
    assert!(f > s && s > 0.0, "fresh {f} stale {s}");
}

#[test]
fn partial_enrichment_is_said_and_benign_intel_weighs_lightly() {
    let mut e = Engine::new(TriageConfig::default(), Knowledge::default());
    e.push(&alert("a1", "198.51.100.7", Severity::Medium));
    let mut a = answer("198.51.100.7", IntelVerdict::Benign, 0.9, false);
    a.failures.push(SourceFailure {
        source: "otx".into(),
        code: "deadline".into(),
        message: "the enrichment deadline passed before an answer".into(),
    });
    e.add_intel([a]);
    let inc = e.finish().remove(0);
    let benign: Vec<_> = inc
        .evidence
        .iter()
        .filter(|x| x.source.starts_with("intel:vt"))
        .collect();
    assert_eq!(benign.len(), 1);
    assert!(benign[0].weight < 0.0 && benign[0].weight >= -0.2);
    let partial = inc
        .evidence
        .iter()
        .find(|x| x.source == "intel:partial")
        .unwrap();
    assert!(partial.claim.contains("deadline"));
    assert!(inc.enrichment.unwrap().partial);
}

mod attack {
    use std::sync::Arc;

    use picket_core::{AttackRef, Severity};
    use picket_intel::AttackCatalog;
    use picket_triage::{Engine, Knowledge, TriageConfig};

    fn catalog() -> Arc<AttackCatalog> {
        let dir = std::env::var_os("PICKET_SHARED_DATA")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
            });
        let bytes = std::fs::read(dir.join("attack/enterprise-attack.json")).unwrap();
        Arc::new(AttackCatalog::from_bundle(&bytes).unwrap())
    }

    #[test]
    fn revoked_ids_are_replaced_deprecated_dropped_and_names_filled() {
        let k = Knowledge {
            attack: Some(catalog()),
            ..Knowledge::default()
        };
        let mut e = Engine::new(TriageConfig::default(), k);
        let mut a = super::alert("a1", "198.51.100.7", Severity::High);
        a.attack = vec![
            AttackRef {
                name: None,
                technique: Some("T1143".into()),
                tactic: None,
            },
            AttackRef {
                name: None,
                technique: Some("T1153".into()),
                tactic: None,
            },
        ];
        e.push(&a);
        // A rule naming a technique in words, no vendor mapping, no keyword in the table.
        let mut b = super::alert("b1", "198.51.100.7", Severity::Medium);
        b.rule.name = "Possible Kerberoasting detected".into();
        b.rule.id = Some("kerb-1".into());
        b.message = b.rule.name.clone();
        b.observables.clear();
        e.push(&b);
        let inc = e.finish();
        let all: Vec<&AttackRef> = inc.iter().flat_map(|i| &i.attack).collect();
        let ids: Vec<&str> = all.iter().filter_map(|a| a.technique.as_deref()).collect();
        assert!(ids.contains(&"T1564.003"), "{ids:?}");
        assert!(
            !ids.contains(&"T1143") && !ids.contains(&"T1153"),
            "{ids:?}"
        );
        let hidden = all
            .iter()
            .find(|a| a.technique.as_deref() == Some("T1564.003"))
            .unwrap();
        assert_eq!(
            hidden.name.as_deref(),
            Some("Hide Artifacts: Hidden Window")
        );
        assert_eq!(hidden.tactic.as_deref(), Some("defense-evasion"));
        let kerb = all
            .iter()
            .find(|a| a.technique.as_deref() == Some("T1558.003"))
            .expect("mapped from the rule name");
        assert_eq!(kerb.tactic.as_deref(), Some("credential-access"));
    }
}
