//! Microsoft Sentinel alerts and incidents, in both shapes they are read in:
//!
//! - Log Analytics rows of the `SecurityAlert` and `SecurityIncident` tables (PascalCase columns;
//!   `Entities`, `ExtendedProperties`, `Techniques`, `AdditionalData`, `AlertIds` are JSON held in
//!   strings; `Tactics` is a comma-separated string);
//! - ARM REST resources (`Microsoft.SecurityInsights/incidents`, and alerts listed by
//!   `incidents/{id}/alerts` with `kind: "SecurityAlert"`), camelCase under `properties`.
//!
//! References: "Microsoft Sentinel security alert schema reference", the `SecurityAlert` and
//! `SecurityIncident` table references, the Security Insights REST API (Incidents, Incident Alerts)
//! and the Sentinel entity types reference (host, account, ip, file, filehash, process, url, dns,
//! mailbox, mailMessage, network-connection; `$id`/`$ref` links between them).

use std::collections::HashMap;

use crate::json::{Json, Object};
use picket_core::{
    AttackRef, EndpointRole, Entities, FileEntity, Process, Product, Rule, Severity, SourceFormat,
};

use super::fields::{
    add_domain, add_email, add_file, add_url, add_user_in, attack_refs, attack_tactic, hex_hash,
    join_path, json_in_string, technique_id,
};
use super::{Doc, Normalized, SourceAdapter, as_text};
use crate::error::AdapterError;

pub struct Sentinel;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    /// Log Analytics `SecurityAlert` row.
    LaAlert,
    /// Log Analytics `SecurityIncident` row.
    LaIncident,
    /// ARM alert (`kind: SecurityAlert`, `properties`).
    ArmAlert,
    /// ARM incident (`type: Microsoft.SecurityInsights/incidents`, `properties`).
    ArmIncident,
}

fn shape(doc: &Json) -> Option<Shape> {
    let o = doc.as_object()?;
    let s = |k: &str| o.get(k).and_then(Json::as_str);
    if let Some(props) = o.get("properties").and_then(Json::as_object) {
        let ty = s("type").unwrap_or("").to_ascii_lowercase();
        if ty.starts_with("microsoft.securityinsights/") {
            if ty.ends_with("/incidents") {
                return Some(Shape::ArmIncident);
            }
            if s("kind") == Some("SecurityAlert") || props.contains_key("systemAlertId") {
                return Some(Shape::ArmAlert);
            }
        }
        return None;
    }
    match s("Type") {
        Some("SecurityAlert") => Some(Shape::LaAlert),
        Some("SecurityIncident") => Some(Shape::LaIncident),
        Some(_) => None,
        // Rows exported without the `Type` column.
        None if o.contains_key("SystemAlertId") && o.contains_key("AlertName") => {
            Some(Shape::LaAlert)
        }
        None if o.contains_key("IncidentName") && o.contains_key("IncidentNumber") => {
            Some(Shape::LaIncident)
        }
        None => None,
    }
}

impl SourceAdapter for Sentinel {
    fn format(&self) -> SourceFormat {
        SourceFormat::Sentinel
    }

    fn detect(&self, doc: &Json) -> bool {
        shape(doc).is_some()
    }

    fn normalize(&self, doc: &Json) -> Result<Normalized, AdapterError> {
        match shape(doc).ok_or(AdapterError::Missing("Type"))? {
            Shape::LaAlert => alert(Doc(doc), "", &LA_ALERT),
            Shape::ArmAlert => alert(Doc(doc), "properties.", &ARM_ALERT),
            Shape::LaIncident => incident(Doc(doc), "", &LA_INCIDENT),
            Shape::ArmIncident => incident(Doc(doc), "properties.", &ARM_INCIDENT),
        }
    }
}

