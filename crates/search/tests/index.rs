//! The incident index through its public API.

mod common;

use std::sync::Arc;

use common::{incident, incident_from};
use picket_search::{Hit, IncidentIndex, MAX_QUERY_TERMS, SearchError};

const HASH_A: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const HASH_B: &str = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";

fn ids(hits: &[Hit]) -> Vec<&str> {
    hits.iter().map(|h| h.incident_id.as_str()).collect()
}

fn index_with(incidents: &[picket_core::Incident]) -> IncidentIndex {
    let index = IncidentIndex::in_memory().unwrap();
    index.upsert(incidents).unwrap();
    index
}

#[test]
fn similar_finds_the_incidents_sharing_an_ip_a_hash_or_a_technique() {
    let index = index_with(&[
        incident("inc_ip", "Beacon", &["ipv4:203.0.113.7", "host:web01"]),
        incident(
            "inc_hash",
            "Dropper",
            &[&format!("sha256:{HASH_A}"), "host:db02"],
        ),
        incident("inc_tech", "Script", &["technique:T1059.001", "host:app03"]),
        incident(
            "inc_none",
            "Unrelated",
            &["ipv4:198.51.100.9", "host:mail04", "technique:T1110"],
        ),
    ]);
    let q = incident(
        "inc_new",
        "New",
        &[
            "ipv4:203.0.113.7",
            &format!("sha256:{HASH_A}"),
            "technique:T1059.001",
            "host:laptop9",
        ],
    );
    let hits = index.similar(&q, 10).unwrap();
    let mut found = ids(&hits);
    found.sort();
    assert_eq!(found, ["inc_hash", "inc_ip", "inc_tech"]);

    let by_id = |id: &str| hits.iter().find(|h| h.incident_id == id).unwrap();
    assert_eq!(by_id("inc_ip").matched, ["ipv4:203.0.113.7"]);
    assert_eq!(by_id("inc_hash").matched, [format!("sha256:{HASH_A}")]);
    assert_eq!(by_id("inc_tech").matched, ["technique:T1059.001"]);
    // All three values are equally rare: the hash weighs most, the IP and technique alike.
    assert_eq!(hits[0].incident_id, "inc_hash");
    assert!(hits[0].score > hits[1].score);
    assert!(hits.iter().all(|h| h.score > 0.0));

    // Exact: another address in the same /24 is no match, nor a prefix of the hash.
    let near = incident(
        "inc_q2",
        "Near",
        &["ipv4:203.0.113.8", &format!("sha256:{}", &HASH_A[..32])],
    );
    assert!(index.similar(&near, 10).unwrap().is_empty());
}

#[test]
fn more_shared_values_rank_higher() {
    let index = index_with(&[
        incident(
            "inc_one",
            "One",
            &["ipv4:10.1.1.1", "host:web01", "user:bob"],
        ),
        incident(
            "inc_three",
            "Three",
            &[
                "ipv4:10.1.1.1",
                "host:web02",
                "user:alice",
                "rule:sentinel:Brute force",
            ],
        ),
        incident(
            "inc_two",
            "Two",
            &["ipv4:10.1.1.1", "host:web02", "user:carol"],
        ),
        incident(
            "inc_zero",
            "Zero",
            &["ipv4:10.9.9.9", "host:db01", "user:dave"],
        ),
    ]);
    let q = incident(
        "inc_q",
        "Query",
        &[
            "ipv4:10.1.1.1",
            "host:web02",
            "user:alice",
            "rule:sentinel:Brute force",
        ],
    );
    let hits = index.similar(&q, 10).unwrap();
    assert_eq!(ids(&hits), ["inc_three", "inc_two", "inc_one"]);
    assert!(hits[0].score > hits[1].score && hits[1].score > hits[2].score);
    assert_eq!(
        hits[0]
            .matched
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        // Most telling first: rarer and weightier values lead.
        [
            "rule:sentinel:Brute force",
            "user:alice",
            "host:web02",
            "ipv4:10.1.1.1"
        ]
    );
    assert_eq!(hits[1].matched, ["host:web02", "ipv4:10.1.1.1"]);

    // The limit keeps the best.
    assert_eq!(ids(&index.similar(&q, 1).unwrap()), ["inc_three"]);
    assert!(index.similar(&q, 0).unwrap().is_empty());
}

