//! The policy file (TOML, versioned): allowlist, tier overrides, rate limits, blast radius, breaker.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::Tier;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// The action it limits; absent: all automated actions together (the global limit).
    #[serde(default)]
    pub action: Option<String>,
    pub max: u32,
    pub per_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlastRadius {
    pub action: String,
    /// Targets contained at once (active, not undone), per incident.
    pub max_active_per_incident: u32,
    /// Targets contained within `window_secs`, across incidents.
    pub max_per_window: u32,
    pub window_secs: u64,
}

/// Escalation triggers: an unusual pattern pauses automated response and pages on-call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Breaker {
    /// Automated actions on the same target within `window_secs` that trip it.
    pub same_target_max: u32,
    /// Automated actions of any kind within `window_secs` that trip it (a spike).
    pub spike_max: u32,
    pub window_secs: u64,
}

impl Default for Breaker {
    fn default() -> Self {
        Self {
            same_target_max: 3,
            spike_max: 200,
            window_secs: 600,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// The policy's own version, recorded with every decision.
    pub version: String,
    /// Actions that may be proposed at all.
    pub allow: Vec<String>,
    /// Tier overrides per action.
    #[serde(default)]
    pub tiers: BTreeMap<String, Tier>,
    #[serde(default)]
    pub rate_limits: Vec<RateLimit>,
    #[serde(default)]
    pub blast_radius: Vec<BlastRadius>,
    #[serde(default)]
    pub breaker: Breaker,
    /// Approval timeout per action, seconds (default: the tier's).
    #[serde(default)]
    pub timeouts: BTreeMap<String, u64>,
    /// Per asset class (the target's criticality in the inventory: low, medium, high, critical): a
    /// minimum tier and an approval timeout.
    #[serde(default)]
    pub asset_classes: BTreeMap<String, AssetClass>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetClass {
    /// Actions on such targets are at least this tier.
    #[serde(default)]
    pub min_tier: Option<Tier>,
    /// Approval timeout for actions on such targets, seconds.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
}

impl Policy {
    /// The seeds' guardrails: at most 100 IP blocks per hour, at most 5 hosts isolated at once.
    pub fn seed_defaults() -> Self {
        Self {
            version: "default-1".into(),
            allow: crate::default_catalog()
                .into_iter()
                .map(|a| a.name)
                .collect(),
            tiers: BTreeMap::new(),
            rate_limits: vec![
                RateLimit {
                    action: Some("block_ip".into()),
                    max: 100,
                    per_secs: 3600,
                },
                RateLimit {
                    action: None,
                    max: 500,
                    per_secs: 3600,
                },
            ],
            blast_radius: vec![BlastRadius {
                action: "isolate_host".into(),
                max_active_per_incident: 5,
                max_per_window: 5,
                window_secs: 3600,
            }],
            breaker: Breaker::default(),
            timeouts: BTreeMap::new(),
            asset_classes: BTreeMap::new(),
        }
    }

    /// Parses a policy file; errors carry TOML's line and column.
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let p: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        let problems = p.check();
        if problems.is_empty() {
            Ok(p)
        } else {
            Err(problems.join("\n"))
        }
    }

    /// Every problem at once.
    pub fn check(&self) -> Vec<String> {
        let known: Vec<String> = crate::default_catalog()
            .into_iter()
            .map(|a| a.name)
            .collect();
        let mut out = Vec::new();
        for a in self
            .allow
            .iter()
            .chain(self.tiers.keys())
            .chain(self.timeouts.keys())
        {
            if !known.contains(a) {
                out.push(format!("unknown action `{a}`"));
            }
        }
        for (i, r) in self.rate_limits.iter().enumerate() {
            if r.max == 0 || r.per_secs == 0 {
                out.push(format!(
                    "rate_limits[{i}]: max and per_secs must be at least 1"
                ));
            }
        }
        for (k, v) in &self.timeouts {
            if *v == 0 {
                out.push(format!("timeouts.{k}: must be at least 1 second"));
            }
        }
        for (k, c) in &self.asset_classes {
            if !["low", "medium", "high", "critical"].contains(&k.as_str()) {
                out.push(format!(
                    "asset_classes.{k}: not an inventory criticality (low, medium, high, critical)"
                ));
            }
            if c.timeout_secs == Some(0) {
                out.push(format!(
                    "asset_classes.{k}.timeout_secs: must be at least 1 second"
                ));
            }
        }
        for (i, b) in self.blast_radius.iter().enumerate() {
            if b.window_secs == 0 {
                out.push(format!("blast_radius[{i}]: window_secs must be at least 1"));
            }
        }
        out
    }
}
