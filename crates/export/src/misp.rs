//! An incident as a MISP event in MISP core format (draft-dulaunoy-misp-core-format): one attribute
//! per indicator, user and host, tags for TLP, ATT&CK techniques and Picket's assessment
//! (`docs/export.md` has the mapping table).

use jiff::Timestamp;
use picket_core::{Alert, Incident, IncidentStatus, IntelVerdict, ObservableType, Priority};
use serde_json::{Value, json};

use crate::attack;
use crate::facts::{self, ObservableFacts};
use crate::ids::derived_uuid;
use crate::{ExportOptions, Tlp};

/// MISP attribute type and category for an indicator.
fn type_and_category(f: &ObservableFacts<'_>) -> (&'static str, &'static str) {
    const NET: &str = "Network activity";
    const PAYLOAD: &str = "Payload delivery";
    match f.obs.kind {
        // A source address only when the alerts place it only on the source side; else ip-dst.
        ObservableType::Ipv4 | ObservableType::Ipv6 if f.as_source && !f.as_destination => {
            ("ip-src", NET)
        }
        ObservableType::Ipv4 | ObservableType::Ipv6 => ("ip-dst", NET),
        ObservableType::Domain => ("domain", NET),
        ObservableType::Url => ("url", NET),
        ObservableType::Email => ("email-src", PAYLOAD),
        ObservableType::Md5 => ("md5", PAYLOAD),
        ObservableType::Sha1 => ("sha1", PAYLOAD),
        ObservableType::Sha256 => ("sha256", PAYLOAD),
        ObservableType::Sha512 => ("sha512", PAYLOAD),
        ObservableType::Cve => ("vulnerability", "External analysis"),
    }
}

/// MISP `threat_level_id`: 1 high, 2 medium, 3 low (4 "undefined" is not used: every incident is
/// assessed).
fn threat_level(p: Priority) -> &'static str {
    match p {
        Priority::P1 => "1",
        Priority::P2 => "2",
        Priority::P3 | Priority::P4 => "3",
    }
}

/// MISP `distribution` implied by the TLP level: 0 this organisation only, 1 this community,
/// 2 connected communities, 3 all communities. Unmarked exports stay in the organisation.
fn distribution(tlp: Option<Tlp>) -> &'static str {
    match tlp {
        None | Some(Tlp::Red | Tlp::AmberStrict) => "0",
        Some(Tlp::Amber) => "1",
        Some(Tlp::Green) => "2",
        Some(Tlp::Clear) => "3",
    }
}

/// MISP's attribute time form, `2024-05-01T10:00:00.000000+00:00`.
fn misp_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// The incident as a MISP event (`{"Event": {…}}`). `alerts` (possibly none) tell source from
/// destination addresses, file names, and when each indicator was first and last seen.
pub fn misp_event(incident: &Incident, alerts: &[Alert], options: &ExportOptions) -> Value {
    let timestamp = incident.last_seen.as_second().to_string();
    let key = |what: &str| derived_uuid(&format!("misp/{}/{what}", incident.id));
    let mut attributes = Vec::new();
    for f in facts::observables(incident, alerts) {
        let (ty, category) = type_and_category(&f);
        let value = if f.obs.kind == ObservableType::Cve {
            f.obs.value.to_ascii_uppercase()
        } else {
            f.obs.value.clone()
        };
        let to_ids = f.detectable() && f.intel_verdict() != Some(IntelVerdict::Benign);
        let mut comment = vec![format!("seen {} time(s)", f.count)];
        comment.extend(f.excluded.clone());
        comment.extend(f.intel_summary());
        if !f.file_names.is_empty() {
            comment.push(format!("file name(s): {}", f.file_names.join(", ")));
        }
        attributes.push(json!({
            "uuid": key(&format!("attribute/{ty}/{value}")),
            "type": ty,
            "category": category,
            "value": value,
            "to_ids": to_ids,
            "comment": comment.join("; "),
            "distribution": "5",
            "timestamp": timestamp,
            "first_seen": misp_time(f.first_seen),
            "last_seen": misp_time(f.last_seen.max(f.first_seen)),
        }));
    }
    for (ty, values) in [
        ("target-user", &incident.scope.users),
        ("target-machine", &incident.scope.hosts),
    ] {
        for v in values {
            attributes.push(json!({
                "uuid": key(&format!("attribute/{ty}/{v}")),
                "type": ty,
                "category": "Targeting data",
                "value": v,
                "to_ids": false,
                "comment": "in the incident's scope",
                "distribution": "5",
                "timestamp": timestamp,
            }));
        }
    }

    let mut tags = Vec::new();
    if let Some(tlp) = options.tlp {
        tags.push(json!({ "name": format!("tlp:{}", tlp.name(options.tlp_version)) }));
    }
    for t in attack::techniques(incident, alerts) {
        let name = match t.name {
            Some(n) => format!("misp-galaxy:mitre-attack-pattern=\"{n} - {}\"", t.id),
            None => format!("mitre-attack:attack-pattern=\"{}\"", t.id),
        };
        tags.push(json!({ "name": name }));
    }
    tags.push(json!({ "name": format!("picket:verdict=\"{}\"", incident.verdict.as_str()) }));
    tags.push(json!({ "name": format!("picket:priority=\"{}\"", incident.priority.as_str()) }));

    let org = json!({
        "name": options.producer,
        "uuid": derived_uuid(&format!("misp/org/{}", options.producer)),
    });
    json!({
        "Event": {
            "uuid": key("event"),
            "info": incident.title,
            "date": incident.first_seen.strftime("%Y-%m-%d").to_string(),
            "threat_level_id": threat_level(incident.priority),
            "analysis": match incident.status {
                IncidentStatus::Open => "1",
                IncidentStatus::Closed => "2",
            },
            "distribution": distribution(options.tlp),
            "sharing_group_id": "0",
            "published": false,
            "timestamp": timestamp,
            "Orgc": org,
            "Attribute": attributes,
            "Tag": tags,
        }
    })
}
