//! Indicator extraction: IPv4/IPv6 addresses, domains, URLs, e-mail addresses, MD5/SHA-1/SHA-256/
//! SHA-512 hashes and CVE ids, from free text and from every string of a JSON document.
//!
//! How a string is read:
//! 1. Strings shorter than 3 bytes are skipped; only the first [`MAX_FIELD_BYTES`] (1 MiB) of a
//!    string are read (cut back to a character boundary).
//! 2. A one-pass [`scan::Prefilter`] decides which scanners can find anything; most fields stop
//!    here, without allocating.
//! 3. Defanged forms are restored ([`refang`], table in that module).
//! 4. Scanners, each documented in its module: URLs and their hosts ([`url`]), IPv6 ([`scan::ipv6`]),
//!    e-mail addresses ([`email`]), IPv4 and bare domains ([`scan::dotted`], rules in [`domain`] and
//!    [`ip`]), hashes and CVE ids ([`hash`]).
//!
//! Values are canonical: domains and hashes lowercase, e-mail domains lowercase (local part as
//! written), URLs with lowercase scheme and host, IPs in standard form (IPv6 compressed, IPv4
//! without leading zeros, IPv4-mapped IPv6 as IPv4), CVE ids upper case. IPs carry
//! [`Observable::labels`] (`private`, `loopback`, …); nothing is dropped for being private.
//!
//! Each (type, value) is reported once per call of [`Extractor::extract_text`] or
//! [`Extractor::extract_document`], with the first field it was found in. Document fields are
//! dotted paths; array items are numbered like keys (`alert.hosts.0.ip`).

mod domain;
mod email;
mod hash;
pub mod ip;
mod refang;
mod scan;
mod url;

use std::borrow::Cow;
use std::collections::HashSet;

use crate::json::Json;
use picket_core::{Observable, ObservableType};

pub use domain::FILE_EXT_TLDS;

/// Only this many bytes of one string are read.
pub const MAX_FIELD_BYTES: usize = 1 << 20;

/// Finds indicators in text. Build once, share freely.
#[derive(Debug)]
pub struct Extractor {
    refanger: refang::Refanger,
}

impl Default for Extractor {
    fn default() -> Self {
        Self::new()
    }
}

/// Collects observables for one call, skipping (type, value) pairs already in `out[start..]`.
struct Sink<'a> {
    out: &'a mut Vec<Observable>,
    start: usize,
    /// Index of the pairs once there are too many for a linear look.
    seen: Option<HashSet<(ObservableType, String)>>,
}

const LINEAR_DEDUP: usize = 32;

impl<'a> Sink<'a> {
    fn new(out: &'a mut Vec<Observable>) -> Self {
        let start = out.len();
        Self {
            out,
            start,
            seen: None,
        }
    }

    fn push(&mut self, kind: ObservableType, value: &str, field: &str) {
        match &mut self.seen {
            Some(set) => {
                if set.contains(&(kind, value.to_owned())) {
                    return;
                }
                set.insert((kind, value.to_owned()));
            }
            None => {
                if self.out[self.start..]
                    .iter()
                    .any(|o| o.kind == kind && o.value == value)
                {
                    return;
                }
                if self.out.len() - self.start >= LINEAR_DEDUP {
                    let mut set: HashSet<_> = self.out[self.start..]
                        .iter()
                        .map(|o| (o.kind, o.value.clone()))
                        .collect();
                    set.insert((kind, value.to_owned()));
                    self.seen = Some(set);
                }
            }
        }
        let mut o = Observable::new(kind, value, field);
        o.labels = match kind {
            ObservableType::Ipv4 => value.parse().map(ip::labels_v4).unwrap_or_default(),
            ObservableType::Ipv6 => value.parse().map(ip::labels_v6).unwrap_or_default(),
            _ => Vec::new(),
        };
        self.out.push(o);
    }
}

impl Extractor {
    pub fn new() -> Self {
        Self {
            refanger: refang::Refanger::new(),
        }
    }

