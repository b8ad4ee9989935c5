//! MISP feed directories (offline): `manifest.json` listing event UUIDs, and one `<uuid>.json` per
//! event in MISP core format (`{"Event": {..., "Attribute": [...], "Object": [{"Attribute": [...]}]}}`),
//! as MISP's "feed" export and public feeds such as CIRCL OSINT publish them.
//!
//! Attribute types read: ip-src, ip-dst (and their `|port` forms), domain, hostname, domain|ip, url,
//! email, email-src, email-dst, md5, sha1, sha256, sha512, filename|<hash>, vulnerability. Others are
//! counted as unsupported. `to_ids: true` → malicious; `to_ids: false` → suspicious (context a
//! producer did not mean for detection). Attributes or events tagged `false-positive` (any tag whose
//! name contains it) are skipped. Highlights: event info, event uuid, category, comment, tags.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use picket_core::{Finding, IntelVerdict, ObservableType};
use serde_json::Value;

use crate::config::ConnectorConfig;
use crate::connector::{BuildContext, Connector, ConnectorError, KeyUse, Provider, Quota};
use crate::index::{Entry, Index};

pub(crate) static PROVIDER: Provider = Provider {
    name: "misp_feed",
    description: "MISP feed directory: manifest.json + event files (offline)",
    docs: "docs/enrichment.md#misp_feed",
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
    http: false,
    key: KeyUse::None,
    quota: Quota {
        per_minute: None,
        per_day: None,
    },
    check,
    build,
};

fn check(c: &ConnectorConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if c.opt_str("path").is_none() {
        out.push(("options.path".into(), "required: the feed directory".into()));
    }
    for k in c.options.keys().filter(|k| *k != "path") {
        out.push((
            format!("options.{k}"),
            "unknown option, expected path".into(),
        ));
    }
    out
}

fn kind_of(ip: &str) -> Option<ObservableType> {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => Some(ObservableType::Ipv4),
        Ok(std::net::IpAddr::V6(_)) => Some(ObservableType::Ipv6),
        Err(_) => None,
    }
}

/// The indicators one MISP attribute carries.
pub fn attribute_values(kind: &str, value: &str) -> Vec<(ObservableType, String)> {
    let hash = |t: &str| match t {
        "md5" => Some(ObservableType::Md5),
        "sha1" => Some(ObservableType::Sha1),
        "sha256" => Some(ObservableType::Sha256),
        "sha512" => Some(ObservableType::Sha512),
        _ => None,
    };
    let v = value.trim();
    match kind {
        "ip-src" | "ip-dst" => kind_of(v).map(|k| (k, v.to_owned())).into_iter().collect(),
        "ip-src|port" | "ip-dst|port" => {
            let ip = v.rsplit_once('|').map_or(v, |(ip, _)| ip);
            kind_of(ip)
                .map(|k| (k, ip.to_owned()))
                .into_iter()
                .collect()
        }
        "domain" | "hostname" => vec![(ObservableType::Domain, v.to_owned())],
        "domain|ip" => {
            let (d, ip) = v.split_once('|').unwrap_or((v, ""));
            let mut out = vec![(ObservableType::Domain, d.to_owned())];
            out.extend(kind_of(ip).map(|k| (k, ip.to_owned())));
            out
        }
        "url" => vec![(ObservableType::Url, v.to_owned())],
        "email" | "email-src" | "email-dst" => vec![(ObservableType::Email, v.to_owned())],
        "vulnerability" => vec![(ObservableType::Cve, v.to_ascii_uppercase())],
        t => {
            if let Some(k) = hash(t) {
                return vec![(k, v.to_owned())];
            }
            if let Some(h) = t.strip_prefix("filename|").and_then(hash) {
                let part = v.rsplit_once('|').map_or(v, |(_, h)| h);
                return vec![(h, part.to_owned())];
            }
            Vec::new()
        }
    }
}

