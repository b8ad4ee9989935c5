//! Microsoft Sentinel through the Log Analytics query API
//! (<https://learn.microsoft.com/en-us/rest/api/loganalytics/dataaccess/query/execute>).
//!
//! An app-only token from the Microsoft identity platform (OAuth 2.0 client credentials:
//! `POST https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token` with `grant_type`,
//! `client_id`, `client_secret`, `scope=https://api.loganalytics.io/.default`; the app needs the
//! *Log Analytics Reader* role on the workspace), cached until a minute before it expires and
//! fetched again once after a 401.
//!
//! `POST {base}/v1/workspaces/{workspaceId}/query` with `{"query": KQL, "timespan": "FROM/TO"}`
//! (ISO 8601 interval). The KQL is followed by `| take N+1` so the answer stays bounded and a cut
//! can be told from an exact fit. Reply: `{"tables": [{"name": "PrimaryResult", "columns":
//! [{"name", "type"}], "rows": [[...]]}]}`; each row becomes an object keyed by column name (a
//! `dynamic` column holding JSON text is parsed). A partial answer carries an `error` object next
//! to `tables` and is marked truncated.
//!
//! Errors are `{"error": {"code", "message", "innererror": {"code", "message", "innererror": …}}}`:
//! 400 `BadArgumentError` (`SyntaxError`, `SemanticError`) → bad_query; 401 / 403
//! `InsufficientAccessError` → unauthorized; 404 `WorkspaceNotFoundError` / `PathNotFoundError` →
//! not_found; 429 and 5xx → retried, then rate_limited / server_error. The message is the chain of
//! `code: message`, most specific last. A refused client secret (`invalid_client`, AADSTS7000215)
//! is unauthorized with the identity platform's `error_description`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use picket_enrich::Http;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

use super::{Context, Kind, clip, explain, rfc3339_millis, status_error};
use crate::config::SiemConfig;
use crate::siem::{Siem, SiemError, SiemQuery, SiemResult};

pub(super) static KIND: Kind = Kind {
    name: "sentinel",
    description: "Microsoft Sentinel / Azure Monitor Logs: Log Analytics query API (`POST \
                  /v1/workspaces/{id}/query`), KQL over a time range",
    language: "KQL, e.g. `SigninLogs | where UserPrincipalName == \"alice@example.com\"`",
    docs: "https://learn.microsoft.com/en-us/rest/api/loganalytics/dataaccess/query/execute",
    default_base_url: Some("https://api.loganalytics.io"),
    keys: &["workspace_id", "tenant_id", "client_id", "token_url"],
    check,
    build,
};

const DEFAULT_SCOPE: &str = "https://api.loganalytics.io/.default";

fn check(c: &SiemConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut bad = |k: &str, m: String| out.push((k.to_owned(), m));
    match c.workspace_id.as_deref().map(str::trim) {
        None | Some("") => bad("workspace_id", "required for kind `sentinel`".into()),
        Some(w) if !w.chars().all(|ch| ch.is_ascii_hexdigit() || ch == '-') => bad(
            "workspace_id",
            "must be the workspace's id (a GUID), not its name".into(),
        ),
        Some(_) => {}
    }
    if c.client_id.as_deref().is_none_or(|s| s.trim().is_empty()) {
        bad(
            "client_id",
            "required for kind `sentinel` (the app registration's id)".into(),
        );
    }
    if c.tenant_id.as_deref().is_none_or(|s| s.trim().is_empty()) && c.token_url.is_none() {
        bad(
            "tenant_id",
            "required for kind `sentinel` (or give token_url)".into(),
        );
    }
    if let Some(t) = &c.tenant_id
        && t.contains(['/', '?', '#', ' '])
    {
        bad("tenant_id", "must be a tenant id or domain".into());
    }
    if !c.has_api_key() {
        bad(
            "api_key_env",
            "kind `sentinel` needs the app's client secret: set api_key_env or api_key_file".into(),
        );
    }
    out
}

/// The token audience for the configured API host: `https://api.loganalytics.io` for the public
/// cloud (either host name), the host itself for the sovereign clouds (`api.loganalytics.us`,
/// `api.loganalytics.azure.cn`).
fn scope_for(base: &url::Url) -> String {
    match base.host_str() {
        Some("api.loganalytics.io" | "api.loganalytics.azure.com") | None => DEFAULT_SCOPE.into(),
        Some(h) if h.starts_with("api.loganalytics.") => format!("https://{h}/.default"),
        Some(_) => DEFAULT_SCOPE.into(),
    }
}

