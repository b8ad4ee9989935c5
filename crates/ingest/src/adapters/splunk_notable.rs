//! Splunk Enterprise Security notable events: the `stash` events a correlation search writes to the
//! `notable` index, as search results return them (one result object, or the REST export's
//! `{"result": {..}}` line). Correlation-search fields may be extracted already (`search_name`,
//! `rule_name`, `urgency`, CIM fields such as `src`, `dest`, `user`) or only present inside `_raw` as
//! `key="value"` pairs; both are read, extracted fields first. References: Splunk ES "How urgency is
//! assigned to notable events", "Notable event fields" (`event_id`, `rule_name`, `rule_title`,
//! `security_domain`, `severity`, `urgency`, `annotations.mitre_attack.*`) and the CIM field names.

use crate::json::{Json, Object};
use picket_core::{
    AttackRef, EndpointRole, Entities, FileEntity, Process, Product, Rule, Severity, SourceFormat,
};

use super::fields::{
    add_domain, add_email, add_file, add_url, attack_refs, attack_tactic, basename, hash_kind,
    port_at, technique_ids_in,
};
use super::{Doc, Normalized, SourceAdapter};
use crate::error::AdapterError;

pub struct SplunkNotable;

/// The notable itself: the document, or the `result` of a REST export line.
fn root<'a>(doc: &'a Json<'a>) -> Option<&'a Json<'a>> {
    let is_notable = |v: &Json| {
        let Some(o) = v.as_object() else {
            return false;
        };
        o.contains_key("_time")
            && (o.get("index").and_then(Json::as_str) == Some("notable")
                || o.get("_bkt")
                    .and_then(Json::as_str)
                    .is_some_and(|b| b.starts_with("notable~"))
                || o.get("event_id")
                    .and_then(Json::as_str)
                    .is_some_and(|e| e.contains("@@notable@@")))
    };
    if is_notable(doc) {
        return Some(doc);
    }
    doc.get("result").filter(|r| is_notable(r))
}

impl SourceAdapter for SplunkNotable {
    fn format(&self) -> SourceFormat {
        SourceFormat::SplunkNotable
    }

    fn detect(&self, doc: &Json) -> bool {
        root(doc).is_some()
    }

    fn normalize(&self, doc: &Json) -> Result<Normalized, AdapterError> {
        let doc = root(doc).unwrap_or(doc);
        let Some(obj) = doc.as_object() else {
            return Err(AdapterError::invalid("_time", "expected a JSON object"));
        };
        // Fields only present in `_raw` fill in what the search did not extract.
        let mut merged = obj
            .get("_raw")
            .and_then(Json::as_str)
            .map(raw_fields)
            .unwrap_or_default();
        for (k, v) in obj {
            merged.insert(k.into(), v.clone());
        }
        let merged = Json::Object(merged);
        let d = Doc(&merged);

        let time = d
            .time(&["_time", "orig_time"])?
            .ok_or(AdapterError::Missing("_time"))?;

        let search_name = d.first_str(&["search_name", "source"]);
        let rule_name = d
            .first_str(&["rule_name", "search_name", "source"])
            .unwrap_or_else(|| "Splunk notable event".to_owned());
        let message = d
            .first_str(&["rule_title", "rule_name", "search_name", "source"])
            .unwrap_or_else(|| rule_name.clone());

        // Urgency is what Incident Review ranks by (severity combined with asset/identity
        // priority); the search's own severity stands in when there is no urgency.
        let vendor_severity = d.first_str(&["urgency", "severity"]);
        let severity = vendor_severity
            .as_deref()
            .and_then(Severity::from_word)
            .unwrap_or(Severity::Unknown);

        let mut entities = Entities::default();
        cim_entities(&d, &mut entities);

        let mut techniques = d.strs("annotations.mitre_attack.mitre_technique_id");
        techniques.extend(d.strs("annotations.mitre_attack"));
        let techniques: Vec<String> = techniques
            .iter()
            .flat_map(|t| technique_ids_in(t))
            .collect();
        let mut tactics: Vec<String> = d
            .strs("annotations.mitre_attack.mitre_tactic_id")
            .iter()
            .filter_map(|t| attack_tactic(t))
            .collect();
        if tactics.is_empty() {
            tactics = d
                .strs("annotations.mitre_attack.mitre_tactic")
                .iter()
                .filter_map(|t| attack_tactic(t))
                .collect();
        }
        let attack: Vec<AttackRef> = attack_refs(&techniques, &tactics);

        Ok(Normalized {
            source_event_id: d.str("event_id"),
            time: Some(time),
            product: Product {
                vendor: "Splunk".to_owned(),
                name: "Enterprise Security".to_owned(),
            },
            rule: Rule {
                id: search_name,
                name: rule_name,
                category: d.str("security_domain"),
            },
            severity,
            vendor_severity,
            message,
            entities,
            attack,
        })
    }
}

