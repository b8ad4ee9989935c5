//! Tests that need tantivy itself: an index written by another schema or format version.

use tantivy::schema::{STORED, STRING, Schema};

use super::*;

fn incident(v: serde_json::Value) -> Incident {
    serde_json::from_value(v).unwrap()
}

fn sample() -> Incident {
    incident(serde_json::json!({
        "id": "inc_a", "title": "Brute force on web01", "verdict": "suspicious", "priority": "P3",
        "confidence": 0.5, "confidence_note": "", "escalation": "analyst_queue",
        "first_seen": "2025-03-01T10:00:00Z", "last_seen": "2025-03-01T10:00:00Z", "alert_count": 1,
        "alerts": [],
        "scope": { "hosts": ["WEB01", "web01 ", ""], "users": ["alice"], "ips": ["192.0.2.1"] },
        "observables": [
            { "type": "ipv4", "value": "192.0.2.1", "benign_lists": [] },
            { "type": "ipv4", "value": "8.8.8.8", "benign_lists": ["public-dns"] },
            { "type": "url", "value": "http://x/".repeat(1000), "benign_lists": [] },
        ],
        "attack": [{ "technique": "T1110", "tactic": "TA0006" }],
        "timeline": [{ "time": "2025-03-01T10:00:00Z", "alert": "a", "summary": "s", "technique": "T1110", "count": 1 }],
        "evidence": [
            { "claim": "c", "source": "history:wazuh:5712", "weight": 0.05 },
            { "claim": "c", "source": "alert:a:severity", "weight": 0.2 },
        ],
    }))
}

#[test]
fn keys_are_normalized_deduplicated_and_weighted() {
    let keys = fields::keys(&sample(), &mut exact_analyzer());
    let got: Vec<(&str, &str, &str, f32)> = keys
        .iter()
        .map(|k| (k.kind.label(), k.value.as_str(), k.norm.as_str(), k.weight))
        .collect();
    assert_eq!(
        got,
        [
            ("rule", "wazuh:5712", "wazuh:5712", 1.5),
            ("technique", "T1110", "t1110", 1.5),
            ("ipv4", "192.0.2.1", "192.0.2.1", 1.5),
            // On a benign list: a quarter of the weight.
            ("ipv4", "8.8.8.8", "8.8.8.8", 0.375),
            // The 9 000-byte URL is too long to index; the scope IP repeats an observable; the
            // hosts differ only in case and blanks, the empty one is dropped.
            ("host", "WEB01", "web01", 1.0),
            ("user", "alice", "alice", 1.0),
            ("tactic", "TA0006", "ta0006", 0.3),
        ]
    );
}

#[test]
fn an_index_with_another_schema_is_a_schema_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = Schema::builder();
    b.add_text_field("id", STRING | STORED);
    Index::create_in_dir(dir.path(), b.build()).unwrap();
    let err = IncidentIndex::open(dir.path()).unwrap_err();
    assert!(matches!(err, SearchError::SchemaMismatch { .. }), "{err:?}");
    assert!(err.needs_rebuild());
    assert!(err.to_string().contains("rebuild"), "{err}");
}

#[test]
fn an_index_of_another_format_version_is_a_schema_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    IncidentIndex::open(dir.path())
        .unwrap()
        .upsert(&[sample()])
        .unwrap();
    assert_eq!(
        Index::open_in_dir(dir.path())
            .unwrap()
            .load_metas()
            .unwrap()
            .payload
            .as_deref(),
        Some(FORMAT)
    );
    {
        let index = Index::open_in_dir(dir.path()).unwrap();
        let mut w: IndexWriter<TantivyDocument> =
            index.writer_with_num_threads(1, 15_000_000).unwrap();
        let mut c = w.prepare_commit().unwrap();
        c.set_payload("picket-search/0");
        c.commit().unwrap();
    }
    match IncidentIndex::open(dir.path()) {
        Err(SearchError::SchemaMismatch { detail, .. }) => {
            assert!(detail.contains("picket-search/0"), "{detail}")
        }
        other => panic!("expected SchemaMismatch, got {other:?}"),
    }
}
