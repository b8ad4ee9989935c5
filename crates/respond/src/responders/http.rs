//! Templated HTTP responder, for firewalls and anything else with a REST API: each action is one
//! request whose path, body and header values are [MiniJinja](https://docs.rs/minijinja) templates.
//!
//! ```toml
//! # OPNsense: block / unblock an address through a host alias used in a block rule
//! # (https://docs.opnsense.org/development/api/core/firewall.html, AliasUtilController).
//! [[responders]]
//! name = "opnsense"
//! kind = "http"
//! base_url = "https://fw.example.net"
//! secret_file = "/etc/picket/opnsense.key"   # "<api key>:<api secret>"
//! options.auth = "basic"
//! options.alias = "picket_blocklist"
//!
//! [responders.options.actions.block_ip]
//! method = "POST"
//! path = "/api/firewall/alias_util/add/{{ options.alias }}"
//! body = '{"address": "{{ target }}"}'
//! expect = { status = "done" }
//! idempotent = true
//!
//! [responders.options.actions.unblock_ip]
//! method = "POST"
//! path = "/api/firewall/alias_util/delete/{{ options.alias }}"
//! body = '{"address": "{{ target }}"}'
//! expect = { status = "done" }
//! idempotent = true
//! ```
//!
//! OPNsense answers `{"status": "done"}`, and also HTTP 200 with `{"status": "not_an_address"}` or
//! `{"status": "failed"}`, hence `expect`.
//!
//! Options:
//! - `auth`: `bearer` (`Authorization: Bearer <secret>`, the default when a secret is set), `basic`
//!   (the secret is `user:password`), `header:<Name>` (the secret as that header's value) or `none`
//!   (the default without a secret).
//! - `actions`: a table, catalog action name → `{method, path, body?, headers?, success?,
//!   idempotent?, expect?}`. `method` is GET, POST, PUT, PATCH or DELETE; `path` is resolved against
//!   `base_url` and must stay on it; `headers` maps names to value templates; `success` lists the
//!   statuses that mean done (default: any 2xx; 401, 403, 429 and 5xx are always errors);
//!   `idempotent` (default false) says a repeat has no further effect: only then is the call retried
//!   and resumed after a crash; `expect` is a JSON object the response body must contain (top-level
//!   keys compared).
//! - any other key (`alias` above) is a value for the templates, as `options.<key>`; one that no
//!   template uses is reported, like a template that uses an option not set.
//!
//! Templates see `target`, `params`, `incident`, `action_id`, `action`, `summary` and `options`.
//! An undefined variable is an error (strict), never an empty string. Every template is compiled by
//! the config check, so a mistake is reported with its key (`options.actions.block_ip.body`).
//! Values printed in `path` are percent-encoded as URL path segment text (`/` included); write
//! `|urlencode` to make that explicit (it also turns a map into a query string), `|safe` to insert
//! a value as it is. Values printed in a JSON `body` (the default content type, `application/json`)
//! are escaped for a JSON string, so `"{{ target }}"` is always one string; non-string values print
//! as JSON, and `|tojson` works as usual. A JSON body that does not render to valid JSON is not
//! sent. With another `Content-Type` header the body is sent as rendered.
//!
//! Undo: when both actions of a reversible pair (`block_ip`/`unblock_ip`,
//! `disable_user`/`enable_user`, `suspend_user`/`unsuspend_user`, `isolate_host`/`release_host`)
//! are configured, each is the other's undo; configuring only one of a pair is a config error.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Output, State, UndefinedBehavior};
use picket_enrich::{ConnectorError, Http, Secret};
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

use super::{Context, Kind, http_client, partner, percent_encode, redact_error};
use crate::config::ResponderConfig;
use crate::responder::{ActionDef, ActionOutcome, ActionRequest, RespondError, Responder};

