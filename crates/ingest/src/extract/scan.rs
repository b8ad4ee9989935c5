//! The cheap first look at a string, and the token scanners for IPv4, IPv6 and bare domains.
//!
//! [`Prefilter`] reads each byte once through a class table and says which scanners can possibly
//! find something: no `.` means no IPv4 or domain, no `:` no URL or IPv6, no `@` no e-mail, no hex
//! run of 32+ no hash, no `cv` no CVE, no bracket, backslash, `xp` or `dot` no refanging. Most
//! string fields of an alert (names, ids, timestamps, numbers) stop there without allocating.

use std::net::Ipv6Addr;

use picket_core::ObservableType;

use super::domain::{self, Context};
use super::email::domain_run_end;
use super::ip;

pub(crate) const DOT: u16 = 1;
pub(crate) const COLON: u16 = 2;
pub(crate) const AT: u16 = 4;
const HEX: u16 = 8;
const FANG: u16 = 16;
/// `v`/`V`: a CVE id is possible.
const VEE: u16 = 32;
/// `x`/`X`: `hxxp`/`fxp` is possible.
const EX: u16 = 64;
/// `d`/`D`: ` dot ` is possible.
const DEE: u16 = 128;
const SPACE: u16 = 256;
const DIGIT: u16 = 512;

static CLASS: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut c = 0usize;
    while c < 256 {
        let b = c as u8;
        if b.is_ascii_hexdigit() {
            t[c] |= HEX;
        }
        if b.is_ascii_digit() {
            t[c] |= DIGIT;
        }
        c += 1;
    }
    t[b'.' as usize] |= DOT;
    t[b':' as usize] |= COLON;
    t[b'@' as usize] |= AT;
    t[b'[' as usize] |= FANG;
    t[b'(' as usize] |= FANG;
    t[b'{' as usize] |= FANG;
    t[b'<' as usize] |= FANG;
    t[b'\\' as usize] |= FANG;
    t[b'v' as usize] |= VEE;
    t[b'V' as usize] |= VEE;
    t[b'x' as usize] |= EX;
    t[b'X' as usize] |= EX;
    t[b'd' as usize] |= DEE;
    t[b'D' as usize] |= DEE;
    t[b' ' as usize] |= SPACE;
    t
};

/// What one pass over a string found out.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Prefilter {
    pub(crate) flags: u16,
    /// A hex run of 32 or more may be present.
    pub(crate) long_hex: bool,
    /// A CVE id may be present.
    pub(crate) cve: bool,
    /// `hxxp`/`fxp` or ` dot ` may be present: refanging may apply even without brackets.
    pub(crate) fang_word: bool,
}

/// Whether `b` may hold a run of 32+ hex digits: such a run covers two sampled positions 16 apart,
/// so only every 16th byte is looked at before a local check.
fn may_have_long_hex(b: &[u8]) -> bool {
    if b.len() < 32 {
        return false;
    }
    let mut i = 15;
    while i + 16 < b.len() {
        if b[i].is_ascii_hexdigit() && b[i + 16].is_ascii_hexdigit() {
            // Measure the run through i.
            let mut s = i;
            while s > 0 && b[s - 1].is_ascii_hexdigit() {
                s -= 1;
            }
            let mut e = i;
            while e < b.len() && b[e].is_ascii_hexdigit() {
                e += 1;
            }
            if e - s >= 32 {
                return true;
            }
            i = e + 1;
            continue;
        }
        i += 16;
    }
    false
}

/// `c`, `v`, `e` in any case, in a row.
fn has_cve(b: &[u8]) -> bool {
    b.windows(3)
        .any(|w| w[0] | 0x20 == b'c' && w[1] | 0x20 == b'v' && w[2] | 0x20 == b'e')
}

fn has_dot_word(text: &str) -> bool {
    text.contains(" dot ") || text.contains(" DOT ") || text.contains(" Dot ")
}

