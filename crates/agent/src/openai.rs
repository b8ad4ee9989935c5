//! OpenAI Chat Completions and the servers that speak it: OpenAI (`POST {base}/v1/chat/completions`,
//! `Authorization: Bearer`), Azure OpenAI (`POST {base}/openai/deployments/{deployment}/chat/completions?api-version=…`,
//! `api-key` header) and OpenAI-compatible servers such as vLLM, Ollama and the llama.cpp server
//! (OpenAI's path, a bearer key only when one is configured, `max_tokens` instead of
//! `max_completion_tokens`).
//!
//! Tools go out as `[{type:"function", function:{name, description, parameters}}]`; calls come
//! back in `message.tool_calls` with `function.arguments` as a JSON *string*, parsed and validated
//! here; results go back as `{role:"tool", tool_call_id, content}`. Structured output uses
//! `response_format: {type:"json_schema", json_schema:{name, schema, strict:true}}` and the answer
//! (the message content) is parsed and validated here too.

use async_trait::async_trait;
use picket_enrich::Http;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::provider::{
    Completion, CompletionRequest, Message, Provider, ProviderError, StopReason, ToolCall, Usage,
};
use crate::schema::{self, Checked};
use crate::wire;

pub const DEFAULT_BASE_URL: &str = "https://api.openai.com";

/// Which server speaks the format, for its few differences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialect {
    OpenAi,
    Azure {
        deployment: String,
        api_version: String,
    },
    /// vLLM, Ollama, llama.cpp server and the like.
    Compatible,
}

/// A client for one model (or Azure deployment).
pub struct OpenAi {
    http: Http,
    model: String,
    dialect: Dialect,
}

impl OpenAi {
    /// OpenAI itself: `http` carries the base URL (without `/v1`) and the key (required).
    pub fn new(http: Http, model: impl Into<String>) -> Self {
        Self {
            http,
            model: model.into(),
            dialect: Dialect::OpenAi,
        }
    }

    /// Azure OpenAI: base `https://{resource}.openai.azure.com`, the key sent as `api-key`. The
    /// deployment picks the model; `model` is only a label (the deployment's name when empty).
    pub fn azure(
        http: Http,
        model: impl Into<String>,
        deployment: impl Into<String>,
        api_version: impl Into<String>,
    ) -> Self {
        let deployment = deployment.into();
        let mut model = model.into();
        if model.is_empty() {
            model.clone_from(&deployment);
        }
        Self {
            http,
            model,
            dialect: Dialect::Azure {
                deployment,
                api_version: api_version.into(),
            },
        }
    }

    /// An OpenAI-compatible server; the key is optional.
    pub fn compatible(http: Http, model: impl Into<String>) -> Self {
        Self {
            http,
            model: model.into(),
            dialect: Dialect::Compatible,
        }
    }

    pub fn dialect(&self) -> &Dialect {
        &self.dialect
    }

    /// The request path (with its query) relative to the base URL.
    pub fn path(&self) -> String {
        match &self.dialect {
            Dialect::Azure {
                deployment,
                api_version,
            } => format!(
                "openai/deployments/{deployment}/chat/completions?api-version={api_version}"
            ),
            Dialect::OpenAi | Dialect::Compatible => "v1/chat/completions".into(),
        }
    }

    /// The request body, as documented.
    pub fn body(&self, req: &CompletionRequest) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(self.model));
        let mut msgs = Vec::new();
        if let Some(system) = &req.system {
            msgs.push(json!({"role": "system", "content": system}));
        }
        msgs.extend(req.messages.iter().map(message));
        body.insert("messages".into(), Value::Array(msgs));
        // OpenAI deprecated `max_tokens` (reasoning models reject it); compatible servers may only
        // know `max_tokens`.
        let max_key = match self.dialect {
            Dialect::Compatible => "max_tokens",
            Dialect::OpenAi | Dialect::Azure { .. } => "max_completion_tokens",
        };
        body.insert(max_key.into(), json!(req.max_tokens));
        if let Some(t) = req.temperature {
            body.insert("temperature".into(), json!(t));
        }
        if !req.tools.is_empty() {
            let tools: Vec<Value> = req
                .tools
                .iter()
                .map(|t| {
                    json!({"type": "function", "function": {
                        "name": t.name, "description": t.description, "parameters": t.input_schema
                    }})
                })
                .collect();
            body.insert("tools".into(), Value::Array(tools));
        }
        if let Some(out) = &req.response_schema {
            let mut js = Map::new();
            js.insert("name".into(), json!(out.name));
            if let Some(d) = &out.description {
                js.insert("description".into(), json!(d));
            }
            js.insert("schema".into(), out.schema.clone());
            js.insert("strict".into(), json!(true));
            body.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": js}),
            );
        }
        Value::Object(body)
    }
}

