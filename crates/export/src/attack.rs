//! ATT&CK techniques of an incident, with the names of the common ones (MISP galaxy tags and STIX
//! `attack-pattern` names need a name; an unlisted technique is named by its id).

use std::collections::BTreeMap;

use picket_core::attack::TACTICS;
use picket_core::{Alert, Incident};

/// Enterprise technique names for the ids Picket's keyword mapping and the supported vendors emit most.
/// Names as ATT&CK publishes them (v15–v17).
const NAMES: &[(&str, &str)] = &[
    ("T1003", "OS Credential Dumping"),
    ("T1003.001", "LSASS Memory"),
    ("T1014", "Rootkit"),
    ("T1021", "Remote Services"),
    ("T1021.001", "Remote Desktop Protocol"),
    ("T1027", "Obfuscated Files or Information"),
    ("T1036", "Masquerading"),
    ("T1041", "Exfiltration Over C2 Channel"),
    ("T1046", "Network Service Discovery"),
    ("T1048", "Exfiltration Over Alternative Protocol"),
    ("T1053", "Scheduled Task/Job"),
    ("T1055", "Process Injection"),
    ("T1059", "Command and Scripting Interpreter"),
    ("T1059.001", "PowerShell"),
    ("T1059.003", "Windows Command Shell"),
    ("T1059.004", "Unix Shell"),
    ("T1068", "Exploitation for Privilege Escalation"),
    ("T1070.001", "Clear Windows Event Logs"),
    ("T1071", "Application Layer Protocol"),
    ("T1071.004", "DNS"),
    ("T1078", "Valid Accounts"),
    ("T1078.004", "Cloud Accounts"),
    ("T1083", "File and Directory Discovery"),
    ("T1098", "Account Manipulation"),
    ("T1105", "Ingress Tool Transfer"),
    ("T1110", "Brute Force"),
    ("T1110.001", "Password Guessing"),
    ("T1110.003", "Password Spraying"),
    ("T1112", "Modify Registry"),
    ("T1133", "External Remote Services"),
    ("T1136", "Create Account"),
    ("T1190", "Exploit Public-Facing Application"),
    ("T1204", "User Execution"),
    ("T1204.002", "Malicious File"),
    ("T1485", "Data Destruction"),
    ("T1486", "Data Encrypted for Impact"),
    ("T1489", "Service Stop"),
    ("T1496", "Resource Hijacking"),
    ("T1505.003", "Web Shell"),
    ("T1530", "Data from Cloud Storage"),
    ("T1547.001", "Registry Run Keys / Startup Folder"),
    ("T1548.003", "Sudo and Sudo Caching"),
    ("T1562.001", "Disable or Modify Tools"),
    ("T1562.008", "Disable or Modify Cloud Logs"),
    ("T1566", "Phishing"),
    ("T1566.001", "Spearphishing Attachment"),
    ("T1566.002", "Spearphishing Link"),
    ("T1568.002", "Domain Generation Algorithms"),
    ("T1595", "Active Scanning"),
    ("T1595.002", "Vulnerability Scanning"),
];

/// A technique the incident names, with the tactics it was seen under (short names, kill-chain order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Technique {
    /// `T1110` or `T1110.001`, upper case.
    pub(crate) id: String,
    pub(crate) name: Option<&'static str>,
    pub(crate) tactics: Vec<&'static str>,
}

impl Technique {
    /// `https://attack.mitre.org/techniques/T1110/001/`.
    pub(crate) fn url(&self) -> String {
        format!(
            "https://attack.mitre.org/techniques/{}/",
            self.id.replace('.', "/")
        )
    }
}

fn valid_id(t: &str) -> bool {
    let Some(rest) = t.strip_prefix('T') else {
        return false;
    };
    let (main, sub) = rest.split_once('.').unwrap_or((rest, "000"));
    main.len() == 4 && sub.len() == 3 && main.bytes().chain(sub.bytes()).all(|b| b.is_ascii_digit())
}

fn tactic_short(t: &str) -> Option<&'static str> {
    picket_core::attack::tactic_order(t).map(|i| TACTICS[i].1)
}

/// Techniques from the incident's ATT&CK references, its timeline and its alerts, sorted by id.
/// Tactics named without a technique are left out (they appear in the report's text).
pub(crate) fn techniques(incident: &Incident, alerts: &[Alert]) -> Vec<Technique> {
    let mut found: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    let mut add = |technique: Option<&str>, tactic: Option<&str>| {
        let Some(id) = technique.map(|t| t.trim().to_ascii_uppercase()) else {
            return;
        };
        if !valid_id(&id) {
            return;
        }
        let tactics = found.entry(id).or_default();
        if let Some(short) = tactic.and_then(tactic_short)
            && !tactics.contains(&short)
        {
            tactics.push(short);
        }
    };
    for a in &incident.attack {
        add(a.technique.as_deref(), a.tactic.as_deref());
    }
    for t in &incident.timeline {
        add(t.technique.as_deref(), t.tactic.as_deref());
    }
    for alert in alerts {
        for a in &alert.attack {
            add(a.technique.as_deref(), a.tactic.as_deref());
        }
    }
    found
        .into_iter()
        .map(|(id, mut tactics)| {
            tactics.sort_by_key(|t| picket_core::attack::tactic_order(t));
            Technique {
                name: NAMES.iter().find(|(i, _)| *i == id).map(|(_, n)| *n),
                id,
                tactics,
            }
        })
        .collect()
}

/// Tactics (short names) the incident names without a technique, in kill-chain order.
pub(crate) fn bare_tactics(incident: &Incident) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = incident
        .attack
        .iter()
        .filter(|a| a.technique.is_none())
        .filter_map(|a| a.tactic.as_deref().and_then(tactic_short))
        .chain(
            incident
                .timeline
                .iter()
                .filter(|t| t.technique.is_none())
                .filter_map(|t| t.tactic.as_deref().and_then(tactic_short)),
        )
        .collect();
    out.sort_by_key(|t| picket_core::attack::tactic_order(t));
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_table_is_sorted_valid_and_unique() {
        for w in NAMES.windows(2) {
            assert!(w[0].0 < w[1].0, "{} before {}", w[0].0, w[1].0);
        }
        assert!(NAMES.iter().all(|(id, _)| valid_id(id)));
    }

    #[test]
    fn ids_are_checked() {
        assert!(valid_id("T1110") && valid_id("T1059.001"));
        assert!(!valid_id("T111") && !valid_id("T1059.1") && !valid_id("TA0006"));
    }
}
