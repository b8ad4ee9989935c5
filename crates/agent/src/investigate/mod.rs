//! Investigations: models reasoning over one incident in one of the seeds' coordination patterns
//! ([`Mode`]), under control.
//!
//! - Everything a model reads from an alert or a tool is spotlighted ([`crate::injection`]) and
//!   scanned for injection-like content; what is found is kept on the investigation.
//! - Every answer is a typed artifact from [`crate::contract`], validated against the incident's
//!   evidence; a refused answer gets one repair turn, then the step fails.
//! - Proposals go to the [`Toolbox`], which sends them through the policy as the agent's; the
//!   model never approves.
//! - A model's verdict is reconciled with the deterministic one ([`crate::injection::reconcile`]);
//!   in consensus mode any disagreement goes to a human.
//! - When a provider fails, is slow, is over budget or answers out of contract, the investigation
//!   is `degraded`: what was found so far is kept and the deterministic result stands.

mod modes;
mod task;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use picket_core::{Incident, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contract::{
    Claim, EnrichmentSummary, Evidence, ResponseRecommendation, TimelineNarrative,
};
use crate::guard::GuardedProvider;
use crate::injection::{Deterministic, Signal, reconcile};
use crate::provider::{ProviderError, Usage};
use crate::tools::{Caller, Toolbox};

/// How agents coordinate on one incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Identification → scoping → evidence gathering → timeline → attribution → report, each
    /// phase reading the previous ones' findings.
    Pipeline,
    /// One worker per evidence source (network, files, identities and assets, context) at once,
    /// then one summary and recommendation.
    Parallel,
    /// A supervisor splits the incident into worker tasks, workers run at once, the supervisor
    /// writes the timeline and recommendation from their findings.
    SupervisorWorker,
    /// Specialists take turns writing findings to the shared record until a round adds nothing;
    /// a reporter writes the artifacts from it.
    Blackboard,
    /// The deterministic engine and each LLM assessor classify independently; any disagreement
    /// goes to a human.
    Consensus,
}

impl Mode {
    pub const ALL: [Mode; 5] = [
        Mode::Pipeline,
        Mode::Parallel,
        Mode::SupervisorWorker,
        Mode::Blackboard,
        Mode::Consensus,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pipeline => "pipeline",
            Self::Parallel => "parallel",
            Self::SupervisorWorker => "supervisor_worker",
            Self::Blackboard => "blackboard",
            Self::Consensus => "consensus",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Limits of one investigation.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Model turns one step may take (tool calls included) before it fails.
    pub max_turns: u32,
    /// Output tokens per call.
    pub max_tokens: u32,
    /// Worker tasks a supervisor may create.
    pub max_workers: usize,
    /// Blackboard rounds at most.
    pub blackboard_rounds: u32,
    /// The whole investigation's deadline.
    pub deadline: Duration,
    /// Offer `propose_action` and submit the recommendation's actions as proposals (through the
    /// policy). Off: recommendations are kept for humans only.
    pub propose: bool,
    /// The action catalog (the only actions a recommendation may name).
    pub catalog: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_turns: 6,
            max_tokens: 2048,
            max_workers: 4,
            blackboard_rounds: 2,
            deadline: Duration::from_secs(300),
            propose: true,
            catalog: Vec::new(),
        }
    }
}

/// One entry of the shared record: who found what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The agent's role (`identification`, `worker:2`, `intel_analyst`…).
    pub agent: String,
    pub claims: Vec<Claim>,
    pub confidence_note: String,
    pub explanation: String,
}

/// One vote in consensus mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vote {
    /// `engine` or the assessor's provider name.
    pub voter: String,
    pub verdict: Verdict,
    pub confidence: f64,
    pub note: String,
}

/// One tool call a model made, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolTrace {
    pub agent: String,
    pub tool: String,
    pub arguments: Value,
    pub is_error: bool,
}

/// Why the deterministic result stands alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Degraded {
    /// `ProviderError::code()`, `contract`, `turns_exhausted` or `deadline`.
    pub code: String,
    pub message: String,
    /// The step that failed.
    pub step: String,
}

/// Everything one investigation produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Investigation {
    pub incident: String,
    pub mode: Mode,
    /// The primary provider.
    pub provider: String,
    /// `completed` or `degraded`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degraded: Option<Degraded>,
    pub findings: Vec<Finding>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrichment: Option<EnrichmentSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<TimelineNarrative>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<ResponseRecommendation>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub votes: Vec<Vote>,
    /// The deterministic engine's verdict.
    pub engine_verdict: Verdict,
    /// The model's verdict (the recommendation's, or the consensus when assessors agree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_verdict: Option<Verdict>,
    /// The verdict that stands after reconciliation: the engine's when the model gave none.
    pub verdict: Verdict,
    /// Why it went to a human instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_reason: Option<String>,
    /// Injection-like content found in what the models read.
    pub injection: Vec<Signal>,
    /// Answers refused by the contract (each with its errors), kept for inspection.
    pub refused: Vec<String>,
    pub tool_calls: Vec<ToolTrace>,
    /// What the policy decided for each proposal (the tool's answers).
    pub proposals: Vec<Value>,
    pub calls: u64,
    pub usage: Usage,
    pub cost: f64,
}

impl Investigation {
    pub fn is_degraded(&self) -> bool {
        self.degraded.is_some()
    }
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum StepError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("the answer broke the contract twice: {0}")]
    Contract(String),
    #[error("no answer within {0} turns")]
    TurnsExhausted(u32),
}

