//! GreyNoise Community API, `GET /v3/community/{ip}` (https://docs.greynoise.io/reference/get_v3-community-ip).
//!
//! Auth: optional `key` header (the community API answers without a key at a lower rate; the quota
//! row assumes the unauthenticated allowance of 50 lookups a day and is overridable). Response:
//! `{ip, noise, riot, classification, name, link, last_seen, message}`. A 404 carries the same shape
//! with `"message": "IP not observed scanning the internet or contained in RIOT data set."`: unknown.
//! Verdict: `riot: true` (a known business service) or classification `benign` → benign;
//! `malicious` → malicious; internet background noise of unknown intent stays unknown (`noise` is
//! shown). IPv4 only, as the API.

use std::sync::Arc;

use async_trait::async_trait;
use picket_core::{Finding, IntelVerdict, ObservableType};
use serde::Deserialize;

use crate::config::ConnectorConfig;
use crate::connector::{BuildContext, Connector, ConnectorError, KeyUse, Provider, Quota};
use crate::http::Http;

pub(crate) static PROVIDER: Provider = Provider {
    name: "greynoise",
    description: "GreyNoise Community API: internet scanners and known business services (IPv4)",
    docs: "https://docs.greynoise.io/reference/get_v3-community-ip",
    kinds: &[ObservableType::Ipv4],
    default_base_url: Some("https://api.greynoise.io/"),
    http: true,
    key: KeyUse::Optional,
    quota: Quota {
        per_minute: None,
        per_day: Some(50),
    },
    check: super::no_options,
    build,
};

fn build(_: &ConnectorConfig, cx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    Ok(Arc::new(GreyNoise { http: cx.http }))
}

struct GreyNoise {
    http: Http,
}

#[derive(Deserialize)]
struct Community {
    #[serde(default)]
    noise: bool,
    #[serde(default)]
    riot: bool,
    #[serde(default)]
    classification: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    link: Option<String>,
    #[serde(default)]
    last_seen: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

impl GreyNoise {
    fn request(&self, c: &reqwest::Client, url: &url::Url) -> reqwest::RequestBuilder {
        let rb = c.get(url.clone()).header("Accept", "application/json");
        match self.http.secret() {
            Ok(k) => rb.header("key", k.expose()),
            Err(_) => rb,
        }
    }
}

#[async_trait]
impl Connector for GreyNoise {
    fn kinds(&self) -> &[ObservableType] {
        PROVIDER.kinds
    }

    async fn lookup(&self, kind: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        if kind != ObservableType::Ipv4 {
            return Err(ConnectorError::Unsupported(kind));
        }
        let url = self.http.url(&format!("v3/community/{value}"))?;
        let reply = self
            .http
            .send("community", |c| self.request(c, &url))
            .await?;
        let c: Community = match reply.status {
            200 => reply.json()?,
            404 => return Ok(Finding::unknown()),
            _ => return Err(reply.unexpected()),
        };
        let verdict = match (c.riot, c.classification.as_deref()) {
            (true, _) | (_, Some("benign")) => IntelVerdict::Benign,
            (_, Some("malicious")) => IntelVerdict::Malicious,
            _ => IntelVerdict::Unknown,
        };
        let mut f = Finding {
            verdict: Some(verdict),
            last_seen: c
                .last_seen
                .as_deref()
                .and_then(|d| d.parse::<jiff::civil::Date>().ok())
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp()),
            reference: c.link.clone(),
            ..Finding::default()
        }
        .highlight("noise", c.noise)
        .highlight("riot", c.riot);
        for (k, v) in [
            ("classification", c.classification),
            ("name", c.name),
            ("message", c.message),
        ] {
            if let Some(v) = v {
                f = f.highlight(k, v);
            }
        }
        Ok(f)
    }

    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        let url = self.http.url("ping")?;
        let reply = self.http.send("ping", |c| self.request(c, &url)).await?;
        if reply.is_success() {
            Ok(if self.http.has_secret() {
                "key accepted by /ping".into()
            } else {
                "reachable (no key: community rate)".into()
            })
        } else {
            Err(reply.unexpected())
        }
    }
}
