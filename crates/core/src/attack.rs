//! ATT&CK Enterprise tactics in kill-chain order: the one table every stage uses (triage orders
//! timelines by it, the OCSF export names tactics from it).

/// (id, short name, display name), in kill-chain order.
pub const TACTICS: [(&str, &str, &str); 14] = [
    ("TA0043", "reconnaissance", "Reconnaissance"),
    ("TA0042", "resource-development", "Resource Development"),
    ("TA0001", "initial-access", "Initial Access"),
    ("TA0002", "execution", "Execution"),
    ("TA0003", "persistence", "Persistence"),
    ("TA0004", "privilege-escalation", "Privilege Escalation"),
    ("TA0005", "defense-evasion", "Defense Evasion"),
    ("TA0006", "credential-access", "Credential Access"),
    ("TA0007", "discovery", "Discovery"),
    ("TA0008", "lateral-movement", "Lateral Movement"),
    ("TA0009", "collection", "Collection"),
    ("TA0011", "command-and-control", "Command and Control"),
    ("TA0010", "exfiltration", "Exfiltration"),
    ("TA0040", "impact", "Impact"),
];

/// Kill-chain position (0-based) of a tactic given as id, short name or display name.
pub fn tactic_order(tactic: &str) -> Option<usize> {
    let t = tactic.trim();
    TACTICS.iter().position(|(id, short, name)| {
        id.eq_ignore_ascii_case(t) || short.eq_ignore_ascii_case(t) || name.eq_ignore_ascii_case(t)
    })
}
