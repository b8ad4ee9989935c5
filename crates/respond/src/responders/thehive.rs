//! TheHive 5 alerts and cases (API v1, <https://docs.strangebee.com/thehive/api-docs/>), with an
//! API key sent as `Authorization: Bearer <key>`:
//!
//! - `create_alert`: `POST /api/v1/alert` with `{"type": "picket", "source": "picket",
//!   "sourceRef": <action id>, "title", "description", "severity", "tlp", "pap", "tags",
//!   "observables"?}`, answered 201 with the alert (`{"_id", …}`). TheHive keeps `type`, `source`
//!   and `sourceRef` unique, so a repeat is refused with 400
//!   `{"type": "CreateError", "message": "Alert picket:picket:<action id> already exist in organisation …"}`,
//!   which counts as success: safe to send again.
//! - `create_case`: `POST /api/v1/case` with `{"title", "description", "severity", "tags",
//!   "flag": false, "tlp", "pap"}`, answered 201 with the case (`{"_id", "number", …}`). Cases have
//!   no idempotency key: never retried, and not resumed after a crash.
//!
//! Title and description come from `params.title` / `params.description`, else the request summary;
//! severity from `params.severity` (1 low … 4 critical, or its name), else the option; tags are the
//! option's plus `params.tags`; alert observables are `params.observables` (TheHive's
//! `[{"dataType", "data", …}]`), plus the target when it is an IP address; a malformed one of
//! these parameters is refused before anything is sent (a `template` error). TheHive's errors are
//! `{"type", "message"}` (`AuthenticationError` 401, `AttributeCheckingError` 400, …).
//!
//! Options: `severity` (1-4, default 2), `tlp` (0-4, default 2), `pap` (0-3, default 2), `tags`
//! (array of strings, default `["picket"]`), `organisation` (sent as `X-Organisation`, for keys
//! that belong to several organisations). `base_url` (required) is TheHive's address.

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use picket_enrich::Http;
use picket_enrich::http::Reply;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Context, Kind, http_client};
use crate::config::ResponderConfig;
use crate::responder::{ActionDef, ActionOutcome, ActionRequest, RespondError, Responder};

pub(super) static KIND: Kind = Kind {
    name: "thehive",
    description: "TheHive 5: create an alert (deduplicated per action) or a case",
    docs: "https://docs.strangebee.com/thehive/api-docs/",
    default_base_url: None,
    needs_base_url: true,
    needs_secret: true,
    secret: "a TheHive API key",
    oauth: false,
    tenant: false,
    actions,
    check,
    build,
};

/// Alert and case type/source; with the action id as `sourceRef` it identifies the alert.
const SOURCE: &str = "picket";

fn actions(_: &ResponderConfig) -> Vec<ActionDef> {
    vec![
        ActionDef::new("create_alert", None, true),
        ActionDef::new("create_case", None, false),
    ]
}

fn int_in(v: &Value, lo: u64, hi: u64) -> bool {
    v.as_u64().is_some_and(|n| (lo..=hi).contains(&n))
}

fn check(c: &ResponderConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in &c.options {
        let problem = match k.as_str() {
            "severity" if !int_in(v, 1, 4) => Some("must be 1 (low) to 4 (critical)"),
            "tlp" if !int_in(v, 0, 4) => Some("must be 0 to 4"),
            "pap" if !int_in(v, 0, 3) => Some("must be 0 to 3"),
            "tags"
                if !v.as_array().is_some_and(|a| {
                    a.iter().all(|t| t.as_str().is_some_and(|s| !s.is_empty()))
                }) =>
            {
                Some("must be an array of non-empty strings")
            }
            "organisation" if v.as_str().is_none_or(|s| s.trim().is_empty()) => {
                Some("must be a non-empty string")
            }
            "severity" | "tlp" | "pap" | "tags" | "organisation" => None,
            _ => Some("unknown option (expected severity, tlp, pap, tags, organisation)"),
        };
        if let Some(m) = problem {
            out.push((format!("options.{k}"), m.into()));
        }
    }
    out
}

fn build(c: &ResponderConfig, ctx: Context) -> Result<Arc<dyn Responder>, RespondError> {
    let http = http_client(c, None, &ctx)?;
    let num = |k: &str, d: u64| c.options.get(k).and_then(Value::as_u64).unwrap_or(d);
    Ok(Arc::new(TheHive {
        // Alerts carry their idempotency key; cases do not.
        cases: http.with_retries(0),
        alerts: http,
        severity: num("severity", 2),
        tlp: num("tlp", 2),
        pap: num("pap", 2),
        tags: match c.options.get("tags").and_then(Value::as_array) {
            Some(a) => a
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect(),
            None => vec![SOURCE.into()],
        },
        organisation: c.opt_str("organisation").map(str::to_owned),
    }))
}

struct TheHive {
    alerts: Http,
    cases: Http,
    severity: u64,
    tlp: u64,
    pap: u64,
    tags: Vec<String>,
    organisation: Option<String>,
}

