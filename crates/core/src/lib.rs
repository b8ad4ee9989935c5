//! Picket's domain model. Every stage of the data path (ingest → normalize → extract → correlate →
//! assess) speaks these types; nothing here does I/O.

pub mod alert;
pub mod attack;
pub mod enrichment;
pub mod error;
pub mod hash;
pub mod incident;
pub mod observable;
pub mod time;

pub use alert::{
    Alert, AttackRef, Endpoint, EndpointRole, Entities, FileEntity, Host, Process, Product, Rule,
    Severity, SourceFormat, User,
};
pub use enrichment::{
    AlertEnrichment, EnrichmentSummary, Finding, IndicatorEnrichment, IntelResult, IntelVerdict,
    SourceFailure,
};
pub use error::ErrorCode;
pub use incident::{
    AlertRef, Escalation, Evidence, Incident, IncidentStatus, Priority, Scope, TimelineEntry,
    Verdict,
};
pub use observable::{Observable, ObservableType};
