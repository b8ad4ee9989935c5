//! MISP restSearch and OpenCTI GraphQL.

use picket_core::{IntelVerdict, ObservableType};
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{KEY, assert_no_secret, source};

#[tokio::test]
async fn misp_rest_search_sends_the_documented_body_and_reads_attributes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/attributes/restSearch"))
        .and(header("Authorization", KEY))
        .and(header("Accept", "application/json"))
        .and(body_partial_json(json!({"returnFormat": "json", "value": "45.33.32.156", "includeEventTags": true,
            "type": ["ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain|ip"]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"response": {"Attribute": [
            {"id": "1201", "event_id": "42", "object_id": "0", "category": "Network activity", "type": "ip-dst",
             "to_ids": true, "uuid": "5f3c2b1a-0000-4000-8000-000000000001", "timestamp": "1763600000",
             "distribution": "5", "comment": "C2", "deleted": false, "value": "45.33.32.156",
             "first_seen": null, "last_seen": null,
             "Event": {"org_id": "1", "distribution": "1", "id": "42", "info": "Emotet C2 November", "orgc_id": "1", "uuid": "5f3c2b1a-0000-4000-8000-0000000000aa",
                "Tag": [{"name": "tlp:amber"}]},
             "Tag": [{"id": "7", "name": "kill-chain:Command and Control"}]}
        ]}})))
        .mount(&server)
        .await;
    Mock::given(path("/attributes/restSearch"))
        .and(body_partial_json(json!({"value": "evil-domain.com"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"response": {"Attribute": [
            {"id": "9", "event_id": "7", "type": "domain", "to_ids": false, "value": "evil-domain.com", "timestamp": "1763000000", "Event": {"info": "phishing kit"}},
            {"id": "10", "event_id": "8", "type": "domain", "to_ids": true, "value": "evil-domain.com", "timestamp": "1763000001", "Event": {"info": "oops"}, "Tag": [{"name": "misp:false-positive"}]}
        ]}})))
        .mount(&server)
        .await;
    Mock::given(path("/attributes/restSearch"))
        .and(body_partial_json(json!({"value": "example.com"})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"response": {"Attribute": []}})),
        )
        .mount(&server)
        .await;
    let (src, rec, _dir) = source("misp", &server, 0, |_| {});
    let c = &src.connector;
    let f = c
        .lookup(ObservableType::Ipv4, "45.33.32.156")
        .await
        .unwrap();
    assert_eq!(f.verdict(), IntelVerdict::Malicious);
    assert_eq!(f.highlights["events"], json!(["Emotet C2 November"]));
    assert_eq!(
        f.highlights["tags"],
        json!(["kill-chain:Command and Control", "tlp:amber"])
    );
    assert_eq!(
        f.reference.as_deref(),
        Some(format!("{}/events/view/42", server.uri()).as_str())
    );
    let d = c
        .lookup(ObservableType::Domain, "evil-domain.com")
        .await
        .unwrap();
    assert_eq!(
        d.verdict(),
        IntelVerdict::Suspicious,
        "the to_ids one is a false positive"
    );
    assert_eq!(
        c.lookup(ObservableType::Domain, "example.com")
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Unknown
    );
    assert_no_secret(&rec, "");
}

#[test]
fn misp_needs_an_address_and_refuses_to_skip_tls_checks() {
    let mut c = picket_enrich::ConnectorConfig::new("m", "misp");
    c.api_key_env = Some("MISP_KEY".into());
    c.options.insert("verify_tls".into(), json!(false));
    let keys: Vec<String> = c.check().into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, ["base_url", "options.verify_tls"]);
}

#[tokio::test]
async fn opencti_scores_indicators_and_graphql_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .and(header("Authorization", format!("Bearer {KEY}").as_str()))
        .and(body_partial_json(json!({"variables": {"filters": {"mode": "and", "filters": [{"key": "value", "values": ["45.33.32.156"]}], "filterGroups": []}}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"stixCyberObservables": {"edges": [
            {"node": {"id": "c0ffee00-0000-4000-8000-000000000001", "entity_type": "IPv4-Addr", "observable_value": "45.33.32.156",
             "x_opencti_score": 50, "created_at": "2026-11-01T10:00:00.000Z", "updated_at": "2026-11-20T10:00:00.000Z",
             "objectLabel": [{"value": "c2"}],
             "indicators": {"edges": [{"node": {"id": "i1", "name": "Cobalt Strike C2", "x_opencti_score": 90, "revoked": false, "valid_until": "2027-01-01T00:00:00.000Z"}}]}}}
        ]}}})))
        .mount(&server)
        .await;
    Mock::given(path("/graphql"))
        .and(body_partial_json(
            json!({"variables": {"filters": {"filters": [{"key": "hashes.SHA-256"}]}}}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": {"stixCyberObservables": {"edges": []}}})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/graphql"))
        .and(body_partial_json(json!({"variables": {"filters": {"filters": [{"values": ["expired-token.com"]}]}}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"errors": [{"message": "You must be logged in to do this.", "extensions": {"code": "AUTH_REQUIRED"}}], "data": null})))
        .mount(&server)
        .await;
    Mock::given(path("/graphql"))
        .and(body_partial_json(json!({"variables": {"filters": {"filters": [{"values": ["restricted.com"]}]}}})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"errors": [{"message": "You are not allowed to do this.", "extensions": {"code": "FORBIDDEN_ACCESS"}}], "data": null})))
        .mount(&server)
        .await;
    let (src, rec, _dir) = source("opencti", &server, 0, |_| {});
    let c = &src.connector;
    let f = c
        .lookup(ObservableType::Ipv4, "45.33.32.156")
        .await
        .unwrap();
    assert_eq!(
        f.verdict(),
        IntelVerdict::Malicious,
        "the indicator's score counts"
    );
    assert_eq!(f.highlights["indicators"], json!(["Cobalt Strike C2"]));
    assert_eq!(f.highlights["labels"], json!(["c2"]));
    assert_eq!(f.score, Some(0.9));
    assert_eq!(
        c.lookup(
            ObservableType::Sha256,
            "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c"
        )
        .await
        .unwrap()
        .verdict(),
        IntelVerdict::Unknown
    );
    assert_eq!(
        c.lookup(ObservableType::Domain, "expired-token.com")
            .await
            .unwrap_err()
            .code(),
        "unauthorized"
    );
    assert_eq!(
        c.lookup(ObservableType::Domain, "restricted.com")
            .await
            .unwrap_err()
            .code(),
        "forbidden"
    );
    assert_no_secret(&rec, "");
}
