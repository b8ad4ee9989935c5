//! The file format (as parsed) and the checked playbook.

use picket_core::{ObservableType, Priority, SourceFormat, Verdict};
use serde::Deserialize;
use toml::Spanned;

/// One playbook file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileDef {
    pub(crate) name: Spanned<String>,
    pub(crate) version: Spanned<String>,
    #[serde(default)]
    pub(crate) description: String,
    #[serde(default = "yes")]
    pub(crate) enabled: bool,
    pub(crate) trigger: Spanned<Trigger>,
    /// The LLM agent's investigation mode for incidents this playbook triggers on
    /// (`pipeline`, `parallel`, `supervisor_worker`, `blackboard`, `consensus`).
    #[serde(default)]
    pub(crate) investigate: Option<Spanned<String>>,
    pub(crate) steps: Vec<Spanned<StepDef>>,
}

fn yes() -> bool {
    true
}

/// When a playbook runs: every condition given must hold (lists: any of their values).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Trigger {
    /// The engine's verdict is one of these.
    pub verdicts: Vec<Verdict>,
    /// The priority is at least this urgent (P1 is the most urgent).
    pub max_priority: Option<Priority>,
    pub min_confidence: Option<f64>,
    /// An ATT&CK technique of the incident is one of these or a sub-technique of one.
    pub techniques: Vec<String>,
    /// An ATT&CK tactic (`credential-access`…) of the incident is one of these.
    pub tactics: Vec<String>,
    /// The incident has an observable of one of these types that is not known-benign, private or
    /// loopback.
    pub observables: Vec<ObservableType>,
    /// An alert of the incident came from one of these sources.
    pub sources: Vec<SourceFormat>,
    /// A minijinja expression over `incident` that must be true.
    pub when: Option<String>,
}

/// One step, as written: `type` says which fields apply (checked in `check.rs`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepDef {
    #[serde(rename = "type")]
    pub(crate) kind: Spanned<String>,
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default, rename = "if")]
    pub(crate) condition: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) then: Vec<Spanned<StepDef>>,
    #[serde(default, rename = "else")]
    pub(crate) otherwise: Vec<Spanned<StepDef>>,
    #[serde(default)]
    pub(crate) action: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) target: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) params: Option<Spanned<toml::Table>>,
    #[serde(default)]
    pub(crate) responder: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) reason: Option<String>,
    #[serde(default)]
    pub(crate) branches: Vec<Spanned<BranchDef>>,
    #[serde(default, rename = "in")]
    pub(crate) items: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) limit: Option<usize>,
    #[serde(default)]
    pub(crate) steps: Vec<Spanned<StepDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BranchDef {
    pub(crate) steps: Vec<Spanned<StepDef>>,
}

/// A checked playbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Playbook {
    pub name: String,
    pub version: String,
    pub description: String,
    pub enabled: bool,
    /// SHA-256 of the file's bytes: the version recorded with every proposal it makes.
    pub sha256: String,
    /// Where it was read from (for messages).
    pub file: String,
    pub trigger: Trigger,
    /// The agent's investigation mode for incidents it triggers on, when it names one.
    pub investigate: Option<String>,
    pub steps: Vec<Step>,
}

/// A checked step.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// `id`, or its position (`steps[2].then[0]`).
    pub id: String,
    /// 1-based line in the file.
    pub line: usize,
    pub kind: StepKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// Records the incident's threat-intel enrichment (gathered by the pipeline) in the run.
    Enrich,
    Condition {
        expr: String,
        then: Vec<Step>,
        otherwise: Vec<Step>,
    },
    Action {
        action: String,
        /// Template.
        target: String,
        /// Values may be templates (strings).
        params: serde_json::Value,
        responder: Option<String>,
    },
    Notify {
        /// Template.
        message: String,
        responder: Option<String>,
    },
    /// Actions after this step (in its list and below) wait for at least one human approval.
    Approval {
        reason: String,
    },
    Parallel {
        branches: Vec<Vec<Step>>,
    },
    ForEach {
        /// Expression giving a list.
        items: String,
        limit: usize,
        steps: Vec<Step>,
    },
}

impl StepKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Enrich => "enrich",
            Self::Condition { .. } => "condition",
            Self::Action { .. } => "action",
            Self::Notify { .. } => "notify",
            Self::Approval { .. } => "approval",
            Self::Parallel { .. } => "parallel",
            Self::ForEach { .. } => "for_each",
        }
    }
}
