//! What the assessment knows besides the alerts: the asset inventory, suppression rules, analyst
//! feedback on earlier incidents, and the baseline of how often rules fire on entities.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use picket_core::{Alert, Verdict};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How much an asset or identity matters.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Criticality {
    Low,
    #[default]
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetEntry {
    /// Host name (case-insensitive) or user name.
    pub name: String,
    pub criticality: Criticality,
    #[serde(default)]
    pub owner: Option<String>,
    /// Protected assets are never contained automatically (used by response policy).
    #[serde(default)]
    pub protected: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubnetEntry {
    #[schemars(with = "String")]
    pub cidr: IpNet,
    pub criticality: Criticality,
    #[serde(default)]
    pub owner: Option<String>,
}

/// The inventory file (`inventory.toml`): hosts, users and subnets with their criticality and owner.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    #[serde(default)]
    pub hosts: Vec<AssetEntry>,
    #[serde(default)]
    pub users: Vec<AssetEntry>,
    #[serde(default)]
    pub subnets: Vec<SubnetEntry>,
}

impl Criticality {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl Inventory {
    /// The host, else the user, of this name: a response action's target.
    pub fn asset(&self, name: &str) -> Option<&AssetEntry> {
        self.host(name).or_else(|| self.user(name))
    }

    pub fn host(&self, name: &str) -> Option<&AssetEntry> {
        self.hosts
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
    }

    pub fn user(&self, name: &str) -> Option<&AssetEntry> {
        self.users
            .iter()
            .find(|u| u.name.eq_ignore_ascii_case(name))
    }

    /// The most specific subnet holding `ip`.
    pub fn subnet(&self, ip: IpAddr) -> Option<&SubnetEntry> {
        self.subnets
            .iter()
            .filter(|s| s.cidr.contains(&ip))
            .max_by_key(|s| s.cidr.prefix_len())
    }

    /// Problems, all at once, as (location, message).
    pub fn check(&self) -> Vec<(String, String)> {
        let mut errs = Vec::new();
        for (kind, list) in [("hosts", &self.hosts), ("users", &self.users)] {
            let mut seen = std::collections::HashSet::new();
            for (i, e) in list.iter().enumerate() {
                if e.name.trim().is_empty() {
                    errs.push((format!("{kind}[{i}].name"), "must not be empty".to_owned()));
                } else if !seen.insert(e.name.to_ascii_lowercase()) {
                    errs.push((
                        format!("{kind}[{i}].name"),
                        format!("`{}` is listed twice", e.name),
                    ));
                }
            }
        }
        errs
    }
}

/// A suppression rule: alerts it matches are closed as benign, citing the rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Suppression {
    /// Shown in evidence.
    pub name: String,
    /// Why (shown in evidence).
    pub reason: String,
    /// Regular expression matched against the rule name.
    #[serde(default)]
    pub rule: Option<String>,
    /// Exact rule id.
    #[serde(default)]
    pub rule_id: Option<String>,
    /// Only on this host (case-insensitive).
    #[serde(default)]
    pub host: Option<String>,
    /// Only when this IP is involved, or an address in this network.
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub network: Option<IpNet>,
}

/// A suppression rule with its regex compiled.
#[derive(Debug, Clone)]
pub struct CompiledSuppression {
    pub rule: Suppression,
    regex: Option<regex::Regex>,
}

impl CompiledSuppression {
    pub fn compile(rule: Suppression) -> Result<Self, String> {
        if rule.rule.is_none()
            && rule.rule_id.is_none()
            && rule.host.is_none()
            && rule.network.is_none()
        {
            return Err(format!(
                "suppression `{}` matches everything: give rule, rule_id, host or network",
                rule.name
            ));
        }
        let regex = match &rule.rule {
            Some(r) => Some(
                regex::Regex::new(r)
                    .map_err(|e| format!("suppression `{}`: bad `rule` regex: {e}", rule.name))?,
            ),
            None => None,
        };
        Ok(Self { rule, regex })
    }

    pub fn matches(&self, alert: &Alert) -> bool {
        if let Some(re) = &self.regex
            && !re.is_match(&alert.rule.name)
        {
            return false;
        }
        if let Some(id) = &self.rule.rule_id
            && alert.rule.id.as_deref() != Some(id.as_str())
        {
            return false;
        }
        if let Some(h) = &self.rule.host
            && !alert.hostnames().any(|n| n.eq_ignore_ascii_case(h))
        {
            return false;
        }
        if let Some(net) = &self.rule.network {
            let hit = alert.entities.endpoints.iter().any(|e| net.contains(&e.ip))
                || alert
                    .entities
                    .hosts
                    .iter()
                    .any(|h| h.ip.is_some_and(|ip| net.contains(&ip)));
            if !hit {
                return false;
            }
        }
        true
    }
}

/// Analyst verdicts on earlier incidents, keyed by rule key (see [`rule_key`]): what analysts concluded
/// when this rule fired before.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feedback {
    /// rule key → (incident id, analyst verdict) for the most recent verdicts.
    pub by_rule: HashMap<String, Vec<(String, Verdict)>>,
}

impl Feedback {
    pub fn record(&mut self, rule_key: &str, incident: &str, verdict: Verdict) {
        let v = self.by_rule.entry(rule_key.to_owned()).or_default();
        v.retain(|(i, _)| i != incident);
        v.push((incident.to_owned(), verdict));
        if v.len() > 20 {
            v.remove(0);
        }
    }
}

/// The stable key of a rule: format, then rule id or name.
pub fn rule_key(alert: &Alert) -> String {
    format!(
        "{}:{}",
        alert.format,
        alert.rule.id.as_deref().unwrap_or(&alert.rule.name)
    )
}

/// Everything the engine knows besides the alerts.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    pub inventory: Inventory,
    pub suppressions: Vec<CompiledSuppression>,
    pub feedback: Feedback,
    /// Prior occurrence counts per (rule key, entity key) from earlier runs (the store keeps them).
    pub baseline: HashMap<(String, String), u64>,
    /// Threat-intel answers per indicator, from the enrichment step.
    pub intel: crate::intel::IntelBook,
    /// The ATT&CK Enterprise knowledge base, when a bundle is loaded (`picket attack import`).
    pub attack: Option<std::sync::Arc<picket_intel::AttackCatalog>>,
}
