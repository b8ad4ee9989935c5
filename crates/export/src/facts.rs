//! What both exports need to know about each indicator of an incident: whether it may be shared as a
//! detection indicator, what intel said, when and how often it was seen, and in which role.

use jiff::Timestamp;
use picket_core::incident::ObservableRef;
use picket_core::{
    Alert, EndpointRole, Incident, IndicatorEnrichment, IntelVerdict, ObservableType, Verdict,
};

/// One indicator of the incident with what the incident and its alerts say about it.
#[derive(Debug)]
pub(crate) struct ObservableFacts<'a> {
    pub(crate) obs: &'a ObservableRef,
    pub(crate) intel: Option<&'a IndicatorEnrichment>,
    /// Why it must not be used for detection (a known-benign list, a non-public address class); such
    /// indicators are shared as observations only.
    pub(crate) excluded: Option<String>,
    pub(crate) first_seen: Timestamp,
    pub(crate) last_seen: Timestamp,
    /// Alerts naming it, counting folded duplicates (the incident's count when no alert is at hand).
    pub(crate) count: u64,
    /// Seen as a source or destination address in an alert's network endpoints.
    pub(crate) as_source: bool,
    pub(crate) as_destination: bool,
    /// File names the alerts give for a hash.
    pub(crate) file_names: Vec<String>,
}

impl ObservableFacts<'_> {
    /// Whether it may be shared for detection (STIX indicator, MISP `to_ids`).
    pub(crate) fn detectable(&self) -> bool {
        self.excluded.is_none() && self.obs.kind != ObservableType::Cve
    }

    pub(crate) fn intel_verdict(&self) -> Option<IntelVerdict> {
        self.intel.map(|i| i.verdict)
    }

    /// STIX `indicator_types`: from the intel verdict when a source gave one, else from the incident's
    /// verdict.
    pub(crate) fn indicator_type(&self, incident_verdict: Verdict) -> &'static str {
        match self.intel_verdict() {
            Some(IntelVerdict::Malicious) => "malicious-activity",
            Some(IntelVerdict::Suspicious) => "anomalous-activity",
            Some(IntelVerdict::Benign) => "benign",
            Some(IntelVerdict::Unknown) | None => match incident_verdict {
                Verdict::Malicious => "malicious-activity",
                Verdict::Suspicious => "anomalous-activity",
                Verdict::Benign | Verdict::NeedsReview => "unknown",
            },
        }
    }

    /// One line on what intel sources said, when any did.
    pub(crate) fn intel_summary(&self) -> Option<String> {
        let intel = self.intel?;
        let sources: Vec<String> = intel
            .results
            .iter()
            .map(|r| format!("{} {}", r.source, r.verdict))
            .collect();
        Some(if sources.is_empty() {
            format!("intel: {}", intel.verdict)
        } else {
            format!("intel: {} ({})", intel.verdict, sources.join(", "))
        })
    }
}

fn mentions(alert: &Alert, kind: ObservableType, value: &str) -> bool {
    if alert
        .observables
        .iter()
        .any(|o| o.kind == kind && o.value == value)
    {
        return true;
    }
    let e = &alert.entities;
    let eq = |s: &String| s.eq_ignore_ascii_case(value);
    match kind {
        ObservableType::Ipv4 | ObservableType::Ipv6 => {
            e.endpoints.iter().any(|ep| ep.ip.to_string() == value)
                || e.hosts
                    .iter()
                    .any(|h| h.ip.is_some_and(|ip| ip.to_string() == value))
        }
        ObservableType::Domain => e.domains.iter().any(eq),
        ObservableType::Url => e.urls.iter().any(|u| u == value),
        ObservableType::Email => e.emails.iter().any(eq),
        ObservableType::Md5 | ObservableType::Sha1 | ObservableType::Sha256 => {
            e.files.iter().any(|f| file_hash(f, kind).is_some_and(eq))
        }
        ObservableType::Sha512 | ObservableType::Cve => false,
    }
}

fn file_hash(f: &picket_core::FileEntity, kind: ObservableType) -> Option<&String> {
    match kind {
        ObservableType::Md5 => f.md5.as_ref(),
        ObservableType::Sha1 => f.sha1.as_ref(),
        ObservableType::Sha256 => f.sha256.as_ref(),
        _ => None,
    }
}

fn excluded(obs: &ObservableRef) -> Option<String> {
    if !obs.benign_lists.is_empty() {
        return Some(format!(
            "on known-benign list: {}",
            obs.benign_lists.join(", ")
        ));
    }
    if !obs.labels.is_empty() {
        return Some(format!("non-public address ({})", obs.labels.join(", ")));
    }
    None
}

/// Facts for every indicator of the incident, in the incident's order.
pub(crate) fn observables<'a>(
    incident: &'a Incident,
    alerts: &'a [Alert],
) -> Vec<ObservableFacts<'a>> {
    incident
        .observables
        .iter()
        .map(|obs| {
            let seen: Vec<&Alert> = alerts
                .iter()
                .filter(|a| mentions(a, obs.kind, &obs.value))
                .collect();
            let folded = |a: &Alert| {
                incident
                    .alerts
                    .iter()
                    .find(|r| r.id == a.id)
                    .map_or(1, |r| r.count.max(1))
            };
            let (first_seen, last_seen, count) = if seen.is_empty() {
                (
                    incident.first_seen,
                    incident.last_seen,
                    incident.alert_count.max(1),
                )
            } else {
                (
                    seen.iter()
                        .map(|a| a.time)
                        .min()
                        .unwrap_or(incident.first_seen),
                    seen.iter()
                        .map(|a| a.time)
                        .max()
                        .unwrap_or(incident.last_seen),
                    seen.iter().map(|a| folded(a)).sum(),
                )
            };
            let roles = seen
                .iter()
                .flat_map(|a| &a.entities.endpoints)
                .filter(|ep| ep.ip.to_string() == obs.value)
                .map(|ep| ep.role);
            let (mut as_source, mut as_destination) = (false, false);
            for r in roles {
                match r {
                    EndpointRole::Source => as_source = true,
                    EndpointRole::Destination => as_destination = true,
                    EndpointRole::Other => {}
                }
            }
            let mut file_names: Vec<String> = seen
                .iter()
                .flat_map(|a| &a.entities.files)
                .filter(|f| {
                    file_hash(f, obs.kind).is_some_and(|h| h.eq_ignore_ascii_case(&obs.value))
                })
                .filter_map(|f| {
                    f.name.clone().or_else(|| {
                        f.path
                            .as_deref()
                            .and_then(|p| p.rsplit(['/', '\\']).next())
                            .map(str::to_owned)
                    })
                })
                .filter(|n| !n.is_empty())
                .collect();
            file_names.sort();
            file_names.dedup();
            ObservableFacts {
                obs,
                intel: incident
                    .enrichment
                    .as_ref()
                    .and_then(|e| e.indicator(obs.kind, &obs.value)),
                excluded: excluded(obs),
                first_seen,
                last_seen,
                count,
                as_source,
                as_destination,
                file_names,
            }
        })
        .collect()
}

/// A STIX timestamp: UTC, millisecond precision (`2024-05-01T10:00:00.000Z`).
pub(crate) fn stix_time(t: Timestamp) -> String {
    let ms = Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t);
    format!("{ms:.3}")
}
