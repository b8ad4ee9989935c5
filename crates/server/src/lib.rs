//! Picket's HTTP API and the triage worker behind it.
//!
//! Alerts come in through `POST /api/v1/alerts`, are normalized (picket_ingest), durably stored as
//! pending (picket_store) and acknowledged; the [`Worker`] then feeds them to the triage engine in
//! insertion order and stores the incidents it builds. Analysts read incidents and record verdicts,
//! which flow back into the engine as feedback.
//!
//! The CLI calls [`serve`] (or [`prepare`] + [`router`] + [`Worker::run`] to wire things itself).

pub mod agent;
pub mod audit;
pub mod auth;
pub mod config;
mod enrichment;
pub mod error;
pub(crate) mod mcp;
mod metrics;
pub mod openapi;
mod report;
mod response;
mod routes;
mod state;
mod worker;

use std::future::Future;
use std::sync::{Arc, Mutex};

use picket_store::Store;
use tokio::sync::{Notify, watch};

pub use agent::{AgentConfig, AgentSetup};
pub use audit::Auditor;
pub use auth::{Auth, Caller, Permission, Role};
pub use config::{ServerConfig, TokenConfig};
pub use enrichment::StoreCache;
pub use error::{ApiError, ServerError};
pub use report::{ReportFormat, incident_report};
pub use response::timeouts::sweep_action_timeouts;
pub use routes::alerts::dead_letter;
pub use routes::router;
pub use state::ResponseSettings;
pub use state::{AgentParts, AppState, Pipeline};
pub use worker::Worker;

/// Checks the configuration, loads the tokens (from their environment variables or files), restores
/// the triage engine from the store, and returns the router's state and the worker, not yet running.
pub async fn prepare(
    config: &ServerConfig,
    store: Arc<dyn Store>,
    pipeline: Pipeline,
) -> Result<(AppState, Worker), ServerError> {
    let problems = config.check();
    if !problems.is_empty() {
        return Err(ServerError::Config(problems));
    }
    let auth = Auth::load(config)?;
    prepare_with_auth(config, auth, store, pipeline).await
}

/// [`prepare`] with tokens supplied by the caller.
pub async fn prepare_with_auth(
    config: &ServerConfig,
    auth: Auth,
    store: Arc<dyn Store>,
    pipeline: Pipeline,
) -> Result<(AppState, Worker), ServerError> {
    if auth.is_open()
        && !(config.allow_unauthenticated_loopback && config.listen.ip().is_loopback())
    {
        return Err(ServerError::Config(vec![(
            "tokens".to_owned(),
            "no tokens: refusing to serve without authentication (see allow_unauthenticated_loopback)"
                .to_owned(),
        )]));
    }
    let (rebuild_cfg, rebuild_knowledge) = (pipeline.triage.clone(), pipeline.knowledge.clone());
    let (engine, replayed) =
        worker::restore_engine(store.as_ref(), pipeline.triage, pipeline.knowledge).await?;
    let engine = Arc::new(Mutex::new(engine));
    let policy = Arc::new(
        pipeline
            .policy
            .clone()
            .unwrap_or_else(picket_policy::Policy::seed_defaults),
    );
    let response = Arc::new(response::Response {
        store: store.clone(),
        policy: policy.clone(),
        responders: pipeline.responders.clone(),
        auditor: pipeline.auditor.clone(),
        engine: engine.clone(),
        wake: Notify::new(),
        action_timeout: std::time::Duration::from_secs(
            pipeline.response.action_timeout_secs.max(1),
        ),
        playbooks: pipeline.playbooks.clone(),
        concurrency: pipeline.response.executor_concurrency,
        pause_cache: Mutex::new(None),
    });
    let metrics = Arc::new(metrics::Metrics::new());
    let index = open_index(pipeline.agent.index_dir.as_deref());
    if let Some(ix) = &index
        && ix.is_empty().unwrap_or(true)
    {
        match agent::reindex(store.as_ref(), ix).await {
            Ok(n) => tracing::info!(incidents = n, "similar-incident index built"),
            Err(e) => tracing::warn!(error = %e, "building the similar-incident index failed"),
        }
    }
    let toolbox: Arc<dyn picket_agent::Toolbox> = Arc::new(agent::tools::ServiceToolbox {
        store: store.clone(),
        engine: engine.clone(),
        response: response.clone(),
        enricher: pipeline.enricher.clone(),
        index: index.clone(),
        siems: pipeline.agent.siems.clone(),
    });
    let agent = pipeline.agent.setup.and_then(|setup| {
        agent::Agent::start(
            setup,
            toolbox.clone(),
            store.clone(),
            pipeline.auditor.clone(),
            metrics.clone(),
            &pipeline.playbooks,
        )
    });
    let shared = state::Shared {
        agent: agent.clone(),
        toolbox,
        engine,
        wake: Arc::new(Notify::new()),
        metrics,
        enricher: pipeline.enricher.clone(),
        auditor: pipeline.auditor.clone(),
        response: response.clone(),
        soc: pipeline.soc.clone(),
        flood: Arc::new(response::flood::FloodGuard::new(
            pipeline.response.flood_min_per_minute,
            pipeline.response.flood_factor,
        )),
    };
    let worker = Worker::new(
        store.clone(),
        shared.engine.clone(),
        shared.wake.clone(),
        shared.metrics.clone(),
        config.worker_batch,
        (rebuild_cfg, rebuild_knowledge, config.engine_max_groups),
    );
    let worker = if pipeline.playbooks.is_empty() {
        worker
    } else {
        worker.with_playbooks(response.clone())
    };
    let worker = worker.with_agent(agent, index.map(agent::Indexer::start));
    let worker = match &pipeline.auditor {
        Some(a) => worker.with_auditor(a.clone()),
        None => worker,
    };
    let worker = match &pipeline.enricher {
        Some(e) if !e.is_empty() => worker.with_intel(e.clone(), replayed),
        _ => worker,
    };
    let state = AppState::new(
        config,
        auth,
        store,
        pipeline.normalizer,
        pipeline.mappings,
        pipeline.warninglists,
        shared,
    )?;
    Ok((state, worker))
}

