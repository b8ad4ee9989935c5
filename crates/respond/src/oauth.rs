//! OAuth 2.0 client credentials, shared by CrowdStrike, Defender for Endpoint and Entra ID: one
//! token per responder, fetched on first use, reused until a minute before it expires, dropped on a
//! 401 so the next call fetches a fresh one.

use std::time::{Duration, Instant};

use picket_enrich::{ConnectorError, Http};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::responder::RespondError;

pub(crate) struct TokenSource {
    token_url: url::Url,
    client_id: String,
    /// `scope` form field (Microsoft identity platform); `None` for CrowdStrike.
    scope: Option<String>,
    cached: Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct TokenReply {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl TokenSource {
    pub(crate) fn new(
        token_url: &str,
        client_id: &str,
        scope: Option<&str>,
    ) -> Result<Self, RespondError> {
        Ok(Self {
            token_url: url::Url::parse(token_url)
                .map_err(|e| ConnectorError::Config(format!("token_url: {e}")))?,
            client_id: client_id.into(),
            scope: scope.map(Into::into),
            cached: Mutex::new(None),
        })
    }

    /// Microsoft identity platform v2 token endpoint for a tenant.
    pub(crate) fn microsoft_url(tenant: &str) -> String {
        format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
    }

    pub(crate) async fn token(&self, http: &Http) -> Result<String, RespondError> {
        let mut cached = self.cached.lock().await;
        if let Some((t, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(t.clone());
        }
        let secret = http.secret()?.expose().to_owned();
        let mut form = vec![
            ("client_id", self.client_id.clone()),
            ("client_secret", secret),
        ];
        if let Some(s) = &self.scope {
            form.push(("grant_type", "client_credentials".into()));
            form.push(("scope", s.clone()));
        }
        let url = self.token_url.clone();
        let reply = http
            .send("oauth_token", |c| c.post(url.clone()).form(&form))
            .await?;
        if !reply.is_success() {
            // A wrong client id or secret is 400/401 with `invalid_client`.
            return Err(ConnectorError::Unauthorized(format!(
                "token endpoint answered HTTP {}: {}",
                reply.status,
                http.secret()?.redact(&reply.snippet(200))
            ))
            .into());
        }
        let t: TokenReply = reply.json()?;
        let life = Duration::from_secs(t.expires_in.unwrap_or(1800).saturating_sub(60).max(30));
        *cached = Some((t.access_token.clone(), Instant::now() + life));
        Ok(t.access_token)
    }

    /// Forgets the token (after a 401 from the API).
    pub(crate) async fn invalidate(&self) {
        *self.cached.lock().await = None;
    }

    /// Sends the request `build` makes with a bearer token, fetching a fresh token once after a
    /// 401 (a token revoked or expired early); a second 401 is the caller's error.
    pub(crate) async fn send<F>(
        &self,
        http: &Http,
        op: &str,
        build: F,
    ) -> Result<picket_enrich::http::Reply, RespondError>
    where
        F: Fn(&reqwest::Client, &str) -> reqwest::RequestBuilder,
    {
        let token = self.token(http).await?;
        match http.send(op, |c| build(c, &token)).await {
            Err(ConnectorError::Unauthorized(_)) => {
                self.invalidate().await;
                let token = self.token(http).await?;
                Ok(http.send(op, |c| build(c, &token)).await?)
            }
            other => Ok(other?),
        }
    }
}
