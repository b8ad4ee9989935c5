//! Suricata EVE JSON alerts (`event_type: "alert"`), as Suricata writes them to `eve.json`, as EveBox
//! indexes them (the EVE record plus `@timestamp`, `evebox`, `tags`), and as the Filebeat/Elastic
//! Suricata module ships them (the EVE fields under `suricata.eve`, addresses under ECS `source` /
//! `destination`). Reference: Suricata user guide, "Eve JSON Format" (alert, http, dns, tls,
//! fileinfo, smtp/email sections) and Elastic's exported Suricata fields.

use crate::json::Json;
use picket_core::{EndpointRole, Entities, Product, Rule, Severity, SourceFormat};

use super::fields::{self, add_domain, add_email, add_file, add_url, file_with_hash, port_at};
use super::{Doc, Normalized, SourceAdapter};
use crate::error::AdapterError;

pub struct Suricata;

/// Where the EVE fields sit: the document itself (`event_type: "alert"`), or `suricata.eve`
/// (Filebeat / Elastic module, which may drop `event_type` there after copying it to ECS).
fn eve_root<'a>(doc: &'a Json<'a>) -> Option<(&'a Json<'a>, &'static str)> {
    if doc.get("event_type").and_then(Json::as_str) == Some("alert") && has_alert(doc) {
        return Some((doc, ""));
    }
    Doc(doc)
        .get("suricata.eve")
        .filter(|eve| {
            has_alert(eve)
                && eve
                    .get("event_type")
                    .is_none_or(|t| t.as_str() == Some("alert"))
        })
        .map(|eve| (eve, "suricata.eve"))
}

/// An `alert` object carrying a `signature_id`.
fn has_alert(v: &Json) -> bool {
    v.get("alert")
        .and_then(Json::as_object)
        .is_some_and(|a| a.contains_key("signature_id"))
}

impl SourceAdapter for Suricata {
    fn format(&self) -> SourceFormat {
        SourceFormat::Suricata
    }

    fn detect(&self, doc: &Json) -> bool {
        eve_root(doc).is_some()
    }

