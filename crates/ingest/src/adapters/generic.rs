//! The generic adapter: JSON objects or CSV rows mapped by a field mapping from config.
//!
//! Never auto-detected: a user names the mapping (`--format generic --mapping NAME`, or a CSV payload
//! with a mapping configured). See `examples/ait-ads.toml` for a worked mapping.

use std::collections::BTreeMap;

use crate::json::Json;
use picket_core::{AttackRef, EndpointRole, Entities, Product, Rule, Severity, SourceFormat};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Doc, Normalized, SourceAdapter};
use crate::error::AdapterError;

/// Which fields of a generic record mean what. Field names are dotted paths for JSON and column names
/// for CSV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenericMapping {
    /// The mapping's name, used by `--mapping` and shown in alerts' product.
    pub name: String,
    /// Field holding the event time (any form Picket reads, epoch seconds included).
    pub time: String,
    /// Field holding the rule or signature name.
    pub rule_name: String,
    /// Field holding the rule id.
    #[serde(default)]
    pub rule_id: Option<String>,
    /// Field holding a human message; the rule name is used when absent.
    #[serde(default)]
    pub message: Option<String>,
    /// Field holding the vendor's unique event id (makes ingest idempotent).
    #[serde(default)]
    pub event_id: Option<String>,
    /// Field holding the severity; read as a word ("high"), an OCSF id (0-6), or through `severity_map`.
    #[serde(default)]
    pub severity: Option<String>,
    /// Vendor severity value → OCSF severity, checked before the built-in words.
    #[serde(default)]
    pub severity_map: BTreeMap<String, Severity>,
    /// Severity when the record has none.
    #[serde(default)]
    pub default_severity: Severity,
    /// Fields holding host names.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Fields holding user names.
    #[serde(default)]
    pub users: Vec<String>,
    /// Fields holding source IP addresses.
    #[serde(default)]
    pub src_ips: Vec<String>,
    /// Fields holding destination IP addresses.
    #[serde(default)]
    pub dst_ips: Vec<String>,
    /// Fields holding IP addresses of no particular direction.
    #[serde(default)]
    pub ips: Vec<String>,
    /// Field holding an ATT&CK technique id.
    #[serde(default)]
    pub technique: Option<String>,
    /// Field holding an ATT&CK tactic id or name.
    #[serde(default)]
    pub tactic: Option<String>,
    /// Product vendor to report (a literal, not a field).
    #[serde(default)]
    pub product_vendor: Option<String>,
    /// Product name to report (a literal, not a field).
    #[serde(default)]
    pub product_name: Option<String>,
    /// Fields never read by Picket, not even for indicator extraction (e.g. evaluation labels).
    #[serde(default)]
    pub ignore: Vec<String>,
}

impl GenericMapping {
    /// Problems with the mapping itself, all at once (empty when it is usable).
    pub fn check(&self) -> Vec<String> {
        let mut errs = Vec::new();
        if self.name.trim().is_empty() {
            errs.push("`name` must not be empty".to_owned());
        }
        for (key, v) in [("time", &self.time), ("rule_name", &self.rule_name)] {
            if v.trim().is_empty() {
                errs.push(format!("`{key}` must name a field"));
            }
        }
        for f in &self.ignore {
            let used = [&self.time, &self.rule_name].into_iter().any(|u| u == f)
                || [
                    &self.rule_id,
                    &self.message,
                    &self.event_id,
                    &self.severity,
                    &self.technique,
                    &self.tactic,
                ]
                .into_iter()
                .any(|o| o.as_ref() == Some(f))
                || [
                    &self.hosts,
                    &self.users,
                    &self.src_ips,
                    &self.dst_ips,
                    &self.ips,
                ]
                .into_iter()
                .any(|l| l.contains(f));
            if used {
                errs.push(format!("field `{f}` is both mapped and in `ignore`"));
            }
        }
        errs
    }
}

/// The generic adapter for one mapping.
#[derive(Debug, Clone)]
pub struct Generic {
    pub mapping: GenericMapping,
}

impl SourceAdapter for Generic {
    fn format(&self) -> SourceFormat {
        SourceFormat::Generic
    }

    fn detect(&self, _doc: &Json) -> bool {
        false
    }

