//! An incident as a STIX 2.1 bundle: who produced it, what was observed, which indicators may be
//! used for detection, the ATT&CK techniques, and a report tying them together (`docs/export.md`).

use std::collections::BTreeSet;

use picket_core::{Alert, EndpointRole, Incident, ObservableType};
use serde_json::{Map, Value, json};

use crate::attack::{self, Technique};
use crate::facts::{self, ObservableFacts, stix_time};
use crate::ids::{sco_id, sdo_id};
use crate::{ExportOptions, Tlp, TlpVersion};

/// `created`/`modified` of objects that outlive one incident (the producer's identity): fixed, so that
/// every bundle carries the same version of them.
const SHARED_OBJECT_TIME: &str = "2024-01-01T00:00:00.000Z";
/// STIX integer properties (`count`, `number_observed`) stop here.
const STIX_MAX_COUNT: u64 = 999_999_999;
const TLP2_EXTENSION: &str = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d";

/// Escapes a value for a STIX pattern string literal (between single quotes): `\` and `'` take a
/// backslash.
pub fn escape_pattern_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if matches!(c, '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A URL as STIX's `url` object requires it (RFC 3986): characters a URI may not hold, a `%` that
/// starts no escape, and brackets outside the host are percent-encoded; everything else is kept.
pub fn uri_value(url: &str) -> String {
    let authority_end = url.find("://").map(|i| {
        let start = i + 3;
        start
            + url[start..]
                .find(['/', '?', '#'])
                .unwrap_or(url.len() - start)
    });
    let bytes = url.as_bytes();
    let mut out = String::with_capacity(url.len());
    for (i, &c) in bytes.iter().enumerate() {
        let in_authority = authority_end.is_some_and(|end| i < end);
        let keep = c.is_ascii_alphanumeric()
            || b"-._~:/?#@!$&'()*+,;=".contains(&c)
            || (matches!(c, b'[' | b']') && in_authority)
            || (c == b'%'
                && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit));
        if keep {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// The STIX pattern matching one indicator, e.g. `[ipv4-addr:value = '203.0.113.9']` or
/// `[file:hashes.'SHA-256' = '…']` (URLs as [`uri_value`] writes them). None for types a pattern cannot
/// express (CVE ids).
pub fn indicator_pattern(kind: ObservableType, value: &str) -> Option<String> {
    let path = match kind {
        ObservableType::Ipv4 => "ipv4-addr:value",
        ObservableType::Ipv6 => "ipv6-addr:value",
        ObservableType::Domain => "domain-name:value",
        ObservableType::Url => "url:value",
        ObservableType::Email => "email-addr:value",
        ObservableType::Md5 => "file:hashes.MD5",
        ObservableType::Sha1 => "file:hashes.'SHA-1'",
        ObservableType::Sha256 => "file:hashes.'SHA-256'",
        ObservableType::Sha512 => "file:hashes.'SHA-512'",
        ObservableType::Cve => return None,
    };
    let value = if kind == ObservableType::Url {
        uri_value(value)
    } else {
        value.to_owned()
    };
    Some(format!("[{path} = '{}']", escape_pattern_value(&value)))
}

/// The key STIX's hash-algorithm vocabulary uses for a hash type.
fn hash_key(kind: ObservableType) -> Option<&'static str> {
    Some(match kind {
        ObservableType::Md5 => "MD5",
        ObservableType::Sha1 => "SHA-1",
        ObservableType::Sha256 => "SHA-256",
        ObservableType::Sha512 => "SHA-512",
        _ => return None,
    })
}

/// The Cyber-observable object for an indicator, without markings. None for CVE ids.
fn observable_sco(f: &ObservableFacts<'_>) -> Option<Value> {
    let value = f.obs.value.as_str();
    let (ty, contributing) = match f.obs.kind {
        ObservableType::Ipv4 => ("ipv4-addr", json!({ "value": value })),
        ObservableType::Ipv6 => ("ipv6-addr", json!({ "value": value })),
        ObservableType::Domain => ("domain-name", json!({ "value": value })),
        ObservableType::Url => ("url", json!({ "value": uri_value(value) })),
        ObservableType::Email => ("email-addr", json!({ "value": value })),
        ObservableType::Cve => return None,
        hash => {
            let mut c = json!({ "hashes": { hash_key(hash)?: value } });
            if let [name] = f.file_names.as_slice() {
                c["name"] = json!(name);
            }
            ("file", c)
        }
    };
    Some(sco(ty, contributing))
}

/// A Cyber-observable object whose properties are all ID-contributing.
fn sco(ty: &str, contributing: Value) -> Value {
    let mut o = contributing.clone();
    o["type"] = json!(ty);
    o["spec_version"] = json!("2.1");
    o["id"] = json!(sco_id(ty, &contributing));
    o
}

fn ip_sco(ip: &std::net::IpAddr) -> Value {
    let ty = if ip.is_ipv4() {
        "ipv4-addr"
    } else {
        "ipv6-addr"
    };
    sco(ty, json!({ "value": ip.to_string() }))
}

fn tlp_marking(tlp: Tlp, version: TlpVersion) -> Value {
    let name = tlp.name(version);
    let label = format!("TLP:{}", name.to_ascii_uppercase());
    match version {
        TlpVersion::V2 => {
            let uuid = match tlp {
                Tlp::Clear => "94868c89-83c2-464b-929b-a1a8aa3c8487",
                Tlp::Green => "bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
                Tlp::Amber => "55d920b0-5e8b-4f79-9ee9-91f868d9b421",
                Tlp::AmberStrict => "939a9414-2ddd-4d32-a0cd-375ea402b003",
                Tlp::Red => "e828b379-4e03-4974-9ac4-e53a884c97c1",
            };
            json!({
                "type": "marking-definition",
                "spec_version": "2.1",
                "id": format!("marking-definition--{uuid}"),
                "created": "2022-10-01T00:00:00.000Z",
                "name": label,
                "extensions": {
                    TLP2_EXTENSION: { "extension_type": "property-extension", "tlp_2_0": name }
                }
            })
        }
        TlpVersion::V1 => {
            let uuid = match tlp {
                Tlp::Clear => "613f2e26-407d-48c7-9eca-b8e91df99dc9",
                Tlp::Green => "34098fce-860f-48ae-8e50-ebd3cc5e41da",
                // Options refuse AMBER+STRICT with TLP 1.0; AMBER is the nearest 1.0 level.
                Tlp::Amber | Tlp::AmberStrict => "f88d31f6-486f-44da-b317-01333bde0b82",
                Tlp::Red => "5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
            };
            json!({
                "type": "marking-definition",
                "spec_version": "2.1",
                "id": format!("marking-definition--{uuid}"),
                "created": "2017-01-20T00:00:00.000Z",
                "definition_type": "tlp",
                "name": label,
                "definition": { "tlp": name }
            })
        }
    }
}

/// Collects the bundle's objects; every SDO and SRO gets the common properties from here.
struct Bundle<'a> {
    incident: &'a Incident,
    created: String,
    modified: String,
    producer: String,
    producer_name: &'a str,
    marking: Option<String>,
    objects: Vec<Value>,
    seen: BTreeSet<String>,
    /// Ids of the Cyber-observable objects, in order: what the observed-data holds.
    observed: Vec<String>,
}

impl Bundle<'_> {
    fn key(&self, what: &str) -> String {
        format!("{}/{what}", self.incident.id)
    }

    /// An SDO or SRO of this incident with the common properties and `props`; returns its id.
    fn sdo(&mut self, ty: &str, key: &str, props: Value) -> String {
        let id = sdo_id(ty, &self.key(key));
        let mut o = Map::new();
        o.insert("type".into(), json!(ty));
        o.insert("spec_version".into(), json!("2.1"));
        o.insert("id".into(), json!(id));
        o.insert("created".into(), json!(self.created));
        o.insert("modified".into(), json!(self.modified));
        o.insert("created_by_ref".into(), json!(self.producer));
        if let Some(m) = &self.marking {
            o.insert("object_marking_refs".into(), json!([m]));
        }
        if let Value::Object(props) = props {
            o.extend(props);
        }
        self.push(Value::Object(o));
        id
    }

    /// Adds a Cyber-observable object once (marked like the rest); returns its id.
    fn observable(&mut self, mut o: Value) -> String {
        let id = o["id"].as_str().unwrap_or_default().to_owned();
        if let Some(m) = &self.marking {
            o["object_marking_refs"] = json!([m]);
        }
        if self.push(o) {
            self.observed.push(id.clone());
        }
        id
    }

    /// Adds an object unless one with its id is there; returns whether it did.
    fn push(&mut self, o: Value) -> bool {
        let id = o["id"].as_str().unwrap_or_default().to_owned();
        let new = self.seen.insert(id);
        if new {
            self.objects.push(o);
        }
        new
    }

    fn relationship(&mut self, source: &str, kind: &str, target: &str) {
        let key = format!("rel:{source}:{kind}:{target}");
        self.sdo(
            "relationship",
            &key,
            json!({ "relationship_type": kind, "source_ref": source, "target_ref": target }),
        );
    }
}

