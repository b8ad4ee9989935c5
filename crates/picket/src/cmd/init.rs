//! `picket init`: writes a commented picket.toml with every option at its default.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args as ClapArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Where to write (default ./picket.toml); `-` prints to stdout.
    #[arg(default_value = "picket.toml")]
    pub path: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// The template. A test checks that it parses to exactly the built-in defaults.
pub const TEMPLATE: &str = r#"# Picket configuration. Every option is listed with its default.
# Check it with `picket check-config`; every problem is reported at once, with its line.
# Secrets never go in this file: settings that need one name an environment variable or a file.

# Config format version.
version = 1

[store]
# Directory of the embedded SQLite database (picket.db). Created on first run.
data_dir = "./picket-data"

[triage]
# Repeats of the same alert fingerprint (rule + key entities) closer than this fold into one, in seconds.
dedup_window_secs = 3600
# Alerts sharing an entity (host, user, IP, file hash) closer than this join one incident, in seconds.
correlation_window_secs = 1800
# A rule seen this many times before on the same entity is routine: it stops linking other alerts
# into its incident and weighs towards benign.
routine_after = 50
# ... or when it kept repeating that many times over at least this long, in seconds (a burst is not routine).
routine_span_secs = 21600
# An entity that linked more than this many alerts within the window is too common to correlate on.
max_entity_fanout = 64
# Score bands of the deterministic assessment (see docs/assessment.md).
malicious_score = 0.6
suspicious_score = 0.3
benign_score = 0.1
# Below this confidence nothing is closed automatically: it goes to the analyst queue instead.
auto_close_min_confidence = 0.6

[server]
# `picket serve` listens here. A non-loopback address needs [[server.tokens]].
listen = "127.0.0.1:8080"
# Largest request body, in bytes; larger requests get 413.
max_body_bytes = 10485760
# Alerts allowed to wait for triage; while full, ingest answers 429 with Retry-After.
queue_capacity = 100000
# The Retry-After (seconds) sent with 429.
retry_after_secs = 5
# A request taking longer (seconds) is abandoned with 503; ingest is idempotent, so senders retry.
request_timeout_secs = 30
# Alerts the triage worker takes from the queue per step.
worker_batch = 500
# When the triage engine holds more alert groups than this, it is rebuilt from the recent window in
# the store (as on a restart), which bounds its memory in a service that runs for years.
engine_max_groups = 250000
# Serve without tokens on a loopback address (never on a network address).
allow_unauthenticated_loopback = false
# Bearer tokens, one table each. Secrets come from an environment variable or a file, never from here.
# Roles: ingest (POST alerts), viewer (read), analyst (read + verdicts), admin (everything).
# With no tokens at all, `picket serve` generates an admin token in <data_dir>/admin.token.
# [[server.tokens]]
# name = "splunk-es"
# token_env = "PICKET_TOKEN_SPLUNK"
# role = "ingest"
# [[server.tokens]]
# name = "soc-analysts"
# token_file = "/etc/picket/analyst.token"
# role = "analyst"

[knowledge]
# MISP warninglists directory (MISP's layout: lists/<name>/list.json). Unset: no known-benign lists.
# warninglists = "/path/to/misp-warninglists"
# Asset inventory: [[hosts]] / [[users]] with name, criticality (low|medium|high|critical), owner,
# protected; [[subnets]] with cidr, criticality, owner. Unset: every asset is medium.
# inventory = "inventory.toml"
# MITRE ATT&CK Enterprise STIX bundle (names, revoked/deprecated ids, technique names in rule text).
# Unset: <data_dir>/attack/enterprise-attack.json when `picket attack import FILE` put one there.
# attack = "enterprise-attack.json"

[enrichment]
# Threat-intel enrichment (`picket serve` always; `picket triage --enrich`). Lookups still running after
# this many milliseconds are reported as missing (the enrichment is marked partial) and finish in the
# background to fill the cache.
deadline_ms = 3000
# Sources below this reliability, and stale answers, can make an indicator suspicious, never malicious.
min_reliability = 0.5
# Send private, loopback and other non-public addresses to online providers (offline sources always
# see them). Off: they mean nothing to a public provider and would leak internal topology.
send_private = false
# Most indicators looked up per alert or incident.
max_indicators = 50

# Threat-intel connectors, one table each (`picket connectors list` shows the providers and their
# documented quotas; `picket connectors check` tests each one). API keys come from an environment
# variable or a file, never from here. Every key but name and provider is optional; defaults shown.
# [[connectors]]
# name = "vt"                      # cited in evidence as intel:vt:<type>:<value>
# provider = "virustotal"
# api_key_env = "PICKET_VT_KEY"    # or api_key_file = "/etc/picket/vt.key"
# base_url = "https://www.virustotal.com/api/v3/"
# enabled = true
# timeout_ms = 5000
# retries = 2                      # after timeouts, 429 and 5xx; Retry-After is honoured
# per_minute = 4                   # default: the provider's documented quota; 0 = unlimited
# per_day = 500
# concurrency = 4
# breaker_failures = 5             # consecutive failures that pause the connector...
# breaker_cooldown_secs = 60       # ...for this long, then one trial request
# max_age_hours = 720              # older answers are marked stale
# reliability = 0.7                # in [0, 1]
# kinds = ["sha256", "domain"]     # default: every kind the provider supports
# [connectors.cache_ttl]           # seconds an answer is reused, per verdict
# malicious = 86400
# suspicious = 43200
# benign = 604800
# unknown = 3600
# [connectors.options]             # provider-specific, see docs/enrichment.md

