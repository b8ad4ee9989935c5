//! PLACEHOLDER: being written in this session; detects nothing yet.

use picket_core::SourceFormat;
use serde_json::Value;

use super::{Normalized, SourceAdapter};
use crate::error::AdapterError;

pub struct Ocsf;

impl SourceAdapter for Ocsf {
    fn format(&self) -> SourceFormat {
        SourceFormat::Ocsf
    }

    fn detect(&self, _doc: &Value) -> bool {
        false
    }

    fn normalize(&self, _doc: &Value) -> Result<Normalized, AdapterError> {
        Err(AdapterError::Missing("adapter not written yet"))
    }
}
