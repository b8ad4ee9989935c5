//! Microsoft Teams channel message through a Workflows webhook (the Power Automate trigger "When a
//! Teams webhook request is received", which replaces the retired Office 365 connectors,
//! <https://support.microsoft.com/en-us/office/create-incoming-webhooks-with-workflows-for-microsoft-teams-8ae491c7-0394-4861-ba59-055e33f75498>):
//! `POST <workflow URL>` with one Adaptive Card attachment,
//!
//! ```json
//! {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
//!   "contentUrl": null, "content": {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
//!   "type": "AdaptiveCard", "version": "1.4",
//!   "body": [{"type": "TextBlock", "text": <message>, "wrap": true}]}}]}
//! ```
//!
//! answered 202 Accepted (200 from the older connector URLs). The workflow URL is the secret
//! (`secret_env` / `secret_file`): its `sig` query value authorises the post, so neither it nor the
//! path reaches a call event or an error message. Failures are the Power Automate error object
//! `{"error": {"code", "message"}}` (400 `InvalidRequestContent`, `TriggerInputSchemaMismatch`; 401
//! for a wrong signature; 404 when the workflow is gone). A message posted twice is seen twice, so
//! nothing is retried and `notify` is not resumed after a crash.
//!
//! The message is `params.message`, else the request summary. Options: none.

use std::sync::Arc;

use async_trait::async_trait;
use picket_enrich::Http;
use serde::Deserialize;

use super::{Context, Kind, SecretUrl, no_options};
use crate::config::ResponderConfig;
use crate::responder::{ActionDef, ActionOutcome, ActionRequest, RespondError, Responder};

pub(super) static KIND: Kind = Kind {
    name: "teams",
    description: "Microsoft Teams (Workflows webhook): post a notification card",
    docs: "https://support.microsoft.com/en-us/office/create-incoming-webhooks-with-workflows-for-microsoft-teams-8ae491c7-0394-4861-ba59-055e33f75498",
    default_base_url: None,
    needs_base_url: false,
    needs_secret: true,
    secret: "the workflow's webhook URL",
    oauth: false,
    tenant: false,
    actions,
    check: no_options,
    build,
};

fn actions(_: &ResponderConfig) -> Vec<ActionDef> {
    vec![ActionDef::new("notify", None, false)]
}

fn build(c: &ResponderConfig, ctx: Context) -> Result<Arc<dyn Responder>, RespondError> {
    let (url, http) = SecretUrl::build(c, &ctx)?;
    Ok(Arc::new(Teams { url, http }))
}

struct Teams {
    url: SecretUrl,
    http: Http,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: FlowError,
}

#[derive(Deserialize)]
struct FlowError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// The documented message envelope with one Adaptive Card holding `text`.
fn card(text: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [{"type": "TextBlock", "text": text, "wrap": true}],
            },
        }],
    })
}

#[async_trait]
impl Responder for Teams {
    fn actions(&self) -> Vec<ActionDef> {
        actions(&ResponderConfig::new("", ""))
    }

    async fn execute(&self, req: &ActionRequest) -> Result<ActionOutcome, RespondError> {
        if req.action != "notify" {
            return Err(RespondError::Unsupported(req.action.clone()));
        }
        let body = card(req.message());
        let url = self.url.url().clone();
        let reply = self
            .http
            .send("notify", |c| c.post(url.clone()).json(&body))
            .await
            .map_err(|e| self.url.redact_error(e))?;
        if !reply.is_success() {
            let message = match reply.json::<ErrorBody>() {
                Ok(b) => format!("{}: {}", b.error.code, b.error.message),
                Err(_) => reply.snippet(300),
            };
            return Err(RespondError::Rejected {
                status: reply.status,
                message: self.url.redact(&message),
            });
        }
        Ok(ActionOutcome {
            summary: format!("notification posted to Teams (HTTP {})", reply.status),
            details: serde_json::json!({"status": reply.status}),
        })
    }
}
