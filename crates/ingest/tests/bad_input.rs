//! Bad input never panics and never loses good records: each kind of damage is rejected with a code
//! and a location, and the records around it survive.

use picket_core::{ErrorCode, SourceFormat};
use picket_ingest::{InputKind, Normalizer, NormalizerOptions, RecordError, split};
use proptest::prelude::*;
use serde_json::{Value, json};

const WAZUH: &str = r#"{"agent":{"name":"web01","id":"001"},"rule":{"level":7,"id":"5710","description":"sshd: Attempt to login using a non-existent user"},"id":"1.1","timestamp":"2024-05-01T10:00:00Z"}"#;

fn run(body: &[u8]) -> Vec<Result<picket_core::Alert, RecordError>> {
    let n = Normalizer::default();
    split(body, InputKind::Auto, "t")
        .into_iter()
        .map(|r| r.and_then(|r| n.normalize(&r)))
        .collect()
}

fn codes(v: &[Result<picket_core::Alert, RecordError>]) -> Vec<String> {
    v.iter()
        .map(|r| match r {
            Ok(a) => format!("ok:{}", a.format),
            Err(e) => format!("{}@{}", e.code.as_str(), e.location.line),
        })
        .collect()
}

#[test]
fn each_kind_of_damage_is_rejected_and_good_records_kept() {
    let long_field = format!(
        r#"{{"agent":{{"name":"x"}},"rule":{{"level":3,"id":"1","description":"{}"}},"id":"big","timestamp":"2024-05-01T10:00:00Z"}}"#,
        "A".repeat(10 << 20)
    );
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(1000), "]".repeat(1000));
    let lines = [
        WAZUH.to_owned(),                                                       // 1 good
        "{not json".to_owned(),                                                 // 2 invalid JSON
        r#"{"agent":{"name":"x"},"rule":{"level":"high","id":"1"},"id":"2","timestamp":"2024-05-01T10:00:00Z"}"#.to_owned(), // 3 wrong type
        deep,                                                                   // 4 too deep
        r#"{"hello":"world"}"#.to_owned(),                                      // 5 unknown format
        WAZUH.replace("2024-05-01T10:00:00Z", "the day after tomorrow").replace("\"1.1\"", "\"1.3\""), // 6 nonsense time
        WAZUH.replace("\"id\":\"1.1\"", "\"id\":\"1.4\",\"id\":\"1.5\""),     // 7 duplicate keys: last wins
        long_field,                                                             // 8 a 10 MB field
        "[1,2,3]".to_owned(),                                                   // 9 not an object
        WAZUH.replace("\"1.1\"", "\"1.9\""),                                    // 10 good
    ];
    let mut body = lines.join("\n").into_bytes();
    body.extend_from_slice(b"\n\xff\xfe{\"bad\": \"utf8\"}\n"); // 11 invalid UTF-8
    body.extend_from_slice(WAZUH.replace("\"1.1\"", "\"1.12\"").as_bytes()); // 12 good
    let got = run(&body);
    assert_eq!(
        codes(&got),
        vec![
            "ok:wazuh",
            "invalid_json@2",
            "invalid_record@3",
            "too_deep@4",
            "unknown_format@5",
            "invalid_timestamp@6",
            "ok:wazuh",
            "ok:wazuh",
            "invalid_record@9",
            "ok:wazuh",
            "invalid_json@11",
            "ok:wazuh",
        ]
    );
    // Rejected records keep their bytes exactly as received, for the dead-letter store.
    assert_eq!(got[1].as_ref().unwrap_err().raw, b"{not json");
    assert_eq!(
        got[10].as_ref().unwrap_err().raw,
        b"\xff\xfe{\"bad\": \"utf8\"}"
    );
    assert_eq!(got[4].as_ref().unwrap_err().raw, br#"{"hello":"world"}"#);
    let dup = got[6].as_ref().unwrap();
    assert_eq!(
        dup.source_event_id.as_deref(),
        Some("1.5"),
        "duplicate keys: the last one wins"
    );
    let e = got[5].as_ref().unwrap_err();
    assert!(
        e.message.contains("timestamp") && e.message.contains("the day after tomorrow"),
        "{}",
        e.message
    );
}

#[test]
fn timestamps_in_every_common_form_are_read() {
    for ts in [
        json!("2024-05-01T10:00:00Z"),
        json!("2024-05-01T12:00:00+02:00"),
        json!("2024-05-01T12:00:00+0200"),
        json!("2024-05-01 10:00:00"),
        json!("2024-05-01T10:00:00.000000Z"),
        json!("Wed, 01 May 2024 10:00:00 +0000"),
        json!(1_714_557_600),
        json!(1_714_557_600_000_i64),
        json!("1714557600"),
        json!(1_714_557_600.0),
    ] {
        let mut doc: Value = serde_json::from_str(WAZUH).unwrap();
        doc["timestamp"] = ts.clone();
        let got = run(doc.to_string().as_bytes());
        let a = got[0].as_ref().unwrap_or_else(|e| panic!("{ts}: {e}"));
        assert_eq!(a.time.as_second(), 1_714_557_600, "{ts}");
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        "\\PC{0,24}".prop_map(Value::String),
        prop::sample::select(vec![
            "2024-05-01T10:00:00Z",
            "1714557600",
            "10.0.0.1",
            "high",
            "T1059",
            "alert",
            "x"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    let keys = prop::sample::select(vec![
        "rule",
        "level",
        "id",
        "agent",
        "name",
        "timestamp",
        "event_type",
        "alert",
        "signature",
        "class_uid",
        "metadata",
        "finding_info",
        "severity",
        "time",
        "Id",
        "ProductArn",
        "SchemaVersion",
        "detail",
        "type",
        "accountId",
        "src_ip",
        "dest_ip",
        "kibana.alert.rule.name",
        "@timestamp",
        "properties",
        "AlertId",
        "Severity",
        "Title",
        "event",
        "metadata.eventType",
        "device",
        "host",
        "_time",
        "search_name",
        "urgency",
    ]);
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone().prop_map(str::to_owned), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// Any JSON shaped roughly like a vendor alert, read by every adapter forced on it: an alert or a
    /// located error, never a panic.
    #[test]
    fn no_adapter_panics_on_arbitrary_documents(doc in json_value()) {
        let text = doc.to_string();
        for format in SourceFormat::ALL {
            if format == SourceFormat::Generic { continue; }
            let n = Normalizer::new(NormalizerOptions { format: Some(format), ..Default::default() }).unwrap();
            for rec in split(text.as_bytes(), InputKind::Json, "p").into_iter().flatten() {
                if let Err(e) = n.normalize(&rec) {
                    prop_assert!(e.code != ErrorCode::Internal);
                    prop_assert!(!e.message.is_empty());
                }
            }
        }
    }
}
