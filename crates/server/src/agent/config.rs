//! `[agent]`: which incidents the LLM agent investigates, in which mode, within which limits.

use picket_agent::Mode;
use picket_core::{Escalation, Incident, Priority, SourceFormat, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which incidents are investigated as they are triaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AutoInvestigate {
    /// Incidents that reach a human (not auto-closed).
    Escalated,
    /// Every incident.
    All,
    /// None: only on request (`POST /api/v1/incidents/{id}/investigate`, `picket investigate`).
    None,
}

/// An incident class and the mode its incidents are investigated in (first match wins).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeRoute {
    pub mode: Mode,
    /// The engine's verdict is one of these (empty: any).
    #[serde(default)]
    pub verdicts: Vec<Verdict>,
    /// The priority is at least this urgent.
    #[serde(default)]
    pub max_priority: Option<Priority>,
    /// An ATT&CK tactic of the incident is one of these (empty: any).
    #[serde(default)]
    pub tactics: Vec<String>,
    /// An ATT&CK technique of the incident is one of these or a sub-technique of one (empty: any).
    #[serde(default)]
    pub techniques: Vec<String>,
    /// An alert came from one of these sources (empty: any).
    #[serde(default)]
    pub sources: Vec<SourceFormat>,
    /// At least this many alerts (a large incident for supervisor–worker).
    #[serde(default)]
    pub min_alerts: u64,
}

impl ModeRoute {
    pub fn matches(&self, i: &Incident) -> bool {
        (self.verdicts.is_empty() || self.verdicts.contains(&i.verdict))
            && self.max_priority.is_none_or(|p| i.priority <= p)
            && (self.tactics.is_empty()
                || i.attack
                    .iter()
                    .filter_map(|a| a.tactic.as_deref())
                    .any(|t| self.tactics.iter().any(|x| x.eq_ignore_ascii_case(t))))
            && (self.techniques.is_empty()
                || i.attack
                    .iter()
                    .filter_map(|a| a.technique.as_deref())
                    .any(|t| {
                        self.techniques.iter().any(|x| {
                            t.eq_ignore_ascii_case(x)
                                || t.to_ascii_uppercase()
                                    .starts_with(&format!("{}.", x.to_ascii_uppercase()))
                        })
                    }))
            && (self.sources.is_empty()
                || i.alerts.iter().any(|a| self.sources.contains(&a.format)))
            && i.alert_count >= self.min_alerts
    }
}

/// `[agent]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AgentConfig {
    /// Investigate with the `[[llm]]` providers. Off: nothing calls a model.
    pub enabled: bool,
    /// `[[llm]]` names to use, the first primary (consensus asks each); empty: all, in order.
    pub providers: Vec<String>,
    /// The mode when no route and no playbook says otherwise.
    pub mode: Mode,
    /// Incident classes and their modes, first match wins.
    pub routes: Vec<ModeRoute>,
    pub investigate: AutoInvestigate,
    /// Incidents waiting for an investigation at most; beyond, new ones are skipped (and logged):
    /// triage never waits on a model.
    pub queue: usize,
    /// Investigations run at once.
    pub concurrency: usize,
    /// Model turns per step (tool calls included).
    pub max_turns: u32,
    /// Output tokens per model call.
    pub max_tokens: u32,
    /// Worker tasks a supervisor may create.
    pub max_workers: usize,
    pub blackboard_rounds: u32,
    /// One investigation's deadline, in seconds.
    pub deadline_secs: u64,
    /// Let the agent propose actions (through the policy; humans approve what it says). Off: its
    /// recommendations are kept for humans only.
    pub propose: bool,
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            providers: Vec::new(),
            mode: Mode::Pipeline,
            routes: Vec::new(),
            investigate: AutoInvestigate::Escalated,
            queue: 256,
            concurrency: 2,
            max_turns: 6,
            max_tokens: 2048,
            max_workers: 4,
            blackboard_rounds: 2,
            deadline_secs: 300,
            propose: true,
        }
    }
}

