//! Offline sources: indicator lists and STIX bundles, built through the registry like any connector.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use picket_core::{IntelVerdict, Observable, ObservableType};
use picket_enrich::providers::stix_bundle::pattern_values;
use picket_enrich::{
    Cache, ConnectorConfig, Enricher, EnrichmentConfig, Recorder, Source, build_source,
};

fn shared() -> PathBuf {
    std::env::var_os("PICKET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn offline(provider: &str, dir: &Path, opts: serde_json::Value) -> Result<Source, String> {
    let mut c = ConnectorConfig::new(provider, provider);
    c.options = opts.as_object().unwrap().clone();
    let problems = c.check();
    assert!(problems.is_empty(), "{problems:?}");
    build_source(&c, dir, Arc::new(Recorder::default())).map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_plain_list_refangs_skips_comments_and_matches_networks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("block.txt"),
        "# exported blocklist\nevil-domain[.]com\n45.33.32.156  # c2\n\nhxxps://bad-site[.]net/dl.exe\n203.0.113.0/24\nD41D8CD98F00B204E9800998ECF8427E\n",
    )
    .unwrap();
    let s = offline(
        "indicator_list",
        dir.path(),
        serde_json::json!({"path": "block.txt"}),
    )
    .unwrap();
    let c = &s.connector;
    let v = |k, x: &'static str| async move { c.lookup(k, x).await.unwrap().verdict() };
    assert_eq!(
        v(ObservableType::Domain, "evil-domain.com").await,
        IntelVerdict::Malicious
    );
    assert_eq!(
        v(ObservableType::Ipv4, "45.33.32.156").await,
        IntelVerdict::Malicious
    );
    assert_eq!(
        v(ObservableType::Url, "https://bad-site.net/dl.exe").await,
        IntelVerdict::Malicious
    );
    assert_eq!(
        v(ObservableType::Md5, "d41d8cd98f00b204e9800998ecf8427e").await,
        IntelVerdict::Malicious
    );
    let net = c
        .lookup(ObservableType::Ipv4, "203.0.113.77")
        .await
        .unwrap();
    assert_eq!(net.verdict(), IntelVerdict::Malicious);
    assert_eq!(net.highlights["matched_network"], "203.0.113.0/24");
    assert_eq!(
        v(ObservableType::Domain, "good-domain.com").await,
        IntelVerdict::Unknown
    );
}

#[test]
fn unreadable_list_lines_are_reported_with_their_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("l.txt"),
        "evil-domain.com\nnot an indicator\n1.2.3.4 5.6.7.8\n",
    )
    .unwrap();
    let err = offline(
        "indicator_list",
        dir.path(),
        serde_json::json!({"path": "l.txt"}),
    )
    .err()
    .unwrap();
    assert!(err.contains("l.txt:2:"), "{err}");
    assert!(err.contains("l.txt:3:"), "{err}");
    let missing = offline(
        "indicator_list",
        dir.path(),
        serde_json::json!({"path": "nope.txt"}),
    )
    .err()
    .unwrap();
    assert!(missing.contains("nope.txt"), "{missing}");
}

#[tokio::test]
async fn a_csv_list_reads_its_columns() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("iocs.csv"),
        "indicator,verdict,note\n45.33.32.156,suspicious,scanner\nupdates.example.com,benign,vendor CDN\nbad-host.net,,\n",
    )
    .unwrap();
    let s = offline(
        "indicator_list",
        dir.path(),
        serde_json::json!({"path": "iocs.csv", "column": "indicator", "verdict_column": "verdict", "comment_column": "note"}),
    )
    .unwrap();
    let f = s
        .connector
        .lookup(ObservableType::Ipv4, "45.33.32.156")
        .await
        .unwrap();
    assert_eq!(f.verdict(), IntelVerdict::Suspicious);
    assert_eq!(f.highlights["comment"], "scanner");
    let b = s
        .connector
        .lookup(ObservableType::Domain, "updates.example.com")
        .await
        .unwrap();
    assert_eq!(b.verdict(), IntelVerdict::Benign);
    let d = s
        .connector
        .lookup(ObservableType::Domain, "bad-host.net")
        .await
        .unwrap();
    assert_eq!(
        d.verdict(),
        IntelVerdict::Malicious,
        "the list's default verdict"
    );
}

