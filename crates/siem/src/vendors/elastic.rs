//! Elasticsearch and OpenSearch search API
//! (<https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-search>,
//! <https://docs.opensearch.org/latest/api-reference/search-apis/search/>).
//!
//! `POST {base}/{index}/_search` with
//! `{"size": N, "query": {"bool": {"must": [{"query_string": {"query": Q}}], "filter": [{"range":
//! {"@timestamp": {"gte": FROM, "lte": TO}}}]}}, "sort": [{"@timestamp": "desc"}]}` (times in
//! RFC 3339 UTC with milliseconds; the time field is configurable). Auth: `Authorization: ApiKey
//! <base64 id:key>` (Elasticsearch API key, the `encoded` value), `Bearer <token>`, or Basic.
//!
//! Reply: `hits.total` (`{"value", "relation"}`, or a number before 7.0), `hits.hits[]` with
//! `_index`, `_id`, `_source`; each event is the `_source` object plus `_index` and `_id`. The
//! total is exact only with `relation = "eq"` (by default Elasticsearch stops counting at 10000 and
//! answers `"gte"`). `timed_out` or failed shards mark the result truncated.
//!
//! Errors are `{"error": {"root_cause": [...], "type", "reason", "caused_by", "failed_shards"},
//! "status"}`: 400 `parsing_exception` / `search_phase_execution_exception` (a query the parser
//! refused) → bad_query; 401/403 `security_exception` → unauthorized; 404
//! `index_not_found_exception` → not_found; 429 `es_rejected_execution_exception` → retried, then
//! rate_limited; 5xx → retried, then server_error. The message is built from the types and reasons,
//! most specific cause included.

use std::sync::Arc;

use async_trait::async_trait;
use picket_enrich::Http;
use serde_json::{Map, Value, json};

use super::{
    Auth, Context, Kind, check_key_or_basic, clip, explain, keyed_client, rfc3339_millis,
    status_error,
};
use crate::config::SiemConfig;
use crate::siem::{Siem, SiemError, SiemQuery, SiemResult};

const KEYS: &[&str] = &[
    "index",
    "time_field",
    "auth_scheme",
    "username",
    "password_env",
    "password_file",
];

pub(super) static ELASTICSEARCH: Kind = Kind {
    name: "elasticsearch",
    description: "Elasticsearch (Elastic Security, ELK): `POST /{index}/_search`, a query_string \
                  query over a time range, newest first",
    language: "Lucene query string syntax (query_string), e.g. `event.action:logon-failed AND \
               user.name:alice`",
    docs: "https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-search",
    default_base_url: None,
    keys: KEYS,
    check: check_elastic,
    build: build_elastic,
};

pub(super) static OPENSEARCH: Kind = Kind {
    name: "opensearch",
    description: "OpenSearch (Wazuh indexer, Amazon OpenSearch with Basic auth): `POST \
                  /{index}/_search`, a query_string query over a time range, newest first",
    language: "Lucene query string syntax (query_string)",
    docs: "https://docs.opensearch.org/latest/api-reference/search-apis/search/",
    default_base_url: None,
    keys: KEYS,
    check: check_opensearch,
    build: build_opensearch,
};

const ELASTIC_SCHEMES: &[&str] = &["ApiKey", "Bearer"];
/// OpenSearch's security plugin takes Basic or a JWT as a bearer token; it has no `ApiKey` scheme.
const OPENSEARCH_SCHEMES: &[&str] = &["Bearer"];

fn check_elastic(c: &SiemConfig) -> Vec<(String, String)> {
    check(c, ELASTIC_SCHEMES)
}

fn check_opensearch(c: &SiemConfig) -> Vec<(String, String)> {
    check(c, OPENSEARCH_SCHEMES)
}

