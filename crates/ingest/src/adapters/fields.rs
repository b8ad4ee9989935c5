//! Small readers over a JSON document that adapters share: path lookup (dotted paths that also match
//! flattened keys such as `"kibana.alert.rule.name"`), strings from strings or numbers, arrays.

use jiff::Timestamp;
use picket_core::{AttackRef, Entities, FileEntity};
use serde_json::Value;

use crate::error::AdapterError;

/// A borrowed view over a vendor document.
#[derive(Debug, Clone, Copy)]
pub struct Doc<'a>(pub &'a Value);

impl<'a> Doc<'a> {
    /// Looks up a dotted path. At each level the longest flattened key that matches wins, so
    /// `kibana.alert.rule.name` finds `{"kibana.alert.rule.name": ..}`, `{"kibana": {"alert": ..}}`
    /// and mixtures of both.
    pub fn get(&self, path: &str) -> Option<&'a Value> {
        lookup(self.0, path)
    }

    /// A non-empty trimmed string at `path`; numbers and booleans are rendered as text.
    pub fn str(&self, path: &str) -> Option<String> {
        self.get(path).and_then(as_text)
    }

    /// The first non-empty string among `paths`.
    pub fn first_str(&self, paths: &[&str]) -> Option<String> {
        paths.iter().find_map(|p| self.str(p))
    }

    pub fn u64(&self, path: &str) -> Option<u64> {
        match self.get(path)? {
            Value::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                    .map(|f| f as u64)
            }),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn f64(&self, path: &str) -> Option<f64> {
        match self.get(path)? {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Strings at `path`: an array's text items, or a single value as a one-item list.
    pub fn strs(&self, path: &str) -> Vec<String> {
        match self.get(path) {
            Some(Value::Array(items)) => items.iter().filter_map(as_text).collect(),
            Some(v) => as_text(v).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// The array at `path`, or empty.
    pub fn array(&self, path: &str) -> &'a [Value] {
        match self.get(path) {
            Some(Value::Array(a)) => a,
            _ => &[],
        }
    }

    /// The timestamp at the first of `paths` that is present. Present but unreadable is an error
    /// naming the field; absent everywhere is `Ok(None)`.
    pub fn time(&self, paths: &[&str]) -> Result<Option<Timestamp>, AdapterError> {
        for p in paths {
            if let Some(v) = self.get(p) {
                if v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()) {
                    continue;
                }
                return picket_core::time::parse_value(v)
                    .map(Some)
                    .map_err(|source| AdapterError::Time {
                        field: (*p).to_owned(),
                        source,
                    });
            }
        }
        Ok(None)
    }

    pub fn has(&self, path: &str) -> bool {
        self.get(path).is_some()
    }
}

/// Text of a scalar: trimmed non-empty strings, numbers and booleans as written.
pub fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_owned())
        }
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn lookup<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    if path.is_empty() {
        return Some(v);
    }
    let obj = v.as_object()?;
    // Nested first (the common shape), then ever longer flattened keys ("kibana.alert.rule.name").
    let mut from = 0;
    while let Some(dot) = path[from..].find('.').map(|d| from + d) {
        if let Some(found) = obj
            .get(&path[..dot])
            .and_then(|inner| lookup(inner, &path[dot + 1..]))
        {
            return Some(found);
        }
        from = dot + 1;
    }
    obj.get(path)
}

// ---------------------------------------------------------------------------------------------
// Entity helpers shared by adapters (added with the Suricata, GuardDuty, Security Hub and OCSF
// adapters). All of them ignore empty or implausible values instead of failing.

/// A port number at `path` (0–65535), if any.
pub(crate) fn port_at(d: &Doc<'_>, path: &str) -> Option<u16> {
    d.u64(path).and_then(|p| u16::try_from(p).ok())
}

