//! PagerDuty Events API v2 (<https://developer.pagerduty.com/docs/events-api-v2/trigger-events/>):
//! `POST /v2/enqueue` with the integration's routing key. `page_on_call` sends a `trigger` event whose
//! `dedup_key` is the incident (or the action) id, so repeats update the same PagerDuty incident
//! instead of paging twice; that makes it safe to resume after a crash.
//!
//! Options: `severity` (critical, error, warning or info; default critical), `source` (default
//! `picket`).

use std::sync::Arc;

use async_trait::async_trait;
use picket_enrich::{ConnectorError, Http};
use serde::Deserialize;

use super::{Context, Kind, http_client};
use crate::config::ResponderConfig;
use crate::responder::{ActionDef, ActionOutcome, ActionRequest, RespondError, Responder};

pub(super) static KIND: Kind = Kind {
    name: "pagerduty",
    description: "PagerDuty Events API v2: page on-call (trigger, deduplicated per incident)",
    docs: "https://developer.pagerduty.com/docs/events-api-v2/trigger-events/",
    default_base_url: Some("https://events.pagerduty.com"),
    needs_base_url: false,
    needs_secret: true,
    secret: "the integration's routing key",
    oauth: false,
    tenant: false,
    actions,
    check,
    build,
};

const SEVERITIES: [&str; 4] = ["critical", "error", "warning", "info"];

fn actions(_: &ResponderConfig) -> Vec<ActionDef> {
    vec![ActionDef::new("page_on_call", None, true)]
}

fn check(c: &ResponderConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in &c.options {
        match (k.as_str(), v.as_str()) {
            ("severity", Some(s)) if SEVERITIES.contains(&s) => {}
            ("severity", _) => out.push((
                "options.severity".into(),
                format!("must be one of {}", SEVERITIES.join(", ")),
            )),
            ("source", Some(_)) => {}
            (other, _) => out.push((
                format!("options.{other}"),
                "unknown option (expected severity, source)".into(),
            )),
        }
    }
    out
}

fn build(c: &ResponderConfig, ctx: Context) -> Result<Arc<dyn Responder>, RespondError> {
    Ok(Arc::new(PagerDuty {
        http: http_client(c, KIND.default_base_url, &ctx)?,
        severity: c.opt_str("severity").unwrap_or("critical").into(),
        source: c.opt_str("source").unwrap_or("picket").into(),
    }))
}

struct PagerDuty {
    http: Http,
    severity: String,
    source: String,
}

#[derive(Deserialize)]
struct EnqueueReply {
    #[serde(default)]
    status: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    dedup_key: Option<String>,
    #[serde(default)]
    errors: Vec<String>,
}

#[async_trait]
impl Responder for PagerDuty {
    fn actions(&self) -> Vec<ActionDef> {
        actions(&ResponderConfig::new("", ""))
    }

    async fn execute(&self, req: &ActionRequest) -> Result<ActionOutcome, RespondError> {
        if req.action != "page_on_call" {
            return Err(RespondError::Unsupported(req.action.clone()));
        }
        let dedup = format!(
            "picket-{}",
            req.param("dedup_key")
                .or(req.incident.as_deref())
                .unwrap_or(&req.action_id)
        );
        let summary: String = req.message().chars().take(1024).collect();
        let body = serde_json::json!({
            "routing_key": self.http.secret()?.expose(),
            "event_action": "trigger",
            "dedup_key": dedup,
            "payload": {
                "summary": summary,
                "source": self.source,
                "severity": req.param("severity").unwrap_or(&self.severity),
                "component": req.target,
                "custom_details": {
                    "picket_action": req.action_id,
                    "incident": req.incident,
                    "params": req.params,
                },
            },
        });
        let url = self.http.url("v2/enqueue")?;
        let reply = self
            .http
            .send("page_on_call", |c| c.post(url.clone()).json(&body))
            .await?;
        // 202 accepted; 400 an invalid event with `errors`; 429 and 5xx are retried by `send`.
        let r: EnqueueReply = reply.json().map_err(|_| ConnectorError::Http {
            status: reply.status,
            message: reply.snippet(200),
        })?;
        if !reply.is_success() || r.status != "success" {
            return Err(RespondError::Rejected {
                status: reply.status,
                message: format!("{}: {}", r.message, r.errors.join("; ")),
            });
        }
        let key = r.dedup_key.unwrap_or(dedup);
        Ok(ActionOutcome {
            summary: format!("on-call paged through PagerDuty (dedup_key {key})"),
            details: serde_json::json!({"dedup_key": key}),
        })
    }
}
