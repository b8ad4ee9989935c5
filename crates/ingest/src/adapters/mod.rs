//! Source adapters: one module per vendor format, one trait, one registry list.
//!
//! An adapter recognises its vendor's document by shape ([`SourceAdapter::detect`]) and maps it onto
//! the canonical alert ([`SourceAdapter::normalize`]). Ids, raw bytes, hashes and indicator extraction
//! are common work done by [`crate::normalize`], not by adapters.

mod fields;

pub mod crowdstrike;
pub mod defender;
pub mod elastic_alert;
pub mod generic;
pub mod guardduty;
pub mod ocsf;
pub mod securityhub;
pub mod sentinel;
pub mod splunk_notable;
pub mod suricata;
pub mod wazuh;

pub use fields::{Doc, as_text};

use crate::json::Json;
use jiff::Timestamp;
use picket_core::{AttackRef, Entities, Product, Rule, Severity, SourceFormat};

use crate::error::AdapterError;

/// What an adapter reads out of a vendor document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Normalized {
    /// The vendor's own id for the alert (used for idempotent ingest), if any.
    pub source_event_id: Option<String>,
    pub time: Option<Timestamp>,
    pub product: Product,
    pub rule: Rule,
    pub severity: Severity,
    /// The vendor's severity value, verbatim.
    pub vendor_severity: Option<String>,
    pub message: String,
    pub entities: Entities,
    pub attack: Vec<AttackRef>,
}

/// One vendor format.
pub trait SourceAdapter: Send + Sync {
    fn format(&self) -> SourceFormat;

    /// Whether `doc` has this vendor's shape. Cheap: looks at a few distinctive keys only.
    fn detect(&self, doc: &Json) -> bool;

    /// Maps the document. Missing optional fields are fine; a document without what makes it an alert
    /// of this format (e.g. no time at all) is an error naming the field.
    fn normalize(&self, doc: &Json) -> Result<Normalized, AdapterError>;
}

/// The built-in adapters, in detection order (most specific shapes first). The generic adapter is not
/// here: it needs a mapping from config and is never auto-detected.
pub fn builtin() -> Vec<Box<dyn SourceAdapter>> {
    vec![
        Box::new(ocsf::Ocsf),
        Box::new(securityhub::SecurityHub),
        Box::new(guardduty::GuardDuty),
        Box::new(elastic_alert::ElasticAlert),
        Box::new(wazuh::Wazuh),
        Box::new(suricata::Suricata),
        Box::new(crowdstrike::CrowdStrike),
        Box::new(defender::Defender),
        Box::new(sentinel::Sentinel),
        Box::new(splunk_notable::SplunkNotable),
    ]
}

/// Adapters fed a `serde_json::Value`, for tests written with `json!`.
#[cfg(test)]
pub(crate) trait TestExt {
    fn normalize_value(&self, doc: &serde_json::Value) -> Result<Normalized, AdapterError>;
    fn detect_value(&self, doc: &serde_json::Value) -> bool;
}

#[cfg(test)]
impl<T: SourceAdapter + ?Sized> TestExt for T {
    fn normalize_value(&self, doc: &serde_json::Value) -> Result<Normalized, AdapterError> {
        self.normalize(&Json::from(doc))
    }

    fn detect_value(&self, doc: &serde_json::Value) -> bool {
        self.detect(&Json::from(doc))
    }
}
