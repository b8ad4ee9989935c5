//! Microsoft Defender XDR / Defender for Endpoint alerts, in two shapes:
//!
//! - the Defender for Endpoint API alert (`/api/alerts` item: `id`, `title`, `severity`,
//!   `alertCreationTime`, `machineId`, `computerDnsName`, `relatedUser`, `mitreTechniques`, and
//!   `evidence` as a list, or one item per document as some collectors split it);
//! - the streaming API / Advanced Hunting rows `AlertInfo` and `AlertEvidence`, either bare or in the
//!   Event Hub / storage envelope (`category: "AdvancedHunting-AlertInfo"`, columns under
//!   `properties`). `AttackTechniques` is a JSON list of "Name (T1234)" strings held in a string.
//!
//! References: Defender for Endpoint "Alert resource type" (properties and evidence fields), the
//! Advanced Hunting `AlertInfo` and `AlertEvidence` table references, and the streaming API event
//! schema.

use crate::json::{Json, Object};
use picket_core::{
    EndpointRole, Entities, FileEntity, Process, Product, Rule, Severity, SourceFormat,
};

use super::fields::{
    add_email, add_file, add_url, add_user_in, attack_refs, attack_tactic, hex_hash, join_path,
    json_in_string, technique_ids_in,
};
use super::{Doc, Normalized, SourceAdapter, as_text};
use crate::error::AdapterError;

pub struct Defender;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    MdeApi,
    /// Advanced Hunting row; the string is the path prefix of its columns ("" or "properties.").
    Hunting(&'static str),
}

fn shape(doc: &Json) -> Option<Shape> {
    let o = doc.as_object()?;
    if o.contains_key("alertCreationTime")
        && o.contains_key("id")
        && (o.contains_key("machineId")
            || o.contains_key("computerDnsName")
            || o.contains_key("detectionSource"))
    {
        return Some(Shape::MdeApi);
    }
    let is_row = |r: &Object<'_>| {
        r.contains_key("AlertId")
            && (r.contains_key("ServiceSource") || r.contains_key("DetectionSource"))
            && (r.contains_key("Title") || r.contains_key("EntityType"))
    };
    if let Some(Json::Object(p)) = o.get("properties")
        && o.get("category")
            .and_then(Json::as_str)
            .is_some_and(|c| c.starts_with("AdvancedHunting-Alert"))
        && is_row(p)
    {
        return Some(Shape::Hunting("properties."));
    }
    is_row(o).then_some(Shape::Hunting(""))
}

impl SourceAdapter for Defender {
    fn format(&self) -> SourceFormat {
        SourceFormat::Defender
    }

    fn detect(&self, doc: &Json) -> bool {
        shape(doc).is_some()
    }

    fn normalize(&self, doc: &Json) -> Result<Normalized, AdapterError> {
        match shape(doc).ok_or(AdapterError::Missing("AlertId"))? {
            Shape::MdeApi => mde_api(Doc(doc)),
            Shape::Hunting(p) => hunting(Doc(doc), p),
        }
    }
}

fn mde_api(d: Doc<'_>) -> Result<Normalized, AdapterError> {
    let time = d
        .time(&["alertCreationTime", "firstEventTime"])?
        .ok_or(AdapterError::Missing("alertCreationTime"))?;
    let title = d
        .str("title")
        .unwrap_or_else(|| "Microsoft Defender for Endpoint alert".to_owned());
    let (severity, vendor_severity) = severity(&d, "severity")?;

    let mut e = Entities::default();
    e.add_host(
        d.str("computerDnsName").as_deref(),
        None,
        d.str("machineId").as_deref(),
    );
    add_user_in(
        &mut e,
        d.str("relatedUser.domainName").as_deref(),
        d.str("relatedUser.userName").as_deref(),
    );
    match d.get("evidence") {
        Some(Json::Array(items)) => items.iter().for_each(|ev| mde_evidence(Doc(ev), &mut e)),
        Some(ev @ Json::Object(_)) => mde_evidence(Doc(ev), &mut e),
        _ => {}
    }

    let techniques: Vec<String> = d
        .strs("mitreTechniques")
        .iter()
        .flat_map(|t| technique_ids_in(t))
        .collect();
    // Defender's alert categories follow ATT&CK tactic names where one applies (`DefenseEvasion`,
    // `CredentialAccess`); others (`Malware`, `SuspiciousActivity`) are not tactics.
    let tactics: Vec<String> = d
        .str("category")
        .and_then(|c| attack_tactic(&c))
        .into_iter()
        .collect();

    Ok(Normalized {
        source_event_id: d.str("id"),
        time: Some(time),
        product: Product {
            vendor: "Microsoft".to_owned(),
            name: "Defender for Endpoint".to_owned(),
        },
        rule: Rule {
            id: d.str("detectorId"),
            name: title.clone(),
            category: d.str("category"),
        },
        severity,
        vendor_severity,
        message: title,
        entities: e,
        attack: attack_refs(&techniques, &tactics),
    })
}

