//! Elastic Security detection alerts (`.alerts-security.alerts-*` documents, Kibana 8.x): the
//! `kibana.alert.*` fields, flattened (`"kibana.alert.rule.name": ..`) or nested, plus the ECS fields
//! copied from the source event (`host`, `user`, `source`, `destination`, `process`, `file`, `url`,
//! `dns`, `email`, `threat`). 7.x signals (`signal.rule.*`) are read the same way. References: Elastic
//! Security "Alert schema" (kibana.alert.uuid, rule.name, rule.rule_id, rule.threat, severity,
//! risk_score, reason, original_time) and the ECS field reference.

use crate::json::Json;
use picket_core::{
    AttackRef, EndpointRole, Entities, FileEntity, Process, Product, Rule, Severity, SourceFormat,
};

use super::fields::{
    add_domain, add_email, add_file, add_url, add_user_in, attack_tactic, hex_hash, port_at,
    push_attack, technique_id,
};
use super::{Doc, Normalized, SourceAdapter};
use crate::error::AdapterError;

pub struct ElasticAlert;

/// `kibana.alert` for 8.x alerts, `signal` for 7.x signals.
fn prefix(d: &Doc<'_>) -> Option<&'static str> {
    if d.has("kibana.alert.rule.name")
        || d.has("kibana.alert.rule.uuid")
        || d.has("kibana.alert.uuid")
    {
        Some("kibana.alert")
    } else if d.has("signal.rule.name") && d.has("signal.rule.id") {
        Some("signal")
    } else {
        None
    }
}

impl SourceAdapter for ElasticAlert {
    fn format(&self) -> SourceFormat {
        SourceFormat::ElasticAlert
    }

    fn detect(&self, doc: &Json) -> bool {
        prefix(&Doc(doc)).is_some()
    }

    fn normalize(&self, doc: &Json) -> Result<Normalized, AdapterError> {
        let d = Doc(doc);
        let p = prefix(&d).ok_or(AdapterError::Missing("kibana.alert.rule.name"))?;
        let at = |s: &str| format!("{p}.{s}");

        // `@timestamp` is when the rule created the alert; `original_time` (the source event's time)
        // stands in when it is missing.
        let time = d
            .time(&["@timestamp", &at("original_time")])?
            .ok_or(AdapterError::Missing("@timestamp"))?;

        let rule_name = d
            .str(&at("rule.name"))
            .unwrap_or_else(|| "Elastic Security alert".to_owned());
        let message = d.str(&at("reason")).unwrap_or_else(|| rule_name.clone());
        let vendor_severity = d.first_str(&[&at("severity"), &at("rule.severity")]);
        let severity = match &vendor_severity {
            None => Severity::Unknown,
            Some(s) => Severity::from_word(s).ok_or_else(|| {
                AdapterError::invalid(at("severity"), "expected low, medium, high or critical")
            })?,
        };

        let mut entities = Entities::default();
        ecs_entities(&d, &mut entities);

        let mut attack = Vec::new();
        for t in d.array(&at("rule.threat")) {
            rule_threat(t, &mut attack);
        }
        // ECS `threat.*` on the source event (e.g. Elastic Defend alerts name their own mapping).
        let techs: Vec<String> = d
            .strs("threat.technique.id")
            .iter()
            .chain(d.strs("threat.technique.subtechnique.id").iter())
            .filter_map(|t| technique_id(t))
            .collect();
        let tacs: Vec<String> = d
            .strs("threat.tactic.id")
            .iter()
            .filter_map(|t| attack_tactic(t))
            .collect();
        for r in super::fields::attack_refs(&techs, &tacs) {
            push_attack(&mut attack, r);
        }

        Ok(Normalized {
            // 7.x signals carry no id of their own in `_source` (the document `_id` is outside it).
            source_event_id: d.str(&at("uuid")),
            time: Some(time),
            product: Product {
                vendor: "Elastic".to_owned(),
                name: "Elastic Security".to_owned(),
            },
            rule: Rule {
                id: d.first_str(&[&at("rule.rule_id"), &at("rule.uuid"), &at("rule.id")]),
                name: rule_name,
                category: d.first_str(&[&at("rule.category"), &at("rule.type")]),
            },
            severity,
            vendor_severity,
            message,
            entities,
            attack,
        })
    }
}

/// One `rule.threat` entry: `{framework, tactic: {id, name}, technique: [{id, name, subtechnique:
/// [{id, name}]}]}`. Each (sub-)technique is paired with the entry's tactic.
fn rule_threat(t: &Json, attack: &mut Vec<AttackRef>) {
    let d = Doc(t);
    if d.str("framework")
        .is_some_and(|f| !f.to_ascii_uppercase().contains("ATT&CK"))
    {
        return;
    }
    let tactic = d
        .str("tactic.id")
        .and_then(|s| attack_tactic(&s))
        .or_else(|| d.str("tactic.name").and_then(|s| attack_tactic(&s)));
    let mut any = false;
    for tech in d.array("technique") {
        let td = Doc(tech);
        let subs = td.array("subtechnique");
        let mut ids: Vec<String> = subs
            .iter()
            .filter_map(|s| Doc(s).str("id").and_then(|i| technique_id(&i)))
            .collect();
        if ids.is_empty() {
            ids.extend(td.str("id").and_then(|i| technique_id(&i)));
        }
        for id in ids {
            any = true;
            push_attack(
                attack,
                AttackRef {
                    name: None,
                    technique: Some(id),
                    tactic: tactic.clone(),
                },
            );
        }
    }
    if !any {
        push_attack(
            attack,
            AttackRef {
                name: None,
                technique: None,
                tactic,
            },
        );
    }
}

/// ECS entities of the source event copied into the alert.
fn ecs_entities(d: &Doc<'_>, e: &mut Entities) {
    let host_ips: Vec<std::net::IpAddr> = d
        .strs("host.ip")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let host_name = d.first_str(&["host.name", "host.hostname"]);
    let host_id = d.str("host.id");
    if host_name.is_some() || host_id.is_some() || !host_ips.is_empty() {
        e.add_host(
            host_name.as_deref(),
            host_ips.first().copied(),
            host_id.as_deref(),
        );
    }
    if let Some(h) = d.str("host.hostname") {
        e.add_host(Some(&h), None, None);
    }

    add_user_in(
        e,
        d.str("user.domain").as_deref(),
        d.str("user.name").as_deref(),
    );
    add_user_in(
        e,
        d.str("user.target.domain").as_deref(),
        d.str("user.target.name").as_deref(),
    );
    add_user_in(
        e,
        d.str("source.user.domain").as_deref(),
        d.str("source.user.name").as_deref(),
    );
    add_user_in(
        e,
        d.str("destination.user.domain").as_deref(),
        d.str("destination.user.name").as_deref(),
    );
    if let Some(mail) = d.str("user.email") {
        add_email(e, &mail);
    }

    for (side, role) in [
        ("source", EndpointRole::Source),
        ("destination", EndpointRole::Destination),
    ] {
        if let Some(ip) = d.str(&format!("{side}.ip")) {
            e.add_endpoint(&ip, port_at(d, &format!("{side}.port")), role);
        }
        if let Some(dom) = d.str(&format!("{side}.domain")) {
            add_domain(e, &dom);
        }
    }

    if d.has("process") || d.has("process.name") || d.has("process.executable") {
        let p = Process {
            name: d.str("process.name"),
            pid: d.u64("process.pid"),
            path: d.str("process.executable"),
            command_line: d.str("process.command_line"),
            parent_name: d.str("process.parent.name"),
        };
        if p.name.is_some() || p.path.is_some() || p.command_line.is_some() {
            e.processes.push(p);
        }
        // The process image, when the event names its hashes.
        image_file(d, e, "process", "process.executable");
        if d.has("process.parent.name") || d.has("process.parent.executable") {
            let pp = Process {
                name: d.str("process.parent.name"),
                pid: d.u64("process.parent.pid"),
                path: d.str("process.parent.executable"),
                command_line: d.str("process.parent.command_line"),
                parent_name: None,
            };
            if pp.name.is_some() || pp.path.is_some() {
                e.processes.push(pp);
            }
        }
    }

    add_file(
        e,
        FileEntity {
            name: d.str("file.name"),
            path: d.str("file.path"),
            md5: d.str("file.hash.md5").and_then(|h| hex_hash(&h, "md5")),
            sha1: d.str("file.hash.sha1").and_then(|h| hex_hash(&h, "sha1")),
            sha256: d
                .str("file.hash.sha256")
                .and_then(|h| hex_hash(&h, "sha256")),
        },
    );

    for u in d.strs("url.full").into_iter().chain(d.strs("url.original")) {
        add_url(e, &u);
    }
    for f in ["url.domain", "dns.question.name"] {
        if let Some(dom) = d.str(f) {
            add_domain(e, &dom);
        }
    }
    for f in [
        "email.from.address",
        "email.to.address",
        "email.sender.address",
    ] {
        for a in d.strs(f) {
            add_email(e, &a);
        }
    }
}

/// A file entity for an executable's hashes (`{base}.hash.*`), placed at `path_field`. Nothing when
/// no valid hash is given.
fn image_file(d: &Doc<'_>, e: &mut Entities, base: &str, path_field: &str) {
    let f = FileEntity {
        name: None,
        path: d.str(path_field),
        md5: d
            .str(&format!("{base}.hash.md5"))
            .and_then(|h| hex_hash(&h, "md5")),
        sha1: d
            .str(&format!("{base}.hash.sha1"))
            .and_then(|h| hex_hash(&h, "sha1")),
        sha256: d
            .str(&format!("{base}.hash.sha256"))
            .and_then(|h| hex_hash(&h, "sha256")),
    };
    if f.md5.is_some() || f.sha1.is_some() || f.sha256.is_some() {
        add_file(e, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::TestExt;
    use serde_json::Value;
    use serde_json::json;

    fn nested() -> Value {
        json!({
            "@timestamp": "2024-05-01T10:00:00Z",
            "kibana": {"alert": {"uuid": "u-1", "severity": "critical", "reason": "process event on WS1",
                "rule": {"name": "Suspicious PowerShell", "rule_id": "r-1", "uuid": "so-1", "type": "eql",
                    "threat": [{"framework": "MITRE ATT&CK",
                        "tactic": {"id": "TA0002", "name": "Execution"},
                        "technique": [{"id": "T1059", "name": "Command and Scripting Interpreter",
                            "subtechnique": [{"id": "T1059.001", "name": "PowerShell"}]}]},
                        {"framework": "MITRE ATT&CK", "tactic": {"id": "TA0005", "name": "Defense Evasion"}}]}}},
            "host": {"name": "WS1", "ip": ["10.0.0.5", "fe80::1"], "id": "h-1"},
            "user": {"name": "bob", "domain": "CORP"},
            "source": {"ip": "203.0.113.9", "port": 4444}, "destination": {"ip": "10.0.0.5", "port": 443, "domain": "Intranet.Example.com"},
            "process": {"name": "powershell.exe", "pid": 42, "executable": "C:\\Windows\\powershell.exe",
                "command_line": "powershell -enc AAA", "parent": {"name": "winword.exe", "pid": 7},
                "hash": {"sha256": "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"}},
            "url": {"full": "https://evil.example/x"}
        })
    }

    #[test]
    fn maps_nested_alert() {
        let n = ElasticAlert.normalize_value(&nested()).unwrap();
        assert_eq!(n.source_event_id.as_deref(), Some("u-1"));
        assert_eq!(n.severity, Severity::Critical);
        assert_eq!(n.rule.id.as_deref(), Some("r-1"));
        assert_eq!(n.rule.category.as_deref(), Some("eql"));
        assert_eq!(n.message, "process event on WS1");
        assert_eq!(n.entities.hosts[0].hostname.as_deref(), Some("ws1"));
        assert_eq!(n.entities.users[0].domain.as_deref(), Some("CORP"));
        assert_eq!(n.entities.endpoints.len(), 2);
        assert_eq!(n.entities.domains, ["intranet.example.com"]);
        assert_eq!(n.entities.processes.len(), 2);
        assert_eq!(
            n.entities.processes[0].parent_name.as_deref(),
            Some("winword.exe")
        );
        assert!(
            n.entities.files[0]
                .sha256
                .as_deref()
                .unwrap()
                .starts_with("e3b0")
        );
        assert_eq!(
            n.attack,
            [
                AttackRef {
                    name: None,
                    technique: Some("T1059.001".into()),
                    tactic: Some("TA0002".into())
                },
                AttackRef {
                    name: None,
                    technique: None,
                    tactic: Some("TA0005".into())
                }
            ]
        );
    }

    #[test]
    fn flattened_keys_signals_and_fake_hashes() {
        let doc = json!({"@timestamp": 1714557600000_i64, "kibana.alert.rule.name": "R",
            "kibana.alert.severity": "low", "file": {"name": "a.exe", "hash": {"md5": "fake file md5"}},
            "threat": {"technique": {"id": ["T1566"]}, "tactic": {"name": ["Initial Access"], "id": ["TA0001"]}}});
        let n = ElasticAlert.normalize_value(&doc).unwrap();
        assert_eq!(n.severity, Severity::Low);
        assert_eq!(n.entities.files[0].md5, None);
        assert_eq!(n.attack[0].tactic.as_deref(), Some("TA0001"));
        let sig = json!({"@timestamp": "2021-01-01T00:00:00Z", "signal": {"rule": {"id": "x", "name": "Old", "severity": "high"}}});
        assert!(ElasticAlert.detect_value(&sig));
        let n = ElasticAlert.normalize_value(&sig).unwrap();
        assert_eq!(n.severity, Severity::High);
        assert_eq!(n.rule.id.as_deref(), Some("x"));
    }

    #[test]
    fn bad_values_name_the_field() {
        let mut doc = nested();
        doc["@timestamp"] = json!("not a time");
        assert!(
            ElasticAlert
                .normalize_value(&doc)
                .unwrap_err()
                .to_string()
                .contains("`@timestamp`")
        );
        let mut doc = nested();
        doc["kibana"]["alert"]["severity"] = json!("extreme");
        assert!(
            ElasticAlert
                .normalize_value(&doc)
                .unwrap_err()
                .to_string()
                .contains("kibana.alert.severity")
        );
        let doc = json!({"kibana.alert.rule.name": "R"});
        assert!(
            ElasticAlert
                .normalize_value(&doc)
                .unwrap_err()
                .to_string()
                .contains("@timestamp")
        );
    }

    #[test]
    fn detect_is_specific() {
        assert!(ElasticAlert.detect_value(&nested()));
        assert!(
            !ElasticAlert.detect_value(&json!({"@timestamp": "x", "event": {"kind": "signal"}}))
        );
        assert!(!ElasticAlert.detect_value(&json!({"rule": {"name": "x", "level": 3}})));
    }
}
