//! LLM providers behind one trait.
//!
//! Picket may ask a model to read, reason and propose; a deterministic engine always answers. This
//! crate gives it typed clients for the two wire formats that matter — the Anthropic Messages API
//! ([`anthropic`]) and OpenAI Chat Completions with its Azure and OpenAI-compatible variants
//! ([`openai`]) — behind [`Provider`]. Every tool call's arguments and every structured answer is
//! validated against its JSON Schema before a caller sees it ([`schema`]); [`GuardedProvider`]
//! adds a circuit breaker, a token budget per incident and cost accounting; [`config`] checks and
//! builds a provider from configuration. HTTP (timeouts, bounded retries honouring `Retry-After`,
//! call events, secrets kept out of events and errors) is `picket_enrich::Http`.

pub mod anthropic;
pub mod config;
pub mod contract;
pub mod guard;
pub mod injection;
pub mod investigate;
pub mod openai;
pub mod provider;
pub mod schema;
pub mod tools;
mod wire;

pub use anthropic::Anthropic;
pub use config::{ProviderConfig, ProviderKind, build};
pub use guard::{BreakerState, Budget, GuardSettings, GuardedProvider, Pricing, Spend};
pub use investigate::{Investigation, Investigator, Mode};
pub use openai::{Dialect, OpenAi};
pub use provider::{
    Completion, CompletionRequest, Message, OutputSchema, Provider, ProviderError, StopReason,
    ToolCall, ToolDef, Usage,
};
pub use schema::schema_for;
pub use tools::{Caller, ToolOutput, ToolRequest, Toolbox};
