//! STIX and MISP exports of a hand-made incident: patterns, the indicator rule, determinism, TLP,
//! and the MISP mapping. Conformance with the real validators runs in `crates/picket/tests/export.rs`.

#![recursion_limit = "256"]

use std::collections::BTreeSet;

use picket_core::{Alert, Incident, ObservableType};
use picket_export::{
    ExportOptions, Tlp, TlpVersion, escape_pattern_value, indicator_pattern, misp_event,
    stix_bundle, uri_value,
};
use serde_json::{Value, json};

fn incident() -> Incident {
    serde_json::from_value(json!({
        "id": "inc_0123456789abcdef01234567",
        "title": "SSH brute force from 203.0.113.9 then login",
        "status": "open",
        "verdict": "malicious",
        "priority": "P1",
        "confidence": 0.85,
        "confidence_note": "malicious (score 0.80, confidence 0.85, 4 signals).",
        "escalation": "on_call",
        "first_seen": "2024-05-01T10:00:00.123456Z",
        "last_seen": "2024-05-01T10:05:00Z",
        "alert_count": 12,
        "alerts": [
            {"id": "al_1", "format": "wazuh", "raw_sha256": "00", "count": 11},
            {"id": "al_2", "format": "wazuh", "raw_sha256": "01", "count": 1}
        ],
        "scope": {"hosts": ["web-01"], "users": ["root"], "ips": ["203.0.113.9", "10.0.0.5"]},
        "observables": [
            {"type": "ipv4", "value": "203.0.113.9", "benign_lists": []},
            {"type": "ipv4", "value": "10.0.0.5", "labels": ["private"], "benign_lists": []},
            {"type": "domain", "value": "update.example.com", "benign_lists": ["Top 1000 domains"]},
            {"type": "url", "value": "http://evil.example/a'b\\c", "benign_lists": []},
            {"type": "sha256", "value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "benign_lists": []},
            {"type": "email", "value": "bob@evil.example", "benign_lists": []},
            {"type": "cve", "value": "cve-2021-44228", "benign_lists": []}
        ],
        "attack": [
            {"technique": "T1110", "tactic": "TA0006"},
            {"technique": "T1999.001"},
            {"tactic": "initial-access"}
        ],
        "timeline": [],
        "evidence": [
            {"claim": "11 failed logins then a success", "source": "alert:al_2:rule", "weight": 0.4}
        ],
        "enrichment": {
            "subject": "incident:inc_0123456789abcdef01234567",
            "partial": false,
            "started_at": "2024-05-01T10:05:01Z",
            "elapsed_ms": 120,
            "summary": {"indicators": 2, "malicious": 1, "suspicious": 0, "benign": 1, "unknown": 0,
                        "lookups": 2, "cached": 0, "failed": 0, "stale": 0},
            "indicators": [
                {"type": "ipv4", "value": "203.0.113.9", "verdict": "malicious", "results": [{
                    "source": "abuseipdb", "provider": "abuseipdb", "type": "ipv4",
                    "value": "203.0.113.9", "verdict": "malicious",
                    "reference": "https://www.abuseipdb.com/check/203.0.113.9",
                    "fetched_at": "2024-05-01T10:05:01Z", "stale": false, "cached": false,
                    "reliability": 0.8
                }]},
                {"type": "email", "value": "bob@evil.example", "verdict": "benign", "results": []}
            ]
        }
    }))
    .unwrap()
}

fn alerts() -> Vec<Alert> {
    let alert = |id: &str, time: &str| {
        json!({
            "id": id, "format": "wazuh", "time": time,
            "product": {"vendor": "Wazuh", "name": "Wazuh"},
            "rule": {"id": "5712", "name": "sshd: brute force"},
            "severity": "high", "message": "sshd brute force",
            "entities": {
                "hosts": [{"hostname": "web-01"}],
                "endpoints": [
                    {"ip": "203.0.113.9", "port": 51022, "role": "source"},
                    {"ip": "10.0.0.5", "port": 22, "role": "destination"}
                ]
            },
            "attack": [{"technique": "T1110.001", "tactic": "credential-access"}],
            "raw_sha256": "00"
        })
    };
    serde_json::from_value(json!([
        alert("al_1", "2024-05-01T10:01:00Z"),
        alert("al_2", "2024-05-01T10:04:00Z")
    ]))
    .unwrap()
}

fn objects<'a>(bundle: &'a Value, ty: &str) -> Vec<&'a Value> {
    bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["type"] == ty)
        .collect()
}

