//! MaxMind DB files (GeoIP2 / GeoLite2 City, Country, ASN, ISP; or any database in the MaxMind DB
//! format) read with the `maxminddb` crate: context for IP addresses, never a verdict on its own.
//!
//! The answer is always `unknown` with highlights: `country` (ISO code), `city` (English name), `asn`,
//! `as_org`, `isp`, `organization`, and `database` (the file's database type). Options: `path`
//! (required), `databases` (more files, their answers merged).

use std::sync::Arc;

use async_trait::async_trait;
use maxminddb::Reader;
use picket_core::{Finding, ObservableType};
use serde_json::Value;

use crate::config::ConnectorConfig;
use crate::connector::{BuildContext, Connector, ConnectorError, KeyUse, Provider, Quota};

pub(crate) static PROVIDER: Provider = Provider {
    name: "mmdb",
    description: "MaxMind DB (GeoIP2/GeoLite2 City, Country, ASN, ISP) files (offline context)",
    docs: "docs/enrichment.md#mmdb",
    kinds: &[ObservableType::Ipv4, ObservableType::Ipv6],
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
        out.push(("options.path".into(), "required: a .mmdb file".into()));
    }
    if let Some(v) = c.options.get("databases")
        && !v.as_array().is_some_and(|a| a.iter().all(Value::is_string))
    {
        out.push((
            "options.databases".into(),
            "a list of .mmdb file paths".into(),
        ));
    }
    for k in c
        .options
        .keys()
        .filter(|k| !matches!(k.as_str(), "path" | "databases"))
    {
        out.push((
            format!("options.{k}"),
            "unknown option, expected path, databases".into(),
        ));
    }
    out
}

fn build(c: &ConnectorConfig, cx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    let mut paths = vec![c.opt_str("path").unwrap_or_default().to_owned()];
    if let Some(more) = c.options.get("databases").and_then(Value::as_array) {
        paths.extend(more.iter().filter_map(Value::as_str).map(str::to_owned));
    }
    let mut readers = Vec::new();
    for p in paths {
        let path = cx.path(&p);
        let r = Reader::open_readfile(&path)
            .map_err(|e| ConnectorError::Config(format!("{}: {e}", path.display())))?;
        readers.push(r);
    }
    Ok(Arc::new(Mmdb { readers }))
}

struct Mmdb {
    readers: Vec<Reader<Vec<u8>>>,
}

fn at<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

#[async_trait]
impl Connector for Mmdb {
    fn kinds(&self) -> &[ObservableType] {
        PROVIDER.kinds
    }

    async fn lookup(&self, kind: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        if !PROVIDER.kinds.contains(&kind) {
            return Err(ConnectorError::Unsupported(kind));
        }
        let ip: std::net::IpAddr = value.parse().map_err(|_| ConnectorError::Http {
            status: 400,
            message: format!("`{value}` is not an IP address"),
        })?;
        let mut f = Finding::unknown();
        for r in &self.readers {
            let rec: Option<Value> = r
                .lookup(ip)
                .map_err(|e| ConnectorError::Malformed(format!("database lookup: {e}")))?;
            let Some(rec) = rec else { continue };
            let fields: [(&str, &[&str]); 6] = [
                ("country", &["country", "iso_code"]),
                ("city", &["city", "names", "en"]),
                ("asn", &["autonomous_system_number"]),
                ("as_org", &["autonomous_system_organization"]),
                ("isp", &["isp"]),
                ("organization", &["organization"]),
            ];
            for (name, path) in fields {
                if let Some(v) = at(&rec, path)
                    && !f.highlights.contains_key(name)
                {
                    f = f.highlight(name, v.clone());
                }
            }
            f = f.highlight("database", r.metadata.database_type.clone());
        }
        Ok(f)
    }

    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        let types: Vec<String> = self
            .readers
            .iter()
            .map(|r| {
                format!(
                    "{} ({} nodes)",
                    r.metadata.database_type, r.metadata.node_count
                )
            })
            .collect();
        Ok(types.join(", "))
    }
}