fn check(c: &SiemConfig, schemes: &[&str]) -> Vec<(String, String)> {
    let mut out = check_key_or_basic(c, schemes);
    match c.index.as_deref().map(str::trim) {
        None | Some("") => out.push((
            "index".into(),
            format!(
                "required for kind `{}` (an index, alias, data stream or pattern such as `logs-*`)",
                c.kind
            ),
        )),
        Some(i) if i.starts_with('_') => out.push((
            "index".into(),
            "must not start with `_` (that is an API, not an index)".into(),
        )),
        Some(i) if i.contains(['/', '?', '#', ' ', '\\']) => out.push((
            "index".into(),
            "must not contain `/`, `?`, `#`, `\\` or spaces".into(),
        )),
        Some(_) => {}
    }
    if let Some(f) = &c.time_field
        && (f.trim().is_empty() || f.contains(char::is_whitespace))
    {
        out.push((
            "time_field".into(),
            "must be a field name such as `@timestamp`".into(),
        ));
    }
    out
}

fn build_elastic(c: &SiemConfig, ctx: Context) -> Result<Arc<dyn Siem>, SiemError> {
    build(c, ctx, &ELASTICSEARCH, "ApiKey")
}

fn build_opensearch(c: &SiemConfig, ctx: Context) -> Result<Arc<dyn Siem>, SiemError> {
    build(c, ctx, &OPENSEARCH, "Bearer")
}

fn build(
    c: &SiemConfig,
    ctx: Context,
    kind: &'static Kind,
    default_scheme: &str,
) -> Result<Arc<dyn Siem>, SiemError> {
    let scheme = c.auth_scheme.as_deref().unwrap_or(default_scheme);
    let (http, auth) = keyed_client(c, None, scheme, &ctx)?;
    let index = c
        .index
        .as_deref()
        .map(str::trim)
        .ok_or_else(|| SiemError::Config("no index".into()))?;
    let mut url = http.url("")?;
    url.path_segments_mut()
        .map_err(|()| SiemError::Config("base_url cannot take a path".into()))?
        .pop_if_empty()
        .extend([index, "_search"]);
    Ok(Arc::new(Elastic {
        name: c.name.clone(),
        kind: kind.name,
        http,
        auth,
        url,
        time_field: c.time_field.clone().unwrap_or_else(|| "@timestamp".into()),
    }))
}

struct Elastic {
    name: String,
    kind: &'static str,
    http: Http,
    auth: Auth,
    url: url::Url,
    time_field: String,
}

impl Elastic {
    fn body(&self, q: &SiemQuery) -> Value {
        let tf = self.time_field.as_str();
        json!({
            "size": q.limit,
            "query": {"bool": {
                "must": [{"query_string": {"query": q.query}}],
                "filter": [{"range": {tf: {"gte": rfc3339_millis(q.from), "lte": rfc3339_millis(q.to)}}}],
            }},
            "sort": [{tf: "desc"}],
        })
    }
}

#[async_trait]
impl Siem for Elastic {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        self.kind
    }

    async fn search(&self, q: &SiemQuery) -> Result<SiemResult, SiemError> {
        let body = self.body(q);
        let secret = self.http.secret()?;
        let reply = self
            .http
            .send("search", |c| {
                self.auth
                    .apply(c.post(self.url.clone()), secret)
                    .header("Accept", "application/json")
                    .json(&body)
            })
            .await
            .map_err(|e| explain(e.into(), message_in_text))?;
        if !reply.is_success() {
            let message = message_in_text(&String::from_utf8_lossy(&reply.body))
                .unwrap_or_else(|| reply.snippet(300));
            return Err(status_error(reply.status, message));
        }
        let doc: Value = reply.json()?;
        parse(&doc)
    }
}