/// The last segment of a `/` or `\` separated path, if not empty.
pub(crate) fn basename(path: &str) -> Option<String> {
    path.rsplit(['/', '\\'])
        .next()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A plausible DNS name, lowercased and without a trailing dot: at least two labels, no spaces or
/// slashes, not an IP address.
pub(crate) fn domain_name(s: &str) -> Option<String> {
    let d = s.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = d.len() <= 253
        && d.contains('.')
        && d.parse::<std::net::IpAddr>().is_err()
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    ok.then_some(d)
}

fn push_unique(list: &mut Vec<String>, value: String) {
    if !list.contains(&value) {
        list.push(value);
    }
}

/// Adds a domain when `s` is a plausible DNS name (see [`domain_name`]).
pub(crate) fn add_domain(e: &mut Entities, s: &str) {
    if let Some(d) = domain_name(s) {
        push_unique(&mut e.domains, d);
    }
}

/// Adds a URL (trimmed, kept as given) when it has a scheme.
pub(crate) fn add_url(e: &mut Entities, s: &str) {
    let u = s.trim();
    if u.contains("://") && !u.contains(char::is_whitespace) {
        push_unique(&mut e.urls, u.to_owned());
    }
}

/// Adds an e-mail address; SMTP angle brackets and a display name are dropped (`"A" <a@b.c>`).
pub(crate) fn add_email(e: &mut Entities, s: &str) {
    let s = s.trim();
    let addr = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    }
    .trim();
    if let Some((local, host)) = addr.split_once('@')
        && !local.is_empty()
        && host.contains('.')
        && !addr.contains(char::is_whitespace)
    {
        push_unique(&mut e.emails, addr.to_owned());
    }
}

/// Which hash a hex digest is, by its length: `md5`, `sha1` or `sha256`.
pub(crate) fn hash_kind(s: &str) -> Option<&'static str> {
    let s = s.trim();
    if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    match s.len() {
        32 => Some("md5"),
        40 => Some("sha1"),
        64 => Some("sha256"),
        _ => None,
    }
}

/// Adds a file unless an equal one is present: the name is taken from the path when missing, hashes
/// are lowercased, and a file with neither name, path nor hash is ignored.
pub(crate) fn add_file(e: &mut Entities, mut f: FileEntity) {
    let clean = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    f.path = clean(f.path);
    f.name = clean(f.name).or_else(|| f.path.as_deref().and_then(basename));
    f.md5 = clean(f.md5).map(|h| h.to_ascii_lowercase());
    f.sha1 = clean(f.sha1).map(|h| h.to_ascii_lowercase());
    f.sha256 = clean(f.sha256).map(|h| h.to_ascii_lowercase());
    if f == FileEntity::default() || e.files.contains(&f) {
        return;
    }
    e.files.push(f);
}

/// A file entity for one hash of unknown kind: placed by its length, ignored when not hex.
pub(crate) fn file_with_hash(
    name: Option<String>,
    path: Option<String>,
    hash: Option<&str>,
) -> FileEntity {
    let mut f = FileEntity {
        name,
        path,
        ..FileEntity::default()
    };
    if let Some(h) = hash {
        match hash_kind(h) {
            Some("md5") => f.md5 = Some(h.trim().to_owned()),
            Some("sha1") => f.sha1 = Some(h.trim().to_owned()),
            Some("sha256") => f.sha256 = Some(h.trim().to_owned()),
            _ => {}
        }
    }
    f
}

/// An ATT&CK technique id at the start of `s` (`T1059`, `t1059.001`, `T1526 - Cloud Service
/// Discovery`), uppercased; None when `s` does not start with one.
pub(crate) fn technique_id(s: &str) -> Option<String> {
    let token: String = s
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
        .collect();
    let t = token.to_ascii_uppercase();
    let rest = t.strip_prefix('T')?;
    let (main, sub) = match rest.split_once('.') {
        Some((m, s)) => (m, Some(s)),
        None => (rest, None),
    };
    let digits = |x: &str, n: usize| x.len() == n && x.bytes().all(|b| b.is_ascii_digit());
    (digits(main, 4) && sub.is_none_or(|s| digits(s, 3))).then_some(t)
}

/// A tactic reference: an ATT&CK tactic id (`TA0006`) as is, otherwise the tactic's short name
/// (`Credential Access`, `Command_And_Control` → `credential-access`, `command-and-control`).
pub(crate) fn tactic_ref(s: &str) -> Option<String> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    let up = t.to_ascii_uppercase();
    if let Some(num) = up.strip_prefix("TA")
        && num.len() == 4
        && num.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(up);
    }
    Some(super::wazuh::tactic_short_name(t))
}

