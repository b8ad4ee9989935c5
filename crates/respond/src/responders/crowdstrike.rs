//! CrowdStrike Falcon host containment (Hosts API, <https://falcon.crowdstrike.com/documentation>):
//! OAuth2 client credentials at `POST /oauth2/token`; the host's agent id from
//! `GET /devices/queries/devices/v1?filter=hostname:'<host>'`; then
//! `POST /devices/entities/devices-actions/v2?action_name=contain|lift_containment` with `{"ids": [aid]}`.
//! Containment sets a state, so repeating it is harmless.
//!
//! Options: none. `base_url` selects the cloud (`https://api.us-2.crowdstrike.com`,
//! `https://api.eu-1.crowdstrike.com`, …); the token endpoint follows it unless `token_url` is set.

use std::sync::Arc;

use async_trait::async_trait;
use picket_enrich::Http;
use serde::Deserialize;

use super::{Context, Kind, http_client, no_options};
use crate::config::ResponderConfig;
use crate::oauth::TokenSource;
use crate::responder::{ActionDef, ActionOutcome, ActionRequest, RespondError, Responder};

pub(super) static KIND: Kind = Kind {
    name: "crowdstrike",
    description: "CrowdStrike Falcon: contain a host / lift containment",
    docs: "https://falcon.crowdstrike.com/documentation/page/a2a7fc0e/crowdstrike-oauth2-based-apis",
    default_base_url: Some("https://api.crowdstrike.com"),
    needs_base_url: false,
    needs_secret: true,
    secret: "the API client secret",
    oauth: true,
    tenant: false,
    actions,
    check: no_options,
    build,
};

fn actions(_: &ResponderConfig) -> Vec<ActionDef> {
    vec![
        ActionDef::new("isolate_host", Some("release_host"), true),
        ActionDef::new("release_host", Some("isolate_host"), true),
    ]
}

fn build(c: &ResponderConfig, ctx: Context) -> Result<Arc<dyn Responder>, RespondError> {
    let http = http_client(c, KIND.default_base_url, &ctx)?;
    let token_url = match &c.token_url {
        Some(u) => u.clone(),
        None => http.url("oauth2/token")?.to_string(),
    };
    Ok(Arc::new(Falcon {
        tokens: TokenSource::new(&token_url, c.client_id.as_deref().unwrap_or_default(), None)?,
        http,
    }))
}

struct Falcon {
    http: Http,
    tokens: TokenSource,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    resources: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    errors: Option<Vec<FalconError>>,
}

#[derive(Deserialize)]
struct FalconError {
    #[serde(default)]
    code: u16,
    #[serde(default)]
    message: String,
}

impl Envelope {
    fn error_text(&self) -> String {
        self.errors
            .iter()
            .flatten()
            .map(|e| format!("{} {}", e.code, e.message))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A host name as a FQL string literal (quotes and backslashes escaped).
fn fql_quote(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

impl Falcon {
    /// Sends with a bearer token, fetching a fresh one once after a 401.
    async fn call<F>(&self, op: &str, build: F) -> Result<(u16, Envelope), RespondError>
    where
        F: Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    {
        let reply = self.tokens.send(&self.http, op, build).await?;
        let env: Envelope = reply.json()?;
        if !reply.is_success() {
            return Err(RespondError::Rejected {
                status: reply.status,
                message: env.error_text(),
            });
        }
        Ok((reply.status, env))
    }

    async fn device_id(&self, host: &str) -> Result<String, RespondError> {
        let url = self.http.url("devices/queries/devices/v1")?;
        let filter = format!("hostname:{}", fql_quote(host));
        let (_, env) = self
            .call("find_host", |c, t| {
                c.get(url.clone())
                    .query(&[("filter", filter.as_str())])
                    .bearer_auth(t)
            })
            .await?;
        let ids: Vec<String> = env
            .resources
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.as_str().map(Into::into))
            .collect();
        match ids.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(RespondError::TargetNotFound(format!(
                "no Falcon host named {host}"
            ))),
            many => Err(RespondError::TargetNotFound(format!(
                "{} Falcon hosts are named {host}; refusing to guess",
                many.len()
            ))),
        }
    }
}

#[async_trait]
impl Responder for Falcon {
    fn actions(&self) -> Vec<ActionDef> {
        actions(&ResponderConfig::new("", ""))
    }

    async fn execute(&self, req: &ActionRequest) -> Result<ActionOutcome, RespondError> {
        let (falcon_action, done) = match req.action.as_str() {
            "isolate_host" => ("contain", "contained"),
            "release_host" => ("lift_containment", "released from containment"),
            other => return Err(RespondError::Unsupported(other.into())),
        };
        if req.target.is_empty() {
            return Err(RespondError::TargetNotFound("no host given".into()));
        }
        let aid = self.device_id(&req.target).await?;
        let url = self.http.url("devices/entities/devices-actions/v2")?;
        let body = serde_json::json!({"ids": [aid]});
        let (status, _) = self
            .call(&req.action, |c, t| {
                c.post(url.clone())
                    .query(&[("action_name", falcon_action)])
                    .bearer_auth(t)
                    .json(&body)
            })
            .await?;
        Ok(ActionOutcome {
            summary: format!("host {} (aid {aid}) {done}", req.target),
            details: serde_json::json!({"aid": aid, "action_name": falcon_action, "status": status}),
        })
    }
}
