//! Indicators (observables) extracted from alerts or free text.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ObservableType {
    Ipv4,
    Ipv6,
    Domain,
    Url,
    Email,
    Md5,
    Sha1,
    Sha256,
    Sha512,
    Cve,
}

impl ObservableType {
    pub const ALL: [ObservableType; 10] = [
        Self::Ipv4,
        Self::Ipv6,
        Self::Domain,
        Self::Url,
        Self::Email,
        Self::Md5,
        Self::Sha1,
        Self::Sha256,
        Self::Sha512,
        Self::Cve,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ipv4 => "ipv4",
            Self::Ipv6 => "ipv6",
            Self::Domain => "domain",
            Self::Url => "url",
            Self::Email => "email",
            Self::Md5 => "md5",
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
            Self::Cve => "cve",
        }
    }

    pub fn is_hash(self) -> bool {
        matches!(self, Self::Md5 | Self::Sha1 | Self::Sha256 | Self::Sha512)
    }
}

impl fmt::Display for ObservableType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One indicator: its type, its canonical (refanged, lowercased where case does not matter) value, and
/// where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Observable {
    #[serde(rename = "type")]
    pub kind: ObservableType,
    pub value: String,
    /// The field it came from, as a dotted path into the source document (e.g. `data.srcip`,
    /// `properties.ProcessCommandLine`), or `text:LINE` for free text.
    pub field: String,
    /// Address classes for IPs: `private`, `loopback`, `link_local`, `reserved`, `multicast`,
    /// `documentation`, `unspecified`, `shared`, `benchmarking`. Empty for public addresses and other types.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Names of the known-benign lists (MISP warninglists) the value hits.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub benign_lists: Vec<String>,
}

impl Observable {
    pub fn new(kind: ObservableType, value: impl Into<String>, field: impl Into<String>) -> Self {
        Self {
            kind,
            value: value.into(),
            field: field.into(),
            labels: Vec::new(),
            benign_lists: Vec::new(),
        }
    }
}
