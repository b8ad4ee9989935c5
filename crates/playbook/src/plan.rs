//! Matching a playbook's trigger and planning its steps for one incident: pure, no I/O. The plan is
//! what `picket playbook test` shows and what the service proposes, step by step.

use minijinja::value::Value;
use picket_core::Incident;
use picket_policy::{Proposal, Proposer};
use serde::Serialize;

use crate::model::{Playbook, Step, StepKind};
use crate::template;

/// One step as planned for an incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Planned {
    pub step: String,
    pub line: usize,
    pub kind: &'static str,
    /// Nesting depth (for display).
    pub depth: usize,
    /// What the step did, in words.
    pub note: String,
    /// The action it proposes (action and notify steps).
    pub proposal: Option<Proposal>,
}

/// A template or expression failed on this incident (a missing field, a type error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    pub step: String,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step `{}` (line {}): {}",
            self.step, self.line, self.message
        )
    }
}

impl std::error::Error for PlanError {}

/// Labels that make an observable unfit as a response target.
const UNFIT: [&str; 4] = ["private", "loopback", "reserved", "link_local"];

fn tactic_short(t: &str) -> &str {
    picket_core::attack::TACTICS
        .iter()
        .find(|(id, _, _)| *id == t)
        .map_or(t, |(_, short, _)| short)
}

impl Playbook {
    /// Whether the trigger holds for this incident.
    pub fn matches(&self, incident: &Incident) -> Result<bool, PlanError> {
        let t = &self.trigger;
        if !self.enabled {
            return Ok(false);
        }
        if !t.verdicts.is_empty() && !t.verdicts.contains(&incident.verdict) {
            return Ok(false);
        }
        if t.max_priority.is_some_and(|p| incident.priority > p) {
            return Ok(false);
        }
        if t.min_confidence.is_some_and(|c| incident.confidence < c) {
            return Ok(false);
        }
        if !t.techniques.is_empty() {
            let hit = incident
                .attack
                .iter()
                .filter_map(|a| a.technique.as_deref())
                .any(|have| {
                    t.techniques.iter().any(|want| {
                        have == want
                            || have
                                .strip_prefix(want.as_str())
                                .is_some_and(|r| r.starts_with('.'))
                    })
                });
            if !hit {
                return Ok(false);
            }
        }
        if !t.tactics.is_empty() {
            let hit = incident
                .attack
                .iter()
                .filter_map(|a| a.tactic.as_deref())
                .any(|have| t.tactics.iter().any(|want| tactic_short(have) == want));
            if !hit {
                return Ok(false);
            }
        }
        if !t.observables.is_empty() {
            let hit = incident.observables.iter().any(|o| {
                t.observables.contains(&o.kind)
                    && o.benign_lists.is_empty()
                    && !o.labels.iter().any(|l| UNFIT.contains(&l.as_str()))
            });
            if !hit {
                return Ok(false);
            }
        }
        if !t.sources.is_empty()
            && !incident
                .alerts
                .iter()
                .any(|a| t.sources.contains(&a.format))
        {
            return Ok(false);
        }
        if let Some(w) = &t.when {
            let ctx = self.context(incident, None);
            let v = template::eval(w, &ctx).map_err(|message| PlanError {
                step: "trigger.when".into(),
                line: 0,
                message,
            })?;
            return Ok(v.is_true());
        }
        Ok(true)
    }

    fn context(&self, incident: &Incident, item: Option<&Value>) -> Value {
        let mut map = serde_json::Map::new();
        map.insert(
            "incident".into(),
            serde_json::to_value(incident).unwrap_or_default(),
        );
        map.insert(
            "playbook".into(),
            serde_json::json!({"name": self.name, "version": self.version}),
        );
        let base = Value::from_serialize(&map);
        match item {
            None => base,
            Some(i) => minijinja::context! { item => i.clone(), ..base },
        }
    }

    /// Plans every step for this incident, in order. Executes nothing.
    pub fn plan(&self, incident: &Incident) -> Result<Vec<Planned>, PlanError> {
        let mut out = Vec::new();
        let mut gate = 0u8;
        let mut p = Planner {
            playbook: self,
            incident,
            out: &mut out,
        };
        p.steps(&self.steps, None, 0, &mut gate)?;
        Ok(out)
    }
}

struct Planner<'a> {
    playbook: &'a Playbook,
    incident: &'a Incident,
    out: &'a mut Vec<Planned>,
}

