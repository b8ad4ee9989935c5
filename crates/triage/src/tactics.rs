//! ATT&CK tactics in kill-chain order, and the documented keyword mapping used when a vendor names no
//! technique or tactic (see docs/assessment.md). Each mapping carries its confidence.

use std::borrow::Cow;

pub use picket_core::attack::TACTICS;

/// Kill-chain position (0-based) of a tactic given as id, short name or display name.
pub fn order(tactic: &str) -> Option<usize> {
    picket_core::attack::tactic_order(tactic)
}

/// The tactic's short name for any accepted spelling.
pub fn short_name(tactic: &str) -> Option<&'static str> {
    order(tactic).map(|i| TACTICS[i].1)
}

/// Tactics whose presence alone means an intrusion is under way, not just being attempted.
pub fn is_post_compromise(tactic: &str) -> bool {
    order(tactic).is_some_and(|i| i >= 3)
}

/// A tactic inferred from a rule's words.
#[derive(Debug, Clone, PartialEq)]
pub struct Inferred {
    pub tactic: Cow<'static, str>,
    pub technique: Option<Cow<'static, str>>,
    /// The technique's ATT&CK name, when a bundle is loaded.
    pub name: Option<String>,
    /// How far the words alone support the mapping, in [0, 1].
    pub confidence: f64,
    /// The keyword or technique name that matched (cited in evidence).
    pub keyword: Cow<'static, str>,
}

/// A technique named in the text, from the ATT&CK bundle's technique names (see
/// `picket_intel::attack`), used when the keyword table finds nothing.
pub fn infer_from_catalog(catalog: &picket_intel::AttackCatalog, text: &str) -> Option<Inferred> {
    let m = catalog.techniques_named_in(text).into_iter().next()?;
    let r = catalog.resolve(&m.technique).ok()?;
    let tactic = r.tactics.first()?.clone();
    Some(Inferred {
        tactic: Cow::Owned(tactic),
        technique: Some(Cow::Owned(r.id.clone())),
        name: catalog.full_name(&r.id),
        confidence: m.confidence,
        keyword: Cow::Owned(m.matched),
    })
}

