//! The store's one error type, mapped onto the public error-code table.

use std::path::PathBuf;

use picket_core::ErrorCode;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row no longer reads back (a JSON document, a time, an enum value).
    #[error("stored {what} is unreadable: {message}")]
    Corrupt { what: String, message: String },
    #[error("no {kind} `{id}`")]
    NotFound { kind: &'static str, id: String },
}

impl StoreError {
    pub(crate) fn corrupt(what: impl Into<String>, message: impl ToString) -> Self {
        Self::Corrupt {
            what: what.into(),
            message: message.to_string(),
        }
    }

    /// The public code an API answers with: missing objects are 404, everything else means the store
    /// could not serve the request (retryable) or holds bad data (internal).
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotFound { .. } => ErrorCode::NotFound,
            Self::Corrupt { .. } => ErrorCode::Internal,
            Self::Io { .. } | Self::Database(_) | Self::Migrate(_) => ErrorCode::StoreUnavailable,
        }
    }
}
