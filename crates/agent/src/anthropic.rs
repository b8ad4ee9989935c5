//! Anthropic Messages API: `POST {base}/v1/messages` with `x-api-key` and
//! `anthropic-version: 2023-06-01`.
//!
//! Tools go out as `tools: [{name, description, input_schema}]`; the model's calls come back as
//! `tool_use` content blocks (`id`, `name`, `input` object) and their results go back in the next
//! user turn as `tool_result` blocks quoting `tool_use_id`. A structured answer is asked for by
//! offering one more tool whose `input_schema` is the response schema and forcing it
//! (`tool_choice: {"type":"tool","name":…}`); when the request also has tools the model may use,
//! `tool_choice: {"type":"any"}` lets it call one of them or answer through the schema tool. Either
//! way the answer is validated here.

use async_trait::async_trait;
use picket_enrich::Http;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::provider::{
    Completion, CompletionRequest, Message, Provider, ProviderError, StopReason, ToolCall, Usage,
};
use crate::schema::{self, Checked};
use crate::wire;

pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";
pub const API_VERSION: &str = "2023-06-01";

/// A client for one model.
pub struct Anthropic {
    http: Http,
    model: String,
}

impl Anthropic {
    /// `http` carries the base URL (without `/v1`), the API key, timeouts and retries; its
    /// connector name is this provider's name.
    pub fn new(http: Http, model: impl Into<String>) -> Self {
        Self {
            http,
            model: model.into(),
        }
    }

    /// The request body, as documented.
    pub fn body(&self, req: &CompletionRequest) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(self.model));
        body.insert("max_tokens".into(), json!(req.max_tokens));
        if let Some(system) = &req.system {
            body.insert("system".into(), json!(system));
        }
        body.insert("messages".into(), Value::Array(messages(&req.messages)));
        let mut tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                json!({"name": t.name, "description": t.description, "input_schema": t.input_schema})
            })
            .collect();
        if let Some(out) = &req.response_schema {
            let description = out.description.clone().unwrap_or_else(|| {
                "Give the final answer by calling this tool with it as the input.".into()
            });
            let choice = if tools.is_empty() {
                json!({"type": "tool", "name": out.name})
            } else {
                json!({"type": "any"})
            };
            tools.push(
                json!({"name": out.name, "description": description, "input_schema": out.schema}),
            );
            body.insert("tool_choice".into(), choice);
        }
        if !tools.is_empty() {
            body.insert("tools".into(), Value::Array(tools));
        }
        if let Some(t) = req.temperature {
            body.insert("temperature".into(), json!(t));
        }
        Value::Object(body)
    }
}

/// Conversation turns as content blocks. Consecutive user-side turns (tool results, then text)
/// become one user message, tool results first, as the API requires.
fn messages(turns: &[Message]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut user: Vec<Value> = Vec::new();
    let flush = |user: &mut Vec<Value>, out: &mut Vec<Value>| {
        if user.is_empty() {
            return;
        }
        let content = match user.as_slice() {
            [one] if one["type"] == "text" => one["text"].clone(),
            _ => {
                // tool_result blocks must come before any text in a user turn.
                user.sort_by_key(|b| b["type"] != "tool_result");
                Value::Array(std::mem::take(user))
            }
        };
        user.clear();
        out.push(json!({"role": "user", "content": content}));
    };
    for m in turns {
        match m {
            Message::User { text } => user.push(json!({"type": "text", "text": text})),
            Message::ToolResult {
                call_id,
                content,
                is_error,
            } => {
                let mut block =
                    json!({"type": "tool_result", "tool_use_id": call_id, "content": content});
                if *is_error {
                    block["is_error"] = json!(true);
                }
                user.push(block);
            }
            Message::Assistant { text, tool_calls } => {
                flush(&mut user, &mut out);
                let content = if tool_calls.is_empty() {
                    json!(text)
                } else {
                    let mut blocks = Vec::new();
                    if !text.is_empty() {
                        blocks.push(json!({"type": "text", "text": text}));
                    }
                    for c in tool_calls {
                        blocks.push(json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}));
                    }
                    Value::Array(blocks)
                };
                out.push(json!({"role": "assistant", "content": content}));
            }
        }
    }
    flush(&mut user, &mut out);
    out
}

