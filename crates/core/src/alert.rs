//! The canonical alert, aligned with OCSF Detection Finding (class_uid 2004).
//!
//! Every source adapter maps its vendor document onto this one shape. The raw original is kept byte
//! for byte next to it (`raw`), with its SHA-256 (`raw_sha256`): the input version that every later
//! decision cites.

use std::fmt;
use std::net::IpAddr;

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::observable::Observable;

/// The vendor format an alert was read from. One variant per source adapter.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    SplunkNotable,
    ElasticAlert,
    Sentinel,
    Defender,
    Crowdstrike,
    Wazuh,
    Suricata,
    Guardduty,
    Securityhub,
    Ocsf,
    Generic,
}

impl SourceFormat {
    pub const ALL: [SourceFormat; 11] = [
        Self::SplunkNotable,
        Self::ElasticAlert,
        Self::Sentinel,
        Self::Defender,
        Self::Crowdstrike,
        Self::Wazuh,
        Self::Suricata,
        Self::Guardduty,
        Self::Securityhub,
        Self::Ocsf,
        Self::Generic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SplunkNotable => "splunk_notable",
            Self::ElasticAlert => "elastic_alert",
            Self::Sentinel => "sentinel",
            Self::Defender => "defender",
            Self::Crowdstrike => "crowdstrike",
            Self::Wazuh => "wazuh",
            Self::Suricata => "suricata",
            Self::Guardduty => "guardduty",
            Self::Securityhub => "securityhub",
            Self::Ocsf => "ocsf",
            Self::Generic => "generic",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }
}

impl fmt::Display for SourceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// OCSF `severity_id`: 0 Unknown, 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical, 6 Fatal, 99 Other.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Serialize,
    Deserialize,
    JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    #[default]
    Unknown,
    Informational,
    Low,
    Medium,
    High,
    Critical,
    Fatal,
    Other,
}

impl Severity {
    /// The OCSF `severity_id` number.
    pub fn id(self) -> u8 {
        match self {
            Self::Unknown => 0,
            Self::Informational => 1,
            Self::Low => 2,
            Self::Medium => 3,
            Self::High => 4,
            Self::Critical => 5,
            Self::Fatal => 6,
            Self::Other => 99,
        }
    }

    pub fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Self::Unknown,
            1 => Self::Informational,
            2 => Self::Low,
            3 => Self::Medium,
            4 => Self::High,
            5 => Self::Critical,
            6 => Self::Fatal,
            99 => Self::Other,
            _ => return None,
        })
    }

    /// OCSF's caption (`severity`), e.g. "High".
    pub fn caption(self) -> &'static str {
        match self {
            Self::Unknown => "Unknown",
            Self::Informational => "Informational",
            Self::Low => "Low",
            Self::Medium => "Medium",
            Self::High => "High",
            Self::Critical => "Critical",
            Self::Fatal => "Fatal",
            Self::Other => "Other",
        }
    }

    /// Reads the common vendor words (case-insensitive): "informational"/"info", "low", "medium"/"moderate",
    /// "high", "critical", "fatal"; None for anything else.
    pub fn from_word(word: &str) -> Option<Self> {
        let w = word.trim().to_ascii_lowercase();
        Some(match w.as_str() {
            "unknown" | "unspecified" | "" => Self::Unknown,
            "informational" | "information" | "info" => Self::Informational,
            "low" => Self::Low,
            "medium" | "moderate" => Self::Medium,
            "high" => Self::High,
            "critical" => Self::Critical,
            "fatal" => Self::Fatal,
            "other" => Self::Other,
            _ => return None,
        })
    }
}

/// The product that raised the alert.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Product {
    /// e.g. "Wazuh", "Microsoft", "CrowdStrike".
    pub vendor: String,
    /// e.g. "Wazuh", "Defender for Endpoint", "Falcon".
    pub name: String,
}

/// The detection rule (OCSF `finding_info.analytic` / `rule`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Rule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// An ATT&CK reference named by the vendor (or mapped later). Either part may be missing.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize, JsonSchema,
)]
pub struct AttackRef {
    /// The technique's ATT&CK name (`Parent: Sub` for sub-techniques), when an ATT&CK bundle is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Technique or sub-technique id, e.g. "T1110" or "T1059.001".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technique: Option<String>,
    /// Tactic id ("TA0006") or, when the vendor only gives a name, the tactic's ATT&CK short name
    /// ("credential-access").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tactic: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
pub struct Host {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<IpAddr>,
    /// Vendor id (agent id, device id, instance id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
pub struct User {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EndpointRole {
    Source,
    Destination,
    #[default]
    Other,
}

/// A network endpoint seen in the alert.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Endpoint {
    pub ip: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default)]
    pub role: EndpointRole,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
pub struct Process {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
pub struct FileEntity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The entities an alert names in structured fields. Values are as the vendor gave them, trimmed;
/// hostnames, domains and hashes lowercased.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Entities {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<Host>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<User>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub endpoints: Vec<Endpoint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processes: Vec<Process>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileEntity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub domains: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<String>,
}

impl Entities {
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
            && self.users.is_empty()
            && self.endpoints.is_empty()
            && self.processes.is_empty()
            && self.files.is_empty()
            && self.urls.is_empty()
            && self.domains.is_empty()
            && self.emails.is_empty()
    }

