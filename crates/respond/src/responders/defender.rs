//! Microsoft Defender for Endpoint device isolation (machine actions API,
//! <https://learn.microsoft.com/en-us/defender-endpoint/api/isolate-machine>):
//! an app-only token from the Microsoft identity platform (OAuth 2.0 client credentials, scope
//! `https://api.securitycenter.microsoft.com/.default`, app permissions `Machine.Read.All` and
//! `Machine.Isolate`); the device's id from
//! `GET /api/machines?$filter=computerDnsName eq '<host>'` (`{"value": [{"id": …}]}`; none or more
//! than one match and nothing is isolated); then `POST /api/machines/{id}/isolate` with
//! `{"Comment": <summary>, "IsolationType": "Full"|"Selective"}`, or
//! `POST /api/machines/{id}/unisolate` with `{"Comment": <summary>}`. Both answer 201 with the
//! MachineAction (`{"id", "type": "Isolate", "status": "Pending", …}`).
//!
//! Isolation sets a state, so a repeat is harmless: while an action is still pending Defender answers
//! 400 `ActiveRequestAlreadyExists` ("Action is already in progress"); when
//! `GET /api/machineactions?$filter=machineId eq '<id>' and type eq 'Isolate'` (or `'Unisolate'`)
//! shows that the pending one is this same action, that counts as success (permission
//! `Machine.Read.All`). Other errors are `{"error": {"code", "message", "target"}}`
//! (<https://learn.microsoft.com/en-us/defender-endpoint/api/common-errors>).
//!
//! Options: `isolation_type` (`Full` or `Selective`, default `Full`). `base_url` selects a regional
//! endpoint (`https://api-eu.securitycenter.microsoft.com`, US Government clouds, …); the token
//! endpoint is `https://login.microsoftonline.com/<tenant_id>/oauth2/v2.0/token` unless
//! `token_url` is set.

use std::sync::Arc;

use async_trait::async_trait;
use picket_enrich::http::Reply;
use picket_enrich::{ConnectorError, Http};
use serde::Deserialize;

use super::{Context, Kind, http_client, percent_encode, with_segments};
use crate::config::ResponderConfig;
use crate::oauth::TokenSource;
use crate::responder::{ActionDef, ActionOutcome, ActionRequest, RespondError, Responder};

pub(super) static KIND: Kind = Kind {
    name: "defender",
    description: "Microsoft Defender for Endpoint: isolate a device / release it from isolation",
    docs: "https://learn.microsoft.com/en-us/defender-endpoint/api/isolate-machine",
    default_base_url: Some("https://api.securitycenter.microsoft.com"),
    needs_base_url: false,
    needs_secret: true,
    secret: "the app registration's client secret",
    oauth: true,
    tenant: true,
    actions,
    check,
    build,
};

const SCOPE: &str = "https://api.securitycenter.microsoft.com/.default";
const ISOLATION_TYPES: [&str; 2] = ["Full", "Selective"];

fn actions(_: &ResponderConfig) -> Vec<ActionDef> {
    vec![
        ActionDef::new("isolate_host", Some("release_host"), true),
        ActionDef::new("release_host", Some("isolate_host"), true),
    ]
}

fn check(c: &ResponderConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in &c.options {
        match (k.as_str(), v.as_str()) {
            ("isolation_type", Some(t)) if ISOLATION_TYPES.contains(&t) => {}
            ("isolation_type", _) => out.push((
                "options.isolation_type".into(),
                format!("must be one of {}", ISOLATION_TYPES.join(", ")),
            )),
            (other, _) => out.push((
                format!("options.{other}"),
                "unknown option (expected isolation_type)".into(),
            )),
        }
    }
    out
}

fn build(c: &ResponderConfig, ctx: Context) -> Result<Arc<dyn Responder>, RespondError> {
    let token_url = match (&c.token_url, &c.tenant_id) {
        (Some(u), _) => u.clone(),
        (None, Some(t)) => TokenSource::microsoft_url(t),
        (None, None) => {
            return Err(ConnectorError::Config("tenant_id or token_url is required".into()).into());
        }
    };
    Ok(Arc::new(Defender {
        http: http_client(c, KIND.default_base_url, &ctx)?,
        tokens: TokenSource::new(
            &token_url,
            c.client_id.as_deref().unwrap_or_default(),
            Some(SCOPE),
        )?,
        isolation_type: c.opt_str("isolation_type").unwrap_or("Full").into(),
    }))
}

