//! The SIEM registry: one row per kind, one file per vendor.

use std::sync::Arc;

use picket_enrich::{Http, Observer, Secret};

use crate::config::SiemConfig;
use crate::siem::{Siem, SiemError};

mod elastic;
mod sentinel;
mod splunk;

/// Builds a vendor connector from a checked config.
pub type BuildFn = fn(&SiemConfig, Context) -> Result<Arc<dyn Siem>, SiemError>;

/// What every connector gets to build with.
#[derive(Clone)]
pub struct Context {
    /// Receives one event per HTTP request (telemetry and the audit trail); never sees a secret.
    pub observer: Arc<dyn Observer>,
}

/// One row of the registry.
pub struct Kind {
    /// The `kind = "..."` value in `[[siem]]`.
    pub name: &'static str,
    pub description: &'static str,
    /// The query language the `query` is written in.
    pub language: &'static str,
    /// The vendor's search API reference.
    pub docs: &'static str,
    /// Used when `base_url` is not configured; `None` when it is required.
    pub default_base_url: Option<&'static str>,
    /// The kind-specific `[[siem]]` keys this kind reads; setting another is a config error.
    pub keys: &'static [&'static str],
    /// Kind-specific checks (pure, no I/O): `(key, message)` pairs.
    pub check: fn(&SiemConfig) -> Vec<(String, String)>,
    pub build: BuildFn,
}

/// Every SIEM kind. Adding one: a file here and a row in this table.
pub static KINDS: &[&Kind] = &[
    &elastic::ELASTICSEARCH,
    &elastic::OPENSEARCH,
    &splunk::KIND,
    &sentinel::KIND,
];

pub fn find(name: &str) -> Option<&'static Kind> {
    KINDS.iter().copied().find(|k| k.name == name)
}

pub fn names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name).collect()
}

/// How a request is authenticated; the secret itself is the HTTP client's.
#[derive(Debug, Clone)]
pub(crate) enum Auth {
    /// `Authorization: <scheme> <secret>`.
    Scheme(String),
    /// `Authorization: Basic base64(<user>:<secret>)`.
    Basic(String),
}

impl Auth {
    pub(crate) fn apply(
        &self,
        rb: reqwest::RequestBuilder,
        secret: &Secret,
    ) -> reqwest::RequestBuilder {
        match self {
            Self::Scheme(s) => rb.header(
                reqwest::header::AUTHORIZATION,
                format!("{s} {}", secret.expose()),
            ),
            Self::Basic(user) => rb.basic_auth(user, Some(secret.expose())),
        }
    }
}

/// The HTTP client for an entry authenticated by an API key (sent with `scheme`) or Basic
/// credentials, whichever is configured.
pub(crate) fn keyed_client(
    c: &SiemConfig,
    default_base: Option<&str>,
    scheme: &str,
    ctx: &Context,
) -> Result<(Http, Auth), SiemError> {
    let (secret, auth) = match (&c.username, c.api_key()?) {
        (Some(user), _) => (c.password()?, Auth::Basic(user.clone())),
        (None, key) => (key, Auth::Scheme(scheme.to_owned())),
    };
    let secret =
        secret.ok_or_else(|| SiemError::Config(format!("SIEM `{}` has no credentials", c.name)))?;
    let http = Http::new(
        &c.name,
        c.base_url.as_deref().or(default_base),
        Some(secret),
        c.retry_policy(),
        ctx.observer.clone(),
    )?;
    Ok((http, auth))
}

/// Checks the credentials of a kind authenticated by an API key or Basic credentials: exactly one
/// of them, complete, and `auth_scheme` one of `schemes` (for the API key).
pub(crate) fn check_key_or_basic(c: &SiemConfig, schemes: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let basic = c.username.is_some() || c.has_password();
    if c.has_api_key() && basic {
        out.push((
            "api_key_env".into(),
            "give an API key or username + password, not both".into(),
        ));
    } else if !c.has_api_key() && !basic {
        out.push((
            "api_key_env".into(),
            format!(
                "kind `{}` needs credentials: api_key_env or api_key_file, or username with \
                 password_env or password_file",
                c.kind
            ),
        ));
    }
    if c.username.is_some() && !c.has_password() {
        out.push((
            "password_env".into(),
            "username needs password_env or password_file".into(),
        ));
    }
    if c.username.is_none() && c.has_password() {
        out.push(("username".into(), "a password needs a username".into()));
    }
    if let Some(s) = &c.auth_scheme {
        if !schemes.contains(&s.as_str()) {
            out.push((
                "auth_scheme".into(),
                format!(
                    "`{s}` is not one of {} for kind `{}`",
                    schemes.join(", "),
                    c.kind
                ),
            ));
        } else if !c.has_api_key() {
            out.push((
                "auth_scheme".into(),
                "only applies to an API key (api_key_env or api_key_file)".into(),
            ));
        }
    }
    out
}