fn build(c: &SiemConfig, ctx: Context) -> Result<Arc<dyn Siem>, SiemError> {
    let secret = c.api_key()?.ok_or_else(|| {
        SiemError::Config(format!("SIEM `{}` has no client secret configured", c.name))
    })?;
    let http = Http::new(
        &c.name,
        Some(
            c.base_url
                .as_deref()
                .unwrap_or("https://api.loganalytics.io"),
        ),
        Some(secret),
        c.retry_policy(),
        ctx.observer.clone(),
    )?;
    let base = http.url("")?;
    let workspace = c.workspace_id.as_deref().unwrap_or("").trim();
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| SiemError::Config("base_url cannot take a path".into()))?
        .pop_if_empty()
        .extend(["v1", "workspaces", workspace, "query"]);
    let token_url = match (&c.token_url, &c.tenant_id) {
        (Some(u), _) => u.clone(),
        (None, Some(t)) => format!(
            "https://login.microsoftonline.com/{}/oauth2/v2.0/token",
            t.trim()
        ),
        (None, None) => return Err(SiemError::Config("no tenant_id or token_url".into())),
    };
    Ok(Arc::new(Sentinel {
        name: c.name.clone(),
        http,
        url,
        tokens: Tokens {
            url: url::Url::parse(&token_url)
                .map_err(|e| SiemError::Config(format!("token_url: {e}")))?,
            client_id: c.client_id.clone().unwrap_or_default().trim().to_owned(),
            scope: scope_for(&base),
            cached: Mutex::new(None),
        },
    }))
}

struct Sentinel {
    name: String,
    http: Http,
    url: url::Url,
    tokens: Tokens,
}

/// OAuth 2.0 client credentials with the Microsoft identity platform: one token, reused until a
/// minute before it expires.
struct Tokens {
    url: url::Url,
    client_id: String,
    scope: String,
    cached: Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl Tokens {
    async fn token(&self, http: &Http) -> Result<String, SiemError> {
        let mut cached = self.cached.lock().await;
        if let Some((t, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", http.secret()?.expose()),
            ("scope", self.scope.as_str()),
        ];
        let reply = http
            .send("oauth_token", |c| {
                c.post(self.url.clone())
                    .header("Accept", "application/json")
                    .form(&form)
            })
            .await
            .map_err(|e| match explain(e.into(), token_message) {
                SiemError::Unauthorized { status, message } => refused(status, &message),
                other => other,
            })?;
        if !reply.is_success() {
            // A wrong client id or secret is 400/401 `invalid_client`; an unknown tenant 400.
            let message = token_message(&String::from_utf8_lossy(&reply.body))
                .unwrap_or_else(|| reply.snippet(300));
            return Err(refused(reply.status, &message));
        }
        let t: TokenReply = reply.json()?;
        let life = Duration::from_secs(t.expires_in.unwrap_or(3600).saturating_sub(60).max(30));
        *cached = Some((t.access_token.clone(), Instant::now() + life));
        Ok(t.access_token)
    }

    async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }
}

fn refused(status: u16, message: &str) -> SiemError {
    SiemError::Unauthorized {
        status,
        message: format!("token endpoint refused the client credentials: {message}"),
    }
}

/// The identity platform's `error: error_description` (which may be cut short).
fn token_message(text: &str) -> Option<String> {
    let desc = super::string_field(text, "error_description")?;
    Some(clip(&match super::string_field(text, "error") {
        Some(e) => format!("{e}: {desc}"),
        None => desc,
    }))
}

/// The KQL sent: the query (a trailing `;` removed), then `| take <max>` on its own line (so a
/// trailing `//` comment cannot swallow it).
pub(crate) fn kql(query: &str, max: u32) -> String {
    let q = query.trim().trim_end_matches(';').trim_end();
    format!("{q}\n| take {max}")
}

impl Sentinel {
    async fn send(&self, body: &Value) -> Result<picket_enrich::http::Reply, SiemError> {
        let attempt = |token: String| async move {
            self.http
                .send("search", |c| {
                    c.post(self.url.clone())
                        .bearer_auth(&token)
                        .header("Accept", "application/json")
                        .json(body)
                })
                .await
        };
        let token = self.tokens.token(&self.http).await?;
        let sent = match attempt(token).await {
            // A token revoked or expired early: one fresh token, one more try.
            Err(picket_enrich::ConnectorError::Unauthorized(_)) => {
                self.tokens.invalidate().await;
                let token = self.tokens.token(&self.http).await?;
                attempt(token).await
            }
            other => other,
        };
        sent.map_err(|e| explain(e.into(), message_in_text))
    }
}

#[async_trait]
impl Siem for Sentinel {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND.name
    }

    async fn search(&self, q: &SiemQuery) -> Result<SiemResult, SiemError> {
        let body = json!({
            "query": kql(&q.query, q.limit.saturating_add(1)),
            "timespan": format!("{}/{}", rfc3339_millis(q.from), rfc3339_millis(q.to)),
        });
        let reply = self.send(&body).await?;
        if !reply.is_success() {
            let message = message_in_text(&String::from_utf8_lossy(&reply.body))
                .unwrap_or_else(|| reply.snippet(300));
            return Err(status_error(reply.status, message));
        }
        let doc: Value = reply.json()?;
        parse(&doc, q.limit as usize)
    }
}

