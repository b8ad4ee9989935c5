//! Incident export for sharing with other teams and platforms: a STIX 2.1 bundle ([`stix_bundle`]) and
//! a MISP event in MISP core format ([`misp_event`]).
//!
//! Both are pure functions of the incident, its alerts (when the caller has them) and the options, and
//! read no clock: exporting the same incident twice gives the same bytes (ids are derived, times come
//! from the incident). What each format carries is in `docs/export.md`.

mod attack;
mod facts;
mod ids;
mod misp;
pub mod report;
mod stix;

use std::fmt;

pub use misp::misp_event;
pub use stix::{escape_pattern_value, indicator_pattern, stix_bundle, uri_value};

/// The producing organisation when none is named.
pub const DEFAULT_PRODUCER: &str = "Picket";

/// How an export is labelled and marked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// The organisation that produced the export (STIX `identity`, MISP `Orgc`).
    pub producer: String,
    /// Traffic Light Protocol marking for everything exported; none when unset.
    pub tlp: Option<Tlp>,
    /// Which TLP standard's STIX marking definitions to use (MISP tags follow the same names).
    pub tlp_version: TlpVersion,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            producer: DEFAULT_PRODUCER.to_owned(),
            tlp: None,
            tlp_version: TlpVersion::V2,
        }
    }
}

/// Why options were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionsError {
    #[error("`{0}` is not a TLP level (clear, white, green, amber, amber+strict, red)")]
    UnknownTlp(String),
    #[error("`{0}` is not a TLP version (1 or 2)")]
    UnknownTlpVersion(String),
    #[error("TLP:AMBER+STRICT exists only in TLP 2.0")]
    AmberStrictInV1,
    #[error("the producer name is empty or longer than 256 characters")]
    BadProducer,
}

impl ExportOptions {
    /// Reads the options as the CLI and the API receive them, reporting the first bad value.
    pub fn parse(
        producer: Option<&str>,
        tlp: Option<&str>,
        tlp_version: Option<&str>,
    ) -> Result<Self, OptionsError> {
        let producer = match producer.map(str::trim) {
            None => DEFAULT_PRODUCER.to_owned(),
            Some(p) if p.is_empty() || p.chars().count() > 256 => {
                return Err(OptionsError::BadProducer);
            }
            Some(p) => p.to_owned(),
        };
        let tlp_version = match tlp_version.map(str::trim) {
            None | Some("2" | "2.0") => TlpVersion::V2,
            Some("1" | "1.0") => TlpVersion::V1,
            Some(other) => return Err(OptionsError::UnknownTlpVersion(other.to_owned())),
        };
        let tlp = tlp.map(Tlp::parse).transpose()?;
        if tlp == Some(Tlp::AmberStrict) && tlp_version == TlpVersion::V1 {
            return Err(OptionsError::AmberStrictInV1);
        }
        Ok(Self {
            producer,
            tlp,
            tlp_version,
        })
    }
}

/// A TLP level. `Clear` (TLP 2.0) and `White` (TLP 1.0) are the same level; each version writes it
/// under its own name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tlp {
    Clear,
    Green,
    Amber,
    AmberStrict,
    Red,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TlpVersion {
    /// TLP 1.0: the marking definitions of the STIX 2.1 specification itself (white, green, amber, red).
    V1,
    /// TLP 2.0: the OASIS TLP 2.0 marking definitions (clear, green, amber, amber+strict, red).
    #[default]
    V2,
}

impl Tlp {
    /// Reads `amber`, `TLP:AMBER`, `amber+strict`, `white`, … (case-insensitive).
    pub fn parse(s: &str) -> Result<Self, OptionsError> {
        let t = s.trim().to_ascii_lowercase();
        let t = t.strip_prefix("tlp:").unwrap_or(&t);
        Ok(match t {
            "clear" | "white" => Self::Clear,
            "green" => Self::Green,
            "amber" => Self::Amber,
            "amber+strict" => Self::AmberStrict,
            "red" => Self::Red,
            _ => return Err(OptionsError::UnknownTlp(s.to_owned())),
        })
    }

    /// The level's name in `version`: `clear` or `white`, `green`, `amber`, `amber+strict`, `red`.
    pub fn name(self, version: TlpVersion) -> &'static str {
        match (self, version) {
            (Self::Clear, TlpVersion::V1) => "white",
            (Self::Clear, TlpVersion::V2) => "clear",
            (Self::Green, _) => "green",
            (Self::Amber, _) => "amber",
            (Self::AmberStrict, _) => "amber+strict",
            (Self::Red, _) => "red",
        }
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name(TlpVersion::V2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_and_refuse() {
        let o = ExportOptions::parse(None, Some("TLP:AMBER"), None).unwrap();
        assert_eq!(
            (o.producer.as_str(), o.tlp, o.tlp_version),
            ("Picket", Some(Tlp::Amber), TlpVersion::V2)
        );
        let o = ExportOptions::parse(Some("ACME CERT"), Some("white"), Some("1")).unwrap();
        assert_eq!(o.tlp.unwrap().name(o.tlp_version), "white");
        assert_eq!(o.tlp.unwrap().name(TlpVersion::V2), "clear");
        assert_eq!(
            ExportOptions::parse(None, Some("amber+strict"), Some("1")),
            Err(OptionsError::AmberStrictInV1)
        );
        assert!(matches!(
            ExportOptions::parse(None, Some("purple"), None),
            Err(OptionsError::UnknownTlp(_))
        ));
        assert_eq!(
            ExportOptions::parse(Some("  "), None, None),
            Err(OptionsError::BadProducer)
        );
    }
}