#[test]
fn a_shared_hash_outweighs_a_shared_host_and_a_benign_listed_value_weighs_little() {
    let index = index_with(&[
        incident("inc_host", "Host", &["host:web01"]),
        incident("inc_hash", "Hash", &[&format!("sha256:{HASH_B}")]),
        incident("inc_dns", "Resolver", &["benign-ipv4:8.8.8.8"]),
    ]);
    let q = incident(
        "inc_q",
        "Query",
        &[
            "host:web01",
            &format!("sha256:{HASH_B}"),
            "benign-ipv4:8.8.8.8",
        ],
    );
    assert_eq!(
        ids(&index.similar(&q, 10).unwrap()),
        ["inc_hash", "inc_host", "inc_dns"]
    );
}

#[test]
fn similar_never_returns_the_incident_itself() {
    let a = incident(
        "inc_a",
        "A",
        &["ipv4:192.0.2.1", "host:web01", "technique:T1021"],
    );
    let b = incident("inc_b", "B", &["ipv4:192.0.2.1", "host:web01"]);
    let index = index_with(&[a.clone(), b]);
    let hits = index.similar(&a, 100).unwrap();
    assert_eq!(ids(&hits), ["inc_b"]);
    // Values only the incident itself has (the technique) do not count as shared; an IP weighs
    // more than a host.
    assert_eq!(hits[0].matched, ["ipv4:192.0.2.1", "host:web01"]);

    // Alone in the index: nothing, not itself.
    let alone = index_with(std::slice::from_ref(&a));
    assert!(alone.similar(&a, 10).unwrap().is_empty());
    // Upserted again (an old version deleted, not yet merged away): still not itself.
    alone.upsert(std::slice::from_ref(&a)).unwrap();
    alone.upsert(std::slice::from_ref(&a)).unwrap();
    assert!(alone.similar(&a, 10).unwrap().is_empty());
    assert_eq!(alone.len().unwrap(), 1);
}

#[test]
fn upsert_of_the_same_id_replaces() {
    let index = index_with(&[
        incident("inc_a", "Old title", &["ipv4:192.0.2.10", "host:old-host"]),
        incident("inc_b", "Other", &["host:web01"]),
    ]);
    assert_eq!(index.len().unwrap(), 2);
    assert!(!index.is_empty().unwrap());

    index
        .upsert(&[incident(
            "inc_a",
            "New title",
            &["ipv4:192.0.2.20", "host:web01"],
        )])
        .unwrap();
    assert_eq!(index.len().unwrap(), 2);
    assert!(
        index
            .search("observable:\"192.0.2.10\"", 10)
            .unwrap()
            .is_empty()
    );
    assert!(index.search("host:old-host", 10).unwrap().is_empty());
    let hits = index.search("observable:\"192.0.2.20\"", 10).unwrap();
    assert_eq!(ids(&hits), ["inc_a"]);
    assert_eq!(hits[0].title, "New title");
    assert!(index.search("old", 10).unwrap().is_empty());

    // The same id twice in one batch: the last wins.
    index
        .upsert(&[
            incident("inc_c", "First", &["host:x1"]),
            incident("inc_c", "Second", &["host:x2"]),
        ])
        .unwrap();
    assert_eq!(index.len().unwrap(), 3);
    assert_eq!(ids(&index.search("host:x2", 10).unwrap()), ["inc_c"]);
    assert!(index.search("host:x1", 10).unwrap().is_empty());

    // An empty batch changes nothing.
    index.upsert(&[]).unwrap();
    assert_eq!(index.len().unwrap(), 3);
}

