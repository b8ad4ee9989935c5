//! STIX 2.0 / 2.1 bundle files (offline): the `indicator` objects' patterns become an index.
//!
//! Supported comparisons (`=` only, joined by AND/OR, in one or more observation expressions):
//! `ipv4-addr:value` / `ipv6-addr:value` (addresses or CIDR networks), `domain-name:value`,
//! `url:value`, `email-addr:value`, `email-message:from_ref.value`, `file:hashes.MD5|'SHA-1'|'SHA-256'|
//! 'SHA-512'`. Other comparisons (MATCHES, LIKE, other objects) are counted as unsupported and
//! skipped. Revoked indicators and indicators past `valid_until` are skipped. Verdict from
//! `indicator_types` (2.1) or `labels` (2.0): malicious-activity, compromised or attribution →
//! malicious; anomalous-activity → suspicious; benign → benign; anything else → suspicious.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use jiff::Timestamp;
use picket_core::{Finding, IntelVerdict, ObservableType};
use regex::Regex;
use serde_json::Value;

use crate::config::ConnectorConfig;
use crate::connector::{BuildContext, Connector, ConnectorError, KeyUse, Provider, Quota};
use crate::index::{Entry, Index};

/// The indicator kinds STIX patterns can name here.
pub const KINDS: &[ObservableType] = &[
    ObservableType::Ipv4,
    ObservableType::Ipv6,
    ObservableType::Domain,
    ObservableType::Url,
    ObservableType::Email,
    ObservableType::Md5,
    ObservableType::Sha1,
    ObservableType::Sha256,
    ObservableType::Sha512,
];

pub(crate) static PROVIDER: Provider = Provider {
    name: "stix_bundle",
    description: "STIX 2.0/2.1 bundle file of indicators (offline)",
    docs: "docs/enrichment.md#stix_bundle",
    kinds: KINDS,
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
        out.push(("options.path".into(), "required: the bundle file".into()));
    }
    for k in c.options.keys().filter(|k| *k != "path") {
        out.push((
            format!("options.{k}"),
            "unknown option, expected path".into(),
        ));
    }
    out
}

/// Counts of what loading a bundle kept and skipped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Loaded {
    pub indicators: usize,
    pub values: usize,
    pub revoked: usize,
    pub expired: usize,
    pub unsupported: usize,
}

static COMPARISON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"([a-z0-9-]+):([A-Za-z0-9_.'\-\[\]*]+)\s*(=|!=|MATCHES|LIKE|IN|>=|<=|>|<)\s*'((?:[^'\\]|\\.)*)'")
        .expect("valid regex")
});

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The (type, value) pairs a pattern names; the count of comparisons it could not use.
pub fn pattern_values(pattern: &str) -> (Vec<(ObservableType, String)>, usize) {
    let mut out = Vec::new();
    let mut unsupported = 0;
    for c in COMPARISON.captures_iter(pattern) {
        let (object, path, op, raw) = (&c[1], &c[2], &c[3], &c[4]);
        if op != "=" {
            unsupported += 1;
            continue;
        }
        let value = unescape(raw);
        let kind = match (object, path.replace('\'', "").to_ascii_uppercase().as_str()) {
            ("ipv4-addr", "VALUE") => Some(ObservableType::Ipv4),
            ("ipv6-addr", "VALUE") => Some(ObservableType::Ipv6),
            ("domain-name", "VALUE") => Some(ObservableType::Domain),
            ("url", "VALUE") => Some(ObservableType::Url),
            ("email-addr", "VALUE")
            | ("email-message", "FROM_REF.VALUE")
            | ("email-message", "SENDER_REF.VALUE") => Some(ObservableType::Email),
            ("file", "HASHES.MD5") => Some(ObservableType::Md5),
            ("file", "HASHES.SHA-1" | "HASHES.SHA1") => Some(ObservableType::Sha1),
            ("file", "HASHES.SHA-256" | "HASHES.SHA256") => Some(ObservableType::Sha256),
            ("file", "HASHES.SHA-512" | "HASHES.SHA512") => Some(ObservableType::Sha512),
            _ => None,
        };
        match kind {
            Some(k) => out.push((k, value)),
            None => unsupported += 1,
        }
    }
    (out, unsupported)
}

