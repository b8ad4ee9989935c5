//! MISP warninglists: known-benign (or known-noisy) values, matched the way MISP matches them.
//!
//! Layout: a directory holding `lists/<name>/list.json` (MISP's own repository layout), or the
//! `lists` directory itself. Each file has `name`, `type` (`string` when missing; the first item
//! when an array), `list` (strings, or an object whose keys are the values and whose values are
//! comments), and optional `matching_attributes` (no list or an empty one means all types).
//!
//! Matching follows MISP's `app/Model/Warninglist.php` (`checkValue`, `__evalString`,
//! `__evalSubString`, `__evalHostname`, `__evalRegex`) and `app/Lib/Tools/CidrTool.php`:
//!
//! * **cidr**: the value is an IPv4 or IPv6 address inside any entry (entries without a prefix
//!   length are single addresses). A value that is itself a network (`10.1.0.0/16`) hits when it
//!   lies wholly inside one entry, as `CidrTool::contains` checks the value's mask against the
//!   widest containing entry. Invalid entries are skipped (and reported), as MISP skips them.
//! * **hostname**: entries are lowercased and trimmed of dots; the value's host (for a URL, its
//!   authority's host; otherwise the text before the first `/`), trailing dot removed, hits when it
//!   or any parent domain is an entry (`sub.google.com` hits `google.com`). Beyond MISP: a URL's
//!   host drops user info and port, and for an e-mail the domain part is used.
//! * **string**: exact equality. MISP compares byte for byte, but lowercases hostnames, domains,
//!   e-mails and hashes when it stores them (`AttributeValidationTool::modifyBeforeValidation`);
//!   here both sides are compared case-insensitively, which gives the same result for those types
//!   (and also lets upper-case entries like the IANA `tlds` list match).
//! * **substring**: an entry occurs in the value (ASCII case-insensitively, same reasoning).
//! * **regex**: PCRE-style `/pattern/flags` entries, compiled with the `regex` crate; flags `i`,
//!   `m`, `s`, `x`, `U` are honoured, `u` and `D` accepted; any other flag (e.g. `g`) is invalid in
//!   PHP, so MISP's `preg_match` never matches it either: such entries, and patterns the `regex`
//!   crate cannot compile, are reported as load problems and skipped.
//!
//! `matching_attributes` decides which observable types a list applies to, through the MISP
//! attribute types that can carry them (a composite type such as `domain|ip` counts for each of
//! its parts, because MISP checks both halves): see [`kinds_for_attribute`]. MISP only checks
//! attributes flagged for IDS unless `MISP.warning_for_all` is set; here every observable is
//! checked.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use ipnet::IpNet;
use picket_core::{Observable, ObservableType};
use regex::Regex;
use serde::Deserialize;

/// Why the directory could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read warninglists directory {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} holds no warninglists (expected lists/<name>/list.json)", path.display())]
    Empty { path: PathBuf },
}

/// One list (or one entry) that could not be used, and why. The rest still loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadProblem {
    pub path: PathBuf,
    pub reason: String,
}

