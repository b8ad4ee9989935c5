//! CrowdStrike Falcon detections, in two shapes:
//!
//! - the Alerts API v2 entity (`/alerts/entities/alerts/v2`: `composite_id`, `device`, `severity`
//!   0–100 with `severity_name`, `tactic`/`technique` with ids, `mitre_attack`, process lineage in
//!   `parent_details` / `grandparent_details`, `network_accesses`, `dns_requests`, written files);
//! - Event Streams `DetectionSummaryEvent` and `EppDetectionSummaryEvent` (`metadata` + `event`
//!   envelope; severity 1–5 or 0–100 with `SeverityName`, `MitreAttack`, `NetworkAccesses`,
//!   `DnsRequests`, `ExecutablesWritten`, `QuarantineFiles`).
//!
//! CrowdStrike's own tactic and technique names (`Machine Learning`, `CSTA0004`, `CST0007`) are not
//! ATT&CK and are kept only as the rule category. References: Falcon Alerts API (alert entity
//! fields), Event Streams event reference, and Elastic's published CrowdStrike field reference.

use crate::json::Json;
use picket_core::{
    AttackRef, EndpointRole, Entities, FileEntity, Process, Product, Rule, Severity, SourceFormat,
};

use super::fields::{
    add_domain, add_file, add_user_in, attack_tactic, basename, file_with_hash, hex_hash,
    join_path, push_attack, technique_id,
};
use super::{Doc, Normalized, SourceAdapter};
use crate::error::AdapterError;

pub struct CrowdStrike;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    AlertsApi,
    /// `DetectionSummaryEvent` (severity 1–5).
    Summary,
    /// `EppDetectionSummaryEvent` (severity 0–100).
    EppSummary,
}

fn shape(doc: &Json) -> Option<Shape> {
    let o = doc.as_object()?;
    if o.get("event").is_some_and(Json::is_object) {
        match Doc(doc).get("metadata.eventType").and_then(Json::as_str) {
            Some("DetectionSummaryEvent") => return Some(Shape::Summary),
            Some("EppDetectionSummaryEvent") => return Some(Shape::EppSummary),
            _ => {}
        }
    }
    (o.contains_key("composite_id")
        && (o.contains_key("agent_id") || o.contains_key("device") || o.contains_key("cid")))
    .then_some(Shape::AlertsApi)
}

impl SourceAdapter for CrowdStrike {
    fn format(&self) -> SourceFormat {
        SourceFormat::Crowdstrike
    }

    fn detect(&self, doc: &Json) -> bool {
        shape(doc).is_some()
    }

    fn normalize(&self, doc: &Json) -> Result<Normalized, AdapterError> {
        match shape(doc).ok_or(AdapterError::Missing("metadata.eventType"))? {
            Shape::AlertsApi => alerts_api(Doc(doc)),
            s => stream(Doc(doc), s == Shape::Summary),
        }
    }
}

fn product() -> Product {
    Product {
        vendor: "CrowdStrike".to_owned(),
        name: "Falcon".to_owned(),
    }
}

