//! End-to-end extraction tests and properties.

use proptest::prelude::*;
use serde_json::json;

use super::*;
use picket_core::ObservableType as T;

fn ex(s: &str) -> Vec<(T, String)> {
    let mut out = Vec::new();
    Extractor::new().extract_text(s, "text:1", &mut out);
    out.into_iter().map(|o| (o.kind, o.value)).collect()
}

fn has(s: &str, kind: T, v: &str) -> bool {
    ex(s).iter().any(|(k, x)| *k == kind && x == v)
}

#[test]
fn defanged_url_yields_url_and_host() {
    let v = ex("C2 at hxxps://evil[.]example[.]com/gate.php?id=Ab and 203[.]0[.]113[.]7");
    assert!(
        v.contains(&(T::Url, "https://evil.example.com/gate.php?id=Ab".into())),
        "{v:?}"
    );
    assert!(v.contains(&(T::Domain, "evil.example.com".into())));
    assert!(v.contains(&(T::Ipv4, "203.0.113.7".into())));
    assert!(!v.iter().any(|(_, x)| x == "gate.php"));
}

#[test]
fn ip_inside_url_is_reported_once_with_labels() {
    let mut out = Vec::new();
    Extractor::new().extract_text("GET http://10.1.2.3:8080/x then 10.1.2.3", "f", &mut out);
    let ips: Vec<_> = out.iter().filter(|o| o.kind == T::Ipv4).collect();
    assert_eq!(ips.len(), 1);
    assert_eq!(ips[0].labels, ["private"]);
    assert!(has("see [2001:db8::1]:443", T::Ipv6, "2001:db8::1"));
}

#[test]
fn trailing_punctuation_and_quotes() {
    assert!(has("it was example.com.", T::Domain, "example.com"));
    assert!(has("peer (1.2.3.4)", T::Ipv4, "1.2.3.4"));
    assert!(has("[\"evil.com\",", T::Domain, "evil.com"));
    assert!(has("dst 1.2.3.4:443", T::Ipv4, "1.2.3.4"));
}

#[test]
fn versions_paths_and_file_names_are_not_indicators() {
    for s in [
        "1.2.3.4.5",
        "v10.0.19041.1",
        "Windows 10.0.19041.1 build",
        "C:\\Windows\\System32\\svchost.exe",
        "invoice.pdf opened by WINWORD.EXE",
        "cmd.exe /c report.docx",
        "unzip archive.zip; python3 setup.py; ./install.sh",
        "edit README.md and main.rs",
        "/usr/lib/python3.11/site-packages/requests/api.py",
    ] {
        assert!(ex(s).is_empty(), "{s}: {:?}", ex(s));
    }
}

#[test]
fn emails_keep_plus_tags_and_do_not_leak_their_domain() {
    let v = ex("from Alice+Promo@Example.ORG to bob[at]corp[.]example[.]net");
    assert_eq!(
        v,
        [
            (T::Email, "Alice+Promo@example.org".into()),
            (T::Email, "bob@corp.example.net".into())
        ]
    );
}

#[test]
fn hashes_and_cves() {
    let md5 = "44D88612FEA8A8F36DE82E1278ABB02F";
    assert!(has(&format!("md5: {md5}"), T::Md5, &md5.to_lowercase()));
    assert!(ex(&format!("{md5}00")).is_empty());
    assert!(has("exploits cve-2021-44228!", T::Cve, "CVE-2021-44228"));
}

#[test]
fn ipv6_zone_and_embedded_ipv4() {
    assert!(has(
        "link fe80::1ff:fe23:4567:890a%eth2",
        T::Ipv6,
        "fe80::1ff:fe23:4567:890a"
    ));
    let v = ex("client ::ffff:192.0.2.128 connected");
    assert_eq!(v, [(T::Ipv4, "192.0.2.128".into())]);
}

#[test]
fn idn_and_punycode() {
    assert!(has("xn--mnchen-3ya.de", T::Domain, "xn--mnchen-3ya.de"));
    assert!(has("MÜNCHEN.de", T::Domain, "münchen.de"));
}

#[test]
fn document_paths_dedup_and_skip() {
    let doc = json!({
        "agent": {"ip": "10.0.0.5", "name": "web01"},
        "data": {"hosts": ["evil.com", "1.2.3.4"], "zagain": "evil.com"},
        "label": "8.8.8.8",
        "n": 1
    });
    let mut out = Vec::new();
    Extractor::new().extract_document(
        &crate::json::Json::from(&doc),
        &["label".to_owned()],
        &mut out,
    );
    let got: Vec<_> = out
        .iter()
        .map(|o| (o.value.as_str(), o.field.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("10.0.0.5", "agent.ip"),
            ("evil.com", "data.hosts.0"),
            ("1.2.3.4", "data.hosts.1")
        ]
    );
}