    /// `text` with defanged forms (`hxxp`, `[.]`, `(at)`, …) restored; borrowed when unchanged.
    pub fn refang<'t>(&self, text: &'t str) -> Cow<'t, str> {
        self.refanger.refang(text)
    }

    /// Appends the indicators found in `text` to `out`, each tagged with `field`.
    pub fn extract_text(&self, text: &str, field: &str, out: &mut Vec<Observable>) {
        let mut sink = Sink::new(out);
        self.scan(text, field, &mut sink, false);
    }

    /// Appends the indicators found in every string of `doc` (field = dotted path, array items as
    /// `path.N`), skipping the fields named in `skip` and everything under them. Each (type, value)
    /// appears once, with the first field it was seen in.
    pub fn extract_document(&self, doc: &Json<'_>, skip: &[String], out: &mut Vec<Observable>) {
        let mut sink = Sink::new(out);
        let mut path = String::new();
        self.walk(doc, &mut path, skip, &mut sink, 0);
    }

    fn walk(
        &self,
        v: &Json<'_>,
        path: &mut String,
        skip: &[String],
        sink: &mut Sink<'_>,
        depth: usize,
    ) {
        match v {
            Json::String(s) => {
                if let Some((text, pf)) = Self::look(s)
                    && !(depth > 0 && is_skipped(path, skip))
                {
                    self.scan_with(text, pf, path, sink, true);
                }
            }
            Json::Array(items) => {
                if depth > 0 && is_skipped(path, skip) {
                    return;
                }
                for (i, item) in items.iter().enumerate() {
                    if let Some(look) = Self::worth(item) {
                        let len = path.len();
                        if len > 0 {
                            path.push('.');
                        }
                        push_index(path, i);
                        self.visit(item, look, path, skip, sink, depth + 1);
                        path.truncate(len);
                    }
                }
            }
            Json::Object(map) => {
                if depth > 0 && is_skipped(path, skip) {
                    return;
                }
                for (k, item) in map {
                    if let Some(look) = Self::worth(item) {
                        let len = path.len();
                        if len > 0 {
                            path.push('.');
                        }
                        path.push_str(k);
                        self.visit(item, look, path, skip, sink, depth + 1);
                        path.truncate(len);
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether `item` may hold an indicator, with the first look at a string already taken (so that
    /// the path of the many fields that hold nothing is never built).
    fn worth<'t>(item: &'t Json<'_>) -> Option<Option<(&'t str, scan::Prefilter)>> {
        match item {
            Json::String(s) => Self::look(s).map(Some),
            Json::Array(a) if !a.is_empty() => Some(None),
            Json::Object(o) if !o.is_empty() => Some(None),
            _ => None,
        }
    }

    fn visit(
        &self,
        item: &Json<'_>,
        look: Option<(&str, scan::Prefilter)>,
        path: &mut String,
        skip: &[String],
        sink: &mut Sink<'_>,
        depth: usize,
    ) {
        match look {
            Some((text, pf)) => {
                if !is_skipped(path, skip) {
                    self.scan_with(text, pf, path, sink, true);
                }
            }
            None => self.walk(item, path, skip, sink, depth),
        }
    }

    /// The part of `text` that is read and its first look, or `None` when it cannot hold anything.
    fn look(text: &str) -> Option<(&str, scan::Prefilter)> {
        if text.len() < 3 {
            return None;
        }
        let mut text = text;
        if text.len() > MAX_FIELD_BYTES {
            let mut cut = MAX_FIELD_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text = &text[..cut];
        }
        if is_timestamp(text.as_bytes()) {
            return None;
        }
        let pf = scan::Prefilter::new(text);
        pf.anything().then_some((text, pf))
    }

    /// `in_document`: `field` is a document path, whose last key may name an identifier (then hex runs
    /// there are not hashes).
    fn scan(&self, text: &str, field: &str, sink: &mut Sink<'_>, in_document: bool) {
        if let Some((text, pf)) = Self::look(text) {
            self.scan_with(text, pf, field, sink, in_document);
        }
    }

    fn scan_with(
        &self,
        text: &str,
        mut pf: scan::Prefilter,
        field: &str,
        sink: &mut Sink<'_>,
        in_document: bool,
    ) {
        let refanged;
        let text = if pf.may_refang() {
            refanged = self.refanger.refang(text);
            if let Cow::Owned(s) = &refanged {
                pf = scan::Prefilter::new(s);
            }
            &*refanged
        } else {
            text
        };
        let mut emit = |k: ObservableType, v: &str| sink.push(k, v, field);
        let mut url_spans = Vec::new();
        let mut v6_spans = Vec::new();
        if pf.flags & scan::COLON != 0 {
            url::urls(text, &mut url_spans, &mut emit);
            scan::ipv6(text, &mut v6_spans, &mut emit);
        }
        if pf.flags & scan::AT != 0 {
            email::emails(text, &url_spans, &mut emit);
        }
        if pf.flags & scan::DOT != 0 {
            scan::dotted(text, &v6_spans, &mut emit);
        }
        if pf.long_hex && !(in_document && is_identifier_key(last_key(field))) {
            hash::hashes(text, &mut emit);
        }
        if pf.cve {
            hash::cves(text, &mut emit);
        }
    }
}

/// An ISO 8601 timestamp (`2023-05-22T10:40:43.395+0000`) holds no indicator, but its dots and
/// colons would wake the IP and URL scanners; vendor documents are full of them.
fn is_timestamp(b: &[u8]) -> bool {
    b.len() >= 10
        && b.len() <= 40
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && b[10..].iter().all(|c| {
            c.is_ascii_digit()
                || matches!(
                    c,
                    b'T' | b'Z' | b':' | b'.' | b'+' | b'-' | b' ' | b'z' | b't'
                )
        })
}

/// The last key of a dotted path, skipping array indexes (`a.hosts.0` → `hosts`).
fn last_key(path: &str) -> &str {
    path.rsplit('.')
        .find(|seg| !seg.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("")
}

/// Fields that name an identifier (`id`, `agent_id`, `AlertId`, `uuid`, `guid`, `cid`, `*_ids`, AWS `arn`):
/// vendors' ids are often 32 or 64 hex digits, and reading them as MD5 or SHA-256 hashes would fill
/// incidents with false indicators and link unrelated alerts. Hashes are not read from such fields.
fn is_identifier_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    let lower = lower
        .strip_suffix('s')
        .filter(|l| l.ends_with("id"))
        .unwrap_or(&lower);
    lower == "id"
        || lower == "cid"
        || lower.ends_with("_id")
        || lower.ends_with("-id")
        || lower.ends_with(".id")
        || lower.ends_with("uuid")
        || lower.ends_with("guid")
        || lower.ends_with("uid")
        || lower == "arn"
        || lower.ends_with("_arn")
        || key.ends_with("Arn")
        || (key.len() > 2 && (key.ends_with("Id") || key.ends_with("ID") || key.ends_with("Ids")))
}

fn push_index(path: &mut String, i: usize) {
    use std::fmt::Write;
    let _ = write!(path, "{i}");
}

/// `path` is a skipped field or lies under one.
fn is_skipped(path: &str, skip: &[String]) -> bool {
    skip.iter().any(|s| {
        path.strip_prefix(s.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

#[cfg(test)]
mod tests;
