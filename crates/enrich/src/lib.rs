//! Threat-intel enrichment.
//!
//! Data path: [`config`] (`[[connectors]]`, checked without I/O) → [`build_source`] (secret read, HTTP
//! client made, provider row's `build`) → a [`Source`] per connector instance → the enricher fans out
//! indicators × sources under a deadline and returns a typed `AlertEnrichment`.
//! A provider is one file in [`providers`] and one row in [`providers::PROVIDERS`].

pub mod cache;
pub mod config;
pub mod connector;
pub mod enricher;
pub mod guard;
pub mod http;
pub mod index;
pub mod providers;
pub mod secret;
pub mod telemetry;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use cache::{Cache, CacheBackend};
pub use config::{CacheTtl, ConnectorConfig, EnrichmentConfig};
pub use connector::{BuildContext, Connector, ConnectorError, KeyUse, Provider, Quota};
pub use enricher::{Enricher, LookupObserver};
pub use guard::{BreakerState, Guarded};
pub use http::{CallEvent, Http, Observer, Recorder, RetryPolicy, TracingObserver};
pub use secret::{Secret, SecretError};
pub use telemetry::{LookupEvent, Telemetry};

/// A built connector instance with its configuration and provider row.
#[derive(Clone)]
pub struct Source {
    pub config: Arc<ConnectorConfig>,
    pub provider: &'static Provider,
    pub connector: Arc<dyn Connector>,
}

impl Source {
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The quota in force: config overrides the provider's documented one; 0 means unlimited.
    pub fn quota(&self) -> Quota {
        let pick = |c: Option<u32>, p: Option<u32>| match c {
            Some(0) => None,
            Some(n) => Some(n),
            None => p,
        };
        Quota {
            per_minute: pick(self.config.per_minute, self.provider.quota.per_minute),
            per_day: pick(self.config.per_day, self.provider.quota.per_day),
        }
    }

    /// Kinds this instance looks up (config restriction ∩ what the connector supports).
    pub fn kinds(&self) -> Vec<picket_core::ObservableType> {
        let supported = self.connector.kinds();
        match &self.config.kinds {
            Some(k) => k
                .iter()
                .copied()
                .filter(|k| supported.contains(k))
                .collect(),
            None => supported.to_vec(),
        }
    }
}

/// Builds one connector instance from a checked config. Reads its secret (from the environment or a
/// file) here, so a missing key is reported by name, never by value.
pub fn build_source(
    config: &ConnectorConfig,
    base_dir: &Path,
    observer: Arc<dyn Observer>,
) -> Result<Source, ConnectorError> {
    build_source_in(config, base_dir, &base_dir.join("picket-data"), observer)
}

/// [`build_source`] with the data directory where syncing sources (TAXII) keep what they fetched.
pub fn build_source_in(
    config: &ConnectorConfig,
    base_dir: &Path,
    data_dir: &Path,
    observer: Arc<dyn Observer>,
) -> Result<Source, ConnectorError> {
    let provider = providers::find(&config.provider)
        .ok_or_else(|| ConnectorError::Config(format!("unknown provider `{}`", config.provider)))?;
    let secret = match (&config.api_key_env, &config.api_key_file) {
        (Some(var), _) => {
            Some(Secret::from_env(var).map_err(|e| ConnectorError::Config(e.to_string()))?)
        }
        (None, Some(file)) => {
            let file = if file.is_relative() {
                base_dir.join(file)
            } else {
                file.clone()
            };
            Some(Secret::from_file(&file).map_err(|e| ConnectorError::Config(e.to_string()))?)
        }
        (None, None) => None,
    };
    if provider.key == KeyUse::Required && secret.is_none() {
        return Err(ConnectorError::Config(format!(
            "provider `{}` needs an API key",
            provider.name
        )));
    }
    let policy = RetryPolicy {
        timeout: Duration::from_millis(config.timeout_ms),
        retries: config.retries,
        ..RetryPolicy::default()
    };
    let base = config.base_url.as_deref().or(provider.default_base_url);
    let http = Http::new(&config.name, base, secret, policy, observer)?;
    let connector = (provider.build)(
        config,
        BuildContext {
            http,
            base_dir: base_dir.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
        },
    )?;
    Ok(Source {
        config: Arc::new(config.clone()),
        provider,
        connector,
    })
}