#[test]
fn hits_carry_title_verdict_and_first_seen() {
    let mut inc = incident("inc_a", "Brute force on web01", &["host:web01"]);
    inc.verdict = picket_core::Verdict::Malicious;
    inc.first_seen = "2025-03-01T10:00:00.5+02:00"
        .parse::<jiff::Timestamp>()
        .unwrap();
    let index = index_with(&[inc]);
    let hits = index.search("brute", 10).unwrap();
    assert_eq!(hits.len(), 1);
    let h = &hits[0];
    assert_eq!(h.incident_id, "inc_a");
    assert_eq!(h.title, "Brute force on web01");
    assert_eq!(h.verdict, "malicious");
    assert_eq!(h.first_seen, "2025-03-01T08:00:00.5Z");
    assert!(h.first_seen.parse::<jiff::Timestamp>().is_ok());
    assert_eq!(h.matched, ["title:brute", "timeline:brute"]);
    let json = serde_json::to_value(h).unwrap();
    assert_eq!(json["incident_id"], "inc_a");
    assert_eq!(json["matched"][0], "title:brute");
}

#[test]
fn search_covers_title_rules_observables_hosts_users_techniques() {
    let index = index_with(&[
        incident(
            "inc_a",
            "Suspicious PowerShell on web01",
            &[
                "rule:sentinel:Encoded command line",
                "technique:T1059.001",
                "tactic:TA0002",
                "host:WEB01",
                "user:alice",
                "domain:evil.example",
                "ipv6:2001:db8::1",
            ],
        ),
        incident(
            "inc_b",
            "Password spray",
            &["technique:T1110.003", "user:bob", "host:dc01"],
        ),
    ]);
    let one = |q: &str| ids(&index.search(q, 10).unwrap()).join(",");
    assert_eq!(one("powershell"), "inc_a");
    assert_eq!(one("spray"), "inc_b");
    assert_eq!(one("encoded"), "inc_a"); // the rule key, tokenized
    assert_eq!(one("rule:\"sentinel:Encoded command line\""), "inc_a"); // and exact
    assert_eq!(one("evil.example"), "inc_a");
    assert_eq!(one("\"2001:db8::1\""), "inc_a");
    assert_eq!(one("host:web01"), "inc_a"); // exact fields are lowercased
    assert_eq!(one("host:DC01"), "inc_b");
    assert_eq!(one("bob"), "inc_b");
    assert_eq!(one("T1059.001"), "inc_a");
    assert_eq!(one("technique:t1110.003"), "inc_b");
    assert_eq!(one("tactic:TA0002"), "inc_a");
    assert_eq!(one("verdict:suspicious AND user:bob"), "inc_b");
    // Both timelines say "alert for …": a timeline word finds both.
    let mut both = ids(&index.search("alert", 10).unwrap()).join(",");
    both = if both == "inc_b,inc_a" {
        "inc_a,inc_b".to_owned()
    } else {
        both
    };
    assert_eq!(both, "inc_a,inc_b");
    assert_eq!(one("nothing-like-this"), "");

    let hits = index.search("user:alice OR powershell", 10).unwrap();
    assert_eq!(ids(&hits), ["inc_a"]);
    assert_eq!(
        hits[0].matched,
        ["user:alice", "title:powershell", "timeline:powershell"]
    );
}

#[test]
fn a_query_that_does_not_parse_is_a_query_error() {
    let index = index_with(&[incident("inc_a", "A", &["host:web01"])]);
    for bad in [
        "title:(powershell",
        "\"unclosed",
        "nosuchfield:x",
        "first_seen:2025",
        "host:web01 AND (",
        "-host:web01",
        "nosuchfield:*",
    ] {
        match index.search(bad, 10) {
            Err(SearchError::Query(message)) => assert!(!message.is_empty(), "{bad}"),
            other => panic!("{bad}: expected a Query error, got {other:?}"),
        }
    }
    let err = index.search("title:(", 10).unwrap_err();
    assert!(
        err.to_string().starts_with("invalid search query: "),
        "{err}"
    );
    assert!(!err.needs_rebuild());
}

