//! `picket serve`: the HTTP service on the embedded SQLite store (`store.data_dir`, created on first
//! run), with the triage worker. SIEMs POST alerts to `/api/v1/alerts`.
//!
//! Without any `[[server.tokens]]`, a random admin token is generated on first start and kept in
//! `<data_dir>/admin.token` (owner-only permissions): secure by default, usable at once.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args as ClapArgs;
use picket_ingest::{Normalizer, NormalizerOptions};
use picket_server::{Pipeline, Role, TokenConfig};
use picket_store::Store;

use super::pipeline;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Listen address (overrides `server.listen`).
    #[arg(long, env = "PICKET_LISTEN")]
    pub listen: Option<std::net::SocketAddr>,
    /// Data directory (overrides `store.data_dir`).
    #[arg(long, env = "PICKET_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PICKET_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cfg = crate::config::load(config)?;
    let mut server = cfg.server.clone();
    if let Some(l) = args.listen {
        server.listen = l;
    }
    let data_dir = args
        .data_dir
        .unwrap_or_else(|| cfg.resolve(&cfg.store.data_dir));
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    if server.tokens.is_empty() {
        let file = ensure_admin_token(&data_dir)?;
        eprintln!(
            "picket: no [[server.tokens]] configured: using the generated admin token in {} \
             (send `Authorization: Bearer <its content>`)",
            file.display()
        );
        server.tokens.push(TokenConfig {
            name: "admin".to_owned(),
            token_env: None,
            token_file: Some(file),
            role: Role::Admin,
        });
    }
    let input = pipeline::InputArgs {
        files: Vec::new(),
        format: None,
        mapping: None,
        input: "auto".to_owned(),
        warninglists: None,
    };
    let warninglists = pipeline::warninglists(&cfg, &input)?;
    let sources = pipeline::sources_in(&cfg, &data_dir)?;
    let mut pipe = Pipeline {
        normalizer: Normalizer::new(NormalizerOptions::default()).map_err(anyhow::Error::msg)?,
        mappings: cfg.mappings.clone(),
        triage: cfg.triage.clone(),
        knowledge: pipeline::knowledge_in(&cfg, &data_dir)?,
        warninglists,
        enricher: None,
        auditor: None,
        policy: match &cfg.response.policy {
            Some(p) => {
                let path = cfg.resolve(p);
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                Some(
                    picket_policy::Policy::from_toml(&text)
                        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
                )
            }
            None => None,
        },
        responders: picket_respond::Responders::default(),
        playbooks: pipeline::playbooks(&cfg)?,
        soc: cfg.metrics.settings(),
        response: picket_server::ResponseSettings {
            action_timeout_secs: cfg.response.action_timeout_secs,
            executor_concurrency: cfg.response.executor_concurrency,
            flood_min_per_minute: cfg.response.flood_min_per_minute,
            flood_factor: cfg.response.flood_factor,
        },
        agent: picket_server::AgentParts {
            index_dir: Some(data_dir.join("index")),
            ..Default::default()
        },
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async {
        let store = super::persist::open(&data_dir).await?;
        let store: Arc<dyn Store> = Arc::new(store);
        let backend: Arc<dyn picket_enrich::CacheBackend> =
            Arc::new(picket_server::StoreCache(store.clone()));
        let key = pipeline::audit_key(&cfg)?;
        if key.is_none() {
            eprintln!(
                "picket: no [audit] signing key: the audit trail is chained but its checkpoints are not signed"
            );
        }
        let (auditor, audit_task) = picket_server::Auditor::start(
            store.clone(),
            key,
            cfg.audit.checkpoint_every,
            picket_audit::Redactor::new(
                pipeline::known_secrets(&cfg)
                    .into_iter()
                    .chain(server.tokens.iter().filter_map(|t| {
                        t.token_file
                            .as_deref()
                            .and_then(|f| picket_enrich::Secret::from_file(f).ok())
                            .map(|s| s.expose().to_owned())
                    })),
            ),
        );
        auditor.record(
            picket_audit::AuditKind::System,
            "picket",
            "service",
            serde_json::json!({"event": "start", "version": env!("CARGO_PKG_VERSION"), "listen": server.listen.to_string()}),
        );
        auditor.record(
            picket_audit::AuditKind::Config,
            "picket",
            "config",
            config_versions(&cfg),
        );
        pipe.enricher = pipeline::enricher_audited(
            &cfg,
            sources,
            Some(backend),
            Some(Arc::new(auditor.clone())),
        );
        pipe.auditor = Some(auditor.clone());
        pipe.responders = pipeline::responders(&cfg, Arc::new(auditor.clone()))?;
        pipe.agent.siems = pipeline::siems(&cfg, Arc::new(auditor.clone()))?;
        pipe.agent.setup = pipeline::agent(&cfg, Arc::new(auditor.clone()))?;
        if let Some(a) = &pipe.agent.setup
            && a.config.enabled
        {
            eprintln!(
                "picket: investigating with {} LLM provider(s), mode {}",
                a.providers.len(),
                a.config.mode.as_str()
            );
        }
        if !pipe.responders.list().is_empty() {
            eprintln!(
                "picket: responding through {} responder(s)",
                pipe.responders.list().len()
            );
        }
        if let Some(e) = &pipe.enricher {
            eprintln!("picket: enriching with {} connector(s)", e.sources().len());
        }
        eprintln!(
            "picket: serving on http://{} with data in {}",
            server.listen,
            data_dir.display()
        );
        let served = picket_server::serve(server, store, pipe)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"));
        drop(auditor);
        // Background lookups may still hold the writer for a moment; everything queued so far is
        // written and checkpointed by the flush above.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), audit_task).await;
        served
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The generated admin token's file, created with 32 random bytes (hex) on first use.
fn ensure_admin_token(dir: &Path) -> anyhow::Result<PathBuf> {
    let file = dir.join("admin.token");
    if file.exists() {
        return Ok(file);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("no system randomness for the admin token: {e}"))?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&file)
        .with_context(|| format!("creating {}", file.display()))?;
    f.write_all(token.as_bytes())?;
    Ok(file)
}

/// SHA-256 of the config file and of every knowledge file it names: the configuration version every
/// later decision ran under.
fn config_versions(cfg: &crate::config::Config) -> serde_json::Value {
    let hash = |p: &Path| -> Option<String> {
        std::fs::read(p)
            .ok()
            .map(|b| picket_core::hash::sha256_hex(&b))
    };
    let mut files = serde_json::Map::new();
    if let Some(p) = &cfg.path {
        files.insert(p.display().to_string(), hash(p).into());
    }
    for p in [
        &cfg.knowledge.inventory,
        &cfg.knowledge.attack,
        &cfg.response.policy,
    ]
    .into_iter()
    .flatten()
    {
        let full = cfg.resolve(p);
        files.insert(full.display().to_string(), hash(&full).into());
    }
    let dirs: Vec<_> = cfg
        .response
        .playbooks
        .iter()
        .map(|p| cfg.resolve(p))
        .collect();
    for f in pipeline::playbook_files(&dirs).unwrap_or_default() {
        files.insert(f.display().to_string(), hash(&f).into());
    }
    serde_json::json!({
        "files_sha256": files,
        "connectors": cfg.connectors.iter().map(|c| &c.name).collect::<Vec<_>>(),
        "responders": cfg.responders.iter().map(|r| serde_json::json!({"name": r.name, "kind": r.kind})).collect::<Vec<_>>(),
    })
}
