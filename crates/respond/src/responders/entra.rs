//! Microsoft Entra ID accounts through Microsoft Graph v1.0
//! (<https://learn.microsoft.com/en-us/graph/api/user-update>,
//! <https://learn.microsoft.com/en-us/graph/api/user-revokesigninsessions>): an app-only token from
//! the Microsoft identity platform (OAuth 2.0 client credentials, scope
//! `https://graph.microsoft.com/.default`; app permissions `User.EnableDisableAccount.All` and
//! `User.RevokeSessions.All`, or `User.ReadWrite.All`).
//!
//! - `disable_user` / `enable_user`: `PATCH /v1.0/users/{userPrincipalName}` with
//!   `{"accountEnabled": false|true}`, answered 204 No Content. Sets a state: a repeat is harmless.
//! - `revoke_sessions`: `POST /v1.0/users/{userPrincipalName}/revokeSignInSessions` (no body),
//!   answered 200 `{"value": true}` (Graph documents any 2xx as success for this call). Nothing to
//!   undo. A repeat only moves the user's `signInSessionsValidFromDateTime` forward again, so it is
//!   treated as safe to send again after an interruption.
//!
//! The user principal name is one percent-encoded path segment (a guest's `#EXT#` becomes `%23EXT%23`);
//! one that starts with `$` uses Graph's `/users('$name@…')` form. Errors are
//! `{"error": {"code", "message", "innerError"}}`; 404 `Request_ResourceNotFound` is
//! `target_not_found` (<https://learn.microsoft.com/en-us/graph/errors>).
//!
//! Options: none. `base_url` selects a national cloud (`https://graph.microsoft.us`, …); the token
//! endpoint is `https://login.microsoftonline.com/<tenant_id>/oauth2/v2.0/token` unless `token_url`
//! is set. The token's scope is `https://graph.microsoft.com/.default`, or the national cloud's own
//! when `base_url` is one.

use std::sync::Arc;

use async_trait::async_trait;
use picket_enrich::http::Reply;
use picket_enrich::{ConnectorError, Http};
use serde::Deserialize;

use super::{Context, Kind, http_client, no_options, percent_encode, with_segments};
use crate::config::ResponderConfig;
use crate::oauth::TokenSource;
use crate::responder::{ActionDef, ActionOutcome, ActionRequest, RespondError, Responder};

pub(super) static KIND: Kind = Kind {
    name: "entra",
    description: "Microsoft Entra ID (Graph): disable / enable a user, revoke their sign-in sessions",
    docs: "https://learn.microsoft.com/en-us/graph/api/user-update",
    default_base_url: Some("https://graph.microsoft.com"),
    needs_base_url: false,
    needs_secret: true,
    secret: "the app registration's client secret",
    oauth: true,
    tenant: true,
    actions,
    check: no_options,
    build,
};

fn actions(_: &ResponderConfig) -> Vec<ActionDef> {
    vec![
        ActionDef::new("disable_user", Some("enable_user"), true),
        ActionDef::new("enable_user", Some("disable_user"), true),
        ActionDef::new("revoke_sessions", None, true),
    ]
}

fn build(c: &ResponderConfig, ctx: Context) -> Result<Arc<dyn Responder>, RespondError> {
    let http = http_client(c, KIND.default_base_url, &ctx)?;
    let token_url = match (&c.token_url, &c.tenant_id) {
        (Some(u), _) => u.clone(),
        (None, Some(t)) => TokenSource::microsoft_url(t),
        (None, None) => {
            return Err(ConnectorError::Config("tenant_id or token_url is required".into()).into());
        }
    };
    let scope = scope_for(c.base_url.as_deref());
    Ok(Arc::new(Entra {
        tokens: TokenSource::new(
            &token_url,
            c.client_id.as_deref().unwrap_or_default(),
            Some(&scope),
        )?,
        http,
    }))
}

