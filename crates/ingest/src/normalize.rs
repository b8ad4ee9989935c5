//! Record → alert: parse, pick the adapter (forced or detected), map, then the common finishing work:
//! id, raw bytes and hash, fallback time, indicator extraction.

use picket_core::hash::sha256_hex;
use picket_core::{Alert, ErrorCode, SourceFormat};
use std::borrow::Cow;

use crate::json::{Json, Object};

use crate::adapters::generic::{Generic, GenericMapping};
use crate::adapters::{self, SourceAdapter};
use crate::error::RecordError;
use crate::extract::Extractor;
use crate::input::RawRecord;

/// How the normalizer picks adapters.
#[derive(Debug, Clone, Default)]
pub struct NormalizerOptions {
    /// Force one format instead of detecting. `Generic` needs `mapping`.
    pub format: Option<SourceFormat>,
    /// The generic mapping used for CSV records and for `format = Generic`.
    pub mapping: Option<GenericMapping>,
    /// Largest record accepted, in bytes.
    pub max_record_bytes: usize,
}

/// Turns raw records into alerts. Build once; `normalize` takes `&self` and is cheap to share.
pub struct Normalizer {
    adapters: Vec<Box<dyn SourceAdapter>>,
    forced: Option<usize>,
    generic: Option<Generic>,
    extractor: Extractor,
    max_record_bytes: usize,
}

/// Default record size limit: 16 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 16 << 20;

impl Default for Normalizer {
    fn default() -> Self {
        Self::new(NormalizerOptions::default()).expect("default options are valid")
    }
}

impl Normalizer {
    /// Fails when `format = Generic` is forced without a mapping.
    pub fn new(opts: NormalizerOptions) -> Result<Self, String> {
        let adapters = adapters::builtin();
        let generic = opts.mapping.map(|mapping| Generic { mapping });
        let forced = match opts.format {
            None => None,
            Some(SourceFormat::Generic) => {
                if generic.is_none() {
                    return Err(
                        "format `generic` needs a mapping (see `[[mappings]]` in picket.toml)"
                            .to_owned(),
                    );
                }
                None
            }
            Some(f) => Some(
                adapters
                    .iter()
                    .position(|a| a.format() == f)
                    .ok_or_else(|| format!("no adapter for format `{f}`"))?,
            ),
        };
        let force_generic = opts.format == Some(SourceFormat::Generic);
        Ok(Self {
            adapters,
            forced: if force_generic {
                Some(usize::MAX)
            } else {
                forced
            },
            generic,
            extractor: Extractor::new(),
            max_record_bytes: if opts.max_record_bytes == 0 {
                DEFAULT_MAX_RECORD_BYTES
            } else {
                opts.max_record_bytes
            },
        })
    }

    pub fn extractor(&self) -> &Extractor {
        &self.extractor
    }

    /// Which adapter would read `doc` (forced, or the first whose shape matches).
    pub fn detect(&self, doc: &Json<'_>) -> Option<SourceFormat> {
        self.pick(doc).map(|a| a.format())
    }

    fn pick(&self, doc: &Json<'_>) -> Option<&dyn SourceAdapter> {
        match self.forced {
            Some(usize::MAX) => self.generic.as_ref().map(|g| g as &dyn SourceAdapter),
            Some(i) => Some(self.adapters[i].as_ref()),
            None => self
                .adapters
                .iter()
                .find(|a| a.detect(doc))
                .map(|a| a.as_ref()),
        }
    }

    /// Normalizes one record. Errors carry the record's location and an error code.
    pub fn normalize(&self, rec: &RawRecord) -> Result<Alert, RecordError> {
        let mut alert = self.normalize_inner(rec)?;
        alert.raw = rec.text().to_owned();
        Ok(alert)
    }

    /// Like [`Normalizer::normalize`], moving the record's text into the alert instead of copying it.
    pub fn normalize_owned(&self, rec: RawRecord) -> Result<Alert, RecordError> {
        let mut alert = self.normalize_inner(&rec)?;
        alert.raw = match rec {
            RawRecord::Json { text, .. } | RawRecord::Csv { text, .. } => text,
        };
        Ok(alert)
    }