    /// Adds a host unless an equal one is present. Empty hostnames are ignored.
    pub fn add_host(&mut self, hostname: Option<&str>, ip: Option<IpAddr>, id: Option<&str>) {
        let hostname = hostname
            .map(str::trim)
            .filter(|h| !h.is_empty() && *h != "-");
        if hostname.is_none() && ip.is_none() && id.is_none() {
            return;
        }
        let host = Host {
            hostname: hostname.map(|h| h.to_ascii_lowercase()),
            ip,
            id: id.map(str::to_owned),
        };
        // The same machine named twice (by name, or by address without a name) is one host: fill in
        // what the first mention lacked instead of listing it again.
        let same = self
            .hosts
            .iter_mut()
            .find(|h| match (&h.hostname, &host.hostname) {
                (Some(a), Some(b)) => a == b,
                (None, None) => h.ip.is_some() && h.ip == host.ip,
                _ => false,
            });
        match same {
            Some(h) => {
                h.ip = h.ip.or(host.ip);
                if h.id.is_none() {
                    h.id = host.id;
                }
            }
            None => self.hosts.push(host),
        }
    }

    /// Adds a user unless present. Empty names and "-" are ignored; "DOMAIN\\name" and "name@domain"
    /// keep the domain apart.
    pub fn add_user(&mut self, name: &str) {
        let name = name.trim();
        if name.is_empty() || name == "-" {
            return;
        }
        let user = if let Some((d, n)) = name.split_once('\\') {
            User {
                name: n.to_owned(),
                domain: Some(d.to_owned()),
            }
        } else {
            User {
                name: name.to_owned(),
                domain: None,
            }
        };
        if !self.users.contains(&user) {
            self.users.push(user);
        }
    }

    /// Adds an endpoint when `ip` parses; returns whether it did.
    pub fn add_endpoint(&mut self, ip: &str, port: Option<u16>, role: EndpointRole) -> bool {
        let Ok(ip) = ip.trim().parse::<IpAddr>() else {
            return false;
        };
        let ep = Endpoint { ip, port, role };
        if !self.endpoints.contains(&ep) {
            self.endpoints.push(ep);
        }
        true
    }
}

/// One normalized alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Alert {
    /// Stable id: derived from the format and the source event id when the vendor gives one,
    /// otherwise from the raw bytes. The same source event ingested twice has the same id.
    pub id: String,
    pub format: SourceFormat,
    /// The vendor's own id for this alert, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_event_id: Option<String>,
    /// When the detection happened (event time), UTC.
    #[schemars(with = "String")]
    pub time: Timestamp,
    pub product: Product,
    pub rule: Rule,
    pub severity: Severity,
    /// The vendor's own severity value, verbatim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_severity: Option<String>,
    /// A one-line human description (title or message).
    pub message: String,
    #[serde(default)]
    pub entities: Entities,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attack: Vec<AttackRef>,
    /// Indicators extracted from the alert's text fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observables: Vec<Observable>,
    /// Lowercase hex SHA-256 of `raw`.
    pub raw_sha256: String,
    /// The original record, byte for byte as received (UTF-8).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub raw: String,
}

impl Alert {
    /// Derives the alert id (see [`Alert::id`]).
    pub fn derive_id(
        format: SourceFormat,
        source_event_id: Option<&str>,
        raw_sha256: &str,
    ) -> String {
        match source_event_id {
            Some(eid) if !eid.is_empty() => {
                crate::hash::stable_id("al_", &[format.as_str().as_bytes(), eid.as_bytes()])
            }
            _ => {
                crate::hash::stable_id("al_", &[format.as_str().as_bytes(), raw_sha256.as_bytes()])
            }
        }
    }

    /// Hostnames named by the alert (lowercased), in order, without duplicates.
    pub fn hostnames(&self) -> impl Iterator<Item = &str> {
        self.entities
            .hosts
            .iter()
            .filter_map(|h| h.hostname.as_deref())
    }
}
