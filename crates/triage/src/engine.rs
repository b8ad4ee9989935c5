//! Deduplication and correlation state.
//!
//! Alerts fold into *groups* (same source event, or the same fingerprint of rule and key entities
//! within the dedup window); groups join *incidents* when they share an entity within the correlation
//! window. Routine groups (a rule that has fired on the same entity many times before) and suppressed
//! ones never link: a chatty benign rule must not keep a host's incident open or drag its thousands of
//! repeats into an escalated incident.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};

use jiff::Timestamp;
use picket_core::hash::stable_id;
use picket_core::{Alert, AttackRef, Incident, ObservableType, Severity, SourceFormat};

use crate::assess;
use crate::config::TriageConfig;
use crate::knowledge::{Knowledge, rule_key};
use crate::tactics::{self, Inferred};

/// What the engine keeps of the first alert of a group: enough to assess and to cite, no raw bytes.
#[derive(Debug, Clone)]
pub struct GroupSummary {
    pub alert_id: String,
    pub format: SourceFormat,
    pub raw_sha256: String,
    pub rule_key: String,
    pub rule_name: String,
    pub message: String,
    pub severity: Severity,
    pub attack: Vec<AttackRef>,
    pub inferred: Option<Inferred>,
    pub hosts: Vec<String>,
    pub users: Vec<String>,
    pub ips: Vec<String>,
    /// (type, value, labels, benign lists)
    pub observables: Vec<(ObservableType, String, Vec<String>, Vec<String>)>,
}

/// A deduplicated alert: its first occurrence and how often it repeated.
#[derive(Debug, Clone)]
pub struct Group {
    pub summary: GroupSummary,
    pub fingerprint: u64,
    pub incident: usize,
    pub count: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// Occurrences of this rule on this group's entities before the group began.
    pub prior: u64,
    pub routine: bool,
    /// Index into `Knowledge::suppressions`.
    pub suppressed_by: Option<usize>,
}

#[derive(Debug, Clone)]
struct IncState {
    id: String,
    groups: Vec<usize>,
    first_seen: Timestamp,
    last_seen: Timestamp,
    merged_into: Option<usize>,
}

#[derive(Debug, Clone, Copy)]
struct EntitySlot {
    incident: usize,
    last_seen: i64,
    /// New groups that carried this entity since `since`; reset every correlation window, so a busy
    /// host stops linking only while it is busy, not forever.
    links: u32,
    since: i64,
}

/// What `push` did with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// The same source event was already seen: ignored (ingest is idempotent).
    Duplicate,
    /// Folded into an existing group as a repeat.
    Folded,
    /// Started a new group.
    NewGroup,
}

/// The triage engine. Feed alerts with [`Engine::push`]; read incidents with [`Engine::drain_updated`],
/// [`Engine::drain_final`] or [`Engine::finish`].
pub struct Engine {
    cfg: TriageConfig,
    knowledge: Knowledge,
    /// Alert id hash → the group holding it.
    seen_ids: HashMap<u64, usize>,
    groups: Vec<Group>,
    by_fingerprint: HashMap<u64, usize>,
    incidents: Vec<IncState>,
    entities: HashMap<u64, EntitySlot>,
    counts: HashMap<(u64, u64), u64>,
    dirty: HashSet<usize>,
    emitted_final: HashSet<usize>,
    watermark: i64,
}

fn h64<T: Hash + ?Sized>(v: &T) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

impl Engine {
    pub fn new(cfg: TriageConfig, knowledge: Knowledge) -> Self {
        Self {
            cfg,
            knowledge,
            seen_ids: HashMap::new(),
            groups: Vec::new(),
            by_fingerprint: HashMap::new(),
            incidents: Vec::new(),
            entities: HashMap::new(),
            counts: HashMap::new(),
            dirty: HashSet::new(),
            emitted_final: HashSet::new(),
            watermark: i64::MIN,
        }
    }

    pub fn config(&self) -> &TriageConfig {
        &self.cfg
    }

