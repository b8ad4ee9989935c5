//! AlienVault OTX DirectConnect API v1, `GET /api/v1/indicators/{section}/{value}/general`
//! (https://otx.alienvault.com/api): sections IPv4, IPv6, domain, hostname, url, file.
//!
//! Auth: `X-OTX-API-KEY` header. OTX publishes no per-key quota (left unset; set `per_minute` if your
//! account is limited). Verdict: `pulse_info.count` ≥ `malicious_pulses` (option, default 3) →
//! malicious; ≥ 1 → suspicious; no pulses but a `validation` entry (OTX's allowlists: Alexa/Majestic
//! top sites, known-good ranges) → benign; else unknown. A 404 is unknown; a 400 means OTX rejected
//! the value. Highlights: pulse_count, pulses (first 5 names), tags (first 10), adversaries,
//! validation.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use picket_core::{Finding, IntelVerdict, ObservableType};
use serde_json::Value;

use crate::config::ConnectorConfig;
use crate::connector::{BuildContext, Connector, ConnectorError, KeyUse, Provider, Quota};
use crate::http::Http;

pub(crate) static PROVIDER: Provider = Provider {
    name: "otx",
    description: "AlienVault OTX DirectConnect v1: pulses for IPs, domains, URLs, file hashes",
    docs: "https://otx.alienvault.com/api",
    kinds: &[
        ObservableType::Ipv4,
        ObservableType::Ipv6,
        ObservableType::Domain,
        ObservableType::Url,
        ObservableType::Md5,
        ObservableType::Sha1,
        ObservableType::Sha256,
    ],
    default_base_url: Some("https://otx.alienvault.com/"),
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
        if k == "malicious_pulses" {
            if v.as_u64().is_none_or(|n| n == 0) {
                out.push(("options.malicious_pulses".into(), "an integer ≥ 1".into()));
            }
        } else {
            out.push((
                format!("options.{k}"),
                "unknown option, expected malicious_pulses".into(),
            ));
        }
    }
    out
}

fn build(c: &ConnectorConfig, cx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    Ok(Arc::new(Otx {
        http: cx.http,
        malicious_pulses: c
            .options
            .get("malicious_pulses")
            .and_then(Value::as_u64)
            .unwrap_or(3),
    }))
}

struct Otx {
    http: Http,
    malicious_pulses: u64,
}

fn section(kind: ObservableType) -> Option<&'static str> {
    Some(match kind {
        ObservableType::Ipv4 => "IPv4",
        ObservableType::Ipv6 => "IPv6",
        ObservableType::Domain => "domain",
        ObservableType::Url => "url",
        ObservableType::Md5 | ObservableType::Sha1 | ObservableType::Sha256 => "file",
        _ => return None,
    })
}

impl Otx {
    async fn get(
        &self,
        op: &str,
        mut url: url::Url,
        segments: &[&str],
    ) -> Result<crate::http::Reply, ConnectorError> {
        url.path_segments_mut()
            .map_err(|_| ConnectorError::Config("base_url cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        let key = self.http.secret()?.expose().to_owned();
        self.http
            .send(op, |c| {
                c.get(url.clone())
                    .header("X-OTX-API-KEY", &key)
                    .header("Accept", "application/json")
            })
            .await
    }
}

#[async_trait]
impl Connector for Otx {
    fn kinds(&self) -> &[ObservableType] {
        PROVIDER.kinds
    }

    async fn lookup(&self, kind: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        let section = section(kind).ok_or(ConnectorError::Unsupported(kind))?;
        let base = self.http.url("")?;
        let reply = self
            .get(
                "indicator",
                base,
                &["api", "v1", "indicators", section, value, "general"],
            )
            .await?;
        let doc: Value = match reply.status {
            200 => reply.json()?,
            404 => return Ok(Finding::unknown()),
            _ => return Err(reply.unexpected()),
        };
        let pulses = doc["pulse_info"]["pulses"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let count = doc["pulse_info"]["count"]
            .as_u64()
            .unwrap_or(pulses.len() as u64);
        let validation = doc["validation"].as_array().cloned().unwrap_or_default();
        let verdict = if count >= self.malicious_pulses {
            IntelVerdict::Malicious
        } else if count >= 1 {
            IntelVerdict::Suspicious
        } else if !validation.is_empty() {
            IntelVerdict::Benign
        } else {
            IntelVerdict::Unknown
        };
        let names: Vec<&str> = pulses
            .iter()
            .filter_map(|p| p["name"].as_str())
            .take(5)
            .collect();
        let tags: BTreeSet<&str> = pulses
            .iter()
            .flat_map(|p| p["tags"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        let adversaries: BTreeSet<&str> = pulses
            .iter()
            .filter_map(|p| p["adversary"].as_str())
            .filter(|a| !a.is_empty())
            .collect();
        let times = |k: &str| {
            pulses
                .iter()
                .filter_map(|p| p[k].as_str())
                .filter_map(|t| {
                    format!("{}Z", t.trim_end_matches('Z'))
                        .parse::<jiff::Timestamp>()
                        .ok()
                })
                .collect::<Vec<_>>()
        };
        let mut f = Finding {
            verdict: Some(verdict),
            score: Some((count as f64 / self.malicious_pulses as f64).min(1.0)),
            first_seen: times("created").into_iter().min(),
            last_seen: times("modified").into_iter().max(),
            reference: Some(format!(
                "https://otx.alienvault.com/indicator/{}/{}",
                if section == "file" { "file" } else { section },
                value
            )),
            ..Finding::default()
        }
        .highlight("pulse_count", count);
        if !names.is_empty() {
            f = f.highlight("pulses", names);
        }
        if !tags.is_empty() {
            f = f.highlight("tags", tags.into_iter().take(10).collect::<Vec<_>>());
        }
        if !adversaries.is_empty() {
            f = f.highlight("adversaries", adversaries.into_iter().collect::<Vec<_>>());
        }
        if !validation.is_empty() {
            f = f.highlight("validation", validation);
        }
        Ok(f)
    }

    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        let reply = self
            .get(
                "healthcheck",
                self.http.url("")?,
                &["api", "v1", "users", "me"],
            )
            .await?;
        if !reply.is_success() {
            return Err(reply.unexpected());
        }
        let me: Value = reply.json()?;
        Ok(format!(
            "key accepted (user {})",
            me["username"].as_str().unwrap_or("?")
        ))
    }
}
