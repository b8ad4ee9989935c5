//! Undoing "defanged" indicators before matching.
//!
//! Recognised forms (ASCII case-insensitive), following the conventions documented by
//! `iocextract`, `ioc-finder` and `ioc-fanger`:
//!
//! | defanged | becomes |
//! |---|---|
//! | `[.]` `(.)` `{.}` `<.>` `[dot]` `(dot)` `{dot}` `<dot>` `\.` (also with a space either side of the brackets) | `.` |
//! | ` dot ` between two letters/digits (`evil dot com`) | `.` |
//! | `[:]` `(:)` `{:}` | `:` |
//! | `[://]` `(://)` `{://}` | `://` |
//! | `[/]` `\/` | `/` |
//! | `[@]` `(@)` `{@}` `[at]` `(at)` `{at}` (also with a space either side) | `@` |
//! | `[-]` | `-` |
//! | `hxxp` `hXXp` `hxxps` `hxtp` | `http` / `https` |
//! | `fxp` before `:`, `[` or `s` (`fxp://`, `fxps://`) | `ftp` |
//!
//! ` dot ` is the only unbracketed word form, and only between two alphanumerics, so prose like
//! "the dot matrix" is left alone; plain ` at ` is never treated as `@`.

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

const DOTS: &[&str] = &[
    "[.]", "(.)", "{.}", "<.>", "[dot]", "(dot)", "{dot}", "<dot>",
];
const ATS: &[&str] = &["[@]", "(@)", "{@}", "[at]", "(at)", "{at}"];

#[derive(Debug, Clone, Copy)]
enum Repl {
    Lit(&'static str),
    /// ` dot `: only between two alphanumerics.
    DotWord,
    /// `fxp`: only before `:`, `[` or `s`.
    Fxp,
}

/// Bytes that can start a defanged form or the check for one: brackets, backslash, `x`, space.
static STARTS: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    let s = b"[({<\\xX ";
    while i < s.len() {
        t[s[i] as usize] = true;
        i += 1;
    }
    t
};

/// The defang patterns, compiled once.
#[derive(Debug)]
pub(crate) struct Refanger {
    ac: AhoCorasick,
    repl: Vec<Repl>,
}

