//! `picket playbook check|test`: validate playbook files (every problem located at file:line:col),
//! and dry-run them on an incident, showing each step and the policy's decision for each proposal.
//! Nothing is executed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use picket_core::Incident;
use picket_policy::{Executed, History, Outcome, Policy, evaluate};

use super::pipeline;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Check playbook files or directories (default: `[response] playbooks` of the config).
    Check { paths: Vec<PathBuf> },
    /// Dry run: for each incident in FILE (a JSON object, or JSON lines as `picket triage` prints),
    /// show which playbooks trigger, each step, and the policy decision for every action they would
    /// propose. Executes nothing.
    Test {
        /// The incident(s).
        #[arg(long, value_name = "FILE")]
        incident: PathBuf,
        /// Playbook files or directories (default: `[response] playbooks` of the config).
        paths: Vec<PathBuf>,
        /// Policy file (default: `[response] policy` of the config, else the built-in defaults).
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Plan playbooks whose trigger does not match too.
        #[arg(long)]
        force: bool,
        /// One JSON line per playbook and incident instead of text.
        #[arg(long)]
        json: bool,
    },
}

fn paths_or_config(cfg: &crate::config::Config, paths: Vec<PathBuf>) -> Vec<PathBuf> {
    if paths.is_empty() {
        cfg.response
            .playbooks
            .iter()
            .map(|p| cfg.resolve(p))
            .collect()
    } else {
        paths
    }
}

fn load(paths: &[PathBuf]) -> anyhow::Result<Result<Vec<picket_playbook::Playbook>, ExitCode>> {
    if paths.is_empty() {
        anyhow::bail!("no playbooks given, and the config names none (`[response] playbooks`)");
    }
    match pipeline::load_playbooks(paths) {
        Ok(p) => Ok(Ok(p)),
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            eprintln!("{} problem(s)", problems.len());
            Ok(Err(ExitCode::from(1)))
        }
    }
}

fn incidents(file: &Path) -> anyhow::Result<Vec<Incident>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        return serde_json::from_str(trimmed)
            .with_context(|| format!("{}: not an array of incidents", file.display()));
    }
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_str(&text).into_iter::<Incident>();
    while let Some(next) = de.next() {
        let line = text[..de.byte_offset()].matches('\n').count() + 1;
        out.push(next.with_context(|| format!("{}:{line}: not an incident", file.display()))?);
    }
    Ok(out)
}

