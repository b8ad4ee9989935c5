//! E-mail addresses.
//!
//! `local@domain`: the local part is letters, digits and `.`, `_`, `%`, `+`, `-` (1–64 characters,
//! no leading, trailing or doubled dot; `+tags` are kept), the domain passes the domain rules with
//! file-extension TLDs allowed. An `@` inside a URL's authority (user info) is not an e-mail.
//! Canonical form: the local part as written, the domain lowercased.
//!
//! An address does **not** also yield its domain as a separate observable: mailbox providers
//! (`gmail.com`) would otherwise tie unrelated alerts together. The domain is in the value, and
//! warninglist checks look at it.

use picket_core::ObservableType;

use super::domain::{self, Context};

fn local_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}

/// Extent of a domain-name run starting at `i` (ASCII letters, digits, `-`, `.`, non-ASCII
/// alphanumerics).
pub(crate) fn domain_run_end(text: &str, mut i: usize) -> usize {
    let b = text.as_bytes();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_alphanumeric() || c == b'-' || c == b'.' {
            i += 1;
        } else if c >= 0x80 {
            match text[i..].chars().next() {
                Some(ch) if ch.is_alphanumeric() => i += ch.len_utf8(),
                _ => break,
            }
        } else {
            break;
        }
    }
    i
}

/// Calls `emit` for each address in `text`, skipping `@`s inside `url_spans`.
pub(crate) fn emails(
    text: &str,
    url_spans: &[(usize, usize)],
    mut emit: impl FnMut(ObservableType, &str),
) {
    let b = text.as_bytes();
    let mut from = 0usize;
    while let Some(p) = text[from..].find('@') {
        let at = from + p;
        from = at + 1;
        if url_spans.iter().any(|&(s, e)| s <= at && at < e) {
            continue;
        }
        let mut s = at;
        while s > 0 && at - s <= 64 && local_char(b[s - 1]) {
            s -= 1;
        }
        if at - s > 64 {
            continue; // local part too long: not an address
        }
        while s < at && b[s] == b'.' {
            s += 1;
        }
        let local = &text[s..at];
        if local.is_empty() || local.ends_with('.') || local.contains("..") {
            continue;
        }
        let mut e = domain_run_end(text, at + 1);
        while e > at + 1 && matches!(b[e - 1], b'.' | b'-') {
            e -= 1;
        }
        let dom = domain::canonical(&text[at + 1..e]);
        if !domain::is_domain(&dom, Context::Anchored) {
            continue;
        }
        emit(ObservableType::Email, &format!("{local}@{dom}"));
        from = e.max(from);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Vec<String> {
        let mut v = Vec::new();
        emails(s, &[], |_, x| v.push(x.to_owned()));
        v
    }

    #[test]
    fn addresses() {
        assert_eq!(
            m("From: <Bob.Smith+invoice@Mail.Example.COM>."),
            ["Bob.Smith+invoice@mail.example.com"]
        );
        assert_eq!(m("mailto:a_b-c@x.co.uk,"), ["a_b-c@x.co.uk"]);
        assert_eq!(m("bob@files.zip"), ["bob@files.zip"]);
        assert_eq!(m("..bob@example.com"), ["bob@example.com"]);
        assert!(m("bob@localhost").is_empty());
        assert!(m("@example.com").is_empty());
        assert!(m("bob@invoice.pdf").is_empty());
        assert!(m("a..b@example.com").is_empty());
        assert!(m(&format!("{}@example.com", "a".repeat(65))).is_empty());
        assert_eq!(m(&format!("{}@example.com", "a".repeat(64))).len(), 1);
        assert_eq!(m("x@bücher.de"), ["x@bücher.de"]);
    }
}
