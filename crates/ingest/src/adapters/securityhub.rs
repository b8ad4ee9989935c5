//! AWS Security Hub findings in the AWS Security Finding Format (ASFF, `SchemaVersion` 2018-10-08):
//! one finding object, or an EventBridge event (`detail-type: "Security Hub Findings - Imported"`
//! and friends) whose `detail.findings` holds exactly one. Findings of every product that reports to
//! Security Hub (GuardDuty, Inspector, Config, custom products) land here when they are ASFF.
//! Reference: Security Hub user guide, "AWS Security Finding Format (ASFF)", required and optional
//! top-level attributes, `Resources`, `Action`, `Network`, `Process`, `Malware`,
//! `ThreatIntelIndicators`, `Threats`, `Severity`; "ASFF types taxonomy".

use crate::json::Json;
use picket_core::{AttackRef, EndpointRole, Entities, Product, Rule, Severity, SourceFormat};

use super::fields::{
    self, add_domain, add_email, add_file, add_url, file_with_hash, port_at, push_attack,
};
use super::{Doc, Normalized, SourceAdapter};
use crate::error::AdapterError;

pub struct SecurityHub;

fn is_asff(v: &Json) -> bool {
    let d = Doc(v);
    v.get("SchemaVersion").is_some_and(Json::is_string)
        && d.has("ProductArn")
        && d.has("Id")
        && (d.has("Title") || d.has("Types") || d.has("Severity"))
}

/// The finding and its path prefix (for error messages).
fn locate<'a>(doc: &'a Json<'a>) -> Result<Option<(&'a Json<'a>, &'static str)>, AdapterError> {
    if is_asff(doc) {
        return Ok(Some((doc, "")));
    }
    let d = Doc(doc);
    let envelope = d
        .str("detail-type")
        .is_some_and(|t| t.starts_with("Security Hub Findings"))
        || d.str("source").as_deref() == Some("aws.securityhub");
    if !envelope {
        return Ok(None);
    }
    match d.get("detail.findings") {
        Some(Json::Array(items)) => match items.as_slice() {
            [one] if is_asff(one) => Ok(Some((one, "detail.findings[0]."))),
            [_] => Err(AdapterError::invalid(
                "detail.findings[0]",
                "not an ASFF finding (no SchemaVersion/ProductArn/Id)",
            )),
            [] => Err(AdapterError::invalid("detail.findings", "empty")),
            many => Err(AdapterError::invalid(
                "detail.findings",
                format!("holds {} findings; send one finding per record", many.len()),
            )),
        },
        _ => Ok(None),
    }
}

impl SourceAdapter for SecurityHub {
    fn format(&self) -> SourceFormat {
        SourceFormat::Securityhub
    }

    fn detect(&self, doc: &Json) -> bool {
        if is_asff(doc) {
            return true;
        }
        // An EventBridge Security Hub event: claimed on its envelope so that a malformed findings
        // list is reported by `normalize` rather than falling through to another adapter.
        let d = Doc(doc);
        (d.str("detail-type")
            .is_some_and(|t| t.starts_with("Security Hub Findings"))
            || d.str("source").as_deref() == Some("aws.securityhub"))
            && d.get("detail.findings").is_some_and(Json::is_array)
    }