impl std::fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ListType {
    Cidr,
    Hostname,
    String,
    Substring,
    Regex,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Entries {
    Plain(Vec<serde_json::Value>),
    Commented(serde_json::Map<String, serde_json::Value>),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct RawList {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<OneOrMany>,
    list: Option<Entries>,
    #[serde(default)]
    matching_attributes: Vec<String>,
}

#[derive(Debug)]
struct ListMeta {
    name: String,
    /// Indexed by position in [`ObservableType::ALL`].
    applies: [bool; 10],
}

type Ids = Vec<u32>;

/// Loaded warninglists, indexed for fast lookups. Build once with [`Warninglists::load_dir`].
#[derive(Debug, Default)]
pub struct Warninglists {
    lists: Vec<ListMeta>,
    hostnames: HashMap<Box<str>, Ids>,
    strings: HashMap<Box<str>, Ids>,
    substrings: Option<(AhoCorasick, Vec<u32>)>,
    /// Per cidr list: its widest entries (disjoint), sorted.
    cidr4: Vec<(u32, Vec<(u32, u32)>)>,
    cidr6: Vec<(u32, Vec<(u128, u128)>)>,
    regexes: Vec<(u32, Vec<Regex>)>,
}

fn kind_index(k: ObservableType) -> usize {
    ObservableType::ALL
        .iter()
        .position(|&x| x == k)
        .expect("ALL lists every type")
}

/// Observable types a MISP attribute type can carry (each half of a composite type counts).
pub fn kinds_for_attribute(attr: &str) -> Vec<ObservableType> {
    use ObservableType as T;
    let mut out = Vec::new();
    for part in attr.split('|') {
        let ks: &[T] = match part {
            "ip-src" | "ip-dst" | "ip" => &[T::Ipv4, T::Ipv6],
            "domain" | "hostname" => &[T::Domain],
            "url" | "uri" | "link" => &[T::Url],
            "email"
            | "email-src"
            | "email-dst"
            | "target-email"
            | "whois-registrant-email"
            | "dns-soa-email"
            | "email-reply-to" => &[T::Email],
            "md5"
            | "x509-fingerprint-md5"
            | "ja3-fingerprint-md5"
            | "hassh-md5"
            | "hasshserver-md5"
            | "imphash" => &[T::Md5],
            "sha1" | "x509-fingerprint-sha1" | "pehash" | "git-commit-id" => &[T::Sha1],
            "sha256" | "x509-fingerprint-sha256" | "authentihash" | "sha512/256" | "sha3-256" => {
                &[T::Sha256]
            }
            "sha512" | "sha3-512" => &[T::Sha512],
            "vulnerability" => &[T::Cve],
            _ => &[],
        };
        for k in ks {
            if !out.contains(k) {
                out.push(*k);
            }
        }
    }
    out
}

/// Splits a PCRE-style `/pattern/flags` into a `regex` crate pattern.
fn php_regex(entry: &str) -> Result<Regex, String> {
    let mut chars = entry.chars();
    let open = chars.next().ok_or("empty pattern")?;
    if open.is_alphanumeric() || open == '\\' || open.is_whitespace() {
        return Err(format!("`{entry}`: no delimiter"));
    }
    let close = match open {
        '(' => ')',
        '{' => '}',
        '[' => ']',
        '<' => '>',
        c => c,
    };
    let body = &entry[open.len_utf8()..];
    let end = body
        .rfind(close)
        .ok_or_else(|| format!("`{entry}`: no closing delimiter"))?;
    let (pat, flags) = (&body[..end], &body[end + close.len_utf8()..]);
    let mut inline = String::new();
    for f in flags.chars() {
        match f {
            'i' | 'm' | 's' | 'x' | 'U' => inline.push(f),
            'u' | 'D' => {}
            other => {
                return Err(format!(
                    "`{entry}`: unknown modifier `{other}` (invalid in PHP too)"
                ));
            }
        }
    }
    let full = if inline.is_empty() {
        pat.to_owned()
    } else {
        format!("(?{inline}){pat}")
    };
    Regex::new(&full).map_err(|e| format!("`{entry}`: {e}"))
}

fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|c| c.is_ascii_uppercase()) || !s.is_ascii() {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// The host a hostname list looks at, per MISP's `__evalHostname` (refined for URLs and e-mails).
fn host_of(kind: ObservableType, value: &str) -> &str {
    let h = match kind {
        ObservableType::Email => value.rsplit_once('@').map_or(value, |(_, d)| d),
        _ => match value.find("//") {
            Some(i) => {
                let auth = &value[i + 2..];
                let auth = &auth[..auth.find(['/', '?', '#']).unwrap_or(auth.len())];
                let auth = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
                if auth.starts_with('[') {
                    auth
                } else {
                    auth.split(':').next().unwrap_or(auth)
                }
            }
            None => value.split('/').next().unwrap_or(value),
        },
    };
    h.trim_end_matches('.')
}

fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    if s.contains('/') {
        s.parse::<IpNet>().ok()
    } else {
        s.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

/// Keeps the widest of nested CIDR blocks (they are either nested or disjoint), sorted.
fn widest<T: Ord + Copy>(mut v: Vec<(T, T)>) -> Vec<(T, T)> {
    v.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut out: Vec<(T, T)> = Vec::with_capacity(v.len());
    for r in v {
        match out.last() {
            Some(l) if r.1 <= l.1 => {} // inside the previous block
            _ => out.push(r),
        }
    }
    out
}

/// The block of `blocks` (sorted, disjoint) containing all of `lo..=hi`.
fn covered<T: Ord + Copy>(blocks: &[(T, T)], lo: T, hi: T) -> bool {
    let i = blocks.partition_point(|b| b.0 <= lo);
    i > 0 && blocks[i - 1].1 >= hi
}

impl Warninglists {
    /// Loads every `lists/<name>/list.json` under `dir` (or `<name>/list.json` when `dir` is the
    /// `lists` directory itself). Broken lists and entries are returned as problems, not errors.
    pub fn load_dir(dir: &Path) -> Result<(Warninglists, Vec<LoadProblem>), Error> {
        let root = if dir.join("lists").is_dir() {
            dir.join("lists")
        } else {
            dir.to_path_buf()
        };
        let rd = std::fs::read_dir(&root).map_err(|source| Error::Io {
            path: root.clone(),
            source,
        })?;
        let mut files: Vec<PathBuf> = rd
            .flatten()
            .map(|e| e.path().join("list.json"))
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(Error::Empty { path: root });
        }
        let mut problems = Vec::new();
        let mut raws = Vec::new();
        for f in files {
            let parsed = std::fs::read(&f).map_err(|e| e.to_string()).and_then(|b| {
                serde_json::from_slice::<RawList>(&b).map_err(|e| format!("invalid JSON: {e}"))
            });
            match parsed {
                Ok(r) => raws.push((f, r)),
                Err(reason) => problems.push(LoadProblem { path: f, reason }),
            }
        }
        let lists = Self::build(raws, &mut problems);
        Ok((lists, problems))
    }

    /// Builds from already-parsed lists (`path` only labels problems).
    fn build(raws: Vec<(PathBuf, RawList)>, problems: &mut Vec<LoadProblem>) -> Warninglists {
        let mut wl = Warninglists::default();
        let mut subs: Vec<String> = Vec::new();
        let mut sub_ids: Vec<u32> = Vec::new();
        for (path, raw) in raws {
            let mut problem = |reason: String| {
                problems.push(LoadProblem {
                    path: path.clone(),
                    reason,
                })
            };
            let Some(name) = raw.name.filter(|n| !n.trim().is_empty()) else {
                problem("no `name`".into());
                continue;
            };
            let kind_s = match raw.kind {
                None => "string".to_owned(),
                Some(OneOrMany::One(s)) => s,
                Some(OneOrMany::Many(v)) => v.into_iter().next().unwrap_or_else(|| "string".into()),
            };
            let kind = match kind_s.as_str() {
                "cidr" => ListType::Cidr,
                "hostname" => ListType::Hostname,
                "string" => ListType::String,
                "substring" => ListType::Substring,
                "regex" => ListType::Regex,
                other => {
                    problem(format!("unknown list type `{other}`"));
                    continue;
                }
            };
            let entries: Vec<String> = match raw.list {
                None => {
                    problem("no `list`".into());
                    continue;
                }
                Some(Entries::Plain(v)) => v
                    .into_iter()
                    .filter_map(|x| match x {
                        serde_json::Value::String(s) => Some(s),
                        serde_json::Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .collect(),
                Some(Entries::Commented(m)) => m.into_iter().map(|(k, _)| k).collect(),
            };
            let mut applies = [raw.matching_attributes.is_empty(); 10];
            for a in &raw.matching_attributes {
                if a == "ALL" {
                    applies = [true; 10];
                }
                for k in kinds_for_attribute(a) {
                    applies[kind_index(k)] = true;
                }
            }
            let id = wl.lists.len() as u32;
            let add = |map: &mut HashMap<Box<str>, Ids>, key: &str| {
                let ids = map.entry(key.into()).or_default();
                if ids.last() != Some(&id) {
                    ids.push(id);
                }
            };
            match kind {
                ListType::Hostname => {
                    for e in &entries {
                        let e = e.trim().trim_matches('.').to_lowercase();
                        if !e.is_empty() {
                            add(&mut wl.hostnames, &e);
                        }
                    }
                }
                ListType::String => {
                    for e in &entries {
                        if !e.is_empty() {
                            add(&mut wl.strings, &e.to_lowercase());
                        }
                    }
                }
                ListType::Substring => {
                    for e in entries.into_iter().filter(|e| !e.is_empty()) {
                        subs.push(e);
                        sub_ids.push(id);
                    }
                }
                ListType::Cidr => {
                    let mut v4 = Vec::new();
                    let mut v6 = Vec::new();
                    let mut bad = Vec::new();
                    for e in &entries {
                        match parse_net(e) {
                            Some(IpNet::V4(n)) => {
                                v4.push((u32::from(n.network()), u32::from(n.broadcast())))
                            }
                            Some(IpNet::V6(n)) => {
                                v6.push((u128::from(n.network()), u128::from(n.broadcast())))
                            }
                            None => bad.push(e.as_str()),
                        }
                    }
                    if !bad.is_empty() {
                        let shown: Vec<_> = bad.iter().take(5).collect();
                        problem(format!(
                            "{} invalid CIDR entr{} skipped: {shown:?}",
                            bad.len(),
                            if bad.len() == 1 { "y" } else { "ies" }
                        ));
                    }
                    if !v4.is_empty() {
                        wl.cidr4.push((id, widest(v4)));
                    }
                    if !v6.is_empty() {
                        wl.cidr6.push((id, widest(v6)));
                    }
                }
                ListType::Regex => {
                    let mut res = Vec::new();
                    let mut bad = Vec::new();
                    for e in &entries {
                        match php_regex(e) {
                            Ok(r) => res.push(r),
                            Err(reason) => bad.push(reason),
                        }
                    }
                    if let Some(first) = bad.first() {
                        problem(format!(
                            "{} of {} regex entries skipped; first: {first}",
                            bad.len(),
                            entries.len()
                        ));
                    }
                    if !res.is_empty() {
                        wl.regexes.push((id, res));
                    }
                }
            }
            wl.lists.push(ListMeta { name, applies });
        }
        if !subs.is_empty() {
            let ac = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::Standard)
                .build(&subs)
                .expect("literal patterns always build");
            wl.substrings = Some((ac, sub_ids));
        }
        wl
    }

    /// Number of lists loaded.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// Names of the lists loaded, in load order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.lists.iter().map(|l| l.name.as_str())
    }

    /// Names (MISP `name`) of the lists `value`, an observable of type `kind`, hits; in load
    /// order, each once.
    pub fn hits(&self, kind: ObservableType, value: &str) -> Vec<&str> {
        let ki = kind_index(kind);
        let mut ids: Vec<u32> = Vec::new();
        let ok = |id: u32| self.lists[id as usize].applies[ki];
        let push = |id: u32, ids: &mut Vec<u32>| {
            if ok(id) && !ids.contains(&id) {
                ids.push(id);
            }
        };
        // hostname: the host and each parent domain
        if !self.hostnames.is_empty() {
            let host = lower(host_of(kind, value));
            let h: &str = &host;
            let look = |suffix: &str, ids: &mut Vec<u32>| {
                if let Some(v) = self.hostnames.get(suffix) {
                    v.iter().for_each(|&id| push(id, ids));
                }
            };
            if !h.is_empty() {
                look(h, &mut ids);
            }
            for (i, _) in h.match_indices('.') {
                look(&h[i + 1..], &mut ids);
            }
        }
        // string
        if let Some(v) = self.strings.get(&*lower(value)) {
            v.iter().for_each(|&id| push(id, &mut ids));
        }
        // substring
        if let Some((ac, sub_ids)) = &self.substrings {
            for m in ac.find_overlapping_iter(value) {
                push(sub_ids[m.pattern().as_usize()], &mut ids);
            }
        }
        // cidr
        if let Some(net) = parse_net(value) {
            match net {
                IpNet::V4(n) => {
                    let (lo, hi) = (u32::from(n.network()), u32::from(n.broadcast()));
                    for (id, blocks) in &self.cidr4 {
                        if ok(*id) && covered(blocks, lo, hi) {
                            push(*id, &mut ids);
                        }
                    }
                }
                IpNet::V6(n) => {
                    let (lo, hi) = (u128::from(n.network()), u128::from(n.broadcast()));
                    for (id, blocks) in &self.cidr6 {
                        if ok(*id) && covered(blocks, lo, hi) {
                            push(*id, &mut ids);
                        }
                    }
                }
            }
        }
        // regex
        for (id, res) in &self.regexes {
            if ok(*id) && !ids.contains(id) && res.iter().any(|r| r.is_match(value)) {
                push(*id, &mut ids);
            }
        }
        ids.sort_unstable();
        ids.iter()
            .map(|&id| self.lists[id as usize].name.as_str())
            .collect()
    }

    /// Fills each observable's `benign_lists` with the names of the lists it hits.
    pub fn annotate(&self, obs: &mut [Observable]) {
        for o in obs {
            o.benign_lists = self
                .hits(o.kind, &o.value)
                .into_iter()
                .map(str::to_owned)
                .collect();
        }
    }
}

#[cfg(test)]
mod tests;
