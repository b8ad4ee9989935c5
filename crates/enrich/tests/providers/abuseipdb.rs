use std::time::Duration;

use picket_core::{IntelVerdict, ObservableType};
use picket_enrich::ConnectorError;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{KEY, assert_no_secret, source};

/// The documented example response of GET /api/v2/check.
fn documented(score: u8, whitelisted: bool, reports: u64) -> serde_json::Value {
    json!({"data": {
        "ipAddress": "118.25.6.39", "isPublic": true, "ipVersion": 4,
        "isWhitelisted": whitelisted, "abuseConfidenceScore": score, "countryCode": "CN",
        "usageType": "Data Center/Web Hosting/Transit", "isp": "Tencent Cloud Computing (Beijing) Co. Ltd",
        "domain": "tencent.com", "hostnames": [], "isTor": false, "totalReports": reports,
        "numDistinctUsers": 1, "lastReportedAt": "2018-12-20T20:55:14+00:00"
    }})
}

#[tokio::test]
async fn check_maps_score_to_verdict_and_sends_the_documented_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/check"))
        .and(query_param("ipAddress", "118.25.6.39"))
        .and(query_param("maxAgeInDays", "90"))
        .and(header("Key", KEY))
        .and(header("Accept", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(documented(100, false, 1)))
        .expect(1)
        .mount(&server)
        .await;
    let (src, rec, _dir) = source("abuseipdb", &server, 0, |_| {});
    let f = src
        .connector
        .lookup(ObservableType::Ipv4, "118.25.6.39")
        .await
        .unwrap();
    assert_eq!(f.verdict(), IntelVerdict::Malicious);
    assert_eq!(f.score, Some(1.0));
    assert_eq!(f.highlights["countryCode"], "CN");
    assert_eq!(f.last_seen.unwrap().to_string(), "2018-12-20T20:55:14Z");
    let ev = rec.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].outcome, "ok");
    assert!(!ev[0].url.contains('?'), "query strings are not recorded");
    assert_no_secret(&rec, "");
}

#[tokio::test]
async fn whitelisted_is_benign_and_unreported_is_unknown() {
    let server = MockServer::start().await;
    Mock::given(path("/check"))
        .and(query_param("ipAddress", "8.8.8.8"))
        .respond_with(ResponseTemplate::new(200).set_body_json(documented(0, true, 0)))
        .mount(&server)
        .await;
    Mock::given(path("/check"))
        .and(query_param("ipAddress", "203.0.113.7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(documented(0, false, 0)))
        .mount(&server)
        .await;
    let (src, _rec, _dir) = source("abuseipdb", &server, 0, |_| {});
    let c = &src.connector;
    assert_eq!(
        c.lookup(ObservableType::Ipv4, "8.8.8.8")
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Benign
    );
    assert_eq!(
        c.lookup(ObservableType::Ipv4, "203.0.113.7")
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Unknown
    );
    assert!(matches!(
        c.lookup(ObservableType::Domain, "example.com").await,
        Err(ConnectorError::Unsupported(_))
    ));
}

#[tokio::test]
async fn documented_errors_map_to_stable_codes() {
    let server = MockServer::start().await;
    let err = |status: u16, detail: &str| {
        ResponseTemplate::new(status)
            .set_body_json(json!({"errors": [{"detail": detail, "status": status}]}))
    };
    Mock::given(query_param("ipAddress", "1.1.1.1"))
        .respond_with(err(
            401,
            "Authentication failed. Your API key is either missing, incorrect, or revoked.",
        ))
        .mount(&server)
        .await;
    Mock::given(query_param("ipAddress", "1.1.1.2"))
        .respond_with(err(422, "The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888)."))
        .mount(&server)
        .await;
    Mock::given(query_param("ipAddress", "1.1.1.3"))
        .respond_with(
            err(
                429,
                "Daily rate limit of 1000 requests exceeded for this endpoint.",
            )
            .insert_header("Retry-After", "3600")
            .insert_header("X-RateLimit-Limit", "1000")
            .insert_header("X-RateLimit-Remaining", "0"),
        )
        .mount(&server)
        .await;
    Mock::given(query_param("ipAddress", "1.1.1.4"))
        .respond_with(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .mount(&server)
        .await;
    Mock::given(query_param("ipAddress", "1.1.1.5"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"data\": {\"ipAddr"))
        .mount(&server)
        .await;
    Mock::given(query_param("ipAddress", "1.1.1.6"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(documented(0, false, 0))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let (src, rec, _dir) = source("abuseipdb", &server, 1, |c| c.timeout_ms = 300);
    let c = &src.connector;
    let code = |r: Result<_, ConnectorError>| r.map(|_| ()).unwrap_err();
    let e = code(c.lookup(ObservableType::Ipv4, "1.1.1.1").await);
    assert_eq!(e.code(), "unauthorized");
    assert_no_secret(&rec, &e.to_string());
    assert_eq!(
        code(c.lookup(ObservableType::Ipv4, "1.1.1.2").await).code(),
        "http_error"
    );
    // Retry-After beyond the policy's limit is not waited for.
    let e = code(c.lookup(ObservableType::Ipv4, "1.1.1.3").await);
    assert_eq!(
        e,
        ConnectorError::RateLimited(Some(Duration::from_secs(3600)))
    );
    assert_eq!(
        code(c.lookup(ObservableType::Ipv4, "1.1.1.4").await).code(),
        "server_error"
    );
    assert_eq!(
        code(c.lookup(ObservableType::Ipv4, "1.1.1.5").await).code(),
        "malformed_response"
    );
    assert_eq!(
        code(c.lookup(ObservableType::Ipv4, "1.1.1.6").await).code(),
        "timeout"
    );
    // 503 and the timeout were retried once (retries = 1); 401, 422, malformed were not.
    let attempts = |ip_outcome: &str| {
        rec.events()
            .iter()
            .filter(|e| e.outcome == ip_outcome)
            .count()
    };
    assert_eq!(attempts("server_error"), 2);
    assert_eq!(attempts("timeout"), 2);
    assert_eq!(attempts("unauthorized"), 1);
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(path("/check"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/check"))
        .respond_with(ResponseTemplate::new(200).set_body_json(documented(50, false, 3)))
        .mount(&server)
        .await;
    let (src, rec, _dir) = source("abuseipdb", &server, 2, |_| {});
    let t = std::time::Instant::now();
    let f = src
        .connector
        .lookup(ObservableType::Ipv4, "118.25.6.39")
        .await
        .unwrap();
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        t.elapsed()
    );
    assert_eq!(f.verdict(), IntelVerdict::Suspicious);
    let outcomes: Vec<_> = rec.events().into_iter().map(|e| e.outcome).collect();
    assert_eq!(outcomes, ["rate_limited", "ok"]);
}
