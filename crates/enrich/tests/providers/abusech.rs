//! URLhaus and ThreatFox (abuse.ch).

use picket_core::{IntelVerdict, ObservableType};
use serde_json::json;
use wiremock::matchers::{body_partial_json, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{KEY, assert_no_secret, source};

#[tokio::test]
async fn urlhaus_urls_hosts_and_payloads() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/url/"))
        .and(header("Auth-Key", KEY))
        .and(body_string_contains("url=http%3A%2F%2Fx4z9arb.cn%2F4712"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "query_status": "ok", "id": "105821", "urlhaus_reference": "https://urlhaus.abuse.ch/url/105821/",
            "url": "http://x4z9arb.cn/4712", "url_status": "offline", "host": "x4z9arb.cn",
            "date_added": "2026-11-19 09:14:07 UTC", "last_online": "2026-11-20 10:00:00 UTC", "threat": "malware_download",
            "blacklists": {"spamhaus_dbl": "abused_legit_malware", "surbl": "not listed"},
            "reporter": "abuse_ch", "larted": "true", "tags": ["elf", "mozi"], "payloads": []})))
        .mount(&server)
        .await;
    Mock::given(path("/v1/host/"))
        .and(body_string_contains("host=example.com"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"query_status": "no_results"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/v1/host/"))
        .and(body_string_contains("host=45.33.32.156"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "query_status": "ok", "urlhaus_reference": "https://urlhaus.abuse.ch/host/45.33.32.156/",
            "host": "45.33.32.156", "firstseen": "2026-10-01 00:00:00 UTC", "url_count": "12", "urls_online": "3",
            "blacklists": {"spamhaus_dbl": "not listed", "surbl": "not listed"}, "urls": []})))
        .mount(&server)
        .await;
    Mock::given(path("/v1/payload/"))
        .and(body_string_contains("md5_hash=d41d8cd98f00b204e9800998ecf8427e"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"query_status": "ok", "md5_hash": "d41d8cd98f00b204e9800998ecf8427e",
            "file_type": "exe", "signature": "AgentTesla", "firstseen": "2026-11-01 12:00:00", "lastseen": null, "url_count": "2"})))
        .mount(&server)
        .await;
    Mock::given(path("/v1/url/"))
        .and(body_string_contains("url=notaurl"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"query_status": "invalid_url"})),
        )
        .mount(&server)
        .await;
    let (src, rec, _dir) = source("urlhaus", &server, 0, |_| {});
    let c = &src.connector;
    let u = c
        .lookup(ObservableType::Url, "http://x4z9arb.cn/4712")
        .await
        .unwrap();
    assert_eq!(u.verdict(), IntelVerdict::Malicious);
    assert_eq!(u.highlights["threat"], "malware_download");
    assert_eq!(u.first_seen.unwrap().to_string(), "2026-11-19T09:14:07Z");
    assert_eq!(
        u.reference.as_deref(),
        Some("https://urlhaus.abuse.ch/url/105821/")
    );
    assert_eq!(
        c.lookup(ObservableType::Domain, "example.com")
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Unknown
    );
    let h = c
        .lookup(ObservableType::Ipv4, "45.33.32.156")
        .await
        .unwrap();
    assert_eq!(h.verdict(), IntelVerdict::Malicious);
    assert_eq!(h.highlights["url_count"], "12");
    let p = c
        .lookup(ObservableType::Md5, "d41d8cd98f00b204e9800998ecf8427e")
        .await
        .unwrap();
    assert_eq!(p.highlights["signature"], "AgentTesla");
    let e = c.lookup(ObservableType::Url, "notaurl").await.unwrap_err();
    assert!(e.to_string().contains("invalid_url"), "{e}");
    assert_no_secret(&rec, &e.to_string());
}

#[tokio::test]
async fn threatfox_iocs_with_confidence_and_ip_port_matching() {
    let server = MockServer::start().await;
    let ioc = |ioc: &str, conf: u64| {
        json!({"id": "1264368", "ioc": ioc, "threat_type": "botnet_cc", "threat_type_desc": "Indicator that identifies a botnet command&control server (C&C)",
            "ioc_type": "ip:port", "malware": "win.cobalt_strike", "malware_printable": "Cobalt Strike", "confidence_level": conf,
            "first_seen": "2026-11-18 06:21:09 UTC", "last_seen": null, "reference": null, "reporter": "abuse_ch", "tags": ["CobaltStrike"]})
    };
    Mock::given(method("POST"))
        .and(path("/api/v1/"))
        .and(header("Auth-Key", KEY))
        .and(body_partial_json(
            json!({"query": "search_ioc", "search_term": "45.33.32.156"}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"query_status": "ok", "data": [ioc("45.33.32.156:443", 100)]}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(body_partial_json(
        json!({"query": "search_ioc", "search_term": "evil-domain.com"}),
    ))
    .respond_with(
        ResponseTemplate::new(200)
            .set_body_json(json!({"query_status": "ok", "data": [ioc("evil-domain.com", 50)]})),
    )
    .mount(&server)
    .await;
    Mock::given(body_partial_json(
        json!({"query": "search_hash", "hash": "d41d8cd98f00b204e9800998ecf8427e"}),
    ))
    .respond_with(ResponseTemplate::new(200).set_body_json(
        json!({"query_status": "no_result", "data": "Your search did not yield any results"}),
    ))
    .mount(&server)
    .await;
    Mock::given(body_partial_json(json!({"search_term": "x"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"query_status": "illegal_search_term", "data": "The search term you have provided is not valid"})))
        .mount(&server)
        .await;
    let (src, _rec, _dir) = source("threatfox", &server, 0, |_| {});
    let c = &src.connector;
    let ip = c
        .lookup(ObservableType::Ipv4, "45.33.32.156")
        .await
        .unwrap();
    assert_eq!(
        ip.verdict(),
        IntelVerdict::Malicious,
        "ip:port IOCs match the address"
    );
    assert_eq!(ip.highlights["malware_printable"], "Cobalt Strike");
    assert_eq!(ip.score, Some(1.0));
    assert_eq!(
        ip.reference.as_deref(),
        Some("https://threatfox.abuse.ch/ioc/1264368/")
    );
    assert_eq!(
        c.lookup(ObservableType::Domain, "evil-domain.com")
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Suspicious,
        "below the confidence bar"
    );
    assert_eq!(
        c.lookup(ObservableType::Md5, "d41d8cd98f00b204e9800998ecf8427e")
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Unknown
    );
    let e = c.lookup(ObservableType::Domain, "x").await.unwrap_err();
    assert!(e.to_string().contains("illegal_search_term"), "{e}");
}
