//! Amazon GuardDuty findings: the finding object as `GetFindings` returns it (and as exported to S3),
//! or wrapped in the EventBridge event (`detail-type: "GuardDuty Finding"`, finding in `detail`).
//! GuardDuty findings that reached Security Hub (ASFF) or OCSF belong to those adapters.
//! Reference: GuardDuty API Reference, `Finding`, `Resource`, `Service`, `Action`, `Sequence`;
//! GuardDuty user guide, "Severity levels of GuardDuty findings".

use crate::json::Json;
use picket_core::{AttackRef, EndpointRole, Entities, Product, Rule, Severity, SourceFormat};

use super::fields::{self, add_domain, add_file, file_with_hash, port_at, push_attack};
use super::{Doc, Normalized, SourceAdapter};
use crate::error::AdapterError;

pub struct GuardDuty;

/// The finding: `detail` of an EventBridge event, or the document itself.
fn finding<'a>(doc: &'a Json<'a>) -> Option<&'a Json<'a>> {
    let d = Doc(doc);
    let envelope = d.str("detail-type").as_deref() == Some("GuardDuty Finding")
        || d.str("source").as_deref() == Some("aws.guardduty");
    if envelope {
        return d.get("detail").filter(|v| v.is_object());
    }
    is_finding(doc).then_some(doc)
}

fn is_finding(v: &Json) -> bool {
    let d = Doc(v);
    let service = d.str("service.serviceName").as_deref() == Some("guardduty");
    let arn = d.str("arn").is_some_and(|a| {
        a.starts_with("arn:aws") && a.contains(":guardduty:") && a.contains("/finding/")
    });
    (service || arn) && d.get("type").is_some_and(Json::is_string) && d.has("severity")
}

impl SourceAdapter for GuardDuty {
    fn format(&self) -> SourceFormat {
        SourceFormat::Guardduty
    }

    fn detect(&self, doc: &Json) -> bool {
        finding(doc).is_some()
    }

    fn normalize(&self, doc: &Json) -> Result<Normalized, AdapterError> {
        let f = finding(doc).ok_or(AdapterError::Missing("detail"))?;
        let prefix = if std::ptr::eq(f, doc) { "" } else { "detail." };
        let d = Doc(f);
        let name = |p: &str| format!("{prefix}{p}");

        // `createdAt` is when GuardDuty made the finding (the detection); the activity window is
        // `service.eventFirstSeen` .. `eventLastSeen`.
        let time = match d
            .time(&["createdAt", "service.eventFirstSeen", "updatedAt"])
            .map_err(|e| prefixed(e, prefix))?
        {
            Some(t) => t,
            None => Doc(doc)
                .time(&["time"])?
                .ok_or(AdapterError::Missing("createdAt"))?,
        };

        let (severity, vendor_severity) = match d.get("severity") {
            None | Some(Json::Null) => (Severity::Unknown, None),
            Some(v) => {
                let text = super::as_text(v);
                let score = match v {
                    Json::Number(n) => n.as_f64(),
                    Json::String(s) => s.trim().parse::<f64>().ok(),
                    _ => None,
                };
                let sev = match (score, text.as_deref()) {
                    (Some(x), _) if x.is_finite() && x >= 0.0 => score_to_severity(x),
                    (None, Some(word)) if Severity::from_word(word).is_some() => {
                        Severity::from_word(word).unwrap_or_default()
                    }
                    _ => {
                        return Err(AdapterError::invalid(
                            name("severity"),
                            "expected a number from 1.0 to 10.0",
                        ));
                    }
                };
                (sev, text)
            }
        };

        let finding_type = d.str("type");
        let title = d.first_str(&["title", "description"]);
        let message = title
            .clone()
            .or_else(|| finding_type.clone())
            .unwrap_or_else(|| "GuardDuty finding".to_owned());

        let mut entities = Entities::default();
        resource_entities(&d, &mut entities);
        action_entities(&d, &mut entities);
        runtime_entities(&d, &mut entities);

        // ATT&CK: the finding type's threat purpose when it is a tactic name
        // (`CredentialAccess:IAMUser/...`), and attack-sequence indicators (`ATTACK_TACTIC`,
        // `ATTACK_TECHNIQUE`).
        let mut attack: Vec<AttackRef> = Vec::new();
        if let Some(t) = finding_type.as_deref().and_then(purpose_tactic) {
            push_attack(
                &mut attack,
                AttackRef {
                    name: None,
                    technique: None,
                    tactic: Some(t.to_owned()),
                },
            );
        }
        let mut techniques = Vec::new();
        let mut tactics = Vec::new();
        for ind in d.array("service.detection.sequence.sequenceIndicators") {
            let ind = Doc(ind);
            match ind.str("key").as_deref() {
                Some("ATTACK_TECHNIQUE") => techniques.extend(ind.strs("values")),
                Some("ATTACK_TACTIC") => tactics.extend(ind.strs("values")),
                Some("MALICIOUS_DOMAIN" | "CRYPTOMINING_DOMAIN") => {
                    for v in ind.strs("values") {
                        add_domain(&mut entities, &v);
                    }
                }
                Some("MALICIOUS_IP" | "TOR_IP" | "CRYPTOMINING_IP") => {
                    for v in ind.strs("values") {
                        entities.add_endpoint(&v, None, EndpointRole::Other);
                    }
                }
                _ => {}
            }
        }
        for r in fields::attack_refs(&techniques, &tactics) {
            push_attack(&mut attack, r);
        }

        Ok(Normalized {
            source_event_id: d.first_str(&["id", "arn"]),
            time: Some(time),
            product: Product {
                vendor: "AWS".to_owned(),
                name: "GuardDuty".to_owned(),
            },
            rule: Rule {
                id: finding_type.clone(),
                name: finding_type.clone().unwrap_or_else(|| message.clone()),
                category: finding_type
                    .as_deref()
                    .and_then(|t| t.split_once(':'))
                    .map(|(purpose, _)| purpose.to_owned()),
            },
            severity,
            vendor_severity,
            message,
            entities,
            attack,
        })
    }
}

