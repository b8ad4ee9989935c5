use picket_core::{IntelVerdict, ObservableType};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{KEY, assert_no_secret, source};

/// A file object as VirusTotal documents it (trimmed to the fields read).
fn file(malicious: u64, suspicious: u64, harmless: u64) -> serde_json::Value {
    json!({"data": {
        "type": "file",
        "id": "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
        "links": {"self": "https://www.virustotal.com/api/v3/files/275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"},
        "attributes": {
            "first_submission_date": 1148301722, "last_analysis_date": 1763600000,
            "last_analysis_stats": {"malicious": malicious, "suspicious": suspicious, "undetected": 10,
                "harmless": harmless, "timeout": 0, "confirmed-timeout": 0, "failure": 0, "type-unsupported": 2},
            "meaningful_name": "eicar.com", "reputation": 3254, "tags": ["text", "attachment"],
            "type_description": "Text"
        }
    }})
}

#[tokio::test]
async fn files_ips_domains_and_urls_use_their_documented_paths() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(
            "/files/275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
        ))
        .and(header("x-apikey", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(file(62, 0, 0)))
        .mount(&server)
        .await;
    Mock::given(path("/ip_addresses/45.33.32.156"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"type": "ip_address", "id": "45.33.32.156",
            "attributes": {"last_analysis_stats": {"malicious": 1, "suspicious": 0, "harmless": 60, "undetected": 20},
                "country": "US", "as_owner": "Akamai Connected Cloud", "reputation": 0}}})))
        .mount(&server)
        .await;
    Mock::given(path("/domains/example.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"type": "domain", "id": "example.com",
            "attributes": {"creation_date": 808372800, "last_analysis_stats": {"malicious": 0, "suspicious": 0, "harmless": 65, "undetected": 10}}}})))
        .mount(&server)
        .await;
    // urls/{id}: the URL in unpadded URL-safe base64 ("http://x4z9arb.cn/4712").
    Mock::given(path("/urls/aHR0cDovL3g0ejlhcmIuY24vNDcxMg"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {"code": "NotFoundError", "message": "URL \"aHR0cDovL3g0ejlhcmIuY24vNDcxMg\" not found"}})))
        .mount(&server)
        .await;
    let (src, rec, _dir) = source("virustotal", &server, 0, |_| {});
    let c = &src.connector;
    let f = c
        .lookup(
            ObservableType::Sha256,
            "275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F",
        )
        .await
        .unwrap();
    assert_eq!(f.verdict(), IntelVerdict::Malicious);
    assert_eq!(f.highlights["meaningful_name"], "eicar.com");
    assert_eq!(f.first_seen.unwrap().as_second(), 1148301722);
    assert_eq!(
        f.reference.as_deref(),
        Some(
            "https://www.virustotal.com/gui/file/275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
        )
    );
    assert!((f.score.unwrap() - 62.0 / 72.0).abs() < 1e-9);
    let ip = c
        .lookup(ObservableType::Ipv4, "45.33.32.156")
        .await
        .unwrap();
    assert_eq!(
        ip.verdict(),
        IntelVerdict::Suspicious,
        "one engine is not a conviction"
    );
    assert_eq!(ip.highlights["as_owner"], "Akamai Connected Cloud");
    let d = c
        .lookup(ObservableType::Domain, "Example.com")
        .await
        .unwrap();
    assert_eq!(d.verdict(), IntelVerdict::Benign);
    let u = c
        .lookup(ObservableType::Url, "http://x4z9arb.cn/4712")
        .await
        .unwrap();
    assert_eq!(
        u.verdict(),
        IntelVerdict::Unknown,
        "NotFoundError: never seen"
    );
    assert!(
        c.lookup(ObservableType::Cve, "CVE-2021-44228")
            .await
            .is_err()
    );
    assert_eq!(rec.events().len(), 4);
    assert_no_secret(&rec, "");
}

#[tokio::test]
async fn thresholds_are_options() {
    let server = MockServer::start().await;
    Mock::given(path(
        "/files/275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f",
    ))
    .respond_with(ResponseTemplate::new(200).set_body_json(file(2, 0, 0)))
    .mount(&server)
    .await;
    let hash = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";
    let (strict, _r, _d) = source("virustotal", &server, 0, |_| {});
    assert_eq!(
        strict
            .connector
            .lookup(ObservableType::Sha256, hash)
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Suspicious
    );
    let (loose, _r, _d) = source("virustotal", &server, 0, |c| {
        c.options.insert("malicious_min".into(), json!(2));
    });
    assert_eq!(
        loose
            .connector
            .lookup(ObservableType::Sha256, hash)
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Malicious
    );
    let mut bad = picket_enrich::ConnectorConfig::new("v", "virustotal");
    bad.api_key_env = Some("X".into());
    bad.options.insert("malicious_min".into(), json!(0));
    bad.options.insert("bogus".into(), json!(1));
    let keys: Vec<String> = bad.check().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["options.bogus", "options.malicious_min"]);
}