impl Prefilter {
    pub(crate) fn new(text: &str) -> Self {
        let mut flags = 0u16;
        for &b in text.as_bytes() {
            flags |= CLASS[b as usize];
        }
        let b = text.as_bytes();
        Self {
            flags,
            long_hex: flags & HEX != 0 && may_have_long_hex(b),
            cve: flags & (VEE | DIGIT) == VEE | DIGIT && b.len() >= 12 && has_cve(b),
            fang_word: flags & EX != 0
                || (flags & (DEE | SPACE) == DEE | SPACE && has_dot_word(text)),
        }
    }

    pub(crate) fn anything(&self) -> bool {
        self.flags & (DOT | COLON | AT) != 0 || self.long_hex || self.cve || self.may_refang()
    }

    pub(crate) fn may_refang(&self) -> bool {
        self.flags & FANG != 0 || self.fang_word
    }
}

fn v6_char(c: u8) -> bool {
    c.is_ascii_hexdigit() || c == b':' || c == b'.'
}

/// Calls `emit` for each IPv6 address; pushes the spans of those written with an embedded IPv4
/// part to `spans` so the IPv4 scanner leaves them alone.
///
/// A candidate is a maximal run of hex digits, `:` and `.` with at least two colons and one hex
/// digit, not glued to letters, digits or `_` (a zone `%eth0` may follow and is dropped; trailing
/// dots and a single trailing colon are trimmed). `std` parses it; IPv4-mapped addresses are
/// reported as IPv4; the unspecified address (`::`, `0::0`) is not reported.
pub(crate) fn ipv6(
    text: &str,
    spans: &mut Vec<(usize, usize)>,
    mut emit: impl FnMut(ObservableType, &str),
) {
    let b = text.as_bytes();
    if !text.contains("::") && b.iter().filter(|&&c| c == b':').count() < 7 {
        return;
    }
    let mut from = 0usize;
    while let Some(p) = b[from..].iter().position(|&c| c == b':') {
        let colon = from + p;
        let mut s = colon;
        while s > 0 && v6_char(b[s - 1]) {
            s -= 1;
        }
        let mut e = colon;
        while e < b.len() && v6_char(b[e]) {
            e += 1;
        }
        from = e.max(colon + 1);
        if s > 0 && (b[s - 1].is_ascii_alphanumeric() || b[s - 1] == b'_') {
            continue;
        }
        let mut after = e;
        if after < b.len() && b[after] == b'%' {
            after += 1;
            while after < b.len()
                && (b[after].is_ascii_alphanumeric() || matches!(b[after], b'_' | b'-' | b'.'))
            {
                after += 1;
            }
        }
        if after < b.len() && (b[after].is_ascii_alphanumeric() || b[after] == b'_') {
            continue;
        }
        let mut cand = &text[s..e];
        while let Some(c) = cand.strip_suffix('.') {
            cand = c;
        }
        if cand.ends_with(':') && !cand.ends_with("::") {
            cand = &cand[..cand.len() - 1];
        }
        if cand.bytes().filter(|&c| c == b':').count() < 2
            || !cand.bytes().any(|c| c.is_ascii_hexdigit())
        {
            continue;
        }
        let Ok(a) = cand.parse::<Ipv6Addr>() else {
            continue;
        };
        if a.is_unspecified() {
            continue; // `::`, `::0`: separators and listeners on any address, not indicators
        }
        if cand.contains('.') {
            spans.push((s, s + cand.len()));
        }
        match a.to_ipv4_mapped() {
            Some(v4) => emit(ObservableType::Ipv4, &v4.to_string()),
            None => emit(ObservableType::Ipv6, &a.to_string()),
        }
    }
}

fn token_char_ascii(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_')
}

/// Start of the token ending at `i` (same alphabet as [`domain_run_end`] plus `_`).
fn token_start(text: &str, mut i: usize) -> usize {
    let b = text.as_bytes();
    while i > 0 {
        let c = b[i - 1];
        if token_char_ascii(c) {
            i -= 1;
        } else if c >= 0x80 {
            match text[..i].chars().next_back() {
                Some(ch) if ch.is_alphanumeric() => i -= ch.len_utf8(),
                _ => break,
            }
        } else {
            break;
        }
    }
    i
}

fn token_end(text: &str, mut i: usize) -> usize {
    let b = text.as_bytes();
    loop {
        i = domain_run_end(text, i);
        if i < b.len() && b[i] == b'_' {
            i += 1;
        } else {
            return i;
        }
    }
}

