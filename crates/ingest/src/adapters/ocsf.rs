//! OCSF 1.x findings: Detection Finding (`class_uid` 2004), Security Finding (2001, 1.0's finding class
//! with its `finding` object) and Compliance Finding (2003), as Prowler, AWS Security Hub, Security
//! Lake and other OCSF producers emit them. Reference: OCSF schema 1.0–1.4 (schema.ocsf.io), classes
//! `detection_finding`, `security_finding`, `compliance_finding`; objects `finding_info`, `attack`,
//! `evidences`, `device`, `resource_details`, `process`, `file`, `network_endpoint`, `observable`.

use crate::json::Json;
use picket_core::{
    AttackRef, EndpointRole, Entities, FileEntity, Process, Product, Rule, Severity, SourceFormat,
};

use super::fields::{
    self, add_domain, add_email, add_file, add_url, is_placeholder, port_at, push_attack,
};
use super::{Doc, Normalized, SourceAdapter};
use crate::error::AdapterError;

pub struct Ocsf;

/// The finding classes this adapter reads.
const CLASSES: [u64; 3] = [2001, 2003, 2004];

impl SourceAdapter for Ocsf {
    fn format(&self) -> SourceFormat {
        SourceFormat::Ocsf
    }

    fn detect(&self, doc: &Json) -> bool {
        let d = Doc(doc);
        doc.get("class_uid")
            .and_then(Json::as_u64)
            .is_some_and(|c| CLASSES.contains(&c))
            && doc.get("metadata").is_some_and(Json::is_object)
            && (d.has("finding_info") || d.has("finding") || d.has("compliance"))
    }

    fn normalize(&self, doc: &Json) -> Result<Normalized, AdapterError> {
        let d = Doc(doc);
        // 1.0's Security Finding names the object `finding`; later classes `finding_info`.
        let fi = if d.has("finding_info") {
            "finding_info"
        } else {
            "finding"
        };
        let at = |p: &str| format!("{fi}.{p}");

        let time = d
            .time(&[
                "time",
                "time_dt",
                &at("created_time"),
                &at("created_time_dt"),
                &at("first_seen_time"),
                &at("first_seen_time_dt"),
            ])?
            .ok_or(AdapterError::Missing("time"))?;

        let (severity, vendor_severity) = match d.get("severity_id") {
            Some(v) if !v.is_null() => {
                let id = d
                    .u64("severity_id")
                    .and_then(|n| u8::try_from(n).ok())
                    .and_then(Severity::from_id)
                    .ok_or_else(|| AdapterError::invalid("severity_id", "expected 0-6 or 99"))?;
                (id, d.str("severity").or_else(|| super::as_text(v)))
            }
            _ => match d.str("severity") {
                Some(word) => (
                    Severity::from_word(&word).unwrap_or(Severity::Other),
                    Some(word),
                ),
                None => (Severity::Unknown, None),
            },
        };

        let title = d.first_str(&[&at("title"), "message", &at("desc")]);
        let message = d
            .first_str(&["message", &at("title"), &at("desc")])
            .unwrap_or_else(|| "OCSF finding".to_owned());

        let source_event_id = [at("uid"), "metadata.uid".to_owned()]
            .iter()
            .filter_map(|p| d.str(p))
            .find(|s| !is_placeholder(s));

        let types = d.strs(&at("types"));
        // Security Hub's OCSF output keeps ASFF finding types (`TTPs/<tactic>/<finding type>`).
        let asff_type = d
            .str("metadata.product.uid")
            .and_then(|arn| super::securityhub::guardduty_type_of(&arn, &types));
        let rule = Rule {
            id: d
                .first_str(&[
                    &at("analytic.uid"),
                    "metadata.event_code",
                    "compliance.control",
                ])
                .or(asff_type),
            name: d
                .first_str(&[&at("analytic.name")])
                .or(title)
                .unwrap_or_else(|| message.clone()),
            category: d
                .first_str(&[&at("analytic.category")])
                .or_else(|| types.first().cloned()),
        };

        let mut entities = Entities::default();
        let mut extra_ips: Vec<String> = Vec::new();
        if let Some(dev) = d.get("device") {
            device(&Doc(dev), &mut entities);
        }
        for r in d.array("resources") {
            let r = Doc(r);
            // Cloud resources (buckets, roles, accounts) are not hosts; ones with a hostname or an
            // address are.
            if r.has("hostname") || r.has("ip") {
                let ip = r.str("ip").and_then(|s| s.parse().ok());
                entities.add_host(r.str("hostname").as_deref(), ip, r.str("uid").as_deref());
            }
        }
        actor(&d, "actor", &mut entities);
        for p in ["src_endpoint", "dst_endpoint"] {
            endpoint(&d, p, &mut entities);
        }
        for ev in d.array("evidences") {
            let ev = Doc(ev);
            actor(&ev, "actor", &mut entities);
            for p in ["src_endpoint", "dst_endpoint"] {
                endpoint(&ev, p, &mut entities);
            }
            if let Some(dev) = ev.get("device") {
                device(&Doc(dev), &mut entities);
            }
            if let Some(u) = ev.get("user") {
                user(&Doc(u), &mut entities);
            }
            if let Some(p) = ev.get("process") {
                process(&Doc(p), &mut entities);
            }
            if let Some(f) = ev.get("file") {
                file(&Doc(f), &mut entities);
            }
            if let Some(u) = ev.str("url.url_string") {
                add_url(&mut entities, &u);
            }
            if let Some(h) = ev.str("query.hostname") {
                add_domain(&mut entities, &h);
            }
            for p in ["email.from", "email.to", "email.cc"] {
                for a in ev.strs(p) {
                    add_email(&mut entities, &a);
                }
            }
        }
        // Typed observables: 1 Hostname, 2 IP Address, 4 User Name, 5 Email Address, 6 URL String.
        for o in d.array("observables") {
            let o = Doc(o);
            let Some(value) = o.str("value") else {
                continue;
            };
            match o.u64("type_id") {
                Some(1) => add_domain(&mut entities, &value),
                Some(2) => extra_ips.push(value),
                Some(4) => entities.add_user(&value),
                Some(5) => add_email(&mut entities, &value),
                Some(6) => add_url(&mut entities, &value),
                _ => {}
            }
        }
        for ip in extra_ips {
            let known = entities.endpoints.iter().any(|e| e.ip.to_string() == ip)
                || entities
                    .hosts
                    .iter()
                    .any(|h| h.ip.is_some_and(|i| i.to_string() == ip));
            if !known {
                entities.add_endpoint(&ip, None, EndpointRole::Other);
            }
        }

        let mut attack = Vec::new();
        for a in d.array(&at("attacks")).iter().chain(d.array("attacks")) {
            for r in attack_refs(&Doc(a)) {
                push_attack(&mut attack, r);
            }
        }
        for t in &types {
            if let Some(r) = super::securityhub::ttp_attack(t) {
                push_attack(&mut attack, r);
            }
        }

        Ok(Normalized {
            source_event_id,
            time: Some(time),
            product: Product {
                vendor: d
                    .first_str(&["metadata.product.vendor_name"])
                    .unwrap_or_else(|| "Unknown".to_owned()),
                name: d
                    .first_str(&["metadata.product.name", "metadata.product.uid"])
                    .unwrap_or_else(|| "OCSF".to_owned()),
            },
            rule,
            severity,
            vendor_severity,
            message,
            entities,
            attack,
        })
    }
}