    fn normalize(&self, doc: &Json) -> Result<Normalized, AdapterError> {
        let (f, prefix) = locate(doc)?.ok_or(AdapterError::Missing("ProductArn"))?;
        let d = Doc(f);
        let name = |p: &str| format!("{prefix}{p}");

        // `CreatedAt`: when the provider created the finding (the detection). `FirstObservedAt` is
        // the first sight of the underlying activity; `UpdatedAt` moves on every evaluation.
        let time = d
            .time(&["CreatedAt", "FirstObservedAt", "UpdatedAt"])
            .map_err(|e| match e {
                AdapterError::Time { field, source } => AdapterError::Time {
                    field: name(&field),
                    source,
                },
                other => other,
            })?
            .ok_or(AdapterError::Missing("CreatedAt"))?;

        let (severity, vendor_severity) = severity(&d, &name)?;

        let title = d.str("Title");
        let message = title
            .clone()
            .or_else(|| d.str("Description"))
            .unwrap_or_else(|| "Security Hub finding".to_owned());
        let types = {
            let t = d.strs("Types");
            if t.is_empty() {
                d.strs("FindingProviderFields.Types")
            } else {
                t
            }
        };

        let mut entities = Entities::default();
        resource_entities(&d, &mut entities);
        action_entities(&d, &mut entities);
        network_entities(&d, &mut entities);
        process_and_file_entities(&d, &mut entities);
        indicator_entities(&d, &mut entities);
        product_field_entities(&d, &mut entities);

        let mut attack: Vec<AttackRef> = Vec::new();
        for t in &types {
            if let Some(r) = ttp_attack(t) {
                push_attack(&mut attack, r);
            }
        }
        let mut techniques = Vec::new();
        let mut tactics = Vec::new();
        for ind in d.array("Detection.Sequence.SequenceIndicators") {
            let ind = Doc(ind);
            match ind.str("Key").as_deref() {
                Some("ATTACK_TECHNIQUE") => techniques.extend(ind.strs("Values")),
                Some("ATTACK_TACTIC") => tactics.extend(ind.strs("Values")),
                _ => {}
            }
        }
        for r in fields::attack_refs(&techniques, &tactics) {
            push_attack(&mut attack, r);
        }

        Ok(Normalized {
            // ASFF `Id` is the provider's unique finding id (an ARN for AWS products).
            source_event_id: d.str("Id"),
            time: Some(time),
            product: Product {
                vendor: d
                    .first_str(&["CompanyName", "ProductFields.aws/securityhub/CompanyName"])
                    .unwrap_or_else(|| "AWS".to_owned()),
                name: d
                    .first_str(&["ProductName", "ProductFields.aws/securityhub/ProductName"])
                    .unwrap_or_else(|| "Security Hub".to_owned()),
            },
            rule: Rule {
                id: guardduty_type(&d, &types).or_else(|| {
                    d.first_str(&[
                        "Compliance.SecurityControlId",
                        "ProductFields.ControlId",
                        "GeneratorId",
                    ])
                }),
                name: title.unwrap_or_else(|| message.clone()),
                category: types.first().cloned(),
            },
            severity,
            vendor_severity,
            message,
            entities,
            attack,
        })
    }
}

/// `Severity.Label` (INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL), else the provider's
/// `FindingProviderFields.Severity.Label`, else the deprecated `Severity.Normalized` (0–100: 0
/// informational, 1–39 low, 40–69 medium, 70–89 high, 90–100 critical).
fn severity(
    d: &Doc<'_>,
    name: &dyn Fn(&str) -> String,
) -> Result<(Severity, Option<String>), AdapterError> {
    for p in ["Severity.Label", "FindingProviderFields.Severity.Label"] {
        if let Some(label) = d.str(p) {
            let sev = Severity::from_word(&label).ok_or_else(|| {
                AdapterError::invalid(
                    name(p),
                    format!("unknown label `{label}` (expected INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL)"),
                )
            })?;
            return Ok((sev, Some(label)));
        }
    }
    if let Some(v) = d.get("Severity.Normalized").filter(|v| !v.is_null()) {
        let n = d
            .f64("Severity.Normalized")
            .filter(|n| (0.0..=100.0).contains(n))
            .ok_or_else(|| {
                AdapterError::invalid(name("Severity.Normalized"), "expected a number 0-100")
            })?;
        let sev = match n {
            n if n < 1.0 => Severity::Informational,
            n if n < 40.0 => Severity::Low,
            n if n < 70.0 => Severity::Medium,
            n if n < 90.0 => Severity::High,
            _ => Severity::Critical,
        };
        return Ok((sev, super::as_text(v)));
    }
    Ok((Severity::Unknown, d.str("Severity.Original")))
}

/// GuardDuty findings in ASFF carry the detector ARN as `GeneratorId`; the finding type (the rule)
/// is the last part of their `Types` entry (`TTPs/Defense Evasion/Stealth:IAMUser-...`).
fn guardduty_type(d: &Doc<'_>, types: &[String]) -> Option<String> {
    guardduty_type_of(&d.str("ProductArn")?, types)
}