/// Calls `emit` for each IPv4 address and bare domain: maximal tokens of letters, digits, `-`,
/// `_`, `.` (and non-ASCII alphanumerics) holding a dot, trimmed of leading/trailing `.`, `-`, `_`.
///
/// * digits and dots only: an IPv4 address if [`ip::parse_ipv4`] accepts it (so `1.2.3.4.5` is
///   nothing); digits, dots and `-` (`10.0.0.1-10.0.0.9`) are split on `-`. Addresses inside an
///   IPv6 span are skipped, and so are product versions (`Chrome/124.0.0.0`: a letter, `/`, then
///   the token).
/// * anything else: a domain by [`domain::is_domain`] in text context, unless it directly follows
///   `@` (e-mail or user info), or follows a single `/` or `\` (a path component: `/usr/lib/libc.so`,
///   `C:\Temp\evil.com`); `//host` and a leading UNC `\\host` are hosts.
pub(crate) fn dotted(
    text: &str,
    v6_spans: &[(usize, usize)],
    mut emit: impl FnMut(ObservableType, &str),
) {
    let b = text.as_bytes();
    let mut from = 0usize;
    while let Some(p) = b[from..].iter().position(|&c| c == b'.') {
        let dot = from + p;
        let s0 = token_start(text, dot);
        let e0 = token_end(text, dot + 1);
        from = e0.max(dot + 1);
        let mut s = s0;
        let mut e = e0;
        while s < e && matches!(b[s], b'.' | b'-' | b'_') {
            s += 1;
        }
        while e > s && matches!(b[e - 1], b'.' | b'-' | b'_') {
            e -= 1;
        }
        let tok = &text[s..e];
        if !tok.contains('.') {
            continue;
        }
        if tok
            .bytes()
            .all(|c| c.is_ascii_digit() || c == b'.' || c == b'-')
        {
            if v6_spans.iter().any(|&(vs, ve)| vs <= s && s < ve) {
                continue;
            }
            // `Chrome/124.0.0.0`, `Edg/124.0.2478.80`: a product version, not an address.
            if s0 >= 2 && b[s0 - 1] == b'/' && b[s0 - 2].is_ascii_alphabetic() {
                continue;
            }
            for part in tok.split('-') {
                if let Some(a) = ip::parse_ipv4(part) {
                    // Written canonically (no leading zeros) unless an octet starts with `0` and has
                    // more digits; only then is the address formatted again.
                    let padded = part.split('.').any(|o| o.len() > 1 && o.starts_with('0'));
                    if padded {
                        emit(ObservableType::Ipv4, &a.to_string());
                    } else {
                        emit(ObservableType::Ipv4, part);
                    }
                }
            }
            continue;
        }
        // Quick reject before any allocation: a TLD is letters (or `xn--…`, or non-ASCII).
        let tld = &tok[tok.rfind('.').map_or(0, |i| i + 1)..];
        if tld.len() < 2
            || !(tld.bytes().all(|c| c.is_ascii_alphabetic() || c >= 0x80)
                || tld.starts_with("xn--"))
        {
            continue;
        }
        let before = if s0 > 0 { b[s0 - 1] } else { 0 };
        if before == b'@' {
            continue;
        }
        if before == b'/' && !(s0 >= 2 && b[s0 - 2] == b'/') {
            continue;
        }
        if before == b'\\' {
            let unc = s0 >= 2
                && b[s0 - 2] == b'\\'
                && (s0 == 2 || matches!(b[s0 - 3], b' ' | b'"' | b'\'' | b'\t' | b'='));
            if !unc {
                continue;
            }
        }
        let d = domain::canonical(tok);
        if domain::is_domain(&d, Context::Text) {
            emit(ObservableType::Domain, &d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Vec<(ObservableType, String)> {
        let mut v = Vec::new();
        dotted(s, &[], |k, x| v.push((k, x.to_owned())));
        v
    }
    fn six(s: &str) -> Vec<(ObservableType, String)> {
        let mut v = Vec::new();
        ipv6(s, &mut Vec::new(), |k, x| v.push((k, x.to_owned())));
        v
    }
    fn vals(v: Vec<(ObservableType, String)>) -> Vec<String> {
        v.into_iter().map(|x| x.1).collect()
    }

    #[test]
    fn prefilter_skips_plain_strings() {
        assert!(!Prefilter::new("Administrator").anything());
        assert!(!Prefilter::new("12345").anything());
        assert!(Prefilter::new("a.b").anything());
        assert!(Prefilter::new("evil dot com").anything());
        assert!(Prefilter::new("CVE-2021-44228").anything());
        assert!(Prefilter::new(&"a1".repeat(16)).anything());
    }

    #[test]
    fn ipv4_boundaries() {
        assert_eq!(vals(d("(1.2.3.4)")), ["1.2.3.4"]);
        assert_eq!(vals(d("src=1.2.3.4:443,")), ["1.2.3.4"]);
        assert_eq!(vals(d("host 10.0.0.1.")), ["10.0.0.1"]);
        assert_eq!(vals(d("10.0.0.0/8")), ["10.0.0.0"]);
        assert_eq!(vals(d("010.000.000.001")), ["10.0.0.1"]);
        assert_eq!(vals(d("range 10.0.0.1-10.0.0.9")), ["10.0.0.1", "10.0.0.9"]);
        assert!(d("1.2.3.4.5").is_empty());
        assert!(d("v10.0.19041.1").is_empty());
        assert!(d("version 10.0.19041.1").is_empty());
        assert!(d("999.1.1.1").is_empty());
        assert!(d("1.2.3.4a").is_empty());
        assert!(d("Mozilla/5.0 Chrome/124.0.0.0 Safari/537.36").is_empty());
        assert_eq!(vals(d("GET //10.0.0.1/x")), ["10.0.0.1"]);
    }

    #[test]
    fn domains_in_text() {
        assert_eq!(vals(d("visit Example.COM.")), ["example.com"]);
        assert_eq!(vals(d("\"evil.com\",")), ["evil.com"]);
        assert_eq!(vals(d("ping www.evil.zip now")), ["www.evil.zip"]);
        assert_eq!(vals(d("xn--80ak6aa92e.com")), ["xn--80ak6aa92e.com"]);
        assert_eq!(vals(d("«bücher.de»")), ["bücher.de"]);
        assert_eq!(
            vals(d("\\\\fileserver.example.com\\share")),
            ["fileserver.example.com"]
        );
        assert_eq!(vals(d("//cdn.example.net/x.js")), ["cdn.example.net"]);
        assert!(d("invoice.pdf svchost.exe cmd.exe report.docx archive.zip setup.py").is_empty());
        assert!(d("C:\\Windows\\Temp\\evil.com").is_empty());
        assert!(d("C:\\\\Users\\\\bob\\\\evil.com").is_empty());
        assert!(d("/usr/lib/x86_64-linux-gnu/libc.so.6").is_empty());
        assert!(d("user@example.com").is_empty());
        assert!(d("System.Net.WebClient").is_empty());
        assert!(d("dc01.corp.local").is_empty());
    }

    #[test]
    fn ipv6_forms() {
        assert_eq!(vals(six("from 2001:DB8:0:0:0:0:0:1 port")), ["2001:db8::1"]);
        assert_eq!(vals(six("[2001:db8::1]:443")), ["2001:db8::1"]);
        assert_eq!(vals(six("fe80::1%eth0 up")), ["fe80::1"]);
        assert_eq!(vals(six("::1")), ["::1"]);
        assert_eq!(
            six("::ffff:10.1.2.3"),
            [(ObservableType::Ipv4, "10.1.2.3".to_owned())]
        );
        assert_eq!(vals(six("64:ff9b::192.0.2.33")), ["64:ff9b::c000:221"]);
        assert_eq!(vals(six("addr fe80::1: down")), ["fe80::1"]);
        assert!(six("10:40:43.395").is_empty());
        assert!(six("00:1a:2b:3c:4d:5e").is_empty());
        assert!(six("std::vector a :: b").is_empty());
        assert!(six("T10:40::1").is_empty());
        assert!(six("::0 and 0:0::0").is_empty());
    }
}
