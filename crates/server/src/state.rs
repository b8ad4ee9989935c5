//! What the handlers share: the store, the tokens, the normalizers, the engine, the worker's wake-up
//! and the metrics.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use picket_core::{ErrorCode, SourceFormat};
use picket_ingest::adapters::generic::GenericMapping;
use picket_ingest::{Normalizer, NormalizerOptions};
use picket_store::Store;
use picket_triage::{Engine, Knowledge, TriageConfig};
use tokio::sync::Notify;

use crate::auth::Auth;
use crate::config::ServerConfig;
use crate::error::{ApiError, ServerError};
use crate::metrics::Metrics;

/// The pure stages the server runs, built by the caller from picket.toml. The default has nothing
/// configured: detected formats only, no knowledge, intel, audit, responders, playbooks or agent.
#[derive(Default)]
pub struct Pipeline {
    /// Reads records sent without `?mapping=` (vendor formats detected from their shape).
    pub normalizer: Normalizer,
    /// Generic mappings selectable with `?mapping=NAME` (required for CSV).
    pub mappings: Vec<GenericMapping>,
    pub triage: TriageConfig,
    /// Inventory and suppressions. Feedback and the rule baseline are loaded from the store on top.
    pub knowledge: Knowledge,
    /// Known-benign lists marking observables of every alert received.
    pub warninglists: Option<picket_intel::Warninglists>,
    /// Threat-intel enrichment of triaged alerts' indicators (None: no connectors configured).
    pub enricher: Option<std::sync::Arc<picket_enrich::Enricher>>,
    /// The audit trail's writer (None: nothing is audited, e.g. in tests).
    pub auditor: Option<crate::audit::Auditor>,
    /// The response policy every proposed action goes through (None: the seed defaults).
    pub policy: Option<picket_policy::Policy>,
    /// The responders that carry out approved actions (none: actions wait, then fail `no_responder`).
    pub responders: picket_respond::Responders,
    /// Playbooks run on incidents as they are triaged (checked with `picket playbook check`).
    pub playbooks: Vec<picket_playbook::Playbook>,
    pub response: ResponseSettings,
    /// Rates and costs of the SOC metrics (`[metrics]`).
    pub soc: picket_metrics::Settings,
    /// The LLM agent, the SIEMs its tools search, and the similar-incident index.
    pub agent: AgentParts,
}

/// What the agent and its tools need (the default: no agent, no SIEM, an in-memory index).
#[derive(Default)]
pub struct AgentParts {
    /// `[agent]` with its providers; `None` or disabled: nothing calls a model.
    pub setup: Option<crate::agent::AgentSetup>,
    /// `[[siem]]`: what `siem_search` queries.
    pub siems: Vec<Arc<dyn picket_siem::Siem>>,
    /// Where the similar-incident index lives (`None`: in memory, rebuilt at each start).
    pub index_dir: Option<std::path::PathBuf>,
}

/// `[response]` settings of the executor and the flood guard.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponseSettings {
    /// Limit on one action's run at its responder, all calls and retries included.
    pub action_timeout_secs: u64,
    /// Actions the executor runs at once.
    pub executor_concurrency: usize,
    /// Alerts per minute under which ingest is never a flood (0 disables the flood guard).
    pub flood_min_per_minute: u64,
    /// A minute over this many times the previous hour's median per minute is a flood.
    pub flood_factor: f64,
}

impl Default for ResponseSettings {
    fn default() -> Self {
        Self {
            action_timeout_secs: 120,
            executor_concurrency: 4,
            flood_min_per_minute: 5000,
            flood_factor: 10.0,
        }
    }
}

pub(crate) struct Normalizers {
    default: Normalizer,
    by_mapping: HashMap<String, Normalizer>,
    lists: Option<picket_intel::Warninglists>,
}

impl Normalizers {
    fn new(
        default: Normalizer,
        mappings: Vec<GenericMapping>,
        lists: Option<picket_intel::Warninglists>,
    ) -> Result<Self, ServerError> {
        let mut by_mapping = HashMap::new();
        for m in mappings {
            let name = m.name.clone();
            let n = Normalizer::new(NormalizerOptions {
                format: Some(SourceFormat::Generic),
                mapping: Some(m),
                max_record_bytes: 0,
            })
            .map_err(|message| ServerError::Mapping {
                name: name.clone(),
                message,
            })?;
            by_mapping.insert(name, n);
        }
        Ok(Self {
            default,
            by_mapping,
            lists,
        })
    }

    /// Marks observables that hit a known-benign list.
    pub(crate) fn annotate(&self, alerts: &mut [picket_core::Alert]) {
        if let Some(l) = &self.lists {
            for a in alerts {
                l.annotate(&mut a.observables);
            }
        }
    }