/// Keyword → (tactic, technique, confidence). Matched case-insensitively as whole words or phrases
/// against rule names and descriptions; the first match wins, so specific phrases come first.
const KEYWORDS: &[(&str, &str, Option<&str>, f64)] = &[
    ("reverse shell", "execution", Some("T1059"), 0.8),
    ("webshell", "persistence", Some("T1505.003"), 0.8),
    ("web shell", "persistence", Some("T1505.003"), 0.8),
    (
        "privilege escalation",
        "privilege-escalation",
        Some("T1068"),
        0.7,
    ),
    ("brute force", "credential-access", Some("T1110"), 0.7),
    (
        "password spray",
        "credential-access",
        Some("T1110.003"),
        0.7,
    ),
    (
        "multiple auth failures",
        "credential-access",
        Some("T1110"),
        0.6,
    ),
    (
        "authentication failure",
        "credential-access",
        Some("T1110"),
        0.3,
    ),
    ("login failed", "credential-access", Some("T1110"), 0.3),
    ("excessive failed", "credential-access", Some("T1110"), 0.5),
    ("failed logins", "credential-access", Some("T1110"), 0.5),
    ("failed logons", "credential-access", Some("T1110"), 0.5),
    ("failed login", "credential-access", Some("T1110"), 0.3),
    ("logon failure", "credential-access", Some("T1110"), 0.3),
    (
        "password guessing",
        "credential-access",
        Some("T1110.001"),
        0.6,
    ),
    ("invalid user", "credential-access", Some("T1110"), 0.4),
    ("credential dump", "credential-access", Some("T1003"), 0.8),
    ("mimikatz", "credential-access", Some("T1003.001"), 0.9),
    ("port scan", "reconnaissance", Some("T1595"), 0.6),
    ("nmap", "reconnaissance", Some("T1595"), 0.6),
    ("scan", "reconnaissance", Some("T1595"), 0.5),
    ("wpscan", "reconnaissance", Some("T1595.002"), 0.7),
    ("forbidden file", "discovery", Some("T1083"), 0.3),
    ("suspicious url", "initial-access", Some("T1190"), 0.4),
    ("sql injection", "initial-access", Some("T1190"), 0.7),
    ("exploit", "initial-access", Some("T1190"), 0.5),
    ("lateral movement", "lateral-movement", None, 0.7),
    ("ransomware", "impact", Some("T1486"), 0.9),
    ("service stop", "impact", Some("T1489"), 0.5),
    ("service_stop", "impact", Some("T1489"), 0.5),
    ("data destruction", "impact", Some("T1485"), 0.8),
    ("exfiltration", "exfiltration", None, 0.7),
    ("dns tunnel", "command-and-control", Some("T1071.004"), 0.7),
    (
        "entropy in dns",
        "command-and-control",
        Some("T1071.004"),
        0.4,
    ),
    ("beacon", "command-and-control", Some("T1071"), 0.5),
    ("c2", "command-and-control", Some("T1071"), 0.5),
    (
        "command and control",
        "command-and-control",
        Some("T1071"),
        0.7,
    ),
    ("trojan", "execution", Some("T1204"), 0.6),
    ("malware", "execution", Some("T1204"), 0.6),
    ("backdoor", "persistence", None, 0.7),
    ("rootkit", "defense-evasion", Some("T1014"), 0.7),
    ("log cleared", "defense-evasion", Some("T1070.001"), 0.7),
    (
        "logging disabled",
        "defense-evasion",
        Some("T1562.008"),
        0.6,
    ),
    (
        "real-time protection disabled",
        "defense-evasion",
        Some("T1562.001"),
        0.7,
    ),
    ("sudo", "privilege-escalation", Some("T1548.003"), 0.3),
    ("new user", "persistence", Some("T1136"), 0.4),
];

/// All keywords in one automaton, built on first use (immutable, shared).
static MATCHER: std::sync::LazyLock<aho_corasick::AhoCorasick> = std::sync::LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(KEYWORDS.iter().map(|k| k.0))
        .expect("static keyword table builds")
});

/// The earliest keyword *of the table* found in `text` as whole words (table order decides, not
/// position in the text).
pub fn infer(text: &str) -> Option<Inferred> {
    let bytes = text.as_bytes();
    let best = MATCHER
        .find_overlapping_iter(text)
        .filter(|m| {
            let before_ok = m.start() == 0 || !bytes[m.start() - 1].is_ascii_alphanumeric();
            let after_ok = m.end() == bytes.len() || !bytes[m.end()].is_ascii_alphanumeric();
            before_ok && after_ok
        })
        .map(|m| m.pattern().as_usize())
        .min()?;
    let (kw, tactic, technique, confidence) = KEYWORDS[best];
    Some(Inferred {
        tactic: Cow::Borrowed(tactic),
        technique: technique.map(Cow::Borrowed),
        name: None,
        confidence,
        keyword: Cow::Borrowed(kw),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tactics_are_ordered_by_kill_chain() {
        assert!(order("reconnaissance") < order("TA0006"));
        assert!(order("Credential Access") < order("impact"));
        assert_eq!(short_name("TA0011"), Some("command-and-control"));
        assert_eq!(order("no-such-tactic"), None);
    }

    #[test]
    fn keywords_match_whole_words_only() {
        assert_eq!(
            infer("sshd: brute force trying to get access")
                .unwrap()
                .tactic,
            "credential-access"
        );
        assert_eq!(
            infer("ET SCAN Possible Nmap User-Agent").unwrap().keyword,
            "nmap"
        );
        assert!(infer("Wazuh: ClamAV database update").is_none());
        assert!(
            infer("describes scanner settings").is_none(),
            "`scan` inside `scanner` is not a word match"
        );
        assert!(infer("Dovecot Authentication Success.").is_none());
    }
}
