//! Domain names: shape checks, the public suffix list, and the file-extension rule.
//!
//! A name is a domain when
//! * it has at least two labels, each 1–63 characters, 253 in all, no label starting or ending
//!   with `-`, the last label not numeric;
//! * its registrable part and suffix are letters, digits and `-` (underscores are allowed only in
//!   the labels left of the registrable one, as in `_dmarc.example.com`);
//! * the public suffix list (the `psl` crate) knows its suffix and there is a label left of an ICANN
//!   suffix (`co.uk` alone is not a domain; a private suffix such as `github.io` is);
//! * **file-extension rule**: when the top-level label is one of [`FILE_EXT_TLDS`] (real TLDs that
//!   are also common file extensions: `report.zip`, `setup.py`, `run.sh`, `lib.rs`, `README.md`),
//!   a bare two-label name found in free text is taken for a file name, not a domain. The same name
//!   counts when it is a URL's host or an e-mail's domain, or when it has three or more labels
//!   (`www.example.zip`, `cdn.evil.sh`, `shop.com.pl`). Extensions that are not TLDs (`.exe`,
//!   `.pdf`, `.docx`) fail the suffix check anyway. `name` is in the list too: ECS-style field
//!   names (`host.name`, `user.name`) are far more common in alerts than `.name` domains.
//!
//! Canonical form: lowercase, no trailing dot. Punycode (`xn--`) labels are kept as they are;
//! Unicode names are lowercased and kept in Unicode (no IDNA conversion is done).

/// Real top-level domains that are more often file extensions (or field names) in alerts. See the
/// module docs.
pub const FILE_EXT_TLDS: &[&str] = &[
    "cab", "cat", "md", "mov", "name", "one", "pl", "pm", "ps", "pub", "py", "rs", "sh", "so",
    "tf", "ws", "zip",
];

/// Where a name was found, for the file-extension rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Context {
    /// Loose in text.
    Text,
    /// The host of a URL or the domain of an e-mail address.
    Anchored,
}

fn label_ok(l: &[u8], allow_underscore: bool) -> bool {
    if l.is_empty() || l.len() > 63 || l[0] == b'-' || l[l.len() - 1] == b'-' {
        return false;
    }
    l.iter().all(|&c| {
        c.is_ascii_alphanumeric() || c == b'-' || c >= 0x80 || (allow_underscore && c == b'_')
    })
}

/// Whether `name` (already lowercase, no trailing dot) is a domain, by the rules in the module docs.
pub(crate) fn is_domain(name: &str, ctx: Context) -> bool {
    let b = name.as_bytes();
    if b.len() < 3 || b.len() > 253 {
        return false;
    }
    let Some(dot) = b.iter().rposition(|&c| c == b'.') else {
        return false;
    };
    let tld = &b[dot + 1..];
    if tld.is_empty() || tld.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let Some(suffix) = psl::suffix(b) else {
        return false;
    };
    let Some(typ) = suffix.typ() else {
        return false;
    };
    let slen = suffix.as_bytes().len();
    if slen + 2 > b.len() {
        // The whole name is a suffix: fine only for a private one under a real TLD (`github.io`).
        if typ != psl::Type::Private || b.len() != slen {
            return false;
        }
        if psl::suffix(tld).is_none_or(|s| s.typ() != Some(psl::Type::Icann)) {
            return false;
        }
    }
    // Labels: suffix and registrable label strict, the rest may hold underscores.
    let head_end = b.len().saturating_sub(slen + 1);
    let registrable_start = if slen + 2 > b.len() {
        0
    } else {
        b[..head_end]
            .iter()
            .rposition(|&c| c == b'.')
            .map_or(0, |i| i + 1)
    };
    let mut labels = 0usize;
    let mut start = 0usize;
    for (i, &c) in b
        .iter()
        .enumerate()
        .chain(std::iter::once((b.len(), &b'.')))
    {
        if c == b'.' {
            if !label_ok(&b[start..i], start < registrable_start) {
                return false;
            }
            labels += 1;
            start = i + 1;
        }
    }
    !(ctx == Context::Text
        && labels == 2
        && std::str::from_utf8(tld).is_ok_and(|t| FILE_EXT_TLDS.contains(&t)))
}

/// Lowercases `s` (ASCII fast path) and strips one trailing dot.
pub(crate) fn canonical(s: &str) -> std::borrow::Cow<'_, str> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_ascii() {
        if s.bytes().any(|c| c.is_ascii_uppercase()) {
            s.to_ascii_lowercase().into()
        } else {
            s.into()
        }
    } else if s.chars().any(char::is_uppercase) {
        s.to_lowercase().into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> bool {
        is_domain(s, Context::Text)
    }

    #[test]
    fn public_suffix_list_decides() {
        for ok in [
            "example.com",
            "sub.example.co.uk",
            "a.b.c.example.org",
            "xn--80ak6aa92e.com",
            "github.io",
            "user.github.io",
            "_dmarc.example.com",
            "x.co",
        ] {
            assert!(text(ok), "{ok}");
        }
        for bad in [
            "invoice.pdf",
            "svchost.exe",
            "cmd.exe",
            "report.docx",
            "co.uk",
            "com",
            "host.local",
            "corp.internal",
            "a.123",
            "-a.com",
            "a-.com",
            "under_score.com",
            "a..com",
            "example.c_m",
        ] {
            assert!(!text(bad), "{bad}");
        }
    }

    #[test]
    fn file_extension_tlds_need_context_or_depth() {
        for f in [
            "report.zip",
            "setup.py",
            "install.sh",
            "lib.rs",
            "readme.md",
            "clip.mov",
            "script.pl",
            "id_rsa.pub",
            "libc.so",
        ] {
            assert!(!text(f), "{f}");
            if !f.contains('_') {
                assert!(is_domain(f, Context::Anchored), "{f}");
            }
        }
        assert!(text("www.example.zip"));
        assert!(text("cdn.evil.sh"));
        assert!(text("shop.com.pl"));
        assert!(text("evil.cc"));
        assert!(!text("host.name"));
        assert!(text("dns.question.name"));
    }

    #[test]
    fn canonical_lowercases() {
        assert_eq!(canonical("WWW.Example.COM."), "www.example.com");
        assert_eq!(canonical("BÜCHER.de"), "bücher.de");
        assert!(matches!(canonical("a.com"), std::borrow::Cow::Borrowed(_)));
    }
}
