//! abuse.ch ThreatFox API v1 (https://threatfox.abuse.ch/api/): `POST /api/v1/` with JSON
//! `{"query": "search_ioc", "search_term": V}` (`{"query": "search_hash", "hash": V}` for hashes) and
//! the `Auth-Key` header.
//!
//! `query_status`: `ok` → the IOCs found (`ioc`, `threat_type`, `malware_printable`,
//! `confidence_level` 0–100, `first_seen`, `last_seen`, `tags`, `reference`): the highest confidence
//! ≥ `malicious_confidence` (option, default 75) → malicious, else suspicious; score = confidence/100.
//! An IP matches `ip:port` IOCs too. `no_result` → unknown; other statuses are errors.

use std::sync::Arc;

use async_trait::async_trait;
use picket_core::{Finding, IntelVerdict, ObservableType};
use serde_json::{Value, json};

use super::urlhaus::abuse_ch_time;
use crate::config::ConnectorConfig;
use crate::connector::{BuildContext, Connector, ConnectorError, KeyUse, Provider, Quota};
use crate::http::Http;

pub(crate) static PROVIDER: Provider = Provider {
    name: "threatfox",
    description: "abuse.ch ThreatFox: IOCs (IPs, domains, URLs, hashes) with malware families",
    docs: "https://threatfox.abuse.ch/api/",
    kinds: &[
        ObservableType::Ipv4,
        ObservableType::Domain,
        ObservableType::Url,
        ObservableType::Md5,
        ObservableType::Sha1,
        ObservableType::Sha256,
    ],
    default_base_url: Some("https://threatfox-api.abuse.ch/"),
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
        if k == "malicious_confidence" {
            if v.as_u64().is_none_or(|n| n > 100) {
                out.push((
                    "options.malicious_confidence".into(),
                    "an integer from 0 to 100".into(),
                ));
            }
        } else {
            out.push((
                format!("options.{k}"),
                "unknown option, expected malicious_confidence".into(),
            ));
        }
    }
    out
}

fn build(c: &ConnectorConfig, cx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    Ok(Arc::new(ThreatFox {
        http: cx.http,
        malicious: c
            .options
            .get("malicious_confidence")
            .and_then(Value::as_u64)
            .unwrap_or(75),
    }))
}

struct ThreatFox {
    http: Http,
    malicious: u64,
}

impl ThreatFox {
    async fn query(&self, body: Value) -> Result<Value, ConnectorError> {
        let url = self.http.url("api/v1/")?;
        let key = self.http.secret()?.expose().to_owned();
        let reply = self
            .http
            .send("query", |c| {
                c.post(url.clone()).header("Auth-Key", &key).json(&body)
            })
            .await?;
        if !reply.is_success() {
            return Err(reply.unexpected());
        }
        reply.json()
    }
}

#[async_trait]
impl Connector for ThreatFox {
    fn kinds(&self) -> &[ObservableType] {
        PROVIDER.kinds
    }

    async fn lookup(&self, kind: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        if !PROVIDER.kinds.contains(&kind) {
            return Err(ConnectorError::Unsupported(kind));
        }
        let body = if kind.is_hash() {
            json!({"query": "search_hash", "hash": value})
        } else {
            json!({"query": "search_ioc", "search_term": value})
        };
        let doc = self.query(body).await?;
        match doc["query_status"].as_str() {
            Some("ok") => {}
            Some("no_result") => return Ok(Finding::unknown()),
            Some(other) => {
                return Err(ConnectorError::Http {
                    status: 200,
                    message: format!(
                        "ThreatFox query_status `{other}`{}",
                        doc["data"]
                            .as_str()
                            .map(|d| format!(": {d}"))
                            .unwrap_or_default()
                    ),
                });
            }
            None => return Err(ConnectorError::Malformed("no query_status".into())),
        }
        let iocs: Vec<&Value> = doc["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|i| {
                let ioc = i["ioc"].as_str().unwrap_or("");
                kind.is_hash()
                    || ioc.eq_ignore_ascii_case(value)
                    || (kind == ObservableType::Ipv4
                        && ioc.split_once(':').is_some_and(|(ip, _)| ip == value))
            })
            .collect();
        if iocs.is_empty() {
            return Ok(Finding::unknown());
        }
        let confidence = iocs
            .iter()
            .filter_map(|i| i["confidence_level"].as_u64())
            .max()
            .unwrap_or(0);
        let mut f = Finding {
            verdict: Some(if confidence >= self.malicious {
                IntelVerdict::Malicious
            } else {
                IntelVerdict::Suspicious
            }),
            score: Some(confidence.min(100) as f64 / 100.0),
            first_seen: iocs
                .iter()
                .filter_map(|i| abuse_ch_time(&i["first_seen"]))
                .min(),
            last_seen: iocs
                .iter()
                .filter_map(|i| abuse_ch_time(&i["last_seen"]))
                .max(),
            reference: iocs[0]["id"]
                .as_str()
                .map(|id| format!("https://threatfox.abuse.ch/ioc/{id}/")),
            ..Finding::default()
        }
        .highlight("confidence_level", confidence)
        .highlight("iocs", iocs.len());
        for k in ["threat_type", "malware_printable", "tags"] {
            if let Some(v) = iocs[0].get(k).filter(|v| !v.is_null()) {
                f = f.highlight(k, v.clone());
            }
        }
        Ok(f)
    }

    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        let doc = self.query(json!({"query": "get_iocs", "days": 1})).await?;
        match doc["query_status"].as_str() {
            Some("ok" | "no_result") => Ok("key accepted (get_iocs)".into()),
            other => Err(ConnectorError::Http {
                status: 200,
                message: format!("ThreatFox query_status {other:?}"),
            }),
        }
    }
}
