//! JSON Schemas: generated from Rust types for callers, checked before a request is sent, and used
//! to validate every tool call and structured answer that comes back.

use std::collections::HashMap;

use jsonschema::Validator;
use schemars::JsonSchema;
use serde_json::{Map, Value};

use crate::provider::{CompletionRequest, ProviderError, Usage};

/// The JSON Schema of `T` as both providers take it: schemars' draft 2020-12 schema without the
/// `$schema` key, every object closed (`additionalProperties: false` unless the type says
/// otherwise) and every property listed in `required` (optional fields stay nullable), which is
/// what OpenAI's strict structured outputs demand and what the other providers accept.
pub fn schema_for<T: JsonSchema>() -> Value {
    let mut v = schemars::schema_for!(T).to_value();
    if let Value::Object(m) = &mut v {
        m.remove("$schema");
    }
    close(&mut v);
    v
}

/// Walks a schema by its keywords (not blindly: a property may be called `properties`).
fn close(v: &mut Value) {
    let Value::Object(m) = v else { return };
    if let Some(Value::Object(props)) = m.get("properties") {
        let names: Vec<Value> = props.keys().cloned().map(Value::String).collect();
        m.insert("required".into(), Value::Array(names));
        m.entry("additionalProperties")
            .or_insert(Value::Bool(false));
    }
    for (k, child) in m.iter_mut() {
        match k.as_str() {
            "properties" | "$defs" | "definitions" | "patternProperties" | "dependentSchemas" => {
                if let Value::Object(map) = child {
                    map.values_mut().for_each(close);
                }
            }
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                if let Value::Array(items) = child {
                    items.iter_mut().for_each(close);
                }
            }
            "items"
            | "additionalProperties"
            | "not"
            | "if"
            | "then"
            | "else"
            | "contains"
            | "unevaluatedProperties"
            | "unevaluatedItems"
            | "propertyNames" => close(child),
            _ => {}
        }
    }
}

/// `[A-Za-z0-9_-]{1,64}`: the tool and schema names both APIs accept.
pub(crate) fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A request's schemas, compiled once it passed the checks made before anything is sent.
pub(crate) struct Checked {
    tools: HashMap<String, Validator>,
    output: Option<(String, Validator)>,
}

fn compile(what: &str, schema: &Value) -> Result<Validator, ProviderError> {
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(ProviderError::Config(format!(
            "{what}: the schema's root must be `\"type\": \"object\"`"
        )));
    }
    jsonschema::validator_for(schema)
        .map_err(|e| ProviderError::Config(format!("{what}: invalid JSON Schema: {e}")))
}

/// Checks a request before it is sent: at least one message, `max_tokens` ≥ 1, tool and schema
/// names the APIs accept and that do not clash, object schemas that compile.
pub(crate) fn check(req: &CompletionRequest) -> Result<Checked, ProviderError> {
    if req.messages.is_empty() {
        return Err(ProviderError::Config("a request needs a message".into()));
    }
    if req.max_tokens == 0 {
        return Err(ProviderError::Config(
            "max_tokens must be at least 1".into(),
        ));
    }
    let mut tools = HashMap::new();
    for t in &req.tools {
        if !valid_name(&t.name) {
            return Err(ProviderError::Config(format!(
                "tool name `{}` must be 1-64 of A-Z a-z 0-9 _ -",
                t.name
            )));
        }
        let v = compile(&format!("tool `{}`", t.name), &t.input_schema)?;
        if tools.insert(t.name.clone(), v).is_some() {
            return Err(ProviderError::Config(format!(
                "tool `{}` is defined twice",
                t.name
            )));
        }
    }
    let output = match &req.response_schema {
        None => None,
        Some(s) => {
            if !valid_name(&s.name) {
                return Err(ProviderError::Config(format!(
                    "response schema name `{}` must be 1-64 of A-Z a-z 0-9 _ -",
                    s.name
                )));
            }
            if tools.contains_key(&s.name) {
                return Err(ProviderError::Config(format!(
                    "response schema name `{}` is also a tool's name",
                    s.name
                )));
            }
            Some((
                s.name.clone(),
                compile(&format!("response schema `{}`", s.name), &s.schema)?,
            ))
        }
    };
    Ok(Checked { tools, output })
}

