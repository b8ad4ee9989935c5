//! An in-memory indicator index for offline sources (STIX bundles, MISP feeds, indicator lists,
//! polled TAXII collections): exact values per type, plus CIDR networks for IP lookups.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;
use picket_core::{Finding, IntelVerdict, ObservableType};

/// What a source says about one value.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub finding: Finding,
}

#[derive(Debug, Default, Clone)]
pub struct Index {
    exact: HashMap<(ObservableType, String), Entry>,
    nets: Vec<(IpNet, Entry)>,
}

impl Index {
    /// Adds a value; a stronger verdict replaces a weaker one for the same value.
    pub fn insert(&mut self, kind: ObservableType, value: &str, entry: Entry) {
        let key = (kind, canonical(kind, value));
        match self.exact.get(&key) {
            Some(old) if old.finding.verdict().rank() >= entry.finding.verdict().rank() => {}
            _ => {
                self.exact.insert(key, entry);
            }
        }
    }

    pub fn insert_net(&mut self, net: IpNet, entry: Entry) {
        self.nets.push((net.trunc(), entry));
    }

    pub fn len(&self) -> usize {
        self.exact.len() + self.nets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry for a value (for IPs, an exact entry first, then the narrowest network holding
    /// it); `Finding::unknown()` when the source does not list it.
    pub fn lookup(&self, kind: ObservableType, value: &str) -> Finding {
        if let Some(e) = self.exact.get(&(kind, canonical(kind, value))) {
            return e.finding.clone();
        }
        if matches!(kind, ObservableType::Ipv4 | ObservableType::Ipv6)
            && let Ok(ip) = value.parse::<IpAddr>()
            && let Some((net, e)) = self
                .nets
                .iter()
                .filter(|(n, _)| n.contains(&ip))
                .max_by_key(|(n, _)| n.prefix_len())
        {
            return e
                .finding
                .clone()
                .highlight("matched_network", net.to_string());
        }
        Finding::unknown()
    }
}

/// Canonical form for lookups: lowercase domains, emails and hashes; IPs re-printed.
pub fn canonical(kind: ObservableType, value: &str) -> String {
    let v = value.trim();
    match kind {
        ObservableType::Ipv4 | ObservableType::Ipv6 => v
            .parse::<IpAddr>()
            .map(|ip| ip.to_string())
            .unwrap_or_else(|_| v.to_owned()),
        ObservableType::Url | ObservableType::Cve => v.to_owned(),
        _ => v.trim_end_matches('.').to_ascii_lowercase(),
    }
}

/// A verdict named in config or data (`malicious`, `suspicious`, `benign`, `unknown`).
pub fn verdict_named(s: &str) -> Option<IntelVerdict> {
    IntelVerdict::parse(s.trim().to_ascii_lowercase().as_str())
}
