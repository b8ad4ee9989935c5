//! The policy engine: every proposed response action — from a playbook, an analyst, the API, an LLM
//! agent or an MCP client — is evaluated here, and nothing else decides what may run.
//!
//! Pure: [`evaluate`] takes the policy, the proposal, what has already run ([`History`]) and the time,
//! and returns a [`Decision`] with every reason. Approvals are bound to a hash of the exact action and
//! parameters ([`approval_hash`]); [`approval_state`] counts them (distinct users, never the requester,
//! never a model).

mod catalog;
mod evaluate;
mod policy;

pub use catalog::{ActionSpec, TargetKind, Tier, TimeoutBehavior, default_catalog};
pub use evaluate::{
    Approval, ApprovalState, Decision, Executed, History, Outcome, Proposal, Proposer,
    approval_hash, approval_state, check_target, evaluate,
};
pub use policy::{AssetClass, BlastRadius, Breaker, Policy, RateLimit};