/// The GuardDuty finding type in ASFF `Types`, when `product_arn` is GuardDuty's (shared with the
/// OCSF adapter: Security Hub's OCSF output keeps the same types).
pub(crate) fn guardduty_type_of(product_arn: &str, types: &[String]) -> Option<String> {
    if !product_arn.ends_with("/aws/guardduty") {
        return None;
    }
    types
        .iter()
        .filter_map(|t| t.rsplit('/').next())
        .find(|last| last.contains(':'))
        .map(str::to_owned)
}

/// `TTPs/<tactic>/<detail>` types name an ATT&CK tactic; a technique id as the third part is kept.
pub(crate) fn ttp_attack(t: &str) -> Option<AttackRef> {
    let mut parts = t.split('/');
    if parts.next()?.trim() != "TTPs" {
        return None;
    }
    let tactic = parts.next().and_then(fields::tactic_ref);
    let technique = parts.next().and_then(fields::technique_id);
    (tactic.is_some() || technique.is_some()).then_some(AttackRef {
        technique,
        tactic,
        name: None,
    })
}

/// `Resources[]`: EC2 instances as hosts (instance id from the ARN, first IPv4 address), IAM users
/// and access-key principals as users.
fn resource_entities(d: &Doc<'_>, e: &mut Entities) {
    for r in d.array("Resources") {
        let r = Doc(r);
        match r.str("Type").as_deref() {
            Some("AwsEc2Instance") => {
                let id = r.str("Id").map(|arn| match arn.split_once(":instance/") {
                    Some((_, iid)) => iid.to_owned(),
                    None => arn,
                });
                let ip = r
                    .strs("Details.AwsEc2Instance.IpV4Addresses")
                    .first()
                    .and_then(|s| s.parse().ok());
                e.add_host(None, ip, id.as_deref());
            }
            Some("AwsIamUser") => {
                if let Some(u) = r.str("Details.AwsIamUser.UserName") {
                    e.add_user(&u);
                }
            }
            Some("AwsIamAccessKey") => {
                for p in [
                    "Details.AwsIamAccessKey.UserName",
                    "Details.AwsIamAccessKey.PrincipalName",
                    "Details.AwsIamAccessKey.SessionContext.SessionIssuer.UserName",
                ] {
                    if let Some(u) = r.str(p) {
                        e.add_user(&u);
                    }
                }
            }
            _ => {}
        }
    }
}

/// `Action`: network connections (direction decides the roles), API callers, DNS requests, port
/// probes.
fn action_entities(d: &Doc<'_>, e: &mut Entities) {
    let n = "Action.NetworkConnectionAction";
    if let Some(ip) = d.str(&format!("{n}.RemoteIpDetails.IpAddressV4")) {
        let role = match d.str(&format!("{n}.ConnectionDirection")).as_deref() {
            Some("INBOUND") => EndpointRole::Source,
            Some("OUTBOUND") => EndpointRole::Destination,
            _ => EndpointRole::Other,
        };
        e.add_endpoint(
            &ip,
            port_at(d, &format!("{n}.RemotePortDetails.Port")),
            role,
        );
    }
    if let Some(ip) = d.str("Action.AwsApiCallAction.RemoteIpDetails.IpAddressV4") {
        e.add_endpoint(&ip, None, EndpointRole::Source);
    }
    for p in [
        "Action.AwsApiCallAction.DomainDetails.Domain",
        "Action.DnsRequestAction.Domain",
    ] {
        if let Some(dom) = d.str(p) {
            add_domain(e, &dom);
        }
    }
    for probe in d.array("Action.PortProbeAction.PortProbeDetails") {
        let p = Doc(probe);
        if let Some(ip) = p.str("RemoteIpDetails.IpAddressV4") {
            e.add_endpoint(&ip, None, EndpointRole::Source);
        }
        if let Some(ip) = p.str("LocalIpDetails.IpAddressV4") {
            e.add_endpoint(
                &ip,
                port_at(&p, "LocalPortDetails.Port"),
                EndpointRole::Destination,
            );
        }
    }
}

/// `Network`: source and destination addresses, ports and domains.
fn network_entities(d: &Doc<'_>, e: &mut Entities) {
    for (ips, port, role) in [
        (
            ["Network.SourceIpV4", "Network.SourceIpV6"],
            "Network.SourcePort",
            EndpointRole::Source,
        ),
        (
            ["Network.DestinationIpV4", "Network.DestinationIpV6"],
            "Network.DestinationPort",
            EndpointRole::Destination,
        ),
    ] {
        if let Some(ip) = d.first_str(&ips) {
            e.add_endpoint(&ip, port_at(d, port), role);
        }
    }
    for p in ["Network.SourceDomain", "Network.DestinationDomain"] {
        if let Some(dom) = d.str(p) {
            add_domain(e, &dom);
        }
    }
}

