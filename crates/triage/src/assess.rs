//! The deterministic assessment: the engine that must answer with no LLM at all.
//!
//! Each signal becomes an [`Evidence`] item with a signed weight and the source it rests on; the score
//! is their sum. Verdict bands come from [`TriageConfig`]; ambiguity (a weak margin, thin evidence, or
//! high impact) escalates to a human rather than closing. docs/assessment.md lists every signal.

use std::collections::{BTreeMap, BTreeSet};

use picket_core::incident::ObservableRef;
use picket_core::{
    AlertRef, AttackRef, Escalation, Evidence, Incident, IncidentStatus, Priority, Scope, Severity,
    TimelineEntry, Verdict,
};

use crate::config::TriageConfig;
use crate::engine::Group;
use crate::knowledge::{Criticality, Knowledge};
use crate::tactics;

/// At most this many observables are listed on an incident line (the store keeps them all per alert).
pub const MAX_OBSERVABLES: usize = 200;
/// At most this many timeline entries and alert refs are listed (the busiest first when cut).
pub const MAX_TIMELINE: usize = 500;

pub(crate) fn build_incident(
    id: &str,
    groups: &[&Group],
    k: &Knowledge,
    cfg: &TriageConfig,
) -> Incident {
    let mut groups: Vec<&Group> = groups.to_vec();
    groups.sort_by_key(|g| (g.first_seen, g.summary.alert_id.clone()));
    let first_seen = groups
        .iter()
        .map(|g| g.first_seen)
        .min()
        .expect("an incident has a group");
    let last_seen = groups
        .iter()
        .map(|g| g.last_seen)
        .max()
        .expect("an incident has a group");
    let alert_count: u64 = groups.iter().map(|g| g.count).sum();

    let scope = scope_of(&groups);
    let attack = attack_of(&groups);
    let observables = observables_of(&groups);
    let mut shown: Vec<&Group> = groups.clone();
    if shown.len() > MAX_TIMELINE {
        shown.sort_by_key(|g| std::cmp::Reverse(g.count));
        shown.truncate(MAX_TIMELINE);
        shown.sort_by_key(|g| (g.first_seen, g.summary.alert_id.clone()));
    }
    let timeline = shown
        .iter()
        .map(|g| {
            let (technique, tactic) = primary_attack(g);
            let s = &g.summary;
            let summary = if g.count > 1 {
                format!("{} (×{} until {})", s.message, g.count, g.last_seen)
            } else {
                s.message.clone()
            };
            TimelineEntry {
                time: g.first_seen,
                alert: s.alert_id.clone(),
                summary,
                technique,
                tactic,
                count: g.count,
            }
        })
        .collect();
    let alerts = shown
        .iter()
        .map(|g| AlertRef {
            id: g.summary.alert_id.clone(),
            format: g.summary.format,
            raw_sha256: g.summary.raw_sha256.clone(),
            count: g.count,
        })
        .collect();

    let enrichment = crate::intel::artifact(
        id,
        &k.intel,
        observables.iter().map(|o| (o.kind, o.value.as_str())),
    );
    let mut a = judge(&groups, &scope, &attack, enrichment.as_ref(), k, cfg);
    a.evidence.extend(injection_flags(&groups));
    Incident {
        id: id.to_owned(),
        title: title_of(&groups, &scope),
        status: if a.escalation == Escalation::AutoClose {
            IncidentStatus::Closed
        } else {
            IncidentStatus::Open
        },
        verdict: a.verdict,
        priority: a.priority,
        confidence: a.confidence,
        confidence_note: a.note,
        escalation: a.escalation,
        first_seen,
        last_seen,
        alert_count,
        alerts,
        scope,
        observables,
        attack,
        timeline,
        evidence: a.evidence,
        enrichment,
    }
}

struct Assessment {
    verdict: Verdict,
    priority: Priority,
    confidence: f64,
    note: String,
    escalation: Escalation,
    evidence: Vec<Evidence>,
}

/// Alerts whose text addresses an automated reader: flagged on the incident (weight 0: it neither
/// raises nor lowers the score, but a model's verdict on the incident goes to review).
fn injection_flags(groups: &[&Group]) -> Vec<Evidence> {
    groups
        .iter()
        .filter_map(|g| {
            let s = &g.summary;
            let signals = crate::injection::detect(&format!("{}\n{}", s.rule_name, s.message));
            (!signals.is_empty()).then(|| {
                let names: Vec<&str> = signals.iter().map(|x| x.as_str()).collect();
                ev(
                    format!(
                        "injection-like content in alert text ({}): attacker-controlled text \
                         addressed to an automated reader",
                        names.join(", ")
                    ),
                    format!("alert:{}:message", s.alert_id),
                    0.0,
                )
            })
        })
        .collect()
}