/// Up to three validation errors, each with the JSON pointer of the offending value.
fn describe(v: &Validator, value: &Value) -> Option<String> {
    let errors: Vec<String> = v
        .iter_errors(value)
        .take(3)
        .map(|e| {
            let path = e.instance_path().to_string();
            let path = if path.is_empty() { "/".into() } else { path };
            let mut msg = e.to_string();
            if msg.len() > 300 {
                let mut cut = 300;
                while !msg.is_char_boundary(cut) {
                    cut -= 1;
                }
                msg.truncate(cut);
                msg.push('…');
            }
            format!("at {path}: {msg}")
        })
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

impl Checked {
    pub(crate) fn has_output(&self) -> bool {
        self.output.is_some()
    }

    /// A tool call's arguments against its tool's schema; unknown tools are `invalid_output` too.
    pub(crate) fn tool_call(
        &self,
        name: &str,
        args: &Value,
        usage: Usage,
    ) -> Result<(), ProviderError> {
        let Some(v) = self.tools.get(name) else {
            return Err(ProviderError::invalid(
                format!("the model called `{name}`, which is not one of the request's tools"),
                usage,
            ));
        };
        match describe(v, args) {
            None => Ok(()),
            Some(why) => Err(ProviderError::invalid(
                format!("arguments of tool `{name}` do not match its schema: {why}"),
                usage,
            )),
        }
    }

    /// A structured answer against the response schema.
    pub(crate) fn output(&self, value: &Value, usage: Usage) -> Result<(), ProviderError> {
        let Some((name, v)) = &self.output else {
            return Ok(());
        };
        match describe(v, value) {
            None => Ok(()),
            Some(why) => Err(ProviderError::invalid(
                format!("structured output does not match schema `{name}`: {why}"),
                usage,
            )),
        }
    }
}

/// Parses tool-call arguments sent as a JSON string (OpenAI format). An object is taken as is
/// (some OpenAI-compatible servers send one); an empty string means no arguments.
pub(crate) fn parse_arguments(
    name: &str,
    raw: &Value,
    usage: Usage,
) -> Result<Value, ProviderError> {
    match raw {
        Value::String(s) if s.trim().is_empty() => Ok(Value::Object(Map::new())),
        Value::String(s) => serde_json::from_str(s).map_err(|e| {
            ProviderError::invalid(
                format!("arguments of tool `{name}` are not valid JSON: {e}"),
                usage,
            )
        }),
        Value::Object(_) => Ok(raw.clone()),
        other => Err(ProviderError::invalid(
            format!(
                "arguments of tool `{name}` are neither a JSON string nor an object: {}",
                kind_of(other)
            ),
            usage,
        )),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(JsonSchema, serde::Deserialize)]
    #[allow(dead_code)]
    struct Verdict {
        verdict: String,
        confidence: f64,
        note: Option<String>,
        properties: Inner,
    }

    #[derive(JsonSchema, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        tags: Vec<String>,
    }

    #[test]
    fn schema_for_closes_objects_and_requires_every_property() {
        let s = schema_for::<Verdict>();
        assert!(s.get("$schema").is_none());
        assert_eq!(s["type"], "object");
        assert_eq!(s["additionalProperties"], false);
        let mut req: Vec<&str> = s["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        req.sort_unstable();
        assert_eq!(req, ["confidence", "note", "properties", "verdict"]);
        // The nested type lives in $defs and is closed too; the field named `properties` was not
        // taken for the keyword.
        let inner = &s["$defs"]["Inner"];
        assert_eq!(inner["additionalProperties"], false);
        assert_eq!(inner["required"], json!(["tags"]));
        // Optional stays nullable, so a null is valid and a missing key is not.
        let v = jsonschema::validator_for(&s).unwrap();
        assert!(v.is_valid(
            &json!({"verdict":"benign","confidence":0.9,"note":null,"properties":{"tags":[]}})
        ));
        assert!(
            !v.is_valid(&json!({"verdict":"benign","confidence":0.9,"properties":{"tags":[]}}))
        );
        assert!(!v.is_valid(&json!({"verdict":"benign","confidence":0.9,"note":null,"properties":{"tags":[]},"extra":1})));
    }

    #[test]
    fn names_follow_the_api_rules() {
        assert!(valid_name("lookup_ip-2"));
        assert!(!valid_name(""));
        assert!(!valid_name("has space"));
        assert!(!valid_name(&"x".repeat(65)));
    }

    #[test]
    fn validation_errors_carry_the_path() {
        let mut req = CompletionRequest::new(10).user("hi");
        req.tools.push(crate::ToolDef::new(
            "lookup",
            "d",
            json!({"type":"object","properties":{"ip":{"type":"string"}},"required":["ip"]}),
        ));
        let c = check(&req).unwrap();
        let e = c
            .tool_call("lookup", &json!({"ip": 5}), Usage::default())
            .unwrap_err();
        assert_eq!(e.code(), "invalid_output");
        assert!(e.to_string().contains("at /ip:"), "{e}");
        let e = c
            .tool_call("nope", &json!({}), Usage::default())
            .unwrap_err();
        assert!(e.to_string().contains("`nope`"), "{e}");
        assert!(
            c.tool_call("lookup", &json!({"ip":"1.2.3.4"}), Usage::default())
                .is_ok()
        );
    }

    #[test]
    fn requests_are_checked_before_sending() {
        let mut req = CompletionRequest::new(10).user("hi");
        req.tools
            .push(crate::ToolDef::new("t", "d", json!({"type":"string"})));
        assert_eq!(check(&req).err().unwrap().code(), "config");
        let req = CompletionRequest::new(10);
        assert_eq!(check(&req).err().unwrap().code(), "config");
        let req = CompletionRequest::new(0).user("x");
        assert_eq!(check(&req).err().unwrap().code(), "config");
    }

    #[test]
    fn string_arguments_are_parsed() {
        let u = Usage::default();
        assert_eq!(
            parse_arguments("t", &json!("{\"a\":1}"), u).unwrap(),
            json!({"a":1})
        );
        assert_eq!(parse_arguments("t", &json!(""), u).unwrap(), json!({}));
        assert_eq!(
            parse_arguments("t", &json!({"a":1}), u).unwrap(),
            json!({"a":1})
        );
        let e = parse_arguments("t", &json!("{\"a\":"), u).unwrap_err();
        assert_eq!(e.code(), "invalid_output");
        assert_eq!(
            parse_arguments("t", &json!(3), u).unwrap_err().code(),
            "invalid_output"
        );
    }
}
