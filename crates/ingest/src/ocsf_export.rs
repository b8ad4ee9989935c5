//! Canonical alert → OCSF Detection Finding (class_uid 2004, schema 1.4.0).
//!
//! The finding keeps the original product in `metadata.product` and names Picket as a logger
//! (`metadata.loggers`). Entities go where the schema has a place for them: hosts as `resources` and
//! `evidences[].device`, users, endpoints, processes, files and URLs as `evidences`, domains, e-mail
//! addresses, other addresses and hashes as `observables`. The record's raw bytes are `raw_data`;
//! `unmapped.picket` carries Picket's own fields (ids, format, raw hash), nothing secret.
//! `crates/ingest/tests/ocsf_validate.py` checks the output against the official schema.

use picket_core::{Alert, AttackRef, EndpointRole, FileEntity, ObservableType, Process};
use serde_json::{Map, Value, json};

/// The OCSF schema version the output follows.
pub const OCSF_VERSION: &str = "1.4.0";

/// Emits `alert` as an OCSF 1.4.0 Detection Finding.
pub fn to_ocsf(alert: &Alert) -> Value {
    let time_ms = alert.time.as_millisecond();
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_owned(), v);
    };
    put("activity_id", json!(1));
    put("activity_name", json!("Create"));
    put("category_uid", json!(2));
    put("category_name", json!("Findings"));
    put("class_uid", json!(2004));
    put("class_name", json!("Detection Finding"));
    put("type_uid", json!(200401));
    put("type_name", json!("Detection Finding: Create"));
    put("time", json!(time_ms));
    put("time_dt", json!(alert.time.to_string()));
    put("severity_id", json!(alert.severity.id()));
    put("severity", json!(alert.severity.caption()));
    put("status_id", json!(1));
    put("status", json!("New"));
    put("is_alert", json!(true));
    put("message", json!(alert.message));
    put("metadata", metadata(alert));
    put("finding_info", finding_info(alert, time_ms));

    let (resources, evidences, observables) = entities(alert);
    if !resources.is_empty() {
        put("resources", Value::Array(resources));
    }
    if !evidences.is_empty() {
        put("evidences", Value::Array(evidences));
    }
    if !observables.is_empty() {
        put("observables", Value::Array(observables));
    }
    if !alert.raw.is_empty() {
        put("raw_data", json!(alert.raw));
    }
    let mut picket = Map::new();
    picket.insert("alert_id".into(), json!(alert.id));
    picket.insert("format".into(), json!(alert.format.as_str()));
    picket.insert("raw_sha256".into(), json!(alert.raw_sha256));
    if let Some(v) = &alert.vendor_severity {
        picket.insert("vendor_severity".into(), json!(v));
    }
    put("unmapped", json!({ "picket": picket }));
    Value::Object(out)
}

fn metadata(alert: &Alert) -> Value {
    let mut product = Map::new();
    product.insert(
        "name".into(),
        json!(non_empty(&alert.product.name, "Unknown")),
    );
    if !alert.product.vendor.is_empty() {
        product.insert("vendor_name".into(), json!(alert.product.vendor));
    }
    let mut m = json!({
        "version": OCSF_VERSION,
        "product": product,
        "profiles": ["datetime"],
        "uid": alert.id,
        "loggers": [{
            "name": "picket",
            "product": {
                "name": "Picket",
                "vendor_name": "Picket",
                "version": env!("CARGO_PKG_VERSION"),
            },
        }],
    });
    if let Some(rule_id) = &alert.rule.id {
        m["event_code"] = json!(rule_id);
    }
    m
}

fn finding_info(alert: &Alert, time_ms: i64) -> Value {
    let mut analytic = Map::new();
    analytic.insert("type_id".into(), json!(1));
    analytic.insert("type".into(), json!("Rule"));
    analytic.insert(
        "name".into(),
        json!(non_empty(&alert.rule.name, &alert.message)),
    );
    if let Some(id) = &alert.rule.id {
        analytic.insert("uid".into(), json!(id));
    }
    if let Some(c) = &alert.rule.category {
        analytic.insert("category".into(), json!(c));
    }
    let mut fi = json!({
        "uid": alert.source_event_id.as_deref().unwrap_or(&alert.id),
        "title": alert.message,
        "analytic": analytic,
        "created_time": time_ms,
    });
    let attacks: Vec<Value> = alert.attack.iter().filter_map(attack).collect();
    if !attacks.is_empty() {
        fi["attacks"] = Value::Array(attacks);
    }
    if let Some(c) = &alert.rule.category {
        fi["types"] = json!([c]);
    }
    fi
}

