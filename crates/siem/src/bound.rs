//! What every vendor gets around it: the query validated, the limit clamped, each event cut to a
//! size, so a search result handed to an LLM or a terminal stays bounded.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use crate::siem::{Siem, SiemError, SiemQuery, SiemResult};

/// Largest serialized size of one returned event, in bytes. A bigger event keeps the top-level
/// fields that fit (a long string field is cut), and says what was dropped under `_truncated`.
pub const MAX_EVENT_BYTES: usize = 16 * 1024;

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 10_000;

/// Room kept for the `_truncated` marker when an event is cut.
const MARKER_ROOM: usize = 2048;
/// At most this many dropped field names are listed, each cut to `NAME_MAX` bytes (escaped).
const OMITTED_MAX: usize = 20;
const NAME_MAX: usize = 64;
/// A non-object event over the cap becomes a preview of this many bytes of its JSON text.
const PREVIEW_BYTES: usize = 4096;

pub(crate) struct Bounded {
    inner: Arc<dyn Siem>,
    max_limit: u32,
}

impl Bounded {
    pub(crate) fn new(inner: Arc<dyn Siem>, max_limit: u32) -> Self {
        Self {
            inner,
            max_limit: max_limit.max(1),
        }
    }
}

#[async_trait]
impl Siem for Bounded {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    async fn search(&self, q: &SiemQuery) -> Result<SiemResult, SiemError> {
        let query = q.query.trim();
        if query.is_empty() {
            return Err(SiemError::BadQuery("the query is empty".into()));
        }
        let chars = query.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(SiemError::BadQuery(format!(
                "the query is {chars} characters long, at most {MAX_QUERY_CHARS} are accepted"
            )));
        }
        if q.from > q.to {
            return Err(SiemError::BadQuery(format!(
                "time range: from ({}) is after to ({})",
                q.from, q.to
            )));
        }
        if q.limit == 0 {
            return Err(SiemError::BadQuery("limit must be at least 1".into()));
        }
        let limit = q.limit.min(self.max_limit);
        let q = SiemQuery {
            query: query.to_owned(),
            from: q.from,
            to: q.to,
            limit,
        };
        let mut r = self.inner.search(&q).await?;
        if r.events.len() > limit as usize {
            r.events.truncate(limit as usize);
            r.truncated = true;
        }
        let mut cut = false;
        r.events = std::mem::take(&mut r.events)
            .into_iter()
            .map(|e| {
                let (e, c) = cap_event(e);
                cut |= c;
                e
            })
            .collect();
        r.truncated |= cut;
        Ok(r)
    }
}

/// `event` at most [`MAX_EVENT_BYTES`] serialized, and whether it was cut.
///
/// An object keeps its top-level fields in order while they fit; a string field that does not is
/// cut (marked `…[truncated]`) when enough room is left, other fields are dropped. The result gains
/// `_truncated: {original_bytes, omitted_fields}`. Any other value becomes
/// `{_truncated: {original_bytes}, _preview: <the start of its JSON text>}`.
pub fn cap_event(event: Value) -> (Value, bool) {
    let size = json_len(&event);
    if size <= MAX_EVENT_BYTES {
        return (event, false);
    }
    let Value::Object(map) = event else {
        let text = event.to_string();
        let preview = prefix_within(&text, PREVIEW_BYTES);
        return (
            json!({"_truncated": {"original_bytes": size}, "_preview": preview}),
            true,
        );
    };
    let budget = MAX_EVENT_BYTES - MARKER_ROOM;
    let mut used = 2; // the braces
    let mut out = Map::new();
    let mut omitted: Vec<String> = Vec::new();
    for (k, v) in map {
        // `"key":` plus a comma.
        let key_len = escaped_len(&k) + 4;
        let val_len = json_len(&v);
        if used + key_len + val_len <= budget {
            used += key_len + val_len;
            out.insert(k, v);
            continue;
        }
        if let Value::String(s) = &v {
            let room = budget.saturating_sub(used + key_len + 32);
            if room >= 256 {
                let cut = format!("{}…[truncated]", prefix_escaped_within(s, room));
                used += key_len + escaped_len(&cut) + 2;
                out.insert(k, Value::String(cut));
                continue;
            }
        }
        if omitted.len() < OMITTED_MAX {
            omitted.push(prefix_escaped_within(&k, NAME_MAX).to_owned());
        }
    }
    out.insert(
        "_truncated".into(),
        json!({"original_bytes": size, "omitted_fields": omitted}),
    );
    (Value::Object(out), true)
}

fn json_len(v: &Value) -> usize {
    serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX)
}

/// Bytes of `s` inside a JSON string, quotes excluded (control characters counted as `\uXXXX`).
fn escaped_len(s: &str) -> usize {
    s.chars().map(char_escaped_len).sum()
}

fn char_escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// The longest prefix of `s` whose JSON-escaped form fits in `max` bytes.
fn prefix_escaped_within(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (i, c) in s.char_indices() {
        used += char_escaped_len(c);
        if used > max {
            return &s[..i];
        }
    }
    s
}

/// The longest prefix of `s` of at most `max` bytes, on a character boundary.
fn prefix_within(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_events_pass_unchanged() {
        let e = json!({"a": 1, "b": "x"});
        assert_eq!(cap_event(e.clone()), (e, false));
    }

    #[test]
    fn a_big_object_keeps_what_fits_and_says_what_was_cut() {
        let e = json!({
            "host": "web01",
            "message": "é\"".repeat(20_000),
            "nested": {"blob": "x".repeat(30_000)},
            "user": "alice",
        });
        let (out, cut) = cap_event(e);
        assert!(cut);
        let len = serde_json::to_vec(&out).unwrap().len();
        assert!(len <= MAX_EVENT_BYTES, "{len}");
        assert_eq!(out["host"], "web01");
        assert_eq!(out["user"], "alice");
        let msg = out["message"].as_str().unwrap();
        assert!(msg.ends_with("…[truncated]") && msg.starts_with("é\"é"));
        assert!(out.get("nested").is_none());
        assert_eq!(out["_truncated"]["omitted_fields"], json!(["nested"]));
        assert!(out["_truncated"]["original_bytes"].as_u64().unwrap() > 60_000);
    }

    #[test]
    fn many_wide_fields_stay_under_the_cap() {
        let mut m = Map::new();
        for i in 0..500 {
            m.insert(format!("{}{i}", "f".repeat(200)), json!(vec![i; 20]));
        }
        let (out, cut) = cap_event(Value::Object(m));
        assert!(cut);
        assert!(serde_json::to_vec(&out).unwrap().len() <= MAX_EVENT_BYTES);
        assert_eq!(
            out["_truncated"]["omitted_fields"]
                .as_array()
                .unwrap()
                .len(),
            OMITTED_MAX
        );
    }

    #[test]
    fn a_big_non_object_becomes_a_preview() {
        let (out, cut) = cap_event(json!(["\u{1}".repeat(10_000)]));
        assert!(cut);
        assert!(serde_json::to_vec(&out).unwrap().len() <= MAX_EVENT_BYTES);
        assert!(out["_preview"].as_str().unwrap().starts_with("[\"\\u0001"));
    }
}