#[test]
fn many_distinct_values_dedup_past_the_linear_limit() {
    let text: String = (0..100)
        .map(|i| format!("10.0.{i}.1 10.0.{i}.1 "))
        .collect();
    assert_eq!(ex(&text).len(), 100);
}

#[test]
fn long_fields_are_cut_at_the_limit() {
    let mut s = "a ".repeat(MAX_FIELD_BYTES / 2);
    s.push_str(" evil.com");
    assert!(ex(&s).is_empty());
    assert!(ex(&format!("evil.com {s}")).len() == 1);
}

proptest! {
    #[test]
    fn never_panics(s in "\\PC*") {
        let _ = ex(&s);
    }

    #[test]
    fn never_panics_on_indicator_soup(s in "([a-f0-9.:@/\\[\\]()%_ -]|http|hxxp|dot|cve|xn--|::ffff:|\u{e9}|\u{2013}){0,60}") {
        let _ = ex(&s);
    }

    /// Extracting again from the canonical values, one per line, finds the same set.
    #[test]
    fn idempotent_on_canonical_values(s in "([a-z0-9]{1,8}\\.(com|net|org|zip|py|io|co\\.uk)|(25[0-5]|1?[0-9]{1,2})(\\.(25[0-5]|1?[0-9]{1,2})){3}|[0-9a-f]{32}|[a-z]{1,5}@[a-z]{1,6}\\.com|https?://[a-z]{1,6}\\.org/[a-zA-Z0-9]{0,5}|CVE-20[0-9]{2}-[0-9]{4,6}|[0-9a-f]{1,4}(:[0-9a-f]{1,4}){7}| |, |\\n){0,12}") {
        let first: std::collections::BTreeSet<_> = ex(&s).into_iter().collect();
        let joined: String = first.iter().map(|(_, v)| format!("{v}\n")).collect();
        let second: std::collections::BTreeSet<_> = ex(&joined).into_iter().collect();
        prop_assert_eq!(first, second);
    }

    #[test]
    fn refang_of_defanged_is_identity(x in "(https?://)?[a-wyz0-9]{1,10}(\\.[a-wyz0-9]{1,8}){1,3}(/[a-wyzA-WYZ0-9_]{0,8})?") {
        let e = Extractor::new();
        prop_assert_eq!(e.refang(&refang::defang(&x)).into_owned(), x);
    }
}

#[test]
fn identifier_fields_are_not_read_as_hashes() {
    let doc = serde_json::json!({
        "agent_id": "a7ba3c5f8e0d4f6b9c1d2e3f4a5b6c7d",
        "device": {"AlertId": "0123456789abcdef0123456789abcdef"},
        "ids": ["fedcba9876543210fedcba9876543210"],
        "uuid": "0123456789abcdef0123456789abcdee",
        "file": {"md5": "44d88612fea8a8f36de82e1278abb02f"},
        "note": "sample 275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f seen",
        "valid": "0123456789abcdef0123456789abcdea"
    });
    let mut out = Vec::new();
    Extractor::new().extract_document(&crate::json::Json::from(&doc), &[], &mut out);
    let hashes: Vec<(&str, &str)> = out
        .iter()
        .filter(|o| o.kind.is_hash())
        .map(|o| (o.field.as_str(), o.value.as_str()))
        .collect();
    assert_eq!(
        hashes,
        vec![
            ("file.md5", "44d88612fea8a8f36de82e1278abb02f"),
            (
                "note",
                "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
            ),
            ("valid", "0123456789abcdef0123456789abcdea"),
        ]
    );
}

#[test]
fn timestamps_are_skipped_but_addresses_next_to_them_are_not() {
    let mut out = Vec::new();
    let ex = Extractor::new();
    for ts in [
        "2023-05-22T10:40:43.395+0000",
        "2017-04-07 22:24:37.251547",
        "2024-05-01",
    ] {
        ex.extract_text(ts, "t", &mut out);
    }
    assert!(out.is_empty(), "{out:?}");
    ex.extract_text("2023-05-22 10.0.0.1 connected", "t", &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].value, "10.0.0.1");
}