/// One `evidence` item of the MDE API alert (entityType File, Process, User, Ip, Url, ...).
fn mde_evidence(d: Doc<'_>, e: &mut Entities) {
    let name = d.str("fileName");
    let path = join_path(d.str("filePath").as_deref(), name.as_deref());
    let file = FileEntity {
        name: name.clone(),
        path: path.clone(),
        md5: None,
        sha1: d.str("sha1").and_then(|h| hex_hash(&h, "sha1")),
        sha256: d.str("sha256").and_then(|h| hex_hash(&h, "sha256")),
    };
    let kind = d.str("entityType").unwrap_or_default().to_ascii_lowercase();
    if kind == "process" || d.str("processCommandLine").is_some() {
        e.processes.push(Process {
            name: name.clone(),
            pid: d.u64("processId"),
            path: path.clone(),
            command_line: d.str("processCommandLine"),
            parent_name: d.str("parentProcessFileName"),
        });
    }
    add_file(e, file);
    add_user_in(
        e,
        d.str("domainName").as_deref(),
        d.str("accountName").as_deref(),
    );
    if let Some(upn) = d.str("userPrincipalName")
        && d.str("accountName").is_none()
    {
        e.add_user(&upn);
    }
    if let Some(ip) = d.str("ipAddress") {
        e.add_endpoint(&ip, None, EndpointRole::Other);
    }
    if let Some(u) = d.str("url") {
        add_url(e, &u);
    }
}