[audit]
# `picket serve` records inputs (raw alert SHA-256s), config versions, connector lookups, every
# assessment, analyst feedback, start and stop in a hash-chained trail (docs/audit.md), and signs a
# checkpoint of its head every this many records and at shutdown.
checkpoint_every = 1000
# The ed25519 signing key for checkpoints: a file with 64 hex digits (`picket audit keygen FILE`), or
# an environment variable. Unset: the chain is still written and verifiable, but unsigned.
# signing_key_file = "/etc/picket/audit.key"
# signing_key_env = "PICKET_AUDIT_KEY"

[response]
# The response policy every proposed action goes through (docs/policy.md; `picket policy check FILE`).
# Unset: built-in defaults (the seeds' tiers, at most 100 IP blocks per hour, 5 hosts isolated at once).
# policy = "policy.toml"
# Playbooks run on incidents as they are triaged (docs/playbooks.md; `picket playbook check`): files
# or directories of *.toml.
playbooks = []
# Limit on one action's run at its responder, all vendor calls and retries included.
action_timeout_secs = 120
# Actions the executor runs at once (a slow vendor does not hold the others back).
executor_concurrency = 4
# Alert-flood guard: a minute with more alerts than this AND more than flood_factor times the previous
# hour's median pauses automated response (never ingestion) and pages on-call. 0 disables it.
flood_min_per_minute = 5000
flood_factor = 10.0

[metrics]
# Rates behind the SOC metrics (docs/metrics.md; `picket metrics`, GET /api/v1/metrics/soc).
# Analyst minutes a manual SOC spends per alert, low and high (the seeds' figure: 15-30).
minutes_per_alert = [15.0, 30.0]
# Analyst minutes per incident that reaches a human.
minutes_per_incident = 20.0
analyst_hourly_cost = 60.0
compute_cost_per_incident = 0.0001
llm_cost_per_1k_tokens = 0.0

# Responders carry out approved actions at the vendors (docs/response.md; `picket responders list`).
# Secrets come from an environment variable or a file, never from this file. Repeat for more.
# [[responders]]
# name = "falcon"
# kind = "crowdstrike"              # crowdstrike, defender, entra, okta, http, thehive, slack, teams, pagerduty, webhook
# base_url = "https://api.crowdstrike.com"
# client_id = "…"                   # OAuth kinds (crowdstrike, defender, entra)
# tenant_id = "…"                   # defender, entra
# secret_env = "FALCON_CLIENT_SECRET"
# timeout_ms = 10000
# retries = 2                       # only for calls that are safe to repeat
# actions = ["isolate_host", "release_host"]   # default: every action the kind performs
# [responders.options]              # kind-specific, see docs/response.md

# The LLM agent (docs/agent.md): off unless enabled. A model reads, reasons and proposes; the
# deterministic result always stands, the policy decides, humans approve.
[agent]
enabled = false
providers = []                      # [[llm]] names, the first primary; empty: all
mode = "pipeline"                   # pipeline, parallel, supervisor_worker, blackboard, consensus
investigate = "escalated"           # escalated (not auto-closed), all, none (on request only)
queue = 256                         # waiting investigations; beyond, skipped (triage never waits)
concurrency = 2
max_turns = 6
max_tokens = 2048
max_workers = 4
blackboard_rounds = 2
deadline_secs = 300
propose = true                      # the agent may propose actions (through the policy)
# [[agent.routes]]                  # incident class -> mode, first match wins
# mode = "consensus"
# verdicts = ["malicious"]
# max_priority = "P1"

# LLM providers (docs/agent.md). Repeat for more.
# [[llm]]
# name = "claude"
# kind = "anthropic"                # anthropic, openai, azure_openai, openai_compatible
# model = "claude-sonnet-4-5"
# api_key_env = "ANTHROPIC_API_KEY"
# timeout_ms = 60000
# retries = 2
# price_per_1k_input = 0.003
# price_per_1k_output = 0.015
# max_tokens_per_incident = 200000

# SIEMs the agent's siem_search tool may query, read-only and bounded (docs/siem.md).
# [[siem]]
# name = "elastic"
# kind = "elasticsearch"            # elasticsearch, opensearch, splunk, sentinel
# base_url = "https://es.example:9200"
# index = "logs-*"
# api_key_env = "ES_API_KEY"

# Suppression rules close matching alerts as benign, citing the rule. Repeat the table for more.
# Give at least one of rule (regex on the rule name), rule_id, host, network.
# [[suppressions]]
# name = "clamav-updates"
# reason = "Signature updates are routine"
# rule = "ClamAV database update"
# host = "mail"
# network = "10.0.0.0/8"

# Generic mappings read CSV and unknown JSON (`--mapping NAME`). Field names are CSV columns or
# dotted JSON paths. See examples/ait-ads.toml for a worked one.
# [[mappings]]
# name = "my-siem"
# time = "timestamp"
# rule_name = "signature"
# rule_id = "signature_id"
# message = "description"
# event_id = "uuid"
# severity = "sev"
# default_severity = "unknown"   # unknown|informational|low|medium|high|critical
# hosts = ["hostname"]
# users = ["user"]
# src_ips = ["src"]
# dst_ips = ["dst"]
# ips = []
# technique = "mitre_technique"
# tactic = "mitre_tactic"
# product_vendor = "Acme"
# product_name = "Acme SIEM"
# ignore = ["label"]
# [mappings.severity_map]
# "1" = "low"
# "2" = "medium"
"#;

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.path.as_os_str() == "-" {
        print!("{TEMPLATE}");
        return Ok(ExitCode::SUCCESS);
    }
    if args.path.exists() && !args.force {
        bail!("{} exists; use --force to overwrite", args.path.display());
    }
    std::fs::write(&args.path, TEMPLATE)?;
    eprintln!("picket: wrote {}", args.path.display());
    Ok(ExitCode::SUCCESS)
}
