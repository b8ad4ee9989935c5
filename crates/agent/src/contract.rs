//! The narrow contract: what a model may produce. Three typed artifacts — an enrichment summary, a
//! timeline narrative, a response recommendation — each citing evidence by id, each with a confidence
//! note and an escalation path, and free-form explanation kept apart from the fields automation
//! reads. [`Evidence`] lists the ids that exist for an incident; [`validate`] rejects an artifact
//! that cites nothing, or cites an id that does not exist, or proposes an action outside the catalog.

use std::collections::BTreeSet;

use picket_core::{Escalation, Incident, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One statement and the evidence ids it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    pub statement: String,
    /// Evidence ids (`alert:<id>`, `intel:<type>:<value>`, `indicator:<type>:<value>`, `host:<name>`,
    /// `user:<name>`, `incident:<id>`, `technique:<id>`).
    pub cites: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrichmentSummary {
    pub findings: Vec<Claim>,
    pub confidence_note: String,
    pub escalation: Escalation,
    /// Free text for humans; automation never reads it.
    pub explanation: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NarrativeStep {
    /// RFC 3339.
    pub time: String,
    pub text: String,
    pub cites: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TimelineNarrative {
    pub steps: Vec<NarrativeStep>,
    pub confidence_note: String,
    pub escalation: Escalation,
    pub explanation: String,
}

/// An action the model proposes: it goes through the policy like any other proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposedAction {
    pub action: String,
    pub target: String,
    pub reason: String,
    pub cites: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResponseRecommendation {
    pub verdict: Verdict,
    /// In [0, 1].
    pub confidence: f64,
    pub rationale: Vec<Claim>,
    pub actions: Vec<ProposedAction>,
    pub confidence_note: String,
    pub escalation: Escalation,
    pub explanation: String,
}

/// The evidence ids that exist for one incident.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    ids: BTreeSet<String>,
}

impl Evidence {
    /// The incident, its alerts, indicators (and their intel, when enriched), hosts, users and
    /// ATT&CK techniques.
    pub fn of(incident: &Incident) -> Self {
        let mut ids = BTreeSet::new();
        ids.insert(format!("incident:{}", incident.id));
        for a in &incident.alerts {
            ids.insert(format!("alert:{}", a.id));
        }
        for o in &incident.observables {
            ids.insert(format!("indicator:{}:{}", o.kind.as_str(), o.value));
        }
        if let Some(e) = &incident.enrichment {
            for i in &e.indicators {
                ids.insert(format!("intel:{}:{}", i.kind.as_str(), i.value));
            }
        }
        for h in &incident.scope.hosts {
            ids.insert(format!("host:{h}"));
        }
        for u in &incident.scope.users {
            ids.insert(format!("user:{u}"));
        }
        for t in incident
            .attack
            .iter()
            .filter_map(|a| a.technique.as_deref())
        {
            ids.insert(format!("technique:{t}"));
        }
        Self { ids }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.ids.iter().map(String::as_str)
    }
}

/// Why an artifact is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContractError {
    #[error("{at}: cites no evidence")]
    NoCitation { at: String },
    #[error("{at}: cites `{id}`, which does not exist")]
    UnknownCitation { at: String, id: String },
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
}

/// Any of the three artifacts.
#[derive(Debug, Clone, PartialEq)]
pub enum Artifact<'a> {
    Enrichment(&'a EnrichmentSummary),
    Timeline(&'a TimelineNarrative),
    Recommendation(&'a ResponseRecommendation),
}

fn cites(out: &mut Vec<ContractError>, ev: &Evidence, at: String, list: &[String]) {
    if list.is_empty() {
        out.push(ContractError::NoCitation { at: at.clone() });
    }
    for id in list {
        if !ev.contains(id) {
            out.push(ContractError::UnknownCitation {
                at: at.clone(),
                id: id.clone(),
            });
        }
    }
}

fn note(out: &mut Vec<ContractError>, s: &str) {
    if s.trim().is_empty() {
        out.push(ContractError::Invalid {
            at: "confidence_note".into(),
            message: "is empty".into(),
        });
    }
}

/// Every problem of the artifact against the incident's evidence and the action catalog.
pub fn validate(
    a: &Artifact<'_>,
    ev: &Evidence,
    catalog: &[&str],
) -> Result<(), Vec<ContractError>> {
    let mut out = Vec::new();
    match a {
        Artifact::Enrichment(s) => {
            if s.findings.is_empty() {
                out.push(ContractError::Invalid {
                    at: "findings".into(),
                    message: "is empty".into(),
                });
            }
            for (i, c) in s.findings.iter().enumerate() {
                cites(&mut out, ev, format!("findings[{i}]"), &c.cites);
            }
            note(&mut out, &s.confidence_note);
        }
        Artifact::Timeline(t) => {
            if t.steps.is_empty() {
                out.push(ContractError::Invalid {
                    at: "steps".into(),
                    message: "is empty".into(),
                });
            }
            for (i, s) in t.steps.iter().enumerate() {
                cites(&mut out, ev, format!("steps[{i}]"), &s.cites);
                if s.time.parse::<jiff::Timestamp>().is_err() {
                    out.push(ContractError::Invalid {
                        at: format!("steps[{i}].time"),
                        message: format!("`{}` is not an RFC 3339 time", s.time),
                    });
                }
            }
            note(&mut out, &t.confidence_note);
        }
        Artifact::Recommendation(r) => {
            if !(0.0..=1.0).contains(&r.confidence) {
                out.push(ContractError::Invalid {
                    at: "confidence".into(),
                    message: "must be within [0, 1]".into(),
                });
            }
            if r.rationale.is_empty() {
                out.push(ContractError::Invalid {
                    at: "rationale".into(),
                    message: "is empty".into(),
                });
            }
            for (i, c) in r.rationale.iter().enumerate() {
                cites(&mut out, ev, format!("rationale[{i}]"), &c.cites);
            }
            for (i, p) in r.actions.iter().enumerate() {
                cites(&mut out, ev, format!("actions[{i}]"), &p.cites);
                if !catalog.contains(&p.action.as_str()) {
                    out.push(ContractError::Invalid {
                        at: format!("actions[{i}].action"),
                        message: format!("`{}` is not a catalog action", p.action),
                    });
                }
            }
            note(&mut out, &r.confidence_note);
        }
    }
    if out.is_empty() { Ok(()) } else { Err(out) }
}

/// What one investigation step (a pipeline phase, a worker, a blackboard specialist) found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseReport {
    /// Findings, each citing evidence; empty when there is nothing (more) to add.
    pub findings: Vec<Claim>,
    pub confidence_note: String,
    pub explanation: String,
}

/// One assessor's independent classification (consensus mode).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    pub verdict: Verdict,
    /// In [0, 1].
    pub confidence: f64,
    pub rationale: Vec<Claim>,
    pub confidence_note: String,
}

/// One task a supervisor hands to a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkerTask {
    pub title: String,
    /// What the worker must find out.
    pub question: String,
    /// Evidence ids the worker focuses on (alerts, indicators, hosts, users).
    pub focus: Vec<String>,
}