/// The similar-incident index: on disk in `dir` (rebuilt when its schema changed or it is
/// damaged), in memory without one. `None` only when neither can be opened.
fn open_index(dir: Option<&std::path::Path>) -> Option<Arc<picket_search::IncidentIndex>> {
    let opened = match dir {
        None => picket_search::IncidentIndex::in_memory(),
        Some(d) => match picket_search::IncidentIndex::open(d) {
            Err(e) if e.needs_rebuild() => {
                tracing::warn!(error = %e, "the incident index is unusable: rebuilding it");
                let _ = std::fs::remove_dir_all(d);
                picket_search::IncidentIndex::open(d)
            }
            other => other,
        },
    };
    match opened {
        Ok(i) => Some(Arc::new(i)),
        Err(e) => {
            tracing::error!(error = %e, "no similar-incident index: the similar_incidents and search_incidents tools are unavailable");
            None
        }
    }
}

/// Runs every approved action waiting (what the executor loop does each time it wakes); returns how
/// many ran. For tests and embedding; `serve` runs the loop itself.
pub async fn execute_approved(state: &AppState) -> Result<usize, picket_store::StoreError> {
    response::executor::run_pending(state.response()).await
}

/// Runs playbooks on incidents of the last day they have not run on (what the executor does on
/// start).
pub async fn rescan_playbooks(state: &AppState) -> Result<usize, picket_store::StoreError> {
    state.response().rescan_playbooks().await
}

/// Resolves actions a stopped process left executing (what the executor does on start).
pub async fn recover_actions(state: &AppState) -> Result<(), picket_store::StoreError> {
    response::executor::recover(state.response()).await
}

/// Serves until SIGINT or SIGTERM, then stops accepting requests, lets the worker finish its batch,
/// and closes the store.
pub async fn serve(
    config: ServerConfig,
    store: Arc<dyn Store>,
    pipeline: Pipeline,
) -> Result<(), ServerError> {
    serve_until(config, store, pipeline, shutdown_signal()).await
}

/// [`serve`] until `shutdown` completes.
pub async fn serve_until(
    config: ServerConfig,
    store: Arc<dyn Store>,
    pipeline: Pipeline,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let (state, worker) = prepare(&config, store.clone(), pipeline).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    tracing::info!(listen = %config.listen, open = state.auth().is_open(), "picket server listening");
    let auditor = state.auditor().cloned();
    let (stop_tx, stop_rx) = watch::channel(false);
    let refreshers = state
        .enricher()
        .map(|e| enrichment::spawn_refreshers(e))
        .unwrap_or_default();
    let sweeper = response::timeouts::spawn(state.response().clone());
    let executor = response::executor::spawn(state.response().clone(), stop_rx.clone());
    let worker_task = tokio::spawn(worker.run(stop_rx));
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down");
            let _ = stop_tx.send(true);
        })
        .await;
    for r in refreshers {
        r.abort();
    }
    sweeper.abort();
    // The sender is gone by now (sent or dropped): the worker ends after its current batch.
    if worker_task.await.is_err() {
        tracing::error!("triage worker panicked");
    }
    // The executor finishes the action it is running (its result is committed), then stops.
    if executor.await.is_err() {
        tracing::error!("action executor panicked");
    }
    if let Some(a) = auditor {
        // The stop, and a final signed checkpoint, before the store closes.
        a.record(
            picket_audit::AuditKind::System,
            "picket",
            "service",
            serde_json::json!({"event": "stop"}),
        );
        a.flush().await;
    }
    store.close().await;
    served.map_err(ServerError::Serve)
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
