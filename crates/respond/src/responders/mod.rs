//! The responder registry: one row per kind, one file per kind.

use std::sync::Arc;

use picket_enrich::{Http, Observer, Secret};

use crate::config::ResponderConfig;
use crate::responder::{ActionDef, RespondError, Responder};

mod crowdstrike;
mod defender;
mod entra;
mod http;
mod okta;
mod pagerduty;
mod slack;
mod teams;
mod thehive;
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
    &defender::KIND,
    &entra::KIND,
    &okta::KIND,
    &http::KIND,
    &thehive::KIND,
    &slack::KIND,
    &teams::KIND,
    &pagerduty::KIND,
    &webhook::KIND,
];

pub fn find(name: &str) -> Option<&'static Kind> {
    KINDS.iter().copied().find(|k| k.name == name)
}

pub fn names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name).collect()
}

/// The catalog's reversible pairs: each undoes the other.
const PAIRS: [(&str, &str); 4] = [
    ("block_ip", "unblock_ip"),
    ("disable_user", "enable_user"),
    ("suspend_user", "unsuspend_user"),
    ("isolate_host", "release_host"),
];

/// The action that reverses `action`, when it belongs to a reversible pair.
pub(crate) fn partner(action: &str) -> Option<&'static str> {
    PAIRS.iter().find_map(|&(a, b)| match action {
        x if x == a => Some(b),
        x if x == b => Some(a),
        _ => None,
    })
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

/// `s` with every byte outside the RFC 3986 unreserved set (`A-Z a-z 0-9 - . _ ~`) percent-encoded:
/// safe as one path segment or one query value.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `base` with `segments` appended as path segments, each percent-encoded as needed (a `/` or `#`
/// in a user name stays part of that one segment).
pub(crate) fn with_segments(
    mut base: url::Url,
    segments: &[&str],
) -> Result<url::Url, RespondError> {
    base.path_segments_mut()
        .map_err(|()| picket_enrich::ConnectorError::Config("base_url cannot take a path".into()))?
        .pop_if_empty()
        .extend(segments);
    Ok(base)
}

/// A webhook URL that is itself the secret (Slack, Teams): whoever has it can post. It is read from
/// `secret_env`/`secret_file`, and its path and query values are kept out of call events and error
/// messages.
pub(crate) struct SecretUrl {
    url: url::Url,
    /// Substrings that must not reach a log line: the whole URL, its path, its query values.
    hidden: Vec<String>,
}

impl SecretUrl {
    /// The URL and an HTTP client that never retries (posting a message twice is visible). The
    /// client's own secret is the URL's path, so call events show only scheme and host.
    pub(crate) fn build(c: &ResponderConfig, ctx: &Context) -> Result<(Self, Http), RespondError> {
        let config = |m: String| RespondError::from(picket_enrich::ConnectorError::Config(m));
        let secret = c
            .secret()
            .map_err(|e| config(e.to_string()))?
            .ok_or_else(|| {
                config("no webhook URL configured (secret_env or secret_file)".into())
            })?;
        // `url::ParseError` never repeats its input, so the message cannot carry the secret.
        let url = url::Url::parse(secret.expose())
            .map_err(|e| config(format!("the webhook URL (secret) is not a URL: {e}")))?;
        let loopback = match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            s => {
                return Err(config(format!(
                    "the webhook URL (secret) must be https, not {s}"
                )));
            }
        }
        let mut hidden = vec![secret.expose().to_owned(), url.as_str().to_owned()];
        if url.path().len() > 1 {
            hidden.push(url.path().to_owned());
        }
        if let Some(q) = url.query() {
            hidden.push(q.to_owned());
        }
        for (_, v) in url.query_pairs() {
            if v.len() >= 8 {
                hidden.push(percent_encode(&v));
                hidden.push(v.into_owned());
            }
        }
        // Longest first, so a part is never left half-redacted by a shorter one.
        hidden.sort_by_key(|h| std::cmp::Reverse(h.len()));
        hidden.dedup();
        let path = Secret::new(url.path());
        let http = Http::new(
            &c.name,
            None,
            Some(path),
            c.retry_policy(),
            ctx.observer.clone(),
        )?
        .with_retries(0);
        Ok((Self { url, hidden }, http))
    }

    pub(crate) fn url(&self) -> &url::Url {
        &self.url
    }

    pub(crate) fn redact(&self, text: &str) -> String {
        self.hidden
            .iter()
            .fold(text.to_owned(), |t, h| t.replace(h.as_str(), "***"))
    }

    /// The error with any part of the URL that the receiver echoed back redacted.
    pub(crate) fn redact_error(&self, e: picket_enrich::ConnectorError) -> RespondError {
        redact_error(e, |m| self.redact(m)).into()
    }
}

/// `e` with `redact` applied to the text it carries (a vendor body that echoed a credential).
pub(crate) fn redact_error(
    e: picket_enrich::ConnectorError,
    redact: impl Fn(&str) -> String,
) -> picket_enrich::ConnectorError {
    use picket_enrich::ConnectorError as E;
    match e {
        E::Unauthorized(m) => E::Unauthorized(redact(&m)),
        E::Forbidden(m) => E::Forbidden(redact(&m)),
        E::Server { status, message } => E::Server {
            status,
            message: redact(&message),
        },
        E::Http { status, message } => E::Http {
            status,
            message: redact(&message),
        },
        E::Malformed(m) => E::Malformed(redact(&m)),
        E::Transport(m) => E::Transport(redact(&m)),
        E::Config(m) => E::Config(redact(&m)),
        other => other,
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