/// One OCSF `attack` object: `technique` / `sub_technique` (1.1+) and `tactic` (1.1+) or `tactics[]`
/// (1.0). Ids win over names; a technique without a tactic, or tactics without a technique, are kept
/// apart.
fn attack_refs(a: &Doc<'_>) -> Vec<AttackRef> {
    let technique = a
        .first_str(&["sub_technique.uid", "technique.uid"])
        .and_then(|t| fields::technique_id(&t));
    let mut tactics: Vec<String> = Vec::new();
    let mut add_tactic = |t: &Doc<'_>| {
        if let Some(r) = t
            .first_str(&["uid", "name"])
            .and_then(|s| fields::tactic_ref(&s))
            && !tactics.contains(&r)
        {
            tactics.push(r);
        }
    };
    if let Some(t) = a.get("tactic") {
        add_tactic(&Doc(t));
    }
    for t in a.array("tactics") {
        add_tactic(&Doc(t));
    }
    match tactics.len() {
        0 => technique
            .map(|t| AttackRef {
                name: None,
                technique: Some(t),
                tactic: None,
            })
            .into_iter()
            .collect(),
        1 => vec![AttackRef {
            name: None,
            technique,
            tactic: tactics.pop(),
        }],
        _ => {
            let mut out: Vec<AttackRef> = technique
                .map(|t| AttackRef {
                    name: None,
                    technique: Some(t),
                    tactic: None,
                })
                .into_iter()
                .collect();
            out.extend(tactics.into_iter().map(|t| AttackRef {
                name: None,
                technique: None,
                tactic: Some(t),
            }));
            out
        }
    }
}

fn device(dev: &Doc<'_>, e: &mut Entities) {
    let ip = dev.str("ip").and_then(|s| s.parse().ok());
    let hostname = dev.first_str(&["hostname", "name"]);
    let id = dev.first_str(&["uid", "instance_uid"]);
    e.add_host(hostname.as_deref(), ip, id.as_deref());
    if let Some(owner) = dev.get("owner") {
        user(&Doc(owner), e);
    }
}