/// Column / property names of an alert in one shape.
struct AlertNames {
    id: &'static str,
    time: [&'static str; 3],
    name: [&'static str; 2],
    severity: &'static str,
    rule_id: &'static str,
    vendor: &'static str,
    product: &'static str,
    tactics: &'static str,
    techniques: &'static str,
    sub_techniques: &'static str,
    entities: &'static str,
}

const LA_ALERT: AlertNames = AlertNames {
    id: "SystemAlertId",
    time: ["TimeGenerated", "StartTime", "ProcessingEndTime"],
    name: ["AlertName", "DisplayName"],
    severity: "AlertSeverity",
    rule_id: "AlertType",
    vendor: "VendorName",
    product: "ProductName",
    tactics: "Tactics",
    techniques: "Techniques",
    sub_techniques: "SubTechniques",
    entities: "Entities",
};

const ARM_ALERT: AlertNames = AlertNames {
    id: "systemAlertId",
    time: ["timeGenerated", "startTimeUtc", "processingEndTime"],
    name: ["alertDisplayName", "friendlyName"],
    severity: "severity",
    rule_id: "alertType",
    vendor: "vendorName",
    product: "productName",
    tactics: "tactics",
    techniques: "techniques",
    sub_techniques: "subTechniques",
    entities: "entities",
};

fn alert(d: Doc<'_>, base: &str, n: &AlertNames) -> Result<Normalized, AdapterError> {
    let f = |s: &str| format!("{base}{s}");
    let time_fields: Vec<String> = n.time.iter().map(|t| f(t)).collect();
    let time_refs: Vec<&str> = time_fields.iter().map(String::as_str).collect();
    let time = d
        .time(&time_refs)?
        .ok_or(AdapterError::Missing(n.time[0]))?;
    let name = d
        .first_str(&[&f(n.name[0]), &f(n.name[1])])
        .unwrap_or_else(|| "Microsoft Sentinel alert".to_owned());
    let (severity, vendor_severity) = severity(&d, &f(n.severity))?;

    let mut entities = Entities::default();
    if let Some(v) = d.get(&f(n.entities)) {
        sentinel_entities(&json_in_string(v), &mut entities);
    }

    let tactics = list(&d, &f(n.tactics));
    let mut techniques = list(&d, &f(n.sub_techniques));
    let main = list(&d, &f(n.techniques));
    // A sub-technique stands for its parent; parents without a listed sub-technique stay.
    for t in main {
        if !techniques.iter().any(|s| s.starts_with(&format!("{t}."))) {
            techniques.push(t);
        }
    }
    let attack = attack_from(&techniques, &tactics);

    Ok(Normalized {
        source_event_id: d.str(&f(n.id)),
        time: Some(time),
        product: Product {
            vendor: d
                .str(&f(n.vendor))
                .unwrap_or_else(|| "Microsoft".to_owned()),
            name: d
                .str(&f(n.product))
                .unwrap_or_else(|| "Microsoft Sentinel".to_owned()),
        },
        rule: Rule {
            id: d.str(&f(n.rule_id)),
            name: name.clone(),
            category: None,
        },
        severity,
        vendor_severity,
        message: name,
        entities,
        attack,
    })
}

/// Column / property names of an incident in one shape.
struct IncidentNames {
    id: &'static str,
    time: [&'static str; 3],
    title: &'static str,
    severity: &'static str,
    provider: &'static str,
    rules: &'static str,
    additional: &'static str,
    number: &'static str,
}

const LA_INCIDENT: IncidentNames = IncidentNames {
    id: "IncidentName",
    time: ["CreatedTime", "TimeGenerated", "FirstActivityTime"],
    title: "Title",
    severity: "Severity",
    provider: "ProviderName",
    rules: "RelatedAnalyticRuleIds",
    additional: "AdditionalData",
    number: "IncidentNumber",
};

const ARM_INCIDENT: IncidentNames = IncidentNames {
    id: "name",
    time: [
        "createdTimeUtc",
        "firstActivityTimeUtc",
        "lastModifiedTimeUtc",
    ],
    title: "title",
    severity: "severity",
    provider: "providerName",
    rules: "relatedAnalyticRuleIds",
    additional: "additionalData",
    number: "incidentNumber",
};

fn incident(d: Doc<'_>, base: &str, n: &IncidentNames) -> Result<Normalized, AdapterError> {
    let f = |s: &str| format!("{base}{s}");
    let time_fields: Vec<String> = n.time.iter().map(|t| f(t)).collect();
    let time_refs: Vec<&str> = time_fields.iter().map(String::as_str).collect();
    let time = d
        .time(&time_refs)?
        .ok_or(AdapterError::Missing(n.time[0]))?;
    let title = d
        .str(&f(n.title))
        .or_else(|| d.str(&f(n.number)).map(|num| format!("Incident {num}")))
        .unwrap_or_else(|| "Microsoft Sentinel incident".to_owned());
    let (severity, vendor_severity) = severity(&d, &f(n.severity))?;

    // The analytics rule that raised it: named only when there is exactly one (its GUID, the last
    // segment of the ARM id).
    let rules = list(&d, &f(n.rules));
    let rule_id = match rules.as_slice() {
        [one] => one.rsplit('/').next().map(str::to_owned),
        _ => None,
    };

    let additional = d.get(&f(n.additional)).map(json_in_string);
    let (tactics, techniques) = match additional.as_deref() {
        Some(a) => {
            let ad = Doc(a);
            (list(&ad, "tactics"), list(&ad, "techniques"))
        }
        None => (Vec::new(), Vec::new()),
    };
    let attack = attack_from(&techniques, &tactics);

    // ARM ids name the incident resource; `name` is its GUID. LA rows carry the GUID as
    // `IncidentName`.
    let source_event_id = d.str(n.id);

    Ok(Normalized {
        source_event_id,
        time: Some(time),
        product: Product {
            vendor: "Microsoft".to_owned(),
            name: d
                .str(&f(n.provider))
                .unwrap_or_else(|| "Microsoft Sentinel".to_owned()),
        },
        rule: Rule {
            id: rule_id,
            name: title.clone(),
            category: Some("Incident".to_owned()),
        },
        severity,
        vendor_severity,
        message: title,
        entities: Entities::default(),
        attack,
    })
}

/// Sentinel severities: High, Medium, Low, Informational.
fn severity(d: &Doc<'_>, field: &str) -> Result<(Severity, Option<String>), AdapterError> {
    match d.str(field) {
        None => Ok((Severity::Unknown, None)),
        Some(s) => match Severity::from_word(&s) {
            Some(sev) => Ok((sev, Some(s))),
            None => Err(AdapterError::invalid(
                field,
                "expected High, Medium, Low or Informational",
            )),
        },
    }
}

/// A list held as a JSON array, a JSON array inside a string, or a comma-separated string.
fn list(d: &Doc<'_>, field: &str) -> Vec<String> {
    let Some(v) = d.get(field) else {
        return Vec::new();
    };
    match &*json_in_string(v) {
        Json::Array(items) => items.iter().filter_map(as_text).collect(),
        Json::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// ATT&CK references from technique ids and tactic names (`InitialAccess`), keeping only values
/// that are ATT&CK's.
fn attack_from(techniques: &[String], tactics: &[String]) -> Vec<AttackRef> {
    let techs: Vec<String> = techniques.iter().filter_map(|t| technique_id(t)).collect();
    let tacs: Vec<String> = tactics.iter().filter_map(|t| attack_tactic(t)).collect();
    attack_refs(&techs, &tacs)
}

/// Case-insensitive field of an entity object.
fn eget<'b, 'a>(o: &'b Object<'a>, key: &str) -> Option<&'b Json<'a>> {
    o.get(key).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn estr(o: &Object, key: &str) -> Option<String> {
    eget(o, key).and_then(as_text)
}

/// The entity list of an alert: `[{"$id": "2", "Type": "host", "HostName": ..}, ..]` (Log
/// Analytics) or `[{"kind": "Host", "properties": {"hostName": ..}}]` (ARM). Links (`{"$ref": "3"}`)
/// are followed for file hashes, process images, and network connection addresses.
fn sentinel_entities<'a>(v: &'a Json<'a>, e: &mut Entities) {
    let Json::Array(items) = v else {
        return;
    };
    // Flatten ARM entities (kind + properties) to one map each; index `$id`s.
    let flat: Vec<(String, Object<'a>)> = items
        .iter()
        .filter_map(|it| {
            let o = it.as_object()?;
            match (o.get("kind").and_then(Json::as_str), o.get("properties")) {
                (Some(kind), Some(Json::Object(p))) => Some((kind.to_ascii_lowercase(), p.clone())),
                _ => Some((
                    estr(o, "Type").unwrap_or_default().to_ascii_lowercase(),
                    o.clone(),
                )),
            }
        })
        .collect();
    let by_id: HashMap<String, &Object<'a>> = flat
        .iter()
        .filter_map(|(_, o)| Some((estr(o, "$id")?, o)))
        .collect();
    let resolve = |v: &Json<'a>| -> Option<Object<'a>> {
        let o = v.as_object()?;
        match estr(o, "$ref") {
            Some(r) => by_id.get(&r).map(|m| (*m).clone()),
            None => Some(o.clone()),
        }
    };
    let linked_hashes: Vec<String> = flat
        .iter()
        .filter_map(|(_, o)| match eget(o, "FileHashes") {
            Some(Json::Array(hs)) => Some(hs),
            _ => None,
        })
        .flatten()
        .filter_map(|h| h.as_object().and_then(|h| estr(h, "$ref")))
        .collect();
    for (kind, o) in &flat {
        match kind.as_str() {
            "host" => {
                let name = estr(o, "HostName").or_else(|| estr(o, "NetBiosName"));
                let name = match (name, estr(o, "DnsDomain")) {
                    (Some(h), Some(dom)) if !h.contains('.') => Some(format!("{h}.{dom}")),
                    (h, _) => h,
                };
                let id = estr(o, "AzureID")
                    .or_else(|| estr(o, "OMSAgentID"))
                    .or_else(|| estr(o, "MdatpDeviceId"));
                e.add_host(name.as_deref(), None, id.as_deref());
            }
            "account" => {
                let name = estr(o, "Name").or_else(|| estr(o, "AccountName"));
                match (name, estr(o, "UPNSuffix")) {
                    (Some(n), Some(upn)) if estr(o, "NTDomain").is_none() => {
                        e.add_user(&format!("{n}@{upn}"))
                    }
                    (n, _) => add_user_in(e, estr(o, "NTDomain").as_deref(), n.as_deref()),
                }
            }
            "ip" => {
                if let Some(a) = estr(o, "Address") {
                    e.add_endpoint(&a, None, EndpointRole::Other);
                }
            }
            "network-connection" | "networkconnection" => {
                for (addr, port, role) in [
                    ("SourceAddress", "SourcePort", EndpointRole::Source),
                    (
                        "DestinationAddress",
                        "DestinationPort",
                        EndpointRole::Destination,
                    ),
                ] {
                    let ip = eget(o, addr)
                        .and_then(&resolve)
                        .and_then(|m| estr(&m, "Address"));
                    let port = estr(o, port).and_then(|p| p.parse().ok());
                    if let Some(ip) = ip {
                        e.add_endpoint(&ip, port, role);
                    }
                }
            }
            "file" => {
                let name = estr(o, "Name").or_else(|| estr(o, "FileName"));
                let path = join_path(estr(o, "Directory").as_deref(), name.as_deref());
                let mut f = FileEntity {
                    name,
                    path,
                    ..FileEntity::default()
                };
                if let Some(Json::Array(hs)) = eget(o, "FileHashes") {
                    for h in hs.iter().filter_map(&resolve) {
                        set_hash(&mut f, estr(&h, "Algorithm"), estr(&h, "Value"));
                    }
                }
                add_file(e, f);
            }
            "filehash" => {
                // Stand-alone hashes; those a file links to are placed with that file.
                if estr(o, "$id").is_some_and(|id| linked_hashes.contains(&id)) {
                    continue;
                }
                let mut f = FileEntity::default();
                set_hash(&mut f, estr(o, "Algorithm"), estr(o, "Value"));
                add_file(e, f);
            }
            "process" => {
                let image = eget(o, "ImageFile").and_then(&resolve);
                let name = image.as_ref().and_then(|m| estr(m, "Name"));
                let path = image
                    .as_ref()
                    .and_then(|m| join_path(estr(m, "Directory").as_deref(), name.as_deref()));
                let parent = eget(o, "ParentProcess")
                    .and_then(&resolve)
                    .and_then(|m| eget(&m, "ImageFile").and_then(&resolve))
                    .and_then(|m| estr(&m, "Name"));
                let p = Process {
                    name,
                    pid: estr(o, "ProcessId").and_then(|p| p.parse().ok()),
                    path,
                    command_line: estr(o, "CommandLine"),
                    parent_name: parent,
                };
                if p.name.is_some() || p.command_line.is_some() {
                    e.processes.push(p);
                }
            }
            "url" => {
                if let Some(u) = estr(o, "Url") {
                    add_url(e, &u);
                }
            }
            "dns" | "dnsresolution" => {
                if let Some(dom) = estr(o, "DomainName") {
                    add_domain(e, &dom);
                }
            }
            "mailbox" => {
                if let Some(a) = estr(o, "MailboxPrimaryAddress") {
                    add_email(e, &a);
                }
            }
            "mailmessage" => {
                for k in ["Sender", "P1Sender", "P2Sender", "Recipient"] {
                    if let Some(a) = estr(o, k) {
                        add_email(e, &a);
                    }
                }
            }
            _ => {}
        }
    }
}

fn set_hash(f: &mut FileEntity, algorithm: Option<String>, value: Option<String>) {
    let (Some(a), Some(v)) = (algorithm, value) else {
        return;
    };
    match a.to_ascii_uppercase().as_str() {
        "MD5" => f.md5 = hex_hash(&v, "md5"),
        "SHA1" => f.sha1 = hex_hash(&v, "sha1"),
        "SHA256" => f.sha256 = hex_hash(&v, "sha256"),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::TestExt;
    use serde_json::Value;
    use serde_json::json;

    fn la_alert() -> Value {
        json!({
            "Type": "SecurityAlert", "TimeGenerated": "2024-05-01T10:00:00Z", "SystemAlertId": "a-1",
            "AlertName": "Suspicious logon", "AlertSeverity": "Medium", "ProductName": "Azure Sentinel",
            "VendorName": "Microsoft", "AlertType": "ws_rule-guid", "Tactics": "InitialAccess, CredentialAccess, PreAttack",
            "Techniques": "[\"T1078\",\"T1110\"]", "SubTechniques": "[\"T1110.003\"]",
            "Entities": "[{\"$id\":\"2\",\"Type\":\"host\",\"HostName\":\"WS1\",\"DnsDomain\":\"corp.example\"},{\"$id\":\"3\",\"Type\":\"account\",\"Name\":\"bob\",\"NTDomain\":\"CORP\"},{\"$id\":\"4\",\"Type\":\"ip\",\"Address\":\"203.0.113.7\"},{\"$id\":\"5\",\"Type\":\"filehash\",\"Algorithm\":\"SHA256\",\"Value\":\"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\"},{\"$id\":\"6\",\"Type\":\"file\",\"Name\":\"x.exe\",\"Directory\":\"C:\\\\Temp\",\"FileHashes\":[{\"$ref\":\"5\"}]},{\"$id\":\"7\",\"Type\":\"process\",\"ProcessId\":\"42\",\"CommandLine\":\"x.exe -a\",\"ImageFile\":{\"$ref\":\"6\"}},{\"$id\":\"8\",\"Type\":\"url\",\"Url\":\"https://evil.example/p\"},{\"$id\":\"9\",\"Type\":\"network-connection\",\"SourceAddress\":{\"$ref\":\"4\"},\"SourcePort\":\"5555\"}]"
        })
    }

    #[test]
    fn maps_log_analytics_alert_with_entities() {
        let n = Sentinel.normalize_value(&la_alert()).unwrap();
        assert_eq!(n.source_event_id.as_deref(), Some("a-1"));
        assert_eq!(n.severity, Severity::Medium);
        assert_eq!(n.rule.id.as_deref(), Some("ws_rule-guid"));
        let e = &n.entities;
        assert_eq!(e.hosts[0].hostname.as_deref(), Some("ws1.corp.example"));
        assert_eq!(e.users[0].domain.as_deref(), Some("CORP"));
        assert_eq!(e.files.len(), 1, "{:?}", e.files);
        assert_eq!(e.files[0].path.as_deref(), Some("C:\\Temp\\x.exe"));
        assert!(e.files[0].sha256.as_deref().unwrap().starts_with("e3b0"));
        assert_eq!(e.processes[0].pid, Some(42));
        assert_eq!(e.processes[0].name.as_deref(), Some("x.exe"));
        assert_eq!(e.urls, ["https://evil.example/p"]);
        assert!(
            e.endpoints
                .iter()
                .any(|p| p.port == Some(5555) && p.role == EndpointRole::Source)
        );
        // Two techniques (T1110 replaced by its sub-technique) and two tactics: listed apart.
        assert!(n.attack.contains(&AttackRef {
            name: None,
            technique: Some("T1110.003".into()),
            tactic: None
        }));
        assert!(n.attack.contains(&AttackRef {
            name: None,
            technique: None,
            tactic: Some("initial-access".into())
        }));
        assert_eq!(n.attack.len(), 4);
    }

    #[test]
    fn la_incident_without_type_and_arm_alert_without_entities() {
        let doc = json!({"IncidentName": "g-1", "IncidentNumber": 7, "CreatedTime": "2024-05-01T10:00:00Z",
            "Severity": "Informational", "AdditionalData": "{\"tactics\":[\"Persistence\"],\"techniques\":[\"T1053\"]}",
            "RelatedAnalyticRuleIds": "[\"/subscriptions/s/alertRules/r-9\"]"});
        assert!(Sentinel.detect_value(&doc));
        let n = Sentinel.normalize_value(&doc).unwrap();
        assert_eq!(n.source_event_id.as_deref(), Some("g-1"));
        assert_eq!(n.message, "Incident 7");
        assert_eq!(n.rule.id.as_deref(), Some("r-9"));
        assert_eq!(n.severity, Severity::Informational);
        assert_eq!(
            n.attack,
            [AttackRef {
                name: None,
                technique: Some("T1053".into()),
                tactic: Some("persistence".into())
            }]
        );
        let arm = json!({"type": "Microsoft.SecurityInsights/Entities", "kind": "SecurityAlert",
            "properties": {"systemAlertId": "s-1", "timeGenerated": "2024-05-01T10:00:00Z", "tactics": ["abc"]}});
        let n = Sentinel.normalize_value(&arm).unwrap();
        assert!(n.attack.is_empty());
        assert_eq!(n.severity, Severity::Unknown);
        assert_eq!(n.message, "Microsoft Sentinel alert");
    }

    #[test]
    fn bad_values_name_the_field() {
        let mut doc = la_alert();
        doc["TimeGenerated"] = json!("soon");
        assert!(
            Sentinel
                .normalize_value(&doc)
                .unwrap_err()
                .to_string()
                .contains("`TimeGenerated`")
        );
        let mut doc = la_alert();
        doc["AlertSeverity"] = json!("Severe");
        assert!(
            Sentinel
                .normalize_value(&doc)
                .unwrap_err()
                .to_string()
                .contains("AlertSeverity")
        );
        let arm =
            json!({"type": "Microsoft.SecurityInsights/incidents", "properties": {"title": "t"}});
        assert!(
            Sentinel
                .normalize_value(&arm)
                .unwrap_err()
                .to_string()
                .contains("createdTimeUtc")
        );
        // Entities that are not JSON are ignored, not fatal.
        let mut doc = la_alert();
        doc["Entities"] = json!("[not json");
        assert!(Sentinel.normalize_value(&doc).unwrap().entities.is_empty());
    }

    #[test]
    fn detect_is_specific() {
        assert!(Sentinel.detect_value(&la_alert()));
        assert!(
            !Sentinel.detect_value(
                &json!({"Type": "SigninLogs", "SystemAlertId": "x", "AlertName": "y"})
            )
        );
        assert!(
            !Sentinel.detect_value(&json!({"type": "Microsoft.Security/alerts", "properties": {}}))
        );
        assert!(!Sentinel.detect_value(
            &json!({"properties": {"AlertId": "x"}, "category": "AdvancedHunting-AlertInfo"})
        ));
    }
}