#[test]
fn patterns_name_the_right_property_and_escape_quotes_and_backslashes() {
    assert_eq!(escape_pattern_value(r"a'b\c"), r"a\'b\\c");
    assert_eq!(escape_pattern_value(r"\'"), r"\\\'");
    let p = |k, v| indicator_pattern(k, v).unwrap();
    assert_eq!(
        p(ObservableType::Ipv4, "203.0.113.9"),
        "[ipv4-addr:value = '203.0.113.9']"
    );
    assert_eq!(
        p(ObservableType::Ipv6, "2001:db8::1"),
        "[ipv6-addr:value = '2001:db8::1']"
    );
    assert_eq!(
        p(ObservableType::Domain, "evil.example"),
        "[domain-name:value = 'evil.example']"
    );
    assert_eq!(
        p(ObservableType::Email, "a@b.example"),
        "[email-addr:value = 'a@b.example']"
    );
    assert_eq!(
        p(ObservableType::Url, r"http://x.example/it's\here"),
        r"[url:value = 'http://x.example/it\'s%5Chere']"
    );
    // URLs are written as RFC 3986 URIs first (a backslash, a space, a stray `%` are not allowed).
    assert_eq!(
        uri_value("http://[2001:db8::1]:80/a b/[x]/%zz/%41/é"),
        "http://[2001:db8::1]:80/a%20b/%5Bx%5D/%25zz/%41/%C3%A9"
    );
    assert_eq!(p(ObservableType::Md5, "ab"), "[file:hashes.MD5 = 'ab']");
    assert_eq!(
        p(ObservableType::Sha1, "ab"),
        "[file:hashes.'SHA-1' = 'ab']"
    );
    assert_eq!(
        p(ObservableType::Sha256, "ab"),
        "[file:hashes.'SHA-256' = 'ab']"
    );
    assert_eq!(
        p(ObservableType::Sha512, "ab"),
        "[file:hashes.'SHA-512' = 'ab']"
    );
    assert_eq!(
        indicator_pattern(ObservableType::Cve, "CVE-2021-44228"),
        None
    );
}

#[test]
fn the_same_incident_exports_to_the_same_bytes() {
    let (i, a) = (incident(), alerts());
    let o = ExportOptions::parse(None, Some("amber"), None).unwrap();
    assert_eq!(
        stix_bundle(&i, &a, &o).to_string(),
        stix_bundle(&i, &a, &o).to_string()
    );
    assert_eq!(
        misp_event(&i, &a, &o).to_string(),
        misp_event(&i, &a, &o).to_string()
    );
    // Another incident gets other ids; times come from the incident, never the clock.
    let mut other = i.clone();
    other.id = "inc_ffffffffffffffffffffffff".into();
    let (b1, b2) = (stix_bundle(&i, &a, &o), stix_bundle(&other, &a, &o));
    assert_ne!(b1["id"], b2["id"]);
    assert_ne!(
        objects(&b1, "report")[0]["id"],
        objects(&b2, "report")[0]["id"]
    );
    assert_eq!(
        objects(&b1, "report")[0]["created"],
        "2024-05-01T10:00:00.123Z"
    );
    assert_eq!(
        objects(&b1, "report")[0]["modified"],
        "2024-05-01T10:05:00.000Z"
    );
    // Observables are named by STIX's own scheme, the same in both.
    assert_eq!(objects(&b1, "ipv4-addr"), objects(&b2, "ipv4-addr"));
}

