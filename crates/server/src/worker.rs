//! The triage worker: pending alerts from the store, through the engine, incidents back to the store.
//!
//! Each step reads a batch of pending alerts in insertion order, pushes them into the engine, and
//! commits the changed incidents, the rule counts and the "processed" marks in one transaction. A
//! crash before the commit leaves the alerts pending: after a restart the engine is rebuilt from
//! processed alerts only, so they are triaged again, exactly once in the store's eyes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use picket_store::{Store, StoreError, TriageCommit};
use picket_triage::engine::{Pushed, entity_names};
use picket_triage::knowledge::rule_key;
use picket_triage::{Engine, Knowledge, TriageConfig};
use tokio::sync::{Notify, watch};

use crate::metrics::Metrics;

/// Rebuilds the engine as it stood: analyst feedback and the rule baseline from the store, then the
/// processed alerts of the last correlation/dedup horizon replayed so that new alerts join the
/// incidents they belong to.
pub(crate) async fn restore_engine(
    store: &dyn Store,
    cfg: TriageConfig,
    mut knowledge: Knowledge,
) -> Result<Engine, StoreError> {
    for (rule, incident, verdict) in store.feedback_by_rule().await? {
        knowledge.feedback.record(&rule, &incident, verdict);
    }
    let mut baseline = store.load_rule_counts().await?;
    let replay = match store.latest_processed_time().await? {
        Some(latest) => {
            let horizon = cfg.correlation_window_secs.max(cfg.dedup_window_secs);
            let since = latest
                .checked_sub(SignedDuration::from_secs(
                    i64::try_from(horizon).unwrap_or(i64::MAX),
                ))
                .unwrap_or(Timestamp::MIN);
            store.alerts_since(since).await?
        }
        None => Vec::new(),
    };
    // The replayed alerts are counted in the stored baseline already; the engine counts them again as
    // it replays them, so take them out of the baseline to keep "prior" meaning "before the window".
    for a in &replay {
        let key = rule_key(a);
        for e in entity_names(a) {
            if let Some(n) = baseline.get_mut(&(key.clone(), e)) {
                *n = n.saturating_sub(1);
            }
        }
    }
    baseline.retain(|_, n| *n > 0);
    knowledge.baseline.extend(baseline);
    let mut engine = Engine::new(cfg, knowledge);
    for a in &replay {
        engine.push(a);
    }
    // Those incidents are stored already.
    engine.drain_updated();
    tracing::info!(replayed = replay.len(), "triage engine restored");
    Ok(engine)
}

/// The background task that triages stored alerts.
pub struct Worker {
    store: Arc<dyn Store>,
    engine: Arc<Mutex<Engine>>,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    batch: u32,
    /// What the engine is rebuilt from (settings, inventory, suppressions) and the number of groups
    /// that triggers a rebuild: the engine keeps every group it has seen, so a long-running service
    /// periodically starts afresh from the replayed window, as a restart does.
    rebuild: (TriageConfig, Knowledge, usize),
    /// A step the engine has taken but the store has not committed (the commit failed): committed
    /// first next time, since the engine will not emit those incidents again.
    unsaved: Option<(TriageCommit, Vec<Timestamp>)>,
}

/// How long the idle worker sleeps before looking at the queue without being woken.
const IDLE_POLL: Duration = Duration::from_secs(5);
const RETRY_DELAY: Duration = Duration::from_secs(1);

impl Worker {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        engine: Arc<Mutex<Engine>>,
        wake: Arc<Notify>,
        metrics: Arc<Metrics>,
        batch: u32,
        rebuild: (TriageConfig, Knowledge, usize),
    ) -> Self {
        Self {
            store,
            engine,
            wake,
            metrics,
            batch,
            rebuild,
            unsaved: None,
        }
    }

    /// Replaces the engine by one rebuilt from the store's recent window when it has grown past the
    /// configured number of groups. Returns whether it did.
    pub async fn compact_if_needed(&mut self) -> Result<bool, StoreError> {
        let (cfg, knowledge, max_groups) = &self.rebuild;
        let groups = self
            .engine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .group_count();
        if groups <= *max_groups {
            return Ok(false);
        }
        let fresh = restore_engine(self.store.as_ref(), cfg.clone(), knowledge.clone()).await?;
        tracing::info!(
            before = groups,
            after = fresh.group_count(),
            "triage engine compacted"
        );
        *self.engine.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
        self.metrics.compacted();
        Ok(true)
    }

    /// Triages one batch; returns how many pending alerts it processed (0 when the queue was empty).
    pub async fn run_once(&mut self) -> Result<usize, StoreError> {
        if let Some((step, received)) = self.unsaved.take() {
            return self.commit(step, received).await;
        }
        let pending = self.store.pending_alerts(self.batch).await?;
        if pending.is_empty() {
            return Ok(0);
        }
        let mut counts: HashMap<(String, String), u64> = HashMap::new();
        let incidents = {
            // A poisoned lock means a panic inside the engine: nothing sensible to continue with.
            let mut engine = self
                .engine
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for p in &pending {
                if engine.push(&p.alert) != Pushed::Duplicate {
                    let key = rule_key(&p.alert);
                    for e in entity_names(&p.alert) {
                        *counts.entry((key.clone(), e)).or_default() += 1;
                    }
                }
            }
            engine.drain_updated()
        };
        let step = TriageCommit {
            incidents,
            rule_counts: counts.into_iter().map(|((r, e), n)| (r, e, n)).collect(),
            processed: pending.iter().map(|p| p.seq).collect(),
        };
        let received = pending.iter().map(|p| p.received_at).collect();
        self.commit(step, received).await
    }

    async fn commit(
        &mut self,
        step: TriageCommit,
        received: Vec<Timestamp>,
    ) -> Result<usize, StoreError> {
        if let Err(e) = self.store.commit_triage(&step).await {
            self.unsaved = Some((step, received));
            return Err(e);
        }
        let now = Timestamp::now();
        for r in &received {
            let waited = now.duration_since(*r).unsigned_abs();
            self.metrics.triaged(waited);
        }
        tracing::debug!(
            alerts = step.processed.len(),
            incidents = step.incidents.len(),
            "triage step committed"
        );
        self.compact_if_needed().await?;
        Ok(step.processed.len())
    }

    /// Runs until `shutdown` turns true (or its sender is dropped), finishing the batch in progress.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            match self.run_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = tokio::time::sleep(IDLE_POLL) => {}
                        r = shutdown.changed() => if r.is_err() { break },
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "triage step failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY_DELAY) => {}
                        r = shutdown.changed() => if r.is_err() { break },
                    }
                }
            }
        }
        tracing::info!("triage worker stopped");
    }
}