fn alerts_api(d: Doc<'_>) -> Result<Normalized, AdapterError> {
    let time = d
        .time(&["timestamp", "created_timestamp"])?
        .ok_or(AdapterError::Missing("timestamp"))?;
    let name = d
        .first_str(&["display_name", "name"])
        .unwrap_or_else(|| "CrowdStrike Falcon alert".to_owned());
    let (severity, vendor_severity) = severity(&d, "severity_name", "severity", false)?;

    let mut e = Entities::default();
    let host_ip = d.str("device.local_ip").and_then(|s| s.parse().ok());
    e.add_host(
        d.str("device.hostname").as_deref(),
        host_ip,
        d.first_str(&["device.device_id", "agent_id"]).as_deref(),
    );
    match d.str("user_name") {
        Some(u) => add_user_in(&mut e, d.str("logon_domain").as_deref(), Some(&u)),
        None => {
            if let Some(upn) = d.str("user_principal") {
                e.add_user(&upn);
            }
        }
    }

    // The triggering process's image, then the process and its lineage.
    add_file(
        &mut e,
        FileEntity {
            name: d.str("filename"),
            path: d.str("filepath"),
            md5: d.str("md5").and_then(|h| hex_hash(&h, "md5")),
            sha1: d.str("sha1").and_then(|h| hex_hash(&h, "sha1")),
            sha256: d.str("sha256").and_then(|h| hex_hash(&h, "sha256")),
        },
    );
    let parent = d.str("parent_details.filename");
    push_process(&mut e, &d, "", parent.clone());
    push_process(
        &mut e,
        &d,
        "parent_details.",
        d.str("grandparent_details.filename"),
    );
    push_process(&mut e, &d, "grandparent_details.", None);
    for f in d.array("ioc_context") {
        let fd = Doc(f);
        add_known_file(
            &mut e,
            FileEntity {
                name: None,
                path: fd
                    .str("ioc_description")
                    .filter(|p| p.contains(['\\', '/'])),
                md5: fd.str("md5").and_then(|h| hex_hash(&h, "md5")),
                sha1: None,
                sha256: fd.str("sha256").and_then(|h| hex_hash(&h, "sha256")),
            },
        );
    }
    for list in ["associated_files", "quarantined_files", "file_writes"] {
        for f in d.array(list) {
            let fd = Doc(f);
            let path = fd.first_str(&["filepath", "filename", "name"]);
            add_known_file(
                &mut e,
                FileEntity {
                    name: path.as_deref().and_then(basename),
                    path,
                    md5: fd.str("md5").and_then(|h| hex_hash(&h, "md5")),
                    sha1: None,
                    sha256: fd.str("sha256").and_then(|h| hex_hash(&h, "sha256")),
                },
            );
        }
    }
    for list in ["executables_written", "files_written"] {
        for f in d.array(list) {
            let fd = Doc(f);
            let name = fd.str("filename");
            add_file(
                &mut e,
                FileEntity {
                    path: join_path(fd.str("filepath").as_deref(), name.as_deref()),
                    name,
                    ..FileEntity::default()
                },
            );
        }
    }
    network(&mut e, d.array("network_accesses"), false);
    for r in d.array("dns_requests") {
        if let Some(dom) = Doc(r).str("domain_name") {
            add_domain(&mut e, &dom);
        }
    }
    ioc(&mut e, d.str("ioc_type"), d.str("ioc_value"));

    let mut attack = Vec::new();
    for m in d.array("mitre_attack") {
        let md = Doc(m);
        push_attack(
            &mut attack,
            attack_ref(
                md.str("technique_id"),
                md.str("tactic_id"),
                md.str("tactic"),
            ),
        );
    }
    push_attack(
        &mut attack,
        attack_ref(d.str("technique_id"), d.str("tactic_id"), d.str("tactic")),
    );

    Ok(Normalized {
        source_event_id: d.first_str(&["composite_id", "id"]),
        time: Some(time),
        product: product(),
        rule: Rule {
            id: d.str("pattern_id"),
            name: name.clone(),
            category: d.str("tactic"),
        },
        severity,
        vendor_severity,
        message: d.str("description").unwrap_or(name),
        entities: e,
        attack,
    })
}

