//! The HTTP client every online connector uses: base URL, secret, per-request timeout, bounded
//! retries with exponential backoff that honour `Retry-After`, a response size cap, and one
//! [`CallEvent`] per request to the observer (telemetry and the audit trail). Secrets never reach an
//! event: URLs are recorded without their query string and with the key redacted.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::connector::ConnectorError;
use crate::secret::Secret;

/// Largest response body read (bigger ones are `malformed_response`).
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// One request as telemetry and the audit trail see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallEvent {
    pub connector: String,
    pub operation: String,
    pub method: String,
    /// Scheme, host and path only: no query string, secrets redacted.
    pub url: String,
    /// 1 for the first try.
    pub attempt: u32,
    pub status: Option<u16>,
    pub duration_ms: f64,
    /// `ok` or a [`ConnectorError::code`].
    pub outcome: String,
}

/// Receives every call event.
pub trait Observer: Send + Sync {
    fn call(&self, event: &CallEvent);
}

/// Logs each call at debug level through `tracing`.
pub struct TracingObserver;

impl Observer for TracingObserver {
    fn call(&self, e: &CallEvent) {
        tracing::debug!(
            connector = %e.connector, operation = %e.operation, url = %e.url, attempt = e.attempt,
            status = ?e.status, duration_ms = e.duration_ms, outcome = %e.outcome, "connector call"
        );
    }
}

/// Keeps every event in memory (tests, `picket connectors check`).
#[derive(Default)]
pub struct Recorder(Mutex<Vec<CallEvent>>);

impl Recorder {
    pub fn events(&self) -> Vec<CallEvent> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Observer for Recorder {
    fn call(&self, event: &CallEvent) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
    }
}

/// Retry and timeout policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// First backoff; doubles each retry (with up to 25% jitter).
    pub backoff: Duration,
    /// A `Retry-After` longer than this is not waited for: the call fails with `rate_limited`.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            retries: 2,
            backoff: Duration::from_millis(200),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// A response the connector interprets: any 2xx, and 4xx other than 401, 403 and 429 (a provider's
/// 404 or 422 often means "unknown indicator" or "invalid value", which only the connector knows).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// Parses the body as JSON; a parse failure is `malformed_response` with the location.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ConnectorError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            ConnectorError::Malformed(format!(
                "HTTP {} body is not the documented JSON: {e}",
                self.status
            ))
        })
    }

    /// The body as text, cut to `max` characters, for error messages.
    pub fn snippet(&self, max: usize) -> String {
        let s = String::from_utf8_lossy(&self.body);
        let s: String = s.chars().take(max).collect();
        s.replace(['\n', '\r'], " ")
    }

    /// An error for a status the connector did not expect.
    pub fn unexpected(&self) -> ConnectorError {
        ConnectorError::Http {
            status: self.status,
            message: self.snippet(200),
        }
    }
}

/// A configured HTTP client for one connector instance. Cheap to clone.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
    base: Option<url::Url>,
    secret: Option<Secret>,
    connector: Arc<str>,
    policy: RetryPolicy,
    observer: Arc<dyn Observer>,
}

