use picket_core::{IntelVerdict, ObservableType};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{KEY, assert_no_secret, source};

#[tokio::test]
async fn community_answers_map_to_verdicts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/community/45.83.66.45"))
        .and(header("key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ip": "45.83.66.45", "noise": true, "riot": false, "classification": "malicious",
            "name": "unknown", "link": "https://viz.greynoise.io/ip/45.83.66.45",
            "last_seen": "2026-11-22", "message": "Success"})))
        .mount(&server)
        .await;
    Mock::given(path("/v3/community/8.8.8.8"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ip": "8.8.8.8", "noise": false, "riot": true, "classification": "benign",
            "name": "Google Public DNS", "link": "https://viz.greynoise.io/riot/8.8.8.8",
            "last_seen": "2026-11-22", "message": "Success"})))
        .mount(&server)
        .await;
    Mock::given(path("/v3/community/203.0.113.50"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "ip": "203.0.113.50", "noise": false, "riot": false,
            "message": "IP not observed scanning the internet or contained in RIOT data set."})))
        .mount(&server)
        .await;
    let (src, rec, _dir) = source("greynoise", &server, 0, |_| {});
    let c = &src.connector;
    let m = c.lookup(ObservableType::Ipv4, "45.83.66.45").await.unwrap();
    assert_eq!(m.verdict(), IntelVerdict::Malicious);
    assert_eq!(
        m.reference.as_deref(),
        Some("https://viz.greynoise.io/ip/45.83.66.45")
    );
    assert_eq!(m.last_seen.unwrap().to_string(), "2026-11-22T00:00:00Z");
    let b = c.lookup(ObservableType::Ipv4, "8.8.8.8").await.unwrap();
    assert_eq!(b.verdict(), IntelVerdict::Benign);
    assert_eq!(b.highlights["name"], "Google Public DNS");
    assert_eq!(
        c.lookup(ObservableType::Ipv4, "203.0.113.50")
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Unknown
    );
    assert!(c.lookup(ObservableType::Ipv6, "2001:db8::1").await.is_err());
    assert_no_secret(&rec, "");
}

#[tokio::test]
async fn works_without_a_key() {
    let server = MockServer::start().await;
    Mock::given(path("/v3/community/45.83.66.45"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"ip": "45.83.66.45", "noise": true, "riot": false, "classification": "unknown", "message": "Success"})))
        .mount(&server)
        .await;
    let (src, _rec, _dir) = source("greynoise", &server, 0, |c| c.api_key_file = None);
    let f = src
        .connector
        .lookup(ObservableType::Ipv4, "45.83.66.45")
        .await
        .unwrap();
    assert_eq!(
        f.verdict(),
        IntelVerdict::Unknown,
        "noise of unknown intent"
    );
    assert_eq!(f.highlights["noise"], true);
    let req = &server.received_requests().await.unwrap()[0];
    assert!(req.headers.get("key").is_none());
}