struct Defender {
    http: Http,
    tokens: TokenSource,
    isolation_type: String,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ApiError,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct Machines {
    #[serde(default)]
    value: Vec<Machine>,
}

#[derive(Deserialize)]
struct Machine {
    id: String,
}

#[derive(Deserialize)]
struct MachineAction {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct ActionList {
    #[serde(default)]
    value: Vec<MachineAction>,
}

/// The documented error object, if the body is one.
fn api_error(reply: &Reply) -> Option<ApiError> {
    reply.json::<ErrorBody>().ok().map(|b| b.error)
}

fn rejected(reply: &Reply) -> RespondError {
    RespondError::Rejected {
        status: reply.status,
        message: match api_error(reply) {
            Some(e) => format!("{}: {}", e.code, e.message),
            None => reply.snippet(300),
        },
    }
}

/// A host name as an OData string literal (single quotes doubled).
fn odata_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl Defender {
    /// Sends with a bearer token, fetching a fresh one once after a 401.
    async fn call<F>(&self, op: &str, build: F) -> Result<Reply, RespondError>
    where
        F: Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    {
        self.tokens.send(&self.http, op, build).await
    }

    async fn machine_id(&self, host: &str) -> Result<String, RespondError> {
        let mut url = self.http.url("api/machines")?;
        // `$filter` spelled as documented; the value percent-encoded (spaces as %20).
        let filter = format!("computerDnsName eq {}", odata_quote(host));
        url.set_query(Some(&format!("$filter={}", percent_encode(&filter))));
        let reply = self
            .call("find_machine", |c, t| c.get(url.clone()).bearer_auth(t))
            .await?;
        // "If there are no recent machines, you see 404 Not Found."
        if reply.status == 404 {
            return Err(RespondError::TargetNotFound(format!(
                "no Defender device named {host}"
            )));
        }
        if !reply.is_success() {
            return Err(rejected(&reply));
        }
        let list: Machines = reply.json()?;
        match list.value.as_slice() {
            [one] => Ok(one.id.clone()),
            [] => Err(RespondError::TargetNotFound(format!(
                "no Defender device named {host}"
            ))),
            many => Err(RespondError::TargetNotFound(format!(
                "{} Defender devices are named {host}; refusing to guess",
                many.len()
            ))),
        }
    }
}

impl Defender {
    /// The id of a pending or running machine action of `kind` (`Isolate`, `Unisolate`) on the
    /// device (`GET /api/machineactions?$filter=machineId eq '…' and type eq '…'`).
    async fn pending_action(
        &self,
        machine: &str,
        kind: &str,
    ) -> Result<Option<String>, RespondError> {
        let mut url = self.http.url("api/machineactions")?;
        let filter = format!(
            "machineId eq {} and type eq {}",
            odata_quote(machine),
            odata_quote(kind)
        );
        url.set_query(Some(&format!("$filter={}", percent_encode(&filter))));
        let reply = self
            .call("find_machine_action", |c, t| {
                c.get(url.clone()).bearer_auth(t)
            })
            .await?;
        if !reply.is_success() {
            return Err(rejected(&reply));
        }
        let list: ActionList = reply.json()?;
        Ok(list
            .value
            .into_iter()
            .find(|a| {
                a.kind.as_deref() == Some(kind)
                    && matches!(a.status.as_deref(), Some("Pending" | "InProgress"))
            })
            .and_then(|a| a.id))
    }
}

#[async_trait]
impl Responder for Defender {
    fn actions(&self) -> Vec<ActionDef> {
        actions(&ResponderConfig::new("", ""))
    }

    async fn execute(&self, req: &ActionRequest) -> Result<ActionOutcome, RespondError> {
        let (verb, done) = match req.action.as_str() {
            "isolate_host" => ("isolate", "isolation requested"),
            "release_host" => ("unisolate", "release from isolation requested"),
            other => return Err(RespondError::Unsupported(other.into())),
        };
        if req.target.is_empty() {
            return Err(RespondError::TargetNotFound("no host given".into()));
        }
        let id = self.machine_id(&req.target).await?;
        let url = with_segments(self.http.url("api/machines")?, &[&id, verb])?;
        let body = match verb {
            "isolate" => serde_json::json!({
                "Comment": req.summary,
                "IsolationType": self.isolation_type,
            }),
            _ => serde_json::json!({"Comment": req.summary}),
        };
        let reply = self
            .call(&req.action, |c, t| {
                c.post(url.clone()).bearer_auth(t).json(&body)
            })
            .await?;
        if reply.is_success() {
            let action: MachineAction = reply.json()?;
            let action_id = action.id.unwrap_or_default();
            let status = action.status.unwrap_or_else(|| "Pending".into());
            return Ok(ActionOutcome {
                summary: format!(
                    "host {} (Defender device {id}) {done}: machine action {action_id} {status}",
                    req.target
                ),
                details: serde_json::json!({
                    "machine_id": id,
                    "machine_action_id": action_id,
                    "machine_action_status": status,
                    "isolation_type": (verb == "isolate").then_some(&self.isolation_type),
                }),
            });
        }
        match api_error(&reply) {
            // An action is already pending on the device. If it is this one, the state is on its
            // way; if it is the opposite one, saying "done" would be wrong.
            Some(e) if reply.status == 400 && e.code == "ActiveRequestAlreadyExists" => {
                let kind = if verb == "isolate" {
                    "Isolate"
                } else {
                    "Unisolate"
                };
                match self.pending_action(&id, kind).await? {
                    Some(pending) => Ok(ActionOutcome {
                        summary: format!(
                            "host {} (Defender device {id}) {done}: machine action {pending} already pending",
                            req.target
                        ),
                        details: serde_json::json!({
                            "machine_id": id,
                            "machine_action_id": pending,
                            "already_pending": true,
                        }),
                    }),
                    None => Err(RespondError::Rejected {
                        status: reply.status,
                        message: format!(
                            "{}: {} (another machine action is pending on device {id})",
                            e.code, e.message
                        ),
                    }),
                }
            }
            Some(e) if reply.status == 404 => Err(RespondError::TargetNotFound(format!(
                "Defender device {id}: {}: {}",
                e.code, e.message
            ))),
            _ => Err(rejected(&reply)),
        }
    }
}