/// CIM fields of the notable: devices (`dest`, `src`, `dvc`, `orig_host` and their `_ip`,
/// `_nt_host`, `_dns` forms), network roles, users, processes, files, URLs, DNS names, e-mail.
fn cim_entities(d: &Doc<'_>, e: &mut Entities) {
    for (side, role) in [
        ("dest", EndpointRole::Destination),
        ("src", EndpointRole::Source),
    ] {
        let port = port_at(d, &format!("{side}_port"));
        let ip_field = d.str(&format!("{side}_ip"));
        let named = d.str(side);
        // `src` / `dest` hold a name or an address.
        let (name, ip_text) = match named {
            Some(v) if v.parse::<std::net::IpAddr>().is_ok() => (None, Some(v)),
            Some(v) => (Some(v), ip_field),
            None => (None, ip_field),
        };
        let name =
            name.or_else(|| d.first_str(&[&format!("{side}_nt_host"), &format!("{side}_dns")]));
        let ip = ip_text.as_deref().and_then(|s| s.parse().ok());
        if name.is_some() {
            e.add_host(
                name.as_deref(),
                ip,
                d.str(&format!("{side}_asset_id")).as_deref(),
            );
        }
        if let Some(ip) = ip_text {
            e.add_endpoint(&ip, port, role);
        }
    }
    for f in ["dvc", "orig_host"] {
        if let Some(v) = d.str(f) {
            match v.parse() {
                Ok(ip) => e.add_host(None, Some(ip), None),
                Err(_) => e.add_host(Some(&v), None, None),
            }
        }
    }
    for f in ["user", "src_user", "dest_user"] {
        for u in d.strs(f) {
            e.add_user(&u);
        }
    }
    if let Some(name) = d
        .first_str(&["process_name", "process_exec"])
        .or_else(|| d.str("process_path").as_deref().and_then(basename))
    {
        let command_line = d.str("process").filter(|p| *p != name);
        e.processes.push(Process {
            name: Some(name),
            pid: d.u64("process_id"),
            path: d.str("process_path"),
            command_line,
            parent_name: d.str("parent_process_name"),
        });
    }
    let file_name = d.str("file_name");
    let file_path = d.str("file_path");
    let mut file = FileEntity {
        name: file_name,
        path: file_path,
        ..FileEntity::default()
    };
    for h in d.strs("file_hash") {
        match hash_kind(&h) {
            Some("md5") => file.md5 = Some(h),
            Some("sha1") => file.sha1 = Some(h),
            Some("sha256") => file.sha256 = Some(h),
            _ => {}
        }
    }
    add_file(e, file);
    for u in d.strs("url") {
        add_url(e, &u);
    }
    for f in ["url_domain", "query", "dest_dns", "src_dns"] {
        for v in d.strs(f) {
            add_domain(e, &v);
        }
    }
    for f in ["sender", "recipient", "src_user_email", "user_email"] {
        for v in d.strs(f) {
            add_email(e, &v);
        }
    }
}

