use std::path::PathBuf;

use super::*;
use ObservableType as T;

fn shared() -> PathBuf {
    std::env::var_os("PICKET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"))
        })
        .join("misp-warninglists")
}

fn real() -> &'static Warninglists {
    static WL: std::sync::OnceLock<Warninglists> = std::sync::OnceLock::new();
    WL.get_or_init(|| {
        let (wl, problems) = Warninglists::load_dir(&shared()).expect("shared lists load");
        for p in &problems {
            eprintln!("problem: {p}");
        }
        wl
    })
}

fn synth(lists: &[serde_json::Value]) -> (Warninglists, Vec<LoadProblem>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    for (i, l) in lists.iter().enumerate() {
        let d = dir.path().join("lists").join(format!("l{i}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("list.json"), l.to_string()).unwrap();
    }
    let (wl, p) = Warninglists::load_dir(dir.path()).unwrap();
    (wl, p, dir)
}

fn list(name: &str, kind: &str, entries: &[&str], attrs: &[&str]) -> serde_json::Value {
    serde_json::json!({"name": name, "type": kind, "list": entries, "matching_attributes": attrs,
        "description": "t", "version": 1})
}

#[test]
fn real_lists_load_with_few_problems() {
    let wl = real();
    assert!(wl.len() > 100, "{}", wl.len());
    let (_, problems) = Warninglists::load_dir(&shared()).unwrap();
    // The phone-number regexes use PHP's invalid `g` modifier; nothing else should fail.
    for p in &problems {
        assert!(p.path.to_string_lossy().contains("phone_numbers"), "{p}");
    }
}

#[test]
fn real_lists_known_values() {
    let wl = real();
    let dns = wl.hits(T::Ipv4, "8.8.8.8");
    assert!(
        dns.contains(&"List of known IPv4 public DNS resolvers"),
        "{dns:?}"
    );
    let priv_ = wl.hits(T::Ipv4, "10.1.2.3");
    assert!(priv_.contains(&"List of RFC 1918 CIDR blocks"), "{priv_:?}");
    let g = wl.hits(T::Domain, "google.com");
    assert!(
        g.contains(&"Top 1000 websites from Cisco Umbrella"),
        "{g:?}"
    );
    assert!(g.contains(&"Top 1000 website from Alexa"), "{g:?}");
    let sub = wl.hits(T::Domain, "sub.google.com");
    assert!(sub.contains(&"Top 1000 website from Alexa"), "{sub:?}");
    assert!(
        sub.contains(&"Top 10K most-used sites from Tranco"),
        "{sub:?}"
    );
    assert!(
        wl.hits(T::Url, "https://mail.google.com/x")
            .contains(&"Top 1000 website from Alexa")
    );
    assert!(wl.hits(T::Domain, "qzvbxkq-picket-test.com").is_empty());
    let v6 = wl.hits(T::Ipv6, "fe80::1");
    assert!(v6.contains(&"List of IPv6 link local blocks"), "{v6:?}");
    let empty = wl.hits(T::Md5, "d41d8cd98f00b204e9800998ecf8427e");
    assert!(
        empty.contains(&"List of known hashes for empty files"),
        "{empty:?}"
    );
    assert!(
        wl.hits(T::Email, "abuse@example.com")
            .contains(&"Common contact e-mail addresses")
    );
    // A hash list does not apply to domains.
    assert!(
        wl.hits(T::Domain, "d41d8cd98f00b204e9800998ecf8427e")
            .is_empty()
    );
}

#[test]
fn cidr_semantics() {
    let (wl, p, _d) = synth(&[
        list(
            "nets",
            "cidr",
            &[
                "10.0.0.0/8",
                "192.0.2.7",
                "2001:db8::/32",
                "bogus",
                "1.2.3.0/33",
            ],
            &["ip-src"],
        ),
        list("other", "cidr", &["10.0.0.0/16"], &["ip-dst|port"]),
    ]);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].reason.contains("2 invalid CIDR entries"));
    assert_eq!(wl.hits(T::Ipv4, "10.255.0.1"), ["nets"]);
    assert_eq!(wl.hits(T::Ipv4, "10.0.3.4"), ["nets", "other"]);
    assert_eq!(wl.hits(T::Ipv4, "192.0.2.7"), ["nets"]);
    assert!(wl.hits(T::Ipv4, "192.0.2.8").is_empty());
    assert_eq!(wl.hits(T::Ipv6, "2001:db8:1::5"), ["nets"]);
    // A network value hits when wholly inside one entry.
    assert_eq!(wl.hits(T::Ipv4, "10.1.0.0/16"), ["nets"]);
    assert!(wl.hits(T::Ipv4, "10.0.0.0/7").is_empty());
    // Lists apply only to the types in matching_attributes.
    assert!(wl.hits(T::Domain, "10.0.0.1").is_empty());
}