fn stream(d: Doc<'_>, one_to_five: bool) -> Result<Normalized, AdapterError> {
    let time = d
        .time(&["metadata.eventCreationTime", "event.Timestamp"])?
        .ok_or(AdapterError::Missing("metadata.eventCreationTime"))?;
    let ev = match d.get("event") {
        Some(v) => Doc(v),
        None => return Err(AdapterError::Missing("event")),
    };
    let name = ev
        .first_str(&["Name", "DetectName", "DisplayName"])
        .unwrap_or_else(|| "CrowdStrike Falcon detection".to_owned());
    let (severity, vendor_severity) = severity(&ev, "SeverityName", "Severity", one_to_five)
        .map_err(|err| rename(err, "event."))?;

    let mut e = Entities::default();
    e.add_host(
        ev.first_str(&["Hostname", "ComputerName"]).as_deref(),
        ev.str("LocalIP").and_then(|s| s.parse().ok()),
        ev.first_str(&["AgentId", "SensorId"]).as_deref(),
    );
    add_user_in(
        &mut e,
        ev.str("LogonDomain").as_deref(),
        ev.str("UserName").as_deref(),
    );
    if ev.str("UserName").is_none()
        && let Some(upn) = ev.str("UserPrincipal")
    {
        e.add_user(&upn);
    }

    let file_name = ev.str("FileName");
    let image = join_path(ev.str("FilePath").as_deref(), file_name.as_deref());
    let parent = ev.str("ParentImageFileName");
    let grandparent = ev.first_str(&[
        "GrandparentImageFileName",
        "GrandParentImageFilename",
        "GrandParentImageFileName",
    ]);
    if file_name.is_some() || ev.str("CommandLine").is_some() {
        e.processes.push(Process {
            name: file_name.clone(),
            pid: ev.u64("LocalProcessId"),
            path: image.clone(),
            command_line: ev.str("CommandLine"),
            parent_name: parent.clone(),
        });
    }
    let parent_cmd = ev.str("ParentCommandLine");
    if parent.is_some() || parent_cmd.is_some() {
        e.processes.push(Process {
            name: parent,
            pid: None,
            path: None,
            command_line: parent_cmd,
            parent_name: grandparent.clone(),
        });
    }
    let gp_cmd = ev.first_str(&["GrandparentCommandLine", "GrandParentCommandLine"]);
    if grandparent.is_some() || gp_cmd.is_some() {
        e.processes.push(Process {
            name: grandparent,
            pid: None,
            path: None,
            command_line: gp_cmd,
            parent_name: None,
        });
    }
    add_file(
        &mut e,
        FileEntity {
            name: file_name,
            path: image,
            md5: ev.str("MD5String").and_then(|h| hex_hash(&h, "md5")),
            sha1: ev.str("SHA1String").and_then(|h| hex_hash(&h, "sha1")),
            sha256: ev.str("SHA256String").and_then(|h| hex_hash(&h, "sha256")),
        },
    );
    if let Some(p) = ev.str("AssociatedFile") {
        add_file(
            &mut e,
            FileEntity {
                name: None,
                path: Some(p),
                ..FileEntity::default()
            },
        );
    }
    for list in ["ExecutablesWritten", "FilesWritten"] {
        for f in ev.array(list) {
            let fd = Doc(f);
            let name = fd.str("FileName");
            add_file(
                &mut e,
                FileEntity {
                    path: join_path(fd.str("FilePath").as_deref(), name.as_deref()),
                    name,
                    ..FileEntity::default()
                },
            );
        }
    }
    for f in ev.array("QuarantineFiles") {
        let fd = Doc(f);
        let path = fd.first_str(&["ImageFileName", "FileName"]);
        add_known_file(
            &mut e,
            FileEntity {
                name: path.as_deref().and_then(basename),
                path,
                sha256: fd
                    .str("SHA256HashData")
                    .and_then(|h| hex_hash(&h, "sha256")),
                ..FileEntity::default()
            },
        );
    }
    network(&mut e, ev.array("NetworkAccesses"), true);
    for r in ev.array("DnsRequests") {
        if let Some(dom) = Doc(r).str("DomainName") {
            add_domain(&mut e, &dom);
        }
    }
    ioc(&mut e, ev.str("IOCType"), ev.str("IOCValue"));

    let mut attack = Vec::new();
    for m in ev.array("MitreAttack") {
        let md = Doc(m);
        push_attack(
            &mut attack,
            attack_ref(
                md.first_str(&["TechniqueID", "TechniqueId"]),
                md.first_str(&["TacticID", "TacticId"]),
                md.str("Tactic"),
            ),
        );
    }
    push_attack(
        &mut attack,
        attack_ref(
            ev.first_str(&["TechniqueId", "TechniqueID"]),
            ev.first_str(&["TacticId", "TacticID"]),
            ev.str("Tactic"),
        ),
    );

    Ok(Normalized {
        source_event_id: ev.first_str(&["CompositeId", "DetectId"]),
        time: Some(time),
        product: product(),
        rule: Rule {
            id: ev.first_str(&["PatternId", "PatternID"]),
            name: name.clone(),
            category: ev.str("Tactic"),
        },
        severity,
        vendor_severity,
        message: ev
            .first_str(&["Description", "DetectDescription"])
            .unwrap_or(name),
        entities: e,
        attack,
    })
}