/// Builds ATT&CK references from parallel lists of technique and tactic values: one technique and
/// one tactic are paired, anything else is listed apart. Values that are not technique ids are
/// dropped; duplicates are removed.
pub(crate) fn attack_refs<S: AsRef<str>>(techniques: &[S], tactics: &[S]) -> Vec<AttackRef> {
    let mut techs: Vec<String> = Vec::new();
    for t in techniques.iter().filter_map(|t| technique_id(t.as_ref())) {
        if !techs.contains(&t) {
            techs.push(t);
        }
    }
    let mut tacs: Vec<String> = Vec::new();
    for t in tactics.iter().filter_map(|t| tactic_ref(t.as_ref())) {
        if !tacs.contains(&t) {
            tacs.push(t);
        }
    }
    if techs.len() == 1 && tacs.len() == 1 {
        return vec![AttackRef {
            technique: techs.pop(),
            tactic: tacs.pop(),
        }];
    }
    let mut out: Vec<AttackRef> = techs
        .into_iter()
        .map(|t| AttackRef {
            technique: Some(t),
            tactic: None,
        })
        .collect();
    out.extend(tacs.into_iter().map(|t| AttackRef {
        technique: None,
        tactic: Some(t),
    }));
    out
}

/// Adds `r` to `list` unless an equal reference is there.
pub(crate) fn push_attack(list: &mut Vec<AttackRef>, r: AttackRef) {
    if (r.technique.is_some() || r.tactic.is_some()) && !list.contains(&r) {
        list.push(r);
    }
}

/// True for redaction placeholders such as `<finding_uid>` that some published samples carry in
/// place of real ids.
pub(crate) fn is_placeholder(s: &str) -> bool {
    let s = s.trim();
    s.len() > 2
        && s.starts_with('<')
        && s.ends_with('>')
        && s[1..s.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_nested_flattened_and_mixed_paths() {
        let v = json!({"kibana.alert.rule.name": "a", "host": {"name": "h"}, "kibana.alert": {"severity": "high"}, "n": 5});
        let d = Doc(&v);
        assert_eq!(d.str("kibana.alert.rule.name").as_deref(), Some("a"));
        assert_eq!(d.str("host.name").as_deref(), Some("h"));
        assert_eq!(d.str("kibana.alert.severity").as_deref(), Some("high"));
        assert_eq!(d.str("n").as_deref(), Some("5"));
        assert_eq!(d.str("missing.path"), None);
    }

    #[test]
    fn time_errors_name_the_field() {
        let v = json!({"ts": "not a time", "empty": ""});
        let d = Doc(&v);
        assert!(d.time(&["empty"]).unwrap().is_none());
        let e = d.time(&["ts"]).unwrap_err();
        assert!(e.to_string().contains("`ts`"));
    }
}

#[cfg(test)]
mod helper_tests {
    use super::*;

    #[test]
    fn technique_ids_and_tactics() {
        assert_eq!(technique_id("t1190").as_deref(), Some("T1190"));
        assert_eq!(
            technique_id("T1078.004 - Valid Accounts").as_deref(),
            Some("T1078.004")
        );
        assert_eq!(technique_id("T12"), None);
        assert_eq!(technique_id("Tactic"), None);
        assert_eq!(tactic_ref("ta0011").as_deref(), Some("TA0011"));
        assert_eq!(
            tactic_ref("Command_And_Control").as_deref(),
            Some("command-and-control")
        );
        let refs = attack_refs(&["T1071"], &["TA0011"]);
        assert_eq!(refs.len(), 1);
        assert_eq!(refs[0].tactic.as_deref(), Some("TA0011"));
        assert_eq!(attack_refs(&["T1", "T1071", "t1071"], &[]).len(), 1);
    }

    #[test]
    fn entity_helpers_skip_junk() {
        let mut e = Entities::default();
        add_domain(&mut e, "GeneratedFindingDomainName");
        add_domain(&mut e, "10.0.0.1");
        add_domain(&mut e, "Example.NET.");
        assert_eq!(e.domains, ["example.net"]);
        add_email(&mut e, "\"Bob\" <bob@example.org>");
        add_email(&mut e, "not an email");
        assert_eq!(e.emails, ["bob@example.org"]);
        add_url(&mut e, "/relative");
        assert!(e.urls.is_empty());
        add_file(
            &mut e,
            file_with_hash(
                None,
                Some("/tmp/x.bin".into()),
                Some("ABCDEF0123456789ABCDEF0123456789"),
            ),
        );
        assert_eq!(e.files[0].name.as_deref(), Some("x.bin"));
        assert_eq!(
            e.files[0].md5.as_deref(),
            Some("abcdef0123456789abcdef0123456789")
        );
        add_file(&mut e, FileEntity::default());
        assert_eq!(e.files.len(), 1);
        assert!(is_placeholder("<finding_uid>"));
        assert!(!is_placeholder("<a b>"));
    }
}