/// One ATT&CK reference as an OCSF `attack`: sub-techniques as `sub_technique` under their parent
/// `technique`, tactics by id and display name when known.
fn attack(r: &AttackRef) -> Option<Value> {
    let mut a = Map::new();
    if let Some(t) = &r.technique {
        match t.split_once('.') {
            Some((parent, _)) => {
                a.insert("technique".into(), json!({ "uid": parent }));
                a.insert("sub_technique".into(), json!({ "uid": t }));
            }
            None => {
                a.insert("technique".into(), json!({ "uid": t }));
            }
        }
    }
    if let Some(t) = &r.tactic {
        let known = picket_core::attack::tactic_order(t).map(|i| &picket_core::attack::TACTICS[i]);
        let tactic = match known {
            Some((id, _, name)) => json!({ "uid": id, "name": name }),
            None => json!({ "name": t }),
        };
        a.insert("tactic".into(), tactic);
    }
    (!a.is_empty()).then_some(Value::Object(a))
}

type Parts = (Vec<Value>, Vec<Value>, Vec<Value>);

fn entities(alert: &Alert) -> Parts {
    let e = &alert.entities;
    let mut resources = Vec::new();
    let mut evidences = Vec::new();
    let mut observables = Vec::new();

    for h in &e.hosts {
        let mut dev = Map::new();
        dev.insert("type_id".into(), json!(0));
        let mut res = Map::new();
        res.insert("type".into(), json!("Host"));
        if let Some(n) = &h.hostname {
            dev.insert("hostname".into(), json!(n));
            res.insert("hostname".into(), json!(n));
            res.insert("name".into(), json!(n));
        }
        if let Some(ip) = h.ip {
            dev.insert("ip".into(), json!(ip.to_string()));
            res.insert("ip".into(), json!(ip.to_string()));
        }
        if let Some(id) = &h.id {
            dev.insert("uid".into(), json!(id));
            res.insert("uid".into(), json!(id));
        }
        if !res.contains_key("uid") && !res.contains_key("name") {
            // resource_details needs a name or a uid: an address-only host goes by its address.
            if let Some(ip) = h.ip {
                res.insert("name".into(), json!(ip.to_string()));
            }
        }
        resources.push(Value::Object(res));
        evidences.push(json!({ "device": dev }));
    }

    for u in &e.users {
        let mut user = Map::new();
        user.insert("name".into(), json!(u.name));
        if let Some(d) = &u.domain {
            user.insert("domain".into(), json!(d));
        }
        evidences.push(json!({ "user": user }));
    }

    // Endpoints: one source and one destination make one connection evidence; otherwise each gets
    // its own. Endpoints without a role are observables.
    let endpoint = |ip: &std::net::IpAddr, port: Option<u16>| {
        let mut m = Map::new();
        m.insert("ip".into(), json!(ip.to_string()));
        if let Some(p) = port {
            m.insert("port".into(), json!(p));
        }
        Value::Object(m)
    };
    let srcs: Vec<_> = e
        .endpoints
        .iter()
        .filter(|x| x.role == EndpointRole::Source)
        .collect();
    let dsts: Vec<_> = e
        .endpoints
        .iter()
        .filter(|x| x.role == EndpointRole::Destination)
        .collect();
    if let ([s], [d]) = (srcs.as_slice(), dsts.as_slice()) {
        evidences.push(json!({
            "src_endpoint": endpoint(&s.ip, s.port),
            "dst_endpoint": endpoint(&d.ip, d.port),
        }));
    } else {
        for s in &srcs {
            evidences.push(json!({ "src_endpoint": endpoint(&s.ip, s.port) }));
        }
        for d in &dsts {
            evidences.push(json!({ "dst_endpoint": endpoint(&d.ip, d.port) }));
        }
    }
    for x in e.endpoints.iter().filter(|x| x.role == EndpointRole::Other) {
        observables.push(observable(2, "IP Address", &x.ip.to_string()));
    }

    for (i, p) in e.processes.iter().enumerate() {
        evidences.push(json!({ "process": process(alert, i, p) }));
    }
    for f in &e.files {
        match file(f) {
            Some(v) => evidences.push(json!({ "file": v })),
            None => {
                for h in [&f.md5, &f.sha1, &f.sha256].into_iter().flatten() {
                    observables.push(observable(8, "Hash", h));
                }
            }
        }
    }
    for u in &e.urls {
        evidences.push(json!({ "url": { "url_string": u } }));
    }
    for d in &e.domains {
        observables.push(observable(1, "Hostname", d));
    }
    for m in &e.emails {
        observables.push(observable(5, "Email Address", m));
    }
    extracted(alert, &mut observables);
    (resources, evidences, observables)
}

