//! One suite for every backend: each test is a generic async fn over a [`Harness`], and
//! `store_test_suite!(Harness)` expands to one `#[tokio::test]` per fn.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use picket_core::{
    Alert, AlertRef, Entities, Escalation, Incident, IncidentStatus, Priority, Product, Rule,
    Scope, Severity, SourceFormat, Verdict,
};
use picket_store::{
    AlertStatus, DeadLetter, IncidentFilter, IncidentPages, InsertOutcome, Store, StoreError,
    TriageCommit, VerdictRecord,
};

/// A backend under test. `new` makes an empty database; `open` opens it (again), as a restarted
/// process would.
#[async_trait]
pub(crate) trait Harness: Sized + Send + Sync {
    async fn new() -> Self;
    async fn open(&self) -> Arc<dyn Store>;
}

#[macro_export]
macro_rules! store_test_suite {
    ($harness:ty) => {
        $crate::store_test_suite!(@tests $harness;
            insert_is_idempotent,
            duplicate_in_one_batch_is_stored_once,
            a_large_batch_mixing_stored_repeated_and_new_alerts_tells_each_apart,
            data_and_pending_state_survive_reopen,
            pending_alerts_come_in_insertion_order_until_processed,
            alerts_since_replays_processed_alerts_by_time,
            incident_filters_and_paging,
            incident_pages_read_every_selected_incident_once,
            merged_incident_is_superseded_not_listed,
            dead_letters_keep_invalid_utf8_bytes,
            verdicts_become_feedback_on_the_incident_rules,
            rule_counts_add_up,
            commit_triage_is_one_step,
            concurrent_inserts_store_each_alert_once,
            stats_count_rows,
            intel_results_survive_reopen_until_they_expire,
            audit_trail_chains_across_appends_and_reopen,
            dual_approval_moves_an_action_once_two_other_humans_agree,
            execution_is_claimed_once_and_a_rollback_marks_the_original,
        );
    };
    (@tests $harness:ty; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $name() {
                $crate::suite::$name::<$harness>().await;
            }
        )*
    };
}

const T0: i64 = 1_700_000_000;

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_second(T0 + secs).expect("valid time")
}

/// A Wazuh-shaped alert; `tag` makes the id and raw bytes unique.
pub(crate) fn alert(tag: &str, at: i64, rule_id: &str, host: &str) -> Alert {
    let raw = format!("{{\"id\":\"{tag}\",\"rule\":{{\"id\":\"{rule_id}\"}},\"host\":\"{host}\"}}");
    let raw_sha256 = picket_core::hash::sha256_hex(raw.as_bytes());
    let mut entities = Entities::default();
    entities.add_host(Some(host), None, None);
    Alert {
        id: Alert::derive_id(SourceFormat::Wazuh, Some(tag), &raw_sha256),
        format: SourceFormat::Wazuh,
        source_event_id: Some(tag.to_owned()),
        time: ts(at),
        product: Product {
            vendor: "Wazuh".into(),
            name: "Wazuh".into(),
        },
        rule: Rule {
            id: Some(rule_id.to_owned()),
            name: format!("rule {rule_id}"),
            category: None,
        },
        severity: Severity::Medium,
        vendor_severity: Some("7".into()),
        message: format!("alert {tag}"),
        entities,
        attack: Vec::new(),
        observables: Vec::new(),
        raw_sha256,
        raw,
    }
}

fn incident(
    id: &str,
    alerts: &[&Alert],
    verdict: Verdict,
    priority: Priority,
    first: i64,
    last: i64,
) -> Incident {
    Incident {
        id: id.to_owned(),
        title: format!("incident {id}"),
        status: IncidentStatus::Open,
        verdict,
        priority,
        confidence: 0.5,
        confidence_note: "test".into(),
        escalation: Escalation::AnalystQueue,
        first_seen: ts(first),
        last_seen: ts(last),
        alert_count: alerts.len() as u64,
        alerts: alerts
            .iter()
            .map(|a| AlertRef {
                id: a.id.clone(),
                format: a.format,
                raw_sha256: a.raw_sha256.clone(),
                count: 1,
            })
            .collect(),
        scope: Scope::default(),
        observables: Vec::new(),
        attack: Vec::new(),
        timeline: Vec::new(),
        evidence: Vec::new(),
        enrichment: None,
    }
}

fn ids(incidents: &[Incident]) -> Vec<&str> {
    incidents.iter().map(|i| i.id.as_str()).collect()
}

pub(crate) async fn insert_is_idempotent<H: Harness>() {
    let h = H::new().await;
    let s = h.open().await;
    let (a, b) = (alert("a", 0, "1", "h"), alert("b", 1, "1", "h"));
    let first = s.insert_alerts(&[a.clone(), b.clone()]).await.unwrap();
    assert_eq!(
        first,
        vec![InsertOutcome::Inserted, InsertOutcome::Inserted]
    );
    let again = s.insert_alerts(&[b.clone(), a.clone()]).await.unwrap();
    assert_eq!(
        again,
        vec![InsertOutcome::Duplicate, InsertOutcome::Duplicate]
    );
    assert_eq!(s.count_pending().await.unwrap(), 2);
    // The first copy stays: a re-sent event does not reset a processed alert to pending.
    let seqs: Vec<i64> = s
        .pending_alerts(10)
        .await
        .unwrap()
        .iter()
        .map(|p| p.seq)
        .collect();
    s.mark_processed(&seqs).await.unwrap();
    s.insert_alerts(std::slice::from_ref(&a)).await.unwrap();
    assert_eq!(s.count_pending().await.unwrap(), 0);
}