/// A process from the Alerts API (`{prefix}filename`, `filepath`, `cmdline`, `local_process_id`)
/// and its image file's hashes.
fn push_process(e: &mut Entities, d: &Doc<'_>, prefix: &str, parent: Option<String>) {
    let f = |s: &str| format!("{prefix}{s}");
    let name = d.str(&f("filename"));
    let cmd = d.str(&f("cmdline"));
    if name.is_none() && cmd.is_none() {
        return;
    }
    e.processes.push(Process {
        name,
        pid: d.u64(&f("local_process_id")),
        path: d.str(&f("filepath")),
        command_line: cmd,
        parent_name: parent,
    });
    // An ancestor's image is a file entity only when the alert gives its hashes.
    let md5 = d.str(&f("md5")).and_then(|h| hex_hash(&h, "md5"));
    let sha256 = d.str(&f("sha256")).and_then(|h| hex_hash(&h, "sha256"));
    if !prefix.is_empty() && (md5.is_some() || sha256.is_some()) {
        add_known_file(
            e,
            FileEntity {
                name: d.str(&f("filename")),
                path: d.str(&f("filepath")),
                md5,
                sha1: None,
                sha256,
            },
        );
    }
}

/// Adds a file, unless a file with the same SHA-256 is listed already: the same content named again
/// (indicator context, quarantine copy, associated file) only fills in that file's missing hashes.
fn add_known_file(e: &mut Entities, f: FileEntity) {
    if let Some(sha) = f.sha256.as_deref()
        && let Some(known) = e
            .files
            .iter_mut()
            .find(|k| k.sha256.as_deref() == Some(sha))
    {
        known.md5 = known.md5.take().or(f.md5);
        known.sha1 = known.sha1.take().or(f.sha1);
        return;
    }
    add_file(e, f);
}

/// Network accesses: local and remote address with the connection direction (`Outbound` /
/// `Inbound`, or 0 = outbound, 1 = inbound in Event Streams).
fn network(e: &mut Entities, items: &[Json], stream: bool) {
    for a in items {
        let ad = Doc(a);
        let key = |api: &str, st: &str| {
            if stream {
                st.to_owned()
            } else {
                api.to_owned()
            }
        };
        let dir = ad
            .str(&key("connection_direction", "ConnectionDirection"))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let (local_role, remote_role) = match dir.as_str() {
            "outbound" | "0" => (EndpointRole::Source, EndpointRole::Destination),
            "inbound" | "1" => (EndpointRole::Destination, EndpointRole::Source),
            _ => (EndpointRole::Other, EndpointRole::Other),
        };
        let port = |k: &str| ad.u64(k).and_then(|p| u16::try_from(p).ok());
        if let Some(ip) = ad.str(&key("local_address", "LocalAddress")) {
            e.add_endpoint(&ip, port(&key("local_port", "LocalPort")), local_role);
        }
        if let Some(ip) = ad.str(&key("remote_address", "RemoteAddress")) {
            e.add_endpoint(&ip, port(&key("remote_port", "RemotePort")), remote_role);
        }
    }
}

/// The detection's indicator (`hash_sha256`, `hash_md5`, `domain`, `ipv4`, `ipv6`, `url`...), added
/// unless the entities already hold it.
fn ioc(e: &mut Entities, kind: Option<String>, value: Option<String>) {
    let (Some(kind), Some(value)) = (kind, value) else {
        return;
    };
    match kind.to_ascii_lowercase().as_str() {
        "hash_sha256" | "hash_md5" | "hash_sha1" => {
            let v = value.to_ascii_lowercase();
            let known = e.files.iter().any(|f| {
                [&f.md5, &f.sha1, &f.sha256]
                    .into_iter()
                    .any(|h| h.as_deref() == Some(v.as_str()))
            });
            if !known && v.bytes().any(|b| b != b'0') {
                add_file(e, file_with_hash(None, None, Some(&v)));
            }
        }
        "domain" => add_domain(e, &value),
        "ipv4" | "ipv6" => {
            e.add_endpoint(&value, None, EndpointRole::Other);
        }
        "url" => super::fields::add_url(e, &value),
        _ => {}
    }
}

