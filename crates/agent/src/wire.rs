//! What both wire formats share: turning `picket_enrich::Http` outcomes and provider error bodies
//! into [`ProviderError`]s, with the API key redacted from anything a provider echoes back.

use picket_enrich::http::Reply;
use picket_enrich::{ConnectorError, Http};
use serde_json::Value;

use crate::provider::ProviderError;

/// `(type, message)` from a provider error body, whichever dialect:
/// Anthropic `{"type":"error","error":{"type","message"}}`, OpenAI and Azure
/// `{"error":{"message","type","param","code"}}`, and the looser shapes OpenAI-compatible servers
/// use (`{"error":"…"}`, `{"object":"error","message","type"}`, `{"detail":"…"}`).
pub(crate) fn error_body(text: &str) -> Option<(String, String)> {
    let v: Value = serde_json::from_str(text).ok()?;
    let s = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    match v.get("error") {
        Some(Value::Object(e)) => {
            let kind = s(e.get("type"))
                .or_else(|| s(e.get("code")))
                .unwrap_or_else(|| "error".into());
            let message = s(e.get("message")).unwrap_or_default();
            Some((kind, message))
        }
        Some(Value::String(m)) => Some(("error".into(), m.clone())),
        _ => {
            let message = s(v.get("message")).or_else(|| match v.get("detail") {
                Some(Value::String(d)) => Some(d.clone()),
                Some(d @ (Value::Array(_) | Value::Object(_))) => Some(d.to_string()),
                _ => None,
            })?;
            let kind = s(v.get("type")).unwrap_or_else(|| "error".into());
            Some((kind, message))
        }
    }
}

/// A provider's error text as `type: message` when the body is a documented error, else as is.
fn explain(text: &str) -> String {
    match error_body(text) {
        Some((kind, message)) => format!("{kind}: {message}"),
        None => text.to_owned(),
    }
}

/// Maps what `Http::send` failed with. Its 401, 403 and 5xx messages are already redacted body
/// snippets.
pub(crate) fn from_connector(e: ConnectorError) -> ProviderError {
    match e {
        ConnectorError::Unauthorized(m) => ProviderError::Unauthorized(explain(&m)),
        ConnectorError::Forbidden(m) => ProviderError::Forbidden(explain(&m)),
        ConnectorError::RateLimited(d) => ProviderError::RateLimited { retry_after: d },
        ConnectorError::QuotaExhausted(m) => ProviderError::QuotaExhausted(explain(
            m.strip_prefix("at the provider: ").unwrap_or(&m),
        )),
        ConnectorError::Server { status, message } => {
            let parsed = error_body(&message);
            let overloaded = status == 529
                || status == 503
                || parsed
                    .as_ref()
                    .is_some_and(|(k, _)| k == "overloaded_error");
            let message = explain(&message);
            if overloaded {
                ProviderError::Overloaded(message)
            } else {
                ProviderError::Server {
                    status: Some(status),
                    message,
                }
            }
        }
        ConnectorError::Timeout(d) => ProviderError::Timeout(d),
        ConnectorError::Transport(m) => ProviderError::Transport(m),
        ConnectorError::Malformed(m) => ProviderError::Server {
            status: None,
            message: m,
        },
        ConnectorError::Config(m) => ProviderError::Config(m),
        other => ProviderError::Transport(other.to_string()),
    }
}

/// A reply `Http::send` handed back for the client to interpret that is not a 2xx: a rejected
/// request (4xx) keeps the provider's error type and message, redacted.
pub(crate) fn rejected(http: &Http, reply: &Reply) -> ProviderError {
    let text = String::from_utf8_lossy(&reply.body);
    let (kind, message) =
        error_body(&text).unwrap_or_else(|| ("http_error".into(), reply.snippet(300)));
    let redact = |s: &str| match http.secret() {
        Ok(k) => k.redact(s),
        Err(_) => s.to_owned(),
    };
    let message = redact(&message);
    if (400..500).contains(&reply.status) {
        ProviderError::BadRequest {
            status: reply.status,
            kind: redact(&kind),
            message,
        }
    } else {
        ProviderError::Server {
            status: Some(reply.status),
            message,
        }
    }
}

/// A 2xx body that is not the documented JSON.
pub(crate) fn malformed(http: &Http, reply: &Reply, e: &serde_json::Error) -> ProviderError {
    let snippet = reply.snippet(200);
    let snippet = match http.secret() {
        Ok(k) => k.redact(&snippet),
        Err(_) => snippet,
    };
    ProviderError::Server {
        status: Some(reply.status),
        message: format!("response is not the documented JSON ({e}): {snippet}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_dialects_parse() {
        assert_eq!(
            error_body(
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
            ),
            Some(("overloaded_error".into(), "Overloaded".into()))
        );
        assert_eq!(
            error_body(
                r#"{"error":{"message":"bad","type":"invalid_request_error","param":null,"code":null}}"#
            ),
            Some(("invalid_request_error".into(), "bad".into()))
        );
        assert_eq!(
            error_body(r#"{"error":{"code":"DeploymentNotFound","message":"gone"}}"#),
            Some(("DeploymentNotFound".into(), "gone".into()))
        );
        assert_eq!(
            error_body(r#"{"error":"model 'x' not found"}"#),
            Some(("error".into(), "model 'x' not found".into()))
        );
        assert_eq!(
            error_body(r#"{"object":"error","message":"m","type":"BadRequestError","code":400}"#),
            Some(("BadRequestError".into(), "m".into()))
        );
        assert_eq!(error_body("<html>"), None);
    }

    #[test]
    fn overload_is_told_apart_from_server_errors() {
        let e = from_connector(ConnectorError::Server {
            status: 529,
            message:
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
                    .into(),
        });
        assert_eq!(
            e,
            ProviderError::Overloaded("overloaded_error: Overloaded".into())
        );
        let e = from_connector(ConnectorError::Server {
            status: 500,
            message: "oops".into(),
        });
        assert_eq!(e.code(), "server_error");
    }
}