    pub fn knowledge(&self) -> &Knowledge {
        &self.knowledge
    }

    pub fn knowledge_mut(&mut self) -> &mut Knowledge {
        &mut self.knowledge
    }

    /// Number of groups (deduplicated alerts) held.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Feeds one alert. Alerts should arrive roughly in time order; stragglers within the windows fold
    /// and join as if on time.
    pub fn push(&mut self, alert: &Alert) -> Pushed {
        let id_hash = h64(alert.id.as_str());
        if self.seen_ids.contains_key(&id_hash) {
            return Pushed::Duplicate;
        }
        let t = alert.time.as_second();
        self.watermark = self.watermark.max(t);
        let rhash = rule_hash(alert);
        let keys = entity_keys(alert);
        let fp = h64(&(rhash, &keys));
        for &k in &keys {
            *self.counts.entry((rhash, k)).or_default() += 1;
        }

        if let Some(&g) = self.by_fingerprint.get(&fp) {
            let dedup = self.cfg.dedup_window_secs as i64;
            let grp = &self.groups[g];
            if t <= grp.last_seen.as_second() + dedup && t >= grp.first_seen.as_second() - dedup {
                self.seen_ids.insert(id_hash, g);
                self.fold(g, alert.time);
                return Pushed::Folded;
            }
        }
        self.seen_ids.insert(id_hash, self.groups.len());
        self.new_group(alert, rule_key(alert), rhash, keys, fp);
        Pushed::NewGroup
    }

    fn fold(&mut self, g: usize, time: Timestamp) {
        let (routine_after, routine_span) =
            (self.cfg.routine_after, self.cfg.routine_span_secs as i64);
        let grp = &mut self.groups[g];
        grp.count += 1;
        grp.last_seen = grp.last_seen.max(time);
        grp.first_seen = grp.first_seen.min(time);
        let span = grp.last_seen.as_second() - grp.first_seen.as_second();
        let became_routine =
            !grp.routine && grp.prior + grp.count >= routine_after && span >= routine_span;
        let fingerprint = grp.fingerprint;
        let inc = self.root(self.groups[g].incident);
        if became_routine {
            if self.incidents[inc].groups.len() > 1 {
                // Shared incident: the repeats so far belong to what happened there (a scan's burst
                // of errors stays with the scan); later repeats start a routine group of their own,
                // which links nothing, so a chatty rule does not keep the incident open for days.
                self.by_fingerprint.remove(&fingerprint);
            } else {
                self.groups[g].routine = true;
            }
        }
        let st = &mut self.incidents[inc];
        st.last_seen = st.last_seen.max(time);
        st.first_seen = st.first_seen.min(time);
        self.dirty.insert(inc);
    }

    fn open_incident(
        &mut self,
        g: usize,
        first_alert: &str,
        first: Timestamp,
        last: Timestamp,
    ) -> usize {
        let idx = self.incidents.len();
        self.incidents.push(IncState {
            id: stable_id("inc_", &[first_alert.as_bytes()]),
            groups: vec![g],
            first_seen: first,
            last_seen: last,
            merged_into: None,
        });
        self.dirty.insert(idx);
        idx
    }