fn user(u: &Doc<'_>, e: &mut Entities) {
    if let Some(name) = u.first_str(&["name", "uid"]) {
        let before = e.users.len();
        e.add_user(&name);
        if e.users.len() > before
            && let (Some(domain), Some(last)) = (u.str("domain"), e.users.last_mut())
            && last.domain.is_none()
        {
            last.domain = Some(domain);
        }
    }
    if let Some(mail) = u.str("email_addr") {
        add_email(e, &mail);
    }
}

fn actor(d: &Doc<'_>, path: &str, e: &mut Entities) {
    if let Some(u) = d.get(&format!("{path}.user")) {
        user(&Doc(u), e);
    }
    if let Some(p) = d.get(&format!("{path}.process")) {
        process(&Doc(p), e);
    }
}

fn endpoint(d: &Doc<'_>, path: &str, e: &mut Entities) {
    let role = if path.starts_with("src") {
        EndpointRole::Source
    } else {
        EndpointRole::Destination
    };
    if let Some(ip) = d.str(&format!("{path}.ip")) {
        e.add_endpoint(&ip, port_at(d, &format!("{path}.port")), role);
    }
    for p in ["hostname", "domain"] {
        if let Some(h) = d.str(&format!("{path}.{p}")) {
            add_domain(e, &h);
        }
    }
}

fn process(p: &Doc<'_>, e: &mut Entities) {
    let path = p.first_str(&["file.path", "path"]);
    let proc_ = Process {
        name: p
            .str("name")
            .or_else(|| path.as_deref().and_then(fields::basename)),
        pid: p.u64("pid"),
        path: path.clone(),
        command_line: p.str("cmd_line"),
        parent_name: p.str("parent_process.name"),
    };
    if proc_ != Process::default() && !e.processes.contains(&proc_) {
        e.processes.push(proc_);
    }
    if let Some(f) = p.get("file") {
        file(&Doc(f), e);
    }
    if let Some(u) = p.get("user") {
        user(&Doc(u), e);
    }
}

