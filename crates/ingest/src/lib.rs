//! Ingest: bytes in, canonical [`picket_core::Alert`]s out.
//!
//! `input` splits a payload into records (JSON object, JSON array, NDJSON, concatenated JSON, CSV),
//! `adapters` holds one module per vendor format (auto-detected from the document's shape), `extract`
//! finds indicators in text, and `normalize` ties them together. Nothing here does I/O.

pub mod adapters;
pub mod error;
pub mod extract;
pub mod input;
pub mod json;
pub mod normalize;
pub mod ocsf_export;

pub use error::{Location, RecordError};
pub use input::{InputKind, RawRecord, Records, records, split};
pub use normalize::{Normalizer, NormalizerOptions};
