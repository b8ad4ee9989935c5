//! The one responder trait every vendor integration implements, what it is asked to do, and the
//! error it returns.

use async_trait::async_trait;
use picket_enrich::ConnectorError;
use serde::{Deserialize, Serialize};

/// One action to carry out, exactly as approved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRequest {
    /// The action's id in Picket; also the idempotency key sent to vendors that take one
    /// (PagerDuty `dedup_key`, TheHive `sourceRef`, the webhook `Idempotency-Key` header).
    pub action_id: String,
    /// A catalog action (`isolate_host`, `block_ip`, `notify`, …).
    pub action: String,
    /// The IP, host name or user acted on; empty for untargeted actions.
    pub target: String,
    pub params: serde_json::Value,
    pub incident: Option<String>,
    /// One line for humans: what is done and why (notifications carry it).
    pub summary: String,
}

impl ActionRequest {
    /// A string parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).and_then(|v| v.as_str())
    }

    /// The text a notification carries: `params.message`, else the summary.
    pub fn message(&self) -> &str {
        self.param("message").unwrap_or(&self.summary)
    }
}

/// What the vendor did, as recorded on the action and in the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionOutcome {
    /// One line: "host web01 (aid 4f…) contained".
    pub summary: String,
    /// Vendor identifiers (machine action id, case number, dedup key…).
    pub details: serde_json::Value,
}

/// An action a responder performs, with its undo and whether a repeat is harmless.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionDef {
    pub action: String,
    /// The action that reverses it (`None`: irreversible or nothing to undo).
    pub undo: Option<String>,
    /// Sending it again after an interrupted attempt has no further effect (the vendor call sets a
    /// state, or carries an idempotency key the vendor honours). Only these are resumed after a
    /// crash; the others are marked `failed` with outcome unknown, for a human.
    pub idempotent: bool,
}

impl ActionDef {
    pub fn new(action: &str, undo: Option<&str>, idempotent: bool) -> Self {
        Self {
            action: action.into(),
            undo: undo.map(Into::into),
            idempotent,
        }
    }
}

/// A vendor integration that carries out response actions.
///
/// Implementations only translate one [`ActionRequest`] into the vendor's documented calls. Policy,
/// approvals, idempotency bookkeeping and the audit trail are the executor's.
#[async_trait]
pub trait Responder: Send + Sync {
    /// The actions this instance performs.
    fn actions(&self) -> Vec<ActionDef>;

    async fn execute(&self, req: &ActionRequest) -> Result<ActionOutcome, RespondError>;
}

/// Why an action did not complete. `code()` is stable (recorded on the action and audited). Never
/// holds a secret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RespondError {
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error("target not found: {0}")]
    TargetNotFound(String),
    #[error("the vendor refused the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("this responder does not perform `{0}`")]
    Unsupported(String),
    #[error("template: {0}")]
    Template(String),
}

impl RespondError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Connector(e) => e.code(),
            Self::TargetNotFound(_) => "target_not_found",
            Self::Rejected { .. } => "rejected",
            Self::Unsupported(_) => "unsupported_action",
            Self::Template(_) => "template",
        }
    }

    /// Trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Connector(e) if e.is_transient())
    }
}
