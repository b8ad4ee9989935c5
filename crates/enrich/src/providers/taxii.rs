//! TAXII 2.1 collections (OASIS TAXII 2.1, section 5): indicators polled into Picket's data directory
//! and answered locally.
//!
//! `base_url` is the API root (e.g. `https://taxii.example/api1/`); option `collection` its collection
//! id. Polling: `GET {api_root}collections/{id}/objects/?match[type]=indicator&limit=N[&added_after=T]
//! [&next=K]` with `Accept: application/taxii+json;version=2.1`, following `more`/`next`, and
//! remembering `X-TAXII-Date-Added-Last` as the next poll's `added_after`. Objects are merged by id
//! (newest `modified` wins) into `<data_dir>/intel/taxii-<name>.json`, a STIX 2.1 bundle, which is then
//! indexed like a `stix_bundle` source. Auth: with option `username`, HTTP Basic with the key as the
//! password; without, the key (if any) as a bearer token. The service polls every
//! `poll_interval_secs` (default 3600); `picket intel poll` polls on demand.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use picket_core::{Finding, ObservableType};
use serde_json::{Value, json};

use crate::config::ConnectorConfig;
use crate::connector::{BuildContext, Connector, ConnectorError, KeyUse, Provider, Quota};
use crate::http::Http;
use crate::index::Index;
use crate::providers::stix_bundle;

pub(crate) static PROVIDER: Provider = Provider {
    name: "taxii",
    description: "TAXII 2.1 collection, polled into the data directory (indicators)",
    docs: "https://docs.oasis-open.org/cti/taxii/v2.1/taxii-v2.1.html",
    kinds: stix_bundle::KINDS,
    default_base_url: None,
    http: false,
    key: KeyUse::Optional,
    quota: Quota {
        per_minute: None,
        per_day: None,
    },
    check,
    build,
};

const MEDIA: &str = "application/taxii+json;version=2.1";
const PAGE: u32 = 100;

fn check(c: &ConnectorConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if c.base_url.is_none() {
        out.push(("base_url".into(), "required: the TAXII API root URL".into()));
    }
    if c.opt_str("collection").is_none_or(str::is_empty) {
        out.push((
            "options.collection".into(),
            "required: the collection id".into(),
        ));
    }
    if let Some(v) = c.options.get("poll_interval_secs")
        && v.as_u64().is_none_or(|n| n < 60)
    {
        out.push((
            "options.poll_interval_secs".into(),
            "an integer ≥ 60".into(),
        ));
    }
    for k in c.options.keys() {
        if !matches!(k.as_str(), "collection" | "username" | "poll_interval_secs") {
            out.push((
                format!("options.{k}"),
                "unknown option, expected collection, username, poll_interval_secs".into(),
            ));
        }
    }
    out
}

fn build(c: &ConnectorConfig, cx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    let dir = cx.data_dir.join("intel");
    let bundle = dir.join(format!("taxii-{}.json", c.name));
    let t = Taxii {
        http: cx.http,
        collection: c.opt_str("collection").unwrap_or_default().to_owned(),
        username: c.opt_str("username").map(str::to_owned),
        interval: Duration::from_secs(
            c.options
                .get("poll_interval_secs")
                .and_then(Value::as_u64)
                .unwrap_or(3600),
        ),
        cursor: dir.join(format!("taxii-{}.cursor", c.name)),
        bundle,
        index: RwLock::new(Index::default()),
    };
    t.reload()?;
    Ok(Arc::new(t))
}

pub(crate) struct Taxii {
    http: Http,
    collection: String,
    username: Option<String>,
    interval: Duration,
    bundle: PathBuf,
    cursor: PathBuf,
    index: RwLock<Index>,
}

/// What one poll did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PollReport {
    pub pages: u32,
    pub objects: usize,
    pub new_or_updated: usize,
    pub added_after: Option<String>,
}

impl Taxii {
    fn reload(&self) -> Result<(), ConnectorError> {
        let mut index = Index::default();
        if self.bundle.exists() {
            let bytes = std::fs::read(&self.bundle)
                .map_err(|e| ConnectorError::Config(format!("{}: {e}", self.bundle.display())))?;
            stix_bundle::load(
                &bytes,
                &self.bundle.display().to_string(),
                Timestamp::now(),
                &mut index,
            )
            .map_err(ConnectorError::Config)?;
        }
        *self.index.write().unwrap_or_else(|p| p.into_inner()) = index;
        Ok(())
    }

    fn auth(&self, rb: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match (&self.username, self.http.secret()) {
            (Some(u), Ok(s)) => rb.basic_auth(u, Some(s.expose())),
            (Some(u), Err(_)) => rb.basic_auth(u, None::<&str>),
            (None, Ok(s)) => rb.bearer_auth(s.expose()),
            (None, Err(_)) => rb,
        }
    }