/// `Process` (name, path, pid) and the files named by `Malware[].Path` and `Threats[].FilePaths[]`.
fn process_and_file_entities(d: &Doc<'_>, e: &mut Entities) {
    if d.get("Process").is_some_and(Json::is_object) {
        let path = d.str("Process.Path");
        let p = picket_core::Process {
            name: d
                .str("Process.Name")
                .or_else(|| path.as_deref().and_then(fields::basename)),
            pid: d.u64("Process.Pid"),
            path,
            command_line: None,
            parent_name: None,
        };
        if p != picket_core::Process::default() {
            e.processes.push(p);
        }
    }
    for m in d.array("Malware") {
        if let Some(path) = Doc(m).str("Path") {
            add_file(e, file_with_hash(None, Some(path), None));
        }
    }
    for t in d.array("Threats") {
        for fp in Doc(t).array("FilePaths") {
            let f = Doc(fp);
            add_file(
                e,
                file_with_hash(
                    f.str("FileName"),
                    f.str("FilePath"),
                    f.str("Hash").as_deref(),
                ),
            );
        }
    }
}

/// `ThreatIntelIndicators[]`: typed values (IPV4_ADDRESS, IPV6_ADDRESS, DOMAIN, URL,
/// EMAIL_ADDRESS, HASH_MD5, HASH_SHA1, HASH_SHA256).
fn indicator_entities(d: &Doc<'_>, e: &mut Entities) {
    for ind in d.array("ThreatIntelIndicators") {
        let i = Doc(ind);
        let Some(value) = i.str("Value") else {
            continue;
        };
        match i.str("Type").as_deref() {
            Some("IPV4_ADDRESS" | "IPV6_ADDRESS") => {
                e.add_endpoint(&value, None, EndpointRole::Other);
            }
            Some("DOMAIN") => add_domain(e, &value),
            Some("URL") => add_url(e, &value),
            Some("EMAIL_ADDRESS") => add_email(e, &value),
            Some("HASH_MD5" | "HASH_SHA1" | "HASH_SHA256") => {
                add_file(e, file_with_hash(None, None, Some(&value)));
            }
            _ => {}
        }
    }
}

