//! The `picket` binary: the CLI over the pipeline, and the wiring of the service.
#![allow(unreachable_pub)] // a binary: nothing here is reachable from outside anyway

mod cmd;
mod config;
mod input;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc: the pipeline allocates many small strings and maps per alert; glibc's malloc was a fifth of
/// the profile (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Picket: a security operations orchestrator. Alerts in, triaged incidents out.
#[derive(Debug, Parser)]
#[command(name = "picket", version, about, long_about = None)]
struct Cli {
    /// Config file (default: ./picket.toml when present, else built-in defaults).
    #[arg(long, short = 'c', global = true, env = "PICKET_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP service on the embedded database (./picket-data by default).
    Serve(cmd::serve::Args),
    /// Triage alert files (or `-` for stdin) offline: one JSON line per incident on stdout.
    Triage(cmd::triage::Args),
    /// Normalize alerts and print one canonical (or OCSF) alert per line, without triage.
    Normalize(cmd::normalize::Args),
    /// List stored incidents (one JSON line each), newest first.
    Incidents(cmd::incidents::ListArgs),
    /// Record an analyst's verdict on a stored incident (feedback for later assessments).
    Verdict(cmd::incidents::VerdictArgs),
    /// Export incidents for sharing: STIX 2.1 bundles or MISP events, one JSON line per incident.
    Export(cmd::export::Args),
    /// Extract indicators from free text: one JSON line per indicator.
    Extract(cmd::extract::Args),
    /// Write a commented picket.toml listing every option with its default.
    Init(cmd::init::Args),
    /// Check a config file; report every problem at once, each with its location.
    CheckConfig(cmd::check_config::Args),
    /// List the supported alert formats.
    Formats,
    /// Threat-intel connectors: list the providers, check the configured connectors.
    Connectors(cmd::connectors::Args),
    /// Look indicators up with the configured threat-intel connectors: one JSON line each.
    Enrich(cmd::enrich::Args),
    /// Threat-intel data kept locally: `picket intel poll` fetches what TAXII collections added.
    Intel(cmd::intel::Args),
    /// MITRE ATT&CK: import the Enterprise bundle, look ids up, show which techniques incidents showed.
    Attack(cmd::attack::Args),
    /// The tamper-evident audit trail: verify it, export it as JSON lines, make a signing key.
    Audit(cmd::audit::Args),
    /// Response policy: check a policy file, evaluate a proposed action against it (runs nothing).
    Policy(cmd::policy::Args),
    /// Response playbooks: check files, dry-run them on an incident (runs nothing).
    Playbook(cmd::playbook::Args),
    /// Response actions through the running service: review queue, approve, reject, roll back,
    /// pause or resume automated response.
    Actions(cmd::actions::Args),
    /// Ask the running service's LLM agent to investigate an incident (or list its
    /// investigations).
    Investigate(cmd::investigate::Args),
    /// Responders: the vendor integrations that carry out actions.
    Responders(cmd::responders::Args),
    /// SOC metrics of a store: times to triage, respond and detect, automation, overrides, accuracy,
    /// completeness, cost (docs/metrics.md).
    Metrics(cmd::metrics::Args),
    /// The incident report draft (Markdown or HTML): summary, scope, timeline, ATT&CK, evidence,
    /// actions taken, recommendations.
    Report(cmd::report::Args),
    /// Measure pipeline throughput (see docs/performance.md).
    Bench(cmd::bench::Args),
    /// Replay labelled alerts through triage and score Picket against the labels: quality per
    /// escalation threshold, automation, attack phases, manual baseline, charts (docs/evaluation.md).
    Eval(cmd::eval::Args),
    /// Print the JSON Schema of an artifact Picket emits (incident, alert).
    Schema(cmd::schema::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(a) => cmd::serve::run(cli.config.as_deref(), a),
        Command::Triage(a) => cmd::triage::run(cli.config.as_deref(), a),
        Command::Normalize(a) => cmd::normalize::run(cli.config.as_deref(), a),
        Command::Incidents(a) => cmd::incidents::list(cli.config.as_deref(), a),
        Command::Verdict(a) => cmd::incidents::verdict(cli.config.as_deref(), a),
        Command::Export(a) => cmd::export::run(cli.config.as_deref(), a),
        Command::Extract(a) => cmd::extract::run(cli.config.as_deref(), a),
        Command::Init(a) => cmd::init::run(a),
        Command::CheckConfig(a) => cmd::check_config::run(cli.config.as_deref(), a),
        Command::Formats => cmd::formats(),
        Command::Connectors(a) => cmd::connectors::run(cli.config.as_deref(), a),
        Command::Enrich(a) => cmd::enrich::run(cli.config.as_deref(), a),
        Command::Intel(a) => cmd::intel::run(cli.config.as_deref(), a),
        Command::Attack(a) => cmd::attack::run(cli.config.as_deref(), a),
        Command::Audit(a) => cmd::audit::run(cli.config.as_deref(), a),
        Command::Policy(a) => cmd::policy::run(a),
        Command::Report(a) => cmd::report::run(cli.config.as_deref(), a),
        Command::Metrics(a) => cmd::metrics::run(cli.config.as_deref(), a),
        Command::Playbook(a) => cmd::playbook::run(cli.config.as_deref(), a),
        Command::Actions(a) => cmd::actions::run(cli.config.as_deref(), a),
        Command::Investigate(a) => cmd::investigate::run(cli.config.as_deref(), a),
        Command::Responders(a) => cmd::responders::run(cli.config.as_deref(), a),
        Command::Schema(a) => cmd::schema::run(a),
        Command::Bench(a) => cmd::bench::run(cli.config.as_deref(), a),
        Command::Eval(a) => cmd::eval::run(cli.config.as_deref(), a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("picket: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