#[test]
fn attacker_strings_in_values_are_data_not_query_syntax() {
    let index = index_with(&[
        incident("inc_a", "A", &["host:web01", "user:alice"]),
        incident("inc_b", "B", &["host:web02"]),
    ]);
    // Values that would be query syntax if they were parsed.
    let q = incident(
        "inc_q",
        "*:* OR id:inc_a",
        &[
            "host:* OR host:web01",
            "user:alice\" OR \"",
            "domain:*",
            "url:id:inc_a",
            "rule:*:*",
        ],
    );
    assert!(index.similar(&q, 10).unwrap().is_empty());

    // Indexed as data, and found again as data.
    index.upsert(std::slice::from_ref(&q)).unwrap();
    let mut twin = q.clone();
    twin.id = "inc_twin".to_owned();
    let hits = index.similar(&twin, 10).unwrap();
    assert_eq!(ids(&hits), ["inc_q"]);
    assert_eq!(
        hits[0].matched,
        [
            "url:id:inc_a",
            "domain:*",
            "rule:*:*",
            "host:* OR host:web01",
            "user:alice\" OR \""
        ]
    );
}

#[test]
fn a_huge_incident_makes_a_bounded_query() {
    let values: Vec<String> = (0..3000)
        .map(|i| format!("ipv4:10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256))
        .collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    let huge = incident("inc_huge", "Scan", &refs);
    let index = index_with(&[
        huge.clone(),
        incident("inc_small", "Small", &["ipv4:10.0.0.5"]),
        incident("inc_other", "Other", &["ipv4:10.0.0.5"]),
    ]);
    let mut twin = huge.clone();
    twin.id = "inc_twin".to_owned();
    let hits = index.similar(&twin, 10).unwrap();
    // The query keeps the rarest values: those only the huge incident has, not 10.0.0.5, which
    // two other incidents share.
    assert_eq!(ids(&hits), ["inc_huge"]);
    assert_eq!(hits[0].matched.len(), MAX_QUERY_TERMS);
    assert!(!hits[0].matched.contains(&"ipv4:10.0.0.5".to_owned()));
    // A small incident sharing one of the huge one's values still finds it.
    let q = incident("inc_q", "Q", &["ipv4:10.0.9.9"]);
    assert_eq!(ids(&index.similar(&q, 10).unwrap()), ["inc_huge"]);
}

#[test]
fn an_empty_index_finds_nothing() {
    let index = IncidentIndex::in_memory().unwrap();
    assert_eq!(index.len().unwrap(), 0);
    assert!(index.is_empty().unwrap());
    let q = incident("inc_q", "Q", &["host:web01"]);
    assert!(index.similar(&q, 10).unwrap().is_empty());
    assert!(index.search("web01", 10).unwrap().is_empty());
    assert!(index.search("", 10).unwrap().is_empty());
    // An incident with no exact values at all.
    let bare = incident("inc_bare", "Bare", &[]);
    index.upsert(&[bare.clone(), q]).unwrap();
    assert!(index.similar(&bare, 10).unwrap().is_empty());
}

#[test]
fn on_disk_the_index_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/search");
    {
        let index = IncidentIndex::open(&path).unwrap();
        assert_eq!(index.len().unwrap(), 0);
        index
            .upsert(&[
                incident("inc_a", "Beacon to C2", &["ipv4:203.0.113.7", "host:web01"]),
                incident("inc_b", "Beacon again", &["ipv4:203.0.113.7", "host:web02"]),
            ])
            .unwrap();
        assert_eq!(index.len().unwrap(), 2);
        // One writer per directory.
        match IncidentIndex::open(&path) {
            Err(e @ SearchError::Locked { .. }) => assert!(!e.needs_rebuild()),
            other => panic!("expected Locked, got {other:?}"),
        }
    }
    let index = IncidentIndex::open(&path).unwrap();
    assert_eq!(index.len().unwrap(), 2);
    assert_eq!(
        ids(&index.search("beacon AND host:web02", 10).unwrap()),
        ["inc_b"]
    );
    let q = incident("inc_c", "New", &["ipv4:203.0.113.7"]);
    assert_eq!(index.similar(&q, 10).unwrap().len(), 2);
    index.upsert(&[q]).unwrap();
    drop(index);
    assert_eq!(IncidentIndex::open(&path).unwrap().len().unwrap(), 3);
}

#[test]
fn a_damaged_index_is_reported_as_needing_a_rebuild() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = IncidentIndex::open(dir.path()).unwrap();
        index
            .upsert(&[incident("inc_a", "A", &["host:web01"])])
            .unwrap();
    }
    std::fs::write(dir.path().join("meta.json"), b"{ not json").unwrap();
    match IncidentIndex::open(dir.path()) {
        Err(e @ SearchError::Corrupt { .. }) => {
            assert!(e.needs_rebuild());
            assert!(e.to_string().contains("rebuild"), "{e}");
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }

    // A segment file gone.
    let dir = tempfile::tempdir().unwrap();
    {
        let index = IncidentIndex::open(dir.path()).unwrap();
        index
            .upsert(&[incident("inc_a", "A", &["host:web01"])])
            .unwrap();
    }
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "idx" || e == "term") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let err = IncidentIndex::open(dir.path()).unwrap_err();
    assert!(err.needs_rebuild(), "{err:?}");
}