    fn new_group(&mut self, alert: &Alert, rkey: String, rhash: u64, keys: Vec<u64>, fp: u64) {
        let t = alert.time.as_second();
        let prior = keys
            .iter()
            .map(|&k| self.counts.get(&(rhash, k)).copied().unwrap_or(1) - 1)
            .chain(self.baseline_prior(&rkey, alert))
            .max()
            .unwrap_or(0);
        let routine = prior >= self.cfg.routine_after;
        let suppressed_by = self
            .knowledge
            .suppressions
            .iter()
            .position(|s| s.matches(alert));
        let g = self.groups.len();
        self.groups.push(Group {
            summary: summarize(alert, rkey, self.knowledge.attack.as_deref()),
            fingerprint: fp,
            incident: usize::MAX,
            count: 1,
            first_seen: alert.time,
            last_seen: alert.time,
            prior,
            routine,
            suppressed_by,
        });
        self.by_fingerprint.insert(fp, g);

        let window = self.cfg.correlation_window_secs as i64;
        let mut target: Option<usize> = None;
        if !routine && suppressed_by.is_none() {
            let mut candidates: Vec<usize> = Vec::new();
            for k in &keys {
                if let Some(slot) = self.entities.get(k)
                    && (t - slot.last_seen).abs() <= window
                    && (slot.links as usize) < self.cfg.max_entity_fanout
                {
                    let r = self.root(slot.incident);
                    if !candidates.contains(&r) {
                        candidates.push(r);
                    }
                }
            }
            target = self.merge(candidates);
        }
        let inc = match target {
            Some(inc) => {
                let st = &mut self.incidents[inc];
                st.groups.push(g);
                st.first_seen = st.first_seen.min(alert.time);
                st.last_seen = st.last_seen.max(alert.time);
                self.dirty.insert(inc);
                inc
            }
            None => self.open_incident(g, &alert.id, alert.time, alert.time),
        };
        self.groups[g].incident = inc;
        if !routine && suppressed_by.is_none() {
            for k in keys {
                let slot = self.entities.entry(k).or_insert(EntitySlot {
                    incident: inc,
                    last_seen: t,
                    links: 0,
                    since: t,
                });
                if (t - slot.since).abs() > window {
                    slot.links = 0;
                    slot.since = t;
                }
                slot.incident = inc;
                slot.last_seen = slot.last_seen.max(t);
                slot.links += 1;
            }
        }
    }

    fn baseline_prior(&self, rkey: &str, alert: &Alert) -> Option<u64> {
        if self.knowledge.baseline.is_empty() {
            return None;
        }
        entity_names(alert)
            .iter()
            .filter_map(|e| {
                self.knowledge
                    .baseline
                    .get(&(rkey.to_owned(), e.clone()))
                    .copied()
            })
            .max()
    }

    fn root(&self, mut i: usize) -> usize {
        while let Some(n) = self.incidents[i].merged_into {
            i = n;
        }
        i
    }

    /// Merges candidate incidents into the earliest one; returns it.
    fn merge(&mut self, mut candidates: Vec<usize>) -> Option<usize> {
        candidates.sort_by_key(|&i| (self.incidents[i].first_seen, i));
        let (&keep, rest) = candidates.split_first()?;
        for &other in rest {
            let moved = std::mem::take(&mut self.incidents[other].groups);
            for &g in &moved {
                self.groups[g].incident = keep;
            }
            let (f, l) = (
                self.incidents[other].first_seen,
                self.incidents[other].last_seen,
            );
            let st = &mut self.incidents[keep];
            st.groups.extend(moved);
            st.first_seen = st.first_seen.min(f);
            st.last_seen = st.last_seen.max(l);
            self.incidents[other].merged_into = Some(keep);
            self.dirty.remove(&other);
        }
        self.dirty.insert(keep);
        Some(keep)
    }

    fn live(&self, i: usize) -> bool {
        self.incidents[i].merged_into.is_none() && !self.incidents[i].groups.is_empty()
    }

    fn build(&self, i: usize) -> Incident {
        let st = &self.incidents[i];
        let groups: Vec<&Group> = st.groups.iter().map(|&g| &self.groups[g]).collect();
        assess::build_incident(&st.id, &groups, &self.knowledge, &self.cfg)
    }

