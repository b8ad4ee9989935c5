//! The worker's enrichment path: indicators of newly triaged alerts go to the enricher in the
//! background; its answers come back to the worker, which hands them to the engine and commits the
//! re-assessed incidents. Triage never waits for intel: an incident is stored at once and again when
//! its intel arrives (the verdict can rise then, see docs/enrichment.md).

use std::collections::HashSet;
use std::sync::Arc;

use picket_core::{Alert, IndicatorEnrichment, Observable, ObservableType};
use picket_enrich::Enricher;
use tokio::sync::{Semaphore, mpsc};

/// Enrichment batches running at once; more wait their turn (the connectors have their own caps).
const CONCURRENT_BATCHES: usize = 8;
/// Indicators remembered as requested; past this the set starts afresh (repeats then hit the cache).
const MAX_REQUESTED: usize = 1_000_000;
/// Batches waiting for a slot at most; past this (an indicator flood) new indicators are not queued
/// and not marked requested, so they are asked for again when they show up next, and memory stays
/// bounded. Triage is unaffected.
const MAX_QUEUED: usize = 1024;

pub(crate) struct IntelPath {
    enricher: Arc<Enricher>,
    chunk: usize,
    tx: mpsc::Sender<Vec<IndicatorEnrichment>>,
    rx: mpsc::Receiver<Vec<IndicatorEnrichment>>,
    requested: HashSet<(ObservableType, String)>,
    slots: Arc<Semaphore>,
    queued: Arc<std::sync::atomic::AtomicUsize>,
}

impl IntelPath {
    pub(crate) fn new(enricher: Arc<Enricher>, max_indicators: usize) -> Self {
        let (tx, rx) = mpsc::channel(256);
        Self {
            enricher,
            chunk: max_indicators.max(1),
            tx,
            rx,
            requested: HashSet::new(),
            slots: Arc::new(Semaphore::new(CONCURRENT_BATCHES)),
            queued: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        }
    }

    /// Requests enrichment of the alerts' indicators not requested before.
    pub(crate) fn request<'a>(&mut self, alerts: impl IntoIterator<Item = &'a Alert>) {
        use std::sync::atomic::Ordering;
        if self.queued.load(Ordering::Relaxed) >= MAX_QUEUED {
            tracing::warn!(
                queued = MAX_QUEUED,
                "enrichment backlog full: new indicators are not looked up now (asked again when seen next)"
            );
            return;
        }
        let mut fresh: Vec<Observable> = Vec::new();
        for a in alerts {
            for o in &a.observables {
                if self.requested.len() >= MAX_REQUESTED {
                    self.requested.clear();
                }
                if self.requested.insert((o.kind, o.value.clone())) {
                    fresh.push(o.clone());
                }
            }
        }
        self.request_observables(fresh);
    }

    pub(crate) fn request_observables(&mut self, fresh: Vec<Observable>) {
        use std::sync::atomic::Ordering;
        for chunk in fresh.chunks(self.chunk) {
            let chunk = chunk.to_vec();
            let (enricher, tx, slots) =
                (self.enricher.clone(), self.tx.clone(), self.slots.clone());
            let queued = self.queued.clone();
            queued.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let slot = slots.acquire_owned().await;
                queued.fetch_sub(1, Ordering::Relaxed);
                let Ok(_slot) = slot else {
                    return;
                };
                let subject = format!("indicators:{}", chunk.len());
                let e = enricher.enrich(&subject, &chunk).await;
                if !e.indicators.is_empty() {
                    // The worker may be gone (shutdown): the answers are in the cache anyway.
                    let _ = tx.send(e.indicators).await;
                }
            });
        }
    }

    /// A batch of answers if one is waiting.
    pub(crate) fn try_next(&mut self) -> Option<Vec<IndicatorEnrichment>> {
        self.rx.try_recv().ok()
    }

    /// The next batch of answers.
    pub(crate) async fn next(&mut self) -> Option<Vec<IndicatorEnrichment>> {
        self.rx.recv().await
    }
}

/// The store as the enrichment cache's backend: answers survive restarts.
pub struct StoreCache(pub Arc<dyn picket_store::Store>);

#[async_trait::async_trait]
impl picket_enrich::CacheBackend for StoreCache {
    async fn load(
        &self,
        keys: &[(String, ObservableType, String)],
        now: jiff::Timestamp,
    ) -> Vec<(picket_core::IntelResult, jiff::Timestamp)> {
        match self.0.intel_results(keys, now).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "intel cache read failed; asking the sources");
                Vec::new()
            }
        }
    }

    async fn save(&self, result: &picket_core::IntelResult, expires_at: jiff::Timestamp) {
        if let Err(e) = self.0.put_intel_result(result, expires_at).await {
            tracing::warn!(error = %e, source = %result.source, "intel cache write failed");
        }
    }
}

/// Starts one task per syncing source (TAXII collections) that refreshes it at once and then every
/// `refresh_interval`. The returned handles are aborted at shutdown.
pub(crate) fn spawn_refreshers(enricher: &Enricher) -> Vec<tokio::task::JoinHandle<()>> {
    let mut out = Vec::new();
    for g in enricher.sources() {
        let Some(every) = g.source.connector.refresh_interval() else {
            continue;
        };
        let g = g.clone();
        out.push(tokio::spawn(async move {
            loop {
                match g.source.connector.refresh().await {
                    Ok(Some(what)) => tracing::info!(connector = %g.name(), %what, "intel refreshed"),
                    Ok(None) => return,
                    Err(e) => {
                        tracing::warn!(connector = %g.name(), code = e.code(), error = %e, "intel refresh failed")
                    }
                }
                tokio::time::sleep(every).await;
            }
        }));
    }
    out
}