#[test]
fn only_shareable_indicators_become_stix_indicators() {
    let b = stix_bundle(&incident(), &alerts(), &ExportOptions::default());
    let patterns: BTreeSet<&str> = objects(&b, "indicator")
        .iter()
        .map(|i| i["pattern"].as_str().unwrap())
        .collect();
    // The private address and the warninglisted domain are observations only; the CVE is a
    // vulnerability.
    assert_eq!(
        patterns,
        BTreeSet::from([
            "[ipv4-addr:value = '203.0.113.9']",
            r"[url:value = 'http://evil.example/a\'b%5Cc']",
            "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
            "[email-addr:value = 'bob@evil.example']",
        ])
    );
    let observed = &objects(&b, "observed-data")[0]["object_refs"];
    let values: BTreeSet<&str> = b["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| observed.as_array().unwrap().contains(&o["id"]))
        .filter_map(|o| o["value"].as_str())
        .collect();
    assert!(values.contains("10.0.0.5") && values.contains("update.example.com"));
    assert_eq!(objects(&b, "vulnerability")[0]["name"], "CVE-2021-44228");

    let types = |pattern: &str| {
        objects(&b, "indicator")
            .into_iter()
            .find(|i| i["pattern"].as_str().unwrap().contains(pattern))
            .unwrap()["indicator_types"]
            .clone()
    };
    assert_eq!(types("203.0.113.9"), json!(["malicious-activity"]));
    assert_eq!(types("bob@"), json!(["benign"]));
    // No intel on the URL: the incident's verdict speaks.
    assert_eq!(types("url:"), json!(["malicious-activity"]));

    // The sighting of the attacker's address counts the alerts naming it, duplicates included.
    let ip = objects(&b, "indicator")
        .into_iter()
        .find(|i| i["pattern"].as_str().unwrap().contains("203.0.113.9"))
        .unwrap()["id"]
        .clone();
    let s = objects(&b, "sighting")
        .into_iter()
        .find(|s| s["sighting_of_ref"] == ip)
        .unwrap();
    assert_eq!(
        (&s["count"], &s["first_seen"], &s["last_seen"]),
        (
            &json!(12),
            &json!("2024-05-01T10:01:00.000Z"),
            &json!("2024-05-01T10:04:00.000Z")
        )
    );
    let host = &objects(&b, "identity")
        .into_iter()
        .find(|i| i["identity_class"] == "system")
        .unwrap()["id"];
    assert_eq!(s["where_sighted_refs"], json!([host]));
}

#[test]
fn techniques_become_attack_patterns_that_indicators_indicate() {
    let b = stix_bundle(&incident(), &alerts(), &ExportOptions::default());
    let patterns = objects(&b, "attack-pattern");
    let names: BTreeSet<(&str, &str)> = patterns
        .iter()
        .map(|p| {
            (
                p["external_references"][0]["external_id"].as_str().unwrap(),
                p["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            ("T1110", "Brute Force"),
            ("T1110.001", "Password Guessing"),
            ("T1999.001", "T1999.001"),
        ])
    );
    let brute = patterns
        .iter()
        .find(|p| p["name"] == "Brute Force")
        .unwrap();
    assert_eq!(
        brute["kill_chain_phases"],
        json!([{"kill_chain_name": "mitre-attack", "phase_name": "credential-access"}])
    );
    assert_eq!(
        brute["external_references"][0]["source_name"],
        "mitre-attack"
    );
    let indicates = objects(&b, "relationship")
        .into_iter()
        .filter(|r| r["relationship_type"] == "indicates" && r["target_ref"] == brute["id"])
        .count();
    assert_eq!(indicates, objects(&b, "indicator").len());
}

#[test]
fn every_reference_resolves_and_the_report_covers_everything() {
    let o = ExportOptions::parse(Some("ACME CERT"), Some("red"), None).unwrap();
    let b = stix_bundle(&incident(), &alerts(), &o);
    let all = b["objects"].as_array().unwrap();
    let ids: BTreeSet<&str> = all.iter().map(|o| o["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), all.len(), "ids are unique");
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if k.ends_with("_ref") {
                        out.extend(x.as_str());
                    } else if k.ends_with("_refs") {
                        out.extend(x.as_array().unwrap().iter().filter_map(Value::as_str));
                    } else {
                        refs(x, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all_refs = Vec::new();
    refs(&b, &mut all_refs);
    for r in all_refs {
        assert!(ids.contains(r), "{r} is referenced but not in the bundle");
    }
    let report = objects(&b, "report")[0];
    let covered: BTreeSet<&str> = report["object_refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for o in all {
        let ty = o["type"].as_str().unwrap();
        if ty != "report" && ty != "note" {
            assert!(covered.contains(o["id"].as_str().unwrap()), "{ty} left out");
        }
    }
    assert_eq!(report["confidence"], 85);
    assert!(
        report["description"]
            .as_str()
            .unwrap()
            .contains("Verdict: malicious, priority P1")
    );
    assert!(
        objects(&b, "note")[0]["content"]
            .as_str()
            .unwrap()
            .contains("11 failed logins")
    );
    let producer = objects(&b, "identity")
        .into_iter()
        .find(|i| i["name"] == "ACME CERT")
        .unwrap();
    assert_eq!(producer["identity_class"], "organization");
    // TLP:RED (2.0) on everything but the shared identity and the marking itself.
    let red = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
    assert_eq!(objects(&b, "marking-definition")[0]["id"], red);
    for o in all {
        if o["id"] != producer["id"] && o["type"] != "marking-definition" {
            assert_eq!(o["object_marking_refs"], json!([red]), "{}", o["id"]);
        }
    }
}

#[test]
fn tlp_1_uses_the_stix_specification_markings() {
    let o = ExportOptions {
        tlp: Some(Tlp::Clear),
        tlp_version: TlpVersion::V1,
        ..ExportOptions::default()
    };
    let b = stix_bundle(&incident(), &[], &o);
    let m = objects(&b, "marking-definition")[0];
    assert_eq!(
        (&m["id"], &m["definition"]),
        (
            &json!("marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),
            &json!({"tlp": "white"})
        )
    );
    assert_eq!(
        misp_event(&incident(), &[], &o)["Event"]["Tag"][0]["name"],
        "tlp:white"
    );
}

#[test]
fn misp_attributes_use_misp_types_categories_and_to_ids() {
    let o = ExportOptions::parse(None, Some("amber"), None).unwrap();
    let e = misp_event(&incident(), &alerts(), &o);
    let ev = &e["Event"];
    let attrs: Vec<(&str, &str, &str, bool)> = ev["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["type"].as_str().unwrap(),
                a["category"].as_str().unwrap(),
                a["value"].as_str().unwrap(),
                a["to_ids"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        attrs,
        vec![
            ("ip-src", "Network activity", "203.0.113.9", true),
            ("ip-dst", "Network activity", "10.0.0.5", false),
            ("domain", "Network activity", "update.example.com", false),
            (
                "url",
                "Network activity",
                "http://evil.example/a'b\\c",
                true
            ),
            (
                "sha256",
                "Payload delivery",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                true
            ),
            // Intel says benign: shared, but not for detection.
            ("email-src", "Payload delivery", "bob@evil.example", false),
            (
                "vulnerability",
                "External analysis",
                "CVE-2021-44228",
                false
            ),
            ("target-user", "Targeting data", "root", false),
            ("target-machine", "Targeting data", "web-01", false),
        ]
    );
    assert!(
        ev["Attribute"][2]["comment"]
            .as_str()
            .unwrap()
            .contains("Top 1000 domains")
    );
    let tags: Vec<&str> = ev["Tag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        tags,
        vec![
            "tlp:amber",
            "misp-galaxy:mitre-attack-pattern=\"Brute Force - T1110\"",
            "misp-galaxy:mitre-attack-pattern=\"Password Guessing - T1110.001\"",
            "mitre-attack:attack-pattern=\"T1999.001\"",
            "picket:verdict=\"malicious\"",
            "picket:priority=\"P1\"",
        ]
    );
    assert_eq!(
        (
            &ev["threat_level_id"],
            &ev["analysis"],
            &ev["distribution"],
            &ev["date"],
            &ev["timestamp"]
        ),
        (
            &json!("1"),
            &json!("1"),
            &json!("1"),
            &json!("2024-05-01"),
            &json!("1714557900")
        )
    );
    assert_eq!(
        ev["Attribute"][0]["first_seen"],
        "2024-05-01T10:01:00.000000+00:00"
    );
    // Without alerts an address's role is unknown: ip-dst.
    let bare = misp_event(&incident(), &[], &o);
    assert_eq!(bare["Event"]["Attribute"][0]["type"], "ip-dst");
}