/// National clouds have their own Graph resource; anything else (the public cloud, a proxy, a test
/// server) asks for the public one.
const NATIONAL_CLOUDS: [&str; 3] = [
    "graph.microsoft.us",
    "dod-graph.microsoft.us",
    "microsoftgraph.chinacloudapi.cn",
];

fn scope_for(base_url: Option<&str>) -> String {
    let host = base_url
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_owned));
    match host {
        Some(h) if NATIONAL_CLOUDS.contains(&h.as_str()) => format!("https://{h}/.default"),
        _ => "https://graph.microsoft.com/.default".into(),
    }
}

struct Entra {
    http: Http,
    tokens: TokenSource,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

fn graph_error(reply: &Reply) -> String {
    match reply.json::<ErrorBody>() {
        Ok(b) => format!("{}: {}", b.error.code, b.error.message),
        Err(_) => reply.snippet(300),
    }
}

impl Entra {
    /// Sends with a bearer token, fetching a fresh one once after a 401.
    async fn call<F>(&self, op: &str, build: F) -> Result<Reply, RespondError>
    where
        F: Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    {
        self.tokens.send(&self.http, op, build).await
    }

    /// `/v1.0/users/{upn}[/suffix]`, the UPN percent-encoded as one segment.
    fn user_url(&self, upn: &str, suffix: Option<&str>) -> Result<url::Url, RespondError> {
        let mut url = if upn.starts_with('$') {
            // Graph: "if the userPrincipalName begins with a $ character, remove the slash after
            // /users and enclose the userPrincipalName in parentheses and single quotes".
            let quoted = upn.replace('\'', "''");
            self.http
                .url(&format!("v1.0/users('{}')", percent_encode(&quoted)))?
        } else {
            with_segments(self.http.url("v1.0/users")?, &[upn])?
        };
        if let Some(s) = suffix {
            url = with_segments(url, &[s])?;
        }
        Ok(url)
    }
}

#[async_trait]
impl Responder for Entra {
    fn actions(&self) -> Vec<ActionDef> {
        actions(&ResponderConfig::new("", ""))
    }

    async fn execute(&self, req: &ActionRequest) -> Result<ActionOutcome, RespondError> {
        if !matches!(
            req.action.as_str(),
            "disable_user" | "enable_user" | "revoke_sessions"
        ) {
            return Err(RespondError::Unsupported(req.action.clone()));
        }
        let upn = req.target.trim();
        if upn.is_empty() {
            return Err(RespondError::TargetNotFound("no user given".into()));
        }
        let (reply, done) = match req.action.as_str() {
            "revoke_sessions" => {
                let url = self.user_url(upn, Some("revokeSignInSessions"))?;
                let reply = self
                    .call(&req.action, |c, t| {
                        // No request content, with an explicit `Content-Length: 0` (Graph lists
                        // 411 Length Required among its errors; hyper omits the header here).
                        c.post(url.clone())
                            .bearer_auth(t)
                            .header(reqwest::header::CONTENT_LENGTH, "0")
                            .body(Vec::<u8>::new())
                    })
                    .await?;
                (reply, "sign-in sessions revoked")
            }
            action => {
                let enabled = action == "enable_user";
                let url = self.user_url(upn, None)?;
                let body = serde_json::json!({"accountEnabled": enabled});
                let reply = self
                    .call(action, |c, t| {
                        c.patch(url.clone()).bearer_auth(t).json(&body)
                    })
                    .await?;
                (reply, if enabled { "enabled" } else { "disabled" })
            }
        };
        if reply.status == 404 {
            return Err(RespondError::TargetNotFound(format!(
                "Entra ID user {upn}: {}",
                graph_error(&reply)
            )));
        }
        if !reply.is_success() {
            return Err(RespondError::Rejected {
                status: reply.status,
                message: graph_error(&reply),
            });
        }
        Ok(ActionOutcome {
            summary: format!("Entra ID user {upn} {done}"),
            details: serde_json::json!({"user": upn, "status": reply.status}),
        })
    }
}
