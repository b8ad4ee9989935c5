use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// Input versions: raw alert SHA-256s accepted, config and knowledge file hashes.
    Input,
    Config,
    /// A call to a connector or tool (secrets redacted).
    ConnectorCall,
    /// A decision: an incident's verdict, priority and escalation with the evidence behind them.
    Decision,
    /// Analyst feedback on an incident.
    Feedback,
    Approval,
    Action,
    /// Start, stop, checkpoints.
    System,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Input => "input",
            Self::Config => "config",
            Self::ConnectorCall => "connector_call",
            Self::Decision => "decision",
            Self::Feedback => "feedback",
            Self::Approval => "approval",
            Self::Action => "action",
            Self::System => "system",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Input,
            Self::Config,
            Self::ConnectorCall,
            Self::Decision,
            Self::Feedback,
            Self::Approval,
            Self::Action,
            Self::System,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A record before it is chained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRecord {
    pub at: Timestamp,
    pub kind: AuditKind,
    /// Who or what: `token:<name>`, `worker`, `connector:<name>`, `cli`.
    pub actor: String,
    /// What about: `alert:<id>`, `incident:<id>`, `config`…
    pub subject: String,
    /// Redacted before it gets here (see [`crate::Redactor`]).
    pub data: serde_json::Value,
}

/// One record of the trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: u64,
    pub at: Timestamp,
    pub kind: AuditKind,
    pub actor: String,
    pub subject: String,
    pub data: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Serialize)]
struct Canonical<'a> {
    seq: u64,
    at: String,
    kind: &'static str,
    actor: &'a str,
    subject: &'a str,
    data: &'a serde_json::Value,
    prev_hash: &'a str,
}

impl AuditRecord {
    /// The bytes the hash covers.
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(&Canonical {
            seq: self.seq,
            at: self.at.to_string(),
            kind: self.kind.as_str(),
            actor: &self.actor,
            subject: &self.subject,
            data: &self.data,
            prev_hash: &self.prev_hash,
        })
        .unwrap_or_default()
    }

    /// The hash this record should carry.
    pub fn compute_hash(&self) -> String {
        hex::encode(Sha256::digest(self.canonical()))
    }
}

/// Chains `new` after `prev` (None: the first record).
pub fn chain(prev: Option<(u64, &str)>, new: NewRecord) -> AuditRecord {
    let (seq, prev_hash) = match prev {
        Some((s, h)) => (s + 1, h.to_owned()),
        None => (1, GENESIS.to_owned()),
    };
    let mut r = AuditRecord {
        seq,
        at: new.at,
        kind: new.kind,
        actor: new.actor,
        subject: new.subject,
        data: new.data,
        prev_hash,
        hash: String::new(),
    };
    r.hash = r.compute_hash();
    r
}