pub(crate) fn ev(claim: String, source: String, weight: f64) -> Evidence {
    Evidence {
        claim,
        source,
        weight: (weight * 1000.0).round() / 1000.0,
    }
}

fn severity_weight(s: Severity) -> f64 {
    match s {
        Severity::Critical | Severity::Fatal => 0.5,
        Severity::High => 0.35,
        Severity::Medium => 0.2,
        Severity::Low => 0.05,
        Severity::Informational => -0.05,
        Severity::Unknown | Severity::Other => 0.0,
    }
}

fn judge(
    groups: &[&Group],
    scope: &Scope,
    attack: &[AttackRef],
    enrichment: Option<&picket_core::AlertEnrichment>,
    k: &Knowledge,
    cfg: &TriageConfig,
) -> Assessment {
    let mut evidence = Vec::new();

    // Suppression rules decide outright.
    if groups.iter().all(|g| g.suppressed_by.is_some()) {
        for g in groups {
            let s = &k.suppressions[g.suppressed_by.unwrap_or_default()].rule;
            evidence.push(ev(
                format!(
                    "`{}` matches suppression rule `{}`: {}",
                    g.summary.rule_name, s.name, s.reason
                ),
                format!("suppression:{}", s.name),
                -1.0,
            ));
        }
        return Assessment {
            verdict: Verdict::Benign,
            priority: Priority::P4,
            confidence: 0.95,
            note: "Benign: every alert matches a suppression rule (see evidence).".to_owned(),
            escalation: Escalation::AutoClose,
            evidence,
        };
    }

    // 1. Vendor severity: the highest in the incident.
    if let Some(top) = groups.iter().max_by_key(|g| {
        (
            g.summary.severity.id() % 99,
            std::cmp::Reverse(g.first_seen),
        )
    }) {
        let w = severity_weight(top.summary.severity);
        if w != 0.0 {
            evidence.push(ev(
                format!(
                    "vendor severity {} on `{}`",
                    top.summary.severity.caption(),
                    top.summary.rule_name
                ),
                format!("alert:{}:severity", top.summary.alert_id),
                w,
            ));
        }
    }

    // 2. ATT&CK: tactics named by vendors or inferred from rule words, and their progression.
    let mut tactic_set: BTreeMap<usize, &str> = BTreeMap::new();
    for a in attack {
        if let Some(t) = a.tactic.as_deref().and_then(tactics::order) {
            tactic_set.insert(t, tactics::TACTICS[t].1);
        }
    }
    for g in groups {
        if g.summary
            .attack
            .iter()
            .any(|a| a.technique.is_some() || a.tactic.is_some())
        {
            let named: Vec<String> = g
                .summary
                .attack
                .iter()
                .filter_map(|a| a.technique.clone().or(a.tactic.clone()))
                .collect();
            evidence.push(ev(
                format!(
                    "`{}` is mapped by its vendor to ATT&CK {}",
                    g.summary.rule_name,
                    named.join(", ")
                ),
                format!("alert:{}:attack", g.summary.alert_id),
                0.15,
            ));
        } else if let Some(inf) = &g.summary.inferred {
            evidence.push(ev(
                format!(
                    "`{}` reads as {} (keyword `{}`, mapping confidence {:.1})",
                    g.summary.rule_name, inf.tactic, inf.keyword, inf.confidence
                ),
                format!("attack:{}", inf.tactic),
                0.25 * inf.confidence,
            ));
        }
    }
    if tactic_set.len() >= 2 {
        let chain: Vec<&str> = tactic_set.values().copied().collect();
        let w = if tactic_set.len() >= 3 { 0.3 } else { 0.15 };
        evidence.push(ev(
            format!(
                "{} ATT&CK tactics in one incident: {}",
                chain.len(),
                chain.join(" → ")
            ),
            "attack:progression".to_owned(),
            w,
        ));
    }
    if let Some(t) = tactic_set.values().find(|t| tactics::is_post_compromise(t)) {
        evidence.push(ev(
            format!("post-compromise tactic present: {t}"),
            format!("attack:{t}"),
            0.15,
        ));
    }

    // 2b. Threat intel on the incident's indicators.
    if let Some(e) = enrichment {
        evidence.extend(crate::intel::evidence(e));
    }

    // Direct signals of malice so far (severity, ATT&CK semantics, intel). What follows (novelty, bursts,
    // several rules together) amplifies them: without a direct signal it weighs only lightly, so that
    // a chatty but harmless sensor does not reach a human by volume alone.
    let direct: f64 = evidence.iter().map(|e| e.weight).filter(|w| *w > 0.0).sum();
    let amp_from = evidence.len();

    // 3. Rarity and routine, from history.
    let active: Vec<&&Group> = groups.iter().filter(|g| !g.routine).collect();
    for g in groups.iter().filter(|g| g.routine) {
        evidence.push(ev(
            format!(
                "`{}` is routine here: {} earlier occurrences on the same entities, {} in this run of it",
                g.summary.rule_name, g.prior, g.count
            ),
            format!("history:{}", g.summary.rule_key),
            -0.35 * (g.count as f64 / groups.iter().map(|x| x.count).sum::<u64>() as f64).max(0.3),
        ));
    }
    let novel: Vec<&&&Group> = active.iter().filter(|g| g.prior == 0).collect();
    if let Some(g) = novel.first() {
        evidence.push(ev(
            format!(
                "first time `{}` fires on these entities{}",
                g.summary.rule_name,
                if novel.len() > 1 {
                    format!(" (and {} other new rules)", novel.len() - 1)
                } else {
                    String::new()
                }
            ),
            format!("history:{}", g.summary.rule_key),
            0.05,
        ));
    }
    if let Some(g) = active
        .iter()
        .filter(|g| g.count >= 10)
        .max_by_key(|g| g.count)
    {
        let mins = (g.last_seen.as_second() - g.first_seen.as_second()) / 60;
        evidence.push(ev(
            format!(
                "burst: `{}` repeated {} times within {} minutes",
                g.summary.rule_name, g.count, mins
            ),
            format!("alert:{}:count", g.summary.alert_id),
            0.1,
        ));
    }
    let distinct_rules: BTreeSet<&str> =
        active.iter().map(|g| g.summary.rule_key.as_str()).collect();
    if distinct_rules.len() >= 3 {
        evidence.push(ev(
            format!(
                "{} distinct detection rules on shared entities within the correlation window",
                distinct_rules.len()
            ),
            "correlation:rules".to_owned(),
            0.15,
        ));
    }

    if direct < 0.15 {
        for e in evidence[amp_from..].iter_mut().filter(|e| e.weight > 0.0) {
            e.weight = (e.weight * 0.3 * 1000.0).round() / 1000.0;
            e.claim
                .push_str(" (weighed lightly: no direct sign of malice)");
        }
    }

    // 4. Known-benign lists. Addresses with a class label (private, loopback, documentation…) are
    // left out: warninglists list those ranges as "commonly misclassified", and an internal address
    // says nothing about whether the activity on it is benign.
    let judged: Vec<&(
        picket_core::ObservableType,
        String,
        Vec<String>,
        Vec<String>,
    )> = groups
        .iter()
        .flat_map(|g| &g.summary.observables)
        .filter(|o| o.2.is_empty())
        .collect();
    let listed: Vec<_> = judged.iter().filter(|o| !o.3.is_empty()).collect();
    if !listed.is_empty() {
        let share = listed.len() as f64 / judged.len() as f64;
        let names: BTreeSet<&str> = listed
            .iter()
            .flat_map(|o| o.3.iter().map(String::as_str))
            .collect();
        let w = if share >= 0.999 { -0.15 } else { -0.05 };
        let first = names.iter().next().copied().unwrap_or_default();
        let shown: Vec<&str> = names.iter().copied().take(5).collect();
        evidence.push(ev(
            format!(
                "{:.0}% of indicators are on known-benign lists ({}{})",
                share * 100.0,
                shown.join(", "),
                if names.len() > shown.len() {
                    format!(" and {} more", names.len() - shown.len())
                } else {
                    String::new()
                }
            ),
            format!("warninglist:{first}"),
            w,
        ));
    }

    // 5. Analyst feedback on earlier incidents with the same rules.
    for rk in groups
        .iter()
        .map(|g| g.summary.rule_key.as_str())
        .collect::<BTreeSet<_>>()
    {
        if let Some(past) = k.feedback.by_rule.get(rk) {
            let mal = past
                .iter()
                .filter(|(_, v)| matches!(v, Verdict::Malicious | Verdict::Suspicious))
                .count();
            let ben = past.iter().filter(|(_, v)| *v == Verdict::Benign).count();
            if mal + ben == 0 {
                continue;
            }
            let last = &past.last().map(|p| p.0.clone()).unwrap_or_default();
            let w = if ben > mal {
                -0.4
            } else if mal > ben {
                0.4
            } else {
                0.0
            };
            evidence.push(ev(
                format!("analysts judged earlier incidents of `{rk}`: {mal} malicious/suspicious, {ben} benign"),
                format!("feedback:{last}"),
                w,
            ));
        }
    }

    // 6. Impact from the inventory (priority, not maliciousness).
    let mut impact = Criticality::Medium;
    let mut impact_src: Option<String> = None;
    for h in &scope.hosts {
        if let Some(a) = k.inventory.host(h) {
            evidence.push(ev(
                format!("host {h} has criticality {:?}", a.criticality).to_lowercase(),
                format!("inventory:host:{h}"),
                0.0,
            ));
            if a.criticality > impact || impact_src.is_none() {
                impact = impact.max(a.criticality);
                impact_src = Some(h.clone());
            }
        }
    }
    for u in &scope.users {
        if let Some(a) = k.inventory.user(u) {
            evidence.push(ev(
                format!("user {u} has criticality {:?}", a.criticality).to_lowercase(),
                format!("inventory:user:{u}"),
                0.0,
            ));
            impact = impact.max(a.criticality);
        }
    }
    for ip in &scope.ips {
        if let Some(s) = ip.parse().ok().and_then(|ip| k.inventory.subnet(ip)) {
            evidence.push(ev(
                format!("{ip} is in {} with criticality {:?}", s.cidr, s.criticality)
                    .to_lowercase(),
                format!("inventory:subnet:{}", s.cidr),
                0.0,
            ));
            impact = impact.max(s.criticality);
        }
    }

    let score: f64 = evidence.iter().map(|e| e.weight).sum();
    let signals = evidence.iter().filter(|e| e.weight != 0.0).count();
    let max_sev = groups
        .iter()
        .map(|g| g.summary.severity)
        .max()
        .unwrap_or_default();

    let mut verdict = if score >= cfg.malicious_score {
        Verdict::Malicious
    } else if score >= cfg.suspicious_score {
        Verdict::Suspicious
    } else if score < cfg.benign_score {
        Verdict::Benign
    } else {
        Verdict::NeedsReview
    };
    let margin = match verdict {
        Verdict::Malicious => score - cfg.malicious_score,
        Verdict::Suspicious => (score - cfg.suspicious_score).min(cfg.malicious_score - score),
        Verdict::Benign => cfg.benign_score - score,
        Verdict::NeedsReview => 0.0,
    };
    let thin = if signals < 2 && verdict != Verdict::Benign {
        0.8
    } else {
        1.0
    };
    // Benign with nothing at all pointing to malice is surer than benign by a hair's breadth.
    let clean = if verdict == Verdict::Benign && direct == 0.0 {
        0.15
    } else {
        0.0
    };
    let mut confidence = match verdict {
        Verdict::NeedsReview => 0.4,
        _ => ((0.5 + margin.min(0.45) + clean) * thin).clamp(0.0, 1.0),
    };
    confidence = (confidence * 100.0).round() / 100.0;

    let mut why_escalated = None;
    if verdict == Verdict::Benign && confidence < cfg.auto_close_min_confidence {
        verdict = Verdict::NeedsReview;
        why_escalated = Some(format!(
            "benign-leaning but confidence {confidence:.2} is below the auto-close bar {:.2}",
            cfg.auto_close_min_confidence
        ));
    }
    let high_impact = impact >= Criticality::High;
    let priority = match verdict {
        Verdict::Malicious if high_impact || max_sev >= Severity::High => Priority::P1,
        Verdict::Malicious => Priority::P2,
        Verdict::Suspicious if high_impact || max_sev >= Severity::High => Priority::P2,
        Verdict::Suspicious | Verdict::NeedsReview => Priority::P3,
        Verdict::Benign => Priority::P4,
    };
    let escalation = match verdict {
        Verdict::Malicious if priority <= Priority::P2 => Escalation::OnCall,
        Verdict::Benign if high_impact && max_sev >= Severity::Medium => {
            why_escalated = Some(
                format!(
                    "benign-leaning but it touches a {:?}-criticality asset",
                    impact
                )
                .to_lowercase(),
            );
            Escalation::AnalystQueue
        }
        Verdict::Benign => Escalation::AutoClose,
        _ => Escalation::AnalystQueue,
    };

    let note = note_for(
        verdict,
        score,
        confidence,
        signals,
        &evidence,
        why_escalated,
    );
    Assessment {
        verdict,
        priority,
        confidence,
        note,
        escalation,
        evidence,
    }
}