    async fn get(
        &self,
        op: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<(Value, Option<String>), ConnectorError> {
        let url = self.http.url(path)?;
        let reply = self
            .http
            .send(op, |c| {
                self.auth(c.get(url.clone()).query(query).header("Accept", MEDIA))
            })
            .await?;
        match reply.status {
            200 => {
                let last = reply
                    .headers
                    .get("X-TAXII-Date-Added-Last")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                Ok((reply.json()?, last))
            }
            404 => Err(ConnectorError::Config(format!(
                "`{path}` not found on the TAXII server (wrong API root or collection id?)"
            ))),
            _ => Err(reply.unexpected()),
        }
    }

    /// Fetches indicators added since the last poll and merges them into the local bundle.
    pub(crate) async fn poll(&self) -> Result<PollReport, ConnectorError> {
        let mut known: std::collections::BTreeMap<String, Value> =
            std::collections::BTreeMap::new();
        if self.bundle.exists() {
            let doc: Value =
                serde_json::from_slice(&std::fs::read(&self.bundle).map_err(|e| {
                    ConnectorError::Config(format!("{}: {e}", self.bundle.display()))
                })?)
                .map_err(|e| ConnectorError::Config(format!("{}: {e}", self.bundle.display())))?;
            for o in doc["objects"].as_array().into_iter().flatten() {
                if let Some(id) = o["id"].as_str() {
                    known.insert(id.to_owned(), o.clone());
                }
            }
        }
        let mut report = PollReport {
            added_after: std::fs::read_to_string(&self.cursor)
                .ok()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            ..PollReport::default()
        };
        let path = format!("collections/{}/objects/", self.collection);
        let mut next: Option<String> = None;
        let mut last_added = report.added_after.clone();
        loop {
            let mut q = vec![
                ("match[type]", "indicator".to_owned()),
                ("limit", PAGE.to_string()),
            ];
            if let Some(a) = &report.added_after {
                q.push(("added_after", a.clone()));
            }
            if let Some(n) = &next {
                q.push(("next", n.clone()));
            }
            let (env, last) = self.get("poll", &path, &q).await?;
            report.pages += 1;
            if let Some(l) = last {
                last_added = Some(l);
            }
            for o in env["objects"].as_array().into_iter().flatten() {
                report.objects += 1;
                let Some(id) = o["id"].as_str() else { continue };
                let newer = match known.get(id) {
                    Some(old) => o["modified"].as_str() > old["modified"].as_str(),
                    None => true,
                };
                if newer {
                    known.insert(id.to_owned(), o.clone());
                    report.new_or_updated += 1;
                }
            }
            next = env["next"].as_str().map(str::to_owned);
            if env["more"] != true || next.is_none() || report.pages >= 10_000 {
                break;
            }
        }
        if let Some(dir) = self.bundle.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| ConnectorError::Config(format!("{}: {e}", dir.display())))?;
        }
        if report.new_or_updated > 0 || !self.bundle.exists() {
            let bundle = json!({
                "type": "bundle",
                "id": bundle_id(&self.collection),
                "objects": known.into_values().collect::<Vec<_>>(),
            });
            write_atomic(
                &self.bundle,
                &serde_json::to_vec(&bundle).unwrap_or_default(),
            )?;
        }
        if let Some(a) = &last_added {
            write_atomic(&self.cursor, a.as_bytes())?;
        }
        report.added_after = last_added;
        self.reload()?;
        Ok(report)
    }
}

/// A stable `bundle--<uuid>` id for the collection's local bundle.
fn bundle_id(collection: &str) -> String {
    let h = picket_core::hash::sha256_hex(collection.as_bytes());
    format!(
        "bundle--{}-{}-4{}-8{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> Result<(), ConnectorError> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| ConnectorError::Config(format!("{}: {e}", path.display())))
}

#[async_trait]
impl Connector for Taxii {
    fn kinds(&self) -> &[ObservableType] {
        PROVIDER.kinds
    }

    async fn lookup(&self, kind: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        Ok(self
            .index
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .lookup(kind, value))
    }

    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        let (info, _) = self.get("healthcheck", "", &[]).await?;
        let path = format!("collections/{}/", self.collection);
        let (coll, _) = self.get("healthcheck", &path, &[]).await?;
        if coll["can_read"] == false {
            return Err(ConnectorError::Forbidden(format!(
                "collection {} is not readable with these credentials",
                self.collection
            )));
        }
        Ok(format!(
            "API root `{}`, collection `{}`; {} values indexed locally",
            info["title"].as_str().unwrap_or("?"),
            coll["title"].as_str().unwrap_or("?"),
            self.index.read().unwrap_or_else(|p| p.into_inner()).len()
        ))
    }

    async fn refresh(&self) -> Result<Option<String>, ConnectorError> {
        let r = self.poll().await?;
        Ok(Some(format!(
            "{} objects in {} page(s), {} new or updated; next poll from {}",
            r.objects,
            r.pages,
            r.new_or_updated,
            r.added_after.as_deref().unwrap_or("the beginning")
        )))
    }

    fn refresh_interval(&self) -> Option<Duration> {
        Some(self.interval)
    }
}
