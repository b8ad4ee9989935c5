//! Okta user suspension (Users API, lifecycle operations,
//! <https://developer.okta.com/docs/api/openapi/okta-management/management/tag/UserLifecycle/>), with
//! an API token sent as `Authorization: SSWS <token>`:
//!
//! - the user from `GET /api/v1/users/{login}` (the login percent-encoded as one path segment),
//!   answering `{"id", "status", "profile": {"login", …}, …}`;
//! - `suspend_user`: `POST /api/v1/users/{id}/lifecycle/suspend` (200), only for an `ACTIVE` user;
//!   a user already `SUSPENDED` is left as is;
//! - `unsuspend_user`: `POST /api/v1/users/{id}/lifecycle/unsuspend` (200), only for a `SUSPENDED`
//!   user; any other status is left as is.
//!
//! Both set a state, so a repeat is harmless; when a retried call finds the transition already made
//! (Okta answers 400 `E0000001`), the user is read again and the new status counts as success.
//! Errors are `{"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses": [{"errorSummary"}]}`
//! (<https://developer.okta.com/docs/reference/error-codes/>): 404 (`E0000007`) is
//! `target_not_found`, a 400 is rejected with the code, summary and causes.
//!
//! Okta's 429 answers carry `X-Rate-Limit-Reset` (epoch seconds), not `Retry-After`, so a rate-limited
//! call is retried with the client's own backoff.
//!
//! Options: none. `base_url` (required) is the org URL, `https://<your-org>.okta.com`.

use std::sync::Arc;

use async_trait::async_trait;
use picket_enrich::Http;
use picket_enrich::http::Reply;
use serde::Deserialize;

use super::{Context, Kind, http_client, no_options, with_segments};
use crate::config::ResponderConfig;
use crate::responder::{ActionDef, ActionOutcome, ActionRequest, RespondError, Responder};

pub(super) static KIND: Kind = Kind {
    name: "okta",
    description: "Okta: suspend / unsuspend a user",
    docs: "https://developer.okta.com/docs/api/openapi/okta-management/management/tag/UserLifecycle/",
    default_base_url: None,
    needs_base_url: true,
    needs_secret: true,
    secret: "an Okta API token",
    oauth: false,
    tenant: false,
    actions,
    check: no_options,
    build,
};

fn actions(_: &ResponderConfig) -> Vec<ActionDef> {
    vec![
        ActionDef::new("suspend_user", Some("unsuspend_user"), true),
        ActionDef::new("unsuspend_user", Some("suspend_user"), true),
    ]
}

fn build(c: &ResponderConfig, ctx: Context) -> Result<Arc<dyn Responder>, RespondError> {
    Ok(Arc::new(Okta {
        http: http_client(c, None, &ctx)?,
    }))
}

struct Okta {
    http: Http,
}

#[derive(Deserialize)]
struct User {
    id: String,
    #[serde(default)]
    status: String,
}

#[derive(Deserialize)]
struct OktaError {
    #[serde(default, rename = "errorCode")]
    code: String,
    #[serde(default, rename = "errorSummary")]
    summary: String,
    #[serde(default, rename = "errorCauses")]
    causes: Vec<Cause>,
}

#[derive(Deserialize)]
struct Cause {
    #[serde(default, rename = "errorSummary")]
    summary: String,
}

fn okta_error(reply: &Reply) -> String {
    match reply.json::<OktaError>() {
        Ok(e) => {
            let mut m = format!("{} {}", e.code, e.summary);
            let causes: Vec<&str> = e
                .causes
                .iter()
                .map(|c| c.summary.as_str())
                .filter(|s| !s.is_empty())
                .collect();
            if !causes.is_empty() {
                m.push_str(&format!(" ({})", causes.join("; ")));
            }
            m
        }
        Err(_) => reply.snippet(300),
    }
}

impl Okta {
    fn auth(&self) -> Result<String, RespondError> {
        Ok(format!("SSWS {}", self.http.secret()?.expose()))
    }

    async fn user(&self, login: &str) -> Result<User, RespondError> {
        let url = with_segments(self.http.url("api/v1/users")?, &[login])?;
        let auth = self.auth()?;
        let reply = self
            .http
            .send("get_user", |c| {
                c.get(url.clone())
                    .header("authorization", &auth)
                    .header("accept", "application/json")
            })
            .await?;
        if reply.status == 404 {
            return Err(RespondError::TargetNotFound(format!(
                "Okta user {login}: {}",
                okta_error(&reply)
            )));
        }
        if !reply.is_success() {
            return Err(RespondError::Rejected {
                status: reply.status,
                message: okta_error(&reply),
            });
        }
        Ok(reply.json()?)
    }
}

#[async_trait]
impl Responder for Okta {
    fn actions(&self) -> Vec<ActionDef> {
        actions(&ResponderConfig::new("", ""))
    }

    async fn execute(&self, req: &ActionRequest) -> Result<ActionOutcome, RespondError> {
        // (lifecycle operation, status it applies to, status it leads to, past tense)
        let (op, from, to, done) = match req.action.as_str() {
            "suspend_user" => ("suspend", "ACTIVE", "SUSPENDED", "suspended"),
            "unsuspend_user" => ("unsuspend", "SUSPENDED", "ACTIVE", "unsuspended"),
            other => return Err(RespondError::Unsupported(other.into())),
        };
        let login = req.target.trim();
        if login.is_empty() {
            return Err(RespondError::TargetNotFound("no user given".into()));
        }
        let user = self.user(login).await?;
        let unchanged = |status: &str| ActionOutcome {
            summary: format!("Okta user {login} ({}) already {status}", user.id),
            details: serde_json::json!({"user_id": user.id, "status": status, "changed": false}),
        };
        if user.status == to {
            return Ok(unchanged(&user.status));
        }
        if op == "unsuspend" && user.status != from {
            // Only a suspended user can be unsuspended; anyone else has nothing to undo.
            return Ok(unchanged(&user.status));
        }
        let url = with_segments(self.http.url("api/v1/users")?, &[&user.id, "lifecycle", op])?;
        let auth = self.auth()?;
        let reply = self
            .http
            .send(&req.action, |c| {
                c.post(url.clone())
                    .header("authorization", &auth)
                    .header("accept", "application/json")
            })
            .await?;
        if reply.status == 404 {
            return Err(RespondError::TargetNotFound(format!(
                "Okta user {login}: {}",
                okta_error(&reply)
            )));
        }
        if reply.status == 400 {
            // A retried call may find the transition already made.
            if let Ok(now) = self.user(login).await
                && now.status == to
            {
                return Ok(unchanged(&now.status));
            }
        }
        if !reply.is_success() {
            return Err(RespondError::Rejected {
                status: reply.status,
                message: okta_error(&reply),
            });
        }
        Ok(ActionOutcome {
            summary: format!("Okta user {login} ({}) {done}", user.id),
            details: serde_json::json!({"user_id": user.id, "status": to, "changed": true}),
        })
    }
}