pub(crate) async fn duplicate_in_one_batch_is_stored_once<H: Harness>() {
    let h = H::new().await;
    let s = h.open().await;
    let (a, b) = (alert("a", 0, "1", "h"), alert("b", 1, "1", "h"));
    let out = s.insert_alerts(&[a.clone(), a.clone(), b]).await.unwrap();
    assert_eq!(
        out,
        vec![
            InsertOutcome::Inserted,
            InsertOutcome::Duplicate,
            InsertOutcome::Inserted
        ]
    );
    assert_eq!(s.stats().await.unwrap().alerts, 2);
}

/// A batch of several hundred alerts (so several multi-row inserts in SQLite) in which some alerts
/// were stored before, some repeat within the batch across insert boundaries and the rest are new:
/// each gets its own outcome, in order.
pub(crate) async fn a_large_batch_mixing_stored_repeated_and_new_alerts_tells_each_apart<
    H: Harness,
>() {
    let h = H::new().await;
    let s = h.open().await;
    let stored: Vec<_> = (0..50)
        .map(|i| alert(&format!("old{i}"), i, "1", "h"))
        .collect();
    s.insert_alerts(&stored).await.unwrap();
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for i in 0..600 {
        if i % 7 == 0 {
            batch.push(stored[(i / 7) % stored.len()].clone());
            expected.push(InsertOutcome::Duplicate);
        } else if i % 11 == 0 && i > 300 {
            // The same event as 300 places earlier.
            batch.push(batch[i - 300].clone());
            expected.push(InsertOutcome::Duplicate);
        } else {
            batch.push(alert(&format!("new{i}"), i as i64, "1", "h"));
            expected.push(InsertOutcome::Inserted);
        }
    }
    let out = s.insert_alerts(&batch).await.unwrap();
    assert_eq!(out, expected);
    let new = expected
        .iter()
        .filter(|o| **o == InsertOutcome::Inserted)
        .count();
    assert_eq!(s.stats().await.unwrap().alerts, 50 + new as u64);
    for (a, o) in batch.iter().zip(&out) {
        let got = s.get_alert(&a.id).await.unwrap().expect("stored");
        assert_eq!(got.alert, *a, "{o:?}");
    }
    // All of it again: nothing new.
    let again = s.insert_alerts(&batch).await.unwrap();
    assert!(again.iter().all(|o| *o == InsertOutcome::Duplicate));
}

pub(crate) async fn data_and_pending_state_survive_reopen<H: Harness>() {
    let h = H::new().await;
    let (a, b) = (alert("a", 0, "1", "h"), alert("b", 1, "1", "h"));
    {
        let s = h.open().await;
        s.insert_alerts(&[a.clone(), b.clone()]).await.unwrap();
        let first = s.pending_alerts(1).await.unwrap();
        s.mark_processed(&[first[0].seq]).await.unwrap();
        s.upsert_incidents(&[incident(
            "inc_1",
            &[&a],
            Verdict::Suspicious,
            Priority::P2,
            0,
            0,
        )])
        .await
        .unwrap();
        s.close().await;
    }
    let s = h.open().await;
    let got = s.get_alert(&a.id).await.unwrap().expect("alert kept");
    assert_eq!(got.alert, a);
    assert_eq!(got.status, AlertStatus::Processed);
    let pending = s.pending_alerts(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].alert, b);
    assert!(s.get_incident("inc_1").await.unwrap().is_some());
}

pub(crate) async fn pending_alerts_come_in_insertion_order_until_processed<H: Harness>() {
    let h = H::new().await;
    let s = h.open().await;
    // Insertion order differs from event-time order on purpose.
    let batch = [
        alert("c", 30, "1", "h"),
        alert("a", 10, "1", "h"),
        alert("b", 20, "1", "h"),
    ];
    s.insert_alerts(&batch).await.unwrap();
    let p = s.pending_alerts(2).await.unwrap();
    assert_eq!(
        p.iter().map(|x| x.alert.id.clone()).collect::<Vec<_>>(),
        vec![batch[0].id.clone(), batch[1].id.clone()]
    );
    assert!(p[0].seq < p[1].seq);
    assert_eq!(
        p[0].alert.raw, batch[0].raw,
        "pending alerts carry their raw bytes"
    );
    s.mark_processed(&[p[0].seq]).await.unwrap();
    let p2 = s.pending_alerts(10).await.unwrap();
    assert_eq!(
        p2.iter().map(|x| x.alert.id.clone()).collect::<Vec<_>>(),
        vec![batch[1].id.clone(), batch[2].id.clone()]
    );
    s.mark_processed(&[p2[0].seq, p2[1].seq, p2[1].seq, 999_999])
        .await
        .unwrap();
    assert!(s.pending_alerts(10).await.unwrap().is_empty());
    assert_eq!(s.count_pending().await.unwrap(), 0);
    let got = s.get_alert(&batch[2].id).await.unwrap().unwrap();
    assert_eq!(got.status, AlertStatus::Processed);
}