#[test]
fn stix_patterns_yield_their_values() {
    let (v, u) = pattern_values(
        "[domain-name:value = 'www.webserver.dynssl.com' OR ipv4-addr:value = '113.10.246.30'] AND [file:hashes.'SHA-256' = 'AB'] AND [url:value = 'http://x.example/it\\'s']",
    );
    assert_eq!(
        v,
        vec![
            (ObservableType::Domain, "www.webserver.dynssl.com".into()),
            (ObservableType::Ipv4, "113.10.246.30".into()),
            (ObservableType::Sha256, "AB".into()),
            (ObservableType::Url, "http://x.example/it's".into()),
        ]
    );
    assert_eq!(u, 0);
    let (v, u) = pattern_values("[email-message:subject MATCHES '^[IMPORTANT] Please']");
    assert!(v.is_empty());
    assert_eq!(u, 1);
    // Nonsense never panics.
    for p in ["", "[", "[ipv4-addr:value = '", "]]]'''", "[x:y = 'z' AND"] {
        let _ = pattern_values(p);
    }
}

#[tokio::test]
async fn the_oasis_threat_reports_answer_through_the_enricher() {
    let data = shared().join("stix");
    let apt1 = offline(
        "stix_bundle",
        &data,
        serde_json::json!({"path": "threat-reports/apt1.json"}),
    )
    .unwrap();
    let health = apt1.connector.healthcheck().await.unwrap();
    assert!(health.starts_with("12 indicators"), "{health}");
    // APT1 lists networks: an address inside 223.166.0.0/15 is malicious.
    let f = apt1
        .connector
        .lookup(ObservableType::Ipv4, "223.167.1.1")
        .await
        .unwrap();
    assert_eq!(f.verdict(), IntelVerdict::Malicious);
    assert_eq!(f.highlights["matched_network"], "223.166.0.0/15");

    let coa = offline(
        "stix_bundle",
        &data,
        serde_json::json!({"path": "indicators-for-C2-with-COA.json"}),
    )
    .unwrap();
    let e = Enricher::new(
        vec![apt1, coa],
        EnrichmentConfig::default(),
        Arc::new(Cache::new(100, None)),
    );
    // 10.0.0.0 is private: online providers would not see it, offline sources do.
    let mut private = Observable::new(ObservableType::Ipv4, "10.0.0.0", "f");
    private.labels.push("private".into());
    let hash = Observable::new(
        ObservableType::Sha256,
        "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c",
        "f",
    );
    let out = e.enrich("alert:x", &[private, hash]).await;
    assert!(!out.partial);
    assert_eq!(out.summary.malicious, 2, "{out:#?}");
    let r = &out.indicators[1].results;
    assert!(
        r.iter()
            .any(|r| r.source == "stix_bundle" && r.highlights.contains_key("stix_id"))
    );
}

#[test]
fn a_bad_bundle_is_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("b.json"),
        r#"{"type":"bundle","objects":[{"type":"indicator","id":"indicator--1"}]}"#,
    )
    .unwrap();
    let err = offline(
        "stix_bundle",
        dir.path(),
        serde_json::json!({"path": "b.json"}),
    )
    .err()
    .unwrap();
    assert!(err.contains("objects[0] (indicator--1)"), "{err}");
    std::fs::write(dir.path().join("n.json"), "{\"type\": \"report\"}").unwrap();
    let err = offline(
        "stix_bundle",
        dir.path(),
        serde_json::json!({"path": "n.json"}),
    )
    .err()
    .unwrap();
    assert!(err.contains("not a STIX bundle"), "{err}");
}

