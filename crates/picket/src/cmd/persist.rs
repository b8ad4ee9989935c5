//! The store behind `picket triage --data-dir` and `picket verdict`: the same SQLite database that
//! `picket serve` uses, so offline triage, analyst feedback and the service share history.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use picket_core::{Alert, Incident};
use picket_ingest::RecordError;
use picket_store::{DeadLetter, SqliteStore, Store, TriageCommit};
use picket_triage::engine::entity_names;
use picket_triage::knowledge::rule_key;
use picket_triage::{Engine, Knowledge};

/// Alerts inserted per transaction.
const BATCH: usize = 2_000;

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub async fn open(dir: &Path) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(dir)
        .await
        .with_context(|| format!("opening the store in {}", dir.display()))
}

/// Loads analyst feedback and the rule baseline into `knowledge`.
pub async fn load_history(store: &SqliteStore, knowledge: &mut Knowledge) -> anyhow::Result<()> {
    for (rule, incident, verdict) in store.feedback_by_rule().await? {
        knowledge.feedback.record(&rule, &incident, verdict);
    }
    knowledge.baseline = store.load_rule_counts().await?;
    Ok(())
}

/// Stores the alerts (raw bytes kept) and rejected records, then triages every pending alert in
/// insertion order (the alerts arrive sorted by event time), committing incidents, rule counts and
/// processed marks one batch per transaction, as the service's worker does. Returns (inserted,
/// duplicates). The caller finishes the engine and stores the final incidents with [`finish`].
pub async fn ingest_and_triage(
    store: &SqliteStore,
    alerts: Vec<Alert>,
    rejected: &[RecordError],
    engine: &mut Engine,
) -> anyhow::Result<(usize, usize)> {
    let now = jiff::Timestamp::now();
    let letters: Vec<DeadLetter> = rejected
        .iter()
        .map(|e| picket_server::dead_letter(e, now))
        .collect();
    if !letters.is_empty() {
        store.insert_dead_letters(&letters).await?;
    }
    let (mut inserted, mut duplicates) = (0, 0);
    for chunk in alerts.chunks(BATCH) {
        for o in store.insert_alerts(chunk).await? {
            match o {
                picket_store::InsertOutcome::Inserted => inserted += 1,
                picket_store::InsertOutcome::Duplicate => duplicates += 1,
            }
        }
    }
    drop(alerts);
    loop {
        let batch = store.pending_alerts(BATCH as u32).await?;
        if batch.is_empty() {
            break;
        }
        let mut counts: HashMap<(String, String), u64> = HashMap::new();
        for p in &batch {
            engine.push(&p.alert);
            let key = rule_key(&p.alert);
            for e in entity_names(&p.alert) {
                *counts.entry((key.clone(), e)).or_default() += 1;
            }
        }
        // One transaction per batch: incidents as they stand, the counts, and the processed marks.
        let incidents = engine.drain_updated();
        let received: std::collections::HashMap<String, jiff::Timestamp> = batch
            .iter()
            .map(|p| (p.alert.id.clone(), p.received_at))
            .collect();
        let events = picket_store::lifecycle_events(&incidents, &received, jiff::Timestamp::now());
        let step = TriageCommit {
            incidents,
            rule_counts: counts.into_iter().map(|((r, e), n)| (r, e, n)).collect(),
            processed: batch.iter().map(|p| p.seq).collect(),
            events,
        };
        store.commit_triage(&step).await?;
    }
    Ok((inserted, duplicates))
}

/// Stores the final state of the run's incidents and closes the store.
pub async fn finish(store: SqliteStore, incidents: &[Incident]) -> anyhow::Result<()> {
    store.upsert_incidents(incidents).await?;
    store.close().await;
    Ok(())
}
