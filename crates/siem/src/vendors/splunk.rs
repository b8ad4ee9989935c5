//! Splunk Enterprise / Splunk Cloud streaming search export
//! (<https://docs.splunk.com/Documentation/Splunk/latest/RESTREF/RESTsearch#search.2Fv2.2Fjobs.2Fexport>).
//!
//! `POST {base}/services/search/v2/jobs/export` (configurable: `services/search/jobs/export`
//! before Splunk 9.0.1), form-encoded: `search` (the SPL, prefixed with `search ` unless it already
//! starts with `search` or with a generating command `|`, and followed by `| head N+1` so the
//! stream stays bounded and a cut can be told from an exact fit), `earliest_time` and
//! `latest_time` (UTC epoch seconds, with milliseconds when needed; `latest_time` is exclusive),
//! `output_mode=json`, `count=N+1`. Auth: `Authorization: Bearer <token>` (a Splunk
//! authentication token), `Splunk <session key>`, or Basic.
//!
//! Reply: one JSON object per line, `{"preview": false, "offset": 0, "result": {...}}` (the last
//! one may carry `"lastrow": true`), and possibly `{"messages": [{"type": "FATAL"|"ERROR"|"WARN"|
//! "INFO", "text": "..."}]}` lines. Preview rows (`"preview": true`) are superseded by final ones
//! and skipped. A FATAL message, or an ERROR with no results, fails the search (bad_query when the
//! text is a parser's `Error in '<command>' command: …` or `Unknown search command`, otherwise
//! server_error); an ERROR alongside results marks them truncated.
//!
//! Errors: 400 `{"messages": [{"type": "FATAL", "text": "..."}]}` → bad_query; 401
//! `{"messages": [{"type": "WARN", "text": "call not properly authenticated"}]}` → unauthorized;
//! 403 → unauthorized; 404 → not_found; 429 and 5xx → retried, then rate_limited / server_error.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use picket_enrich::Http;
use serde_json::Value;

use super::{Auth, Context, Kind, check_key_or_basic, clip, explain, keyed_client, status_error};
use crate::config::SiemConfig;
use crate::siem::{Siem, SiemError, SiemQuery, SiemResult};

pub(super) static KIND: Kind = Kind {
    name: "splunk",
    description: "Splunk Enterprise / Splunk Cloud: streaming export search (`POST \
                  /services/search/v2/jobs/export`), SPL over a time range",
    language: "SPL, e.g. `index=wineventlog EventCode=4625 user=alice`",
    docs: "https://docs.splunk.com/Documentation/Splunk/latest/RESTREF/RESTsearch",
    default_base_url: None,
    keys: &[
        "search_path",
        "auth_scheme",
        "username",
        "password_env",
        "password_file",
    ],
    check,
    build,
};

const DEFAULT_PATH: &str = "services/search/v2/jobs/export";
const SCHEMES: &[&str] = &["Bearer", "Splunk"];

fn check(c: &SiemConfig) -> Vec<(String, String)> {
    let mut out = check_key_or_basic(c, SCHEMES);
    if let Some(p) = &c.search_path
        && (p.trim().trim_start_matches('/').is_empty() || p.contains(['?', '#', ' ']))
    {
        out.push((
            "search_path".into(),
            "must be a path such as `services/search/v2/jobs/export`".into(),
        ));
    }
    out
}

fn build(c: &SiemConfig, ctx: Context) -> Result<Arc<dyn Siem>, SiemError> {
    let scheme = c.auth_scheme.as_deref().unwrap_or("Bearer");
    let (http, auth) = keyed_client(c, None, scheme, &ctx)?;
    let url = http.url(c.search_path.as_deref().unwrap_or(DEFAULT_PATH).trim())?;
    Ok(Arc::new(Splunk {
        name: c.name.clone(),
        http,
        auth,
        url,
    }))
}

struct Splunk {
    name: String,
    http: Http,
    auth: Auth,
    url: url::Url,
}

/// The SPL sent: `search ` prefixed unless the query starts with the `search` command or a
/// generating command (`|`), then `| head <max>`.
pub(crate) fn spl(query: &str, max: u32) -> String {
    let q = query.trim();
    let has_command = q.starts_with('|')
        || q.split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("search"));
    if has_command {
        format!("{q} | head {max}")
    } else {
        format!("search {q} | head {max}")
    }
}

/// UTC epoch seconds, with milliseconds when not whole: a time format every Splunk version takes
/// for `earliest_time` / `latest_time`.
pub(crate) fn epoch(t: Timestamp) -> String {
    let ms = t.as_millisecond();
    let sign = if ms < 0 { "-" } else { "" };
    let (s, frac) = (ms.unsigned_abs() / 1000, ms.unsigned_abs() % 1000);
    if frac == 0 {
        format!("{sign}{s}")
    } else {
        format!("{sign}{s}.{frac:03}")
    }
}

#[async_trait]
impl Siem for Splunk {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        KIND.name
    }

    async fn search(&self, q: &SiemQuery) -> Result<SiemResult, SiemError> {
        let max = q.limit.saturating_add(1);
        let form = [
            ("search", spl(&q.query, max)),
            ("earliest_time", epoch(q.from)),
            ("latest_time", epoch(q.to)),
            ("output_mode", "json".to_owned()),
            ("count", max.to_string()),
        ];
        let secret = self.http.secret()?;
        let reply = self
            .http
            .send("search", |c| {
                self.auth
                    .apply(c.post(self.url.clone()), secret)
                    .header("Accept", "application/json")
                    .form(&form)
            })
            .await
            .map_err(|e| explain(e.into(), message_in_text))?;
        if !reply.is_success() {
            let message = message_in_text(&String::from_utf8_lossy(&reply.body))
                .unwrap_or_else(|| reply.snippet(300));
            return Err(status_error(reply.status, message));
        }
        parse(&reply.body, q.limit as usize)
    }
}