fn prefixed(e: AdapterError, prefix: &str) -> AdapterError {
    match e {
        AdapterError::Time { field, source } => AdapterError::Time {
            field: format!("{prefix}{field}"),
            source,
        },
        other => other,
    }
}

/// GuardDuty severity values: 1.0–3.9 low, 4.0–6.9 medium, 7.0–8.9 high, 9.0–10.0 critical (attack
/// sequences). 0 is reserved.
fn score_to_severity(x: f64) -> Severity {
    if x <= 0.0 {
        Severity::Unknown
    } else if x < 4.0 {
        Severity::Low
    } else if x < 7.0 {
        Severity::Medium
    } else if x < 9.0 {
        Severity::High
    } else {
        Severity::Critical
    }
}

/// The threat purpose of a finding type (`PrivilegeEscalation:IAMUser/...`) as an ATT&CK tactic short
/// name, for the purposes named after tactics, and `Stealth`, which AWS itself files under
/// "TTPs/Defense Evasion" when it sends GuardDuty findings to Security Hub. Others (Backdoor, Recon,
/// Trojan, UnauthorizedAccess, ...) name none.
fn purpose_tactic(finding_type: &str) -> Option<&'static str> {
    let (purpose, _) = finding_type.split_once(':')?;
    Some(match purpose {
        "InitialAccess" => "initial-access",
        "Execution" => "execution",
        "Persistence" => "persistence",
        "PrivilegeEscalation" => "privilege-escalation",
        "DefenseEvasion" | "Stealth" => "defense-evasion",
        "CredentialAccess" => "credential-access",
        "Discovery" => "discovery",
        "Exfiltration" => "exfiltration",
        "Impact" => "impact",
        _ => return None,
    })
}

/// `resource`: the instance (id, private/public addresses, DNS name), IAM access key user, EKS / RDS
/// users, ECS/EKS/Lambda are not hosts and are left out.
fn resource_entities(d: &Doc<'_>, e: &mut Entities) {
    if d.has("resource.instanceDetails") {
        let id = d.str("resource.instanceDetails.instanceId");
        let nics = d.array("resource.instanceDetails.networkInterfaces");
        let mut added = false;
        for nic in nics {
            let n = Doc(nic);
            let ip = n
                .first_str(&["privateIpAddress", "publicIp"])
                .and_then(|s| s.parse().ok());
            let hostname = n.first_str(&["privateDnsName", "publicDnsName"]);
            e.add_host(hostname.as_deref(), ip, id.as_deref());
            added = true;
        }
        if !added {
            e.add_host(None, None, id.as_deref());
        }
    }
    for p in [
        "resource.accessKeyDetails.userName",
        "resource.kubernetesDetails.kubernetesUserDetails.username",
        "resource.rdsDbUserDetails.user",
        "resource.rdsLimitlessDbDetails.dbUserDetails.user",
    ] {
        if let Some(u) = d.str(p) {
            e.add_user(&u);
        }
    }
}

