//! abuse.ch URLhaus API v1 (https://urlhaus-api.abuse.ch/): `POST /v1/url/` (`url=`), `/v1/host/`
//! (`host=`, domains and IPs), `/v1/payload/` (`md5_hash=` / `sha256_hash=`), form-encoded, with the
//! `Auth-Key` header abuse.ch requires.
//!
//! `query_status`: `ok` → malicious (URLhaus lists malware distribution sites and payloads); for a
//! host, only when it has URLs listed; `no_results` → unknown; anything else (`invalid_url`,
//! `invalid_host`, `http_post_expected`, …) is an error carrying the status. Highlights: url_status,
//! threat, tags, url_count, urls_online, blacklists, file_type, signature.

use std::sync::Arc;

use async_trait::async_trait;
use picket_core::{Finding, IntelVerdict, ObservableType};
use serde_json::Value;

use crate::config::ConnectorConfig;
use crate::connector::{BuildContext, Connector, ConnectorError, KeyUse, Provider, Quota};
use crate::http::Http;

pub(crate) static PROVIDER: Provider = Provider {
    name: "urlhaus",
    description: "abuse.ch URLhaus: malware distribution URLs, hosts and payloads",
    docs: "https://urlhaus-api.abuse.ch/",
    kinds: &[
        ObservableType::Url,
        ObservableType::Domain,
        ObservableType::Ipv4,
        ObservableType::Md5,
        ObservableType::Sha256,
    ],
    default_base_url: Some("https://urlhaus-api.abuse.ch/"),
    http: true,
    key: KeyUse::Required,
    quota: Quota {
        per_minute: None,
        per_day: None,
    },
    check: super::no_options,
    build,
};

fn build(_: &ConnectorConfig, cx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    Ok(Arc::new(UrlHaus { http: cx.http }))
}

struct UrlHaus {
    http: Http,
}

/// abuse.ch dates: `2026-11-20 08:12:33 UTC`.
pub(crate) fn abuse_ch_time(v: &Value) -> Option<jiff::Timestamp> {
    let s = v.as_str()?.trim().trim_end_matches(" UTC");
    let dt: jiff::civil::DateTime = s.replace(' ', "T").parse().ok()?;
    dt.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

impl UrlHaus {
    async fn query(
        &self,
        endpoint: &str,
        field: &str,
        value: &str,
    ) -> Result<Value, ConnectorError> {
        let url = self.http.url(&format!("v1/{endpoint}/"))?;
        let key = self.http.secret()?.expose().to_owned();
        let reply = self
            .http
            .send(endpoint, |c| {
                c.post(url.clone())
                    .header("Auth-Key", &key)
                    .form(&[(field, value)])
            })
            .await?;
        if !reply.is_success() {
            return Err(reply.unexpected());
        }
        reply.json()
    }
}

#[async_trait]
impl Connector for UrlHaus {
    fn kinds(&self) -> &[ObservableType] {
        PROVIDER.kinds
    }

    async fn lookup(&self, kind: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        let (endpoint, field) = match kind {
            ObservableType::Url => ("url", "url"),
            ObservableType::Domain | ObservableType::Ipv4 => ("host", "host"),
            ObservableType::Md5 => ("payload", "md5_hash"),
            ObservableType::Sha256 => ("payload", "sha256_hash"),
            _ => return Err(ConnectorError::Unsupported(kind)),
        };
        let doc = self.query(endpoint, field, value).await?;
        match doc["query_status"].as_str() {
            Some("ok") => {}
            Some("no_results") => return Ok(Finding::unknown()),
            Some(other) => {
                return Err(ConnectorError::Http {
                    status: 200,
                    message: format!("URLhaus query_status `{other}`"),
                });
            }
            None => return Err(ConnectorError::Malformed("no query_status".into())),
        }
        let listed = endpoint != "host"
            || doc["url_count"]
                .as_str()
                .and_then(|n| n.parse::<u64>().ok())
                .or(doc["url_count"].as_u64())
                .unwrap_or(1)
                > 0;
        let mut f = Finding {
            verdict: Some(if listed {
                IntelVerdict::Malicious
            } else {
                IntelVerdict::Unknown
            }),
            first_seen: abuse_ch_time(&doc["date_added"])
                .or_else(|| abuse_ch_time(&doc["firstseen"])),
            last_seen: abuse_ch_time(&doc["lastseen"])
                .or_else(|| abuse_ch_time(&doc["last_online"])),
            reference: doc["urlhaus_reference"].as_str().map(str::to_owned),
            ..Finding::default()
        };
        for k in [
            "url_status",
            "threat",
            "tags",
            "url_count",
            "urls_online",
            "blacklists",
            "file_type",
            "signature",
            "host",
        ] {
            if let Some(v) = doc.get(k).filter(|v| !v.is_null()) {
                f = f.highlight(k, v.clone());
            }
        }
        Ok(f)
    }

    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        let doc = self.query("host", "host", "example.com").await?;
        match doc["query_status"].as_str() {
            Some("ok" | "no_results") => Ok("key accepted by /v1/host/".into()),
            other => Err(ConnectorError::Http {
                status: 200,
                message: format!("URLhaus query_status {other:?}"),
            }),
        }
    }
}
