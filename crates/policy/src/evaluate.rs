//! Evaluating one proposal against the policy and what has already run.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalog::{ActionSpec, Tier, TimeoutBehavior, default_catalog};
use crate::policy::Policy;

/// Who proposed an action. Models (agent, MCP client) can propose; they never approve, and their
/// proposals never run without a human when the tier asks for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proposer {
    Playbook,
    Analyst,
    Api,
    Agent,
    Mcp,
}

impl Proposer {
    /// Whether the proposal would run without a human acting (an automated action).
    pub fn automated(self) -> bool {
        matches!(self, Self::Playbook | Self::Agent | Self::Mcp)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub action: String,
    /// The target's value (IP, host name, user), empty for untargeted actions.
    pub target: String,
    pub params: serde_json::Value,
    pub incident: Option<String>,
    pub proposer: Proposer,
    /// The requesting identity (token or playbook name).
    pub requester: String,
    /// The target is a protected asset in the inventory.
    pub protected: bool,
    /// At least this many human approvals, whatever the tier (a playbook's `approval` step). A
    /// proposer can ask for more approval than the policy's, never less.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub min_approvals: u8,
    /// The target's asset class (its criticality in the inventory), for `[asset_classes]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_class: Option<String>,
    /// The target is not an entity of the incident (set by the service for model proposals): a
    /// model may only act on what the incident contains.
    #[serde(default, skip_serializing_if = "is_false")]
    pub out_of_scope: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Whether `target` is a sane target for an action on `kind`: an IP action takes one address or a
/// network no broader than a /24 (IPv4) or /48 (IPv6), never the unspecified, loopback or
/// multicast ranges; host and user actions take one name.
pub fn check_target(kind: crate::catalog::TargetKind, target: &str) -> Result<(), String> {
    use crate::catalog::TargetKind;
    use std::net::IpAddr;
    let t = target.trim();
    let named = |what: &str| {
        if t.is_empty() {
            Err(format!("a {what} action needs a target"))
        } else if t.len() > 256 || t.chars().any(|c| c.is_control() || c.is_whitespace()) {
            Err(format!("`{}` is not one {what} name", t.escape_debug()))
        } else {
            Ok(())
        }
    };
    match kind {
        TargetKind::Ip => {
            let net: ipnet::IpNet = match t.parse::<IpAddr>() {
                Ok(ip) => ip.into(),
                Err(_) => t.parse().map_err(|_| {
                    format!("`{}` is not an IP address or network", t.escape_debug())
                })?,
            };
            let addr = net.network();
            if addr.is_unspecified() || addr.is_loopback() || addr.is_multicast() {
                return Err(format!(
                    "`{t}` is an unspecified, loopback or multicast range"
                ));
            }
            let min = if net.addr().is_ipv4() { 24 } else { 48 };
            if net.prefix_len() < min {
                return Err(format!(
                    "`{t}` is broader than a /{min}: block addresses, not the internet"
                ));
            }
            Ok(())
        }
        TargetKind::Host => named("host"),
        TargetKind::User => named("user"),
        TargetKind::Incident | TargetKind::None => Ok(()),
    }
}

fn is_zero(n: &u8) -> bool {
    *n == 0
}

/// An action that ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Executed {
    pub at: Timestamp,
    pub action: String,
    pub target: String,
    pub incident: Option<String>,
    pub automated: bool,
    /// Undone since (containment lifted).
    pub undone: bool,
}

/// What has run, as the policy needs it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub executed: Vec<Executed>,
    /// Automated response is paused (the breaker tripped, or an alert flood).
    pub paused: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// May run now.
    Allow,
    /// Runs only after `approvals` distinct human approvals of this exact action.
    NeedsApproval {
        approvals: u8,
        timeout_secs: u64,
        on_timeout: TimeoutBehavior,
    },
    /// May not run; `code` is stable.
    Deny { code: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub outcome: Outcome,
    pub tier: Option<Tier>,
    /// Every rule that shaped the outcome, in words.
    pub reasons: Vec<String>,
    /// The hash an approval must carry (see [`approval_hash`]).
    pub approval_hash: String,
    pub policy_version: String,
    /// Set when this proposal trips the breaker: automated response must pause and on-call be paged.
    pub trip_breaker: Option<String>,
}

/// SHA-256 over the exact action: name, target, incident and parameters (object keys sorted).
/// Changed parameters need a new approval.
pub fn approval_hash(p: &Proposal) -> String {
    let canonical = serde_json::json!({
        "action": p.action, "target": p.target, "incident": p.incident, "params": p.params,
    });
    hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
}

fn within(e: &Executed, now: Timestamp, secs: u64) -> bool {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    now.duration_since(e.at) < SignedDuration::from_secs(secs)
}

fn deny(
    code: &str,
    reasons: Vec<String>,
    p: &Proposal,
    policy: &Policy,
    tier: Option<Tier>,
) -> Decision {
    Decision {
        outcome: Outcome::Deny { code: code.into() },
        tier,
        reasons,
        approval_hash: approval_hash(p),
        policy_version: policy.version.clone(),
        trip_breaker: None,
    }
}

/// Evaluates one proposal. Rules, in order: allowlist; rate limits (per action and global);
/// blast radius (active per incident, per window); then approvals: the tier's, at least dual for a
/// protected target, at least one for an automated irreversible action or while automated response
/// is paused; the breaker trips on a spike or the same target hit repeatedly.
pub fn evaluate(policy: &Policy, p: &Proposal, history: &History, now: Timestamp) -> Decision {
    let catalog = default_catalog();
    let spec: Option<&ActionSpec> = catalog.iter().find(|a| a.name == p.action);
    let Some(spec) = spec.filter(|_| policy.allow.contains(&p.action)) else {
        return deny(
            "not_allowed",
            vec![format!(
                "`{}` is not on the policy's action allowlist",
                p.action
            )],
            p,
            policy,
            None,
        );
    };
    if let Err(why) = check_target(spec.target, &p.target) {
        return deny("invalid_target", vec![why], p, policy, Some(spec.tier));
    }
    if p.out_of_scope && matches!(p.proposer, Proposer::Agent | Proposer::Mcp) {
        return deny(
            "out_of_scope",
            vec![format!(
                "target {} is not an entity of the incident: a model may only act on what the \
                 incident contains",
                p.target
            )],
            p,
            policy,
            Some(spec.tier),
        );
    }
    let mut tier = policy.tiers.get(&p.action).copied().unwrap_or(spec.tier);
    let mut reasons = vec![format!("`{}` is {:?} impact", p.action, tier).to_lowercase()];
    let class = p
        .asset_class
        .as_deref()
        .and_then(|c| policy.asset_classes.get(c).map(|a| (c, a)));
    if let Some((name, c)) = class
        && let Some(min) = c.min_tier
        && min > tier
    {
        tier = min;
        reasons.push(
            format!(
                "target {} is a {name} asset: at least {min:?} impact",
                p.target
            )
            .to_lowercase(),
        );
    }
    let timeout_secs = class
        .and_then(|(_, c)| c.timeout_secs)
        .or_else(|| policy.timeouts.get(&p.action).copied())
        .unwrap_or_else(|| tier.default_timeout_secs().max(15 * 60));

    // Rate limits count what ran automatically and what is being proposed automatically.
    for r in &policy.rate_limits {
        let applies = r.action.as_deref().is_none_or(|a| a == p.action);
        if !applies || (r.action.is_none() && !p.proposer.automated()) {
            continue;
        }
        let used = history
            .executed
            .iter()
            .filter(|e| r.action.as_deref().is_none_or(|a| a == e.action))
            .filter(|e| r.action.is_some() || e.automated)
            .filter(|e| within(e, now, r.per_secs))
            .count() as u32;
        if used >= r.max {
            reasons.push(format!(
                "rate limit: {used} of {} {} in the last {} s",
                r.max,
                r.action.as_deref().unwrap_or("automated actions"),
                r.per_secs
            ));
            return deny("rate_limited", reasons, p, policy, Some(tier));
        }
    }
    // Blast radius: containment still active per incident, and within the window overall.
    for b in policy.blast_radius.iter().filter(|b| b.action == p.action) {
        let active = history
            .executed
            .iter()
            .filter(|e| e.action == p.action && !e.undone && e.incident == p.incident)
            .count() as u32;
        if active >= b.max_active_per_incident {
            reasons.push(format!(
                "blast radius: {active} targets already under `{}` in this incident (max {})",
                p.action, b.max_active_per_incident
            ));
            return deny("blast_radius", reasons, p, policy, Some(tier));
        }
        let recent = history
            .executed
            .iter()
            .filter(|e| e.action == p.action && within(e, now, b.window_secs))
            .count() as u32;
        if recent >= b.max_per_window {
            reasons.push(format!(
                "blast radius: {recent} `{}` in the last {} s (max {})",
                p.action, b.window_secs, b.max_per_window
            ));
            return deny("blast_radius", reasons, p, policy, Some(tier));
        }
    }

    let mut approvals = tier.approvals();
    let mut may_auto = tier.auto();
    if p.protected {
        approvals = approvals.max(2);
        may_auto = false;
        reasons.push(format!(
            "target {} is a protected asset: dual approval",
            p.target
        ));
    }
    if p.proposer.automated() && spec.undo.is_none() && tier != Tier::ReadOnly {
        approvals = approvals.max(1);
        may_auto = false;
        reasons.push("irreversible (no undo recorded): never runs automatically".into());
    }
    if p.min_approvals > 0 {
        approvals = approvals.max(p.min_approvals);
        may_auto = false;
        reasons.push(format!(
            "the proposer asks for {} human approval(s)",
            p.min_approvals
        ));
    }
    if let Some(why) = &history.paused
        && p.proposer.automated()
    {
        approvals = approvals.max(1);
        may_auto = false;
        reasons.push(format!("automated response is paused: {why}"));
    }
    if !p.proposer.automated() {
        // A human proposing is not a human approving: the tier's approvals still apply, but an
        // optional or recommended review does not hold a human's own low-impact action.
        may_auto = may_auto || approvals == 0;
    }

    // Escalation triggers.
    let br = &policy.breaker;
    let trip_breaker = if p.proposer.automated() {
        let recent: Vec<&Executed> = history
            .executed
            .iter()
            .filter(|e| e.automated && within(e, now, br.window_secs))
            .collect();
        let same = recent
            .iter()
            .filter(|e| e.target == p.target && !p.target.is_empty())
            .count() as u32;
        if same + 1 > br.same_target_max {
            Some(format!(
                "target {} hit {} times within {} s",
                p.target,
                same + 1,
                br.window_secs
            ))
        } else if recent.len() as u32 + 1 > br.spike_max {
            Some(format!(
                "{} automated actions within {} s",
                recent.len() + 1,
                br.window_secs
            ))
        } else {
            None
        }
    } else {
        None
    };
    if let Some(t) = &trip_breaker {
        approvals = approvals.max(1);
        may_auto = false;
        reasons.push(format!(
            "escalation trigger: {t}; automated response pauses, on-call is paged"
        ));
    }

    let outcome = if approvals == 0 && may_auto {
        Outcome::Allow
    } else {
        Outcome::NeedsApproval {
            approvals: approvals.max(1),
            timeout_secs,
            on_timeout: if approvals >= 2 {
                TimeoutBehavior::EscalateToOnCall
            } else {
                match tier.on_timeout() {
                    TimeoutBehavior::AutoProceed => TimeoutBehavior::QueueForReview,
                    other => other,
                }
            },
        }
    };
    Decision {
        outcome,
        tier: Some(tier),
        reasons,
        approval_hash: approval_hash(p),
        policy_version: policy.version.clone(),
        trip_breaker,
    }
}

/// One approval or rejection by a human user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub user: String,
    /// The [`approval_hash`] of the exact action approved.
    pub approval_hash: String,
    pub approve: bool,
    /// Set when the approval was produced by a model: it never counts.
    #[serde(default)]
    pub by_model: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalState {
    Approved,
    Pending { have: u8, need: u8 },
    Rejected,
}

/// Whether `need` distinct humans other than the requester approved exactly this action.
pub fn approval_state(p: &Proposal, need: u8, approvals: &[Approval]) -> ApprovalState {
    let hash = approval_hash(p);
    let valid: Vec<&Approval> = approvals
        .iter()
        .filter(|a| a.approval_hash == hash && !a.by_model && a.user != p.requester)
        .collect();
    if valid.iter().any(|a| !a.approve) {
        return ApprovalState::Rejected;
    }
    let mut users: Vec<&str> = valid.iter().map(|a| a.user.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    let have = users.len().min(u8::MAX as usize) as u8;
    if have >= need {
        ApprovalState::Approved
    } else {
        ApprovalState::Pending { have, need }
    }
}