    fn normalize_inner(&self, rec: &RawRecord) -> Result<Alert, RecordError> {
        // The location is copied only when there is an error to report.
        let err = |code: ErrorCode, msg: String| {
            RecordError::new(code, msg, rec.location().clone()).with_raw(rec.text().as_bytes())
        };
        let text = rec.text();
        if text.len() > self.max_record_bytes {
            return Err(err(
                ErrorCode::PayloadTooLarge,
                format!(
                    "record is {} bytes, over the {}-byte limit",
                    text.len(),
                    self.max_record_bytes
                ),
            ));
        }
        let (doc, adapter): (Json<'_>, &dyn SourceAdapter) = match rec {
            RawRecord::Csv {
                headers, values, ..
            } => {
                let generic = self.generic.as_ref().ok_or_else(|| {
                    err(
                        ErrorCode::UnknownFormat,
                        "CSV input needs a generic mapping (`--mapping NAME`)".to_owned(),
                    )
                })?;
                let obj = Object::from_entries(
                    headers
                        .iter()
                        .zip(values)
                        .map(|(k, v)| (Cow::Borrowed(k.as_str()), Json::String(Cow::Borrowed(v))))
                        .collect(),
                );
                (Json::Object(obj), generic as &dyn SourceAdapter)
            }
            RawRecord::Json { text, .. } => {
                let doc = Json::parse(text).map_err(|e| {
                    let code = if e.to_string().contains("recursion limit") {
                        ErrorCode::TooDeep
                    } else {
                        ErrorCode::InvalidJson
                    };
                    err(code, format!("invalid JSON: {e}"))
                })?;
                if !doc.is_object() {
                    return Err(err(
                        ErrorCode::InvalidRecord,
                        format!("expected a JSON object, found {}", kind_of(&doc)),
                    ));
                }
                let adapter = self.pick(&doc).ok_or_else(|| {
                    err(
                        ErrorCode::UnknownFormat,
                        "no adapter recognises this document's shape; name one with --format (see `picket formats`)".to_owned(),
                    )
                })?;
                (doc, adapter)
            }
        };
        let n = adapter
            .normalize(&doc)
            .map_err(|e| err(e.code(), format!("{}: {e}", adapter.format())))?;
        let raw_sha256 = sha256_hex(text.as_bytes());
        let time = n.time.ok_or_else(|| {
            err(
                ErrorCode::InvalidRecord,
                format!("{}: no event time in the record", adapter.format()),
            )
        })?;
        let id = Alert::derive_id(adapter.format(), n.source_event_id.as_deref(), &raw_sha256);
        let mut observables = Vec::new();
        let skip: &[String] = match (rec, &self.generic) {
            (RawRecord::Csv { .. }, Some(g)) => &g.mapping.ignore,
            _ if self.forced == Some(usize::MAX) => {
                self.generic.as_ref().map_or(&[], |g| &g.mapping.ignore)
            }
            _ => &[],
        };
        self.extractor
            .extract_document(&doc, skip, &mut observables);
        Ok(Alert {
            id,
            format: adapter.format(),
            source_event_id: n.source_event_id,
            time,
            product: n.product,
            rule: n.rule,
            severity: n.severity,
            vendor_severity: n.vendor_severity,
            message: n.message,
            entities: n.entities,
            attack: n.attack,
            observables,
            raw_sha256,
            raw: String::new(),
        })
    }
}

fn kind_of(v: &Json<'_>) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{InputKind, split};

    fn one(body: &[u8]) -> Result<Alert, RecordError> {
        let recs = split(body, InputKind::Auto, "t");
        assert_eq!(recs.len(), 1);
        Normalizer::default().normalize(recs[0].as_ref().unwrap())
    }

    #[test]
    fn deep_nesting_is_a_too_deep_error_not_a_crash() {
        let body = format!("{{\"a\":{}{}}}", "[".repeat(1000), "]".repeat(1000));
        assert_eq!(one(body.as_bytes()).unwrap_err().code, ErrorCode::TooDeep);
    }

    #[test]
    fn non_objects_and_unknown_shapes_are_rejected_with_a_reason() {
        let e = one(b"[1]").unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidRecord);
        let e = one(b"{\"hello\": \"world\"}").unwrap_err();
        assert_eq!(e.code, ErrorCode::UnknownFormat);
        assert!(e.message.contains("--format"));
    }

    #[test]
    fn csv_without_mapping_is_rejected() {
        let recs = split(b"a,b\n1,2\n", InputKind::Auto, "t");
        let e = Normalizer::default()
            .normalize(recs[0].as_ref().unwrap())
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::UnknownFormat);
    }

    #[test]
    fn wazuh_sample_normalizes_with_raw_kept_byte_for_byte() {
        let body = br#"{"agent":{"ip":"192.168.121.78","name":"Ubuntu-22","id":"003"},"rule":{"level":10,"description":"sshd: brute force","id":"100003","mitre":{"id":["T1110"],"tactic":["Credential Access"]}},"id":"1684752043.76892","timestamp":"2023-05-22T10:40:43.395+0000"}"#;
        let a = one(body).unwrap();
        assert_eq!(a.format, SourceFormat::Wazuh);
        assert_eq!(a.raw.as_bytes(), body);
        assert_eq!(a.raw_sha256, sha256_hex(body));
        assert_eq!(
            a.id,
            Alert::derive_id(SourceFormat::Wazuh, Some("1684752043.76892"), &a.raw_sha256)
        );
        assert_eq!(a.attack[0].technique.as_deref(), Some("T1110"));
        assert_eq!(a.attack[0].tactic.as_deref(), Some("credential-access"));
    }
}
