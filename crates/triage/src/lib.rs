//! Triage: from a stream of normalized alerts to assessed incidents.
//!
//! [`Engine::push`] deduplicates (same source event, or the same fingerprint of rule and key entities
//! within the dedup window) and correlates (alerts sharing entities within the correlation window join
//! one incident). [`assess`] then judges each incident from the evidence alone: vendor severity,
//! ATT&CK tactic progression, rarity, known-benign lists, asset criticality, analyst feedback and
//! suppression rules. No I/O: knowledge comes in as values.

pub mod assess;
pub mod config;
pub mod coverage;
pub mod engine;
pub mod injection;
pub mod intel;
pub mod knowledge;
pub mod tactics;

pub use config::TriageConfig;
pub use engine::Engine;
pub use knowledge::{Criticality, Feedback, Inventory, Knowledge, Suppression};
