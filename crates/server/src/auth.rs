//! Bearer tokens and roles.
//!
//! Secrets are read once at startup and kept only as SHA-256 digests; a presented token is hashed and
//! compared against every digest in constant time, so neither timing nor logs reveal a secret.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use picket_core::ErrorCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::{ConditionallySelectable, ConstantTimeEq};

use crate::config::{MIN_TOKEN_BYTES, ServerConfig};
use crate::error::{ApiError, ServerError};
use crate::state::AppState;

/// What a token may do. Roles map onto [`Permission`]s in one match, so a new role (responder,
/// approver) is one variant and one arm, and a new capability is one permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sends alerts.
    Ingest,
    /// Reads, and records verdicts.
    Analyst,
    /// Reads.
    Viewer,
    /// Reads, and proposes response actions (the policy decides what needs approval).
    Responder,
    /// Reads, and approves or rejects proposed actions.
    Approver,
    /// Everything.
    Admin,
}

/// One capability checked by a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    IngestAlerts,
    Read,
    RecordVerdict,
    ProposeAction,
    ApproveAction,
    /// Pause or resume automated response.
    ManageResponse,
    /// Ask the LLM agent to investigate an incident (spends tokens).
    Investigate,
}

impl Role {
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Ingest => matches!(p, IngestAlerts),
            Role::Analyst => matches!(p, Read | RecordVerdict | Investigate),
            Role::Viewer => matches!(p, Read),
            Role::Responder => matches!(p, Read | ProposeAction | Investigate),
            Role::Approver => matches!(p, Read | ApproveAction | ManageResponse),
        }
    }
}

struct Credential {
    name: String,
    role: Role,
    digest: [u8; 32],
}

/// The configured tokens, as digests.
pub struct Auth {
    credentials: Vec<Credential>,
    /// No tokens: every request is an anonymous admin (loopback only, see `ServerConfig`).
    open: bool,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field(
                "tokens",
                &self
                    .credentials
                    .iter()
                    .map(|c| (&c.name, c.role))
                    .collect::<Vec<_>>(),
            )
            .field("open", &self.open)
            .finish()
    }
}