pub(crate) async fn alerts_since_replays_processed_alerts_by_time<H: Harness>() {
    let h = H::new().await;
    let s = h.open().await;
    let batch = [
        alert("c", 30, "1", "h"),
        alert("a", 10, "1", "h"),
        alert("b", 20, "1", "h"),
        alert("d", 40, "1", "h"),
    ];
    s.insert_alerts(&batch).await.unwrap();
    assert_eq!(s.latest_processed_time().await.unwrap(), None);
    let p = s.pending_alerts(3).await.unwrap();
    s.mark_processed(&p.iter().map(|x| x.seq).collect::<Vec<_>>())
        .await
        .unwrap();
    // "d" is still pending: not replayed.
    let since = s.alerts_since(ts(15)).await.unwrap();
    assert_eq!(
        since.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
        vec![batch[2].id.clone(), batch[0].id.clone()]
    );
    assert!(since.iter().all(|a| a.raw.is_empty()));
    assert_eq!(since[0].rule, batch[2].rule);
    assert_eq!(s.latest_processed_time().await.unwrap(), Some(ts(30)));
}

pub(crate) async fn incident_pages_read_every_selected_incident_once<H: Harness>() {
    let h = H::new().await;
    let s = h.open().await;
    let five: Vec<Incident> = (0..5)
        .map(|i| {
            incident(
                &format!("inc_{i}"),
                &[],
                Verdict::Suspicious,
                Priority::P3,
                i * 10,
                i * 10 + 5,
            )
        })
        .collect();
    s.upsert_incidents(&five).await.unwrap();
    let read = |pages: IncidentPages| {
        let s = s.clone();
        async move {
            let mut pages = pages;
            let mut sizes = Vec::new();
            let mut seen = Vec::new();
            while let Some(page) = pages.next(s.as_ref()).await.unwrap() {
                sizes.push(page.len());
                seen.extend(page.into_iter().map(|i| i.id));
            }
            (sizes, seen)
        }
    };
    let by_two = IncidentFilter {
        limit: 2,
        ..IncidentFilter::default()
    };
    let (sizes, seen) = read(IncidentPages::new(by_two.clone())).await;
    assert_eq!(sizes, [2, 2, 1]);
    assert_eq!(
        seen,
        ["inc_4", "inc_3", "inc_2", "inc_1", "inc_0"],
        "newest first, each once"
    );
    let (sizes, seen) = read(IncidentPages::new(by_two.clone()).at_most(3)).await;
    assert_eq!(sizes, [2, 1]);
    assert_eq!(seen, ["inc_4", "inc_3", "inc_2"]);
    let (sizes, _) = read(IncidentPages::new(IncidentFilter {
        offset: 4,
        ..by_two.clone()
    }))
    .await;
    assert_eq!(sizes, [1], "starts at the filter's offset");
    let (sizes, _) = read(IncidentPages::new(IncidentFilter { limit: 0, ..by_two })).await;
    assert!(sizes.is_empty(), "a page size of 0 reads nothing");
}