pub fn run(config: Option<&Path>, args: Args) -> anyhow::Result<ExitCode> {
    let cfg = crate::config::load(config)?;
    match args.command {
        Cmd::Check { paths } => {
            let list = match load(&paths_or_config(&cfg, paths))? {
                Ok(l) => l,
                Err(code) => return Ok(code),
            };
            for p in &list {
                println!(
                    "ok  {} {} ({}): {} step(s), sha256 {}",
                    p.name,
                    p.version,
                    p.file,
                    count_steps(&p.steps),
                    &p.sha256[..12]
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Test {
            incident,
            paths,
            policy,
            force,
            json,
        } => {
            let list = match load(&paths_or_config(&cfg, paths))? {
                Ok(l) => l,
                Err(code) => return Ok(code),
            };
            let policy = match policy
                .or_else(|| cfg.response.policy.as_ref().map(|p| cfg.resolve(p)))
            {
                Some(f) => {
                    let text = std::fs::read_to_string(&f)
                        .with_context(|| format!("reading {}", f.display()))?;
                    Policy::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?
                }
                None => Policy::seed_defaults(),
            };
            let knowledge = pipeline::knowledge(&cfg)?;
            let inv = &knowledge.inventory;
            let mut failed = false;
            for inc in incidents(&incident)? {
                for pb in &list {
                    let matched = pb.matches(&inc);
                    let matched = match matched {
                        Ok(m) => m,
                        Err(e) => {
                            eprintln!("{}: {e}", pb.file);
                            failed = true;
                            continue;
                        }
                    };
                    if !matched && !force {
                        if json {
                            println!(
                                "{}",
                                serde_json::json!({"incident": inc.id, "playbook": pb.name, "version": pb.version, "triggered": false})
                            );
                        } else {
                            println!(
                                "{} on {}: trigger does not match (--force plans it anyway)\n",
                                pb.name, inc.id
                            );
                        }
                        continue;
                    }
                    let plan = match pb.plan(&inc) {
                        Ok(p) => p,
                        Err(e) => {
                            eprintln!("{}: {e}", pb.file);
                            failed = true;
                            continue;
                        }
                    };
                    // What would run, decided in order: earlier allowed actions count in the history.
                    let mut history = History::default();
                    let now = jiff::Timestamp::now();
                    let mut steps = Vec::new();
                    for s in plan {
                        let decision = s.proposal.as_ref().map(|p| {
                            let mut p = p.clone();
                            if let Some(a) = inv.asset(&p.target) {
                                p.protected = a.protected;
                                p.asset_class = Some(a.criticality.as_str().to_owned());
                            }
                            let d = evaluate(&policy, &p, &history, now);
                            if matches!(d.outcome, Outcome::Allow) {
                                history.executed.push(Executed {
                                    at: now,
                                    action: p.action.clone(),
                                    target: p.target.clone(),
                                    incident: p.incident.clone(),
                                    automated: true,
                                    undone: false,
                                });
                            }
                            d
                        });
                        steps.push((s, decision));
                    }
                    if json {
                        let v = serde_json::json!({
                            "incident": inc.id, "playbook": pb.name, "version": pb.version, "triggered": matched,
                            "policy_version": policy.version, "executed": false,
                            "steps": steps.iter().map(|(s, d)| serde_json::json!({
                                "step": s.step, "line": s.line, "kind": s.kind, "depth": s.depth, "note": s.note,
                                "proposal": s.proposal, "decision": d,
                            })).collect::<Vec<_>>(),
                        });
                        println!("{v}");
                    } else {
                        println!(
                            "{} {} on {} ({} {}, confidence {:.2}){}",
                            pb.name,
                            pb.version,
                            inc.id,
                            inc.verdict.as_str(),
                            inc.priority.as_str(),
                            inc.confidence,
                            if matched {
                                ""
                            } else {
                                " [trigger does not match; forced]"
                            }
                        );
                        for (s, d) in &steps {
                            let pad = "  ".repeat(s.depth + 1);
                            println!("{pad}{} [{}] {}", s.step, s.kind, s.note);
                            if let (Some(p), Some(d)) = (&s.proposal, d) {
                                let verdict = match &d.outcome {
                                    Outcome::Allow => "policy: allowed, would run now".to_owned(),
                                    Outcome::NeedsApproval {
                                        approvals,
                                        timeout_secs,
                                        on_timeout,
                                    } => format!(
                                        "policy: needs {approvals} approval(s) within {timeout_secs} s, then {}",
                                        serde_json::to_value(on_timeout)
                                            .ok()
                                            .and_then(|v| v.as_str().map(String::from))
                                            .unwrap_or_default()
                                    ),
                                    Outcome::Deny { code } => format!("policy: denied ({code})"),
                                };
                                println!("{pad}  {verdict}: {}", d.reasons.join("; "));
                                if p.params.as_object().is_some_and(|o| o.len() > 1) {
                                    println!("{pad}  params {}", p.params);
                                }
                            }
                        }
                        println!(
                            "  dry run: nothing was executed (policy {})\n",
                            policy.version
                        );
                    }
                }
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

fn count_steps(steps: &[picket_playbook::Step]) -> usize {
    use picket_playbook::StepKind::*;
    steps
        .iter()
        .map(|s| {
            1 + match &s.kind {
                Condition {
                    then, otherwise, ..
                } => count_steps(then) + count_steps(otherwise),
                Parallel { branches } => branches.iter().map(|b| count_steps(b)).sum(),
                ForEach { steps, .. } => count_steps(steps),
                _ => 0,
            }
        })
        .sum()
}