    /// The normalizer for `?mapping=NAME`, or the detecting one.
    pub(crate) fn get(&self, mapping: Option<&str>) -> Result<&Normalizer, ApiError> {
        match mapping {
            None => Ok(&self.default),
            Some(name) => self.by_mapping.get(name).ok_or_else(|| {
                let mut known: Vec<&str> = self.by_mapping.keys().map(String::as_str).collect();
                known.sort_unstable();
                ApiError::bad_request(format!("no mapping named `{name}`"))
                    .with_details(serde_json::json!({ "known_mappings": known }))
            }),
        }
    }
}

/// What the handlers and the triage worker both hold.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) engine: Arc<Mutex<Engine>>,
    pub(crate) wake: Arc<Notify>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) enricher: Option<Arc<picket_enrich::Enricher>>,
    pub(crate) auditor: Option<crate::audit::Auditor>,
    pub(crate) response: Arc<crate::response::Response>,
    pub(crate) flood: Arc<crate::response::flood::FloodGuard>,
    pub(crate) soc: picket_metrics::Settings,
    pub(crate) agent: Option<Arc<crate::agent::Agent>>,
    pub(crate) toolbox: Arc<dyn picket_agent::Toolbox>,
}

pub(crate) struct Limits {
    pub(crate) queue_capacity: u64,
    pub(crate) retry_after_secs: u64,
    pub(crate) max_body_bytes: usize,
    pub(crate) request_timeout: Duration,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) auth: Auth,
    pub(crate) normalizers: Normalizers,
    pub(crate) engine: Arc<Mutex<Engine>>,
    pub(crate) wake: Arc<Notify>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) enricher: Option<Arc<picket_enrich::Enricher>>,
    pub(crate) auditor: Option<crate::audit::Auditor>,
    pub(crate) response: Arc<crate::response::Response>,
    pub(crate) flood: Arc<crate::response::flood::FloodGuard>,
    pub(crate) soc: picket_metrics::Settings,
    pub(crate) limits: Limits,
    pub(crate) agent: Option<Arc<crate::agent::Agent>>,
    pub(crate) toolbox: Arc<dyn picket_agent::Toolbox>,
}

/// Shared state of the router. Cheap to clone.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

impl AppState {
    pub(crate) fn new(
        config: &ServerConfig,
        auth: Auth,
        store: Arc<dyn Store>,
        normalizer: Normalizer,
        mappings: Vec<GenericMapping>,
        lists: Option<picket_intel::Warninglists>,
        shared: Shared,
    ) -> Result<Self, ServerError> {
        Ok(Self(Arc::new(Inner {
            store,
            auth,
            normalizers: Normalizers::new(normalizer, mappings, lists)?,
            engine: shared.engine,
            wake: shared.wake,
            metrics: shared.metrics,
            enricher: shared.enricher,
            auditor: shared.auditor,
            response: shared.response,
            flood: shared.flood,
            soc: shared.soc,
            agent: shared.agent,
            toolbox: shared.toolbox,
            limits: Limits {
                queue_capacity: config.queue_capacity,
                retry_after_secs: config.retry_after_secs,
                max_body_bytes: config.max_body_bytes,
                request_timeout: Duration::from_secs(config.request_timeout_secs),
            },
        })))
    }

    pub(crate) fn agent(&self) -> Option<&Arc<crate::agent::Agent>> {
        self.0.agent.as_ref()
    }

    /// The tools models may call (the agent's and MCP clients').
    pub(crate) fn toolbox(&self) -> &Arc<dyn picket_agent::Toolbox> {
        &self.0.toolbox
    }

    pub(crate) fn auth(&self) -> &Auth {
        &self.0.auth
    }

    pub(crate) fn store(&self) -> &dyn Store {
        self.0.store.as_ref()
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.0.metrics
    }

    pub(crate) fn response(&self) -> &Arc<crate::response::Response> {
        &self.0.response
    }

    pub(crate) fn soc_settings(&self) -> &picket_metrics::Settings {
        &self.0.soc
    }

    pub(crate) fn flood(&self) -> &crate::response::flood::FloodGuard {
        &self.0.flood
    }

    pub(crate) fn auditor(&self) -> Option<&crate::audit::Auditor> {
        self.0.auditor.as_ref()
    }

    /// The threat-intel enricher, when connectors are configured.
    pub(crate) fn enricher(&self) -> Option<&Arc<picket_enrich::Enricher>> {
        self.0.enricher.as_ref()
    }

    /// The engine, for short synchronous work only (never held across an await).
    pub(crate) fn engine(&self) -> Result<MutexGuard<'_, Engine>, ApiError> {
        self.0
            .engine
            .lock()
            .map_err(|_| ApiError::new(ErrorCode::Internal, "the triage engine failed"))
    }
}
