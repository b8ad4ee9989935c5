//! URLs: `scheme://authority/rest` with a known scheme and a real host.
//!
//! Schemes: `http`, `https`, `ftp`, `ftps`, `sftp`, `ws`, `wss` (after refanging `hxxp` and
//! friends). A URL runs to the first whitespace, control character, quote, `<`, `>`, `` ` ``,
//! `{`, `}`, `|`, `\` or `^`, at most 4 KiB; trailing `.,;:!?` and unbalanced `)`/`]` are dropped.
//! The host must be a domain (by the domain rules, file-extension TLDs allowed), an IPv4 address,
//! or a bracketed IPv6 address, else the URL is ignored (`http://localhost/`, `http://%s/`).
//! Canonical form: scheme and host lowercased (IPs in canonical form), user info, port, path,
//! query and fragment kept byte for byte. The host is reported too, as a domain or IP observable.

use std::net::Ipv6Addr;

use picket_core::ObservableType;

use super::domain::{self, Context};
use super::ip;

const SCHEMES: &[&str] = &["http", "https", "ftp", "ftps", "sftp", "ws", "wss"];
const MAX_URL: usize = 4096;

fn ends_url(c: u8) -> bool {
    c <= b' '
        || matches!(
            c,
            b'"' | b'\'' | b'<' | b'>' | b'`' | b'{' | b'}' | b'|' | b'\\' | b'^' | 0x7f
        )
}

/// A URL's host in canonical form, with its observable type.
pub(crate) fn host_observable(host: &str) -> Option<(ObservableType, String)> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner.strip_suffix(']')?;
        let inner = inner.split('%').next().unwrap_or(inner);
        let a: Ipv6Addr = inner.parse().ok()?;
        return Some(match a.to_ipv4_mapped() {
            Some(v4) => (ObservableType::Ipv4, v4.to_string()),
            None => (ObservableType::Ipv6, a.to_string()),
        });
    }
    if host.bytes().all(|c| c.is_ascii_digit() || c == b'.') {
        let h = host.strip_suffix('.').unwrap_or(host);
        return ip::parse_ipv4(h).map(|a| (ObservableType::Ipv4, a.to_string()));
    }
    let d = domain::canonical(host);
    domain::is_domain(&d, Context::Anchored).then(|| (ObservableType::Domain, d.into_owned()))
}

/// Calls `emit` for each URL in `text` and its host; pushes each URL's authority span to `spans`.
pub(crate) fn urls(
    text: &str,
    spans: &mut Vec<(usize, usize)>,
    mut emit: impl FnMut(ObservableType, &str),
) {
    let b = text.as_bytes();
    let mut from = 0usize;
    while let Some(p) = text[from..].find("://") {
        let sep = from + p;
        from = sep + 3;
        let mut s = sep;
        while s > 0 && b[s - 1].is_ascii_alphabetic() && sep - s < 5 {
            s -= 1;
        }
        if s > 0 && b[s - 1].is_ascii_alphanumeric() {
            continue;
        }
        let scheme = &text[s..sep];
        let Some(scheme_lc) = SCHEMES.iter().find(|k| k.eq_ignore_ascii_case(scheme)) else {
            continue;
        };
        let body = sep + 3;
        let mut e = body;
        while e < b.len() && e - s < MAX_URL && !ends_url(b[e]) {
            e += 1;
        }
        // Stay on a char boundary.
        while !text.is_char_boundary(e) {
            e -= 1;
        }
        // Trailing punctuation and unbalanced closers.
        while let Some(&last) = b[body..e].last() {
            let drop = match last {
                b'.' | b',' | b';' | b':' | b'!' | b'?' => true,
                b')' => count(&b[s..e], b'(') < count(&b[s..e], b')'),
                b']' => count(&b[s..e], b'[') < count(&b[s..e], b']'),
                _ => false,
            };
            if !drop {
                break;
            }
            e -= 1;
        }
        let rest = &text[body..e];
        let auth_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..auth_len];
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => (&authority[..=at], &authority[at + 1..]),
            None => ("", authority),
        };
        let (host, port) = if hostport.starts_with('[') {
            match hostport.find(']') {
                Some(c) => hostport.split_at(c + 1),
                None => continue,
            }
        } else {
            match hostport.find(':') {
                Some(c) => hostport.split_at(c),
                None => (hostport, ""),
            }
        };
        if !(port.is_empty()
            || port.starts_with(':') && port[1..].bytes().all(|c| c.is_ascii_digit()))
        {
            continue;
        }
        let Some((hkind, hval)) = host_observable(host) else {
            continue;
        };
        spans.push((body, body + auth_len));
        let host_out = if hkind == ObservableType::Ipv6 {
            format!("[{hval}]")
        } else {
            hval.clone()
        };
        let url = format!(
            "{scheme_lc}://{userinfo}{host_out}{port}{}",
            &rest[auth_len..]
        );
        emit(ObservableType::Url, &url);
        emit(hkind, &hval);
        from = e.max(from);
    }
}

fn count(b: &[u8], c: u8) -> usize {
    b.iter().filter(|&&x| x == c).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Vec<(ObservableType, String)> {
        let mut v = Vec::new();
        urls(s, &mut Vec::new(), |k, x| v.push((k, x.to_owned())));
        v
    }

    #[test]
    fn urls_and_their_hosts() {
        assert_eq!(
            u("get HTTP://Evil.COM/Path/A.php?x=Y. next"),
            [
                (
                    ObservableType::Url,
                    "http://evil.com/Path/A.php?x=Y".to_owned()
                ),
                (ObservableType::Domain, "evil.com".to_owned())
            ]
        );
        assert_eq!(
            u("(see https://a.example.org/x)")[0].1,
            "https://a.example.org/x"
        );
        assert_eq!(
            u("https://en.wikipedia.org/wiki/Foo_(bar)")[0].1,
            "https://en.wikipedia.org/wiki/Foo_(bar)"
        );
        assert_eq!(
            u("\"http://1.2.3.4:8080/a\",")[0].1,
            "http://1.2.3.4:8080/a"
        );
        assert_eq!(
            u("http://1.2.3.4:8080/a")[1],
            (ObservableType::Ipv4, "1.2.3.4".to_owned())
        );
        assert_eq!(
            u("http://[2001:DB8::1]:443/")[0].1,
            "http://[2001:db8::1]:443/"
        );
        assert_eq!(u("http://[2001:DB8::1]:443/")[1].1, "2001:db8::1");
        assert_eq!(
            u("ftp://user:pw@files.example.zip/a")[0].1,
            "ftp://user:pw@files.example.zip/a"
        );
        assert_eq!(u("http://example.zip")[1].1, "example.zip");
        assert!(u("http://localhost/x").is_empty());
        assert!(u("http://%s/x").is_empty());
        assert!(u("xhttp://evil.com").is_empty());
        assert!(u("javascript://evil.com").is_empty());
        assert!(u("http://evil.com:abc/").is_empty());
    }
}