fn parse(doc: &Value, limit: usize) -> Result<SiemResult, SiemError> {
    let tables = doc
        .get("tables")
        .and_then(Value::as_array)
        .ok_or_else(|| SiemError::InvalidResponse("no `tables` array in the query reply".into()))?;
    let partial = doc.get("error").is_some_and(|e| !e.is_null());
    let Some(table) = tables
        .iter()
        .find(|t| t.get("name").and_then(Value::as_str) == Some("PrimaryResult"))
        .or_else(|| tables.first())
    else {
        return Ok(SiemResult {
            total: None,
            events: Vec::new(),
            truncated: partial,
        });
    };
    let columns: Vec<(&str, &str)> = table
        .get("columns")
        .and_then(Value::as_array)
        .ok_or_else(|| SiemError::InvalidResponse("a table without `columns`".into()))?
        .iter()
        .map(|c| {
            (
                c.get("name").and_then(Value::as_str).unwrap_or(""),
                c.get("type").and_then(Value::as_str).unwrap_or(""),
            )
        })
        .collect();
    let rows = table
        .get("rows")
        .and_then(Value::as_array)
        .ok_or_else(|| SiemError::InvalidResponse("a table without `rows`".into()))?;
    let mut events = Vec::new();
    for (i, row) in rows.iter().take(limit).enumerate() {
        let cells = row
            .as_array()
            .filter(|r| r.len() == columns.len())
            .ok_or_else(|| {
                SiemError::InvalidResponse(format!(
                    "row {} does not have the {} columns",
                    i + 1,
                    columns.len()
                ))
            })?;
        let mut ev = Map::new();
        for ((name, ty), cell) in columns.iter().zip(cells) {
            ev.insert((*name).to_owned(), cell_value(ty, cell));
        }
        events.push(Value::Object(ev));
    }
    Ok(SiemResult {
        total: None,
        truncated: partial || rows.len() > limit,
        events,
    })
}

/// A `dynamic` cell arrives as JSON text; anything else as it is.
fn cell_value(ty: &str, cell: &Value) -> Value {
    if ty == "dynamic"
        && let Some(s) = cell.as_str()
        && (s.starts_with('{') || s.starts_with('['))
        && let Ok(v) = serde_json::from_str(s)
    {
        return v;
    }
    cell.clone()
}

/// The `code: message` chain of an error body (which may be cut short), outermost first.
fn message_in_text(text: &str) -> Option<String> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        let mut parts = Vec::new();
        let mut node = v.get("error");
        let mut depth = 0;
        while let Some(n) = node
            && depth < 6
        {
            let code = n.get("code").and_then(Value::as_str);
            let msg = n.get("message").and_then(Value::as_str);
            match (code, msg) {
                (Some(c), Some(m)) => parts.push(format!("{c}: {m}")),
                (None, Some(m)) => parts.push(m.to_owned()),
                (Some(c), None) => parts.push(c.to_owned()),
                (None, None) => {}
            }
            node = n.get("innererror");
            depth += 1;
        }
        return (!parts.is_empty()).then(|| clip(&parts.join("; ")));
    }
    let msg = super::string_field(text, "message")?;
    Some(clip(&match super::string_field(text, "code") {
        Some(c) => format!("{c}: {msg}"),
        None => msg,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_goes_on_its_own_line() {
        assert_eq!(
            kql("SigninLogs | where x == 1 // note;\n;", 11),
            "SigninLogs | where x == 1 // note;\n| take 11"
        );
    }

    #[test]
    fn sovereign_clouds_get_their_own_audience() {
        let u = |s: &str| url::Url::parse(s).unwrap();
        assert_eq!(scope_for(&u("https://api.loganalytics.io/")), DEFAULT_SCOPE);
        assert_eq!(
            scope_for(&u("https://api.loganalytics.azure.com/")),
            DEFAULT_SCOPE
        );
        assert_eq!(
            scope_for(&u("https://api.loganalytics.us/")),
            "https://api.loganalytics.us/.default"
        );
        assert_eq!(scope_for(&u("http://127.0.0.1:8080/")), DEFAULT_SCOPE);
    }

    #[test]
    fn dynamic_cells_are_parsed() {
        assert_eq!(cell_value("dynamic", &json!("{\"a\":1}")), json!({"a": 1}));
        assert_eq!(
            cell_value("string", &json!("{\"a\":1}")),
            json!("{\"a\":1}")
        );
        assert_eq!(cell_value("dynamic", &json!("plain")), json!("plain"));
    }
}