impl Planner<'_> {
    fn steps(
        &mut self,
        steps: &[Step],
        item: Option<&Value>,
        depth: usize,
        gate: &mut u8,
    ) -> Result<(), PlanError> {
        for s in steps {
            self.step(s, item, depth, gate)?;
        }
        Ok(())
    }

    fn err(s: &Step, message: String) -> PlanError {
        PlanError {
            step: s.id.clone(),
            line: s.line,
            message,
        }
    }

    fn push(&mut self, s: &Step, depth: usize, note: String, proposal: Option<Proposal>) {
        self.out.push(Planned {
            step: s.id.clone(),
            line: s.line,
            kind: s.kind.name(),
            depth,
            note,
            proposal,
        });
    }

    fn render_value(
        &self,
        v: &serde_json::Value,
        ctx: &Value,
        s: &Step,
    ) -> Result<serde_json::Value, PlanError> {
        Ok(match v {
            serde_json::Value::String(t) => {
                serde_json::Value::String(template::render(t, ctx).map_err(|m| Self::err(s, m))?)
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(
                a.iter()
                    .map(|x| self.render_value(x, ctx, s))
                    .collect::<Result<_, _>>()?,
            ),
            serde_json::Value::Object(o) => serde_json::Value::Object(
                o.iter()
                    .map(|(k, x)| Ok((k.clone(), self.render_value(x, ctx, s)?)))
                    .collect::<Result<_, PlanError>>()?,
            ),
            other => other.clone(),
        })
    }

    fn proposal(
        &self,
        action: &str,
        target: String,
        mut params: serde_json::Value,
        responder: &Option<String>,
        gate: u8,
    ) -> Proposal {
        if let Some(obj) = params.as_object_mut() {
            if let Some(r) = responder {
                obj.insert("responder".into(), serde_json::json!(r));
            }
            obj.insert(
                "playbook".into(),
                serde_json::json!(format!("{}@{}", self.playbook.name, self.playbook.version)),
            );
        }
        Proposal {
            action: action.into(),
            target,
            params,
            incident: Some(self.incident.id.clone()),
            proposer: Proposer::Playbook,
            requester: self.playbook.name.clone(),
            protected: false,
            min_approvals: gate,
            asset_class: None,
            out_of_scope: false,
        }
    }

    fn step(
        &mut self,
        s: &Step,
        item: Option<&Value>,
        depth: usize,
        gate: &mut u8,
    ) -> Result<(), PlanError> {
        let ctx = self.playbook.context(self.incident, item);
        match &s.kind {
            StepKind::Enrich => {
                let note = match &self.incident.enrichment {
                    Some(e) => format!(
                        "threat intel on {} indicator(s): {} malicious, {} suspicious, {} benign, {} unknown; {} failed lookup(s){}",
                        e.summary.indicators,
                        e.summary.malicious,
                        e.summary.suspicious,
                        e.summary.benign,
                        e.summary.unknown,
                        e.summary.failed,
                        if e.partial { " (partial)" } else { "" }
                    ),
                    None => "no threat-intel enrichment on this incident (no connectors, or not yet enriched)".into(),
                };
                self.push(s, depth, note, None);
            }
            StepKind::Condition {
                expr,
                then,
                otherwise,
            } => {
                let v = template::eval(expr, &ctx).map_err(|m| Self::err(s, m))?;
                let yes = v.is_true();
                self.push(s, depth, format!("`{expr}` is {yes}"), None);
                let branch = if yes { then } else { otherwise };
                self.steps(branch, item, depth + 1, &mut gate.clone())?;
            }
            StepKind::Action {
                action,
                target,
                params,
                responder,
            } => {
                let target = template::render(target, &ctx).map_err(|m| Self::err(s, m))?;
                let params = self.render_value(params, &ctx, s)?;
                let p = self.proposal(action, target.clone(), params, responder, *gate);
                let note = if target.is_empty() {
                    format!("propose `{action}`")
                } else {
                    format!("propose `{action}` on {target}")
                };
                self.push(s, depth, note, Some(p));
            }
            StepKind::Notify { message, responder } => {
                let message = template::render(message, &ctx).map_err(|m| Self::err(s, m))?;
                let p = self.proposal(
                    "notify",
                    String::new(),
                    serde_json::json!({ "message": message }),
                    responder,
                    *gate,
                );
                self.push(s, depth, format!("notify: {message}"), Some(p));
            }
            StepKind::Approval { reason } => {
                *gate = (*gate).max(1);
                self.push(
                    s,
                    depth,
                    format!("the actions after this wait for a human approval: {reason}"),
                    None,
                );
            }
            StepKind::Parallel { branches } => {
                self.push(
                    s,
                    depth,
                    format!("{} branches, proposed together", branches.len()),
                    None,
                );
                for b in branches {
                    self.steps(b, item, depth + 1, &mut gate.clone())?;
                }
            }
            StepKind::ForEach {
                items,
                limit,
                steps,
            } => {
                let v = template::eval(items, &ctx).map_err(|m| Self::err(s, m))?;
                let list: Vec<Value> = v
                    .try_iter()
                    .map_err(|e| Self::err(s, format!("`in` is not a list: {e}")))?
                    .collect();
                let note = if list.len() > *limit {
                    format!("{} item(s); only the first {limit} (limit)", list.len())
                } else {
                    format!("{} item(s)", list.len())
                };
                self.push(s, depth, note, None);
                for i in list.iter().take(*limit) {
                    self.steps(steps, Some(i), depth + 1, &mut gate.clone())?;
                }
            }
        }
        Ok(())
    }
}