impl StepError {
    fn code(&self) -> &'static str {
        match self {
            Self::Provider(e) => e.code(),
            Self::Contract(_) => "contract",
            Self::TurnsExhausted(_) => "turns_exhausted",
        }
    }
}

/// What the steps of one investigation share (workers run at once, so behind a lock).
#[derive(Default)]
pub(crate) struct Record {
    findings: Vec<Finding>,
    enrichment: Option<EnrichmentSummary>,
    timeline: Option<TimelineNarrative>,
    recommendation: Option<ResponseRecommendation>,
    votes: Vec<Vote>,
    injection: BTreeSet<Signal>,
    refused: Vec<String>,
    tool_calls: Vec<ToolTrace>,
    proposals: Vec<Value>,
    proposed: BTreeSet<(String, String)>,
    calls: u64,
    usage: Usage,
    failure: Option<Degraded>,
}

/// Runs investigations with one or more providers (the first is primary; consensus asks each).
pub struct Investigator {
    providers: Vec<Arc<GuardedProvider>>,
    toolbox: Arc<dyn Toolbox>,
    settings: Settings,
}

/// One investigation in flight.
pub(crate) struct Run<'a> {
    pub(crate) inv: &'a Investigator,
    pub(crate) incident: &'a Incident,
    pub(crate) evidence: Evidence,
    pub(crate) nonce: String,
    pub(crate) record: Mutex<Record>,
}

impl Run<'_> {
    pub(crate) fn record(&self) -> std::sync::MutexGuard<'_, Record> {
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn caller(&self, provider: &GuardedProvider) -> Caller {
        Caller::Agent(crate::provider::Provider::name(provider).to_owned())
    }
}

impl Investigator {
    /// `providers` must not be empty.
    pub fn new(
        providers: Vec<Arc<GuardedProvider>>,
        toolbox: Arc<dyn Toolbox>,
        settings: Settings,
    ) -> Result<Self, ProviderError> {
        if providers.is_empty() {
            return Err(ProviderError::Config(
                "an investigator needs at least one provider".into(),
            ));
        }
        Ok(Self {
            providers,
            toolbox,
            settings,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn primary(&self) -> &Arc<GuardedProvider> {
        &self.providers[0]
    }

    /// Investigates one incident. Never fails: a failure is a degraded investigation in which the
    /// deterministic result stands. `intel_malicious`: threat intel called one of the incident's
    /// indicators malicious (a model calling it benign goes to review).
    pub async fn investigate(
        &self,
        incident: &Incident,
        mode: Mode,
        intel_malicious: bool,
    ) -> Investigation {
        let run = Run {
            inv: self,
            incident,
            evidence: Evidence::of(incident),
            nonce: nonce(&incident.id),
            record: Mutex::new(Record::default()),
        };
        let key = &incident.id;
        let before: Vec<_> = self.providers.iter().map(|p| p.spend(key)).collect();
        let outcome = tokio::time::timeout(self.settings.deadline, modes::run(&run, mode)).await;
        let mut rec = run.record.into_inner().unwrap_or_else(|e| e.into_inner());
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(failure)) => rec.failure = Some(failure),
            Err(_) => {
                rec.failure = Some(Degraded {
                    code: "deadline".into(),
                    message: format!("no result within {} s", self.settings.deadline.as_secs()),
                    step: "investigation".into(),
                })
            }
        }
        let cost: f64 = self
            .providers
            .iter()
            .zip(&before)
            .map(|(p, b)| p.spend(key).cost - b.cost)
            .sum();
        let engine = incident.verdict;
        let injection = !rec.injection.is_empty();
        let det = Deterministic {
            engine,
            intel_malicious,
            injection,
        };
        let model = if mode == Mode::Consensus {
            modes::tally(&rec.votes, engine)
        } else {
            rec.recommendation.as_ref().map(|r| (r.verdict, None))
        };
        let (model_verdict, verdict, review_reason) = match model {
            None => (None, engine, None),
            Some((m, Some(why))) => (Some(m), Verdict::NeedsReview, Some(why)),
            Some((m, None)) => {
                let (v, why) = reconcile(m, det);
                (Some(m), v, why.map(str::to_owned))
            }
        };
        Investigation {
            incident: incident.id.clone(),
            mode,
            provider: crate::provider::Provider::name(self.primary().as_ref()).to_owned(),
            status: if rec.failure.is_some() {
                "degraded"
            } else {
                "completed"
            }
            .into(),
            degraded: rec.failure,
            findings: rec.findings,
            enrichment: rec.enrichment,
            timeline: rec.timeline,
            recommendation: rec.recommendation,
            votes: rec.votes,
            engine_verdict: engine,
            model_verdict,
            verdict,
            review_reason,
            injection: rec.injection.into_iter().collect(),
            refused: rec.refused,
            tool_calls: rec.tool_calls,
            proposals: rec.proposals,
            calls: rec.calls,
            usage: rec.usage,
            cost,
        }
    }
}

/// A per-investigation marker for spotlight envelopes: not guessable from the alert text, which
/// is written before the investigation starts.
fn nonce(incident: &str) -> String {
    let t = jiff::Timestamp::now().as_nanosecond();
    let h = picket_core::hash::stable_id(
        "n",
        &[
            incident.as_bytes(),
            t.to_string().as_bytes(),
            &std::process::id().to_le_bytes(),
        ],
    );
    h.chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect()
}