pub(crate) async fn incident_filters_and_paging<H: Harness>() {
    let h = H::new().await;
    let s = h.open().await;
    let a = alert("a", 0, "1", "h");
    s.insert_alerts(std::slice::from_ref(&a)).await.unwrap();
    let mut closed = incident("inc_c", &[], Verdict::Benign, Priority::P4, 100, 200);
    closed.status = IncidentStatus::Closed;
    s.upsert_incidents(&[
        incident("inc_a", &[&a], Verdict::Malicious, Priority::P1, 0, 50),
        incident("inc_b", &[], Verdict::Suspicious, Priority::P2, 60, 300),
        closed,
    ])
    .await
    .unwrap();
    let all = s.list_incidents(&IncidentFilter::default()).await.unwrap();
    assert_eq!(
        ids(&all),
        vec!["inc_b", "inc_c", "inc_a"],
        "newest activity first"
    );
    let f = |f: IncidentFilter| {
        let s = s.clone();
        async move {
            s.list_incidents(&f)
                .await
                .unwrap()
                .into_iter()
                .map(|i| i.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        f(IncidentFilter {
            verdict: Some(Verdict::Malicious),
            ..Default::default()
        })
        .await,
        vec!["inc_a"]
    );
    assert_eq!(
        f(IncidentFilter {
            priority: Some(Priority::P2),
            ..Default::default()
        })
        .await,
        vec!["inc_b"]
    );
    assert_eq!(
        f(IncidentFilter {
            status: Some(IncidentStatus::Closed),
            ..Default::default()
        })
        .await,
        vec!["inc_c"]
    );
    assert_eq!(
        f(IncidentFilter {
            since: Some(ts(250)),
            ..Default::default()
        })
        .await,
        vec!["inc_b"]
    );
    assert_eq!(
        f(IncidentFilter {
            until: Some(ts(70)),
            ..Default::default()
        })
        .await,
        vec!["inc_b", "inc_a"]
    );
    assert_eq!(
        f(IncidentFilter {
            limit: 1,
            offset: 1,
            ..Default::default()
        })
        .await,
        vec!["inc_c"]
    );
    // An upsert replaces the stored assessment.
    s.upsert_incidents(&[incident(
        "inc_a",
        &[&a],
        Verdict::Benign,
        Priority::P4,
        0,
        50,
    )])
    .await
    .unwrap();
    let got = s.get_incident("inc_a").await.unwrap().unwrap();
    assert_eq!((got.verdict, got.priority), (Verdict::Benign, Priority::P4));
    assert!(s.get_incident("inc_missing").await.unwrap().is_none());
}

pub(crate) async fn merged_incident_is_superseded_not_listed<H: Harness>() {
    let h = H::new().await;
    let s = h.open().await;
    let (a, b) = (alert("a", 0, "1", "h"), alert("b", 1, "2", "h"));
    s.insert_alerts(&[a.clone(), b.clone()]).await.unwrap();
    s.upsert_incidents(&[
        incident("inc_a", &[&a], Verdict::Suspicious, Priority::P2, 0, 0),
        incident("inc_b", &[&b], Verdict::Suspicious, Priority::P2, 1, 1),
    ])
    .await
    .unwrap();
    // The engine merged inc_b into inc_a.
    s.upsert_incidents(&[incident(
        "inc_a",
        &[&a, &b],
        Verdict::Malicious,
        Priority::P1,
        0,
        1,
    )])
    .await
    .unwrap();
    assert_eq!(
        ids(&s.list_incidents(&IncidentFilter::default()).await.unwrap()),
        vec!["inc_a"]
    );
    assert!(
        s.get_incident("inc_b").await.unwrap().is_some(),
        "kept for its history"
    );
    assert_eq!(
        s.incident_rule_keys("inc_a").await.unwrap(),
        vec!["wazuh:1", "wazuh:2"]
    );
}

pub(crate) async fn dead_letters_keep_invalid_utf8_bytes<H: Harness>() {
    let h = H::new().await;
    let s = h.open().await;
    let raw = vec![b'{', 0xff, 0xfe, b'"', 0x80, b'}', 0x00];
    let letter = |line: u64, raw: Vec<u8>| DeadLetter {
        received_at: ts(0),
        source: "request".into(),
        line,
        index: line - 1,
        code: "invalid_json".into(),
        message: "invalid UTF-8 at byte 1".into(),
        raw,
    };
    s.insert_dead_letters(&[letter(1, raw.clone()), letter(2, b"{bad".to_vec())])
        .await
        .unwrap();
    let list = s.list_dead_letters(10, 0).await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].1, letter(1, raw), "bytes kept exactly, oldest last");
    assert_eq!(list[0].1.line, 2);
    let page = s.list_dead_letters(1, 1).await.unwrap();
    assert_eq!(page[0].1.line, 1);
}

pub(crate) async fn verdicts_become_feedback_on_the_incident_rules<H: Harness>() {
    let h = H::new().await;
    let s = h.open().await;
    let (a, b) = (alert("a", 0, "5710", "h"), alert("b", 1, "5712", "h"));
    s.insert_alerts(&[a.clone(), b.clone()]).await.unwrap();
    s.upsert_incidents(&[incident(
        "inc_1",
        &[&a, &b],
        Verdict::Suspicious,
        Priority::P2,
        0,
        1,
    )])
    .await
    .unwrap();
    let v = |verdict, note: Option<&str>| VerdictRecord {
        incident_id: "inc_1".into(),
        engine_verdict: None,
        verdict,
        analyst: "alice".into(),
        note: note.map(str::to_owned),
        at: ts(5),
    };
    let missing = VerdictRecord {
        incident_id: "inc_nope".into(),
        engine_verdict: None,
        ..v(Verdict::Benign, None)
    };
    assert!(matches!(
        s.record_verdict(&missing).await,
        Err(StoreError::NotFound { .. })
    ));
    s.record_verdict(&v(Verdict::Benign, Some("scanner")))
        .await
        .unwrap();
    s.record_verdict(&v(Verdict::Malicious, None))
        .await
        .unwrap();
    assert_eq!(
        s.list_verdicts("inc_1").await.unwrap(),
        vec![
            v(Verdict::Benign, Some("scanner")),
            v(Verdict::Malicious, None)
        ]
    );
    let fb = s.feedback_by_rule().await.unwrap();
    let expect = |k: &str, verdict| (format!("wazuh:{k}"), "inc_1".to_owned(), verdict);
    assert_eq!(
        fb,
        vec![
            expect("5710", Verdict::Benign),
            expect("5712", Verdict::Benign),
            expect("5710", Verdict::Malicious),
            expect("5712", Verdict::Malicious),
        ],
        "oldest first, so that the latest verdict wins when replayed"
    );
    assert_eq!(picket_triage::knowledge::rule_key(&a), "wazuh:5710");
}

pub(crate) async fn rule_counts_add_up<H: Harness>() {
    let h = H::new().await;
    let s = h.open().await;
    let c = |r: &str, e: &str, n| (r.to_owned(), e.to_owned(), n);
    s.bump_rule_counts(&[c("wazuh:1", "host:h", 3), c("wazuh:1", "user:u", 1)])
        .await
        .unwrap();
    s.bump_rule_counts(&[c("wazuh:1", "host:h", 2)])
        .await
        .unwrap();
    let counts = s.load_rule_counts().await.unwrap();
    assert_eq!(counts.len(), 2);
    assert_eq!(counts[&("wazuh:1".to_owned(), "host:h".to_owned())], 5);
    assert_eq!(counts[&("wazuh:1".to_owned(), "user:u".to_owned())], 1);
}