fn hunting(d: Doc<'_>, p: &'static str) -> Result<Normalized, AdapterError> {
    let f = |s: &str| format!("{p}{s}");
    let time = d
        .time(&[&f("Timestamp"), "time", "TimeGenerated"])?
        .ok_or(AdapterError::Missing("Timestamp"))?;
    let is_evidence = d.has(&f("EntityType"));
    let service = d.str(&f("ServiceSource"));
    let title = d
        .str(&f("Title"))
        .or_else(|| {
            d.str(&f("AlertId"))
                .map(|id| format!("Defender alert {id}"))
        })
        .unwrap_or_else(|| "Microsoft Defender alert".to_owned());
    let (severity, vendor_severity) = severity(&d, &f("Severity"))?;

    let mut e = Entities::default();
    let local_ip = d.str(&f("LocalIP")).and_then(|s| s.parse().ok());
    e.add_host(
        d.str(&f("DeviceName")).as_deref(),
        local_ip,
        d.str(&f("DeviceId")).as_deref(),
    );
    add_user_in(
        &mut e,
        d.str(&f("AccountDomain")).as_deref(),
        d.str(&f("AccountName")).as_deref(),
    );
    if let Some(upn) = d.str(&f("AccountUpn")) {
        e.add_user(&upn);
    }
    let role = match d.str(&f("EvidenceDirection")).as_deref() {
        Some("Source") => EndpointRole::Source,
        Some("Destination") => EndpointRole::Destination,
        _ => EndpointRole::Other,
    };
    if let Some(ip) = d.str(&f("RemoteIP")) {
        e.add_endpoint(&ip, None, role);
    }
    if let Some(u) = d.str(&f("RemoteUrl")) {
        if u.contains("://") {
            add_url(&mut e, &u);
        } else {
            super::fields::add_domain(&mut e, &u);
        }
    }
    let additional = d.get(&f("AdditionalFields")).map(json_in_string);
    let extra = additional.as_deref().map(Doc);
    let name = d.str(&f("FileName"));
    let path = join_path(d.str(&f("FolderPath")).as_deref(), name.as_deref());
    let kind = d
        .str(&f("EntityType"))
        .unwrap_or_default()
        .to_ascii_lowercase();
    if let Some(cmd) = d.str(&f("ProcessCommandLine")).or_else(|| {
        (kind == "process")
            .then(|| extra.and_then(|x| x.str("CommandLine")))
            .flatten()
    }) {
        e.processes.push(Process {
            name: name.clone(),
            pid: extra.and_then(|x| x.u64("ProcessId")),
            path: path.clone(),
            command_line: Some(cmd),
            parent_name: None,
        });
    }
    add_file(
        &mut e,
        FileEntity {
            name,
            path,
            md5: None,
            sha1: d.str(&f("SHA1")).and_then(|h| hex_hash(&h, "sha1")),
            sha256: d.str(&f("SHA256")).and_then(|h| hex_hash(&h, "sha256")),
        },
    );
    if kind == "mailbox" || kind == "mailmessage" {
        for k in [
            "Sender",
            "Recipient",
            "RecipientEmailAddress",
            "SenderFromAddress",
        ] {
            if let Some(a) = extra.and_then(|x| x.str(k)) {
                add_email(&mut e, &a);
            }
        }
    }

    let techniques: Vec<String> = match d.get(&f("AttackTechniques")).map(json_in_string) {
        Some(v) => match &*v {
            Json::Array(items) => items
                .iter()
                .filter_map(as_text)
                .flat_map(|t| technique_ids_in(&t))
                .collect(),
            other => as_text(other)
                .map(|t| technique_ids_in(&t))
                .unwrap_or_default(),
        },
        None => Vec::new(),
    };
    let category = d.first_str(&[&f("Category"), &f("Categories")]);
    let tactics: Vec<String> = category
        .iter()
        .flat_map(|c| {
            let text = Json::String(c.as_str().into());
            let parsed = json_in_string(&text);
            match &*parsed {
                Json::Array(items) => items.iter().filter_map(as_text).collect(),
                _ => vec![c.clone()],
            }
        })
        .filter_map(|c| attack_tactic(&c))
        .collect();

    Ok(Normalized {
        // An AlertInfo row is the alert; AlertEvidence rows are its parts, many per `AlertId`, so
        // they keep no id of their own (each is its own record).
        source_event_id: if is_evidence {
            None
        } else {
            d.str(&f("AlertId"))
        },
        time: Some(time),
        product: Product {
            vendor: "Microsoft".to_owned(),
            name: service.unwrap_or_else(|| "Defender XDR".to_owned()),
        },
        rule: Rule {
            id: None,
            name: title.clone(),
            category,
        },
        severity,
        vendor_severity,
        message: title,
        entities: e,
        attack: attack_refs(&techniques, &tactics),
    })
}