    /// An estimate of the heap the engine holds, in bytes (table capacities times entry sizes, plus
    /// the strings of each group's summary). For `picket bench`'s memory-per-alert figure.
    pub fn approx_heap_bytes(&self) -> usize {
        use std::mem::size_of;
        fn table<K, V>(cap: usize) -> usize {
            cap * (size_of::<K>() + size_of::<V>() + 1)
        }
        let strings = |v: &[String]| {
            v.iter()
                .map(|s| s.capacity() + size_of::<String>())
                .sum::<usize>()
        };
        let summaries: usize = self
            .groups
            .iter()
            .map(|g| {
                let s = &g.summary;
                s.alert_id.capacity()
                    + s.raw_sha256.capacity()
                    + s.rule_key.capacity()
                    + s.rule_name.capacity()
                    + s.message.capacity()
                    + strings(&s.hosts)
                    + strings(&s.users)
                    + strings(&s.ips)
                    + s.attack.capacity() * size_of::<AttackRef>()
                    + s.observables
                        .iter()
                        .map(|o| o.1.capacity() + strings(&o.2) + strings(&o.3) + size_of_val(o))
                        .sum::<usize>()
            })
            .sum();
        let incidents: usize = self
            .incidents
            .iter()
            .map(|i| i.id.capacity() + i.groups.capacity() * size_of::<usize>())
            .sum();
        table::<u64, usize>(self.seen_ids.capacity())
            + table::<u64, usize>(self.by_fingerprint.capacity())
            + table::<u64, EntitySlot>(self.entities.capacity())
            + table::<(u64, u64), u64>(self.counts.capacity())
            + table::<usize, ()>(self.dirty.capacity() + self.emitted_final.capacity())
            + self.groups.capacity() * size_of::<Group>()
            + summaries
            + self.incidents.capacity() * size_of::<IncState>()
            + incidents
    }

    /// Records threat-intel answers; every live incident holding one of these indicators is marked
    /// updated, so the next [`Engine::drain_updated`] returns it re-assessed with the intel as evidence.
    /// One pass over the groups per call: hand answers over in batches.
    pub fn add_intel(
        &mut self,
        answers: impl IntoIterator<Item = picket_core::IndicatorEnrichment>,
    ) {
        let mut keys: HashMap<ObservableType, HashSet<String>> = HashMap::new();
        for a in answers {
            keys.entry(a.kind).or_default().insert(a.value.clone());
            self.knowledge.intel.insert((a.kind, a.value.clone()), a);
        }
        if keys.is_empty() {
            return;
        }
        let mut touched = HashSet::new();
        for g in &self.groups {
            if g.summary
                .observables
                .iter()
                .any(|o| keys.get(&o.0).is_some_and(|s| s.contains(o.1.as_str())))
            {
                touched.insert(g.incident);
            }
        }
        for i in touched {
            let r = self.root(i);
            if self.live(r) {
                self.dirty.insert(r);
                self.emitted_final.remove(&r);
            }
        }
    }

    /// Forgets intel about indicators no group holds any more (after a rebuild), so the book stays
    /// bounded by what the engine holds.
    pub fn prune_intel(&mut self) {
        let held: HashSet<(ObservableType, &str)> = self
            .groups
            .iter()
            .flat_map(|g| g.summary.observables.iter().map(|o| (o.0, o.1.as_str())))
            .collect();
        self.knowledge
            .intel
            .retain(|(k, v), _| held.contains(&(*k, v.as_str())));
    }

    /// The id of the incident that holds the alert with this id, if the engine has seen it.
    pub fn incident_of(&self, alert_id: &str) -> Option<&str> {
        let g = *self.seen_ids.get(&h64(alert_id))?;
        Some(
            self.incidents[self.root(self.groups[g].incident)]
                .id
                .as_str(),
        )
    }

    /// Incidents changed since the last call, assessed as they stand now.
    pub fn drain_updated(&mut self) -> Vec<Incident> {
        let mut ids: Vec<usize> = self.dirty.drain().collect();
        ids.sort_unstable();
        ids.into_iter()
            .filter(|&i| self.live(i))
            .map(|i| self.build(i))
            .collect()
    }