/// The incident as a STIX 2.1 bundle. `alerts` (the incident's stored alerts, possibly none) add
/// endpoint roles, file names, network traffic and per-indicator first/last seen and counts.
pub fn stix_bundle(incident: &Incident, alerts: &[Alert], options: &ExportOptions) -> Value {
    let created = stix_time(incident.first_seen);
    let modified = stix_time(incident.last_seen.max(incident.first_seen));
    let producer = sdo_id("identity", &format!("producer/{}", options.producer));
    let mut b = Bundle {
        incident,
        created,
        modified,
        producer: producer.clone(),
        producer_name: &options.producer,
        marking: None,
        objects: Vec::new(),
        seen: BTreeSet::new(),
        observed: Vec::new(),
    };
    // The producer's identity is shared by every bundle it makes: fixed times, no marking.
    b.push(json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": producer,
        "created": SHARED_OBJECT_TIME,
        "modified": SHARED_OBJECT_TIME,
        "name": options.producer,
        "identity_class": "organization",
    }));
    if let Some(tlp) = options.tlp {
        let m = tlp_marking(tlp, options.tlp_version);
        b.marking = m["id"].as_str().map(str::to_owned);
        b.push(m);
    }

    let hosts: Vec<String> = incident
        .scope
        .hosts
        .iter()
        .map(|h| {
            b.sdo(
                "identity",
                &format!("host:{h}"),
                json!({ "name": h, "identity_class": "system",
                        "description": "A system this incident's alerts name." }),
            )
        })
        .collect();

    // What was observed: every indicator, the users, and (from alerts) who talked to whom.
    let facts = facts::observables(incident, alerts);
    for o in facts.iter().filter_map(observable_sco) {
        b.observable(o);
    }
    for user in &incident.scope.users {
        let login = user.rsplit(['\\', '/']).next().unwrap_or(user);
        let login = login.split('@').next().unwrap_or(login);
        b.observable(sco(
            "user-account",
            json!({ "user_id": user, "account_login": login }),
        ));
    }
    for alert in alerts {
        let eps = &alert.entities.endpoints;
        let src = eps.iter().find(|e| e.role == EndpointRole::Source);
        let dst = eps.iter().find(|e| e.role == EndpointRole::Destination);
        if let (Some(src), Some(dst)) = (src, dst) {
            let src_ref = b.observable(ip_sco(&src.ip));
            let dst_ref = b.observable(ip_sco(&dst.ip));
            let family = if src.ip.is_ipv4() { "ipv4" } else { "ipv6" };
            let mut nt = json!({ "src_ref": src_ref, "dst_ref": dst_ref, "protocols": [family] });
            if let Some(p) = src.port {
                nt["src_port"] = json!(p);
            }
            if let Some(p) = dst.port {
                nt["dst_port"] = json!(p);
            }
            b.observable(sco("network-traffic", nt));
        }
    }
    let observed = std::mem::take(&mut b.observed);
    let observed_data = (!observed.is_empty()).then(|| {
        b.sdo(
            "observed-data",
            "observed",
            json!({
                "first_observed": stix_time(incident.first_seen),
                "last_observed": stix_time(incident.last_seen.max(incident.first_seen)),
                "number_observed": incident.alert_count.clamp(1, STIX_MAX_COUNT),
                "object_refs": observed,
            }),
        )
    });

    for f in facts.iter().filter(|f| f.obs.kind == ObservableType::Cve) {
        let cve = f.obs.value.to_ascii_uppercase();
        b.sdo(
            "vulnerability",
            &format!("cve:{cve}"),
            json!({
                "name": cve,
                "external_references": [{ "source_name": "cve", "external_id": cve }],
            }),
        );
    }

    let techniques = attack::techniques(incident, alerts);
    let patterns: Vec<String> = techniques
        .iter()
        .map(|t| attack_pattern(&mut b, t))
        .collect();
    for p in &patterns {
        for h in &hosts {
            b.relationship(p, "targets", h);
        }
    }

    // Indicators only for what may be used for detection; the rest stays an observation.
    let where_sighted = if hosts.is_empty() {
        vec![b.producer.clone()]
    } else {
        hosts.clone()
    };
    for f in facts.iter().filter(|f| f.detectable()) {
        let Some(pattern) = indicator_pattern(f.obs.kind, &f.obs.value) else {
            continue;
        };
        let indicator = indicator(&mut b, f, pattern);
        let mut sighting = json!({
            "sighting_of_ref": indicator,
            "first_seen": stix_time(f.first_seen),
            "last_seen": stix_time(f.last_seen.max(f.first_seen)),
            "count": f.count.min(STIX_MAX_COUNT),
            "where_sighted_refs": where_sighted,
        });
        if let Some(od) = &observed_data {
            sighting["observed_data_refs"] = json!([od]);
            b.relationship(&indicator, "based-on", od);
        }
        b.sdo(
            "sighting",
            &format!("sighting:{}:{}", f.obs.kind, f.obs.value),
            sighting,
        );
        for p in &patterns {
            b.relationship(&indicator, "indicates", p);
        }
    }

    report(&mut b);
    let bundle_id = sdo_id("bundle", &incident.id);
    json!({ "type": "bundle", "id": bundle_id, "objects": b.objects })
}