/// An ATT&CK reference from technique id, tactic id and tactic name; CrowdStrike-only values drop.
fn attack_ref(
    technique: Option<String>,
    tactic_id: Option<String>,
    tactic: Option<String>,
) -> AttackRef {
    AttackRef {
        name: None,
        technique: technique.and_then(|t| technique_id(&t)),
        tactic: tactic_id
            .and_then(|t| attack_tactic(&t))
            .or_else(|| tactic.and_then(|t| attack_tactic(&t))),
    }
}

/// Severity from the name when given (`Informational`…`Critical`), else from the number: 1–5 in
/// `DetectionSummaryEvent`, 0–100 elsewhere (CrowdStrike's bands of 20).
fn severity(
    d: &Doc<'_>,
    name_field: &str,
    number_field: &str,
    one_to_five: bool,
) -> Result<(Severity, Option<String>), AdapterError> {
    if let Some(n) = d.str(name_field) {
        return match Severity::from_word(&n) {
            Some(s) => Ok((s, Some(n))),
            None => Err(AdapterError::invalid(
                name_field,
                "expected Informational, Low, Medium, High or Critical",
            )),
        };
    }
    let Some(raw) = d.str(number_field) else {
        return Ok((Severity::Unknown, None));
    };
    let n = d
        .u64(number_field)
        .ok_or_else(|| AdapterError::invalid(number_field, "expected a number"))?;
    let sev = if one_to_five {
        match n {
            0 => Severity::Unknown,
            1 => Severity::Informational,
            2 => Severity::Low,
            3 => Severity::Medium,
            4 => Severity::High,
            5 => Severity::Critical,
            _ => return Err(AdapterError::invalid(number_field, "expected 1-5")),
        }
    } else {
        match n {
            0..=19 => Severity::Informational,
            20..=39 => Severity::Low,
            40..=59 => Severity::Medium,
            60..=79 => Severity::High,
            80..=100 => Severity::Critical,
            _ => return Err(AdapterError::invalid(number_field, "expected 0-100")),
        }
    };
    Ok((sev, Some(raw)))
}

