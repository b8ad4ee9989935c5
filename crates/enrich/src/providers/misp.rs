//! MISP REST API: `POST /attributes/restSearch` (https://www.misp-project.org/openapi/).
//!
//! Auth: `Authorization: <key>`, JSON in and out. Body: `{"returnFormat": "json", "value": V,
//! "type": [types for the indicator kind], "limit": N, "includeEventTags": true}` plus `"to_ids": true`
//! with option `to_ids_only` and `"published": true` with `published_only`. Response:
//! `{"response": {"Attribute": [...]}}`. Verdict: any attribute with `to_ids` → malicious; attributes
//! only with `to_ids: false` → suspicious; none → unknown. Attributes or events tagged with a
//! `false-positive` tag are ignored. MISP has no default address (`base_url` required). Self-signed
//! TLS is not accepted: install the instance's CA in the system store (the option `verify_tls` is
//! refused on purpose). Healthcheck: `GET /servers/getVersion`.

use std::sync::Arc;

use async_trait::async_trait;
use picket_core::{Finding, IntelVerdict, ObservableType};
use serde_json::{Value, json};

use crate::config::ConnectorConfig;
use crate::connector::{BuildContext, Connector, ConnectorError, KeyUse, Provider, Quota};
use crate::http::Http;

pub(crate) static PROVIDER: Provider = Provider {
    name: "misp",
    description: "MISP instance: attributes/restSearch",
    docs: "https://www.misp-project.org/openapi/#tag/Attributes/operation/restSearchAttributes",
    kinds: &[
        ObservableType::Ipv4,
        ObservableType::Ipv6,
        ObservableType::Domain,
        ObservableType::Url,
        ObservableType::Email,
        ObservableType::Md5,
        ObservableType::Sha1,
        ObservableType::Sha256,
        ObservableType::Sha512,
        ObservableType::Cve,
    ],
    default_base_url: None,
    http: true,
    key: KeyUse::Required,
    quota: Quota {
        per_minute: None,
        per_day: None,
    },
    check,
    build,
};

fn check(c: &ConnectorConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in &c.options {
        match k.as_str() {
            "to_ids_only" | "published_only" if v.is_boolean() => {}
            "limit" if v.as_u64().is_some_and(|n| (1..=1000).contains(&n)) => {}
            "verify_tls" => out.push((
                "options.verify_tls".into(),
                "not supported: certificate checks stay on; add the MISP instance's CA to the system trust store".into(),
            )),
            "to_ids_only" | "published_only" => out.push((format!("options.{k}"), "true or false".into())),
            "limit" => out.push(("options.limit".into(), "an integer from 1 to 1000".into())),
            _ => out.push((
                format!("options.{k}"),
                "unknown option, expected to_ids_only, published_only, limit".into(),
            )),
        }
    }
    out
}

fn build(c: &ConnectorConfig, cx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    Ok(Arc::new(Misp {
        http: cx.http,
        to_ids_only: c.options.get("to_ids_only") == Some(&Value::Bool(true)),
        published_only: c.options.get("published_only") == Some(&Value::Bool(true)),
        limit: c.options.get("limit").and_then(Value::as_u64).unwrap_or(50),
    }))
}

struct Misp {
    http: Http,
    to_ids_only: bool,
    published_only: bool,
    limit: u64,
}

/// MISP attribute types that carry an indicator of this kind.
pub fn misp_types(kind: ObservableType) -> &'static [&'static str] {
    match kind {
        ObservableType::Ipv4 | ObservableType::Ipv6 => &[
            "ip-src",
            "ip-dst",
            "ip-src|port",
            "ip-dst|port",
            "domain|ip",
        ],
        ObservableType::Domain => &["domain", "hostname", "domain|ip"],
        ObservableType::Url => &["url", "link"],
        ObservableType::Email => &["email", "email-src", "email-dst"],
        ObservableType::Md5 => &["md5", "filename|md5"],
        ObservableType::Sha1 => &["sha1", "filename|sha1"],
        ObservableType::Sha256 => &["sha256", "filename|sha256"],
        ObservableType::Sha512 => &["sha512", "filename|sha512"],
        ObservableType::Cve => &["vulnerability"],
    }
}