pub(super) static KIND: Kind = Kind {
    name: "http",
    description: "Templated HTTP request per action (firewalls and any REST API)",
    docs: "docs/response.md#http",
    default_base_url: None,
    needs_base_url: true,
    needs_secret: false,
    secret: "the API credential (bearer token, user:password, or a header value)",
    oauth: false,
    tenant: false,
    actions,
    check,
    build,
};

/// The catalog's actions.
const CATALOG: [&str; 15] = [
    "enrich_lookup",
    "notify",
    "create_case",
    "create_alert",
    "page_on_call",
    "block_ip",
    "unblock_ip",
    "disable_user",
    "enable_user",
    "suspend_user",
    "unsuspend_user",
    "isolate_host",
    "release_host",
    "revoke_sessions",
    "wipe_endpoint",
];

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const SPEC_KEYS: [&str; 7] = [
    "method",
    "path",
    "body",
    "headers",
    "success",
    "idempotent",
    "expect",
];
/// What templates see, plus MiniJinja's global functions.
const VARIABLES: [&str; 7] = [
    "target",
    "params",
    "incident",
    "action_id",
    "action",
    "summary",
    "options",
];
const GLOBALS: [&str; 3] = ["range", "dict", "namespace"];

/// Auto-escape modes of the custom formatter.
const URL: AutoEscape = AutoEscape::Custom("url");
const JSON: AutoEscape = AutoEscape::Custom("json");

#[derive(Debug, Clone, PartialEq)]
enum Auth {
    None,
    Bearer,
    Basic,
    Header(HeaderName),
}

/// One configured action.
#[derive(Debug, Clone)]
struct Spec {
    action: String,
    method: reqwest::Method,
    path: String,
    body: Option<String>,
    /// (name as written, parsed name, value template)
    headers: Vec<(String, HeaderName, String)>,
    /// Empty: any 2xx.
    success: Vec<u16>,
    idempotent: bool,
    expect: Option<Map<String, Value>>,
}

impl Spec {
    fn key(&self, part: &str) -> String {
        format!("options.actions.{}.{part}", self.action)
    }

    /// The body is JSON unless a `Content-Type` header says otherwise.
    fn json_body(&self) -> bool {
        self.headers
            .iter()
            .find(|(_, n, _)| n == reqwest::header::CONTENT_TYPE)
            .is_none_or(|(_, _, v)| v.to_ascii_lowercase().contains("json"))
    }

    /// Every template with its key and escaping.
    fn templates(&self) -> Vec<(String, &str, AutoEscape)> {
        let mut t = vec![(self.key("path"), self.path.as_str(), URL)];
        if let Some(b) = &self.body {
            let escape = if self.json_body() {
                JSON
            } else {
                AutoEscape::None
            };
            t.push((self.key("body"), b.as_str(), escape));
        }
        for (written, _, v) in &self.headers {
            t.push((
                self.key(&format!("headers.{written}")),
                v.as_str(),
                AutoEscape::None,
            ));
        }
        t
    }
}

/// The configuration, parsed; problems are keyed relative to the entry.
struct Parsed {
    auth: Auth,
    specs: Vec<Spec>,
    problems: Vec<(String, String)>,
}

fn has_secret(c: &ResponderConfig) -> bool {
    c.secret_env.is_some() || c.secret_file.is_some()
}