/// A supervisor's split of a large incident or hunt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub tasks: Vec<WorkerTask>,
}

/// Every problem of a list of claims (`allow_empty`: a step with nothing to add).
pub fn validate_claims(
    at: &str,
    claims: &[Claim],
    note_text: &str,
    ev: &Evidence,
    allow_empty: bool,
) -> Result<(), Vec<ContractError>> {
    let mut out = Vec::new();
    if claims.is_empty() && !allow_empty {
        out.push(ContractError::Invalid {
            at: at.into(),
            message: "is empty".into(),
        });
    }
    for (i, c) in claims.iter().enumerate() {
        cites(&mut out, ev, format!("{at}[{i}]"), &c.cites);
    }
    note(&mut out, note_text);
    if out.is_empty() { Ok(()) } else { Err(out) }
}

/// Every problem of an assessment.
pub fn validate_assessment(a: &Assessment, ev: &Evidence) -> Result<(), Vec<ContractError>> {
    let mut out = validate_claims("rationale", &a.rationale, &a.confidence_note, ev, false)
        .err()
        .unwrap_or_default();
    if !(0.0..=1.0).contains(&a.confidence) {
        out.push(ContractError::Invalid {
            at: "confidence".into(),
            message: "must be within [0, 1]".into(),
        });
    }
    if out.is_empty() { Ok(()) } else { Err(out) }
}

/// Every problem of a plan: 1 to `max` tasks, each focused on existing evidence.
pub fn validate_plan(p: &Plan, ev: &Evidence, max: usize) -> Result<(), Vec<ContractError>> {
    let mut out = Vec::new();
    if p.tasks.is_empty() || p.tasks.len() > max {
        out.push(ContractError::Invalid {
            at: "tasks".into(),
            message: format!("needs 1 to {max} tasks, has {}", p.tasks.len()),
        });
    }
    for (i, t) in p.tasks.iter().enumerate() {
        cites(&mut out, ev, format!("tasks[{i}].focus"), &t.focus);
        if t.question.trim().is_empty() {
            out.push(ContractError::Invalid {
                at: format!("tasks[{i}].question"),
                message: "is empty".into(),
            });
        }
    }
    if out.is_empty() { Ok(()) } else { Err(out) }
}
