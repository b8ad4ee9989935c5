//! Helpers shared by the provider tests.

#![allow(dead_code)]

use std::sync::Arc;

use picket_enrich::{ConnectorConfig, Recorder, Source, build_source};
use wiremock::MockServer;

/// A connector instance of `provider` pointed at `server`, with the key `KEY` (from a key file), no
/// retries unless `retries` says so, and a recorder for its call events.
pub fn source(
    provider: &str,
    server: &MockServer,
    retries: u32,
    tweak: impl FnOnce(&mut ConnectorConfig),
) -> (Source, Arc<Recorder>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key"), format!("{KEY}\n")).unwrap();
    let mut c = ConnectorConfig::new(&format!("test-{provider}"), provider);
    c.base_url = Some(server.uri());
    c.api_key_file = Some("key".into());
    c.retries = retries;
    c.timeout_ms = 2000;
    tweak(&mut c);
    let problems = c.check();
    assert!(problems.is_empty(), "test config invalid: {problems:?}");
    let rec = Arc::new(Recorder::default());
    let src = build_source(&c, dir.path(), rec.clone()).expect("build");
    (src, rec, dir)
}

pub const KEY: &str = "test-key-0123456789abcdef";

/// Asserts no recorded event or error text contains the key.
pub fn assert_no_secret(rec: &Recorder, extra: &str) {
    for e in rec.events() {
        let line = serde_json::to_string(&e).unwrap();
        assert!(!line.contains(KEY), "secret leaked into call event: {line}");
    }
    assert!(!extra.contains(KEY), "secret leaked into error: {extra}");
}
