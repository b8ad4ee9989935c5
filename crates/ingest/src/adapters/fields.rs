//! Small readers over a JSON document that adapters share: path lookup (dotted paths that also match
//! flattened keys such as `"kibana.alert.rule.name"`), strings from strings or numbers, arrays.

use jiff::Timestamp;
use serde_json::Value;

use crate::error::AdapterError;

/// A borrowed view over a vendor document.
#[derive(Debug, Clone, Copy)]
pub struct Doc<'a>(pub &'a Value);

impl<'a> Doc<'a> {
    /// Looks up a dotted path. At each level the longest flattened key that matches wins, so
    /// `kibana.alert.rule.name` finds `{"kibana.alert.rule.name": ..}`, `{"kibana": {"alert": ..}}`
    /// and mixtures of both.
    pub fn get(&self, path: &str) -> Option<&'a Value> {
        lookup(self.0, path)
    }

    /// A non-empty trimmed string at `path`; numbers and booleans are rendered as text.
    pub fn str(&self, path: &str) -> Option<String> {
        self.get(path).and_then(as_text)
    }

    /// The first non-empty string among `paths`.
    pub fn first_str(&self, paths: &[&str]) -> Option<String> {
        paths.iter().find_map(|p| self.str(p))
    }

    pub fn u64(&self, path: &str) -> Option<u64> {
        match self.get(path)? {
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                    .map(|f| f as u64)
            }),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn f64(&self, path: &str) -> Option<f64> {
        match self.get(path)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Strings at `path`: an array's text items, or a single value as a one-item list.
    pub fn strs(&self, path: &str) -> Vec<String> {
        match self.get(path) {
            Some(Value::Array(items)) => items.iter().filter_map(as_text).collect(),
            Some(v) => as_text(v).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// The array at `path`, or empty.
    pub fn array(&self, path: &str) -> &'a [Value] {
        match self.get(path) {
            Some(Value::Array(a)) => a,
            _ => &[],
        }
    }

    /// The timestamp at the first of `paths` that is present. Present but unreadable is an error
    /// naming the field; absent everywhere is `Ok(None)`.
    pub fn time(&self, paths: &[&str]) -> Result<Option<Timestamp>, AdapterError> {
        for p in paths {
            if let Some(v) = self.get(p) {
                if v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()) {
                    continue;
                }
                return picket_core::time::parse_value(v)
                    .map(Some)
                    .map_err(|source| AdapterError::Time {
                        field: (*p).to_owned(),
                        source,
                    });
            }
        }
        Ok(None)
    }

    pub fn has(&self, path: &str) -> bool {
        self.get(path).is_some()
    }
}

/// Text of a scalar: trimmed non-empty strings, numbers and booleans as written.
pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_owned())
        }
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(v);
    }
    let obj = v.as_object()?;
    if let Some(found) = obj.get(path) {
        return Some(found);
    }
    // Try every split point, longest key first.
    let mut end = path.len();
    while let Some(dot) = path[..end].rfind('.') {
        if let Some(inner) = obj.get(&path[..dot]) {
            if let Some(found) = lookup(inner, &path[dot + 1..]) {
                return Some(found);
            }
        }
        end = dot;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_nested_flattened_and_mixed_paths() {
        let v = json!({"kibana.alert.rule.name": "a", "host": {"name": "h"}, "kibana.alert": {"severity": "high"}, "n": 5});
        let d = Doc(&v);
        assert_eq!(d.str("kibana.alert.rule.name").as_deref(), Some("a"));
        assert_eq!(d.str("host.name").as_deref(), Some("h"));
        assert_eq!(d.str("kibana.alert.severity").as_deref(), Some("high"));
        assert_eq!(d.str("n").as_deref(), Some("5"));
        assert_eq!(d.str("missing.path"), None);
    }

    #[test]
    fn time_errors_name_the_field() {
        let v = json!({"ts": "not a time", "empty": ""});
        let d = Doc(&v);
        assert!(d.time(&["empty"]).unwrap().is_none());
        let e = d.time(&["ts"]).unwrap_err();
        assert!(e.to_string().contains("`ts`"));
    }
}