pub(crate) async fn commit_triage_is_one_step<H: Harness>() {
    let h = H::new().await;
    let s = h.open().await;
    let a = alert("a", 0, "1", "h");
    s.insert_alerts(std::slice::from_ref(&a)).await.unwrap();
    let pending = s.pending_alerts(1).await.unwrap();
    let seq = pending[0].seq;
    let incidents = vec![incident(
        "inc_1",
        &[&a],
        Verdict::Suspicious,
        Priority::P2,
        0,
        0,
    )];
    let received = [(a.id.clone(), pending[0].received_at)]
        .into_iter()
        .collect();
    let events = picket_store::lifecycle_events(&incidents, &received, ts(30));
    s.commit_triage(&TriageCommit {
        incidents,
        rule_counts: vec![("wazuh:1".into(), "host:h".into(), 1)],
        processed: vec![seq],
        events,
    })
    .await
    .unwrap();
    assert_eq!(s.count_pending().await.unwrap(), 0);
    assert!(s.get_incident("inc_1").await.unwrap().is_some());
    assert_eq!(s.load_rule_counts().await.unwrap().len(), 1);

    // Lifecycle: the step's events, then later ones; the first of each kind stands.
    use picket_store::{IncidentEvent, LifecycleEvent};
    let later = |event, secs, actor: &str| IncidentEvent {
        incident_id: "inc_1".into(),
        event,
        at: ts(secs),
        actor: actor.into(),
    };
    s.record_incident_events(&[
        later(LifecycleEvent::Acknowledged, 100, "token:alice"),
        later(LifecycleEvent::Triaged, 999, "engine"),
        later(LifecycleEvent::Resolved, 200, "token:alice"),
    ])
    .await
    .unwrap();
    s.record_verdict(&VerdictRecord {
        incident_id: "inc_1".into(),
        engine_verdict: None,
        verdict: Verdict::Benign,
        analyst: "alice".into(),
        note: None,
        at: ts(200),
    })
    .await
    .unwrap();
    let life = s.lifecycle(ts(-10), ts(1000)).await.unwrap();
    assert_eq!(life.len(), 1);
    let (inc, events, verdicts) = (&life[0].incident, &life[0].events, &life[0].verdicts);
    assert_eq!(inc.id, "inc_1");
    assert_eq!(life[0].rules, ["wazuh:1"]);
    let mut kinds: Vec<(LifecycleEvent, &str)> =
        events.iter().map(|e| (e.event, e.actor.as_str())).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            (LifecycleEvent::Detected, "source:wazuh"),
            (LifecycleEvent::Ingested, "picket"),
            (LifecycleEvent::Triaged, "engine"),
            (LifecycleEvent::Escalated, "engine"),
            (LifecycleEvent::Acknowledged, "token:alice"),
            (LifecycleEvent::Resolved, "token:alice"),
        ]
    );
    let triaged = events
        .iter()
        .find(|e| e.event == LifecycleEvent::Triaged)
        .unwrap();
    assert_eq!(triaged.at, ts(30), "the first triage stands");
    assert_eq!(verdicts.len(), 1);
    assert!(s.lifecycle(ts(5000), ts(6000)).await.unwrap().is_empty());
    let one = s.incident_events("inc_1").await.unwrap();
    assert_eq!(one.len(), 6);
    assert!(one.windows(2).all(|w| w[0].at <= w[1].at), "in time order");

    // Investigations: stored whole, listed oldest first, their tokens and cost in the lifecycle.
    assert_eq!((life[0].llm_tokens, life[0].llm_cost), (0, 0.0));
    for (n, cost) in [(2, 0.25), (1, 0.5)] {
        s.insert_investigation(&picket_store::InvestigationRecord {
            id: format!("inv_{n}"),
            incident_id: "inc_1".into(),
            mode: "pipeline".into(),
            provider: "claude".into(),
            status: if n == 1 { "degraded" } else { "completed" }.into(),
            verdict: Verdict::NeedsReview,
            started_at: ts(40 + n),
            finished_at: ts(50 + n),
            input_tokens: 1000 * n as u64,
            output_tokens: 100,
            cost,
            doc: serde_json::json!({"n": n}),
        })
        .await
        .unwrap();
    }
    let inv = s.investigations("inc_1").await.unwrap();
    let ids: Vec<&str> = inv.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["inv_1", "inv_2"]);
    assert_eq!(inv[0].doc, serde_json::json!({"n": 1}));
    assert_eq!(inv[0].verdict, Verdict::NeedsReview);
    let life = s.lifecycle(ts(-10), ts(1000)).await.unwrap();
    assert_eq!(life[0].llm_tokens, 3200);
    assert!((life[0].llm_cost - 0.75).abs() < 1e-12);
    assert!(s.investigations("inc_none").await.unwrap().is_empty());
}