/// GuardDuty findings in ASFF keep the action details only as flattened `ProductFields`
/// (`aws/guardduty/service/action/<action>/remoteIpDetails/ipAddressV4`).
fn product_field_entities(d: &Doc<'_>, e: &mut Entities) {
    let Some(Json::Object(pf)) = d.get("ProductFields") else {
        return;
    };
    for (k, v) in pf {
        let Some(rest) = k.strip_prefix("aws/guardduty/service/action/") else {
            continue;
        };
        let Some(val) = super::as_text(v) else {
            continue;
        };
        if rest.ends_with("/remoteIpDetails/ipAddressV4")
            || rest.ends_with("/remoteIpDetails/ipAddressV6")
        {
            let role = if rest.starts_with("awsApiCallAction/") {
                EndpointRole::Source
            } else {
                EndpointRole::Other
            };
            e.add_endpoint(&val, None, role);
        } else if rest.ends_with("/domainDetails/domain") || rest == "dnsRequestAction/domain" {
            add_domain(e, &val);
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
            "SchemaVersion": "2018-10-08", "Id": "f-1", "ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty",
            "GeneratorId": "g", "AwsAccountId": "111122223333", "CreatedAt": "2024-02-01T00:00:00Z",
            "UpdatedAt": "2024-02-02T00:00:00Z", "Title": "T", "Description": "D",
            "Types": ["TTPs/Initial Access/T1190", "Effects/Data Exposure"],
            "Severity": {"Label": "HIGH", "Normalized": 70},
            "Network": {"Direction": "IN", "SourceIpV4": "198.51.100.1", "SourcePort": 5555, "DestinationIpV4": "10.0.0.8", "DestinationPort": 443, "DestinationDomain": "app.example.com"},
            "Resources": [{"Type": "AwsEc2Instance", "Id": "arn:aws:ec2:us-east-1:111122223333:instance/i-0abc", "Details": {"AwsEc2Instance": {"IpV4Addresses": ["10.0.0.8"]}}}],
            "ThreatIntelIndicators": [{"Type": "URL", "Value": "http://bad.example.net/x"}, {"Type": "HASH_SHA1", "Value": "A".repeat(40)}]
        })
    }

    #[test]
    fn maps_documented_fields() {
        let n = SecurityHub.normalize_value(&finding()).unwrap();
        assert_eq!(n.severity, Severity::High);
        assert_eq!(n.vendor_severity.as_deref(), Some("HIGH"));
        assert_eq!(
            n.attack,
            vec![AttackRef {
                name: None,
                technique: Some("T1190".into()),
                tactic: Some("initial-access".into())
            }]
        );
        assert_eq!(n.entities.hosts[0].id.as_deref(), Some("i-0abc"));
        assert_eq!(n.entities.endpoints.len(), 2);
        assert_eq!(n.entities.domains, ["app.example.com"]);
        assert_eq!(n.entities.urls, ["http://bad.example.net/x"]);
        assert_eq!(n.entities.files[0].sha1.as_deref(), Some(&*"a".repeat(40)));
        assert_eq!(n.rule.id.as_deref(), Some("g"));
    }

    #[test]
    fn normalized_severity_when_no_label() {
        let mut f = finding();
        f["Severity"] = json!({"Normalized": 95});
        let n = SecurityHub.normalize_value(&f).unwrap();
        assert_eq!(n.severity, Severity::Critical);
        assert_eq!(n.vendor_severity.as_deref(), Some("95"));
        f["Severity"] = json!({"Normalized": "lots"});
        let e = SecurityHub.normalize_value(&f).unwrap_err();
        assert!(e.to_string().contains("Severity.Normalized"), "{e}");
        f["Severity"] = json!({"Label": "SEVERE"});
        let e = SecurityHub.normalize_value(&f).unwrap_err();
        assert!(e.to_string().contains("Severity.Label"), "{e}");
    }

    #[test]
    fn eventbridge_envelope_with_one_finding() {
        let env = json!({"detail-type": "Security Hub Findings - Imported", "source": "aws.securityhub", "detail": {"findings": [finding()]}});
        assert!(SecurityHub.detect_value(&env));
        assert_eq!(
            SecurityHub
                .normalize_value(&env)
                .unwrap()
                .source_event_id
                .as_deref(),
            Some("f-1")
        );
        let two = json!({"detail-type": "Security Hub Findings - Imported", "detail": {"findings": [finding(), finding()]}});
        assert!(SecurityHub.detect_value(&two));
        let e = SecurityHub.normalize_value(&two).unwrap_err();
        assert!(e.to_string().contains("detail.findings"), "{e}");
        let mut bad = env;
        bad["detail"]["findings"][0]["CreatedAt"] = json!("later");
        let e = SecurityHub.normalize_value(&bad).unwrap_err();
        assert!(
            e.to_string().contains("detail.findings[0].CreatedAt"),
            "{e}"
        );
    }

    #[test]
    fn does_not_claim_other_shapes() {
        assert!(
            !SecurityHub.detect_value(&json!({"class_uid": 2004, "finding_info": {"uid": "x"}}))
        );
        assert!(!SecurityHub.detect_value(
            &json!({"schemaVersion": "2.0", "type": "x", "service": {"serviceName": "guardduty"}})
        ));
        assert!(
            !SecurityHub.detect_value(&json!({"detail-type": "GuardDuty Finding", "detail": {}}))
        );
        assert!(!SecurityHub.detect_value(&json!("x")));
    }

    #[test]
    fn guardduty_product_fields_give_the_caller() {
        let mut f = finding();
        f["ProductFields"] = json!({"aws/guardduty/service/action/awsApiCallAction/remoteIpDetails/ipAddressV4": "52.94.133.131", "x": 1});
        let n = SecurityHub.normalize_value(&f).unwrap();
        assert!(
            n.entities
                .endpoints
                .iter()
                .any(|e| e.ip.to_string() == "52.94.133.131" && e.role == EndpointRole::Source)
        );
    }
}
