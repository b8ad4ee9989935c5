//! Shared helpers for the responder tests: build one responder against a mock server.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use picket_enrich::Recorder;
use picket_respond::{ActionRequest, Context, ResponderConfig, Responders};

pub fn build(c: ResponderConfig) -> (Responders, Arc<Recorder>) {
    let problems = picket_respond::check_all(std::slice::from_ref(&c));
    assert!(problems.is_empty(), "config problems: {problems:?}");
    let rec = Arc::new(Recorder::default());
    let r = Responders::build(
        &[c],
        Context {
            observer: rec.clone(),
        },
    )
    .map_err(|(n, e)| format!("{n}: {e}"))
    .unwrap();
    (r, rec)
}

pub fn request(action: &str, target: &str) -> ActionRequest {
    ActionRequest {
        action_id: "act-0123456789abcdef".into(),
        action: action.into(),
        target: target.into(),
        params: serde_json::json!({}),
        incident: Some("inc-42".into()),
        summary: format!("{action} {target} for incident inc-42"),
    }
}

/// Runs `req` on the instance that routes it.
pub async fn run(
    r: &Responders,
    req: &ActionRequest,
) -> Result<picket_respond::ActionOutcome, picket_respond::RespondError> {
    let (c, _) = r.route(&req.action, None).expect("a responder performs it");
    c.responder.execute(req).await
}

/// A file holding `value`, as `secret_file` (env vars cannot be set safely from tests). Kept for the
/// life of the test process.
pub fn secret_file(value: &str) -> std::path::PathBuf {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), format!("{value}\n")).unwrap();
    let (_, path) = f.keep().unwrap();
    path
}