fn attack_pattern(b: &mut Bundle<'_>, t: &Technique) -> String {
    let mut props = json!({
        "name": t.name.unwrap_or(&t.id),
        // No `url`: STIX wants a hash of the page with one (the validator's check 302); the id names
        // the technique.
        "external_references": [{ "source_name": "mitre-attack", "external_id": t.id }],
        "description": format!("ATT&CK technique {}: {}", t.id, t.url()),
    });
    if !t.tactics.is_empty() {
        props["kill_chain_phases"] = t
            .tactics
            .iter()
            .map(|p| json!({ "kill_chain_name": "mitre-attack", "phase_name": p }))
            .collect();
    }
    b.sdo("attack-pattern", &format!("attack:{}", t.id), props)
}

fn indicator(b: &mut Bundle<'_>, f: &ObservableFacts<'_>, pattern: String) -> String {
    let incident = b.incident;
    let mut description = format!(
        "{} seen in Picket incident {} ({}): {} time(s) from {} to {}.",
        f.obs.kind,
        incident.id,
        incident.title,
        f.count,
        stix_time(f.first_seen),
        stix_time(f.last_seen)
    );
    if let Some(intel) = f.intel_summary() {
        description.push_str(&format!(" {intel}."));
    }
    if !f.file_names.is_empty() {
        description.push_str(&format!(" File name(s): {}.", f.file_names.join(", ")));
    }
    let mut props = json!({
        "name": format!("{} {}", f.obs.kind, f.obs.value),
        "description": description,
        "indicator_types": [f.indicator_type(incident.verdict)],
        "pattern": pattern,
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": stix_time(f.first_seen),
    });
    let refs: Vec<Value> = f
        .intel
        .iter()
        .flat_map(|i| &i.results)
        .filter_map(|r| {
            // The permalink goes in the text: an external reference's `url` needs the page's hash.
            let url = r.reference.as_deref()?;
            Some(json!({
                "source_name": r.source,
                "description": format!("{} said {} ({url})", r.provider, r.verdict),
            }))
        })
        .collect();
    if !refs.is_empty() {
        props["external_references"] = json!(refs);
    }
    b.sdo(
        "indicator",
        &format!("indicator:{}:{}", f.obs.kind, f.obs.value),
        props,
    )
}

