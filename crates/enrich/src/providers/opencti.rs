//! OpenCTI GraphQL API (`POST /graphql`, OpenCTI 5.12+/6.x filter syntax), bearer token auth.
//!
//! One query per lookup: `stixCyberObservables(filters: {mode: and, filters: [{key: "value",
//! values: [V]}], filterGroups: []})` with each observable's `x_opencti_score`, labels and linked
//! `indicators` (score, revoked, valid_until). GraphQL reports errors with HTTP 200 and an `errors`
//! array: `AUTH_REQUIRED` → unauthorized, `FORBIDDEN_ACCESS` → forbidden, anything else → malformed.
//! Verdict from the highest score among the observable and its live indicators: ≥ `malicious_score`
//! (option, default 75) → malicious; ≥ `suspicious_score` (default 40), or any live indicator →
//! suspicious; otherwise unknown. No default address (`base_url` required). Healthcheck:
//! `query { me { name } }`.

use std::sync::Arc;

use async_trait::async_trait;
use picket_core::{Finding, IntelVerdict, ObservableType};
use serde_json::{Value, json};

use crate::config::ConnectorConfig;
use crate::connector::{BuildContext, Connector, ConnectorError, KeyUse, Provider, Quota};
use crate::http::Http;

pub(crate) static PROVIDER: Provider = Provider {
    name: "opencti",
    description: "OpenCTI (GraphQL): observables, their scores and indicators",
    docs: "https://docs.opencti.io/latest/reference/api/",
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

const QUERY: &str = "query PicketLookup($filters: FilterGroup) {
  stixCyberObservables(first: 5, filters: $filters) {
    edges { node {
      id entity_type observable_value x_opencti_score created_at updated_at
      objectLabel { value }
      indicators(first: 10) { edges { node { id name x_opencti_score revoked valid_until } } }
    } }
  }
}";

fn check(c: &ConnectorConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in &c.options {
        match k.as_str() {
            "malicious_score" | "suspicious_score" => {
                if v.as_u64().is_none_or(|n| n > 100) {
                    out.push((format!("options.{k}"), "an integer from 0 to 100".into()));
                }
            }
            _ => out.push((
                format!("options.{k}"),
                "unknown option, expected malicious_score, suspicious_score".into(),
            )),
        }
    }
    out
}

fn build(c: &ConnectorConfig, cx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    let n = |k: &str, d: u64| c.options.get(k).and_then(Value::as_u64).unwrap_or(d);
    Ok(Arc::new(OpenCti {
        http: cx.http,
        malicious: n("malicious_score", 75),
        suspicious: n("suspicious_score", 40),
    }))
}

struct OpenCti {
    http: Http,
    malicious: u64,
    suspicious: u64,
}

impl OpenCti {
    async fn graphql(&self, op: &str, body: Value) -> Result<Value, ConnectorError> {
        let url = self.http.url("graphql")?;
        let key = self.http.secret()?.expose().to_owned();
        let reply = self
            .http
            .send(op, |c| {
                c.post(url.clone())
                    .bearer_auth(&key)
                    .header("Accept", "application/json")
                    .json(&body)
            })
            .await?;
        if !reply.is_success() {
            return Err(reply.unexpected());
        }
        let doc: Value = reply.json()?;
        if let Some(e) = doc["errors"].as_array().and_then(|e| e.first()) {
            let msg = e["message"].as_str().unwrap_or("GraphQL error").to_owned();
            let code = e["extensions"]["code"]
                .as_str()
                .or_else(|| e["name"].as_str())
                .unwrap_or("");
            return Err(match code {
                "AUTH_REQUIRED" => ConnectorError::Unauthorized(msg),
                "FORBIDDEN_ACCESS" => ConnectorError::Forbidden(msg),
                _ => ConnectorError::Malformed(format!("GraphQL error {code}: {msg}")),
            });
        }
        Ok(doc)
    }
}

#[async_trait]
impl Connector for OpenCti {
    fn kinds(&self) -> &[ObservableType] {
        PROVIDER.kinds
    }

    async fn lookup(&self, kind: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        if !PROVIDER.kinds.contains(&kind) {
            return Err(ConnectorError::Unsupported(kind));
        }
        // Hashes are observables of type StixFile, matched through their hashes.
        let key = match kind {
            ObservableType::Md5 => "hashes.MD5",
            ObservableType::Sha1 => "hashes.SHA-1",
            ObservableType::Sha256 => "hashes.SHA-256",
            ObservableType::Sha512 => "hashes.SHA-512",
            _ => "value",
        };
        let body = json!({
            "query": QUERY,
            "variables": {"filters": {"mode": "and", "filters": [{"key": key, "values": [value]}], "filterGroups": []}},
        });
        let doc = self.graphql("lookup", body).await?;
        let edges = doc["data"]["stixCyberObservables"]["edges"]
            .as_array()
            .ok_or_else(|| {
                ConnectorError::Malformed("no data.stixCyberObservables.edges".into())
            })?;
        if edges.is_empty() {
            return Ok(Finding::unknown());
        }
        let nodes: Vec<&Value> = edges.iter().map(|e| &e["node"]).collect();
        let indicators: Vec<&Value> = nodes
            .iter()
            .flat_map(|n| n["indicators"]["edges"].as_array().into_iter().flatten())
            .map(|e| &e["node"])
            .filter(|i| i["revoked"] != true)
            .collect();
        let score = nodes
            .iter()
            .map(|n| &n["x_opencti_score"])
            .chain(indicators.iter().map(|i| &i["x_opencti_score"]))
            .filter_map(Value::as_u64)
            .max();
        let verdict = match score {
            Some(s) if s >= self.malicious => IntelVerdict::Malicious,
            Some(s) if s >= self.suspicious => IntelVerdict::Suspicious,
            _ if !indicators.is_empty() => IntelVerdict::Suspicious,
            _ => IntelVerdict::Unknown,
        };
        let labels: Vec<&str> = nodes
            .iter()
            .flat_map(|n| n["objectLabel"].as_array().into_iter().flatten())
            .filter_map(|l| l["value"].as_str())
            .collect();
        let time = |k: &str| {
            nodes
                .iter()
                .filter_map(|n| n[k].as_str())
                .filter_map(|t| t.parse::<jiff::Timestamp>().ok())
                .collect::<Vec<_>>()
        };
        let mut f = Finding {
            verdict: Some(verdict),
            score: score.map(|s| s.min(100) as f64 / 100.0),
            first_seen: time("created_at").into_iter().min(),
            last_seen: time("updated_at").into_iter().max(),
            reference: nodes[0]["id"]
                .as_str()
                .and_then(|id| {
                    self.http
                        .url(&format!("dashboard/observations/observables/{id}"))
                        .ok()
                })
                .map(|u| u.to_string()),
            ..Finding::default()
        }
        .highlight(
            "indicators",
            indicators
                .iter()
                .filter_map(|i| i["name"].as_str())
                .collect::<Vec<_>>(),
        );
        if let Some(s) = score {
            f = f.highlight("x_opencti_score", s);
        }
        if !labels.is_empty() {
            f = f.highlight("labels", labels);
        }
        Ok(f)
    }

    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        let doc = self
            .graphql("healthcheck", json!({"query": "query { me { name } }"}))
            .await?;
        Ok(format!(
            "token accepted (user {})",
            doc["data"]["me"]["name"].as_str().unwrap_or("?")
        ))
    }
}
