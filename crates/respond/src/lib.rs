//! Response actions carried out at the vendors: CrowdStrike Falcon, Microsoft Defender for Endpoint,
//! Microsoft Entra ID (Graph), Okta, a templated HTTP responder for firewalls, TheHive, Slack, Teams,
//! PagerDuty and a generic webhook.
//!
//! One [`Responder`] trait, one file per kind, one row per kind in [`responders::KINDS`]. Responders
//! only translate; the policy engine decides what may run and the executor (in the server) keeps each
//! action's state durable.

mod config;
mod oauth;
mod responder;
pub mod responders;

pub use config::{ResponderConfig, check_all};
pub use responder::{ActionDef, ActionOutcome, ActionRequest, RespondError, Responder};
pub use responders::{Configured, Context, Kind, Responders};
