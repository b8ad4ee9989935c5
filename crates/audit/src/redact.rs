//! Secrets out of audit data, before it is hashed and written.

use serde_json::Value;

/// Replaces secret values with `"***"`: any string equal to (or containing) a known secret, and the
/// value of any key whose name says it holds one (`*key*` except `rule_key`/`*_key_id`, `*token*`,
/// `*secret*`, `*password*`, `authorization`, `cookie`).
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        Self {
            secrets: secrets.into_iter().filter(|s| s.len() >= 4).collect(),
        }
    }

    fn secret_key(name: &str) -> bool {
        let n = name.to_ascii_lowercase();
        (n.contains("key") && !n.ends_with("rule_key") && !n.ends_with("key_id") && n != "key_id")
            || n.contains("token")
            || n.contains("secret")
            || n.contains("password")
            || n == "authorization"
            || n == "cookie"
    }

    pub fn redact(&self, v: &mut Value) {
        match v {
            Value::String(s) => {
                for secret in &self.secrets {
                    if s.contains(secret.as_str()) {
                        *s = s.replace(secret.as_str(), "***");
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.redact(x)),
            Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    if Self::secret_key(k) && !x.is_null() {
                        *x = Value::String("***".into());
                    } else {
                        self.redact(x);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_survive() {
        let r = Redactor::new(["hunter2-api-key".to_owned()]);
        let mut v = serde_json::json!({
            "url": "https://x/?k=hunter2-api-key", "api_key": "abc", "headers": {"Authorization": "Bearer z"},
            "rule_key": "wazuh:5710", "nested": [{"token": "t"}, "fine"]
        });
        r.redact(&mut v);
        let s = v.to_string();
        assert!(
            !s.contains("hunter2-api-key") && !s.contains("\"abc\"") && !s.contains("Bearer z"),
            "{s}"
        );
        assert_eq!(v["rule_key"], "wazuh:5710");
        assert_eq!(v["nested"][1], "fine");
    }
}
