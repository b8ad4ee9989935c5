//! The one trait every LLM provider implements, the request and answer types both wire formats map
//! onto, and the error every call returns.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A language model behind an API. Implementations translate [`CompletionRequest`] to their wire
/// format and the answer back, validating tool-call arguments and structured output against their
/// JSON Schemas (a call that returns something else is `invalid_output`, never a half-trusted value).
#[async_trait]
pub trait Provider: Send + Sync {
    /// The configured instance name (telemetry, the audit trail, error reports).
    fn name(&self) -> &str;

    /// One model turn.
    async fn complete(&self, req: &CompletionRequest) -> Result<Completion, ProviderError>;
}

/// A tool the model may ask Picket to run. The model never runs anything: it proposes a call, the
/// caller decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolDef {
    /// `[A-Za-z0-9_-]{1,64}` (what both APIs accept).
    pub name: String,
    pub description: String,
    /// JSON Schema of the arguments; its root must be an object schema.
    pub input_schema: Value,
}

impl ToolDef {
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        input_schema: Value,
    ) -> Self {
        Self {
            name: name.into(),
            description: description.into(),
            input_schema,
        }
    }

    /// A tool whose arguments are `T` (schema from [`crate::schema_for`]).
    pub fn of<T: schemars::JsonSchema>(
        name: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        Self::new(name, description, crate::schema_for::<T>())
    }
}

/// The shape a structured answer must have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputSchema {
    /// `[A-Za-z0-9_-]{1,64}`: OpenAI's `json_schema.name`, Anthropic's forced tool name.
    pub name: String,
    pub description: Option<String>,
    /// Root must be an object schema.
    pub schema: Value,
}

impl OutputSchema {
    pub fn new(name: impl Into<String>, schema: Value) -> Self {
        Self {
            name: name.into(),
            description: None,
            schema,
        }
    }

    /// An answer of type `T` (schema from [`crate::schema_for`]).
    pub fn of<T: schemars::JsonSchema>(name: impl Into<String>) -> Self {
        Self::new(name, crate::schema_for::<T>())
    }

    pub fn described(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }
}

/// A tool call the model proposed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's call id; the tool result must quote it.
    pub id: String,
    pub name: String,
    /// Already parsed and validated against the tool's input schema.
    pub arguments: Value,
}

/// One turn of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Message {
    User {
        text: String,
    },
    /// An earlier model turn, replayed: its text and the tool calls it made.
    Assistant {
        text: String,
        tool_calls: Vec<ToolCall>,
    },
    /// The result of running one tool call (`is_error`: the tool failed; `content` says why).
    ToolResult {
        call_id: String,
        content: String,
        is_error: bool,
    },
}

impl Message {
    pub fn user(text: impl Into<String>) -> Self {
        Self::User { text: text.into() }
    }

    pub fn assistant(text: impl Into<String>) -> Self {
        Self::Assistant {
            text: text.into(),
            tool_calls: Vec::new(),
        }
    }

    /// The model's own turn, to send back with the tool results that answer it.
    pub fn from_completion(c: &Completion) -> Self {
        Self::Assistant {
            text: c.text.clone(),
            tool_calls: c.tool_calls.clone(),
        }
    }

    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self::ToolResult {
            call_id: call_id.into(),
            content: content.into(),
            is_error: false,
        }
    }

    pub fn tool_error(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self::ToolResult {
            call_id: call_id.into(),
            content: content.into(),
            is_error: true,
        }
    }
}

/// One request to the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionRequest {
    pub system: Option<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<ToolDef>,
    /// Ask for a JSON answer of this shape ([`Completion::structured`]). The model may still
    /// propose tool calls instead when `tools` is not empty.
    pub response_schema: Option<OutputSchema>,
    /// Output tokens the model may generate.
    pub max_tokens: u32,
    pub temperature: Option<f64>,
    /// The incident this call reasons about: the key of the token budget and of cost accounting
    /// ([`crate::GuardedProvider`]); never sent to the provider.
    pub incident: Option<String>,
}

impl CompletionRequest {
    pub fn new(max_tokens: u32) -> Self {
        Self {
            system: None,
            messages: Vec::new(),
            tools: Vec::new(),
            response_schema: None,
            max_tokens,
            temperature: None,
            incident: None,
        }
    }

    pub fn system(mut self, text: impl Into<String>) -> Self {
        self.system = Some(text.into());
        self
    }

    pub fn message(mut self, m: Message) -> Self {
        self.messages.push(m);
        self
    }

    pub fn user(self, text: impl Into<String>) -> Self {
        self.message(Message::user(text))
    }

    pub fn tool(mut self, t: ToolDef) -> Self {
        self.tools.push(t);
        self
    }

    pub fn respond_with(mut self, s: OutputSchema) -> Self {
        self.response_schema = Some(s);
        self
    }

