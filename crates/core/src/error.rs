//! The one table of public error codes. Every API error and every rejected record carries one of these
//! codes; the HTTP status lives here too so the server and the CLI agree.

use serde::Serialize;

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident => ($status:literal, $code:literal); )*) => {
        /// A stable, documented error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The `code` string in API errors and dead-letter records.
            pub fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code, )* }
            }

            /// The HTTP status an API answers with.
            pub fn http_status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status, )* }
            }
        }
    };
}

error_codes! {
    /// The record is not valid JSON (or not valid UTF-8, or not valid CSV).
    InvalidJson => (400, "invalid_json");
    /// The record parsed but no adapter recognises its shape.
    UnknownFormat => (422, "unknown_format");
    /// The record has the adapter's shape but a required field is missing or has the wrong type.
    InvalidRecord => (422, "invalid_record");
    /// A timestamp field could not be read.
    InvalidTimestamp => (422, "invalid_timestamp");
    /// The record nests deeper than the configured limit.
    TooDeep => (422, "too_deep");
    /// The record (or request body) is larger than the configured limit.
    PayloadTooLarge => (413, "payload_too_large");
    /// The ingest queue is full; retry later (honour Retry-After).
    QueueFull => (429, "queue_full");
    /// Missing or wrong bearer token.
    Unauthorized => (401, "unauthorized");
    /// The token is valid but not allowed to do this.
    Forbidden => (403, "forbidden");
    /// No such object.
    NotFound => (404, "not_found");
    /// A query parameter or body field is invalid.
    BadRequest => (400, "bad_request");
    /// The request's content type is not one of JSON, NDJSON or CSV.
    UnsupportedMediaType => (415, "unsupported_media_type");
    /// The request conflicts with the object's current state (e.g. approving a changed action).
    Conflict => (409, "conflict");
    /// The configuration has errors.
    InvalidConfig => (400, "invalid_config");
    /// The store failed; the request can be retried.
    StoreUnavailable => (503, "store_unavailable");
    /// An unexpected internal error.
    Internal => (500, "internal");
}

impl Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let mut seen = HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {}", c.as_str());
            assert!((400..600).contains(&c.http_status()));
        }
    }
}