#[derive(Deserialize)]
struct HiveError {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct Created {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    number: Option<u64>,
}

fn hive_error(reply: &Reply) -> Option<HiveError> {
    reply.json::<HiveError>().ok()
}

fn rejected(reply: &Reply) -> RespondError {
    RespondError::Rejected {
        status: reply.status,
        message: match hive_error(reply) {
            Some(e) => format!("{}: {}", e.kind, e.message),
            None => reply.snippet(300),
        },
    }
}

/// A request parameter that cannot be sent as it is.
fn bad_param(key: &str, why: &str) -> RespondError {
    RespondError::Template(format!("params.{key}: {why}"))
}

impl TheHive {
    fn severity(&self, req: &ActionRequest) -> Result<u64, RespondError> {
        let why = "must be 1-4 or low, medium, high, critical";
        match req.params.get("severity") {
            None | Some(Value::Null) => Ok(self.severity),
            Some(v) if int_in(v, 1, 4) => Ok(v.as_u64().unwrap_or(self.severity)),
            Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
                "low" | "1" => Ok(1),
                "medium" | "2" => Ok(2),
                "high" | "3" => Ok(3),
                "critical" | "4" => Ok(4),
                _ => Err(bad_param("severity", why)),
            },
            Some(_) => Err(bad_param("severity", why)),
        }
    }

    fn tags(&self, req: &ActionRequest) -> Result<Vec<String>, RespondError> {
        let mut tags = self.tags.clone();
        match req.params.get("tags") {
            None | Some(Value::Null) => {}
            Some(Value::Array(a)) => {
                for t in a {
                    match t.as_str() {
                        Some(s) if !tags.iter().any(|x| x == s) => tags.push(s.into()),
                        Some(_) => {}
                        None => return Err(bad_param("tags", "must be an array of strings")),
                    }
                }
            }
            Some(_) => return Err(bad_param("tags", "must be an array of strings")),
        }
        Ok(tags)
    }

    fn observables(&self, req: &ActionRequest) -> Result<Vec<Value>, RespondError> {
        let mut out = match req.params.get("observables") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a))
                if a.iter().all(|o| {
                    o.get("dataType").is_some_and(Value::is_string) && o.get("data").is_some()
                }) =>
            {
                a.clone()
            }
            Some(_) => {
                return Err(bad_param(
                    "observables",
                    "must be an array of {\"dataType\", \"data\"} objects",
                ));
            }
        };
        let target = req.target.trim();
        if target.parse::<IpAddr>().is_ok()
            && !out
                .iter()
                .any(|o| o.get("data").and_then(Value::as_str) == Some(target))
        {
            out.push(json!({"dataType": "ip", "data": target}));
        }
        Ok(out)
    }

    async fn post(
        &self,
        http: &Http,
        op: &str,
        path: &str,
        body: &Value,
    ) -> Result<Reply, RespondError> {
        let url = http.url(path)?;
        let auth = format!("Bearer {}", http.secret()?.expose());
        Ok(http
            .send(op, |c| {
                let mut r = c
                    .post(url.clone())
                    .header("authorization", &auth)
                    .json(body);
                if let Some(org) = &self.organisation {
                    r = r.header("x-organisation", org);
                }
                r
            })
            .await?)
    }
}

#[async_trait]
impl Responder for TheHive {
    fn actions(&self) -> Vec<ActionDef> {
        actions(&ResponderConfig::new("", ""))
    }

    async fn execute(&self, req: &ActionRequest) -> Result<ActionOutcome, RespondError> {
        if !matches!(req.action.as_str(), "create_alert" | "create_case") {
            return Err(RespondError::Unsupported(req.action.clone()));
        }
        let title = req.param("title").unwrap_or(&req.summary);
        let description = req.param("description").unwrap_or(&req.summary);
        let severity = self.severity(req)?;
        let tags = self.tags(req)?;
        if req.action == "create_case" {
            let body = json!({
                "title": title,
                "description": description,
                "severity": severity,
                "tags": tags,
                "flag": false,
                "tlp": self.tlp,
                "pap": self.pap,
            });
            let reply = self
                .post(&self.cases, "create_case", "api/v1/case", &body)
                .await?;
            if !reply.is_success() {
                return Err(rejected(&reply));
            }
            let case: Created = reply.json()?;
            let number = case.number.map(|n| format!("#{n} ")).unwrap_or_default();
            return Ok(ActionOutcome {
                summary: format!("TheHive case {number}({}) created: {title}", case.id),
                details: json!({"case_id": case.id, "case_number": case.number}),
            });
        }
        let mut body = json!({
            "type": SOURCE,
            "source": SOURCE,
            "sourceRef": req.action_id,
            "title": title,
            "description": description,
            "severity": severity,
            "tlp": self.tlp,
            "pap": self.pap,
            "tags": tags,
        });
        let observables = self.observables(req)?;
        if !observables.is_empty() {
            body["observables"] = Value::Array(observables);
        }
        let reply = self
            .post(&self.alerts, "create_alert", "api/v1/alert", &body)
            .await?;
        if reply.is_success() {
            let alert: Created = reply.json()?;
            return Ok(ActionOutcome {
                summary: format!("TheHive alert {} created: {title}", alert.id),
                details: json!({"alert_id": alert.id, "source_ref": req.action_id}),
            });
        }
        match hive_error(&reply) {
            // Only this alert's own duplicate: "Observable already exists" is a real failure.
            Some(e)
                if reply.status == 400
                    && e.kind == "CreateError"
                    && e.message.contains("already exist")
                    && e.message.contains(&req.action_id) =>
            {
                Ok(ActionOutcome {
                    summary: format!("TheHive alert for action {} already exists", req.action_id),
                    details: json!({"source_ref": req.action_id, "already_exists": true}),
                })
            }
            _ => Err(rejected(&reply)),
        }
    }
}
