//! API keys: read from an environment variable or a file, never printed.
//!
//! `Secret` has no `Display`, and its `Debug` prints `Secret(***)`, so a key cannot reach a log line,
//! an audit record or an error message by accident. The only way to the clear value is
//! [`Secret::expose`], called where a request header is built.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where a secret was to come from, and why it could not be read. Never holds the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("environment variable `{0}` is not set")]
    EnvMissing(String),
    #[error("environment variable `{0}` is empty")]
    EnvEmpty(String),
    #[error("cannot read key file `{path}`: {1}", path = .0.display())]
    File(PathBuf, String),
    #[error("key file `{}` is empty", .0.display())]
    FileEmpty(PathBuf),
}

impl Secret {
    /// For tests and for values already read from a trusted place.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn from_env(var: &str) -> Result<Self, SecretError> {
        match std::env::var(var) {
            Ok(v) if v.trim().is_empty() => Err(SecretError::EnvEmpty(var.to_owned())),
            Ok(v) => Ok(Self(v.trim().to_owned())),
            Err(_) => Err(SecretError::EnvMissing(var.to_owned())),
        }
    }

    /// Reads the first line of `path` (trailing newline and spaces trimmed).
    pub fn from_file(path: &Path) -> Result<Self, SecretError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| SecretError::File(path.to_path_buf(), e.kind().to_string()))?;
        let v = text.lines().next().unwrap_or("").trim();
        if v.is_empty() {
            return Err(SecretError::FileEmpty(path.to_path_buf()));
        }
        Ok(Self(v.to_owned()))
    }

    /// The clear value, for building a request header. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the secret in `text` with `***` (for provider error bodies that
    /// echo the key back).
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() < 4 {
            return text.to_owned();
        }
        text.replace(&self.0, "***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2-key");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.redact("bad key hunter2-key!"), "bad key ***!");
    }

    #[test]
    fn file_secret_takes_the_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        std::fs::write(&p, "abc123 \nignored\n").unwrap();
        assert_eq!(Secret::from_file(&p).unwrap().expose(), "abc123");
        std::fs::write(&p, "\n").unwrap();
        assert!(matches!(
            Secret::from_file(&p),
            Err(SecretError::FileEmpty(_))
        ));
        assert!(matches!(
            Secret::from_file(&dir.path().join("nope")),
            Err(SecretError::File(..))
        ));
    }
}
