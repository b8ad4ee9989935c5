//! Wazuh `alerts.json` (one alert per line as the manager writes it, or as indexed in the Wazuh
//! indexer). Reference: Wazuh documentation, "Alerts" and "Rules classification" (levels 0–15).

use crate::json::Json;
use picket_core::{
    AttackRef, EndpointRole, Entities, FileEntity, Product, Rule, Severity, SourceFormat,
};

use super::{Doc, Normalized, SourceAdapter};
use crate::error::AdapterError;

pub struct Wazuh;

impl SourceAdapter for Wazuh {
    fn format(&self) -> SourceFormat {
        SourceFormat::Wazuh
    }

    fn detect(&self, doc: &Json) -> bool {
        let d = Doc(doc);
        d.get("rule.level").is_some()
            && d.get("rule.id").is_some()
            && (d.has("agent") || d.has("manager") || d.has("decoder"))
    }

    fn normalize(&self, doc: &Json) -> Result<Normalized, AdapterError> {
        let d = Doc(doc);
        let time = d
            .time(&["timestamp", "@timestamp"])?
            .ok_or(AdapterError::Missing("timestamp"))?;
        let level = d.u64("rule.level").ok_or(AdapterError::invalid(
            "rule.level",
            "expected a number 0-15",
        ))?;
        let description = d
            .str("rule.description")
            .unwrap_or_else(|| "Wazuh alert".to_owned());

        let mut entities = Entities::default();
        let agent_ip = d.str("agent.ip").and_then(|s| s.parse().ok());
        entities.add_host(
            d.str("agent.name").as_deref(),
            agent_ip,
            d.str("agent.id").as_deref(),
        );
        // The syslog host as the agent saw it; `add_host` skips it when it is the agent's own name.
        if let Some(h) = d.str("predecoder.hostname") {
            entities.add_host(Some(&h), None, None);
        }
        for f in [
            "data.srcuser",
            "data.dstuser",
            "data.win.eventdata.targetUserName",
            "data.win.eventdata.subjectUserName",
            "syscheck.uname_after",
        ] {
            if let Some(u) = d.str(f) {
                entities.add_user(&u);
            }
        }
        for (f, port, role) in [
            ("data.srcip", "data.srcport", EndpointRole::Source),
            ("data.dstip", "data.dstport", EndpointRole::Destination),
            ("data.src_ip", "data.src_port", EndpointRole::Source),
            ("data.dest_ip", "data.dest_port", EndpointRole::Destination),
        ] {
            if let Some(ip) = d.str(f) {
                let port = d.u64(port).and_then(|p| u16::try_from(p).ok());
                entities.add_endpoint(&ip, port, role);
            }
        }
        // The VirusTotal integration names the scanned file and its hashes.
        if let Some(path) = d.str("data.virustotal.source.file") {
            entities.files.push(FileEntity {
                name: path.rsplit(['/', '\\']).next().map(str::to_owned),
                path: Some(path),
                md5: d
                    .str("data.virustotal.source.md5")
                    .map(|s| s.to_ascii_lowercase()),
                sha1: d
                    .str("data.virustotal.source.sha1")
                    .map(|s| s.to_ascii_lowercase()),
                sha256: None,
            });
        }
        if let Some(path) = d.str("syscheck.path") {
            entities.files.push(FileEntity {
                name: path.rsplit(['/', '\\']).next().map(str::to_owned),
                path: Some(path),
                md5: d.str("syscheck.md5_after").map(|s| s.to_ascii_lowercase()),
                sha1: d.str("syscheck.sha1_after").map(|s| s.to_ascii_lowercase()),
                sha256: d
                    .str("syscheck.sha256_after")
                    .map(|s| s.to_ascii_lowercase()),
            });
        }

        let techniques = d.strs("rule.mitre.id");
        let tactics = d.strs("rule.mitre.tactic");
        let mut attack: Vec<AttackRef> = techniques
            .iter()
            .map(|t| AttackRef {
                name: None,
                technique: Some(t.clone()),
                tactic: None,
            })
            .collect();
        if attack.len() == 1 && tactics.len() == 1 {
            attack[0].tactic = Some(tactic_short_name(&tactics[0]));
        } else {
            attack.extend(tactics.iter().map(|t| AttackRef {
                name: None,
                technique: None,
                tactic: Some(tactic_short_name(t)),
            }));
        }

        Ok(Normalized {
            source_event_id: d.str("id"),
            time: Some(time),
            product: Product {
                vendor: "Wazuh".to_owned(),
                name: "Wazuh".to_owned(),
            },
            rule: Rule {
                id: d.str("rule.id"),
                name: description.clone(),
                category: d.strs("rule.groups").first().cloned(),
            },
            severity: level_to_severity(level),
            vendor_severity: Some(level.to_string()),
            message: description,
            entities,
            attack,
        })
    }
}

/// Wazuh rule levels (0–15) onto OCSF severity: 0–2 informational, 3–6 low, 7–10 medium, 11–13 high,
/// 14–15 critical, following Wazuh's own classification of the levels.
fn level_to_severity(level: u64) -> Severity {
    match level {
        0..=2 => Severity::Informational,
        3..=6 => Severity::Low,
        7..=10 => Severity::Medium,
        11..=13 => Severity::High,
        _ => Severity::Critical,
    }
}

/// "Credential Access" → "credential-access" (ATT&CK's tactic short name).
pub(crate) fn tactic_short_name(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace([' ', '_'], "-")
}