pub(crate) async fn concurrent_inserts_store_each_alert_once<H: Harness>() {
    let h = H::new().await;
    let s = h.open().await;
    // Eight tasks; each sends 40 alerts, half of them shared with every other task.
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut inserted = 0;
                for chunk in 0..4 {
                    let batch: Vec<Alert> = (0..10)
                        .map(|i| {
                            let n = chunk * 10 + i;
                            let tag = if n % 2 == 0 {
                                format!("shared-{n}")
                            } else {
                                format!("t{t}-{n}")
                            };
                            alert(&tag, n, "1", "h")
                        })
                        .collect();
                    let out = s.insert_alerts(&batch).await.unwrap();
                    inserted += out
                        .iter()
                        .filter(|o| **o == InsertOutcome::Inserted)
                        .count();
                }
                inserted
            })
        })
        .collect();
    let mut inserted = 0;
    for t in tasks {
        inserted += t.await.unwrap();
    }
    let distinct = 20 + 8 * 20;
    assert_eq!(inserted, distinct);
    assert_eq!(s.stats().await.unwrap().alerts, distinct as u64);
    let pending = s.pending_alerts(1000).await.unwrap();
    let unique: HashSet<_> = pending.iter().map(|p| p.alert.id.clone()).collect();
    assert_eq!(unique.len(), distinct);
    assert!(pending.windows(2).all(|w| w[0].seq < w[1].seq));
}

pub(crate) async fn stats_count_rows<H: Harness>() {
    let h = H::new().await;
    let s = h.open().await;
    s.ping().await.unwrap();
    let (a, b) = (alert("a", 0, "1", "h"), alert("b", 1, "1", "h"));
    s.insert_alerts(&[a.clone(), b]).await.unwrap();
    let seq = s.pending_alerts(1).await.unwrap()[0].seq;
    s.mark_processed(&[seq]).await.unwrap();
    s.upsert_incidents(&[
        incident("inc_1", &[&a], Verdict::Suspicious, Priority::P2, 0, 0),
        incident("inc_2", &[], Verdict::Suspicious, Priority::P2, 0, 0),
        incident("inc_3", &[], Verdict::Benign, Priority::P4, 0, 0),
    ])
    .await
    .unwrap();
    let st = s.stats().await.unwrap();
    assert_eq!(
        (st.alerts, st.pending_alerts, st.dead_letters, st.verdicts),
        (2, 1, 0, 0)
    );
    assert_eq!(
        st.incidents_by_verdict,
        vec![(Verdict::Benign, 1), (Verdict::Suspicious, 2)]
    );
}

pub(crate) async fn intel_results_survive_reopen_until_they_expire<H: Harness>() {
    use picket_core::{IntelResult, IntelVerdict, ObservableType};
    let h = H::new().await;
    // Expiry is checked against the real clock when pruning: use times around now.
    let base = Timestamp::now().as_second();
    let ts = |secs: i64| Timestamp::from_second(base + secs).unwrap();
    let result = |value: &str, verdict| IntelResult {
        source: "vt".into(),
        provider: "virustotal".into(),
        kind: ObservableType::Ipv4,
        value: value.into(),
        verdict,
        score: Some(0.8),
        highlights: [("reputation".to_owned(), serde_json::json!(-42))].into(),
        first_seen: None,
        last_seen: Some(ts(5)),
        reference: None,
        fetched_at: ts(10),
        stale: false,
        cached: false,
        reliability: 0.7,
    };
    let key = |v: &str| ("vt".to_owned(), ObservableType::Ipv4, v.to_owned());
    {
        let s = h.open().await;
        s.put_intel_result(&result("198.51.100.1", IntelVerdict::Benign), ts(100))
            .await
            .unwrap();
        // Replaced, not duplicated.
        s.put_intel_result(&result("198.51.100.1", IntelVerdict::Malicious), ts(200))
            .await
            .unwrap();
        s.put_intel_result(&result("198.51.100.2", IntelVerdict::Unknown), ts(50))
            .await
            .unwrap();
        s.close().await;
    }
    let s = h.open().await;
    let got = s
        .intel_results(
            &[
                key("198.51.100.1"),
                key("198.51.100.2"),
                key("198.51.100.3"),
            ],
            ts(60),
        )
        .await
        .unwrap();
    assert_eq!(
        got.len(),
        1,
        "the expired one and the unknown one are not returned"
    );
    assert_eq!(got[0].0, result("198.51.100.1", IntelVerdict::Malicious));
    assert_eq!(got[0].1, ts(200));
}

pub(crate) async fn audit_trail_chains_across_appends_and_reopen<H: Harness>() {
    use picket_audit::{AuditKind, NewRecord, SigningKey, sign, verify};
    let h = H::new().await;
    let rec = |i: i64| NewRecord {
        at: ts(i),
        kind: AuditKind::Input,
        actor: "token:shipper".into(),
        subject: format!("alert:{i}"),
        data: serde_json::json!({"raw_sha256": format!("{i:064x}"), "nested": {"b": 1, "a": 2}}),
    };
    let key = SigningKey::from_bytes(&[3u8; 32]);
    {
        let s = h.open().await;
        assert_eq!(s.audit_head().await.unwrap(), None);
        let first = s.append_audit(vec![rec(1), rec(2)]).await.unwrap();
        assert_eq!(first[0].seq, 1);
        assert_eq!(first[1].prev_hash, first[0].hash);
        let head = s.audit_head().await.unwrap().unwrap();
        s.put_audit_checkpoint(&sign(&key, head.0, &head.1, ts(3)))
            .await
            .unwrap();
        s.close().await;
    }
    let s = h.open().await;
    let more = s.append_audit(vec![rec(4)]).await.unwrap();
    assert_eq!(more[0].seq, 3, "the chain continues after a reopen");
    let all = s.audit_records(1, 100).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[2].prev_hash, all[1].hash);
    let cps = s.audit_checkpoints().await.unwrap();
    let summary = verify(&all, &cps, Some(&key.verifying_key())).unwrap();
    assert_eq!((summary.records, summary.signed_checkpoints), (3, 1));
    assert_eq!(s.audit_records(3, 10).await.unwrap().len(), 1);
}