#[derive(Deserialize)]
struct Response {
    content: Vec<Block>,
    model: String,
    stop_reason: Option<String>,
    usage: WireUsage,
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Block {
    #[serde(rename = "text")]
    Text { text: String },
    #[serde(rename = "tool_use")]
    ToolUse {
        id: String,
        name: String,
        input: Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct WireUsage {
    input_tokens: u64,
    output_tokens: u64,
    // Prompt-cache tokens are billed as input; counted with it.
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
}

fn answer(
    req: &CompletionRequest,
    checked: &Checked,
    r: Response,
) -> Result<Completion, ProviderError> {
    let usage = Usage {
        input_tokens: r.usage.input_tokens
            + r.usage.cache_creation_input_tokens.unwrap_or(0)
            + r.usage.cache_read_input_tokens.unwrap_or(0),
        output_tokens: r.usage.output_tokens,
    };
    let mut stop_reason = match r.stop_reason.as_deref() {
        Some("end_turn") => StopReason::EndTurn,
        Some("tool_use") => StopReason::ToolUse,
        Some("max_tokens") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_owned()),
        None => StopReason::Other("none".into()),
    };
    let mut texts = Vec::new();
    let mut tool_calls = Vec::new();
    let mut structured = None;
    let out_name = req.response_schema.as_ref().map(|s| s.name.as_str());
    for b in r.content {
        match b {
            Block::Text { text } => texts.push(text),
            Block::ToolUse { name, input, .. } if Some(name.as_str()) == out_name => {
                checked.output(&input, usage)?;
                structured = Some(input);
            }
            Block::ToolUse { id, name, input } => {
                checked.tool_call(&name, &input, usage)?;
                tool_calls.push(ToolCall {
                    id,
                    name,
                    arguments: input,
                });
            }
            Block::Other => {}
        }
    }
    if checked.has_output() && structured.is_none() && tool_calls.is_empty() {
        return Err(ProviderError::invalid(
            format!(
                "no structured output: the model did not call `{}` (stop reason {})",
                out_name.unwrap_or_default(),
                stop_reason.as_str()
            ),
            usage,
        ));
    }
    // The answer came through the schema tool: for the caller that is a finished turn.
    if structured.is_some() && tool_calls.is_empty() && stop_reason == StopReason::ToolUse {
        stop_reason = StopReason::EndTurn;
    }
    Ok(Completion {
        text: texts.join("\n"),
        tool_calls,
        structured,
        stop_reason,
        usage,
        model: r.model,
    })
}

#[async_trait]
impl Provider for Anthropic {
    fn name(&self) -> &str {
        self.http.connector()
    }

    async fn complete(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        let checked = schema::check(req)?;
        let key = self.http.secret().map_err(wire::from_connector)?;
        let url = self.http.url("v1/messages").map_err(wire::from_connector)?;
        let body = self.body(req);
        let reply = self
            .http
            .send("messages", |c| {
                c.post(url.clone())
                    .header("x-api-key", key.expose())
                    .header("anthropic-version", API_VERSION)
                    .json(&body)
            })
            .await
            .map_err(wire::from_connector)?;
        if !reply.is_success() {
            return Err(wire::rejected(&self.http, &reply));
        }
        let r: Response = serde_json::from_slice(&reply.body)
            .map_err(|e| wire::malformed(&self.http, &reply, &e))?;
        answer(req, &checked, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ToolCall;

    #[test]
    fn tool_results_lead_the_merged_user_turn() {
        let turns = vec![
            Message::user("look at 10.0.0.1"),
            Message::Assistant {
                text: String::new(),
                tool_calls: vec![
                    ToolCall {
                        id: "toolu_1".into(),
                        name: "lookup".into(),
                        arguments: json!({"ip": "10.0.0.1"}),
                    },
                    ToolCall {
                        id: "toolu_2".into(),
                        name: "lookup".into(),
                        arguments: json!({"ip": "10.0.0.2"}),
                    },
                ],
            },
            Message::tool_result("toolu_1", "clean"),
            Message::user("and be brief"),
            Message::tool_error("toolu_2", "timeout"),
        ];
        let m = messages(&turns);
        assert_eq!(m.len(), 3);
        assert_eq!(m[0], json!({"role":"user","content":"look at 10.0.0.1"}));
        assert_eq!(m[1]["content"][0]["type"], "tool_use");
        assert_eq!(m[1]["content"].as_array().unwrap().len(), 2);
        assert_eq!(
            m[2]["content"],
            json!([
                {"type":"tool_result","tool_use_id":"toolu_1","content":"clean"},
                {"type":"tool_result","tool_use_id":"toolu_2","content":"timeout","is_error":true},
                {"type":"text","text":"and be brief"}
            ])
        );
    }
}
