//! The responder registry: one row per kind, one file per kind.

use std::sync::Arc;

use picket_enrich::{Http, Observer};

use crate::config::ResponderConfig;
use crate::responder::{ActionDef, RespondError, Responder};

mod crowdstrike;
// mod defender;
// mod entra;
// mod http;
// mod okta;
mod pagerduty;
// mod slack;
// mod teams;
// mod thehive;
mod webhook;

/// Builds a responder from a checked config.
pub type BuildFn = fn(&ResponderConfig, Context) -> Result<Arc<dyn Responder>, RespondError>;

/// What every responder gets to build with.
#[derive(Clone)]
pub struct Context {
    /// Receives one event per HTTP request (telemetry and the audit trail); never sees a secret.
    pub observer: Arc<dyn Observer>,
}

/// One row of the registry.
pub struct Kind {
    /// The `kind = "..."` value in `[[responders]]`.
    pub name: &'static str,
    pub description: &'static str,
    /// The vendor's API reference.
    pub docs: &'static str,
    pub default_base_url: Option<&'static str>,
    pub needs_base_url: bool,
    pub needs_secret: bool,
    /// What the secret is, for error messages.
    pub secret: &'static str,
    /// OAuth 2.0 client credentials (`client_id` plus the secret).
    pub oauth: bool,
    /// Needs a Microsoft Entra tenant id.
    pub tenant: bool,
    /// The actions an instance with this config performs.
    pub actions: fn(&ResponderConfig) -> Vec<ActionDef>,
    pub check: fn(&ResponderConfig) -> Vec<(String, String)>,
    pub build: BuildFn,
}

/// Every responder kind. Adding one: a file here and a row in this table.
pub static KINDS: &[&Kind] = &[
    &crowdstrike::KIND,
    // &defender::KIND,
    // &entra::KIND,
    // &okta::KIND,
    // &http::KIND,
    // &thehive::KIND,
    // &slack::KIND,
    // &teams::KIND,
    &pagerduty::KIND,
    &webhook::KIND,
];

pub fn find(name: &str) -> Option<&'static Kind> {
    KINDS.iter().copied().find(|k| k.name == name)
}

pub fn names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name).collect()
}

/// For kinds without options.
pub(crate) fn no_options(c: &ResponderConfig) -> Vec<(String, String)> {
    c.options
        .keys()
        .map(|k| {
            (
                format!("options.{k}"),
                format!("kind `{}` takes no options", c.kind),
            )
        })
        .collect()
}

/// The HTTP client for a responder: its base URL (or the kind's default), secret and retry policy.
pub(crate) fn http_client(
    c: &ResponderConfig,
    default_base: Option<&str>,
    ctx: &Context,
) -> Result<Http, RespondError> {
    let secret = c
        .secret()
        .map_err(|e| picket_enrich::ConnectorError::Config(e.to_string()))?;
    Ok(Http::new(
        &c.name,
        c.base_url.as_deref().or(default_base),
        secret,
        c.retry_policy(),
        ctx.observer.clone(),
    )?)
}

/// A non-2xx reply the responder did not expect, as a located error.
pub(crate) fn refused(reply: &picket_enrich::http::Reply) -> RespondError {
    RespondError::Rejected {
        status: reply.status,
        message: reply.snippet(300),
    }
}

/// A configured responder, with the actions it performs.
#[derive(Clone)]
pub struct Configured {
    pub name: String,
    pub kind: &'static str,
    pub actions: Vec<ActionDef>,
    pub responder: Arc<dyn Responder>,
}

/// The enabled responders, routing each action to the instance that performs it.
#[derive(Clone, Default)]
pub struct Responders {
    list: Vec<Configured>,
}

impl Responders {
    /// Builds every enabled entry (check them first with [`crate::check_all`]).
    pub fn build(
        configs: &[ResponderConfig],
        ctx: Context,
    ) -> Result<Self, (String, RespondError)> {
        let mut list = Vec::new();
        for c in configs.iter().filter(|c| c.enabled) {
            let kind = find(&c.kind).ok_or_else(|| {
                (
                    c.name.clone(),
                    RespondError::Unsupported(format!("kind {}", c.kind)),
                )
            })?;
            let responder = (kind.build)(c, ctx.clone()).map_err(|e| (c.name.clone(), e))?;
            let mut actions = (kind.actions)(c);
            if let Some(only) = &c.actions {
                actions.retain(|d| only.contains(&d.action));
            }
            list.push(Configured {
                name: c.name.clone(),
                kind: kind.name,
                actions,
                responder,
            });
        }
        Ok(Self { list })
    }

    /// For tests and embedding: responders built elsewhere.
    pub fn from_list(list: Vec<Configured>) -> Self {
        Self { list }
    }

    pub fn list(&self) -> &[Configured] {
        &self.list
    }

    /// The instance that runs `action`: the one named `preferred` when given, else the first
    /// configured one that performs it.
    pub fn route(
        &self,
        action: &str,
        preferred: Option<&str>,
    ) -> Option<(&Configured, &ActionDef)> {
        self.list
            .iter()
            .filter(|c| preferred.is_none_or(|p| p == c.name))
            .find_map(|c| {
                c.actions
                    .iter()
                    .find(|d| d.action == action)
                    .map(|d| (c, d))
            })
    }
}
