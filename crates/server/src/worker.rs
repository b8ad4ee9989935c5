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
) -> Result<(Engine, Vec<picket_core::Observable>), StoreError> {
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
    let mut seen = std::collections::HashSet::new();
    let observables = replay
        .into_iter()
        .flat_map(|a| a.observables)
        .filter(|o| seen.insert((o.kind, o.value.clone())))
        .collect();
    Ok((engine, observables))
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
    /// Background enrichment of triaged alerts' indicators; answers come back through it.
    intel: Option<crate::enrichment::IntelPath>,
    /// Every committed assessment is recorded as a decision.
    auditor: Option<crate::audit::Auditor>,
    /// Runs playbooks on committed incidents.
    response: Option<Arc<crate::response::Response>>,
    /// Investigates committed incidents in the background.
    agent: Option<Arc<crate::agent::Agent>>,
    /// Indexes committed incidents in the background.
    indexer: Option<crate::agent::Indexer>,
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
            intel: None,
            auditor: None,
            response: None,
            agent: None,
            indexer: None,
        }
    }

    pub(crate) fn with_agent(
        mut self,
        agent: Option<Arc<crate::agent::Agent>>,
        indexer: Option<crate::agent::Indexer>,
    ) -> Self {
        self.agent = agent;
        self.indexer = indexer;
        self
    }

    pub(crate) fn with_playbooks(mut self, response: Arc<crate::response::Response>) -> Self {
        self.response = Some(response);
        self
    }

    pub(crate) fn with_auditor(mut self, auditor: crate::audit::Auditor) -> Self {
        self.auditor = Some(auditor);
        self
    }

    /// Enriches the indicators of every alert triaged from now on, and of the alerts the engine
    /// replayed at start (their answers mostly come from the cache).
    pub(crate) fn with_intel(
        mut self,
        enricher: Arc<picket_enrich::Enricher>,
        replayed: Vec<picket_core::Observable>,
    ) -> Self {
        let max = enricher.config().max_indicators;
        let mut path = crate::enrichment::IntelPath::new(enricher, max);
        path.request_observables(replayed);
        self.intel = Some(path);
        self
    }

    /// Hands intel answers to the engine and commits the incidents they re-assess.
    pub async fn apply_intel(
        &mut self,
        answers: Vec<picket_core::IndicatorEnrichment>,
    ) -> Result<usize, StoreError> {
        let incidents = {
            let mut engine = self.engine.lock().unwrap_or_else(|p| p.into_inner());
            engine.add_intel(answers);
            engine.drain_updated()
        };
        let n = incidents.len();
        if n > 0 {
            let events =
                picket_store::lifecycle_events(&incidents, &HashMap::new(), Timestamp::now());
            let step = TriageCommit {
                incidents,
                rule_counts: Vec::new(),
                processed: Vec::new(),
                events,
            };
            self.commit(step, Vec::new()).await?;
            tracing::debug!(incidents = n, "incidents re-assessed with threat intel");
        }
        Ok(n)
    }

    /// Replaces the engine by one rebuilt from the store's recent window when it has grown past the
    /// configured number of groups. Returns whether it did.
    pub async fn compact_if_needed(&mut self) -> Result<bool, StoreError> {
        let (cfg, knowledge, max_groups) = &self.rebuild;
        let (groups, intel) = {
            let engine = self.engine.lock().unwrap_or_else(|p| p.into_inner());
            (engine.group_count(), engine.knowledge().intel.clone())
        };
        if groups <= *max_groups {
            return Ok(false);
        }
        // Intel already known carries over, so replayed incidents keep their intel evidence.
        let mut knowledge = knowledge.clone();
        knowledge.intel = intel;
        let (mut fresh, _) = restore_engine(self.store.as_ref(), cfg.clone(), knowledge).await?;
        fresh.prune_intel();
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
        if let Some(intel) = &mut self.intel {
            intel.request(pending.iter().map(|p| &p.alert));
        }
        let received: HashMap<String, Timestamp> = pending
            .iter()
            .map(|p| (p.alert.id.clone(), p.received_at))
            .collect();
        let events = picket_store::lifecycle_events(&incidents, &received, Timestamp::now());
        let step = TriageCommit {
            incidents,
            rule_counts: counts.into_iter().map(|((r, e), n)| (r, e, n)).collect(),
            processed: pending.iter().map(|p| p.seq).collect(),
            events,
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
        if let Some(a) = &self.auditor {
            for i in &step.incidents {
                a.record(
                    picket_audit::AuditKind::Decision,
                    "worker",
                    &format!("incident:{}", i.id),
                    serde_json::json!({
                        "verdict": i.verdict, "priority": i.priority, "confidence": i.confidence,
                        "escalation": i.escalation, "confidence_note": i.confidence_note,
                        "evidence": i.evidence,
                        "alerts": i.alerts.iter().map(|r| serde_json::json!({"id": r.id, "raw_sha256": r.raw_sha256})).collect::<Vec<_>>(),
                    }),
                );
            }
        }
        if let Some(r) = &self.response
            && let Err(e) = r.run_playbooks(&step.incidents).await
        {
            // The incidents are committed; the rescan at the next start runs what was missed.
            tracing::error!(error = %e, "running playbooks failed");
        }
        // Neither waits: a full queue skips (and logs), triage goes on.
        if let Some(ix) = &self.indexer {
            ix.offer(&step.incidents);
        }
        if let Some(a) = &self.agent {
            a.offer(&step.incidents);
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

    /// Waits up to `wait` for enrichment answers and applies each batch that arrives, returning once
    /// no further batch comes within 200 ms of the last (for tests and tools driving the worker step
    /// by step; `run` does this by itself). Returns the incidents re-assessed.
    pub async fn settle_intel(&mut self, wait: Duration) -> Result<usize, StoreError> {
        let mut deadline = tokio::time::Instant::now() + wait;
        let mut n = 0;
        loop {
            let Some(intel) = self.intel.as_mut() else {
                return Ok(n);
            };
            match tokio::time::timeout_at(deadline, intel.next()).await {
                Ok(Some(answers)) => {
                    n += self.apply_intel(answers).await?;
                    deadline =
                        deadline.min(tokio::time::Instant::now() + Duration::from_millis(200));
                }
                _ => return Ok(n),
            }
        }
    }

    async fn apply_or_log(&mut self, answers: Vec<picket_core::IndicatorEnrichment>) {
        if let Err(e) = self.apply_intel(answers).await {
            // The step is kept in `unsaved` and committed before the next batch.
            tracing::error!(error = %e, "storing intel re-assessment failed; retrying");
        }
    }

    /// Runs until `shutdown` turns true (or its sender is dropped), finishing the batch in progress.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            // Intel answers that arrived meanwhile (also while the queue is busy).
            while let Some(answers) = self.intel.as_mut().and_then(|i| i.try_next()) {
                self.apply_or_log(answers).await;
            }
            match self.run_once().await {
                Ok(n) if n > 0 => continue,
                Ok(_) => {
                    let wake = self.wake.clone();
                    let intel = async {
                        match self.intel.as_mut() {
                            Some(i) => i.next().await,
                            None => std::future::pending().await,
                        }
                    };
                    let answers = tokio::select! {
                        _ = wake.notified() => None,
                        a = intel => a,
                        _ = tokio::time::sleep(IDLE_POLL) => None,
                        r = shutdown.changed() => if r.is_err() { break } else { None },
                    };
                    if let Some(a) = answers {
                        self.apply_or_log(a).await;
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