fn digest(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

impl Auth {
    /// Reads every token's secret from its environment variable or file. Errors name the token and
    /// the variable or file, never the secret.
    pub fn load(config: &ServerConfig) -> Result<Self, ServerError> {
        let mut tokens = Vec::with_capacity(config.tokens.len());
        for t in &config.tokens {
            let fail = |message: String| ServerError::Token {
                name: t.name.clone(),
                message,
            };
            let secret = match (&t.token_env, &t.token_file) {
                (Some(var), _) => std::env::var(var).map_err(|_| {
                    fail(format!(
                        "environment variable {var} is not set (or not UTF-8)"
                    ))
                })?,
                (None, Some(path)) => std::fs::read_to_string(path)
                    .map_err(|e| fail(format!("cannot read {}: {e}", path.display())))?,
                (None, None) => return Err(fail("no token_env or token_file".to_owned())),
            };
            tokens.push((t.name.clone(), t.role, secret.trim().to_owned()));
        }
        let auth = Self::with_tokens(tokens)?;
        if auth.credentials.is_empty() && !config.allow_unauthenticated_loopback {
            return Err(ServerError::Config(vec![(
                "tokens".to_owned(),
                "no tokens configured".to_owned(),
            )]));
        }
        Ok(auth)
    }

    /// Tokens given directly as (name, role, secret); with none, the server is open (loopback use).
    pub fn with_tokens(
        tokens: impl IntoIterator<Item = (String, Role, String)>,
    ) -> Result<Self, ServerError> {
        let mut credentials = Vec::new();
        for (name, role, secret) in tokens {
            if secret.len() < MIN_TOKEN_BYTES {
                return Err(ServerError::Token {
                    name,
                    message: format!("the secret is shorter than {MIN_TOKEN_BYTES} bytes"),
                });
            }
            credentials.push(Credential {
                name,
                role,
                digest: digest(secret.as_bytes()),
            });
        }
        let open = credentials.is_empty();
        Ok(Self { credentials, open })
    }

    /// Whether the server runs without tokens.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// The caller presenting `authorization` (the header's value).
    fn authenticate(&self, authorization: Option<&[u8]>) -> Result<Caller, ApiError> {
        if self.open {
            return Ok(Caller {
                name: "anonymous".to_owned(),
                role: Role::Admin,
            });
        }
        let unauthorized =
            || ApiError::new(ErrorCode::Unauthorized, "missing or invalid bearer token");
        let header = authorization.ok_or_else(unauthorized)?;
        let token = header
            .strip_prefix(b"Bearer ")
            .or_else(|| header.strip_prefix(b"bearer "))
            .ok_or_else(unauthorized)?;
        let presented = digest(token.trim_ascii());
        // Look at every credential whatever matches, so the time taken does not tell which one did.
        let mut index = 0u32;
        let mut any = subtle::Choice::from(0);
        for (i, c) in self.credentials.iter().enumerate() {
            let hit = c.digest.ct_eq(&presented);
            index = u32::conditional_select(&index, &u32::try_from(i).unwrap_or(u32::MAX), hit);
            any |= hit;
        }
        if !bool::from(any) {
            return Err(unauthorized());
        }
        let i = index;
        let c = self.credentials.get(i as usize).ok_or_else(unauthorized)?;
        Ok(Caller {
            name: c.name.clone(),
            role: c.role,
        })
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

impl Caller {
    /// 403 unless the caller's role allows `p`.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.role.allows(p) {
            Ok(())
        } else {
            Err(ApiError::new(
                ErrorCode::Forbidden,
                format!("the `{}` role may not do this", serde_plain_role(self.role)),
            ))
        }
    }
}

fn serde_plain_role(r: Role) -> &'static str {
    match r {
        Role::Ingest => "ingest",
        Role::Analyst => "analyst",
        Role::Viewer => "viewer",
        Role::Responder => "responder",
        Role::Approver => "approver",
        Role::Admin => "admin",
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).map(|v| v.as_bytes());
        state.auth().authenticate(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth() -> Auth {
        Auth::with_tokens([
            ("ingester".to_owned(), Role::Ingest, "i".repeat(20)),
            ("alice".to_owned(), Role::Analyst, "a".repeat(20)),
        ])
        .unwrap()
    }

    #[test]
    fn the_matching_token_names_the_caller() {
        let a = auth();
        let bearer = format!("Bearer {}", "a".repeat(20));
        let c = a.authenticate(Some(bearer.as_bytes())).unwrap();
        assert_eq!((c.name.as_str(), c.role), ("alice", Role::Analyst));
        let first = format!("Bearer {}", "i".repeat(20));
        assert_eq!(
            a.authenticate(Some(first.as_bytes())).unwrap().name,
            "ingester"
        );
    }

    #[test]
    fn wrong_missing_or_malformed_tokens_are_401() {
        let a = auth();
        for h in [
            None,
            Some(&b"Bearer nope-nope-nope-nope"[..]),
            Some(&b"Basic abc"[..]),
        ] {
            let e = a.authenticate(h).unwrap_err();
            assert_eq!(e.code(), ErrorCode::Unauthorized);
        }
    }

    #[test]
    fn short_secrets_are_refused() {
        let e = Auth::with_tokens([("x".to_owned(), Role::Admin, "short".to_owned())]).unwrap_err();
        assert!(!e.to_string().contains("short\""), "{e}");
    }

    #[test]
    fn roles_allow_what_they_say() {
        assert!(Role::Analyst.allows(Permission::RecordVerdict));
        assert!(!Role::Viewer.allows(Permission::RecordVerdict));
        assert!(!Role::Ingest.allows(Permission::Read));
        assert!(Role::Admin.allows(Permission::IngestAlerts));
    }
}
