//! Shared helpers for the vendor tests: build one SIEM against a mock server, match form bodies.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::Arc;

use picket_siem::{Context, Recorder, Siem, SiemConfig, SiemError, SiemQuery};
use wiremock::{Match, Request};

/// A checked entry, built with a recorder as its observer.
pub fn build(c: SiemConfig) -> (Arc<dyn Siem>, Arc<Recorder>) {
    let problems = picket_siem::check(std::slice::from_ref(&c));
    assert!(problems.is_empty(), "config problems: {problems:?}");
    let rec = Arc::new(Recorder::default());
    let s = picket_siem::build_with(
        &c,
        Context {
            observer: rec.clone(),
        },
    )
    .unwrap();
    (s, rec)
}

/// A file holding `value`, as `api_key_file` / `password_file` (env vars cannot be set safely from
/// tests). Kept for the life of the test process.
pub fn secret_file(value: &str) -> std::path::PathBuf {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), format!("{value}\n")).unwrap();
    let (_, path) = f.keep().unwrap();
    path
}

pub const FROM: &str = "2024-05-01T00:00:00Z";
pub const TO: &str = "2024-05-02T00:00:00Z";

pub fn query(q: &str, limit: u32) -> SiemQuery {
    SiemQuery {
        query: q.into(),
        from: FROM.parse().unwrap(),
        to: TO.parse().unwrap(),
        limit,
    }
}

/// Matches a form-encoded body with exactly these fields.
pub struct FormIs(pub BTreeMap<String, String>);

impl FormIs {
    pub fn new(fields: &[(&str, &str)]) -> Self {
        Self(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }
}

impl Match for FormIs {
    fn matches(&self, req: &Request) -> bool {
        let got: BTreeMap<String, String> = url::form_urlencoded::parse(&req.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let pairs = url::form_urlencoded::parse(&req.body).count();
        got == self.0 && pairs == self.0.len()
    }
}

/// The error says nothing of `secret`, in its message or its debug form.
pub fn assert_clean(e: &SiemError, secret: &str) {
    assert!(!e.to_string().contains(secret), "secret in `{e}`");
    assert!(!format!("{e:?}").contains(secret), "secret in `{e:?}`");
}

/// No call event carries `secret`.
pub fn assert_events_clean(rec: &Recorder, secret: &str) {
    let text = serde_json::to_string(&rec.events()).unwrap();
    assert!(!text.contains(secret), "secret in call events: {text}");
}
