//! Small readers over a JSON document that adapters share: path lookup (dotted paths that also match
//! flattened keys such as `"kibana.alert.rule.name"`), strings from strings or numbers, arrays.

use crate::json::Json;
use jiff::Timestamp;
use picket_core::{AttackRef, Entities, FileEntity};

use crate::error::AdapterError;

/// A borrowed view over a vendor document.
#[derive(Debug, Clone, Copy)]
pub struct Doc<'a>(pub &'a Json<'a>);

impl<'a> Doc<'a> {
    /// Looks up a dotted path. At each level the longest flattened key that matches wins, so
    /// `kibana.alert.rule.name` finds `{"kibana.alert.rule.name": ..}`, `{"kibana": {"alert": ..}}`
    /// and mixtures of both.
    pub fn get(&self, path: &str) -> Option<&'a Json<'a>> {
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
            Json::Number(n) => n.as_u64().or_else(|| {
                n.as_f64()
                    .filter(|f| *f >= 0.0 && f.fract() == 0.0)
                    .map(|f| f as u64)
            }),
            Json::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    pub fn f64(&self, path: &str) -> Option<f64> {
        match self.get(path)? {
            Json::Number(n) => n.as_f64(),
            Json::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Strings at `path`: an array's text items, or a single value as a one-item list.
    pub fn strs(&self, path: &str) -> Vec<String> {
        match self.get(path) {
            Some(Json::Array(items)) => items.iter().filter_map(as_text).collect(),
            Some(v) => as_text(v).into_iter().collect(),
            None => Vec::new(),
        }
    }

    /// The array at `path`, or empty.
    pub fn array(&self, path: &str) -> &'a [Json<'a>] {
        match self.get(path) {
            Some(Json::Array(a)) => a,
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
                let parsed = match v {
                    Json::String(s) => picket_core::time::parse_str(s),
                    other => picket_core::time::parse_value(&other.to_value()),
                };
                return parsed.map(Some).map_err(|source| AdapterError::Time {
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
pub fn as_text(v: &Json) -> Option<String> {
    match v {
        Json::String(s) => {
            let t = s.trim();
            (!t.is_empty()).then(|| t.to_owned())
        }
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn lookup<'a>(v: &'a Json<'a>, path: &str) -> Option<&'a Json<'a>> {
    if path.is_empty() {
        return Some(v);
    }
    let obj = v.as_object()?;
    if !obj.has_dotted_keys() {
        // No flattened keys here: only the nested reading can match.
        return match path.bytes().position(|b| b == b'.') {
            Some(dot) => obj
                .get(&path[..dot])
                .and_then(|inner| lookup(inner, &path[dot + 1..])),
            None => obj.get(path),
        };
    }
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
            name: None,
            technique: techs.pop(),
            tactic: tacs.pop(),
        }];
    }
    let mut out: Vec<AttackRef> = techs
        .into_iter()
        .map(|t| AttackRef {
            name: None,
            technique: Some(t),
            tactic: None,
        })
        .collect();
    out.extend(tacs.into_iter().map(|t| AttackRef {
        name: None,
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
        let v = Json::from(v);
        let d = Doc(&v);
        assert_eq!(d.str("kibana.alert.rule.name").as_deref(), Some("a"));
        assert_eq!(d.str("host.name").as_deref(), Some("h"));
        assert_eq!(d.str("kibana.alert.severity").as_deref(), Some("high"));
        assert_eq!(d.str("n").as_deref(), Some("5"));
        assert_eq!(d.str("missing.path"), None);
    }

    #[test]
    fn time_errors_name_the_field() {
        let v = Json::from(json!({"ts": "not a time", "empty": ""}));
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

// ---------------------------------------------------------------------------------------------
// Helpers added with the Splunk, Elastic, Sentinel, Defender and CrowdStrike adapters.

/// A tactic the vendor names, checked against ATT&CK: an id (`TA0006`, any case) is returned
/// uppercased, a name in any common spelling (`Credential Access`, `CredentialAccess`,
/// `credential_access`, `credential-access`) as the tactic's short name. Anything else (vendor
/// categories such as `Malware` or `Machine Learning`, CrowdStrike's `CSTA…` ids) is None.
pub(crate) fn attack_tactic(s: &str) -> Option<String> {
    let t = s.trim();
    let up = t.to_ascii_uppercase();
    if let Some(num) = up.strip_prefix("TA")
        && num.len() == 4
        && num.bytes().all(|b| b.is_ascii_digit())
    {
        return Some(up);
    }
    let squashed: String = t
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    picket_core::attack::TACTICS
        .iter()
        .find(|(_, short, _)| short.replace('-', "") == squashed)
        .map(|(_, short, _)| (*short).to_owned())
}

/// A hex digest of the given kind (`md5`, `sha1`, `sha256`), lowercased; None for anything else,
/// including all-zero placeholders that some products write when they have no hash.
pub(crate) fn hex_hash(s: &str, kind: &str) -> Option<String> {
    let s = s.trim();
    (hash_kind(s) == Some(kind) && s.bytes().any(|b| b != b'0')).then(|| s.to_ascii_lowercase())
}

/// A file's full path from a folder and a file name; the folder alone when it already ends with
/// the name. Uses the folder's own separator.
pub(crate) fn join_path(folder: Option<&str>, name: Option<&str>) -> Option<String> {
    let folder = folder.map(str::trim).filter(|s| !s.is_empty());
    let name = name.map(str::trim).filter(|s| !s.is_empty());
    match (folder, name) {
        (Some(f), Some(n)) => {
            let sep = if f.contains('\\') { '\\' } else { '/' };
            if f.ends_with(n) && f[..f.len() - n.len()].ends_with(['\\', '/']) {
                Some(f.to_owned())
            } else if f.ends_with(['\\', '/']) {
                Some(format!("{f}{n}"))
            } else {
                Some(format!("{f}{sep}{n}"))
            }
        }
        (Some(f), None) => Some(f.to_owned()),
        _ => None,
    }
}

/// Every ATT&CK technique id inside free text (`Valid Accounts (T1078)`, `T1059.001, T1105`),
/// uppercased, in order, without duplicates.
pub(crate) fn technique_ids_in(s: &str) -> Vec<String> {
    let b = s.as_bytes();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = (b[i] == b'T' || b[i] == b't')
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b.len() >= i + 5
            && b[i + 1..i + 5].iter().all(u8::is_ascii_digit);
        if !starts {
            i += 1;
            continue;
        }
        let mut end = i + 5;
        if b.len() >= end + 4
            && b[end] == b'.'
            && b[end + 1..end + 4].iter().all(u8::is_ascii_digit)
        {
            end += 4;
        }
        if b.get(end).is_none_or(|c| !c.is_ascii_alphanumeric()) {
            // ASCII bytes only between i and end, so the slice is on char boundaries.
            if let Some(t) = technique_id(&s[i..end])
                && !out.contains(&t)
            {
                out.push(t);
            }
        }
        i = end;
    }
    out
}

/// Adds a user written as `DOMAIN\name` when a domain is known, else the bare name.
pub(crate) fn add_user_in(e: &mut Entities, domain: Option<&str>, name: Option<&str>) {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return;
    };
    match domain.map(str::trim).filter(|d| !d.is_empty() && *d != "-") {
        Some(d) if !name.contains('\\') && !name.contains('@') => {
            e.add_user(&format!("{d}\\{name}"))
        }
        _ => e.add_user(name),
    }
}

/// A JSON value that some vendors ship as a string holding JSON (Log Analytics `dynamic`
/// columns, Defender's `AttackTechniques`): parsed when it is such a string, else borrowed.
pub(crate) fn json_in_string<'b>(v: &'b Json<'_>) -> std::borrow::Cow<'b, Json<'b>> {
    match v {
        Json::String(s) if s.trim_start().starts_with(['[', '{']) => match Json::parse(s) {
            Ok(parsed) => std::borrow::Cow::Owned(parsed),
            Err(_) => std::borrow::Cow::Borrowed(v),
        },
        _ => std::borrow::Cow::Borrowed(v),
    }
}

#[cfg(test)]
mod vendor_helper_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tactics_are_checked_against_attack() {
        assert_eq!(
            attack_tactic("InitialAccess").as_deref(),
            Some("initial-access")
        );
        assert_eq!(
            attack_tactic("Command and Control").as_deref(),
            Some("command-and-control")
        );
        assert_eq!(attack_tactic("ta0005").as_deref(), Some("TA0005"));
        assert_eq!(attack_tactic("Machine Learning"), None);
        assert_eq!(attack_tactic("CSTA0004"), None);
        assert_eq!(attack_tactic("abc"), None);
    }

    #[test]
    fn hashes_paths_and_technique_text() {
        assert_eq!(
            hex_hash("0000000000000000000000000000000000000000", "sha1"),
            None
        );
        assert_eq!(hex_hash("fake md5", "md5"), None);
        assert_eq!(
            hex_hash("B6D237154F2E528F0B503B58B025862D66B02B73", "sha1").as_deref(),
            Some("b6d237154f2e528f0b503b58b025862d66b02b73")
        );
        assert_eq!(
            join_path(Some("C:\\Windows\\System32"), Some("notepad.exe")).as_deref(),
            Some("C:\\Windows\\System32\\notepad.exe")
        );
        assert_eq!(
            join_path(Some("/usr/bin/curl"), Some("curl")).as_deref(),
            Some("/usr/bin/curl")
        );
        assert_eq!(
            technique_ids_in(
                "[\"Valid Accounts (T1078)\",\"Cloud Accounts (T1078.004)\", \"XT1234\"]"
            ),
            ["T1078", "T1078.004"]
        );
        assert!(technique_ids_in("T12 Tactic ÄT1").is_empty());
        let v = Json::from(json!("[\"a\"]"));
        assert_eq!(*json_in_string(&v), Json::from(json!(["a"])));
    }
}
