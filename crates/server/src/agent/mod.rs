//! The LLM agent in the service: investigations run beside triage, never in its way.
//!
//! The worker hands committed incidents to [`Agent::offer`], which queues the ones `[agent]` wants
//! without waiting (a full queue skips them, logged and counted). Investigations run in the
//! background, at most `concurrency` at once; each is stored with its cost (the cost-per-incident
//! metric reads it) and recorded as a decision in the audit trail. A failing, slow or over-budget
//! provider degrades an investigation, never triage: the deterministic result stands and the
//! stored investigation says why.

pub mod config;
pub(crate) mod tools;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use picket_agent::guard::GuardedProvider;
use picket_agent::investigate::{Investigation, Investigator, Mode, Settings};
use picket_core::{Incident, IntelVerdict};
use picket_store::{InvestigationRecord, Store, StoreError};
use tokio::sync::{Semaphore, mpsc};

pub use config::{AgentConfig, AutoInvestigate, ModeRoute};

use crate::audit::Auditor;
use crate::metrics::Metrics;

/// Incident ids remembered as queued before the set starts afresh.
const MAX_SEEN: usize = 100_000;

/// What `picket serve` builds from `[agent]`, `[[llm]]` and `[[siem]]`.
pub struct AgentSetup {
    pub config: AgentConfig,
    /// The providers to investigate with, the first primary (guards included).
    pub providers: Vec<Arc<GuardedProvider>>,
}

/// One investigation to run.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) incident: String,
    pub(crate) mode: Option<Mode>,
    pub(crate) requested_by: String,
}

pub(crate) struct Agent {
    pub(crate) config: AgentConfig,
    investigator: Investigator,
    store: Arc<dyn Store>,
    auditor: Option<Auditor>,
    metrics: Arc<Metrics>,
    queue: mpsc::Sender<Job>,
    /// Incidents queued or investigated automatically since start (each once).
    seen: Mutex<HashSet<String>>,
    /// Playbooks and the mode they ask for (`investigate = "…"` in the playbook).
    playbook_modes: Vec<(picket_playbook::Playbook, Mode)>,
}

impl Agent {
    /// Starts the agent's runner; returns `None` when `[agent]` is off.
    pub(crate) fn start(
        setup: AgentSetup,
        toolbox: Arc<dyn picket_agent::Toolbox>,
        store: Arc<dyn Store>,
        auditor: Option<Auditor>,
        metrics: Arc<Metrics>,
        playbooks: &[picket_playbook::Playbook],
    ) -> Option<Arc<Self>> {
        if !setup.config.enabled || setup.providers.is_empty() {
            return None;
        }
        let c = &setup.config;
        let settings = Settings {
            max_turns: c.max_turns,
            max_tokens: c.max_tokens,
            max_workers: c.max_workers,
            blackboard_rounds: c.blackboard_rounds,
            deadline: std::time::Duration::from_secs(c.deadline_secs),
            propose: c.propose,
            catalog: picket_policy::default_catalog()
                .into_iter()
                .map(|a| a.name)
                .collect(),
        };
        let investigator = Investigator::new(setup.providers, toolbox, settings).ok()?;
        let (tx, rx) = mpsc::channel(c.queue);
        let playbook_modes = playbooks
            .iter()
            .filter_map(|p| {
                p.investigate
                    .as_deref()
                    .and_then(Mode::parse)
                    .map(|m| (p.clone(), m))
            })
            .collect();
        let agent = Arc::new(Self {
            config: setup.config,
            investigator,
            store,
            auditor,
            metrics,
            queue: tx,
            seen: Mutex::new(HashSet::new()),
            playbook_modes,
        });
        tokio::spawn(run(agent.clone(), rx));
        Some(agent)
    }

    /// Queues the committed incidents `[agent]` wants, once each, without waiting. (The runner
    /// also skips an incident the store already holds an investigation of, so a restart does not
    /// investigate again; the in-memory set only spares the queue, and is bounded.)
    pub(crate) fn offer(&self, incidents: &[Incident]) {
        for i in incidents.iter().filter(|i| self.config.wants(i)) {
            {
                let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
                if seen.len() >= MAX_SEEN {
                    seen.clear();
                }
                if !seen.insert(i.id.clone()) {
                    continue;
                }
            }
            let job = Job {
                incident: i.id.clone(),
                mode: None,
                requested_by: "worker".into(),
            };
            if let Err(e) = self.queue.try_send(job) {
                self.metrics.agent_skipped();
                tracing::warn!(incident = %i.id, error = %e, "agent queue full: investigation skipped; the deterministic result stands");
            }
        }
    }

    /// Queues an investigation a user asked for.
    pub(crate) fn request(&self, job: Job) -> Result<(), String> {
        self.queue
            .try_send(job)
            .map_err(|_| "the agent's queue is full; try again later".to_owned())
    }

    fn mode_for(&self, incident: &Incident, asked: Option<Mode>) -> Mode {
        asked.unwrap_or_else(|| {
            let playbook = self
                .playbook_modes
                .iter()
                .find(|(p, _)| p.matches(incident).unwrap_or(false))
                .map(|(_, m)| *m);
            self.config.mode_for(incident, playbook)
        })
    }