/// The report (everything, with the assessment) and a note holding the cited evidence.
fn report(b: &mut Bundle<'_>) {
    let incident = b.incident;
    let mut text = format!(
        "Picket incident {} ({}). Verdict: {}, priority {}, escalation {}, confidence {:.2}.\n{}",
        incident.id,
        match incident.status {
            picket_core::IncidentStatus::Open => "open",
            picket_core::IncidentStatus::Closed => "closed",
        },
        incident.verdict.as_str(),
        incident.priority.as_str(),
        incident.escalation.as_str(),
        incident.confidence,
        incident.confidence_note
    );
    let scope = &incident.scope;
    for (what, items) in [
        ("Hosts", &scope.hosts),
        ("Users", &scope.users),
        ("Addresses", &scope.ips),
    ] {
        if !items.is_empty() {
            text.push_str(&format!("\n{what}: {}.", items.join(", ")));
        }
    }
    let tactics = attack::bare_tactics(incident);
    if !tactics.is_empty() {
        text.push_str(&format!("\nATT&CK tactics: {}.", tactics.join(", ")));
    }
    text.push_str(&format!(
        "\nAlerts: {} from {} to {}.",
        incident.alert_count,
        stix_time(incident.first_seen),
        stix_time(incident.last_seen)
    ));

    let object_refs: Vec<String> = b
        .objects
        .iter()
        .filter_map(|o| o["id"].as_str().map(str::to_owned))
        .collect();
    let has = |ty: &str| b.objects.iter().any(|o| o["type"] == ty);
    let mut report_types: Vec<&str> = [
        "observed-data",
        "indicator",
        "attack-pattern",
        "vulnerability",
    ]
    .into_iter()
    .filter(|ty| has(ty))
    .collect();
    if report_types.is_empty() {
        report_types.push("threat-report");
    }
    let report = b.sdo(
        "report",
        "report",
        json!({
            "name": incident.title,
            "description": text,
            "report_types": report_types,
            "published": stix_time(incident.last_seen.max(incident.first_seen)),
            "confidence": confidence(incident.confidence),
            "labels": [
                format!("verdict:{}", incident.verdict.as_str()),
                format!("priority:{}", incident.priority.as_str()),
                format!("escalation:{}", incident.escalation.as_str()),
            ],
            "external_references": [{ "source_name": "picket", "external_id": incident.id }],
            "object_refs": object_refs,
        }),
    );
    if !incident.evidence.is_empty() {
        let lines: Vec<String> = incident
            .evidence
            .iter()
            .map(|e| format!("[{:+.2}] {} ({})", e.weight, e.claim, e.source))
            .collect();
        b.sdo(
            "note",
            "evidence",
            json!({
                "abstract": format!("Why Picket says {}", incident.verdict.as_str()),
                "content": lines.join("\n"),
                "authors": [b.producer_name],
                "object_refs": [report],
            }),
        );
    }
}

/// STIX confidence (0–100) from Picket's confidence in [0, 1].
fn confidence(c: f64) -> u8 {
    if c.is_finite() {
        (c.clamp(0.0, 1.0) * 100.0).round() as u8
    } else {
        0
    }
}