impl Http {
    pub fn new(
        connector: &str,
        base: Option<&str>,
        secret: Option<Secret>,
        policy: RetryPolicy,
        observer: Arc<dyn Observer>,
    ) -> Result<Self, ConnectorError> {
        let base = match base {
            Some(b) => {
                // A base without a trailing slash would lose its last path segment on join.
                let b = if b.ends_with('/') {
                    b.to_owned()
                } else {
                    format!("{b}/")
                };
                Some(
                    url::Url::parse(&b)
                        .map_err(|e| ConnectorError::Config(format!("base_url: {e}")))?,
                )
            }
            None => None,
        };
        let client = reqwest::Client::builder()
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout)
            .user_agent(concat!("picket/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ConnectorError::Config(format!("HTTP client: {e}")))?;
        Ok(Self {
            client,
            base,
            secret,
            connector: connector.into(),
            policy,
            observer,
        })
    }

    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// The same client with another retry count: responders send requests that are not safe to
    /// repeat with `retries = 0`.
    pub fn with_retries(&self, retries: u32) -> Self {
        let mut h = self.clone();
        h.policy.retries = retries;
        h
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// The API key; `config` error when the connector has none.
    pub fn secret(&self) -> Result<&Secret, ConnectorError> {
        self.secret
            .as_ref()
            .ok_or_else(|| ConnectorError::Config("no API key configured".into()))
    }

    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// `path` (which may carry a query string) resolved against the base URL.
    pub fn url(&self, path: &str) -> Result<url::Url, ConnectorError> {
        let base = self
            .base
            .as_ref()
            .ok_or_else(|| ConnectorError::Config("no base_url".into()))?;
        base.join(path.trim_start_matches('/'))
            .map_err(|e| ConnectorError::Config(format!("URL for `{path}`: {e}")))
    }

    /// Sends the request `build` makes (called again for each retry), retrying timeouts, transport
    /// errors, 429 and 5xx within the policy. 401, 403, 429 and 5xx become errors; other statuses are
    /// returned for the connector to interpret.
    pub async fn send<F>(&self, operation: &str, build: F) -> Result<Reply, ConnectorError>
    where
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let started = Instant::now();
            let req = build(&self.client)
                .build()
                .map_err(|e| ConnectorError::Config(format!("request: {e}")))?;
            let method = req.method().to_string();
            let url = self.printable(req.url());
            let result = self.exchange(req).await;
            let status = match &result {
                Ok(r) => Some(r.status),
                Err(ConnectorError::Server { status, .. }) => Some(*status),
                Err(ConnectorError::Unauthorized(_)) => Some(401),
                Err(ConnectorError::Forbidden(_)) => Some(403),
                Err(ConnectorError::RateLimited(_)) => Some(429),
                _ => None,
            };
            self.observer.call(&CallEvent {
                connector: self.connector.to_string(),
                operation: operation.to_owned(),
                method,
                url,
                attempt,
                status,
                duration_ms: started.elapsed().as_secs_f64() * 1e3,
                outcome: match &result {
                    Ok(_) => "ok".to_owned(),
                    Err(e) => e.code().to_owned(),
                },
            });
            let err = match result {
                Ok(r) => return Ok(r),
                Err(e) => e,
            };
            let retryable = matches!(
                err,
                ConnectorError::Timeout(_)
                    | ConnectorError::Transport(_)
                    | ConnectorError::RateLimited(_)
                    | ConnectorError::Server { .. }
            );
            if !retryable || attempt > self.policy.retries {
                return Err(err);
            }
            let wait = match &err {
                ConnectorError::RateLimited(Some(d)) => {
                    if *d > self.policy.max_retry_after {
                        return Err(err);
                    }
                    *d
                }
                _ => backoff(self.policy.backoff, attempt),
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Sends `build` and parses a JSON success body; non-2xx replies become errors.
    pub async fn get_json<T, F>(&self, operation: &str, build: F) -> Result<T, ConnectorError>
    where
        T: DeserializeOwned,
        F: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    {
        let reply = self.send(operation, build).await?;
        if !reply.is_success() {
            return Err(reply.unexpected());
        }
        reply.json()
    }

    async fn exchange(&self, req: reqwest::Request) -> Result<Reply, ConnectorError> {
        let timeout = self.policy.timeout;
        let mut resp = self
            .client
            .execute(req)
            .await
            .map_err(|e| self.transport(e, timeout))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let mut body = Vec::new();
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_BODY {
                        return Err(ConnectorError::Malformed(format!(
                            "response body over {MAX_BODY} bytes"
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if status < 400 => {
                    // A body cut off mid-way: the status said success but the content is unusable.
                    return Err(if e.is_timeout() {
                        ConnectorError::Timeout(timeout)
                    } else {
                        ConnectorError::Malformed(format!("truncated body: {}", self.clean(e)))
                    });
                }
                Err(_) => break,
            }
        }
        // A provider that echoes the key back (in an error body, a debug field) never hands it to a
        // connector: every message, snippet and log line is built from this body.
        let body = match (&self.secret, std::str::from_utf8(&body)) {
            (Some(s), Ok(text)) if s.expose().len() >= 4 && text.contains(s.expose()) => {
                s.redact(text).into_bytes()
            }
            _ => body,
        };
        let reply = Reply {
            status,
            headers,
            body,
        };
        let message = || match &self.secret {
            // Redact the whole body before cutting it: a key straddling the cut would otherwise
            // leave its first part in the message.
            Some(s) => s
                .redact(&String::from_utf8_lossy(&reply.body))
                .chars()
                .take(200)
                .collect::<String>()
                .replace(['\n', '\r'], " "),
            None => reply.snippet(200),
        };
        match status {
            401 => Err(ConnectorError::Unauthorized(message())),
            403 => Err(ConnectorError::Forbidden(message())),
            // OpenAI's documented "out of credits" 429 is no rate limit: retrying cannot help.
            429 if String::from_utf8_lossy(&reply.body).contains("insufficient_quota") => Err(
                ConnectorError::QuotaExhausted(format!("at the provider: {}", message())),
            ),
            429 => Err(ConnectorError::RateLimited(retry_after(&reply.headers))),
            500..=599 => Err(ConnectorError::Server {
                status,
                message: message(),
            }),
            _ => Ok(reply),
        }
    }

    fn transport(&self, e: reqwest::Error, timeout: Duration) -> ConnectorError {
        if e.is_timeout() {
            ConnectorError::Timeout(timeout)
        } else {
            ConnectorError::Transport(self.clean(e))
        }
    }

    /// An error's text without its URL (which may carry a query) and with the secret redacted.
    fn clean(&self, e: reqwest::Error) -> String {
        let e = e.without_url();
        let mut text = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            text.push_str(": ");
            text.push_str(&s.to_string());
            src = s.source();
        }
        match &self.secret {
            Some(s) => s.redact(&text),
            None => text,
        }
    }

    fn printable(&self, url: &url::Url) -> String {
        let mut u = url.clone();
        u.set_query(None);
        u.set_fragment(None);
        let _ = u.set_password(None);
        match &self.secret {
            Some(s) => s.redact(u.as_str()),
            None => u.to_string(),
        }
    }
}

/// `Retry-After` as seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let Some(v) = headers.get(RETRY_AFTER) else {
        // Okta (and others) say when the window resets instead: epoch seconds.
        let reset: u64 = headers
            .get("x-rate-limit-reset")?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs();
        return Some(Duration::from_secs(reset.saturating_sub(now)));
    };
    let v = v.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << (attempt - 1).min(10));
    // Jitter from the clock's sub-microsecond noise: enough to spread synchronized retries.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = exp.mul_f64(f64::from(nanos % 1000) / 4000.0);
    exp + jitter
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_dates_and_okta_style_reset_times() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let mut okta = HeaderMap::new();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        okta.insert(
            "x-rate-limit-reset",
            HeaderValue::from_str(&(now + 30).to_string()).unwrap(),
        );
        let wait = retry_after(&okta).unwrap();
        assert!((29..=30).contains(&wait.as_secs()), "{wait:?}");
        // A reset in the past: retry at once.
        okta.insert("x-rate-limit-reset", HeaderValue::from_static("1000"));
        assert_eq!(retry_after(&okta), Some(Duration::ZERO));
        // Retry-After wins when both are there.
        okta.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&okta), Some(Duration::from_secs(3)));
    }
}