    fn normalize(&self, doc: &Json) -> Result<Normalized, AdapterError> {
        let (eve, prefix) = eve_root(doc).ok_or(AdapterError::Missing("alert.signature_id"))?;
        let outer = Doc(doc);
        let d = Doc(eve);
        let at = |p: &str| -> String {
            if prefix.is_empty() {
                p.to_owned()
            } else {
                format!("{prefix}.{p}")
            }
        };

        // EVE `timestamp` is the packet time; EveBox/Elastic add `@timestamp` (ingest-side copy).
        let time = match d
            .time(&["timestamp"])
            .map_err(|e| rename_time_field(e, &at))?
        {
            Some(t) => t,
            None => outer
                .time(&["@timestamp", "timestamp"])?
                .ok_or(AdapterError::Missing("timestamp"))?,
        };

        let signature = d.str("alert.signature");
        let sid = d.str("alert.signature_id");
        let vendor_severity = d.str("alert.severity");
        let severity = match &vendor_severity {
            None => Severity::Unknown,
            Some(s) => s.parse::<u64>().map(priority_to_severity).map_err(|_| {
                AdapterError::invalid(
                    at("alert.severity"),
                    "expected a number (1 = high, 2 = medium, 3 = low)",
                )
            })?,
        };
        let message = signature
            .clone()
            .or_else(|| sid.as_ref().map(|s| format!("Suricata signature {s}")))
            .unwrap_or_else(|| "Suricata alert".to_owned());

        let mut entities = Entities::default();
        // `alert.source` / `alert.target` name attacker and victim when the rule uses the `target`
        // keyword; they are the better roles, so they replace the flow tuple when present.
        let has_roles = d.has("alert.source.ip") || d.has("alert.target.ip");
        let tuple: [(&str, &str, EndpointRole); 2] = if has_roles {
            [
                ("alert.source.ip", "alert.source.port", EndpointRole::Source),
                (
                    "alert.target.ip",
                    "alert.target.port",
                    EndpointRole::Destination,
                ),
            ]
        } else {
            [
                ("src_ip", "src_port", EndpointRole::Source),
                ("dest_ip", "dest_port", EndpointRole::Destination),
            ]
        };
        for (ip, port, role) in tuple {
            if let Some(addr) = d.str(ip) {
                entities.add_endpoint(&addr, port_at(&d, port), role);
            }
        }
        if entities.endpoints.is_empty() {
            // Elastic moves the tuple to ECS fields and may drop it from `suricata.eve`.
            for (ip, port, role) in [
                ("source.ip", "source.port", EndpointRole::Source),
                (
                    "destination.ip",
                    "destination.port",
                    EndpointRole::Destination,
                ),
            ] {
                if let Some(addr) = outer.str(ip) {
                    entities.add_endpoint(&addr, port_at(&outer, port), role);
                }
            }
        }

        // Application-layer names: HTTP host and URL, TLS SNI, DNS query names (v1/v2 `rrname`, v3
        // `queries[]`), file hashes, SMTP envelope and message addresses.
        if let Some(host) = d.str("http.hostname") {
            add_domain(&mut entities, &host);
            if let Some(path) = d.str("http.url") {
                let url = if path.contains("://") {
                    path
                } else {
                    let port = port_at(&d, "http.http_port")
                        .map(|p| format!(":{p}"))
                        .unwrap_or_default();
                    format!(
                        "http://{host}{port}{}",
                        if path.starts_with('/') {
                            path
                        } else {
                            format!("/{path}")
                        }
                    )
                };
                add_url(&mut entities, &url);
            }
        }
        for p in ["tls.sni", "dns.rrname", "dns.query.rrname"] {
            if let Some(name) = d.str(p) {
                add_domain(&mut entities, &name);
            }
        }
        for p in ["dns.query", "dns.queries"] {
            for q in d.array(p) {
                if let Some(name) = Doc(q).str("rrname") {
                    add_domain(&mut entities, &name);
                }
            }
        }
        if d.has("fileinfo") {
            let mut f = file_with_hash(None, d.str("fileinfo.filename"), None);
            f.md5 = d.str("fileinfo.md5");
            f.sha1 = d.str("fileinfo.sha1");
            f.sha256 = d.str("fileinfo.sha256");
            add_file(&mut entities, f);
        }
        for p in ["smtp.mail_from", "email.from"] {
            for a in d.strs(p) {
                add_email(&mut entities, &a);
            }
        }
        for p in ["smtp.rcpt_to", "email.to", "email.cc"] {
            for a in d.strs(p) {
                add_email(&mut entities, &a);
            }
        }

        // ATT&CK ids from rule metadata: ET/Proofpoint `mitre_technique_id` / `mitre_tactic_id`
        // (tactic names as `mitre_tactic_name`), and the shorter `mitre_attack` some rule sets use.
        let mut techniques = d.strs("alert.metadata.mitre_technique_id");
        techniques.extend(d.strs("alert.metadata.mitre_attack"));
        let mut tactics = d.strs("alert.metadata.mitre_tactic_id");
        if tactics.is_empty() {
            tactics = d.strs("alert.metadata.mitre_tactic_name");
        }
        let attack = fields::attack_refs(&techniques, &tactics);

        Ok(Normalized {
            // EVE has no alert id: `flow_id` is shared by every event of the flow, so the raw
            // bytes make the id.
            source_event_id: None,
            time: Some(time),
            product: Product {
                vendor: "OISF".to_owned(),
                name: "Suricata".to_owned(),
            },
            rule: Rule {
                id: sid,
                name: signature.unwrap_or_else(|| message.clone()),
                category: d.str("alert.category"),
            },
            severity,
            vendor_severity,
            message,
            entities,
            attack,
        })
    }
}

fn rename_time_field(e: AdapterError, at: &dyn Fn(&str) -> String) -> AdapterError {
    match e {
        AdapterError::Time { field, source } => AdapterError::Time {
            field: at(&field),
            source,
        },
        other => other,
    }
}