fn parse(body: &[u8], limit: usize) -> Result<SiemResult, SiemError> {
    let mut events = Vec::new();
    let mut more = false;
    let mut fatal = Vec::new();
    let mut errors = Vec::new();
    let stream = serde_json::Deserializer::from_slice(body).into_iter::<Value>();
    for (i, item) in stream.enumerate() {
        let obj = item.map_err(|e| {
            SiemError::InvalidResponse(format!(
                "export stream object {} is not the documented JSON: {e}",
                i + 1
            ))
        })?;
        if !obj.is_object() {
            return Err(SiemError::InvalidResponse(format!(
                "export stream object {} is not a JSON object",
                i + 1
            )));
        }
        for m in obj
            .get("messages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let text = m.get("text").and_then(Value::as_str).unwrap_or("").trim();
            match m.get("type").and_then(Value::as_str) {
                Some("FATAL") => fatal.push(text.to_owned()),
                Some("ERROR") => errors.push(text.to_owned()),
                _ => {}
            }
        }
        if obj.get("preview") == Some(&Value::Bool(true)) {
            continue;
        }
        if let Some(r) = obj.get("result") {
            if events.len() < limit {
                events.push(r.clone());
            } else {
                more = true;
            }
        }
    }
    if !fatal.is_empty() || (events.is_empty() && !errors.is_empty()) {
        fatal.extend(errors);
        return Err(classify(clip(&fatal.join("; "))));
    }
    Ok(SiemResult {
        total: None,
        truncated: more || !errors.is_empty(),
        events,
    })
}

/// A failed search's messages: the search parser's wording is a bad query, the rest a server
/// error.
fn classify(message: String) -> SiemError {
    let parser = [
        "Error in '",
        "Unknown search command",
        "Unable to parse",
        "Unbalanced",
    ];
    if parser.iter().any(|p| message.contains(p)) {
        SiemError::BadQuery(message)
    } else {
        SiemError::Server {
            status: 200,
            message,
        }
    }
}

/// The `messages[].text` of an error body (which may be cut short), most severe first.
fn message_in_text(text: &str) -> Option<String> {
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        let msgs = v.get("messages").and_then(Value::as_array)?;
        let rank = |t: &str| match t {
            "FATAL" => 0,
            "ERROR" => 1,
            "WARN" => 2,
            _ => 3,
        };
        let mut list: Vec<(u8, &str)> = msgs
            .iter()
            .filter_map(|m| {
                Some((
                    rank(m.get("type").and_then(Value::as_str).unwrap_or("")),
                    m.get("text")?.as_str()?,
                ))
            })
            .collect();
        list.sort_by_key(|(r, _)| *r);
        let texts: Vec<&str> = list.into_iter().map(|(_, t)| t.trim()).collect();
        return (!texts.is_empty()).then(|| clip(&texts.join("; ")));
    }
    super::string_field(text, "text").map(|t| clip(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_command_is_added_only_when_missing() {
        assert_eq!(
            spl(" index=main user=alice ", 11),
            "search index=main user=alice | head 11"
        );
        assert_eq!(spl("search index=main", 5), "search index=main | head 5");
        assert_eq!(spl("SEARCH index=main", 5), "SEARCH index=main | head 5");
        assert_eq!(
            spl("| tstats count where index=main by host", 5),
            "| tstats count where index=main by host | head 5"
        );
        // A term that merely starts with "search" is not the command.
        assert_eq!(spl("searchhead=sh1", 5), "search searchhead=sh1 | head 5");
    }

    #[test]
    fn epoch_seconds_with_milliseconds_when_needed() {
        let t: Timestamp = "2024-05-01T00:00:00Z".parse().unwrap();
        assert_eq!(epoch(t), "1714521600");
        let t: Timestamp = "2024-05-01T00:00:00.25Z".parse().unwrap();
        assert_eq!(epoch(t), "1714521600.250");
        let t: Timestamp = "1969-12-31T23:59:59.5Z".parse().unwrap();
        assert_eq!(epoch(t), "-0.500");
    }

    #[test]
    fn preview_rows_are_skipped_and_warnings_ignored() {
        let body = br#"{"preview":true,"offset":0,"result":{"count":"1"}}
{"preview":false,"messages":[{"type":"WARN","text":"Search results might be incomplete"}]}
{"preview":false,"offset":0,"lastrow":true,"result":{"count":"7"}}
"#;
        let r = parse(body, 10).unwrap();
        assert_eq!(r.events, vec![serde_json::json!({"count": "7"})]);
        assert!(!r.truncated);
    }

    #[test]
    fn an_error_beside_results_marks_them_truncated() {
        let body = br#"{"preview":false,"offset":0,"result":{"a":"1"}}
{"preview":false,"messages":[{"type":"ERROR","text":"[idx-2] Search process did not exit cleanly"}]}"#;
        let r = parse(body, 10).unwrap();
        assert_eq!(r.events.len(), 1);
        assert!(r.truncated);
        let e = parse(
            br#"{"messages":[{"type":"ERROR","text":"Search auto-canceled"}]}"#,
            10,
        )
        .unwrap_err();
        assert_eq!(e.code(), "server_error");
    }
}
