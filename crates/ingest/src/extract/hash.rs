//! File hashes and CVE identifiers.
//!
//! A hash is a standalone run of exactly 32 (MD5), 40 (SHA-1), 64 (SHA-256) or 128 (SHA-512) hex
//! digits: the characters either side must not be letters, digits or `_`, so a run inside a longer
//! hex string, a word or an identifier (`0x…`) is not a hash. Runs of digits only, or of letters
//! only, are not hashes either (a real digest is all-digit or all-letter with probability below one
//! in a million; such runs are counters, padding or identifiers). Values are lowercased.
//!
//! A CVE id is `CVE`, a separator (`-`, `_`, en dash, or a space), a year `1999`–`2099`, a separator,
//! and 4 to 7 digits, not glued to surrounding letters or digits. The canonical form is
//! `CVE-YYYY-NNNN…` in upper case.

use picket_core::ObservableType;

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Calls `emit` for each hash in `text`.
pub(crate) fn hashes(text: &str, mut emit: impl FnMut(ObservableType, &str)) {
    let b = text.as_bytes();
    let mut i = 0usize;
    while i < b.len() {
        if !b[i].is_ascii_hexdigit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_hexdigit() {
            i += 1;
        }
        let kind = match i - start {
            32 => ObservableType::Md5,
            40 => ObservableType::Sha1,
            64 => ObservableType::Sha256,
            128 => ObservableType::Sha512,
            _ => continue,
        };
        if (start > 0 && is_word(b[start - 1])) || (i < b.len() && is_word(b[i])) {
            continue;
        }
        let run = &b[start..i];
        if run.iter().all(u8::is_ascii_digit) || !run.iter().any(u8::is_ascii_digit) {
            continue;
        }
        let s = &text[start..i];
        if run.iter().any(u8::is_ascii_uppercase) {
            emit(kind, &s.to_ascii_lowercase());
        } else {
            emit(kind, s);
        }
    }
}

/// Length of a CVE separator at `b[i..]`: `-`, `_`, space, or an en dash (3 bytes).
fn sep(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'-' | b'_' | b' ') => 1,
        Some(0xE2) if b.get(i + 1) == Some(&0x80) && b.get(i + 2) == Some(&0x93) => 3,
        _ => 0,
    }
}

/// Calls `emit` for each CVE id in `text`.
pub(crate) fn cves(text: &str, mut emit: impl FnMut(ObservableType, &str)) {
    let b = text.as_bytes();
    let mut i = 0usize;
    while i + 3 < b.len() {
        if !(b[i] | 0x20 == b'c' && b[i + 1] | 0x20 == b'v' && b[i + 2] | 0x20 == b'e') {
            i += 1;
            continue;
        }
        let start = i;
        i += 3;
        if start > 0 && b[start - 1].is_ascii_alphanumeric() {
            continue;
        }
        let s1 = sep(b, i);
        if s1 == 0 {
            continue;
        }
        let y = i + s1;
        if y + 4 > b.len() || !b[y..y + 4].iter().all(u8::is_ascii_digit) {
            continue;
        }
        if !(&b[y..y + 2] == b"19" && b[y + 2] == b'9' || &b[y..y + 2] == b"20") {
            continue;
        }
        let s2 = sep(b, y + 4);
        if s2 == 0 {
            continue;
        }
        let n = y + 4 + s2;
        let mut e = n;
        while e < b.len() && b[e].is_ascii_digit() {
            e += 1;
        }
        if !(4..=7).contains(&(e - n)) || (e < b.len() && b[e].is_ascii_alphanumeric()) {
            continue;
        }
        let v = format!("CVE-{}-{}", &text[y..y + 4], &text[n..e]);
        emit(ObservableType::Cve, &v);
        i = e;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Vec<(ObservableType, String)> {
        let mut v = Vec::new();
        hashes(s, |k, x| v.push((k, x.to_owned())));
        v
    }
    fn c(s: &str) -> Vec<String> {
        let mut v = Vec::new();
        cves(s, |_, x| v.push(x.to_owned()));
        v
    }

    #[test]
    fn hashes_are_standalone_runs_of_exact_length() {
        let md5 = "44d88612fea8a8f36de82e1278abb02f";
        assert_eq!(h(md5), [(ObservableType::Md5, md5.to_owned())]);
        assert_eq!(h(&format!("md5={}", md5.to_uppercase()))[0].1, md5);
        assert_eq!(
            h(&format!("sha256:{0}{0}", md5))[0].0,
            ObservableType::Sha256
        );
        assert_eq!(h(&"ab12".repeat(10))[0].0, ObservableType::Sha1);
        assert_eq!(h(&"ab12".repeat(32))[0].0, ObservableType::Sha512);
        assert!(h(&format!("{md5}a")).is_empty(), "inside a longer hex run");
        assert!(h(&format!("x{md5}")).is_empty(), "glued to a word");
        assert!(h(&format!("0x{md5}")).is_empty());
        assert!(h(&format!("{md5}_1")).is_empty());
        assert!(h(&"1".repeat(32)).is_empty(), "digits only");
        assert!(h(&"abcdef".repeat(6)[..32]).is_empty(), "letters only");
        assert_eq!(h(&format!("\"{md5}\",")).len(), 1);
    }

    #[test]
    fn cve_variants() {
        assert_eq!(c("see CVE-2021-44228."), ["CVE-2021-44228"]);
        assert_eq!(
            c("cve-2014-0160 and CVE_2017_0144"),
            ["CVE-2014-0160", "CVE-2017-0144"]
        );
        assert_eq!(c("CVE 2019 0708"), ["CVE-2019-0708"]);
        assert_eq!(c("CVE\u{2013}2020\u{2013}1472"), ["CVE-2020-1472"]);
        assert_eq!(c("(CVE-2023-1234567)"), ["CVE-2023-1234567"]);
        assert!(c("CVE-2021-123").is_empty());
        assert!(c("CVE-2021-12345678").is_empty());
        assert!(c("XCVE-2021-44228").is_empty());
        assert!(c("CVE-1899-1234").is_empty());
        assert!(c("CVE-2021-44228a").is_empty());
    }
}
