use picket_core::{IntelVerdict, ObservableType};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{KEY, assert_no_secret, source};

fn general(pulses: usize, validation: serde_json::Value) -> serde_json::Value {
    let p: Vec<_> = (0..pulses)
        .map(|i| json!({"id": format!("p{i}"), "name": format!("Emotet C2 wave {i}"), "tags": ["emotet", "c2"],
            "adversary": if i == 0 { "TA542" } else { "" }, "created": "2026-10-01T10:00:00.000", "modified": "2026-11-20T08:00:00.000"}))
        .collect();
    json!({"indicator": "x", "type_title": "IPv4", "validation": validation,
        "pulse_info": {"count": pulses, "pulses": p, "references": [], "related": {}}})
}

#[tokio::test]
async fn pulse_counts_decide_and_sections_follow_the_type() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/indicators/IPv4/45.33.32.156/general"))
        .and(header("X-OTX-API-KEY", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(general(4, json!([]))))
        .mount(&server)
        .await;
    Mock::given(path("/api/v1/indicators/domain/google.com/general"))
        .respond_with(ResponseTemplate::new(200).set_body_json(general(0, json!([{"source": "majestic", "message": "Whitelisted domain google.com", "name": "Whitelisted domain"}]))))
        .mount(&server)
        .await;
    Mock::given(path(
        "/api/v1/indicators/file/d41d8cd98f00b204e9800998ecf8427e/general",
    ))
    .respond_with(ResponseTemplate::new(200).set_body_json(general(1, json!([]))))
    .mount(&server)
    .await;
    Mock::given(path(
        "/api/v1/indicators/url/http://x4z9arb.cn/4712/general",
    ))
    .respond_with(ResponseTemplate::new(404))
    .mount(&server)
    .await;
    let (src, rec, _dir) = source("otx", &server, 0, |_| {});
    let c = &src.connector;
    let m = c
        .lookup(ObservableType::Ipv4, "45.33.32.156")
        .await
        .unwrap();
    assert_eq!(m.verdict(), IntelVerdict::Malicious);
    assert_eq!(m.highlights["pulse_count"], 4);
    assert_eq!(m.highlights["adversaries"], json!(["TA542"]));
    assert_eq!(m.last_seen.unwrap().to_string(), "2026-11-20T08:00:00Z");
    assert_eq!(
        c.lookup(ObservableType::Domain, "google.com")
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Benign
    );
    assert_eq!(
        c.lookup(ObservableType::Md5, "d41d8cd98f00b204e9800998ecf8427e")
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Suspicious
    );
    assert_eq!(
        c.lookup(ObservableType::Url, "http://x4z9arb.cn/4712")
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Unknown
    );
    assert_no_secret(&rec, "");
}

#[tokio::test]
async fn a_rejected_value_is_an_http_error() {
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/indicators/IPv4/999.1.1.1/general"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"detail": "Invalid IPv4 address"})),
        )
        .mount(&server)
        .await;
    let (src, _rec, _dir) = source("otx", &server, 0, |_| {});
    let e = src
        .connector
        .lookup(ObservableType::Ipv4, "999.1.1.1")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "http_error");
    assert!(e.to_string().contains("Invalid IPv4"));
}
