//! PLACEHOLDER API, being written in this session: indicator extraction.

use picket_core::Observable;
use serde_json::Value;

/// Finds indicators in text. Build once, share freely.
#[derive(Debug, Default)]
pub struct Extractor {}

impl Extractor {
    pub fn new() -> Self {
        Self {}
    }

    /// Appends the indicators found in `text` to `out`, each tagged with `field`.
    pub fn extract_text(&self, _text: &str, _field: &str, _out: &mut Vec<Observable>) {}

    /// Appends the indicators found in every string of `doc` (field = dotted path), skipping the
    /// fields named in `skip`. Each (type, value) appears once, with the first field it was seen in.
    pub fn extract_document(&self, _doc: &Value, _skip: &[String], _out: &mut Vec<Observable>) {}
}