    /// Incidents that can no longer change (nothing seen on them for longer than both windows), each
    /// returned once.
    pub fn drain_final(&mut self) -> Vec<Incident> {
        let horizon = self
            .cfg
            .correlation_window_secs
            .max(self.cfg.dedup_window_secs) as i64;
        let cutoff = self.watermark.saturating_sub(horizon);
        let done: Vec<usize> = (0..self.incidents.len())
            .filter(|&i| {
                self.live(i)
                    && !self.emitted_final.contains(&i)
                    && self.incidents[i].last_seen.as_second() < cutoff
            })
            .collect();
        done.into_iter()
            .map(|i| {
                self.emitted_final.insert(i);
                self.dirty.remove(&i);
                self.build(i)
            })
            .collect()
    }

    /// Every incident not yet returned by [`Engine::drain_final`], ordered by first alert time.
    pub fn finish(mut self) -> Vec<Incident> {
        let mut live: Vec<usize> = (0..self.incidents.len())
            .filter(|&i| self.live(i) && !self.emitted_final.contains(&i))
            .collect();
        live.sort_by_key(|&i| (self.incidents[i].first_seen, i));
        let out = live.iter().map(|&i| self.build(i)).collect();
        self.emitted_final.extend(live);
        out
    }

    /// Every live incident as it stands, without consuming the engine.
    pub fn snapshot(&self) -> Vec<Incident> {
        let mut live: Vec<usize> = (0..self.incidents.len())
            .filter(|&i| self.live(i))
            .collect();
        live.sort_by_key(|&i| (self.incidents[i].first_seen, i));
        live.iter().map(|&i| self.build(i)).collect()
    }
}

/// Hash of the rule key (see [`rule_key`]) without building the string.
fn rule_hash(alert: &Alert) -> u64 {
    h64(&(
        alert.format.as_str(),
        alert.rule.id.as_deref().unwrap_or(&alert.rule.name),
    ))
}