fn verdict_of(types: &[&str]) -> IntelVerdict {
    if types
        .iter()
        .any(|t| matches!(*t, "malicious-activity" | "compromised" | "attribution"))
    {
        IntelVerdict::Malicious
    } else if types.contains(&"benign") {
        IntelVerdict::Benign
    } else {
        IntelVerdict::Suspicious
    }
}

/// Loads a bundle's indicators into `index`; errors name the object's position and id.
pub fn load(bytes: &[u8], name: &str, now: Timestamp, index: &mut Index) -> Result<Loaded, String> {
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| format!("{name}: not JSON: {e}"))?;
    let objects = match (&doc["type"], doc["objects"].as_array()) {
        (Value::String(t), Some(o)) if t == "bundle" => o,
        _ => {
            return Err(format!(
                "{name}: not a STIX bundle (`type: bundle` with `objects`)"
            ));
        }
    };
    let mut n = Loaded::default();
    for (i, o) in objects.iter().enumerate() {
        if o["type"] != "indicator" {
            continue;
        }
        let id = o["id"].as_str().unwrap_or("?");
        let Some(pattern) = o["pattern"].as_str() else {
            return Err(format!(
                "{name}: objects[{i}] ({id}): indicator without a pattern"
            ));
        };
        if o.get("pattern_type")
            .and_then(Value::as_str)
            .is_some_and(|t| t != "stix")
        {
            n.unsupported += 1;
            continue;
        }
        n.indicators += 1;
        if o["revoked"] == true {
            n.revoked += 1;
            continue;
        }
        let time = |k: &str| o[k].as_str().and_then(|t| t.parse::<Timestamp>().ok());
        if time("valid_until").is_some_and(|t| t < now) {
            n.expired += 1;
            continue;
        }
        let types: Vec<&str> = o
            .get("indicator_types")
            .or_else(|| o.get("labels"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut f = Finding {
            verdict: Some(verdict_of(&types)),
            score: o["confidence"]
                .as_f64()
                .map(|c| (c / 100.0).clamp(0.0, 1.0)),
            first_seen: time("valid_from").or_else(|| time("created")),
            last_seen: time("modified"),
            ..Finding::default()
        }
        .highlight("stix_id", id)
        .highlight("bundle", name);
        if let Some(t) = o["name"].as_str() {
            f = f.highlight("name", t);
        }
        if !types.is_empty() {
            f = f.highlight("indicator_types", types.clone());
        }
        let (values, unsupported) = pattern_values(pattern);
        n.unsupported += unsupported;
        for (kind, value) in values {
            let entry = Entry { finding: f.clone() };
            if matches!(kind, ObservableType::Ipv4 | ObservableType::Ipv6) && value.contains('/') {
                match value.parse::<ipnet::IpNet>() {
                    Ok(net) => index.insert_net(net, entry),
                    Err(_) => {
                        return Err(format!(
                            "{name}: objects[{i}] ({id}): `{value}` is not a network"
                        ));
                    }
                }
            } else {
                index.insert(kind, &value, entry);
            }
            n.values += 1;
        }
    }
    Ok(n)
}

fn build(c: &ConnectorConfig, cx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    let path = cx.path(c.opt_str("path").unwrap_or_default());
    let bytes = std::fs::read(&path)
        .map_err(|e| ConnectorError::Config(format!("{}: {e}", path.display())))?;
    let mut index = Index::default();
    let loaded = load(
        &bytes,
        &path.display().to_string(),
        Timestamp::now(),
        &mut index,
    )
    .map_err(ConnectorError::Config)?;
    tracing::info!(connector = %c.name, ?loaded, "STIX bundle loaded");
    Ok(Arc::new(Bundle { index, loaded }))
}

struct Bundle {
    index: Index,
    loaded: Loaded,
}

#[async_trait]
impl Connector for Bundle {
    fn kinds(&self) -> &[ObservableType] {
        PROVIDER.kinds
    }

    async fn lookup(&self, kind: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        Ok(self.index.lookup(kind, value))
    }

    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        let l = self.loaded;
        Ok(format!(
            "{} indicators, {} values indexed ({} revoked, {} expired, {} comparisons unsupported)",
            l.indicators, l.values, l.revoked, l.expired, l.unsupported
        ))
    }
}
