//! Detection of injection-like content in alert text: instructions addressed to an automated
//! reader (an LLM) rather than to the system that logged them. Deterministic and cheap, so the
//! engine flags every incident whose alerts carry such text, with or without an LLM configured;
//! the agent also scans everything a model reads (tool results included) with it.

use std::sync::LazyLock;

use regex::RegexSet;

/// One kind of injection-like content.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// "ignore previous instructions", "disregard the above"…
    OverrideInstructions,
    /// "you are now…", "act as…", "new system prompt"…
    RoleChange,
    /// Chat-template or role markers: `<|im_start|>`, `[INST]`, `### system`, `assistant:`…
    TemplateMarkers,
    /// Telling the reader how to judge or handle the alert: "mark as benign", "do not escalate"…
    VerdictSteering,
    /// Asking for response actions: "isolate all hosts", "disable the admin account", "block 0.0.0.0/0"…
    ActionSteering,
    /// Asking to reveal or send secrets or the prompt.
    Exfiltration,
}

const PATTERNS: &[(Signal, &str)] = &[
    (
        Signal::OverrideInstructions,
        r"(?i)\b(ignore|disregard|forget|override)\b[^.\n]{0,40}\b(previous|prior|above|earlier|all|any|your)\b[^.\n]{0,20}\b(instructions?|rules|prompts?|directives?|directions|guidelines)",
    ),
    (
        Signal::OverrideInstructions,
        r"(?i)\bnew (instructions?|task)\s*:",
    ),
    (
        Signal::OverrideInstructions,
        r"(?i)\b(stop everything|just (say|print|output|respond with|reply with))\b",
    ),
    (
        Signal::OverrideInstructions,
        r"(?i)\b(append|add|include|insert|put)\b[^.\n]{0,30}\b(to|in|into) your (answer|response|reply|output|summary)",
    ),
    (
        Signal::OverrideInstructions,
        r"(?i)\b(note|message|instructions?|hint|todo)\s+(to|for)\s+(any |the |all )?(ai|llms?|assistants?|bots?|models?|language models?|summari[sz]ers?|automated (readers?|analysts?|systems?))\b",
    ),
    (
        Signal::RoleChange,
        r"(?i)\b(you are now|from now on,? you|you (must|should|will) (now )?act as|pretend (to be|you are)|new system prompt|developer mode)\b",
    ),
    (
        Signal::TemplateMarkers,
        r"(?i)(<\|im_(start|end)\|>|\[/?INST\]|<</?SYS>>|^\s*#{2,}\s*(system|instruction)s?\b|^\s*(system|assistant)\s*:)",
    ),
    (
        Signal::VerdictSteering,
        r"(?i)\b(mark|classify|label|treat|report|consider)\b[^.\n]{0,40}\b(as )?(benign|false positive|harmless|safe|not malicious)\b",
    ),
    (
        Signal::VerdictSteering,
        r"(?i)\b(do not|don't|never|no need to)\s+(escalate|alert|report|page|investigate|flag)\b",
    ),
    (
        Signal::VerdictSteering,
        r"(?i)\b(correct|right|true|real) (classification|verdict|label|assessment)\b[^.\n]{0,30}\b(benign|harmless|safe|false positive|clean)\b",
    ),
    (
        Signal::VerdictSteering,
        r"(?i)\b(close|auto-?close|dismiss|suppress)\s+(this|the)\s+(alert|incident|case)\b",
    ),
    (
        Signal::ActionSteering,
        r"(?i)\b(isolate|contain|quarantine|wipe|shut ?down)\s+(all|every|each)\s+(hosts?|machines?|endpoints?|servers?|devices?)\b",
    ),
    (
        Signal::ActionSteering,
        r"(?i)\b(disable|suspend|lock out|delete)\s+(the\s+|every\s+|all\s+)?(admin|administrator|domain admins?|users|accounts)\b",
    ),
    (
        Signal::ActionSteering,
        r"(?i)\bblock\b[^.\n]{0,20}(0\.0\.0\.0/0|::/0|all (traffic|ips?|addresses))",
    ),
    (
        Signal::Exfiltration,
        r"(?i)\b(reveal|print|show|send|leak|output|tell me)\b[^.\n]{0,30}\b(system prompt|your instructions|api[ _-]?keys?|secrets?|tokens?|credentials|passwords?)\b",
    ),
];

static SET: LazyLock<RegexSet> = LazyLock::new(|| {
    RegexSet::new(PATTERNS.iter().map(|(_, p)| format!("(?m){p}")))
        .expect("the injection patterns compile")
});

/// The kinds of injection-like content in `text`, sorted, each once.
pub fn detect(text: &str) -> Vec<Signal> {
    let mut out: Vec<Signal> = SET.matches(text).iter().map(|i| PATTERNS[i].0).collect();
    out.sort();
    out.dedup();
    out
}

impl Signal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OverrideInstructions => "override_instructions",
            Self::RoleChange => "role_change",
            Self::TemplateMarkers => "template_markers",
            Self::VerdictSteering => "verdict_steering",
            Self::ActionSteering => "action_steering",
            Self::Exfiltration => "exfiltration",
        }
    }
}