/// Entity keys of an alert used for correlation, sorted: hosts, users (case-insensitive), IPs not on a
/// known-benign list and not loopback/unspecified/multicast, file hashes. Hashed without allocating:
/// this runs for every alert.
fn entity_keys(alert: &Alert) -> Vec<u64> {
    let e = &alert.entities;
    let mut keys = Vec::with_capacity(e.hosts.len() * 2 + e.users.len() + e.endpoints.len());
    for h in &e.hosts {
        if let Some(n) = &h.hostname {
            keys.push(h64(&("host", n.as_str())));
        }
        if let Some(ip) = h.ip
            && usable_ip(alert, ip)
        {
            keys.push(h64(&("ip", ip)));
        }
    }
    for u in &e.users {
        let mut h = DefaultHasher::new();
        "user".hash(&mut h);
        for b in u.name.bytes() {
            h.write_u8(b.to_ascii_lowercase());
        }
        keys.push(h.finish());
    }
    for ep in &e.endpoints {
        if usable_ip(alert, ep.ip) {
            keys.push(h64(&("ip", ep.ip)));
        }
    }
    for f in &e.files {
        for x in [&f.sha256, &f.sha1, &f.md5].into_iter().flatten() {
            keys.push(h64(&("hash", x.as_str())));
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// The entities an alert correlates on, as readable names (`host:web01`, `ip:10.0.0.5`,
/// `user:alice`, `hash:…`): the keys of the stored rule baseline ([`crate::knowledge::rule_key`] ×
/// these), so that a store can count exactly what the engine looks up. Sorted, each name once (an
/// address named twice counts once).
pub fn entity_names(alert: &Alert) -> Vec<String> {
    let mut out = Vec::new();
    let e = &alert.entities;
    for h in &e.hosts {
        if let Some(n) = &h.hostname {
            out.push(format!("host:{n}"));
        }
        if let Some(ip) = h.ip
            && usable_ip(alert, ip)
        {
            out.push(format!("ip:{ip}"));
        }
    }
    for u in &e.users {
        out.push(format!("user:{}", u.name.to_ascii_lowercase()));
    }
    for ep in &e.endpoints {
        if usable_ip(alert, ep.ip) {
            out.push(format!("ip:{}", ep.ip));
        }
    }
    for f in &e.files {
        for h in [&f.sha256, &f.sha1, &f.md5].into_iter().flatten() {
            out.push(format!("hash:{h}"));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether an IP may link alerts. Internal addresses identify hosts and do link, even though
/// warninglists list the private ranges as "commonly misclassified" indicators; a public address on a
/// known-benign list (a public DNS resolver, a cloud range) is shared by unrelated activity and does not.
fn usable_ip(alert: &Alert, ip: std::net::IpAddr) -> bool {
    if ip.is_loopback() || ip.is_unspecified() || ip.is_multicast() {
        return false;
    }
    if is_internal(ip) {
        return true;
    }
    !alert
        .observables
        .iter()
        .filter(|o| !o.benign_lists.is_empty())
        .any(|o| o.value.parse::<std::net::IpAddr>() == Ok(ip))
}

fn is_internal(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_link_local()
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        std::net::IpAddr::V6(v6) => {
            (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

fn summarize(
    alert: &Alert,
    rule_key: String,
    catalog: Option<&picket_intel::AttackCatalog>,
) -> GroupSummary {
    let e = &alert.entities;
    let mut hosts: Vec<String> = alert.hostnames().map(str::to_owned).collect();
    hosts.dedup();
    let users = e.users.iter().map(|u| u.name.clone()).collect();
    let mut ips: Vec<String> = e
        .endpoints
        .iter()
        .map(|x| x.ip.to_string())
        .chain(e.hosts.iter().filter_map(|h| h.ip.map(|i| i.to_string())))
        .collect();
    ips.sort();
    ips.dedup();
    let mut attack = alert.attack.clone();
    for a in &mut attack {
        if let Some(t) = &a.tactic
            && let Some(s) = tactics::short_name(t)
        {
            a.tactic = Some(s.to_owned());
        }
        // With the ATT&CK bundle: revoked ids become their replacement, deprecated ones are
        // dropped (never emitted), names and missing tactics are filled in.
        if let (Some(c), Some(t)) = (catalog, a.technique.clone()) {
            match c.resolve(&t) {
                Ok(r) => {
                    if a.tactic.is_none() {
                        a.tactic = r.tactics.first().cloned();
                    }
                    a.name = c.full_name(&r.id);
                    a.technique = Some(r.id);
                }
                Err(picket_intel::attack::Unresolved::Unknown) => {}
                Err(_) => a.technique = None,
            }
        }
    }
    attack.retain(|a| a.technique.is_some() || a.tactic.is_some());
    let inferred = if attack
        .iter()
        .any(|a| a.tactic.is_some() || a.technique.is_some())
    {
        None
    } else {
        tactics::infer(&alert.rule.name)
            .or_else(|| tactics::infer(&alert.message))
            .map(|mut i| {
                if let (Some(c), Some(t)) = (catalog, i.technique.clone()) {
                    match c.resolve(&t) {
                        Ok(r) => {
                            i.name = c.full_name(&r.id);
                            i.technique = Some(r.id.into());
                        }
                        Err(picket_intel::attack::Unresolved::Unknown) => {}
                        Err(_) => i.technique = None,
                    }
                }
                i
            })
            .or_else(|| {
                catalog.and_then(|c| {
                    tactics::infer_from_catalog(c, &alert.rule.name)
                        .or_else(|| tactics::infer_from_catalog(c, &alert.message))
                })
            })
    };
    GroupSummary {
        alert_id: alert.id.clone(),
        format: alert.format,
        raw_sha256: alert.raw_sha256.clone(),
        rule_key,
        rule_name: alert.rule.name.clone(),
        message: alert.message.clone(),
        severity: alert.severity,
        attack,
        inferred,
        hosts,
        users,
        ips,
        observables: alert
            .observables
            .iter()
            .map(|o| {
                (
                    o.kind,
                    o.value.clone(),
                    o.labels.clone(),
                    o.benign_lists.clone(),
                )
            })
            .collect(),
    }
}