/// `service.action`: network connection (direction decides the roles), API call caller, DNS request,
/// port probes, Kubernetes API and RDS login callers.
fn action_entities(d: &Doc<'_>, e: &mut Entities) {
    let a = "service.action";
    if d.has("service.action.networkConnectionAction") {
        let n = format!("{a}.networkConnectionAction");
        let (local_role, remote_role) = match d.str(&format!("{n}.connectionDirection")).as_deref()
        {
            Some("OUTBOUND") => (EndpointRole::Source, EndpointRole::Destination),
            Some("INBOUND") => (EndpointRole::Destination, EndpointRole::Source),
            _ => (EndpointRole::Other, EndpointRole::Other),
        };
        add_ip(
            d,
            e,
            &format!("{n}.localIpDetails"),
            port_at(d, &format!("{n}.localPortDetails.port")),
            local_role,
        );
        add_ip(
            d,
            e,
            &format!("{n}.remoteIpDetails"),
            port_at(d, &format!("{n}.remotePortDetails.port")),
            remote_role,
        );
    }
    for caller in [
        "awsApiCallAction",
        "kubernetesApiCallAction",
        "rdsLoginAttemptAction",
    ] {
        add_ip(
            d,
            e,
            &format!("{a}.{caller}.remoteIpDetails"),
            None,
            EndpointRole::Source,
        );
    }
    for p in [
        "service.action.awsApiCallAction.domainDetails.domain",
        "service.action.dnsRequestAction.domain",
    ] {
        if let Some(dom) = d.str(p) {
            add_domain(e, &dom);
        }
    }
    for probe in d.array("service.action.portProbeAction.portProbeDetails") {
        let p = Doc(probe);
        add_ip(&p, e, "remoteIpDetails", None, EndpointRole::Source);
        add_ip(
            &p,
            e,
            "localIpDetails",
            port_at(&p, "localPortDetails.port"),
            EndpointRole::Destination,
        );
    }
}

fn add_ip(d: &Doc<'_>, e: &mut Entities, obj: &str, port: Option<u16>, role: EndpointRole) {
    if let Some(ip) = d.first_str(&[&format!("{obj}.ipAddressV4"), &format!("{obj}.ipAddressV6")]) {
        e.add_endpoint(&ip, port, role);
    }
}