/// An OCSF `observable` (its `name` is left out: these values have no single OCSF attribute path).
fn observable(type_id: u8, type_name: &str, value: &str) -> Value {
    json!({ "type_id": type_id, "type": type_name, "value": value })
}

/// Indicators extracted from the alert's text, as observables: addresses, host names, URLs, e-mail
/// addresses and hashes (OCSF 1.4 has no observable type for CVE ids; those stay out).
fn extracted(alert: &Alert, observables: &mut Vec<Value>) {
    for o in &alert.observables {
        let (id, name) = match o.kind {
            ObservableType::Ipv4 | ObservableType::Ipv6 => (2, "IP Address"),
            ObservableType::Domain => (1, "Hostname"),
            ObservableType::Url => (6, "URL String"),
            ObservableType::Email => (5, "Email Address"),
            k if k.is_hash() => (8, "Hash"),
            _ => continue,
        };
        let v = observable(id, name, &o.value);
        if !observables.contains(&v) {
            observables.push(v);
        }
    }
}

/// An OCSF `process`. The schema asks for `pid` or `uid`; when the vendor gave no pid, the uid is
/// assigned here as the producer (`<alert id>/process/<n>`), as the attribute's definition allows.
fn process(alert: &Alert, i: usize, p: &Process) -> Value {
    let mut m = Map::new();
    match p.pid {
        Some(pid) => {
            m.insert("pid".into(), json!(pid));
        }
        None => {
            m.insert("uid".into(), json!(format!("{}/process/{i}", alert.id)));
        }
    }
    if let Some(n) = &p.name {
        m.insert("name".into(), json!(n));
    }
    if let Some(c) = &p.command_line {
        m.insert("cmd_line".into(), json!(c));
    }
    if let Some(path) = &p.path {
        let name = p
            .name
            .clone()
            .or_else(|| path.rsplit(['/', '\\']).next().map(str::to_owned))
            .unwrap_or_else(|| path.clone());
        m.insert(
            "file".into(),
            json!({ "name": name, "path": path, "type_id": 1 }),
        );
    }
    if let Some(parent) = &p.parent_name {
        m.insert(
            "parent_process".into(),
            json!({ "name": parent, "uid": format!("{}/process/{i}/parent", alert.id) }),
        );
    }
    Value::Object(m)
}

/// An OCSF `file` (regular file) with its hashes; None when there is no name to give it.
fn file(f: &FileEntity) -> Option<Value> {
    let name = f.name.clone().or_else(|| {
        f.path
            .as_deref()
            .and_then(|p| p.rsplit(['/', '\\']).next())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    })?;
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    m.insert("type_id".into(), json!(1));
    if let Some(p) = &f.path {
        m.insert("path".into(), json!(p));
    }
    let hashes: Vec<Value> = [
        (1, "MD5", &f.md5),
        (2, "SHA-1", &f.sha1),
        (3, "SHA-256", &f.sha256),
    ]
    .into_iter()
    .filter_map(|(id, alg, v)| {
        v.as_ref()
            .map(|v| json!({ "algorithm_id": id, "algorithm": alg, "value": v }))
    })
    .collect();
    if !hashes.is_empty() {
        m.insert("hashes".into(), Value::Array(hashes));
    }
    Some(Value::Object(m))
}