impl Refanger {
    pub(crate) fn new() -> Self {
        let mut pats: Vec<String> = Vec::new();
        let mut repl = Vec::new();
        let mut add = |p: String, r: Repl| {
            pats.push(p);
            repl.push(r);
        };
        for d in DOTS {
            add((*d).to_owned(), Repl::Lit("."));
            add(format!(" {d} "), Repl::Lit("."));
            add(format!(" {d}"), Repl::Lit("."));
            add(format!("{d} "), Repl::Lit("."));
        }
        for a in ATS {
            add((*a).to_owned(), Repl::Lit("@"));
            add(format!(" {a} "), Repl::Lit("@"));
            add(format!(" {a}"), Repl::Lit("@"));
            add(format!("{a} "), Repl::Lit("@"));
        }
        for (p, r) in [
            ("\\.", "."),
            ("[:]", ":"),
            ("(:)", ":"),
            ("{:}", ":"),
            ("[://]", "://"),
            ("(://)", "://"),
            ("{://}", "://"),
            ("[/]", "/"),
            ("\\/", "/"),
            ("[-]", "-"),
            ("hxxp", "http"),
            ("hxtp", "http"),
        ] {
            add(p.to_owned(), Repl::Lit(r));
        }
        add(" dot ".to_owned(), Repl::DotWord);
        add("fxp".to_owned(), Repl::Fxp);
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&pats)
            .expect("static patterns compile");
        Self { ac, repl }
    }

    /// Cheap exact pre-check: whether any defanged form can be in `text` (brackets, backslash,
    /// `x` or ` dot ` followed by a form's tail).
    pub(crate) fn needed(text: &str) -> bool {
        let b = text.as_bytes();
        let at = |i: usize| b.get(i).map_or(0, u8::to_ascii_lowercase);
        let mut from = 0;
        // Jump from one byte that can start a form to the next (most bytes cannot).
        while let Some(p) = b[from..].iter().position(|&c| STARTS[c as usize]) {
            let i = from + p;
            from = i + 1;
            let c = b[i];
            let hit = match c {
                b'[' | b'(' | b'{' | b'<' => matches!(
                    at(i + 1),
                    b'.' | b':' | b'/' | b'@' | b'-' | b'd' | b'a' | b' '
                ),
                b'\\' => matches!(b.get(i + 1), Some(b'.' | b'/')),
                b'x' | b'X' => {
                    let p = i.checked_sub(1).map_or(0, |j| b[j].to_ascii_lowercase());
                    let n = at(i + 1);
                    (p == b'f' && n == b'p')
                        || (p == b'h' && (n == b'x' || n == b't'))
                        || (p == b'x' && n == b'p')
                }
                b' ' => {
                    at(i + 1) == b'd' && at(i + 2) == b'o' && at(i + 3) == b't' && at(i + 4) == b' '
                }
                _ => false,
            };
            if hit {
                return true;
            }
        }
        false
    }

    /// `text` with every defanged form restored; borrowed when there was nothing to undo.
    pub(crate) fn refang<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !Self::needed(text) {
            return Cow::Borrowed(text);
        }
        let b = text.as_bytes();
        let mut out: Option<String> = None;
        let mut last = 0usize;
        for m in self.ac.find_iter(text) {
            let rep = match self.repl[m.pattern().as_usize()] {
                Repl::Lit(r) => r,
                Repl::DotWord => {
                    let before = m.start().checked_sub(1).map(|i| b[i]);
                    let after = b.get(m.end()).copied();
                    if before.is_some_and(|c| c.is_ascii_alphanumeric())
                        && after.is_some_and(|c| c.is_ascii_alphanumeric())
                    {
                        "."
                    } else {
                        continue;
                    }
                }
                Repl::Fxp => {
                    let before = m.start().checked_sub(1).map(|i| b[i]);
                    let after = b.get(m.end()).copied();
                    if !before.is_some_and(|c| c.is_ascii_alphanumeric())
                        && matches!(after, Some(b':' | b'[' | b's' | b'S'))
                    {
                        "ftp"
                    } else {
                        continue;
                    }
                }
            };
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[last..m.start()]);
            o.push_str(rep);
            last = m.end();
        }
        match out {
            None => Cow::Borrowed(text),
            Some(mut o) => {
                o.push_str(&text[last..]);
                Cow::Owned(o)
            }
        }
    }
}

#[cfg(test)]
pub(crate) fn defang(s: &str) -> String {
    s.replace("http", "hxxp")
        .replace("://", "[://]")
        .replace('.', "[.]")
        .replace('@', "[@]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn common_forms() {
        let r = Refanger::new();
        for (i, o) in [
            ("hxxp://evil[.]com/a", "http://evil.com/a"),
            ("hXXps[://]evil(.)com", "https://evil.com"),
            ("1.2.3[.]4", "1.2.3.4"),
            ("127[.]0[.]0[.]1", "127.0.0.1"),
            ("evil{.}com", "evil.com"),
            ("evil[dot]com", "evil.com"),
            ("evil (dot) com", "evil.com"),
            ("evil dot com", "evil.com"),
            ("the dot  matrix", "the dot  matrix"),
            ("user[at]example[.]com", "user@example.com"),
            ("user (at) example.com", "user@example.com"),
            ("user[@]example.com", "user@example.com"),
            ("http[:]//a.com", "http://a.com"),
            ("http:\\/\\/a.com\\/x", "http://a.com/x"),
            ("evil\\.com", "evil.com"),
            ("fxp://files.evil.com", "ftp://files.evil.com"),
            ("fxps://x.com", "ftps://x.com"),
            ("effxp", "effxp"),
            ("service[-]ict.nl", "service-ict.nl"),
            ("nothing here", "nothing here"),
        ] {
            assert_eq!(r.refang(i), o, "{i}");
        }
        assert!(matches!(r.refang("plain text"), Cow::Borrowed(_)));
    }

    proptest! {
        #[test]
        fn refang_undoes_defang(x in "(https?://)?[a-wyz0-9]{1,10}(\\.[a-wyz0-9]{1,8}){1,3}(/[a-wyzA-WYZ0-9_]{0,8})?|[a-wyz0-9.+]{1,10}@[a-wyz0-9]{1,10}\\.[a-wyz]{2,5}") {
            let r = Refanger::new();
            prop_assert_eq!(r.refang(&defang(&x)).into_owned(), x);
        }
    }
}