    fn normalize(&self, doc: &Json) -> Result<Normalized, AdapterError> {
        let m = &self.mapping;
        let d = Doc(doc);
        let time = d.time(&[m.time.as_str()])?.ok_or(AdapterError::invalid(
            m.time.clone(),
            "time field is missing or empty",
        ))?;
        let rule_name = d.str(&m.rule_name).ok_or(AdapterError::invalid(
            m.rule_name.clone(),
            "rule name field is missing or empty",
        ))?;
        let vendor_severity = m.severity.as_deref().and_then(|f| d.str(f));
        let severity = vendor_severity
            .as_deref()
            .map(|v| {
                m.severity_map
                    .get(v)
                    .copied()
                    .or_else(|| Severity::from_word(v))
                    .or_else(|| v.parse::<u8>().ok().and_then(Severity::from_id))
                    .unwrap_or(m.default_severity)
            })
            .unwrap_or(m.default_severity);
        let mut entities = Entities::default();
        for f in &m.hosts {
            for h in d.strs(f) {
                entities.add_host(Some(&h), None, None);
            }
        }
        for f in &m.users {
            for u in d.strs(f) {
                entities.add_user(&u);
            }
        }
        for (fields, role) in [
            (&m.src_ips, EndpointRole::Source),
            (&m.dst_ips, EndpointRole::Destination),
            (&m.ips, EndpointRole::Other),
        ] {
            for f in fields {
                for ip in d.strs(f) {
                    entities.add_endpoint(&ip, None, role);
                }
            }
        }
        let technique = m.technique.as_deref().and_then(|f| d.str(f));
        let tactic = m.tactic.as_deref().and_then(|f| d.str(f));
        let attack = if technique.is_some() || tactic.is_some() {
            vec![AttackRef {
                technique,
                tactic,
                name: None,
            }]
        } else {
            Vec::new()
        };
        Ok(Normalized {
            source_event_id: m.event_id.as_deref().and_then(|f| d.str(f)),
            time: Some(time),
            product: Product {
                vendor: m
                    .product_vendor
                    .clone()
                    .unwrap_or_else(|| "generic".to_owned()),
                name: m.product_name.clone().unwrap_or_else(|| m.name.clone()),
            },
            message: m
                .message
                .as_deref()
                .and_then(|f| d.str(f))
                .unwrap_or_else(|| rule_name.clone()),
            rule: Rule {
                id: m.rule_id.as_deref().and_then(|f| d.str(f)),
                name: rule_name,
                category: None,
            },
            severity,
            vendor_severity,
            entities,
            attack,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::TestExt;
    use serde_json::json;

    fn ait() -> GenericMapping {
        GenericMapping {
            name: "ait-ads".into(),
            time: "time".into(),
            rule_name: "name".into(),
            rule_id: Some("short".into()),
            message: None,
            event_id: None,
            severity: None,
            severity_map: BTreeMap::new(),
            default_severity: Severity::Low,
            hosts: vec!["host".into()],
            users: vec![],
            src_ips: vec![],
            dst_ips: vec![],
            ips: vec!["ip".into()],
            technique: None,
            tactic: None,
            product_vendor: None,
            product_name: None,
            ignore: vec!["time_label".into(), "event_label".into()],
        }
    }

    #[test]
    fn maps_an_ait_ads_row() {
        let g = Generic { mapping: ait() };
        let row = json!({"time": "1642723347", "name": "Wazuh: ClamAV database update", "ip": "172.19.130.4", "host": "mail", "short": "W-Sys-Cav", "time_label": "false_positive", "event_label": "-"});
        let n = g.normalize_value(&row).unwrap();
        assert_eq!(n.time.unwrap().to_string(), "2022-01-21T00:02:27Z");
        assert_eq!(n.rule.name, "Wazuh: ClamAV database update");
        assert_eq!(n.rule.id.as_deref(), Some("W-Sys-Cav"));
        assert_eq!(n.entities.hosts[0].hostname.as_deref(), Some("mail"));
        assert_eq!(n.entities.endpoints[0].ip.to_string(), "172.19.130.4");
        assert_eq!(n.severity, Severity::Low);
    }

    #[test]
    fn missing_time_is_a_located_error() {
        let g = Generic { mapping: ait() };
        let e = g.normalize_value(&json!({"name": "x"})).unwrap_err();
        assert!(e.to_string().contains("`time`"), "{e}");
    }

    #[test]
    fn check_reports_every_problem() {
        let mut m = ait();
        m.name = " ".into();
        m.time = "".into();
        m.ignore.push("host".into());
        assert_eq!(m.check().len(), 3);
    }
}
