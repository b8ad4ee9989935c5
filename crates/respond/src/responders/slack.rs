//! Slack incoming webhook (<https://api.slack.com/messaging/webhooks>): `POST <webhook URL>` with
//! `{"text": <message>}`, answered 200 with the body `ok`. The webhook URL is the secret
//! (`secret_env` / `secret_file`); its path never reaches a call event or an error message.
//!
//! Documented failures (<https://api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks>),
//! each a short string body: 400 `invalid_payload`, `no_text`, `user_not_found`; 403
//! `invalid_token`, `action_prohibited` (reported as `forbidden`); 404 `no_service`,
//! `channel_not_found`; 410 `channel_is_archived`; 500 `rollup_error`. A message posted twice is
//! seen twice, so nothing is retried and `notify` is not resumed after a crash.
//!
//! The message is `params.message`, else the request summary (Slack `mrkdwn`). Options: none.

use std::sync::Arc;

use async_trait::async_trait;
use picket_enrich::Http;

use super::{Context, Kind, SecretUrl, no_options};
use crate::config::ResponderConfig;
use crate::responder::{ActionDef, ActionOutcome, ActionRequest, RespondError, Responder};

pub(super) static KIND: Kind = Kind {
    name: "slack",
    description: "Slack incoming webhook: post a notification",
    docs: "https://api.slack.com/messaging/webhooks",
    default_base_url: None,
    needs_base_url: false,
    needs_secret: true,
    secret: "the incoming webhook URL",
    oauth: false,
    tenant: false,
    actions,
    check: no_options,
    build,
};

/// Slack truncates longer messages anyway.
const MAX_TEXT: usize = 40_000;

fn actions(_: &ResponderConfig) -> Vec<ActionDef> {
    vec![ActionDef::new("notify", None, false)]
}

fn build(c: &ResponderConfig, ctx: Context) -> Result<Arc<dyn Responder>, RespondError> {
    let (url, http) = SecretUrl::build(c, &ctx)?;
    Ok(Arc::new(Slack { url, http }))
}

struct Slack {
    url: SecretUrl,
    http: Http,
}

#[async_trait]
impl Responder for Slack {
    fn actions(&self) -> Vec<ActionDef> {
        actions(&ResponderConfig::new("", ""))
    }

    async fn execute(&self, req: &ActionRequest) -> Result<ActionOutcome, RespondError> {
        if req.action != "notify" {
            return Err(RespondError::Unsupported(req.action.clone()));
        }
        let text: String = req.message().chars().take(MAX_TEXT).collect();
        let body = serde_json::json!({ "text": text });
        let url = self.url.url().clone();
        let reply = self
            .http
            .send("notify", |c| c.post(url.clone()).json(&body))
            .await
            .map_err(|e| self.url.redact_error(e))?;
        if !reply.is_success() {
            return Err(RespondError::Rejected {
                status: reply.status,
                message: self.url.redact(&reply.snippet(300)),
            });
        }
        Ok(ActionOutcome {
            summary: "notification posted to Slack".into(),
            details: serde_json::json!({
                "status": reply.status,
                "response": self.url.redact(&reply.snippet(100)),
            }),
        })
    }
}