fn false_positive(v: &Value) -> bool {
    v["Tag"].as_array().into_iter().flatten().any(|t| {
        t["name"]
            .as_str()
            .is_some_and(|n| n.contains("false-positive"))
    })
}

fn unix(v: &Value) -> Option<jiff::Timestamp> {
    let n = v
        .as_str()
        .and_then(|s| s.parse::<i64>().ok())
        .or(v.as_i64())?;
    jiff::Timestamp::from_second(n).ok()
}

fn headers(rb: reqwest::RequestBuilder, key: &str) -> reqwest::RequestBuilder {
    rb.header("Authorization", key)
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
}

#[async_trait]
impl Connector for Misp {
    fn kinds(&self) -> &[ObservableType] {
        PROVIDER.kinds
    }

    async fn lookup(&self, kind: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        let mut body = json!({
            "returnFormat": "json", "value": value, "type": misp_types(kind),
            "limit": self.limit, "includeEventTags": true,
        });
        if self.to_ids_only {
            body["to_ids"] = json!(true);
        }
        if self.published_only {
            body["published"] = json!(true);
        }
        let url = self.http.url("attributes/restSearch")?;
        let key = self.http.secret()?.expose().to_owned();
        let reply = self
            .http
            .send("restSearch", |c| {
                headers(c.post(url.clone()), &key).body(body.to_string())
            })
            .await?;
        if !reply.is_success() {
            return Err(reply.unexpected());
        }
        let doc: Value = reply.json()?;
        let attrs = doc["response"]["Attribute"]
            .as_array()
            .ok_or_else(|| ConnectorError::Malformed("no response.Attribute array".into()))?;
        let live: Vec<&Value> = attrs
            .iter()
            .filter(|a| !false_positive(a) && !false_positive(&a["Event"]))
            .collect();
        if live.is_empty() {
            return Ok(Finding::unknown());
        }
        let to_ids = live.iter().any(|a| a["to_ids"] == true);
        let events: Vec<&str> = live
            .iter()
            .filter_map(|a| a["Event"]["info"].as_str())
            .take(5)
            .collect();
        let mut tags: Vec<&str> = live
            .iter()
            .flat_map(|a| {
                a["Tag"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .chain(a["Event"]["Tag"].as_array().into_iter().flatten())
            })
            .filter_map(|t| t["name"].as_str())
            .collect();
        tags.sort_unstable();
        tags.dedup();
        let mut f = Finding {
            verdict: Some(if to_ids {
                IntelVerdict::Malicious
            } else {
                IntelVerdict::Suspicious
            }),
            first_seen: live
                .iter()
                .filter_map(|a| unix(&a["first_seen"]).or_else(|| unix(&a["timestamp"])))
                .min(),
            last_seen: live
                .iter()
                .filter_map(|a| unix(&a["last_seen"]).or_else(|| unix(&a["timestamp"])))
                .max(),
            reference: live[0]["event_id"]
                .as_str()
                .and_then(|id| self.http.url(&format!("events/view/{id}")).ok())
                .map(|u| u.to_string()),
            ..Finding::default()
        }
        .highlight("attributes", live.len())
        .highlight("to_ids", to_ids)
        .highlight("events", events);
        if !tags.is_empty() {
            f = f.highlight("tags", tags);
        }
        Ok(f)
    }

    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        let url = self.http.url("servers/getVersion")?;
        let key = self.http.secret()?.expose().to_owned();
        let reply = self
            .http
            .send("getVersion", |c| headers(c.get(url.clone()), &key))
            .await?;
        if !reply.is_success() {
            return Err(reply.unexpected());
        }
        let v: Value = reply.json()?;
        Ok(format!("MISP {}", v["version"].as_str().unwrap_or("?")))
    }
}
