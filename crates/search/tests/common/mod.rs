//! Incidents for the tests, from compact `kind:value` specs.

use picket_core::Incident;
use serde_json::{Value, json};

/// An incident whose exact values are given as `kind:value`: `rule:<key>`, `technique:<id>`,
/// `tactic:<id>`, `host:<name>`, `user:<name>`, `ip:<scope ip>`, `<observable type>:<value>`
/// (`ipv4`, `sha256`, `domain`…), and `benign-<observable type>:<value>` for an observable on a
/// benign list.
pub(crate) fn incident(id: &str, title: &str, values: &[&str]) -> Incident {
    let mut hosts = Vec::new();
    let mut users = Vec::new();
    let mut ips = Vec::new();
    let mut observables = Vec::new();
    let mut attack = Vec::new();
    let mut evidence = Vec::new();
    for v in values {
        let (kind, value) = v.split_once(':').expect("kind:value");
        match kind {
            "rule" => evidence.push(json!({
                "claim": format!("first time `{value}` fires on these entities"),
                "source": format!("history:{value}"),
                "weight": 0.05,
            })),
            "technique" => attack.push(json!({ "technique": value })),
            "tactic" => attack.push(json!({ "tactic": value })),
            "host" => hosts.push(value),
            "user" => users.push(value),
            "ip" => ips.push(value),
            other => {
                let (kind, lists) = match other.strip_prefix("benign-") {
                    Some(k) => (k, vec!["public-dns-v4"]),
                    None => (other, vec![]),
                };
                observables.push(json!({ "type": kind, "value": value, "benign_lists": lists }));
            }
        }
    }
    incident_from(json!({
        "id": id,
        "title": title,
        "status": "open",
        "verdict": "suspicious",
        "priority": "P3",
        "confidence": 0.6,
        "confidence_note": "test",
        "escalation": "analyst_queue",
        "first_seen": "2025-03-01T10:00:00Z",
        "last_seen": "2025-03-01T10:05:00Z",
        "alert_count": 1,
        "alerts": [{ "id": format!("{id}-a1"), "format": "sentinel", "raw_sha256": "00", "count": 1 }],
        "scope": { "hosts": hosts, "users": users, "ips": ips },
        "observables": observables,
        "attack": attack,
        "timeline": [{
            "time": "2025-03-01T10:00:00Z",
            "alert": format!("{id}-a1"),
            "summary": format!("alert for {title}"),
            "count": 1,
        }],
        "evidence": evidence,
    }))
}

#[allow(dead_code)] // not every test binary uses it
pub(crate) fn incident_from(v: Value) -> Incident {
    serde_json::from_value(v).expect("a valid incident")
}