fn non_empty<'a>(s: &'a str, fallback: &'a str) -> &'a str {
    if s.trim().is_empty() { fallback } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use picket_core::{Endpoint, Entities, Host, Product, Rule, Severity, SourceFormat, User};

    fn alert() -> Alert {
        let mut entities = Entities::default();
        entities.hosts.push(Host {
            hostname: Some("ws1".into()),
            ip: Some("10.0.0.1".parse().unwrap()),
            id: None,
        });
        entities.users.push(User {
            name: "bob".into(),
            domain: Some("CORP".into()),
        });
        for (ip, role) in [
            ("10.0.0.1", EndpointRole::Source),
            ("203.0.113.9", EndpointRole::Destination),
            ("198.51.100.2", EndpointRole::Other),
        ] {
            entities.endpoints.push(Endpoint {
                ip: ip.parse().unwrap(),
                port: Some(443),
                role,
            });
        }
        entities.processes.push(Process {
            name: Some("powershell.exe".into()),
            command_line: Some("powershell -enc AA".into()),
            parent_name: Some("winword.exe".into()),
            ..Process::default()
        });
        entities.files.push(FileEntity {
            sha256: Some("ab".repeat(32)),
            ..FileEntity::default()
        });
        Alert {
            id: "al_1".into(),
            format: SourceFormat::Suricata,
            source_event_id: None,
            time: "2024-01-02T03:04:05.678Z".parse().unwrap(),
            product: Product {
                vendor: "OISF".into(),
                name: "Suricata".into(),
            },
            rule: Rule {
                id: Some("2001".into()),
                name: "ET X".into(),
                category: Some("Trojan".into()),
            },
            severity: Severity::High,
            vendor_severity: Some("1".into()),
            message: "ET X".into(),
            entities,
            attack: vec![
                AttackRef {
                    name: None,
                    technique: Some("T1059.001".into()),
                    tactic: Some("execution".into()),
                },
                AttackRef::default(),
            ],
            observables: vec![],
            raw_sha256: "00".repeat(32),
            raw: "{}".into(),
        }
    }

    #[test]
    fn class_and_core_fields() {
        let v = to_ocsf(&alert());
        assert_eq!(v["class_uid"], 2004);
        assert_eq!(v["type_uid"], 200401);
        assert_eq!(v["time"], 1_704_164_645_678_i64);
        assert_eq!(v["severity_id"], 4);
        assert_eq!(v["metadata"]["version"], OCSF_VERSION);
        assert_eq!(v["metadata"]["product"]["name"], "Suricata");
        assert_eq!(v["finding_info"]["uid"], "al_1");
        assert_eq!(v["finding_info"]["analytic"]["uid"], "2001");
        assert_eq!(v["raw_data"], "{}");
        assert_eq!(v["unmapped"]["picket"]["vendor_severity"], "1");
    }

    #[test]
    fn attacks_split_sub_techniques_and_name_tactics() {
        let v = to_ocsf(&alert());
        let attacks = v["finding_info"]["attacks"].as_array().unwrap();
        assert_eq!(attacks.len(), 1, "empty references are dropped");
        assert_eq!(attacks[0]["technique"]["uid"], "T1059");
        assert_eq!(attacks[0]["sub_technique"]["uid"], "T1059.001");
        assert_eq!(attacks[0]["tactic"]["uid"], "TA0002");
        assert_eq!(attacks[0]["tactic"]["name"], "Execution");
    }

    #[test]
    fn entities_land_in_evidences_and_observables() {
        let v = to_ocsf(&alert());
        let ev = v["evidences"].as_array().unwrap();
        assert!(ev.iter().any(|e| e["device"]["hostname"] == "ws1"));
        assert!(
            ev.iter().any(|e| e["src_endpoint"]["ip"] == "10.0.0.1"
                && e["dst_endpoint"]["ip"] == "203.0.113.9")
        );
        let p = ev.iter().find(|e| e.get("process").is_some()).unwrap();
        assert_eq!(p["process"]["uid"], "al_1/process/0");
        assert_eq!(p["process"]["cmd_line"], "powershell -enc AA");
        let obs = v["observables"].as_array().unwrap();
        assert!(obs.iter().any(|o| o["value"] == "198.51.100.2"));
        assert!(obs.iter().any(|o| o["type_id"] == 8));
        assert_eq!(v["resources"][0]["name"], "ws1");
    }
}