/// The `key="value"` / `key='value'` / `key=value` pairs of a stash event's `_raw`, after its leading
/// epoch. A key written more than once becomes a list. Malformed text ends the scan quietly.
fn raw_fields(raw: &str) -> Object<'_> {
    let mut out = Object::new();
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // Key: letters, digits, `_`, `.`, `{`, `}` up to `=`.
        while i < b.len() && !(b[i].is_ascii_alphanumeric() || b[i] == b'_') {
            i += 1;
        }
        let k0 = i;
        while i < b.len()
            && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'.' | b'{' | b'}'))
        {
            i += 1;
        }
        let key = &raw[k0..i];
        if i >= b.len() || b[i] != b'=' || key.is_empty() {
            // Not a pair (the leading epoch, stray text): skip to the next separator.
            while i < b.len() && b[i] != b',' {
                i += 1;
            }
            continue;
        }
        i += 1;
        let value = match b.get(i) {
            Some(&q @ (b'"' | b'\'')) => {
                let v0 = i + 1;
                let Some(len) = raw[v0..].find(q as char) else {
                    break;
                };
                i = v0 + len + 1;
                &raw[v0..v0 + len]
            }
            _ => {
                let v0 = i;
                while i < b.len() && b[i] != b',' {
                    i += 1;
                }
                raw[v0..i].trim()
            }
        };
        let v = Json::String(value.into());
        match out.get_mut(key) {
            Some(Json::Array(list)) => list.push(v),
            Some(prev) => {
                let first = prev.take();
                *prev = Json::Array(vec![first, v]);
            }
            None => {
                out.insert(key.into(), v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::TestExt;
    use serde_json::Value;
    use serde_json::json;

    fn notable() -> Value {
        json!({
            "_time": "2024-05-01T10:00:00.000+00:00", "index": "notable", "sourcetype": "stash",
            "_raw": "1714557600, search_name=\"Access - Brute Force - Rule\", src=\"10.0.0.9\", orig_tag=\"a\", orig_tag=\"b\", annotations.mitre_attack.mitre_technique_id=\"T1110.001\", annotations.mitre_attack.mitre_tactic_id=\"TA0006\"",
            "event_id": "ABC@@notable@@0123", "urgency": "high", "severity": "medium",
            "dest": "WEB01", "dest_ip": "10.0.0.1", "dest_port": "22", "user": "CORP\\bob",
            "file_hash": "D41D8CD98F00B204E9800998ECF8427E", "file_name": "x.exe",
            "process": "cmd.exe /c whoami", "process_name": "cmd.exe", "url": "http://evil.example/a",
            "security_domain": "access"
        })
    }

    #[test]
    fn maps_extracted_and_raw_fields() {
        let n = SplunkNotable.normalize_value(&notable()).unwrap();
        assert_eq!(n.source_event_id.as_deref(), Some("ABC@@notable@@0123"));
        assert_eq!(n.severity, Severity::High);
        assert_eq!(n.vendor_severity.as_deref(), Some("high"));
        assert_eq!(n.rule.name, "Access - Brute Force - Rule");
        assert_eq!(n.rule.category.as_deref(), Some("access"));
        assert_eq!(n.entities.hosts[0].hostname.as_deref(), Some("web01"));
        assert_eq!(n.entities.hosts[0].ip, Some("10.0.0.1".parse().unwrap()));
        assert_eq!(n.entities.endpoints.len(), 2);
        assert_eq!(n.entities.endpoints[0].port, Some(22));
        assert_eq!(n.entities.endpoints[1].role, EndpointRole::Source);
        assert_eq!(n.entities.users[0].domain.as_deref(), Some("CORP"));
        assert_eq!(
            n.entities.files[0].md5.as_deref(),
            Some("d41d8cd98f00b204e9800998ecf8427e")
        );
        assert_eq!(
            n.entities.processes[0].command_line.as_deref(),
            Some("cmd.exe /c whoami")
        );
        assert_eq!(n.entities.urls, ["http://evil.example/a"]);
        assert_eq!(
            n.attack,
            [AttackRef {
                name: None,
                technique: Some("T1110.001".into()),
                tactic: Some("TA0006".into())
            }]
        );
    }

    #[test]
    fn raw_pairs_quotes_and_repeats() {
        let m = Json::Object(raw_fields(
            "17, a=\"x, y\", b='z', c=plain, t=\"1\", t=\"2\", broken='open",
        ))
        .to_value();
        assert_eq!(m["a"], "x, y");
        assert_eq!(m["b"], "z");
        assert_eq!(m["c"], "plain");
        assert_eq!(m["t"], json!(["1", "2"]));
        assert!(m.get("broken").is_none());
        assert!(raw_fields("").is_empty());
        assert!(raw_fields("=,=\"").is_empty());
    }

    #[test]
    fn rest_export_envelope_and_bogus_attack_values() {
        let doc = json!({"preview": false, "result": {"_time": "1714557600", "_bkt": "notable~1~X",
            "_raw": "1, annotations.mitre_attack.mitre_tactic=\"mite\", annotations.mitre_attack.mitre_technique_id=\"mite\""}});
        assert!(SplunkNotable.detect_value(&doc));
        let n = SplunkNotable.normalize_value(&doc).unwrap();
        assert!(n.attack.is_empty());
        assert_eq!(n.severity, Severity::Unknown);
        assert_eq!(n.vendor_severity, None);
        assert_eq!(n.source_event_id, None);
        assert_eq!(n.rule.name, "Splunk notable event");
    }

    #[test]
    fn detect_is_specific() {
        assert!(SplunkNotable.detect_value(&notable()));
        assert!(!SplunkNotable.detect_value(&json!({"_time": "x", "index": "main"})));
        assert!(!SplunkNotable.detect_value(&json!({"index": "notable"})));
    }

    #[test]
    fn bad_time_names_the_field() {
        let mut doc = notable();
        doc["_time"] = json!("yesterday");
        let e = SplunkNotable.normalize_value(&doc).unwrap_err();
        assert!(e.to_string().contains("`_time`"), "{e}");
    }
}
