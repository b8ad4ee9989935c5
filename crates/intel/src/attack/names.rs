//! Technique names found in free text (rule names, descriptions), for alerts whose vendor names no
//! technique. One Aho-Corasick pass over the lowercased text; a match must stand as whole words.
//!
//! Confidence (documented in docs/attack.md): a sub-technique's own name of two words or more 0.6
//! (e.g. "PowerShell" is one word: 0.45); a technique name of two words or more 0.55; a one-word
//! technique name 0.4; names that are everyday words in alert text are not matched at all
//! (`GENERIC`). The longest match at a position wins; current (not revoked, not deprecated)
//! techniques only.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};

use super::Technique;

/// Names too common in alert text to mean the technique.
const GENERIC: &[&str] = &[
    "proxy",
    "services",
    "software",
    "service",
    "default accounts",
    "local accounts",
    "domain accounts",
    "cloud accounts",
    "rootkit",
    "compromise",
    "hardware",
    "sharepoint",
    "email addresses",
    "ip addresses",
    "dns",
    "web protocols",
    "file and directory discovery",
    "data staged",
    "exfiltration",
    "replication",
    "server",
    "application",
    "network",
    "scanning",
    "modify registry",
    "reflection",
    "hooking",
    "additional cloud credentials",
    "launchctl",
    "launchd",
    "install root certificate",
    "domains",
    "binary padding",
    "multi-factor authentication",
    "odbcconf",
    "verclsid",
    "mavinject",
    "mmc",
    "msiexec",
    "regsvr32",
    "rundll32",
    "regsvcs/regasm",
    "installutil",
    "mshta",
    "control panel",
    "compiled html file",
    "cmstp",
    "at",
    "cron",
    "systemd timers",
    "container orchestration job",
    "scheduled task",
    "ssh",
    "rdp",
    "vnc",
    "smb/windows admin shares",
    "windows remote management",
    "distributed component object model",
    "cloud services",
    "direct cloud vm connections",
];

/// A technique named in text.
#[derive(Debug, Clone, PartialEq)]
pub struct NameMatch {
    pub technique: String,
    pub name: String,
    pub confidence: f64,
    /// The words that matched.
    pub matched: String,
}

#[derive(Debug, Clone)]
pub(crate) struct NameIndex {
    ac: Option<AhoCorasick>,
    /// Per pattern: (technique id, name, confidence).
    entries: Vec<(String, String, f64)>,
}

fn confidence(name: &str, sub: bool) -> f64 {
    let words = name.split_whitespace().count();
    match (sub, words >= 2) {
        (true, true) => 0.6,
        (false, true) => 0.55,
        (true, false) => 0.45,
        (false, false) => 0.4,
    }
}

impl NameIndex {
    pub(crate) fn build(techniques: &HashMap<String, Technique>) -> Self {
        let mut by_name: HashMap<String, (String, String, f64)> = HashMap::new();
        for t in techniques.values().filter(|t| !t.revoked && !t.deprecated) {
            let lower = t.name.to_lowercase();
            if lower.len() < 4 || GENERIC.contains(&lower.as_str()) {
                continue;
            }
            let c = confidence(&t.name, t.id.contains('.'));
            // Two techniques sharing a name (a sub-technique named like another technique): keep the
            // parent-level one, which is the broader claim.
            match by_name.get(&lower) {
                Some((id, _, _)) if !id.contains('.') => {}
                _ => {
                    by_name.insert(lower, (t.id.clone(), t.name.clone(), c));
                }
            }
        }
        let mut entries: Vec<(String, (String, String, f64))> = by_name.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let patterns: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .ok();
        Self {
            ac,
            entries: entries.into_iter().map(|(_, e)| e).collect(),
        }
    }

    pub(crate) fn find(&self, text: &str) -> Vec<NameMatch> {
        let Some(ac) = &self.ac else {
            return Vec::new();
        };
        let lower = text.to_lowercase();
        let bytes = lower.as_bytes();
        let word = |b: u8| b.is_ascii_alphanumeric();
        let mut out: Vec<NameMatch> = Vec::new();
        for m in ac.find_iter(&lower) {
            let before = m.start().checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(m.end()).copied();
            if before.is_some_and(word) || after.is_some_and(word) {
                continue;
            }
            let (id, name, c) = &self.entries[m.pattern().as_usize()];
            if out.iter().any(|x| &x.technique == id) {
                continue;
            }
            out.push(NameMatch {
                technique: id.clone(),
                name: name.clone(),
                confidence: *c,
                matched: lower[m.start()..m.end()].to_owned(),
            });
        }
        out.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        out
    }
}