#[test]
fn hostname_semantics() {
    let (wl, _, _d) = synth(&[list(
        "hosts",
        "hostname",
        &[".Example.com.", "co.uk"],
        &["hostname", "url"],
    )]);
    assert_eq!(wl.hits(T::Domain, "example.com"), ["hosts"]);
    assert_eq!(wl.hits(T::Domain, "a.b.EXAMPLE.com"), ["hosts"]);
    assert_eq!(wl.hits(T::Domain, "example.com."), ["hosts"]);
    assert!(wl.hits(T::Domain, "notexample.com").is_empty());
    assert_eq!(
        wl.hits(T::Url, "http://user@www.example.com:8080/x"),
        ["hosts"]
    );
    assert_eq!(wl.hits(T::Domain, "shop.co.uk"), ["hosts"]);
    // No e-mail type in matching_attributes.
    assert!(wl.hits(T::Email, "bob@example.com").is_empty());
    let (wl, _, _d) = synth(&[list("all", "hostname", &["example.com"], &[])]);
    assert_eq!(wl.hits(T::Email, "bob@mail.example.com"), ["all"]);
}

#[test]
fn string_substring_and_regex_semantics() {
    let (wl, p, _d) = synth(&[
        list(
            "exact",
            "string",
            &["Evil.COM", "d41d8cd98f00b204e9800998ecf8427e"],
            &["domain", "md5"],
        ),
        list("sub", "substring", &["mailinator"], &["email-src"]),
        list(
            "re",
            "regex",
            &["/^(abuse|noc)\\@.*$/i", "/x/g", "/(unclosed/"],
            &["email-dst"],
        ),
        serde_json::json!({"name": "commented", "type": "string", "list": {"a.example": "why"}, "description": "", "version": 1}),
        serde_json::json!({"type": "string", "list": ["x"]}),
        serde_json::json!({"name": "bad", "type": "fuzzy", "list": ["x"]}),
    ]);
    let reasons: Vec<_> = p.iter().map(|x| x.reason.as_str()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("unknown modifier `g`")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("2 of 3 regex entries")),
        "{reasons:?}"
    );
    assert!(reasons.contains(&"no `name`"));
    assert!(reasons.contains(&"unknown list type `fuzzy`"));
    assert_eq!(wl.hits(T::Domain, "evil.com"), ["exact"]);
    assert!(wl.hits(T::Domain, "sub.evil.com").is_empty());
    assert_eq!(
        wl.hits(T::Md5, "D41D8CD98F00B204E9800998ECF8427E"),
        ["exact"]
    );
    assert_eq!(wl.hits(T::Email, "x@MAILINATOR.com"), ["sub"]);
    assert_eq!(wl.hits(T::Email, "Abuse@corp.example"), ["re"]);
    assert!(wl.hits(T::Email, "bob@corp.example").is_empty());
    // No matching_attributes: every type.
    assert_eq!(wl.hits(T::Url, "a.example"), ["commented"]);
}

#[test]
fn annotate_fills_benign_lists() {
    let (wl, _, _d) = synth(&[list(
        "rfc1918",
        "cidr",
        &["10.0.0.0/8"],
        &["ip-src", "ip-dst"],
    )]);
    let mut obs = vec![
        Observable::new(T::Ipv4, "10.0.0.1", "a"),
        Observable::new(T::Ipv4, "8.8.8.8", "b"),
    ];
    wl.annotate(&mut obs);
    assert_eq!(obs[0].benign_lists, ["rfc1918"]);
    assert!(obs[1].benign_lists.is_empty());
}

#[test]
fn missing_directory_is_an_error() {
    assert!(Warninglists::load_dir(Path::new("/nonexistent/picket")).is_err());
    let d = tempfile::tempdir().unwrap();
    assert!(matches!(
        Warninglists::load_dir(d.path()),
        Err(Error::Empty { .. })
    ));
}