fn parse(c: &ResponderConfig) -> Parsed {
    let mut problems = Vec::new();
    let mut bad = |k: String, m: String| problems.push((k, m));
    let auth = match c.options.get("auth") {
        None if has_secret(c) => Auth::Bearer,
        None => Auth::None,
        Some(Value::String(s)) => match s.as_str() {
            "none" => Auth::None,
            "bearer" => Auth::Bearer,
            "basic" => Auth::Basic,
            h => match h
                .strip_prefix("header:")
                .map(|n| HeaderName::from_bytes(n.trim().as_bytes()))
            {
                Some(Ok(name)) => Auth::Header(name),
                Some(Err(_)) => {
                    bad(
                        "options.auth".into(),
                        format!("`{h}`: not a valid header name"),
                    );
                    Auth::None
                }
                None => {
                    bad(
                        "options.auth".into(),
                        "must be bearer, basic, header:<Name> or none".into(),
                    );
                    Auth::None
                }
            },
        },
        Some(_) => {
            bad(
                "options.auth".into(),
                "must be bearer, basic, header:<Name> or none".into(),
            );
            Auth::None
        }
    };
    if auth != Auth::None && !has_secret(c) {
        bad(
            "options.auth".into(),
            "needs a secret: set secret_env or secret_file".into(),
        );
    }
    let mut specs = Vec::new();
    match c.options.get("actions") {
        Some(Value::Object(map)) if !map.is_empty() => {
            for (name, v) in map {
                if let Some(s) = parse_spec(name, v, &mut bad) {
                    specs.push(s);
                }
            }
        }
        _ => bad(
            "options.actions".into(),
            "required: a table of action name -> {method, path, body?, headers?, success?, idempotent?, expect?}"
                .into(),
        ),
    }
    Parsed {
        auth,
        specs,
        problems,
    }
}

fn parse_spec(name: &str, v: &Value, bad: &mut impl FnMut(String, String)) -> Option<Spec> {
    let key = |part: &str| format!("options.actions.{name}.{part}");
    if !CATALOG.contains(&name) {
        bad(
            format!("options.actions.{name}"),
            format!(
                "not a catalog action (expected one of {})",
                CATALOG.join(", ")
            ),
        );
        return None;
    }
    let Some(obj) = v.as_object() else {
        bad(
            format!("options.actions.{name}"),
            "must be a table {method, path, body?, headers?, success?, idempotent?, expect?}"
                .into(),
        );
        return None;
    };
    let mut ok = true;
    for k in obj.keys() {
        if !SPEC_KEYS.contains(&k.as_str()) {
            bad(
                key(k),
                format!("unknown key (expected {})", SPEC_KEYS.join(", ")),
            );
            ok = false;
        }
    }
    let method = match obj.get("method").and_then(Value::as_str) {
        Some(m) if METHODS.contains(&m.to_ascii_uppercase().as_str()) => {
            reqwest::Method::from_bytes(m.to_ascii_uppercase().as_bytes()).ok()
        }
        _ => None,
    };
    if method.is_none() {
        bad(
            key("method"),
            format!("required, one of {}", METHODS.join(", ")),
        );
        ok = false;
    }
    let path = match obj.get("path").and_then(Value::as_str) {
        Some(p) if !p.trim().is_empty() => Some(p.to_owned()),
        _ => {
            bad(key("path"), "required: a path template".into());
            ok = false;
            None
        }
    };
    let body = match obj.get("body") {
        None => None,
        Some(Value::String(b)) => Some(b.clone()),
        Some(_) => {
            bad(key("body"), "must be a string (a template)".into());
            ok = false;
            None
        }
    };
    let mut headers = Vec::new();
    match obj.get("headers") {
        None => {}
        Some(Value::Object(h)) => {
            for (n, v) in h {
                match (HeaderName::from_bytes(n.as_bytes()), v.as_str()) {
                    (Ok(name), Some(val)) => headers.push((n.clone(), name, val.to_owned())),
                    (Err(_), _) => {
                        bad(
                            key(&format!("headers.{n}")),
                            "not a valid header name".into(),
                        );
                        ok = false;
                    }
                    (_, None) => {
                        bad(
                            key(&format!("headers.{n}")),
                            "must be a string (a template)".into(),
                        );
                        ok = false;
                    }
                }
            }
        }
        Some(_) => {
            bad(key("headers"), "must be a table of name -> value".into());
            ok = false;
        }
    }
    let success = match obj.get("success") {
        None => Vec::new(),
        Some(Value::Array(a))
            if !a.is_empty()
                && a.iter()
                    .all(|s| s.as_u64().is_some_and(|n| (100..=599).contains(&n))) =>
        {
            a.iter()
                .filter_map(|s| s.as_u64().and_then(|n| u16::try_from(n).ok()))
                .collect()
        }
        Some(_) => {
            bad(
                key("success"),
                "must be a non-empty array of HTTP statuses".into(),
            );
            ok = false;
            Vec::new()
        }
    };
    let idempotent = match obj.get("idempotent") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            bad(key("idempotent"), "must be true or false".into());
            ok = false;
            false
        }
    };
    let expect = match obj.get("expect") {
        None => None,
        Some(Value::Object(m)) => Some(m.clone()),
        Some(_) => {
            bad(
                key("expect"),
                "must be a table the JSON response must contain".into(),
            );
            ok = false;
            None
        }
    };
    Some(Spec {
        action: name.to_owned(),
        method: method?,
        path: path?,
        body,
        headers,
        success,
        idempotent,
        expect,
    })
    .filter(|_| ok)
}

