//! ATT&CK coverage: which techniques incidents have shown, how often, in kill-chain order.

use std::collections::BTreeMap;

use picket_core::Incident;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One technique seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CoverageRow {
    pub technique: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Tactic short names it was seen under.
    pub tactics: Vec<String>,
    /// Incidents showing it.
    pub incidents: u64,
    /// Alerts in those incidents (with repeats).
    pub alerts: u64,
}

/// Techniques seen across `incidents`, ordered by the kill-chain position of their first tactic,
/// then by id.
pub fn coverage<'a>(
    incidents: impl IntoIterator<Item = &'a Incident>,
    catalog: Option<&picket_intel::AttackCatalog>,
) -> Vec<CoverageRow> {
    let mut rows: BTreeMap<String, CoverageRow> = BTreeMap::new();
    for inc in incidents {
        let mut seen_here = std::collections::HashSet::new();
        for a in &inc.attack {
            let Some(t) = &a.technique else { continue };
            let row = rows.entry(t.clone()).or_insert_with(|| CoverageRow {
                technique: t.clone(),
                name: a
                    .name
                    .clone()
                    .or_else(|| catalog.and_then(|c| c.full_name(t))),
                tactics: Vec::new(),
                incidents: 0,
                alerts: 0,
            });
            if let Some(tac) = &a.tactic
                && !row.tactics.contains(tac)
            {
                row.tactics.push(tac.clone());
            }
            if seen_here.insert(t.clone()) {
                row.incidents += 1;
                row.alerts += inc.alert_count;
            }
        }
    }
    let mut out: Vec<CoverageRow> = rows.into_values().collect();
    for r in &mut out {
        r.tactics
            .sort_by_key(|t| crate::tactics::order(t).unwrap_or(usize::MAX));
    }
    out.sort_by(|a, b| {
        let pos = |r: &CoverageRow| {
            r.tactics
                .first()
                .and_then(|t| crate::tactics::order(t))
                .unwrap_or(usize::MAX)
        };
        (pos(a), &a.technique).cmp(&(pos(b), &b.technique))
    });
    out
}