    /// Runs a queued job: automatic ones only for incidents not investigated yet.
    async fn run_job(&self, job: &Job) -> Result<(), StoreError> {
        if job.requested_by == "worker"
            && !self.store.investigations(&job.incident).await?.is_empty()
        {
            return Ok(());
        }
        self.investigate(job).await.map(|_| ())
    }

    /// Runs one investigation and stores it.
    pub(crate) async fn investigate(&self, job: &Job) -> Result<Option<Investigation>, StoreError> {
        let Some(incident) = self.store.get_incident(&job.incident).await? else {
            return Ok(None);
        };
        let mode = self.mode_for(&incident, job.mode);
        let intel_malicious = incident.enrichment.as_ref().is_some_and(|e| {
            e.indicators
                .iter()
                .any(|i| i.verdict == IntelVerdict::Malicious)
        });
        let started = Timestamp::now();
        let inv = self
            .investigator
            .investigate(&incident, mode, intel_malicious)
            .await;
        let finished = Timestamp::now();
        let record = InvestigationRecord {
            id: picket_core::hash::stable_id(
                "inv",
                &[incident.id.as_bytes(), started.to_string().as_bytes()],
            ),
            incident_id: incident.id.clone(),
            mode: mode.as_str().to_owned(),
            provider: inv.provider.clone(),
            status: inv.status.clone(),
            verdict: inv.verdict,
            started_at: started,
            finished_at: finished,
            input_tokens: inv.usage.input_tokens,
            output_tokens: inv.usage.output_tokens,
            cost: inv.cost,
            doc: serde_json::to_value(&inv).unwrap_or_default(),
        };
        self.store.insert_investigation(&record).await?;
        self.metrics.investigated(&inv);
        if let Some(a) = &self.auditor {
            a.record(
                picket_audit::AuditKind::Decision,
                &format!("agent:{}", inv.provider),
                &format!("incident:{}", incident.id),
                serde_json::json!({
                    "event": "investigation", "id": record.id, "mode": mode.as_str(),
                    "requested_by": job.requested_by, "status": inv.status,
                    "degraded": inv.degraded, "engine_verdict": inv.engine_verdict,
                    "model_verdict": inv.model_verdict, "verdict": inv.verdict,
                    "review_reason": inv.review_reason, "injection": inv.injection,
                    "refused": inv.refused,
                    "tool_calls": inv.tool_calls.iter().map(|t| serde_json::json!({"agent": t.agent, "tool": t.tool, "arguments": t.arguments, "is_error": t.is_error})).collect::<Vec<_>>(),
                    "proposals": inv.proposals, "calls": inv.calls, "usage": inv.usage, "cost": inv.cost,
                }),
            );
        }
        if let Some(d) = &inv.degraded {
            tracing::warn!(incident = %incident.id, code = %d.code, step = %d.step, "investigation degraded: the deterministic result stands");
        }
        Ok(Some(inv))
    }
}

async fn run(agent: Arc<Agent>, mut rx: mpsc::Receiver<Job>) {
    let slots = Arc::new(Semaphore::new(agent.config.concurrency.max(1)));
    while let Some(job) = rx.recv().await {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let agent = agent.clone();
        tokio::spawn(async move {
            if let Err(e) = agent.run_job(&job).await {
                tracing::error!(incident = %job.incident, error = %e, "storing an investigation failed");
            }
            drop(permit);
        });
    }
}

/// Keeps the similar-incident index current: committed incidents are indexed in the background,
/// never holding the worker (a full queue skips a batch; the next start re-indexes everything).
pub(crate) struct Indexer {
    tx: mpsc::Sender<Vec<Incident>>,
}

impl Indexer {
    pub(crate) fn start(index: Arc<picket_search::IncidentIndex>) -> Self {
        let (tx, mut rx) = mpsc::channel::<Vec<Incident>>(1024);
        tokio::spawn(async move {
            while let Some(batch) = rx.recv().await {
                let index = index.clone();
                let res = tokio::task::spawn_blocking(move || index.upsert(&batch)).await;
                match res {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::warn!(error = %e, "indexing incidents failed"),
                    Err(e) => tracing::warn!(error = %e, "indexing incidents panicked"),
                }
            }
        });
        Self { tx }
    }

    pub(crate) fn offer(&self, incidents: &[Incident]) {
        if !incidents.is_empty() && self.tx.try_send(incidents.to_vec()).is_err() {
            tracing::warn!("incident index queue full: batch skipped until the next start");
        }
    }
}

/// Indexes every stored incident (at start, when the index is new or behind).
pub(crate) async fn reindex(
    store: &dyn Store,
    index: &Arc<picket_search::IncidentIndex>,
) -> Result<u64, StoreError> {
    let mut pages = picket_store::IncidentPages::new(picket_store::IncidentFilter {
        limit: 1000,
        ..picket_store::IncidentFilter::default()
    });
    let mut n = 0;
    while let Some(page) = pages.next(store).await? {
        n += page.len() as u64;
        let index = index.clone();
        let res = tokio::task::spawn_blocking(move || index.upsert(&page)).await;
        if let Ok(Err(e)) = res {
            tracing::warn!(error = %e, "re-indexing incidents failed");
            break;
        }
    }
    Ok(n)
}