/// Runtime Monitoring process (`service.runtimeDetails.process`), and malware scan detections with
/// file paths and SHA-256 hashes (`service.ebsVolumeScanDetails`, `service.malwareScanDetails`).
fn runtime_entities(d: &Doc<'_>, e: &mut Entities) {
    for p in [
        "service.runtimeDetails.process",
        "service.runtimeDetails.context.targetProcess",
    ] {
        let Some(proc_v) = d.get(p).filter(|v| v.is_object()) else {
            continue;
        };
        let pd = Doc(proc_v);
        let path = pd.str("executablePath");
        let process = picket_core::Process {
            name: pd
                .str("name")
                .or_else(|| path.as_deref().and_then(fields::basename)),
            pid: pd.u64("pid"),
            path: path.clone(),
            command_line: None,
            parent_name: None,
        };
        if process != picket_core::Process::default() && !e.processes.contains(&process) {
            e.processes.push(process);
        }
        add_file(
            e,
            file_with_hash(None, path, pd.str("executableSha256").as_deref()),
        );
        if let Some(u) = pd.str("user") {
            e.add_user(&u);
        }
    }
    for threat in d
        .array("service.ebsVolumeScanDetails.scanDetections.threatDetectedByName.threatNames")
        .iter()
        .chain(d.array("service.malwareScanDetails.threats"))
    {
        for fp in Doc(threat).array("filePaths") {
            let f = Doc(fp);
            add_file(
                e,
                file_with_hash(
                    f.str("fileName"),
                    f.str("filePath"),
                    f.str("hash").as_deref(),
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::TestExt;
    use serde_json::Value;
    use serde_json::json;

    fn finding() -> Value {
        json!({
            "schemaVersion": "2.0", "accountId": "111122223333", "region": "us-east-1",
            "id": "abc123", "arn": "arn:aws:guardduty:us-east-1:111122223333:detector/d1/finding/abc123",
            "type": "CredentialAccess:IAMUser/AnomalousBehavior", "severity": 5.5,
            "createdAt": "2024-05-01T10:00:00.000Z", "updatedAt": "2024-05-01T11:00:00.000Z",
            "title": "Anomalous API", "description": "d",
            "resource": {"resourceType": "AccessKey", "accessKeyDetails": {"userName": "alice"}},
            "service": {"serviceName": "guardduty", "action": {"actionType": "NETWORK_CONNECTION", "networkConnectionAction": {
                "connectionDirection": "INBOUND", "localIpDetails": {"ipAddressV4": "10.0.0.1"}, "localPortDetails": {"port": 22},
                "remoteIpDetails": {"ipAddressV4": "198.51.100.7"}, "remotePortDetails": {"port": 40000}}}}
        })
    }

    #[test]
    fn maps_raw_finding() {
        let n = GuardDuty.normalize_value(&finding()).unwrap();
        assert_eq!(n.severity, Severity::Medium);
        assert_eq!(n.vendor_severity.as_deref(), Some("5.5"));
        assert_eq!(n.source_event_id.as_deref(), Some("abc123"));
        assert_eq!(n.entities.users[0].name, "alice");
        let src = n
            .entities
            .endpoints
            .iter()
            .find(|e| e.role == EndpointRole::Source)
            .unwrap();
        assert_eq!(src.ip.to_string(), "198.51.100.7");
        assert_eq!(n.attack[0].tactic.as_deref(), Some("credential-access"));
        assert_eq!(n.rule.category.as_deref(), Some("CredentialAccess"));
    }

    #[test]
    fn reads_the_eventbridge_envelope() {
        let doc = json!({"version": "0", "id": "evt", "detail-type": "GuardDuty Finding", "source": "aws.guardduty",
            "time": "2024-05-01T11:00:05Z", "detail": finding()});
        assert!(GuardDuty.detect_value(&doc));
        let n = GuardDuty.normalize_value(&doc).unwrap();
        assert_eq!(n.source_event_id.as_deref(), Some("abc123"));
        let mut bad = doc.clone();
        bad["detail"]["createdAt"] = json!("soon");
        let e = GuardDuty.normalize_value(&bad).unwrap_err();
        assert!(e.to_string().contains("detail.createdAt"), "{e}");
        let mut bad = doc;
        bad["detail"]["severity"] = json!({"x": 1});
        let e = GuardDuty.normalize_value(&bad).unwrap_err();
        assert!(e.to_string().contains("detail.severity"), "{e}");
    }

    #[test]
    fn severity_ranges() {
        assert_eq!(score_to_severity(1.0), Severity::Low);
        assert_eq!(score_to_severity(3.9), Severity::Low);
        assert_eq!(score_to_severity(4.0), Severity::Medium);
        assert_eq!(score_to_severity(6.9), Severity::Medium);
        assert_eq!(score_to_severity(7.0), Severity::High);
        assert_eq!(score_to_severity(8.9), Severity::High);
        assert_eq!(score_to_severity(9.0), Severity::Critical);
        assert_eq!(score_to_severity(0.0), Severity::Unknown);
    }

    #[test]
    fn does_not_claim_asff_or_other_shapes() {
        assert!(!GuardDuty.detect_value(&json!({"ProductArn": "arn:aws:securityhub:us-east-2::product/aws/guardduty", "Id": "x", "Types": []})));
        assert!(
            !GuardDuty.detect_value(&json!({"detail-type": "GuardDuty Finding", "detail": "x"}))
        );
        assert!(!GuardDuty.detect_value(&json!({"type": "x", "severity": 1})));
        assert!(!GuardDuty.detect_value(&json!(null)));
    }

    #[test]
    fn attack_sequence_indicators_and_runtime_process() {
        let mut doc = finding();
        doc["type"] = json!("AttackSequence:S3/CompromisedData");
        doc["severity"] = json!(9);
        doc["service"]["detection"] = json!({"sequence": {"sequenceIndicators": [
            {"key": "ATTACK_TACTIC", "values": ["Exfiltration", "Impact"]},
            {"key": "ATTACK_TECHNIQUE", "values": ["T1530 - Data from Cloud Storage", "not a technique"]},
            {"key": "TOR_IP", "values": ["203.0.113.5"]},
            {"key": "MALICIOUS_DOMAIN", "values": ["Bad.Example.org"]}]}});
        doc["service"]["runtimeDetails"] = json!({"process": {"name": "xmrig", "executablePath": "/tmp/xmrig", "pid": 42,
            "executableSha256": "BB".repeat(32)}});
        let n = GuardDuty.normalize_value(&doc).unwrap();
        assert_eq!(n.severity, Severity::Critical);
        assert!(
            n.attack
                .iter()
                .any(|a| a.technique.as_deref() == Some("T1530"))
        );
        assert!(
            n.attack
                .iter()
                .any(|a| a.tactic.as_deref() == Some("exfiltration"))
        );
        assert_eq!(n.entities.domains, ["bad.example.org"]);
        assert_eq!(n.entities.processes[0].pid, Some(42));
        assert_eq!(
            n.entities.files[0].sha256.as_deref(),
            Some(&*"bb".repeat(32))
        );
    }

    #[test]
    fn missing_times_name_the_field() {
        let mut doc = finding();
        for k in ["createdAt", "updatedAt"] {
            doc.as_object_mut().unwrap().remove(k);
        }
        let e = GuardDuty.normalize_value(&doc).unwrap_err();
        assert!(e.to_string().contains("createdAt"), "{e}");
    }
}