impl AgentConfig {
    /// Every problem at once, as `(key, message)`; `llm` lists the `[[llm]]` names.
    pub fn check(&self, llm: &[&str]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut bad = |k: &str, m: &str| out.push((k.to_owned(), m.to_owned()));
        if self.enabled && llm.is_empty() {
            bad("enabled", "no `[[llm]]` provider is configured");
        }
        for (i, p) in self.providers.iter().enumerate() {
            if !llm.contains(&p.as_str()) {
                bad(
                    &format!("providers[{i}]"),
                    &format!("no `[[llm]]` is named `{p}`"),
                );
            }
        }
        if self.queue == 0 {
            bad("queue", "must be at least 1");
        }
        if !(1..=32).contains(&self.concurrency) {
            bad("concurrency", "must be within 1..=32");
        }
        if !(1..=50).contains(&self.max_turns) {
            bad("max_turns", "must be within 1..=50");
        }
        if !(64..=200_000).contains(&self.max_tokens) {
            bad("max_tokens", "must be within 64..=200000");
        }
        if !(1..=16).contains(&self.max_workers) {
            bad("max_workers", "must be within 1..=16");
        }
        if !(1..=10).contains(&self.blackboard_rounds) {
            bad("blackboard_rounds", "must be within 1..=10");
        }
        if self.deadline_secs == 0 {
            bad("deadline_secs", "must be at least 1");
        }
        out
    }

    /// The mode for `incident`: the playbook's (`playbook`), else the first matching route's,
    /// else the default.
    pub fn mode_for(&self, incident: &Incident, playbook: Option<Mode>) -> Mode {
        playbook
            .or_else(|| {
                self.routes
                    .iter()
                    .find(|r| r.matches(incident))
                    .map(|r| r.mode)
            })
            .unwrap_or(self.mode)
    }

    /// Whether `incident` is investigated as it is triaged.
    pub fn wants(&self, incident: &Incident) -> bool {
        self.enabled
            && match self.investigate {
                AutoInvestigate::All => true,
                AutoInvestigate::Escalated => incident.escalation != Escalation::AutoClose,
                AutoInvestigate::None => false,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident(verdict: &str, priority: &str, tactic: &str, alerts: u64) -> Incident {
        serde_json::from_value(serde_json::json!({
            "id": "inc_1", "title": "t", "verdict": verdict, "priority": priority,
            "confidence": 0.9, "confidence_note": "n", "escalation": "analyst_queue",
            "first_seen": "2026-11-20T10:00:00Z", "last_seen": "2026-11-20T10:05:00Z",
            "alert_count": alerts,
            "alerts": [{"id": "al_1", "format": "wazuh", "raw_sha256": "00", "count": alerts}],
            "scope": {"hosts": [], "users": [], "ips": []}, "observables": [],
            "attack": [{"technique": "T1110.001", "tactic": tactic}],
            "timeline": [], "evidence": [],
        }))
        .unwrap()
    }

    #[test]
    fn the_mode_comes_from_the_playbook_then_the_first_matching_route_then_the_default() {
        let cfg = AgentConfig {
            routes: vec![
                ModeRoute {
                    mode: Mode::Consensus,
                    verdicts: vec![Verdict::Malicious],
                    max_priority: Some(Priority::P2),
                    tactics: vec![],
                    techniques: vec![],
                    sources: vec![],
                    min_alerts: 0,
                },
                ModeRoute {
                    mode: Mode::SupervisorWorker,
                    verdicts: vec![],
                    max_priority: None,
                    tactics: vec![],
                    techniques: vec!["T1110".into()],
                    sources: vec![SourceFormat::Wazuh],
                    min_alerts: 50,
                },
            ],
            ..AgentConfig::default()
        };
        let critical = incident("malicious", "P1", "credential-access", 3);
        assert_eq!(cfg.mode_for(&critical, None), Mode::Consensus);
        assert_eq!(
            cfg.mode_for(&critical, Some(Mode::Blackboard)),
            Mode::Blackboard
        );
        // P3 misses the first route; 3 alerts miss the second.
        let small = incident("malicious", "P3", "credential-access", 3);
        assert_eq!(cfg.mode_for(&small, None), Mode::Pipeline);
        // A sub-technique of T1110 with enough alerts.
        let big = incident("suspicious", "P3", "credential-access", 80);
        assert_eq!(cfg.mode_for(&big, None), Mode::SupervisorWorker);
    }

    #[test]
    fn checks_report_every_problem() {
        let cfg = AgentConfig {
            enabled: true,
            providers: vec!["nope".into()],
            queue: 0,
            concurrency: 0,
            max_tokens: 1,
            deadline_secs: 0,
            ..AgentConfig::default()
        };
        let keys: Vec<String> = cfg.check(&["claude"]).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            keys,
            [
                "providers[0]",
                "queue",
                "concurrency",
                "max_tokens",
                "deadline_secs"
            ]
        );
        assert_eq!(
            cfg.check(&[]).first().map(|(k, _)| k.as_str()),
            Some("enabled")
        );
        let off = AgentConfig::default();
        assert!(off.check(&[]).is_empty());
        assert!(!off.wants(&incident("malicious", "P1", "x", 1)));
    }
}
