//! VirusTotal API v3 (https://docs.virustotal.com/reference/overview): files
//! (`GET /files/{md5|sha1|sha256}`), IP addresses (`/ip_addresses/{ip}`), domains (`/domains/{d}`) and
//! URLs (`/urls/{id}`, id = the URL in unpadded URL-safe base64).
//!
//! Auth: `x-apikey` header. Public API quota: 4 requests/minute, 500/day. A `NotFoundError` (404)
//! means VirusTotal has never seen the indicator: unknown. Verdict from
//! `data.attributes.last_analysis_stats`: `malicious` ≥ `malicious_min` (option, default 3) →
//! malicious; `malicious` ≥ 1 or `suspicious` ≥ `suspicious_min` (default 2) → suspicious;
//! `harmless` > 0 with no detections → benign; otherwise unknown. Score = malicious / engines.
//! Errors arrive as `{"error": {"code": "...", "message": "..."}}`: WrongCredentialsError (401),
//! ForbiddenError (403), QuotaExceededError (429), NotFoundError (404), InvalidArgumentError (400).

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use jiff::Timestamp;
use picket_core::{Finding, IntelVerdict, ObservableType};
use serde::Deserialize;
use serde_json::Value;

use crate::config::ConnectorConfig;
use crate::connector::{BuildContext, Connector, ConnectorError, KeyUse, Provider, Quota};
use crate::http::Http;

pub(crate) static PROVIDER: Provider = Provider {
    name: "virustotal",
    description: "VirusTotal API v3: files, IP addresses, domains, URLs",
    docs: "https://docs.virustotal.com/reference/overview",
    kinds: &[
        ObservableType::Md5,
        ObservableType::Sha1,
        ObservableType::Sha256,
        ObservableType::Ipv4,
        ObservableType::Ipv6,
        ObservableType::Domain,
        ObservableType::Url,
    ],
    default_base_url: Some("https://www.virustotal.com/api/v3/"),
    http: true,
    key: KeyUse::Required,
    quota: Quota {
        per_minute: Some(4),
        per_day: Some(500),
    },
    check,
    build,
};

/// The EICAR test file's SHA-256: every VirusTotal account can look it up.
const EICAR: &str = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";

fn check(c: &ConnectorConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (k, v) in &c.options {
        match k.as_str() {
            "malicious_min" | "suspicious_min" => {
                if !v.as_u64().is_some_and(|n| (1..=100).contains(&n)) {
                    out.push((format!("options.{k}"), "an integer from 1 to 100".into()));
                }
            }
            _ => out.push((
                format!("options.{k}"),
                "unknown option, expected malicious_min, suspicious_min".into(),
            )),
        }
    }
    out
}

fn build(c: &ConnectorConfig, cx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    let n = |k: &str, d: u64| c.options.get(k).and_then(Value::as_u64).unwrap_or(d);
    Ok(Arc::new(VirusTotal {
        http: cx.http,
        malicious_min: n("malicious_min", 3),
        suspicious_min: n("suspicious_min", 2),
    }))
}

struct VirusTotal {
    http: Http,
    malicious_min: u64,
    suspicious_min: u64,
}

#[derive(Deserialize, Default)]
struct Stats {
    #[serde(default)]
    malicious: u64,
    #[serde(default)]
    suspicious: u64,
    #[serde(default)]
    harmless: u64,
    #[serde(default)]
    undetected: u64,
    #[serde(default)]
    timeout: u64,
}

#[derive(Deserialize)]
struct Object {
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    id: String,
    attributes: Value,
}

/// The `/urls/{id}` identifier of a URL.
pub fn url_id(url: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(url.as_bytes())
}

fn path_for(kind: ObservableType, value: &str) -> Option<(String, &'static str)> {
    let v = value.trim();
    Some(match kind {
        ObservableType::Md5 | ObservableType::Sha1 | ObservableType::Sha256 => {
            (format!("files/{}", v.to_ascii_lowercase()), "file")
        }
        ObservableType::Ipv4 | ObservableType::Ipv6 => (format!("ip_addresses/{v}"), "ip-address"),
        ObservableType::Domain => (format!("domains/{}", v.to_ascii_lowercase()), "domain"),
        ObservableType::Url => (format!("urls/{}", url_id(v)), "url"),
        _ => return None,
    })
}

fn unix(v: &Value) -> Option<Timestamp> {
    v.as_i64().and_then(|s| Timestamp::from_second(s).ok())
}

impl VirusTotal {
    async fn object(&self, path: &str) -> Result<Option<Data>, ConnectorError> {
        let url = self.http.url(path)?;
        let key = self.http.secret()?.expose().to_owned();
        let reply = self
            .http
            .send("lookup", |c| {
                c.get(url.clone())
                    .header("x-apikey", &key)
                    .header("Accept", "application/json")
            })
            .await?;
        match reply.status {
            200 => Ok(Some(reply.json::<Object>()?.data)),
            404 => Ok(None),
            _ => Err(reply.unexpected()),
        }
    }

    fn judge(&self, s: &Stats) -> IntelVerdict {
        if s.malicious >= self.malicious_min {
            IntelVerdict::Malicious
        } else if s.malicious >= 1 || s.suspicious >= self.suspicious_min {
            IntelVerdict::Suspicious
        } else if s.harmless > 0 && s.suspicious == 0 {
            IntelVerdict::Benign
        } else {
            IntelVerdict::Unknown
        }
    }
}

#[async_trait]
impl Connector for VirusTotal {
    fn kinds(&self) -> &[ObservableType] {
        PROVIDER.kinds
    }

    async fn lookup(&self, kind: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        let (path, gui) = path_for(kind, value).ok_or(ConnectorError::Unsupported(kind))?;
        let Some(data) = self.object(&path).await? else {
            return Ok(Finding::unknown());
        };
        let a = &data.attributes;
        let stats: Stats =
            serde_json::from_value(a["last_analysis_stats"].clone()).unwrap_or_default();
        let engines =
            stats.malicious + stats.suspicious + stats.harmless + stats.undetected + stats.timeout;
        let id = if data.id.is_empty() {
            value.to_owned()
        } else {
            data.id.clone()
        };
        let mut f = Finding {
            verdict: Some(self.judge(&stats)),
            score: (engines > 0).then(|| stats.malicious as f64 / engines as f64),
            first_seen: unix(&a["first_submission_date"]).or_else(|| unix(&a["creation_date"])),
            last_seen: unix(&a["last_analysis_date"]),
            reference: Some(format!("https://www.virustotal.com/gui/{gui}/{id}")),
            ..Finding::default()
        };
        for k in [
            "last_analysis_stats",
            "reputation",
            "tags",
            "meaningful_name",
            "type_description",
            "country",
            "as_owner",
            "categories",
        ] {
            if let Some(v) = a.get(k).filter(|v| !v.is_null()) {
                f = f.highlight(k, v.clone());
            }
        }
        Ok(f)
    }

    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        match self.object(&format!("files/{EICAR}")).await? {
            Some(_) => Ok("key accepted; EICAR test file found".into()),
            None => Ok("key accepted".into()),
        }
    }
}
