//! Generic webhook: POSTs the action as JSON to a URL of your choosing, with an `Idempotency-Key`
//! header (the action id) and, when a secret is set, an HMAC-SHA256 signature of the body in
//! `X-Picket-Signature: sha256=<hex>` so the receiver can check it came from Picket.
//!
//! Options: `actions` (array of catalog action names it performs, default `["notify"]`),
//! `idempotent` (bool, default false: set it when the receiver deduplicates on `Idempotency-Key`;
//! only then is the call retried, and resumed after a crash).

use std::sync::Arc;

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use picket_enrich::Http;
use sha2::Sha256;

use super::{Context, Kind, http_client, refused};
use crate::config::ResponderConfig;
use crate::responder::{ActionDef, ActionOutcome, ActionRequest, RespondError, Responder};

pub(super) static KIND: Kind = Kind {
    name: "webhook",
    description: "Generic webhook: the action as signed JSON, with an Idempotency-Key header",
    docs: "docs/response.md#webhook",
    default_base_url: None,
    needs_base_url: true,
    needs_secret: false,
    secret: "HMAC signing key",
    oauth: false,
    tenant: false,
    actions,
    check,
    build,
};

fn idempotent(c: &ResponderConfig) -> bool {
    c.options
        .get("idempotent")
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

fn actions(c: &ResponderConfig) -> Vec<ActionDef> {
    let names: Vec<String> = match c.options.get("actions").and_then(|v| v.as_array()) {
        Some(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(Into::into))
            .collect(),
        None => vec!["notify".into()],
    };
    // When both members of a reversible pair are configured, each undoes the other.
    let undo_of = |n: &str| {
        super::partner(n)
            .filter(|u| names.iter().any(|x| x == u))
            .map(String::from)
    };
    names
        .iter()
        .map(|n| ActionDef {
            action: n.clone(),
            undo: undo_of(n),
            idempotent: idempotent(c),
        })
        .collect()
}

fn check(c: &ResponderConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in &c.options {
        match k.as_str() {
            "actions" => {
                let ok = v
                    .as_array()
                    .is_some_and(|a| !a.is_empty() && a.iter().all(|x| x.is_string()));
                if !ok {
                    out.push((
                        "options.actions".into(),
                        "must be a non-empty array of action names".into(),
                    ));
                }
            }
            "idempotent" if v.is_boolean() => {}
            "idempotent" => out.push(("options.idempotent".into(), "must be true or false".into())),
            other => out.push((
                format!("options.{other}"),
                "unknown option (expected actions, idempotent)".into(),
            )),
        }
    }
    out
}

fn build(c: &ResponderConfig, ctx: Context) -> Result<Arc<dyn Responder>, RespondError> {
    let http = http_client(c, None, &ctx)?;
    let retries = if idempotent(c) { c.retries } else { 0 };
    // Posted to exactly as configured (the client's base URL gains a trailing slash).
    let url = url::Url::parse(c.base_url.as_deref().unwrap_or_default())
        .map_err(|e| picket_enrich::ConnectorError::Config(format!("base_url: {e}")))?;
    Ok(Arc::new(Webhook {
        url,
        http: http.with_retries(retries),
        actions: actions(c),
    }))
}

struct Webhook {
    url: url::Url,
    http: Http,
    actions: Vec<ActionDef>,
}

/// `sha256=<hex>` of the body under `key`.
pub(crate) fn signature(key: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[async_trait]
impl Responder for Webhook {
    fn actions(&self) -> Vec<ActionDef> {
        self.actions.clone()
    }

    async fn execute(&self, req: &ActionRequest) -> Result<ActionOutcome, RespondError> {
        if !self.actions.iter().any(|d| d.action == req.action) {
            return Err(RespondError::Unsupported(req.action.clone()));
        }
        let body = serde_json::to_vec(&serde_json::json!({
            "id": req.action_id,
            "action": req.action,
            "target": req.target,
            "params": req.params,
            "incident": req.incident,
            "summary": req.summary,
            "sent_at": jiff::Timestamp::now().to_string(),
        }))
        .map_err(|e| RespondError::Template(e.to_string()))?;
        let sig = match self.http.has_secret() {
            true => Some(signature(self.http.secret()?.expose().as_bytes(), &body)),
            false => None,
        };
        let url = self.url.clone();
        let reply = self
            .http
            .send(&req.action, |c| {
                let mut r = c
                    .post(url.clone())
                    .header("content-type", "application/json")
                    .header("idempotency-key", &req.action_id)
                    .body(body.clone());
                if let Some(s) = &sig {
                    r = r.header("x-picket-signature", s);
                }
                r
            })
            .await?;
        if !reply.is_success() {
            return Err(refused(&reply));
        }
        Ok(ActionOutcome {
            summary: format!("webhook accepted `{}` (HTTP {})", req.action, reply.status),
            details: serde_json::json!({"status": reply.status}),
        })
    }
}
