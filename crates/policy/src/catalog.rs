//! The action catalog and the impact tiers with their defaults (the seeds' table).

use serde::{Deserialize, Serialize};

/// Impact tiers, least to most impactful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// Read-only enrichment: no approval, auto-proceed.
    ReadOnly,
    /// Low-impact containment (block an IP at the edge): approval optional, auto-proceed.
    Low,
    /// Medium (temporarily disable a user): approval recommended, queued for review on timeout.
    Medium,
    /// High (isolate a production server): approval required, blocked until approved.
    High,
    /// Critical (wipe an endpoint, revoke all sessions): dual approval, escalated on timeout.
    Critical,
}

/// What happens when an approval does not come in time. Never "approve".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeoutBehavior {
    AutoProceed,
    QueueForReview,
    BlockUntilApproved,
    EscalateToOnCall,
}

impl Tier {
    /// Approvals needed before it runs.
    pub fn approvals(self) -> u8 {
        match self {
            Self::ReadOnly | Self::Low | Self::Medium => 0,
            Self::High => 1,
            Self::Critical => 2,
        }
    }

    /// Whether it may run automatically (without any human) at all.
    pub fn auto(self) -> bool {
        matches!(self, Self::ReadOnly | Self::Low)
    }

    pub fn on_timeout(self) -> TimeoutBehavior {
        match self {
            Self::ReadOnly | Self::Low => TimeoutBehavior::AutoProceed,
            Self::Medium => TimeoutBehavior::QueueForReview,
            Self::High => TimeoutBehavior::BlockUntilApproved,
            Self::Critical => TimeoutBehavior::EscalateToOnCall,
        }
    }

    /// Default approval timeout, seconds.
    pub fn default_timeout_secs(self) -> u64 {
        match self {
            Self::ReadOnly | Self::Low => 0,
            Self::Medium => 30 * 60,
            Self::High => 60 * 60,
            Self::Critical => 15 * 60,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Ip,
    Host,
    User,
    Incident,
    None,
}

/// One action Picket knows how to propose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionSpec {
    pub name: String,
    pub tier: Tier,
    pub target: TargetKind,
    /// The action that undoes it; `None` for irreversible ones.
    pub undo: Option<String>,
    /// Containment actions count toward blast radius while active (not undone).
    pub containment: bool,
}

fn spec(
    name: &str,
    tier: Tier,
    target: TargetKind,
    undo: Option<&str>,
    containment: bool,
) -> ActionSpec {
    ActionSpec {
        name: name.into(),
        tier,
        target,
        undo: undo.map(Into::into),
        containment,
    }
}

/// The built-in catalog, with the seeds' tiers.
pub fn default_catalog() -> Vec<ActionSpec> {
    use TargetKind::*;
    use Tier::*;
    vec![
        spec("enrich_lookup", ReadOnly, None, Option::None, false),
        spec("notify", ReadOnly, None, Option::None, false),
        spec("create_case", ReadOnly, Incident, Option::None, false),
        spec("create_alert", ReadOnly, Incident, Option::None, false),
        // Paging changes no system state: a notification, like `notify`.
        spec("page_on_call", ReadOnly, None, Option::None, false),
        spec("block_ip", Low, Ip, Some("unblock_ip"), true),
        spec("unblock_ip", Low, Ip, Some("block_ip"), false),
        spec("disable_user", Medium, User, Some("enable_user"), true),
        spec("enable_user", Medium, User, Some("disable_user"), false),
        spec("suspend_user", Medium, User, Some("unsuspend_user"), true),
        spec("unsuspend_user", Medium, User, Some("suspend_user"), false),
        spec("isolate_host", High, Host, Some("release_host"), true),
        spec("release_host", High, Host, Some("isolate_host"), false),
        spec("revoke_sessions", Critical, User, Option::None, false),
        spec("wipe_endpoint", Critical, Host, Option::None, false),
    ]
}