fn defs(specs: &[Spec]) -> Vec<ActionDef> {
    specs
        .iter()
        .map(|s| {
            let undo = partner(&s.action).filter(|p| specs.iter().any(|o| o.action == *p));
            ActionDef::new(&s.action, undo, s.idempotent)
        })
        .collect()
}

fn actions(c: &ResponderConfig) -> Vec<ActionDef> {
    defs(&parse(c).specs)
}

fn check(c: &ResponderConfig) -> Vec<(String, String)> {
    let Parsed {
        specs,
        mut problems,
        ..
    } = parse(c);
    for s in &specs {
        if let Some(p) = partner(&s.action)
            && !specs.iter().any(|o| o.action == p)
        {
            problems.push((
                format!("options.actions.{}", s.action),
                format!(
                    "`{}` is reversible: configure `{p}` too, its undo",
                    s.action
                ),
            ));
        }
    }
    // Compile every template; collect the options they use.
    let mut used = BTreeSet::new();
    for s in &specs {
        for (key, src, escape) in s.templates() {
            let env = environment(escape);
            let tmpl = match env.template_from_named_str(&key, src) {
                Ok(t) => t,
                Err(e) => {
                    problems.push((key, e.to_string()));
                    continue;
                }
            };
            for var in tmpl.undeclared_variables(true) {
                let mut parts = var.splitn(3, '.');
                let root = parts.next().unwrap_or_default();
                if !VARIABLES.contains(&root) && !GLOBALS.contains(&root) {
                    problems.push((
                        key.clone(),
                        format!(
                            "unknown variable `{root}` (templates see {})",
                            VARIABLES.join(", ")
                        ),
                    ));
                } else if root == "options"
                    && let Some(opt) = parts.next()
                {
                    if c.options.contains_key(opt) {
                        used.insert(opt.to_owned());
                    } else {
                        problems
                            .push((key.clone(), format!("uses options.{opt}, which is not set")));
                    }
                } else if root == "options" {
                    // The whole map (or a computed key): every option may be used.
                    used.extend(c.options.keys().cloned());
                }
            }
        }
    }
    for k in c.options.keys() {
        if k != "auth" && k != "actions" && !used.contains(k) {
            problems.push((
                format!("options.{k}"),
                "unknown option: no template uses it (expected auth, actions, or a value a template uses as options.<key>)"
                    .into(),
            ));
        }
    }
    problems
}

fn build(c: &ResponderConfig, ctx: Context) -> Result<Arc<dyn Responder>, RespondError> {
    let Parsed {
        auth,
        specs,
        problems,
    } = parse(c);
    if let Some((k, m)) = problems.first() {
        return Err(ConnectorError::Config(format!("{k}: {m}")).into());
    }
    let http = http_client(c, None, &ctx)?;
    if auth == Auth::Basic && !http.secret()?.expose().contains(':') {
        return Err(ConnectorError::Config(
            "options.auth = basic: the secret must be user:password".into(),
        )
        .into());
    }
    Ok(Arc::new(Templated {
        once: http.with_retries(0),
        http,
        auth,
        options: Value::Object(c.options.clone()),
        specs,
    }))
}