/// RFC 3339 in UTC with milliseconds: what Elasticsearch's default date format
/// (`strict_date_optional_time`) and Log Analytics' ISO 8601 `timespan` both parse.
pub(crate) fn rfc3339_millis(t: jiff::Timestamp) -> String {
    format!("{t:.3}")
}

/// Longest vendor message kept in an error.
const MESSAGE_MAX: usize = 500;

/// `s` cut to [`MESSAGE_MAX`] characters, on one line.
pub(crate) fn clip(s: &str) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    let mut out: String = one_line.chars().take(MESSAGE_MAX).collect();
    if one_line.chars().count() > MESSAGE_MAX {
        out.push('…');
    }
    out
}

/// The string value of the first `"key": "…"` in `text`, which may be JSON cut short (error
/// snippets are cut at 200 characters): the value is read up to its closing quote or the end.
pub(crate) fn string_field(text: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let mut from = 0;
    while let Some(at) = text[from..].find(&needle) {
        let rest = text[from + at + needle.len()..].trim_start();
        from += at + needle.len();
        let Some(rest) = rest.strip_prefix(':') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('"') else {
            continue;
        };
        let mut out = String::new();
        let mut chars = rest.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => return Some(out),
                '\\' => match chars.next() {
                    Some('n') | Some('r') | Some('t') => out.push(' '),
                    Some('u') => {
                        let hex: String = chars.by_ref().take(4).collect();
                        if let Some(ch) =
                            u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32)
                        {
                            out.push(ch);
                        }
                    }
                    Some(other) => out.push(other),
                    None => break,
                },
                c => out.push(c),
            }
        }
        // Cut short: what was read is still the vendor's explanation.
        return (!out.is_empty()).then(|| format!("{out}…"));
    }
    None
}

/// `e` with the vendor's own message in place of the raw body snippet [`Http`] put in it (for the
/// statuses Http turns into errors itself: 401, 403, 5xx).
pub(crate) fn explain(e: SiemError, message: impl Fn(&str) -> Option<String>) -> SiemError {
    let m = |raw: String| message(&raw).unwrap_or(raw);
    match e {
        SiemError::Unauthorized { status, message } => SiemError::Unauthorized {
            status,
            message: m(message),
        },
        SiemError::Server { status, message } => SiemError::Server {
            status,
            message: m(message),
        },
        SiemError::BadQuery(message) => SiemError::BadQuery(m(message)),
        SiemError::NotFound(message) => SiemError::NotFound(m(message)),
        other => other,
    }
}

/// The error for a status the vendor's reply carried, with its message.
pub(crate) fn status_error(status: u16, message: String) -> SiemError {
    match status {
        400 | 422 => SiemError::BadQuery(message),
        401 | 403 => SiemError::Unauthorized { status, message },
        404 => SiemError::NotFound(message),
        429 => SiemError::RateLimited(None),
        _ => SiemError::Server { status, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_field_reads_cut_json() {
        let t = r#"{"error":{"root_cause":[{"type":"security_exception","reason":"unable to \"auth\" \u00e9"#;
        assert_eq!(string_field(t, "type").unwrap(), "security_exception");
        assert_eq!(string_field(t, "reason").unwrap(), "unable to \"auth\" é…");
        assert_eq!(
            string_field(r#"{"text" : "x", "text":"y"}"#, "text").unwrap(),
            "x"
        );
        assert_eq!(
            string_field(r#"{"text":1,"text":"y"}"#, "text").unwrap(),
            "y"
        );
        assert_eq!(string_field("nothing", "text"), None);
    }

    #[test]
    fn times_are_rfc3339_utc_with_milliseconds() {
        let t: jiff::Timestamp = "2024-05-01T10:15:00.123456789Z".parse().unwrap();
        assert_eq!(rfc3339_millis(t), "2024-05-01T10:15:00.123Z");
        let t: jiff::Timestamp = "2024-05-01T00:00:00Z".parse().unwrap();
        assert_eq!(rfc3339_millis(t), "2024-05-01T00:00:00.000Z");
    }

    #[test]
    fn every_kind_has_a_unique_name() {
        let mut n = names();
        n.sort_unstable();
        n.dedup();
        assert_eq!(n.len(), KINDS.len());
    }
}