/// An OCSF `file` with `hashes[]` (fingerprint `algorithm_id` 1 MD5, 2 SHA-1, 3 SHA-256).
fn file(f: &Doc<'_>, e: &mut Entities) {
    let mut fe = FileEntity {
        name: f.str("name"),
        path: f.str("path"),
        ..FileEntity::default()
    };
    for h in f.array("hashes") {
        let h = Doc(h);
        let Some(value) = h.str("value") else {
            continue;
        };
        match (h.u64("algorithm_id"), fields::hash_kind(&value)) {
            (Some(1), Some("md5")) => fe.md5 = Some(value),
            (Some(2), Some("sha1")) => fe.sha1 = Some(value),
            (Some(3), Some("sha256")) => fe.sha256 = Some(value),
            _ => {}
        }
    }
    add_file(e, fe);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::TestExt;
    use serde_json::Value;
    use serde_json::json;

    fn detection() -> Value {
        json!({
            "class_uid": 2004, "category_uid": 2, "activity_id": 1, "type_uid": 200401,
            "time": 1_700_000_000_000_i64, "severity_id": 4, "severity": "High", "message": "Bad thing",
            "metadata": {"version": "1.4.0", "product": {"name": "EDR", "vendor_name": "Acme"}},
            "finding_info": {"uid": "f-9", "title": "Bad thing", "analytic": {"uid": "r-1", "name": "Rule one", "type_id": 1},
                "attacks": [{"technique": {"uid": "T1059.001", "name": "PowerShell"}, "tactic": {"uid": "TA0002", "name": "Execution"}},
                            {"tactics": [{"name": "Persistence"}, {"name": "Defense Evasion"}]}]},
            "device": {"hostname": "WS1.corp", "ip": "10.1.1.1", "uid": "dev-1", "type_id": 2},
            "evidences": [{"process": {"pid": 7, "name": "powershell.exe", "cmd_line": "powershell -enc AAA", "parent_process": {"name": "winword.exe", "pid": 6}},
                           "file": {"name": "a.ps1", "type_id": 1, "hashes": [{"algorithm_id": 3, "value": "C".repeat(64)}]},
                           "src_endpoint": {"ip": "10.1.1.1", "port": 5000}, "dst_endpoint": {"ip": "203.0.113.4", "port": 443, "hostname": "c2.example.com"},
                           "user": {"name": "bob", "domain": "CORP"}}],
            "observables": [{"type_id": 2, "value": "203.0.113.4"}, {"type_id": 2, "value": "192.0.2.1"}, {"type_id": 6, "value": "https://x.example/p"}]
        })
    }

    #[test]
    fn maps_detection_finding() {
        let n = Ocsf.normalize_value(&detection()).unwrap();
        assert_eq!(n.severity, Severity::High);
        assert_eq!(n.vendor_severity.as_deref(), Some("High"));
        assert_eq!(n.source_event_id.as_deref(), Some("f-9"));
        assert_eq!(n.rule.id.as_deref(), Some("r-1"));
        assert_eq!(n.rule.name, "Rule one");
        assert_eq!(
            n.attack[0],
            AttackRef {
                name: None,
                technique: Some("T1059.001".into()),
                tactic: Some("TA0002".into())
            }
        );
        assert!(
            n.attack
                .iter()
                .any(|a| a.tactic.as_deref() == Some("defense-evasion"))
        );
        assert_eq!(n.entities.hosts[0].hostname.as_deref(), Some("ws1.corp"));
        assert_eq!(
            n.entities.processes[0].command_line.as_deref(),
            Some("powershell -enc AAA")
        );
        assert_eq!(
            n.entities.processes[0].parent_name.as_deref(),
            Some("winword.exe")
        );
        assert_eq!(
            n.entities.files[0].sha256.as_deref(),
            Some(&*"c".repeat(64))
        );
        assert_eq!(n.entities.users[0].domain.as_deref(), Some("CORP"));
        // 203.0.113.4 is already the destination; 192.0.2.1 only an observable.
        assert_eq!(n.entities.endpoints.len(), 3);
        assert_eq!(n.entities.domains, ["c2.example.com"]);
        assert_eq!(n.entities.urls, ["https://x.example/p"]);
    }

    #[test]
    fn security_finding_1_0_shape() {
        let doc = json!({"class_uid": 2001, "time": 1_700_000_000, "severity_id": 99, "severity": "Severe-ish",
            "metadata": {"version": "1.0.0", "product": {"name": "P"}},
            "finding": {"uid": "<finding_uid>", "title": "T", "types": ["Policy"]},
            "attacks": [{"technique": {"uid": "T1110"}, "tactics": [{"uid": "TA0006"}]}]});
        assert!(Ocsf.detect_value(&doc));
        let n = Ocsf.normalize_value(&doc).unwrap();
        assert_eq!(n.severity, Severity::Other);
        assert_eq!(n.vendor_severity.as_deref(), Some("Severe-ish"));
        assert_eq!(n.source_event_id, None, "placeholders are not ids");
        assert_eq!(n.rule.category.as_deref(), Some("Policy"));
        assert_eq!(n.attack[0].tactic.as_deref(), Some("TA0006"));
    }

    #[test]
    fn detect_is_specific() {
        assert!(Ocsf.detect_value(&detection()));
        assert!(
            !Ocsf.detect_value(&json!({"class_uid": 3002, "metadata": {}, "finding_info": {}}))
        );
        assert!(
            !Ocsf.detect_value(&json!({"class_uid": "2004", "metadata": {}, "finding_info": {}}))
        );
        assert!(!Ocsf.detect_value(&json!({"class_uid": 2004, "finding_info": {}})));
        assert!(
            !Ocsf.detect_value(
                &json!({"SchemaVersion": "2018-10-08", "ProductArn": "x", "Id": "y"})
            )
        );
    }

    #[test]
    fn bad_values_name_the_field() {
        let mut doc = detection();
        doc["severity_id"] = json!(7);
        assert!(
            Ocsf.normalize_value(&doc)
                .unwrap_err()
                .to_string()
                .contains("severity_id")
        );
        let mut doc = detection();
        doc["time"] = json!("when");
        assert!(
            Ocsf.normalize_value(&doc)
                .unwrap_err()
                .to_string()
                .contains("`time`")
        );
        let mut doc = detection();
        doc.as_object_mut().unwrap().remove("time");
        doc["finding_info"] = json!({"uid": "x"});
        assert!(
            Ocsf.normalize_value(&doc)
                .unwrap_err()
                .to_string()
                .contains("time")
        );
    }

    #[test]
    fn odd_shapes_do_not_panic() {
        let doc = json!({"class_uid": 2003, "time": 1_700_000_000_000_i64, "metadata": {"product": 5},
            "compliance": {"control": "CIS 1.1"}, "evidences": [1, {"process": "x"}, {"file": {"hashes": [{"algorithm_id": 3, "value": "zz"}]}}],
            "observables": [{"type_id": 2, "value": "nope"}], "finding_info": {"attacks": [{"tactic": {}}]}});
        let n = Ocsf.normalize_value(&doc).unwrap();
        assert_eq!(n.rule.id.as_deref(), Some("CIS 1.1"));
        assert!(n.entities.is_empty());
        assert!(n.attack.is_empty());
    }
}