/// Suricata alert priority (`alert.severity`, from the rule's `priority` or its classtype): 1 high,
/// 2 medium, 3 low; 4 and above are the "not suspicious" classes.
fn priority_to_severity(p: u64) -> Severity {
    match p {
        0 => Severity::Unknown,
        1 => Severity::High,
        2 => Severity::Medium,
        3 => Severity::Low,
        _ => Severity::Informational,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::TestExt;
    use serde_json::Value;
    use serde_json::json;

    fn alert() -> Value {
        json!({
            "timestamp": "2024-01-02T03:04:05.678901+0000",
            "event_type": "alert",
            "src_ip": "10.0.0.5", "src_port": 51000,
            "dest_ip": "203.0.113.9", "dest_port": 443,
            "alert": {"signature_id": 2030000, "signature": "ET MALWARE test", "category": "A Network Trojan was detected", "severity": 1,
                      "metadata": {"mitre_technique_id": ["T1071"], "mitre_tactic_id": ["TA0011"], "mitre_tactic_name": ["Command_And_Control"]}},
            "tls": {"sni": "Evil.Example.com"},
            "fileinfo": {"filename": "/dl/a.exe", "sha256": "AA".repeat(32)}
        })
    }

    #[test]
    fn maps_core_fields() {
        let n = Suricata.normalize_value(&alert()).unwrap();
        assert_eq!(n.severity, Severity::High);
        assert_eq!(n.vendor_severity.as_deref(), Some("1"));
        assert_eq!(n.rule.id.as_deref(), Some("2030000"));
        assert_eq!(n.entities.endpoints.len(), 2);
        assert_eq!(n.entities.domains, ["evil.example.com"]);
        assert_eq!(n.entities.files[0].name.as_deref(), Some("a.exe"));
        assert_eq!(n.attack.len(), 1);
        assert_eq!(n.attack[0].technique.as_deref(), Some("T1071"));
        assert_eq!(n.attack[0].tactic.as_deref(), Some("TA0011"));
    }

    #[test]
    fn detects_only_alerts() {
        assert!(Suricata.detect_value(&alert()));
        let mut flow = alert();
        flow["event_type"] = json!("flow");
        assert!(!Suricata.detect_value(&flow));
        assert!(!Suricata.detect_value(&json!({"event_type": "alert"})));
        assert!(!Suricata.detect_value(&json!({"event_type": "alert", "alert": "x"})));
        assert!(!Suricata.detect_value(&json!([])));
    }

    #[test]
    fn reads_the_filebeat_shape() {
        let doc = json!({
            "@timestamp": "2024-01-02T03:04:05Z",
            "source": {"ip": "10.0.0.1", "port": 1234},
            "destination": {"ip": "10.0.0.2", "port": 80},
            "suricata": {"eve": {"alert": {"signature_id": 1, "signature": "x", "severity": 3}, "flow_id": 5}}
        });
        assert!(Suricata.detect_value(&doc));
        let n = Suricata.normalize_value(&doc).unwrap();
        assert_eq!(n.severity, Severity::Low);
        assert_eq!(n.entities.endpoints.len(), 2);
        assert!(n.time.is_some());
    }

    #[test]
    fn alert_source_and_target_take_the_roles() {
        let mut doc = alert();
        doc["alert"]["source"] = json!({"ip": "203.0.113.9", "port": 443});
        doc["alert"]["target"] = json!({"ip": "10.0.0.5", "port": 51000});
        let n = Suricata.normalize_value(&doc).unwrap();
        let src = n
            .entities
            .endpoints
            .iter()
            .find(|e| e.role == EndpointRole::Source)
            .unwrap();
        assert_eq!(src.ip.to_string(), "203.0.113.9");
        assert_eq!(n.entities.endpoints.len(), 2);
    }

    #[test]
    fn bad_values_are_errors_naming_the_field() {
        let mut doc = alert();
        doc["alert"]["severity"] = json!("high");
        let e = Suricata.normalize_value(&doc).unwrap_err();
        assert!(e.to_string().contains("alert.severity"), "{e}");
        let mut doc = alert();
        doc["timestamp"] = json!("yesterday");
        let e = Suricata.normalize_value(&doc).unwrap_err();
        assert!(e.to_string().contains("`timestamp`"), "{e}");
        let mut doc = alert();
        doc.as_object_mut().unwrap().remove("timestamp");
        assert!(Suricata.normalize_value(&doc).is_err());
    }

    #[test]
    fn odd_values_do_not_panic() {
        let doc = json!({"event_type": "alert", "timestamp": 1700000000, "src_ip": "not-an-ip", "src_port": 99999,
            "alert": {"signature_id": null, "severity": 7, "metadata": {"mitre_attack": ["nonsense", 5]}},
            "http": {"hostname": "h.example", "url": "x y"}, "dns": {"queries": [1, {"rrname": "a.b"}]}, "email": {"to": ["<a@b.c>", "junk"]}});
        assert!(Suricata.detect_value(&doc));
        let n = Suricata.normalize_value(&doc).unwrap();
        assert_eq!(n.severity, Severity::Informational);
        assert!(n.entities.endpoints.is_empty());
        assert!(n.attack.is_empty());
        assert_eq!(n.entities.emails, ["a@b.c"]);
        assert_eq!(n.entities.domains, ["h.example", "a.b"]);
        assert!(n.entities.urls.is_empty());
    }
}
