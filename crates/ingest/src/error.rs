//! Record-level errors: what was wrong, with the error code and where.

use std::fmt;

use picket_core::ErrorCode;
use serde::Serialize;

/// Where a record came from: the source name (file path, `-`, or `request`), the 1-based line it
/// starts on, and its 0-based index in the payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub source: String,
    pub line: u64,
    pub index: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.line)
    }
}

/// A rejected record: code, reason and location. The raw bytes travel beside it (dead-letter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{location}: {message} [{code}]", code = code.as_str())]
pub struct RecordError {
    pub code: ErrorCode,
    pub message: String,
    pub location: Location,
    /// The rejected bytes, exactly as received (the record, or its line when it could not be cut
    /// out; everything from there on when the rest of the payload could not be read). Kept so that
    /// rejected input can be stored for inspection, never dropped.
    #[serde(skip)]
    pub raw: Vec<u8>,
}

impl RecordError {
    pub fn new(code: ErrorCode, message: impl Into<String>, location: Location) -> Self {
        Self {
            code,
            message: message.into(),
            location,
            raw: Vec::new(),
        }
    }

    /// The same error carrying the rejected bytes.
    pub fn with_raw(mut self, raw: impl Into<Vec<u8>>) -> Self {
        self.raw = raw.into();
        self
    }
}

/// An adapter's complaint about a document that has its shape but cannot be mapped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    #[error("missing required field `{0}`")]
    Missing(&'static str),
    #[error("field `{field}`: {reason}")]
    Invalid { field: String, reason: String },
    #[error("field `{field}`: {source}")]
    Time {
        field: String,
        source: picket_core::time::TimeError,
    },
}

impl AdapterError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Time { .. } => ErrorCode::InvalidTimestamp,
            _ => ErrorCode::InvalidRecord,
        }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