/// Defender severities: UnSpecified, Informational, Low, Medium, High.
fn severity(d: &Doc<'_>, field: &str) -> Result<(Severity, Option<String>), AdapterError> {
    match d.str(field) {
        None => Ok((Severity::Unknown, None)),
        Some(s) => match Severity::from_word(&s) {
            Some(sev) => Ok((sev, Some(s))),
            None => Err(AdapterError::invalid(
                field,
                "expected UnSpecified, Informational, Low, Medium or High",
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::TestExt;
    use picket_core::AttackRef;
    use serde_json::Value;
    use serde_json::json;

    fn mde() -> Value {
        json!({"id": "da1_2", "title": "Suspicious PowerShell", "severity": "High", "category": "Execution",
        "alertCreationTime": "2024-05-01T10:00:00Z", "machineId": "m-1", "computerDnsName": "WS1.corp",
        "detectionSource": "WindowsDefenderAtp", "detectorId": "det-1", "mitreTechniques": ["T1059.001"],
        "relatedUser": {"userName": "bob", "domainName": "CORP"},
        "evidence": [
            {"entityType": "Process", "fileName": "powershell.exe", "filePath": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
             "sha1": "0000000000000000000000000000000000000000", "processId": 42, "processCommandLine": "powershell -enc AAA",
             "parentProcessFileName": "winword.exe"},
            {"entityType": "User", "accountName": "bob", "domainName": "CORP"},
            {"entityType": "Ip", "ipAddress": "203.0.113.5"},
            {"entityType": "Url", "url": "https://evil.example/a"}
        ]})
    }

    #[test]
    fn maps_mde_api_alert_with_evidence_list() {
        let n = Defender.normalize_value(&mde()).unwrap();
        assert_eq!(n.source_event_id.as_deref(), Some("da1_2"));
        assert_eq!(n.severity, Severity::High);
        assert_eq!(n.rule.id.as_deref(), Some("det-1"));
        assert_eq!(n.entities.hosts[0].hostname.as_deref(), Some("ws1.corp"));
        assert_eq!(n.entities.users.len(), 1);
        let p = &n.entities.processes[0];
        assert_eq!(p.pid, Some(42));
        assert_eq!(p.parent_name.as_deref(), Some("winword.exe"));
        assert!(
            p.path
                .as_deref()
                .unwrap()
                .ends_with("\\v1.0\\powershell.exe")
        );
        assert_eq!(n.entities.files[0].sha1, None, "all-zero hash dropped");
        assert_eq!(n.entities.endpoints.len(), 1);
        assert_eq!(n.entities.urls.len(), 1);
        assert_eq!(
            n.attack,
            [AttackRef {
                name: None,
                technique: Some("T1059.001".into()),
                tactic: Some("execution".into())
            }]
        );
    }

    #[test]
    fn bare_hunting_rows_and_evidence_without_id() {
        let info = json!({"AlertId": "a-1", "Timestamp": "2024-05-01T10:00:00Z", "Title": "T",
            "ServiceSource": "Microsoft Defender for Identity", "Severity": "Low", "Category": "LateralMovement",
            "AttackTechniques": "[\"Pass the Hash (T1550.002)\"]"});
        assert!(Defender.detect_value(&info));
        let n = Defender.normalize_value(&info).unwrap();
        assert_eq!(n.source_event_id.as_deref(), Some("a-1"));
        assert_eq!(n.product.name, "Microsoft Defender for Identity");
        assert_eq!(n.attack[0].technique.as_deref(), Some("T1550.002"));
        assert_eq!(n.attack[0].tactic.as_deref(), Some("lateral-movement"));
        let ev = json!({"AlertId": "a-1", "Timestamp": "2024-05-01T10:00:00Z", "EntityType": "Ip",
            "ServiceSource": "Microsoft Defender for Endpoint", "RemoteIP": "198.51.100.1",
            "EvidenceDirection": "Destination", "RemoteUrl": "Evil.Example.com"});
        let n = Defender.normalize_value(&ev).unwrap();
        assert_eq!(n.source_event_id, None);
        assert_eq!(n.message, "Defender alert a-1");
        assert_eq!(n.entities.endpoints[0].role, EndpointRole::Destination);
        assert_eq!(n.entities.domains, ["evil.example.com"]);
    }

    #[test]
    fn bad_values_name_the_field() {
        let mut doc = mde();
        doc["alertCreationTime"] = json!("later");
        assert!(
            Defender
                .normalize_value(&doc)
                .unwrap_err()
                .to_string()
                .contains("`alertCreationTime`")
        );
        let mut doc = mde();
        doc["severity"] = json!("Severe");
        assert!(
            Defender
                .normalize_value(&doc)
                .unwrap_err()
                .to_string()
                .contains("`severity`")
        );
        let env = json!({"category": "AdvancedHunting-AlertInfo", "properties": {"AlertId": "x",
            "ServiceSource": "s", "Title": "t", "Timestamp": "nope"}});
        assert!(
            Defender
                .normalize_value(&env)
                .unwrap_err()
                .to_string()
                .contains("properties.Timestamp")
        );
    }

    #[test]
    fn detect_is_specific() {
        assert!(Defender.detect_value(&mde()));
        assert!(!Defender.detect_value(&json!({"AlertId": "x", "Timestamp": "t"})));
        assert!(!Defender.detect_value(
            &json!({"Type": "SecurityAlert", "SystemAlertId": "x", "AlertName": "y"})
        ));
        assert!(!Defender.detect_value(&json!({"id": "x", "alertCreationTime": "t"})));
    }
}