#[test]
fn the_index_is_shared_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<IncidentIndex>();

    let index = Arc::new(IncidentIndex::in_memory().unwrap());
    std::thread::scope(|s| {
        for t in 0..2 {
            let index = Arc::clone(&index);
            s.spawn(move || {
                for i in 0..10 {
                    let id = format!("inc_{t}_{i}");
                    index
                        .upsert(&[incident(&id, "Beacon", &["ipv4:203.0.113.7"])])
                        .unwrap();
                    let q = incident("inc_q", "Q", &["ipv4:203.0.113.7"]);
                    assert!(!index.similar(&q, 5).unwrap().is_empty());
                    assert!(!index.search("beacon", 5).unwrap().is_empty());
                }
            });
        }
    });
    assert_eq!(index.len().unwrap(), 20);
}

#[test]
fn incidents_read_from_json_lines_index_as_they_are() {
    // The shape `picket triage` prints, with the fields the index reads and the optional ones absent.
    let inc = incident_from(serde_json::json!({
        "id": "inc_0123456789abcdef01234567",
        "title": "Encoded PowerShell on web01 and 1 related rule",
        "verdict": "malicious",
        "priority": "P1",
        "confidence": 0.9,
        "confidence_note": "n",
        "escalation": "on_call",
        "first_seen": "2025-03-01T10:00:00Z",
        "last_seen": "2025-03-01T10:00:00Z",
        "alert_count": 2,
        "alerts": [],
        "scope": { "hosts": ["web01"], "users": ["svc-backup"] },
        "observables": [{ "type": "md5", "value": "D41D8CD98F00B204E9800998ECF8427E", "benign_lists": [] }],
        "attack": [{ "technique": "T1059.001", "tactic": "execution", "name": "PowerShell" }],
        "timeline": [{ "time": "2025-03-01T10:00:00Z", "alert": "a", "summary": "powershell -enc", "technique": "T1027", "count": 1 }],
        "evidence": [{ "claim": "c", "source": "history:defender:DefenderRule42", "weight": 0.05 }],
    }));
    let index = index_with(&[inc]);
    for q in [
        "md5:x",
        "observable:d41d8cd98f00b204e9800998ecf8427e",
        "technique:T1027",
        "rule:\"defender:DefenderRule42\"",
        "user:svc-backup",
        "priority:P1",
        "status:open",
        "enc",
    ] {
        let r = index.search(q, 10);
        if q == "md5:x" {
            assert!(matches!(r, Err(SearchError::Query(_))), "{q}");
        } else {
            assert_eq!(r.unwrap().len(), 1, "{q}");
        }
    }
}