#[tokio::test]
async fn maxmind_databases_give_geo_and_asn_context_never_a_verdict() {
    let data = shared().join("maxmind-test");
    let s = offline(
        "mmdb",
        &data,
        serde_json::json!({"path": "GeoIP2-City-Test.mmdb", "databases": ["GeoLite2-ASN-Test.mmdb"]}),
    )
    .unwrap();
    let f = s
        .connector
        .lookup(ObservableType::Ipv4, "81.2.69.160")
        .await
        .unwrap();
    assert_eq!(f.verdict(), IntelVerdict::Unknown);
    assert_eq!(f.highlights["country"], "GB");
    assert_eq!(f.highlights["city"], "London");
    let a = s
        .connector
        .lookup(ObservableType::Ipv4, "1.128.0.0")
        .await
        .unwrap();
    assert_eq!(a.highlights["asn"], 1221);
    assert_eq!(a.highlights["as_org"], "Telstra Pty Ltd");
    let none = s
        .connector
        .lookup(ObservableType::Ipv4, "10.0.0.1")
        .await
        .unwrap();
    assert!(!none.highlights.contains_key("country"));
    assert!(
        s.connector
            .healthcheck()
            .await
            .unwrap()
            .contains("GeoIP2-City")
    );
    let err = offline("mmdb", &data, serde_json::json!({"path": "nope.mmdb"}))
        .err()
        .unwrap();
    assert!(err.contains("nope.mmdb"), "{err}");
}

#[tokio::test]
async fn a_misp_feed_directory_is_indexed_from_its_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed");
    std::fs::create_dir(&feed).unwrap();
    let uuid = "5f3c2b1a-0000-4000-8000-00000000beef";
    std::fs::write(
        feed.join("manifest.json"),
        serde_json::json!({uuid: {"info": "Emotet C2", "date": "2026-11-01", "threat_level_id": "1", "analysis": "2", "timestamp": "1793000000"}}).to_string(),
    )
    .unwrap();
    std::fs::write(
        feed.join(format!("{uuid}.json")),
        serde_json::json!({"Event": {
            "uuid": uuid, "info": "Emotet C2", "date": "2026-11-01", "threat_level_id": "1",
            "Tag": [{"name": "tlp:green"}],
            "Attribute": [
                {"type": "ip-dst|port", "category": "Network activity", "value": "45.33.32.156|8080", "to_ids": true, "timestamp": "1793000000"},
                {"type": "domain", "category": "Network activity", "value": "Evil-Domain.com", "to_ids": false, "comment": "sinkholed?"},
                {"type": "text", "category": "Other", "value": "just a note", "to_ids": false},
                {"type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e", "to_ids": true, "Tag": [{"name": "misp:false-positive"}]}
            ],
            "Object": [{"name": "file", "Attribute": [
                {"type": "sha256", "category": "Payload delivery", "value": "EF537F25C895BFA782526529A9B63D97AA631564D5D789C2B765448C8635FB6C", "to_ids": true}
            ]}]
        }})
        .to_string(),
    )
    .unwrap();
    let s = offline("misp_feed", dir.path(), serde_json::json!({"path": "feed"})).unwrap();
    let c = &s.connector;
    let ip = c
        .lookup(ObservableType::Ipv4, "45.33.32.156")
        .await
        .unwrap();
    assert_eq!(ip.verdict(), IntelVerdict::Malicious);
    assert_eq!(ip.highlights["event_info"], "Emotet C2");
    assert_eq!(ip.highlights["tags"], serde_json::json!(["tlp:green"]));
    assert_eq!(
        c.lookup(ObservableType::Domain, "evil-domain.com")
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Suspicious,
        "to_ids false"
    );
    assert_eq!(
        c.lookup(
            ObservableType::Sha256,
            "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"
        )
        .await
        .unwrap()
        .verdict(),
        IntelVerdict::Malicious,
        "object attributes count"
    );
    assert_eq!(
        c.lookup(ObservableType::Md5, "d41d8cd98f00b204e9800998ecf8427e")
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Unknown,
        "false positives are skipped"
    );
    let h = c.healthcheck().await.unwrap();
    assert_eq!(
        h,
        "1 events, 3 values (1 unsupported, 1 false positives skipped)"
    );
    std::fs::write(
        feed.join(format!("{uuid}.json")),
        "{\"Event\": {\"Attribute\": [{\"type\": 5}]}}",
    )
    .unwrap();
    let err = offline("misp_feed", dir.path(), serde_json::json!({"path": "feed"}))
        .err()
        .unwrap();
    assert!(err.contains("attribute 0"), "{err}");
}
