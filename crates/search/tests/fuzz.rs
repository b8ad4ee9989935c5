//! Whatever strings an alert carries, indexing and searching do not panic.

mod common;

use std::sync::LazyLock;

use picket_core::{Incident, ObservableType};
use picket_search::{IncidentIndex, SearchError};
use proptest::prelude::*;

static INDEX: LazyLock<IncidentIndex> = LazyLock::new(|| IncidentIndex::in_memory().unwrap());

fn kinds() -> impl Strategy<Value = ObservableType> {
    proptest::sample::select(ObservableType::ALL.to_vec())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[ -~]{0,40}",
        // Query syntax and the characters tantivy's grammar treats specially.
        proptest::string::string_regex(r#"[a-z0-9:*()\[\]{}"'^~+\-!\\/<>=.,| ]{0,30}"#).unwrap(),
    ]
}

fn incident() -> impl Strategy<Value = Incident> {
    (
        text(),
        text(),
        proptest::collection::vec((kinds(), text()), 0..6),
        proptest::collection::vec(text(), 0..3),
        proptest::collection::vec(text(), 0..3),
        proptest::collection::vec(text(), 0..3),
    )
        .prop_map(|(id, title, observables, hosts, techniques, rules)| {
            let mut inc = common::incident("x", "t", &[]);
            inc.id = id;
            inc.title = title;
            inc.scope.hosts = hosts.clone();
            inc.scope.users = hosts;
            inc.observables = observables
                .into_iter()
                .map(|(kind, value)| picket_core::incident::ObservableRef {
                    kind,
                    value,
                    labels: vec![],
                    benign_lists: vec![],
                })
                .collect();
            inc.attack = techniques
                .into_iter()
                .map(|t| picket_core::AttackRef {
                    name: None,
                    technique: Some(t.clone()),
                    tactic: Some(t),
                })
                .collect();
            for r in rules {
                inc.evidence.push(picket_core::Evidence {
                    claim: r.clone(),
                    source: format!("history:{r}"),
                    weight: 0.1,
                });
            }
            inc
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(a in incident(), b in incident(), query in text(), limit in 0usize..20) {
        INDEX.upsert(&[a.clone(), b.clone()]).unwrap();
        for hit in INDEX.similar(&a, limit).unwrap() {
            prop_assert_ne!(&hit.incident_id, &a.id);
            prop_assert!(hit.score > 0.0 && hit.score.is_finite());
            prop_assert!(!hit.matched.is_empty());
        }
        INDEX.similar(&b, usize::MAX).unwrap();
        match INDEX.search(&query, limit) {
            Ok(hits) => prop_assert!(hits.len() <= limit),
            Err(SearchError::Query(_)) => {}
            Err(e) => return Err(TestCaseError::fail(format!("{query:?}: {e}"))),
        }
        INDEX.search(&a.title, 5).ok();
    }
}