fn rename(err: AdapterError, prefix: &str) -> AdapterError {
    match err {
        AdapterError::Invalid { field, reason } => AdapterError::Invalid {
            field: format!("{prefix}{field}"),
            reason,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::TestExt;
    use serde_json::Value;
    use serde_json::json;

    fn api() -> Value {
        json!({"composite_id": "cid:ind:aid:1-2-3", "agent_id": "aid", "timestamp": "2024-05-01T10:00:00Z",
            "display_name": "Credential dumping", "description": "LSASS read", "severity": 90,
            "tactic": "Credential Access", "tactic_id": "TA0006", "technique": "OS Credential Dumping", "technique_id": "T1003",
            "mitre_attack": [{"tactic_id": "TA0006", "technique_id": "T1003.001", "tactic": "Credential Access"}],
            "device": {"hostname": "WS1", "local_ip": "10.0.0.5", "device_id": "dev"},
            "user_name": "bob", "logon_domain": "CORP", "filename": "mimi.exe", "filepath": "C:\\t\\mimi.exe",
            "cmdline": "mimi.exe sekurlsa", "local_process_id": "77",
            "sha256": "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
            "sha1": "0000000000000000000000000000000000000000",
            "parent_details": {"filename": "cmd.exe", "cmdline": "cmd", "local_process_id": "5"},
            "network_accesses": [{"connection_direction": "Inbound", "local_address": "10.0.0.5", "local_port": "445",
                "remote_address": "203.0.113.9", "remote_port": "50000"}],
            "dns_requests": [{"domain_name": "Evil.Example.com"}],
            "quarantined_files": [{"filename": "\\Device\\HarddiskVolume1\\t\\mimi.exe",
                "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}],
            "ioc_context": [{"ioc_description": "C:\\t\\mimi.exe", "md5": "D41D8CD98F00B204E9800998ECF8427E",
                "sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}]})
    }

    #[test]
    fn maps_alerts_api_entity() {
        let n = CrowdStrike.normalize_value(&api()).unwrap();
        assert_eq!(n.source_event_id.as_deref(), Some("cid:ind:aid:1-2-3"));
        assert_eq!(n.severity, Severity::Critical);
        assert_eq!(n.vendor_severity.as_deref(), Some("90"));
        assert_eq!(n.message, "LSASS read");
        assert_eq!(n.entities.hosts[0].hostname.as_deref(), Some("ws1"));
        assert_eq!(n.entities.users[0].domain.as_deref(), Some("CORP"));
        assert_eq!(n.entities.processes[0].pid, Some(77));
        assert_eq!(
            n.entities.processes[0].parent_name.as_deref(),
            Some("cmd.exe")
        );
        assert_eq!(n.entities.files[0].sha1, None);
        assert_eq!(n.entities.files[0].name.as_deref(), Some("mimi.exe"));
        assert_eq!(
            n.entities.files.len(),
            1,
            "same content merged: {:?}",
            n.entities.files
        );
        assert_eq!(
            n.entities.files[0].md5.as_deref(),
            Some("d41d8cd98f00b204e9800998ecf8427e")
        );
        let remote = n
            .entities
            .endpoints
            .iter()
            .find(|p| p.port == Some(50000))
            .unwrap();
        assert_eq!(remote.role, EndpointRole::Source);
        assert_eq!(n.entities.domains, ["evil.example.com"]);
        assert_eq!(n.attack.len(), 2);
        assert_eq!(n.attack[0].technique.as_deref(), Some("T1003.001"));
        assert_eq!(n.attack[1].tactic.as_deref(), Some("TA0006"));
    }

    #[test]
    fn stream_severity_scales_and_crowdstrike_tactics() {
        let doc = json!({"metadata": {"eventType": "DetectionSummaryEvent", "eventCreationTime": 1714557600000_i64},
            "event": {"DetectId": "ldt:1", "DetectName": "NGAV", "Severity": 4, "Tactic": "Machine Learning",
                "Technique": "Sensor-based ML", "ComputerName": "H", "IOCType": "domain", "IOCValue": "bad.example.net"}});
        let n = CrowdStrike.normalize_value(&doc).unwrap();
        assert_eq!(n.severity, Severity::High);
        assert_eq!(n.vendor_severity.as_deref(), Some("4"));
        assert!(n.attack.is_empty());
        assert_eq!(n.rule.category.as_deref(), Some("Machine Learning"));
        assert_eq!(n.entities.domains, ["bad.example.net"]);
        let mut epp = doc.clone();
        epp["metadata"]["eventType"] = json!("EppDetectionSummaryEvent");
        epp["event"]["Severity"] = json!(30);
        assert_eq!(
            CrowdStrike.normalize_value(&epp).unwrap().severity,
            Severity::Low
        );
        epp["event"]["Severity"] = json!(300);
        assert!(
            CrowdStrike
                .normalize_value(&epp)
                .unwrap_err()
                .to_string()
                .contains("event.Severity")
        );
    }

    #[test]
    fn bad_time_names_the_field() {
        let mut doc = api();
        doc["timestamp"] = json!("tomorrow");
        assert!(
            CrowdStrike
                .normalize_value(&doc)
                .unwrap_err()
                .to_string()
                .contains("`timestamp`")
        );
        let doc = json!({"metadata": {"eventType": "EppDetectionSummaryEvent", "eventCreationTime": "x"}, "event": {}});
        assert!(
            CrowdStrike
                .normalize_value(&doc)
                .unwrap_err()
                .to_string()
                .contains("metadata.eventCreationTime")
        );
        let doc = json!({"metadata": {"eventType": "EppDetectionSummaryEvent"}, "event": {}});
        assert!(
            CrowdStrike
                .normalize_value(&doc)
                .unwrap_err()
                .to_string()
                .contains("metadata.eventCreationTime")
        );
    }

    #[test]
    fn detect_is_specific() {
        assert!(CrowdStrike.detect_value(&api()));
        assert!(!CrowdStrike.detect_value(
            &json!({"metadata": {"eventType": "AuthActivityAuditEvent"}, "event": {}})
        ));
        assert!(
            !CrowdStrike.detect_value(&json!({"metadata": {"eventType": "DetectionSummaryEvent"}}))
        );
        assert!(!CrowdStrike.detect_value(&json!({"composite_id": "x"})));
    }
}