struct Templated {
    /// Retries per the config: for idempotent actions.
    http: Http,
    /// Never retries.
    once: Http,
    auth: Auth,
    options: Value,
    specs: Vec<Spec>,
}

/// Strict undefined, the custom formatter and the `urlencode` filter; `escape` for every template.
fn environment<'s>(escape: AutoEscape) -> Environment<'s> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(move |_| escape);
    env.set_formatter(format_value);
    env.add_filter("urlencode", urlencode);
    env
}

/// Prints a value for the template's escaping: percent-encoded in a path, JSON-string-escaped in a
/// JSON body; values marked safe (`|safe`, `|tojson`, `|urlencode`) as they are.
fn format_value(out: &mut Output, state: &State, value: &minijinja::Value) -> Result<(), Error> {
    if value.is_safe() {
        return minijinja::escape_formatter(out, state, value);
    }
    match state.auto_escape() {
        URL if value.is_none() => Err(Error::new(
            ErrorKind::InvalidOperation,
            "a none (null) value cannot be part of a path",
        )),
        URL => out
            .write_str(&percent_encode(&value.to_string()))
            .map_err(Error::from),
        JSON => {
            let text = match value.as_str() {
                // Inside a JSON string: the serialized string without its quotes.
                Some(s) => {
                    let quoted = serde_json::to_string(s).map_err(json_error)?;
                    quoted[1..quoted.len() - 1].to_owned()
                }
                None if value.is_none() => "null".to_owned(),
                None => serde_json::to_string(value).map_err(json_error)?,
            };
            out.write_str(&text).map_err(Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

fn json_error(e: serde_json::Error) -> Error {
    Error::new(ErrorKind::BadSerialization, e.to_string())
}

/// `|urlencode`: a map as a query string, anything else percent-encoded.
fn urlencode(value: &minijinja::Value) -> Result<minijinja::Value, Error> {
    if value.kind() == ValueKind::Map {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        for k in value.try_iter()? {
            let v = value.get_item(&k)?;
            if !v.is_none() && !v.is_undefined() {
                q.append_pair(&k.to_string(), &v.to_string());
            }
        }
        return Ok(minijinja::Value::from_safe_string(q.finish()));
    }
    if value.is_none() || value.is_undefined() {
        return Ok(minijinja::Value::from_safe_string(String::new()));
    }
    Ok(minijinja::Value::from_safe_string(percent_encode(
        &value.to_string(),
    )))
}

fn render(
    key: &str,
    src: &str,
    escape: AutoEscape,
    ctx: &minijinja::Value,
) -> Result<String, RespondError> {
    let env = environment(escape);
    env.template_from_named_str(key, src)
        .and_then(|t| t.render(ctx))
        .map_err(|e| RespondError::Template(format!("{key}: {e}")))
}

/// A response body for the outcome: its JSON when small, else a snippet.
fn response_detail(reply: &picket_enrich::http::Reply) -> Value {
    match serde_json::from_slice::<Value>(&reply.body) {
        Ok(v) if reply.body.len() <= 4096 => v,
        _ => Value::String(reply.snippet(200)),
    }
}

impl Templated {
    /// `text` without the secret, nor (basic auth) its password alone.
    fn redact(&self, secret: Option<&str>, text: &str) -> String {
        let Some(s) = secret else {
            return text.to_owned();
        };
        let mut out = Secret::new(s).redact(text);
        if self.auth == Auth::Basic
            && let Some((_, password)) = s.split_once(':')
        {
            out = Secret::new(password).redact(&out);
        }
        out
    }
}

#[async_trait]
impl Responder for Templated {
    fn actions(&self) -> Vec<ActionDef> {
        defs(&self.specs)
    }

    async fn execute(&self, req: &ActionRequest) -> Result<ActionOutcome, RespondError> {
        let Some(spec) = self.specs.iter().find(|s| s.action == req.action) else {
            return Err(RespondError::Unsupported(req.action.clone()));
        };
        let ctx = minijinja::Value::from_serialize(serde_json::json!({
            "target": req.target,
            "params": req.params,
            "incident": req.incident,
            "action_id": req.action_id,
            "action": req.action,
            "summary": req.summary,
            "options": self.options,
        }));
        let path = render(&spec.key("path"), &spec.path, URL, &ctx)?;
        let base = self.http.url("")?;
        let url = self.http.url(&path)?;
        if url.origin() != base.origin() || !url.path().starts_with(base.path()) {
            return Err(RespondError::Template(format!(
                "{}: the path must stay under base_url",
                spec.key("path")
            )));
        }
        let body = match &spec.body {
            Some(src) if spec.json_body() => {
                let b = render(&spec.key("body"), src, JSON, &ctx)?;
                if !b.trim().is_empty()
                    && let Err(e) = serde_json::from_str::<Value>(&b)
                {
                    return Err(RespondError::Template(format!(
                        "{}: did not render to valid JSON ({e}); not sent",
                        spec.key("body")
                    )));
                }
                Some(b)
            }
            Some(src) => Some(render(&spec.key("body"), src, AutoEscape::None, &ctx)?),
            None => None,
        };
        let mut headers = Vec::new();
        for (written, name, src) in &spec.headers {
            let key = spec.key(&format!("headers.{written}"));
            let v = render(&key, src, AutoEscape::None, &ctx)?;
            let v = HeaderValue::from_str(&v)
                .map_err(|_| RespondError::Template(format!("{key}: not a valid header value")))?;
            headers.push((name.clone(), v));
        }
        if body.is_some()
            && !headers
                .iter()
                .any(|(n, _)| n == reqwest::header::CONTENT_TYPE)
        {
            headers.push((
                reqwest::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ));
        }
        let http = if spec.idempotent {
            &self.http
        } else {
            &self.once
        };
        let secret = match self.auth {
            Auth::None => None,
            _ => Some(http.secret()?.expose().to_owned()),
        };
        let reply = http
            .send(&req.action, |c| {
                let mut r = c.request(spec.method.clone(), url.clone());
                for (n, v) in &headers {
                    r = r.header(n.clone(), v.clone());
                }
                r = match (&self.auth, &secret) {
                    (Auth::Bearer, Some(s)) => r.bearer_auth(s),
                    (Auth::Basic, Some(s)) => {
                        let (user, pass) = s.split_once(':').unwrap_or((s, ""));
                        r.basic_auth(user, Some(pass))
                    }
                    (Auth::Header(n), Some(s)) => r.header(n.clone(), s),
                    _ => r,
                };
                if let Some(b) = &body {
                    r = r.body(b.clone());
                }
                r
            })
            .await
            .map_err(|e| redact_error(e, |t| self.redact(secret.as_deref(), t)))?;
        let ok = match spec.success.as_slice() {
            [] => reply.is_success(),
            list => list.contains(&reply.status),
        };
        if !ok {
            return Err(RespondError::Rejected {
                status: reply.status,
                message: self.redact(secret.as_deref(), &reply.snippet(300)),
            });
        }
        if let Some(expect) = &spec.expect {
            let got: Option<Map<String, Value>> = serde_json::from_slice(&reply.body).ok();
            let matches = got
                .as_ref()
                .is_some_and(|g| expect.iter().all(|(k, v)| g.get(k) == Some(v)));
            if !matches {
                return Err(RespondError::Rejected {
                    status: reply.status,
                    message: self.redact(
                        secret.as_deref(),
                        &format!(
                            "the response does not contain {}: {}",
                            Value::Object(expect.clone()),
                            reply.snippet(300)
                        ),
                    ),
                });
            }
        }
        let shown = url.path().to_owned();
        Ok(ActionOutcome {
            summary: format!(
                "`{}` {} done: {} {shown} answered HTTP {}",
                req.action, req.target, spec.method, reply.status
            ),
            details: serde_json::json!({
                "method": spec.method.as_str(),
                "path": shown,
                "status": reply.status,
                "response": response_detail(&reply),
            }),
        })
    }
}