fn tags(v: &Value) -> Vec<String> {
    v["Tag"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Counts of what a feed held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub events: usize,
    pub values: usize,
    pub unsupported: usize,
    pub false_positive: usize,
}

fn unix(v: &Value) -> Option<Timestamp> {
    let s = v
        .as_str()
        .map(str::to_owned)
        .or_else(|| v.as_i64().map(|n| n.to_string()))?;
    s.parse::<i64>()
        .ok()
        .and_then(|n| Timestamp::from_second(n).ok())
        .or_else(|| s.parse::<Timestamp>().ok())
}

/// Loads one event document into the index.
pub fn load_event(
    doc: &Value,
    name: &str,
    index: &mut Index,
    n: &mut Loaded,
) -> Result<(), String> {
    let ev = doc
        .get("Event")
        .ok_or_else(|| format!("{name}: no `Event` object"))?;
    n.events += 1;
    let ev_tags = tags(ev);
    if ev_tags.iter().any(|t| t.contains("false-positive")) {
        n.false_positive += 1;
        return Ok(());
    }
    let info = ev["info"].as_str().unwrap_or("");
    let uuid = ev["uuid"].as_str().unwrap_or("");
    let mut attrs: Vec<&Value> = ev["Attribute"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    for o in ev["Object"].as_array().into_iter().flatten() {
        attrs.extend(o["Attribute"].as_array().into_iter().flatten());
    }
    for (i, a) in attrs.into_iter().enumerate() {
        let (Some(t), Some(v)) = (a["type"].as_str(), a["value"].as_str()) else {
            return Err(format!(
                "{name}: attribute {i}: `type` and `value` must be strings"
            ));
        };
        let a_tags = tags(a);
        if a_tags.iter().any(|t| t.contains("false-positive")) || a["deleted"] == true {
            n.false_positive += 1;
            continue;
        }
        let values = attribute_values(t, v);
        if values.is_empty() {
            n.unsupported += 1;
            continue;
        }
        let to_ids = a["to_ids"] == true;
        let mut all_tags = ev_tags.clone();
        all_tags.extend(a_tags);
        let mut f = Finding {
            verdict: Some(if to_ids {
                IntelVerdict::Malicious
            } else {
                IntelVerdict::Suspicious
            }),
            first_seen: unix(&a["first_seen"]).or_else(|| unix(&ev["date"])),
            last_seen: unix(&a["last_seen"]).or_else(|| unix(&a["timestamp"])),
            ..Finding::default()
        }
        .highlight("event_info", info)
        .highlight("event_uuid", uuid)
        .highlight("type", t)
        .highlight("to_ids", to_ids);
        if let Some(c) = a["category"].as_str() {
            f = f.highlight("category", c);
        }
        if let Some(c) = a["comment"].as_str().filter(|c| !c.is_empty()) {
            f = f.highlight("comment", c);
        }
        if !all_tags.is_empty() {
            f = f.highlight("tags", all_tags);
        }
        for (kind, value) in values {
            index.insert(kind, &value, Entry { finding: f.clone() });
            n.values += 1;
        }
    }
    Ok(())
}

fn build(c: &ConnectorConfig, cx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    let dir = cx.path(c.opt_str("path").unwrap_or_default());
    let manifest_path = dir.join("manifest.json");
    let err = |m: String| ConnectorError::Config(m);
    let manifest: Value = serde_json::from_slice(
        &std::fs::read(&manifest_path)
            .map_err(|e| err(format!("{}: {e}", manifest_path.display())))?,
    )
    .map_err(|e| err(format!("{}: {e}", manifest_path.display())))?;
    let uuids: Vec<&String> = manifest
        .as_object()
        .ok_or_else(|| {
            err(format!(
                "{}: expected an object of event UUIDs",
                manifest_path.display()
            ))
        })?
        .keys()
        .collect();
    let mut index = Index::default();
    let mut n = Loaded::default();
    let mut problems = Vec::new();
    for u in uuids {
        if u.contains(['/', '\\']) || u.contains("..") {
            problems.push(format!("manifest key `{u}` is not a UUID"));
            continue;
        }
        let p = dir.join(format!("{u}.json"));
        let name = p.display().to_string();
        let doc = std::fs::read(&p)
            .map_err(|e| format!("{name}: {e}"))
            .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(|e| format!("{name}: {e}")));
        match doc.and_then(|d| load_event(&d, &name, &mut index, &mut n)) {
            Ok(()) => {}
            Err(m) => problems.push(m),
        }
    }
    if !problems.is_empty() {
        return Err(err(format!(
            "MISP feed {}: {}",
            dir.display(),
            problems.join("; ")
        )));
    }
    tracing::info!(connector = %c.name, ?n, "MISP feed loaded");
    Ok(Arc::new(Feed { index, loaded: n }))
}

struct Feed {
    index: Index,
    loaded: Loaded,
}

#[async_trait]
impl Connector for Feed {
    fn kinds(&self) -> &[ObservableType] {
        PROVIDER.kinds
    }

    async fn lookup(&self, kind: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        Ok(self.index.lookup(kind, value))
    }

    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        let l = self.loaded;
        Ok(format!(
            "{} events, {} values ({} unsupported, {} false positives skipped)",
            l.events, l.values, l.unsupported, l.false_positive
        ))
    }
}