    pub fn temperature(mut self, t: f64) -> Self {
        self.temperature = Some(t);
        self
    }

    pub fn incident(mut self, key: impl Into<String>) -> Self {
        self.incident = Some(key.into());
        self
    }
}

/// Why the model stopped, normalized across providers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// A complete answer (also a structured answer delivered through Anthropic's forced tool).
    EndTurn,
    /// The model waits for the results of [`Completion::tool_calls`].
    ToolUse,
    /// Cut off at `max_tokens`.
    MaxTokens,
    /// Anything else, as the provider said it (`refusal`, `content_filter`, `stop_sequence`, …).
    Other(String),
}

impl StopReason {
    pub fn as_str(&self) -> &str {
        match self {
            Self::EndTurn => "end_turn",
            Self::ToolUse => "tool_use",
            Self::MaxTokens => "max_tokens",
            Self::Other(s) => s,
        }
    }
}

/// Tokens one call (or an incident, summed) used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

impl Usage {
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }

    pub fn add(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

/// The model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Completion {
    /// Text the model wrote (empty when it only called tools). With a response schema on an
    /// OpenAI-format provider this is the raw JSON text.
    pub text: String,
    /// Proposed tool calls, arguments validated.
    pub tool_calls: Vec<ToolCall>,
    /// The structured answer, validated against the request's `response_schema`; `None` when no
    /// schema was asked for, or when the model called tools instead.
    pub structured: Option<Value>,
    pub stop_reason: StopReason,
    pub usage: Usage,
    /// The model that answered, as the provider reported it.
    pub model: String,
}

/// Why a call gave no usable answer. `code()` is the stable string for telemetry, the audit trail
/// and the deterministic fallback. Messages never contain the API key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    #[error("authentication failed (HTTP 401): {0}")]
    Unauthorized(String),
    #[error("access denied (HTTP 403): {0}")]
    Forbidden(String),
    #[error("rate limited by the provider (HTTP 429){}", retry_note(*retry_after))]
    RateLimited { retry_after: Option<Duration> },
    #[error("the provider is overloaded: {0}")]
    Overloaded(String),
    /// The account's quota or credit is spent (OpenAI `insufficient_quota`): not retried.
    #[error("quota exhausted at the provider: {0}")]
    QuotaExhausted(String),
    #[error("provider error{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Server {
        status: Option<u16>,
        message: String,
    },
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("transport error: {0}")]
    Transport(String),
    /// The provider rejected the request (HTTP 400, 404, 413, 422…): `kind` is its error type.
    #[error("request rejected (HTTP {status}, {kind}): {message}")]
    BadRequest {
        status: u16,
        kind: String,
        message: String,
    },
    /// The model answered, but not in the shape asked for. The tokens were spent: `usage` says how
    /// many, so budgets and costs still count them.
    #[error("invalid model output: {message}")]
    InvalidOutput { message: String, usage: Usage },
    #[error("token budget of incident `{incident}` spent ({used} of {limit} tokens)")]
    BudgetExceeded {
        incident: String,
        used: u64,
        limit: u64,
    },
    #[error("circuit open after repeated failures; retrying after {0:?}")]
    CircuitOpen(Duration),
    #[error("configuration: {0}")]
    Config(String),
}

fn retry_note(d: Option<Duration>) -> String {
    d.map(|d| format!(", retry after {}s", d.as_secs()))
        .unwrap_or_default()
}

impl ProviderError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::RateLimited { .. } => "rate_limited",
            Self::Overloaded(_) => "overloaded",
            Self::QuotaExhausted(_) => "quota_exhausted",
            Self::Server { .. } => "server_error",
            Self::Timeout(_) => "timeout",
            Self::Transport(_) => "transport",
            Self::BadRequest { .. } => "bad_request",
            Self::InvalidOutput { .. } => "invalid_output",
            Self::BudgetExceeded { .. } => "budget_exceeded",
            Self::CircuitOpen(_) => "circuit_open",
            Self::Config(_) => "config",
        }
    }

    /// Failures that say the provider is unhealthy or unusable and count against the circuit
    /// breaker: the transient ones and rejected credentials. A rejected request or a bad answer
    /// says nothing about the provider's health.
    pub fn counts_against_breaker(&self) -> bool {
        matches!(
            self,
            Self::Unauthorized(_)
                | Self::Forbidden(_)
                | Self::RateLimited { .. }
                | Self::Overloaded(_)
                | Self::QuotaExhausted(_)
                | Self::Server { .. }
                | Self::Timeout(_)
                | Self::Transport(_)
        )
    }

    /// Tokens spent by a call that failed after the model answered.
    pub fn usage(&self) -> Option<Usage> {
        match self {
            Self::InvalidOutput { usage, .. } => Some(*usage),
            _ => None,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>, usage: Usage) -> Self {
        Self::InvalidOutput {
            message: message.into(),
            usage,
        }
    }
}