fn message(m: &Message) -> Value {
    match m {
        Message::User { text } => json!({"role": "user", "content": text}),
        Message::Assistant { text, tool_calls } if tool_calls.is_empty() => {
            json!({"role": "assistant", "content": text})
        }
        Message::Assistant { text, tool_calls } => {
            let calls: Vec<Value> = tool_calls
                .iter()
                .map(|c| {
                    json!({"id": c.id, "type": "function", "function": {
                        "name": c.name, "arguments": c.arguments.to_string()
                    }})
                })
                .collect();
            let content = if text.is_empty() {
                Value::Null
            } else {
                json!(text)
            };
            json!({"role": "assistant", "content": content, "tool_calls": calls})
        }
        // The format has no error flag on tool results: the content says it.
        Message::ToolResult {
            call_id,
            content,
            is_error,
        } => {
            let content = if *is_error {
                format!("ERROR: {content}")
            } else {
                content.clone()
            };
            json!({"role": "tool", "tool_call_id": call_id, "content": content})
        }
    }
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct WireToolCall {
    /// Some compatible servers leave it out.
    #[serde(default)]
    id: Option<String>,
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: Value,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

fn answer(checked: &Checked, model: &str, r: Response) -> Result<Completion, ProviderError> {
    let usage = r
        .usage
        .map(|u| Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
        })
        .unwrap_or_default();
    let Some(choice) = r.choices.into_iter().next() else {
        return Err(ProviderError::invalid("the response has no choices", usage));
    };
    let msg = choice.message;
    let mut tool_calls = Vec::new();
    for (i, c) in msg.tool_calls.unwrap_or_default().into_iter().enumerate() {
        let name = c.function.name;
        let arguments = schema::parse_arguments(&name, &c.function.arguments, usage)?;
        checked.tool_call(&name, &arguments, usage)?;
        tool_calls.push(ToolCall {
            id: c.id.unwrap_or_else(|| format!("call_{i}")),
            name,
            arguments,
        });
    }
    let stop_reason = match choice.finish_reason.as_deref() {
        _ if !tool_calls.is_empty() => StopReason::ToolUse,
        Some("stop") => StopReason::EndTurn,
        Some("length") => StopReason::MaxTokens,
        Some("tool_calls" | "function_call") => StopReason::ToolUse,
        Some(other) => StopReason::Other(other.to_owned()),
        None => StopReason::Other("none".into()),
    };
    let text = msg.content.unwrap_or_default();
    let mut structured = None;
    if checked.has_output() && tool_calls.is_empty() {
        if let Some(refusal) = msg.refusal.filter(|r| !r.is_empty()) {
            return Err(ProviderError::invalid(
                format!("the model refused to answer in the schema: {refusal}"),
                usage,
            ));
        }
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            ProviderError::invalid(
                format!(
                    "structured output is not JSON ({e}; stop reason {})",
                    stop_reason.as_str()
                ),
                usage,
            )
        })?;
        checked.output(&value, usage)?;
        structured = Some(value);
    }
    Ok(Completion {
        text,
        tool_calls,
        structured,
        stop_reason,
        usage,
        model: r.model.unwrap_or_else(|| model.to_owned()),
    })
}

#[async_trait]
impl Provider for OpenAi {
    fn name(&self) -> &str {
        self.http.connector()
    }

    async fn complete(&self, req: &CompletionRequest) -> Result<Completion, ProviderError> {
        let checked = schema::check(req)?;
        let key = match self.dialect {
            Dialect::Compatible => self.http.secret().ok(),
            _ => Some(self.http.secret().map_err(wire::from_connector)?),
        };
        let url = self.http.url(&self.path()).map_err(wire::from_connector)?;
        let body = self.body(req);
        let azure = matches!(self.dialect, Dialect::Azure { .. });
        let reply = self
            .http
            .send("chat.completions", |c| {
                let mut b = c.post(url.clone());
                if let Some(k) = key {
                    b = if azure {
                        b.header("api-key", k.expose())
                    } else {
                        b.bearer_auth(k.expose())
                    };
                }
                b.json(&body)
            })
            .await
            .map_err(wire::from_connector)?;
        if !reply.is_success() {
            return Err(wire::rejected(&self.http, &reply));
        }
        let r: Response = serde_json::from_slice(&reply.body)
            .map_err(|e| wire::malformed(&self.http, &reply, &e))?;
        answer(&checked, &self.model, r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_results_and_calls_take_the_documented_shape() {
        let a = message(&Message::Assistant {
            text: String::new(),
            tool_calls: vec![ToolCall {
                id: "call_1".into(),
                name: "lookup".into(),
                arguments: json!({"ip": "10.0.0.1"}),
            }],
        });
        assert_eq!(
            a,
            json!({"role":"assistant","content":null,"tool_calls":[
                {"id":"call_1","type":"function","function":{"name":"lookup","arguments":"{\"ip\":\"10.0.0.1\"}"}}
            ]})
        );
        assert_eq!(
            message(&Message::tool_error("call_1", "timeout")),
            json!({"role":"tool","tool_call_id":"call_1","content":"ERROR: timeout"})
        );
    }
}