fn parse(doc: &Value) -> Result<SiemResult, SiemError> {
    let hits = doc
        .get("hits")
        .filter(|h| h.is_object())
        .ok_or_else(|| SiemError::InvalidResponse("no `hits` object in the search reply".into()))?;
    let list = hits
        .get("hits")
        .and_then(Value::as_array)
        .ok_or_else(|| SiemError::InvalidResponse("no `hits.hits` array".into()))?;
    let (total, exact) = match hits.get("total") {
        // Before 7.0 (and with `rest_total_hits_as_int`): a plain number, always exact.
        Some(Value::Number(n)) => (n.as_u64(), true),
        Some(Value::Object(t)) => (
            t.get("value").and_then(Value::as_u64),
            t.get("relation").and_then(Value::as_str) != Some("gte"),
        ),
        // `track_total_hits: false` on the index: no count.
        _ => (None, false),
    };
    let events: Vec<Value> = list
        .iter()
        .map(|h| {
            let mut ev = match h.get("_source") {
                Some(Value::Object(m)) => m.clone(),
                _ => Map::new(),
            };
            for k in ["_index", "_id"] {
                if let Some(v) = h.get(k) {
                    ev.insert(k.into(), v.clone());
                }
            }
            Value::Object(ev)
        })
        .collect();
    let partial = doc.get("timed_out") == Some(&Value::Bool(true))
        || doc
            .pointer("/_shards/failed")
            .and_then(Value::as_u64)
            .is_some_and(|n| n > 0);
    let more = match total {
        Some(t) => t > events.len() as u64,
        None => false,
    };
    Ok(SiemResult {
        total: total.filter(|_| exact),
        truncated: partial || more || (!exact && total.is_some()),
        events,
    })
}

/// The vendor's explanation in an error body, which may be cut short.
fn message_in_text(text: &str) -> Option<String> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        return message(&v);
    }
    let reason = super::string_field(text, "reason")?;
    Some(clip(&match super::string_field(text, "type") {
        Some(t) => format!("{t}: {reason}"),
        None => reason,
    }))
}

/// `type: reason` of the error, then of its root cause, then of the first failed shard's reason and
/// its `caused_by` chain (where a query parser puts the line and column), each said once.
fn message(v: &Value) -> Option<String> {
    let e = v.get("error")?;
    if let Some(s) = e.as_str() {
        return Some(clip(s));
    }
    let line = |x: &Value| -> Option<String> {
        let r = x.get("reason")?.as_str()?;
        Some(match x.get("type").and_then(Value::as_str) {
            Some(t) => format!("{t}: {r}"),
            None => r.to_owned(),
        })
    };
    let mut parts: Vec<String> = Vec::new();
    let starts = [
        Some(e),
        e.pointer("/root_cause/0"),
        e.pointer("/failed_shards/0/reason"),
    ];
    for start in starts.into_iter().flatten() {
        let mut node = Some(start);
        let mut depth = 0;
        while let Some(n) = node
            && depth < 5
        {
            if let Some(l) = line(n)
                && !parts.contains(&l)
            {
                parts.push(l);
            }
            node = n.get("caused_by");
            depth += 1;
        }
    }
    (!parts.is_empty()).then(|| clip(&parts.join("; ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lower_bound_total_is_not_reported_as_a_count() {
        let doc = json!({"hits": {"total": {"value": 10000, "relation": "gte"}, "hits": [
            {"_index": "logs", "_id": "1", "_source": {"a": 1}}
        ]}});
        let r = parse(&doc).unwrap();
        assert_eq!(r.total, None);
        assert!(r.truncated);
        let doc = json!({"hits": {"total": 1, "hits": [{"_index": "logs", "_id": "1"}]}});
        let r = parse(&doc).unwrap();
        assert_eq!(r.total, Some(1));
        assert!(!r.truncated);
        assert_eq!(r.events[0], json!({"_index": "logs", "_id": "1"}));
    }

    #[test]
    fn failed_shards_mark_the_result_partial() {
        let doc = json!({"timed_out": false, "_shards": {"total": 2, "successful": 1, "skipped": 0, "failed": 1},
            "hits": {"total": {"value": 0, "relation": "eq"}, "hits": []}});
        assert!(parse(&doc).unwrap().truncated);
    }
}