pub(crate) async fn dual_approval_moves_an_action_once_two_other_humans_agree<H: Harness>() {
    use picket_store::{ActionRecord, ActionState, ApprovalRecord};
    let h = H::new().await;
    let s = h.open().await;
    let proposal = picket_policy::Proposal {
        action: "wipe_endpoint".into(),
        target: "laptop-7".into(),
        params: serde_json::json!({}),
        incident: Some("inc_1".into()),
        proposer: picket_policy::Proposer::Analyst,
        requester: "carol".into(),
        protected: false,
        min_approvals: 0,
        asset_class: None,
        out_of_scope: false,
    };
    let decision = picket_policy::evaluate(
        &picket_policy::Policy::seed_defaults(),
        &proposal,
        &picket_policy::History::default(),
        ts(0),
    );
    let hash = decision.approval_hash.clone();
    s.insert_action(&ActionRecord {
        id: "act_1".into(),
        created_at: ts(0),
        updated_at: ts(0),
        state: ActionState::AwaitingApproval,
        approvals_needed: 2,
        proposal,
        decision,
        execution: Default::default(),
    })
    .await
    .unwrap();
    let ap = |user: &str, approve: bool, hash: &str| ApprovalRecord {
        user: user.into(),
        approve,
        reason: Some("checked".into()),
        approval_hash: hash.into(),
        at: ts(1),
    };
    let state = |r: Option<(ActionRecord, Vec<ApprovalRecord>)>| r.unwrap().0.state;
    assert_eq!(
        state(
            s.approve_action("act_1", &ap("carol", true, &hash))
                .await
                .unwrap()
        ),
        ActionState::AwaitingApproval,
        "the requester does not count"
    );
    assert_eq!(
        state(
            s.approve_action("act_1", &ap("alice", true, &hash))
                .await
                .unwrap()
        ),
        ActionState::AwaitingApproval
    );
    assert_eq!(
        state(
            s.approve_action("act_1", &ap("alice", true, &hash))
                .await
                .unwrap()
        ),
        ActionState::AwaitingApproval,
        "twice the same user is one"
    );
    assert_eq!(
        state(
            s.approve_action("act_1", &ap("dave", true, "0000"))
                .await
                .unwrap()
        ),
        ActionState::AwaitingApproval,
        "another action's hash"
    );
    assert_eq!(
        state(
            s.approve_action("act_1", &ap("bob", true, &hash))
                .await
                .unwrap()
        ),
        ActionState::Approved
    );
    // Settled: later votes change nothing.
    let (a, approvals) = s
        .approve_action("act_1", &ap("eve", false, &hash))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.state, ActionState::Approved);
    assert_eq!(approvals.len(), 5);
    assert_eq!(
        s.list_actions(Some(ActionState::Approved), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        s.list_actions(Some(ActionState::AwaitingApproval), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        s.approve_action("act_none", &ap("bob", true, &hash))
            .await
            .unwrap()
            .is_none()
    );

    // Timeouts: an action still awaiting approval past its tier's timeout is handed out once.
    let mut waiting = s.get_action("act_1").await.unwrap().unwrap().0;
    waiting.id = "act_2".into();
    waiting.state = ActionState::AwaitingApproval;
    s.insert_action(&waiting).await.unwrap();
    assert!(
        s.take_timed_out_actions(ts(60)).await.unwrap().is_empty(),
        "not yet"
    );
    let due = s.take_timed_out_actions(ts(100_000)).await.unwrap();
    assert_eq!(
        due.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        ["act_2"]
    );
    assert!(
        s.take_timed_out_actions(ts(200_000))
            .await
            .unwrap()
            .is_empty(),
        "once"
    );
    assert_eq!(
        s.get_action("act_2").await.unwrap().unwrap().0.state,
        ActionState::AwaitingApproval,
        "a timeout never approves"
    );
}

pub(crate) async fn execution_is_claimed_once_and_a_rollback_marks_the_original<H: Harness>() {
    use picket_store::{ActionRecord, ActionState, UndoPlan};
    let h = H::new().await;
    let s = h.open().await;
    let action = |id: &str, name: &str, undoes: Option<&str>| {
        let proposal = picket_policy::Proposal {
            action: name.into(),
            target: "10.0.0.9".into(),
            params: serde_json::json!({}),
            incident: None,
            proposer: picket_policy::Proposer::Analyst,
            requester: "carol".into(),
            protected: false,
            min_approvals: 0,
            asset_class: None,
            out_of_scope: false,
        };
        let decision = picket_policy::evaluate(
            &picket_policy::Policy::seed_defaults(),
            &proposal,
            &picket_policy::History::default(),
            ts(0),
        );
        ActionRecord {
            id: id.into(),
            created_at: ts(0),
            updated_at: ts(0),
            state: ActionState::Approved,
            approvals_needed: 0,
            proposal,
            decision,
            execution: picket_store::Execution {
                undoes: undoes.map(Into::into),
                ..Default::default()
            },
        }
    };
    s.insert_action(&action("a1", "block_ip", None))
        .await
        .unwrap();
    assert_eq!(s.approved_actions(10).await.unwrap().len(), 1);
    let undo = UndoPlan {
        action: "unblock_ip".into(),
        target: "10.0.0.9".into(),
        params: serde_json::json!({}),
        responder: Some("fw".into()),
    };
    let claimed = s
        .claim_action("a1", "fw", Some(&undo), ts(5))
        .await
        .unwrap()
        .expect("claimed");
    assert_eq!(claimed.state, ActionState::Executing);
    assert_eq!(claimed.execution.attempts, 1);
    assert_eq!(
        claimed.execution.undo.as_ref(),
        Some(&undo),
        "undo recorded before it runs"
    );
    assert!(
        s.claim_action("a1", "fw", None, ts(6))
            .await
            .unwrap()
            .is_none(),
        "a second claim loses"
    );
    assert!(s.approved_actions(10).await.unwrap().is_empty());
    // The process restarts mid-call: the action is still executing, with its undo.
    drop(s);
    let s = h.open().await;
    let again = s.resume_action("a1", ts(7)).await.unwrap().unwrap();
    assert_eq!(again.execution.attempts, 2);
    let done = s
        .finish_action(
            "a1",
            true,
            &serde_json::json!({"summary": "blocked"}),
            ts(8),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.state, ActionState::Succeeded);
    assert_eq!(done.execution.finished_at, Some(ts(8)));
    assert!(
        s.finish_action("a1", false, &serde_json::json!({}), ts(9))
            .await
            .unwrap()
            .is_none(),
        "a finished action cannot finish again"
    );
    // Its undo, as a new action; when it succeeds the original is rolled back.
    s.insert_action(&action("a2", "unblock_ip", Some("a1")))
        .await
        .unwrap();
    s.claim_action("a2", "fw", None, ts(10))
        .await
        .unwrap()
        .unwrap();
    s.finish_action(
        "a2",
        true,
        &serde_json::json!({"summary": "unblocked"}),
        ts(11),
    )
    .await
    .unwrap()
    .unwrap();
    let (a1, _) = s.get_action("a1").await.unwrap().unwrap();
    assert_eq!(a1.state, ActionState::RolledBack);
    assert_eq!(a1.execution.rolled_back_by.as_deref(), Some("a2"));

    // The policy's history: recent actions, and an incident's active ones whatever their age.
    let mut old = action("a3", "isolate_host", None);
    old.proposal.incident = Some("inc_9".into());
    s.insert_action(&old).await.unwrap();
    let seen = |v: Vec<picket_policy::Executed>| {
        let mut v: Vec<(String, bool)> = v.into_iter().map(|e| (e.action, e.undone)).collect();
        v.sort();
        v
    };
    let hist = s.policy_history(ts(0), None).await.unwrap();
    assert!(hist.iter().all(|e| e.target == "10.0.0.9" && !e.automated));
    assert_eq!(
        seen(hist),
        [
            ("block_ip".to_owned(), true),
            ("isolate_host".to_owned(), false),
            ("unblock_ip".to_owned(), false)
        ]
    );
    assert!(s.policy_history(ts(100), None).await.unwrap().is_empty());
    let hist = s.policy_history(ts(100), Some("inc_9")).await.unwrap();
    assert_eq!(seen(hist), [("isolate_host".to_owned(), false)]);

    // The response pause: first reason stands; resume clears it; it survives a reopen.
    assert!(s.response_pause().await.unwrap().is_none());
    s.set_response_pause(Some("breaker: spike"), ts(20))
        .await
        .unwrap();
    s.set_response_pause(Some("flood"), ts(21)).await.unwrap();
    drop(s);
    let s = h.open().await;
    assert_eq!(
        s.response_pause().await.unwrap(),
        Some(("breaker: spike".to_owned(), ts(20)))
    );
    s.set_response_pause(None, ts(30)).await.unwrap();
    assert!(s.response_pause().await.unwrap().is_none());

    // A playbook version runs once per incident, also after a reopen; a new version runs again.
    assert!(
        s.claim_playbook_run("inc_1", "c2", "1.0", "aa", ts(40))
            .await
            .unwrap()
    );
    assert!(
        !s.claim_playbook_run("inc_1", "c2", "1.0", "aa", ts(41))
            .await
            .unwrap()
    );
    drop(s);
    let s = h.open().await;
    assert!(
        !s.claim_playbook_run("inc_1", "c2", "1.0", "aa", ts(42))
            .await
            .unwrap()
    );
    assert!(
        s.claim_playbook_run("inc_1", "c2", "1.1", "bb", ts(43))
            .await
            .unwrap()
    );
    assert!(
        s.claim_playbook_run("inc_2", "c2", "1.0", "aa", ts(44))
            .await
            .unwrap()
    );
}
