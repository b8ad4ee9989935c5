//! AbuseIPDB API v2, `GET /check` (https://docs.abuseipdb.com/#check-endpoint).
//!
//! Auth: `Key` header. Free tier quota: 1,000 checks per day. Verdict: whitelisted → benign;
//! `abuseConfidenceScore` ≥ 75 → malicious, ≥ 25 → suspicious; no reports → unknown; reported but
//! below 25 → unknown (the score is AbuseIPDB's own confidence, kept as `score`).

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use picket_core::{Finding, IntelVerdict, ObservableType};
use serde::Deserialize;

use crate::config::ConnectorConfig;
use crate::connector::{BuildContext, Connector, ConnectorError, KeyUse, Provider, Quota};
use crate::http::Http;

pub(crate) static PROVIDER: Provider = Provider {
    name: "abuseipdb",
    description: "AbuseIPDB v2 IP reputation (check endpoint)",
    docs: "https://docs.abuseipdb.com/#check-endpoint",
    kinds: &[ObservableType::Ipv4, ObservableType::Ipv6],
    default_base_url: Some("https://api.abuseipdb.com/api/v2/"),
    http: true,
    key: KeyUse::Required,
    quota: Quota {
        per_minute: None,
        per_day: Some(1000),
    },
    check,
    build,
};

/// Option `max_age_days`: reports older than this are ignored by AbuseIPDB (1–365, default 90).
fn check(c: &ConnectorConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in &c.options {
        match k.as_str() {
            "max_age_days" => {
                if !v.as_u64().is_some_and(|d| (1..=365).contains(&d)) {
                    out.push((
                        "options.max_age_days".into(),
                        "must be an integer from 1 to 365".into(),
                    ));
                }
            }
            _ => out.push((
                format!("options.{k}"),
                "unknown option for abuseipdb (expected max_age_days)".into(),
            )),
        }
    }
    out
}

fn build(c: &ConnectorConfig, cx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    Ok(Arc::new(AbuseIpDb {
        http: cx.http,
        max_age_days: c
            .options
            .get("max_age_days")
            .and_then(|v| v.as_u64())
            .unwrap_or(90),
    }))
}

struct AbuseIpDb {
    http: Http,
    max_age_days: u64,
}

#[derive(Deserialize)]
struct Envelope {
    data: Check,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Check {
    ip_address: String,
    #[serde(default)]
    is_public: Option<bool>,
    #[serde(default)]
    is_whitelisted: Option<bool>,
    abuse_confidence_score: u8,
    #[serde(default)]
    country_code: Option<String>,
    #[serde(default)]
    usage_type: Option<String>,
    #[serde(default)]
    isp: Option<String>,
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    is_tor: Option<bool>,
    #[serde(default)]
    total_reports: u64,
    #[serde(default)]
    num_distinct_users: u64,
    #[serde(default)]
    last_reported_at: Option<String>,
}

impl AbuseIpDb {
    async fn check(&self, ip: &str) -> Result<Check, ConnectorError> {
        let url = self.http.url("check")?;
        let key = self.http.secret()?.expose().to_owned();
        let max_age = self.max_age_days.to_string();
        let reply = self
            .http
            .send("check", |c| {
                c.get(url.clone())
                    .query(&[("ipAddress", ip), ("maxAgeInDays", max_age.as_str())])
                    .header("Key", &key)
                    .header("Accept", "application/json")
            })
            .await?;
        match reply.status {
            200 => Ok(reply.json::<Envelope>()?.data),
            // Documented: 422 for an invalid ipAddress, with a JSON:API `errors` array.
            _ => Err(reply.unexpected()),
        }
    }
}

#[async_trait]
impl Connector for AbuseIpDb {
    fn kinds(&self) -> &[ObservableType] {
        PROVIDER.kinds
    }

    async fn lookup(&self, kind: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        if !PROVIDER.kinds.contains(&kind) {
            return Err(ConnectorError::Unsupported(kind));
        }
        let c = self.check(value).await?;
        let verdict = if c.is_whitelisted == Some(true) {
            IntelVerdict::Benign
        } else if c.abuse_confidence_score >= 75 {
            IntelVerdict::Malicious
        } else if c.abuse_confidence_score >= 25 {
            IntelVerdict::Suspicious
        } else {
            IntelVerdict::Unknown
        };
        let mut f = Finding {
            verdict: Some(verdict),
            score: Some(f64::from(c.abuse_confidence_score.min(100)) / 100.0),
            last_seen: c
                .last_reported_at
                .as_deref()
                .and_then(|t| t.parse::<Timestamp>().ok()),
            reference: Some(format!("https://www.abuseipdb.com/check/{}", c.ip_address)),
            ..Finding::default()
        }
        .highlight("abuseConfidenceScore", c.abuse_confidence_score)
        .highlight("totalReports", c.total_reports)
        .highlight("numDistinctUsers", c.num_distinct_users);
        for (k, v) in [
            ("countryCode", c.country_code),
            ("usageType", c.usage_type),
            ("isp", c.isp),
            ("domain", c.domain),
        ] {
            if let Some(v) = v {
                f = f.highlight(k, v);
            }
        }
        if let Some(t) = c.is_tor {
            f = f.highlight("isTor", t);
        }
        if let Some(p) = c.is_public {
            f = f.highlight("isPublic", p);
        }
        Ok(f)
    }

    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        // A check of a documentation address costs one request of the daily quota and proves the key.
        self.check("192.0.2.1").await?;
        Ok("key accepted by /check".into())
    }
}