fn note_for(
    verdict: Verdict,
    score: f64,
    confidence: f64,
    signals: usize,
    evidence: &[Evidence],
    why: Option<String>,
) -> String {
    let mut for_: Vec<&Evidence> = evidence.iter().filter(|e| e.weight > 0.0).collect();
    let mut against: Vec<&Evidence> = evidence.iter().filter(|e| e.weight < 0.0).collect();
    for_.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    against.sort_by(|a, b| a.weight.total_cmp(&b.weight));
    let list = |v: &[&Evidence]| {
        v.iter()
            .take(3)
            .map(|e| e.claim.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    };
    let mut note = format!(
        "{} (score {score:.2}, confidence {confidence:.2}, {signals} signals).",
        verdict.as_str()
    );
    if !for_.is_empty() {
        note.push_str(&format!(" For: {}.", list(&for_)));
    }
    if !against.is_empty() {
        note.push_str(&format!(" Against: {}.", list(&against)));
    }
    if signals < 2 {
        note.push_str(" Evidence is thin: little beyond the alert itself.");
    }
    if let Some(w) = why {
        note.push_str(&format!(" Sent to a human: {w}."));
    }
    note
}

fn primary_attack(g: &Group) -> (Option<String>, Option<String>) {
    if let Some(a) = g
        .summary
        .attack
        .iter()
        .find(|a| a.technique.is_some() || a.tactic.is_some())
    {
        return (a.technique.clone(), a.tactic.clone());
    }
    match &g.summary.inferred {
        Some(i) => (
            i.technique.as_deref().map(str::to_owned),
            Some(i.tactic.to_string()),
        ),
        None => (None, None),
    }
}

fn attack_of(groups: &[&Group]) -> Vec<AttackRef> {
    let mut out: Vec<AttackRef> = Vec::new();
    for g in groups {
        let refs: Vec<AttackRef> = if g.summary.attack.is_empty() {
            g.summary
                .inferred
                .as_ref()
                .map(|i| {
                    vec![AttackRef {
                        name: i.name.clone(),
                        technique: i.technique.as_deref().map(str::to_owned),
                        tactic: Some(i.tactic.to_string()),
                    }]
                })
                .unwrap_or_default()
        } else {
            g.summary.attack.clone()
        };
        for r in refs {
            if r.technique.is_some() && !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out.sort_by_key(|a| {
        (
            a.tactic
                .as_deref()
                .and_then(tactics::order)
                .unwrap_or(usize::MAX),
            a.technique.clone(),
        )
    });
    out
}

fn scope_of(groups: &[&Group]) -> Scope {
    let mut hosts = BTreeSet::new();
    let mut users = BTreeSet::new();
    let mut ips = BTreeSet::new();
    for g in groups {
        hosts.extend(g.summary.hosts.iter().cloned());
        users.extend(g.summary.users.iter().cloned());
        ips.extend(g.summary.ips.iter().cloned());
    }
    Scope {
        hosts: hosts.into_iter().collect(),
        users: users.into_iter().collect(),
        ips: ips.into_iter().collect(),
    }
}

fn observables_of(groups: &[&Group]) -> Vec<ObservableRef> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for g in groups {
        for (kind, value, labels, lists) in &g.summary.observables {
            if out.len() >= MAX_OBSERVABLES {
                return out;
            }
            if seen.insert((*kind, value.as_str())) {
                out.push(ObservableRef {
                    kind: *kind,
                    value: value.clone(),
                    labels: labels.clone(),
                    benign_lists: lists.clone(),
                });
            }
        }
    }
    out
}

fn title_of(groups: &[&Group], scope: &Scope) -> String {
    let lead = groups
        .iter()
        .filter(|g| !g.routine)
        .max_by_key(|g| {
            (
                g.summary.severity.id() % 99,
                g.summary.inferred.is_some() || !g.summary.attack.is_empty(),
                std::cmp::Reverse(g.first_seen),
            )
        })
        .or_else(|| groups.first())
        .expect("an incident has a group");
    let mut t = lead.summary.rule_name.trim_end_matches('.').to_owned();
    if let Some(h) = scope.hosts.first() {
        t.push_str(&format!(" on {h}"));
        if scope.hosts.len() > 1 {
            t.push_str(&format!(" (+{} hosts)", scope.hosts.len() - 1));
        }
    } else if let Some(u) = scope.users.first() {
        t.push_str(&format!(" for {u}"));
    }
    let others = groups
        .iter()
        .map(|g| &g.summary.rule_key)
        .collect::<BTreeSet<_>>()
        .len()
        - 1;
    if others > 0 {
        t.push_str(&format!(
            " and {others} related rule{}",
            if others == 1 { "" } else { "s" }
        ));
    }
    t
}
