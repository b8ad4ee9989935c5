//! Loading a playbook: TOML parsed with spans, then every step checked, all problems reported at once
//! with `file:line:col`.

use std::collections::HashSet;
use std::fmt;
use std::ops::Range;

use sha2::{Digest, Sha256};
use toml::Spanned;

use crate::model::{FileDef, Playbook, Step, StepDef, StepKind, Trigger};
use crate::template;

/// One problem in a playbook file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

struct Cx<'a> {
    file: &'a str,
    text: &'a str,
    errors: Vec<Located>,
    ids: HashSet<String>,
    actions: Vec<String>,
}

impl Cx<'_> {
    fn pos(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    fn err(&mut self, span: Range<usize>, message: impl Into<String>) {
        let (line, column) = self.pos(span.start);
        self.errors.push(Located {
            file: self.file.to_owned(),
            line,
            column,
            message: message.into(),
        });
    }
}

/// The agent's investigation modes a playbook may name.
pub const INVESTIGATION_MODES: &[&str] = &[
    "pipeline",
    "parallel",
    "supervisor_worker",
    "blackboard",
    "consensus",
];

/// Parses and checks one playbook file's text. `file` names it in messages.
pub fn load(text: &str, file: &str) -> Result<Playbook, Vec<Located>> {
    let mut cx = Cx {
        file,
        text,
        errors: Vec::new(),
        ids: HashSet::new(),
        actions: picket_policy::default_catalog()
            .into_iter()
            .map(|a| a.name)
            .collect(),
    };
    let def: FileDef = match toml::from_str(text) {
        Ok(d) => d,
        Err(e) => {
            cx.err(e.span().unwrap_or(0..0), e.message().to_owned());
            return Err(cx.errors);
        }
    };
    if def.name.get_ref().trim().is_empty() {
        cx.err(def.name.span(), "`name` must not be empty");
    }
    if def.version.get_ref().trim().is_empty() {
        cx.err(def.version.span(), "`version` must not be empty");
    }
    check_trigger(&mut cx, &def.trigger);
    if let Some(m) = &def.investigate
        && !INVESTIGATION_MODES.contains(&m.get_ref().as_str())
    {
        cx.err(
            m.span(),
            format!(
                "`investigate` is `{}`; expected one of: {}",
                m.get_ref(),
                INVESTIGATION_MODES.join(", ")
            ),
        );
    }
    if def.steps.is_empty() {
        cx.err(0..0, "a playbook needs at least one step (`[[steps]]`)");
    }
    let steps = steps(&mut cx, &def.steps, "steps");
    if !cx.errors.is_empty() {
        return Err(cx.errors);
    }
    Ok(Playbook {
        name: def.name.into_inner(),
        version: def.version.into_inner(),
        description: def.description,
        enabled: def.enabled,
        sha256: hex::encode(Sha256::digest(text.as_bytes())),
        file: file.to_owned(),
        trigger: def.trigger.into_inner(),
        investigate: def.investigate.map(|m| m.into_inner()),
        steps,
    })
}

fn check_trigger(cx: &mut Cx<'_>, t: &Spanned<Trigger>) {
    let span = t.span();
    let t = t.get_ref();
    if let Some(c) = t.min_confidence
        && !(0.0..=1.0).contains(&c)
    {
        cx.err(
            span.clone(),
            "`trigger.min_confidence` must be within [0, 1]",
        );
    }
    for tech in &t.techniques {
        let ok = tech.starts_with('T')
            && tech[1..]
                .split('.')
                .all(|p| p.len() >= 3 && p.chars().all(|c| c.is_ascii_digit()));
        if !ok {
            cx.err(
                span.clone(),
                format!("`trigger.techniques`: `{tech}` is not an ATT&CK technique id (T1110, T1110.003)"),
            );
        }
    }
    for tac in &t.tactics {
        if !picket_core::attack::TACTICS
            .iter()
            .any(|(_, short, _)| short == tac)
        {
            cx.err(
                span.clone(),
                format!("`trigger.tactics`: unknown tactic `{tac}`"),
            );
        }
    }
    if let Some(w) = &t.when
        && let Err(e) = template::check_expr(w)
    {
        cx.err(span, format!("`trigger.when`: {e}"));
    }
}

fn steps(cx: &mut Cx<'_>, list: &[Spanned<StepDef>], path: &str) -> Vec<Step> {
    list.iter()
        .enumerate()
        .filter_map(|(i, s)| step(cx, s, &format!("{path}[{i}]")))
        .collect()
}

fn need<'a, T>(
    cx: &mut Cx<'_>,
    v: &'a Option<T>,
    span: &Range<usize>,
    kind: &str,
    field: &str,
) -> Option<&'a T> {
    if v.is_none() {
        cx.err(span.clone(), format!("a `{kind}` step needs `{field}`"));
    }
    v.as_ref()
}

fn template_at(cx: &mut Cx<'_>, s: &Spanned<String>, field: &str) {
    if let Err(e) = template::check_template(s.get_ref()) {
        cx.err(s.span(), format!("`{field}`: {e}"));
    }
}

fn params_templates(cx: &mut Cx<'_>, v: &toml::Value, span: &Range<usize>, key: &str) {
    match v {
        toml::Value::String(s) => {
            if let Err(e) = template::check_template(s) {
                cx.err(span.clone(), format!("`{key}`: {e}"));
            }
        }
        toml::Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                params_templates(cx, x, span, &format!("{key}[{i}]"));
            }
        }
        toml::Value::Table(t) => {
            for (k, x) in t {
                params_templates(cx, x, span, &format!("{key}.{k}"));
            }
        }
        _ => {}
    }
}

fn step(cx: &mut Cx<'_>, s: &Spanned<StepDef>, path: &str) -> Option<Step> {
    let span = s.span();
    let d = s.get_ref();
    let kind = d.kind.get_ref().as_str();
    let id = d.id.clone().unwrap_or_else(|| path.to_owned());
    if !cx.ids.insert(id.clone()) {
        cx.err(span.clone(), format!("step id `{id}` is used twice"));
    }
    // Fields that belong to other step types are mistakes, not silently ignored.
    let given: Vec<&str> = [
        ("if", d.condition.is_some()),
        ("then", !d.then.is_empty()),
        ("else", !d.otherwise.is_empty()),
        ("action", d.action.is_some()),
        ("target", d.target.is_some()),
        ("params", d.params.is_some()),
        ("responder", d.responder.is_some()),
        ("message", d.message.is_some()),
        ("reason", d.reason.is_some()),
        ("branches", !d.branches.is_empty()),
        ("in", d.items.is_some()),
        ("limit", d.limit.is_some()),
        ("steps", !d.steps.is_empty()),
    ]
    .into_iter()
    .filter_map(|(k, set)| set.then_some(k))
    .collect();
    let allowed: &[&str] = match kind {
        "enrich" => &[],
        "condition" => &["if", "then", "else"],
        "action" => &["action", "target", "params", "responder"],
        "notify" => &["message", "responder"],
        "approval" => &["reason"],
        "parallel" => &["branches"],
        "for_each" => &["in", "limit", "steps"],
        other => {
            cx.err(
                d.kind.span(),
                format!(
                    "unknown step type `{other}`, expected one of: enrich, condition, action, notify, approval, parallel, for_each"
                ),
            );
            return None;
        }
    };
    for g in given.iter().filter(|g| !allowed.contains(g)) {
        cx.err(
            span.clone(),
            format!("`{g}` does not apply to a `{kind}` step"),
        );
    }
    let line = cx.pos(span.start).0;
    let kind = match kind {
        "enrich" => StepKind::Enrich,
        "condition" => {
            let expr = need(cx, &d.condition, &span, kind, "if")?;
            if let Err(e) = template::check_expr(expr.get_ref()) {
                cx.err(expr.span(), format!("`if`: {e}"));
            }
            if d.then.is_empty() && d.otherwise.is_empty() {
                cx.err(
                    span.clone(),
                    "a `condition` step needs `then` or `else` steps",
                );
            }
            StepKind::Condition {
                expr: expr.get_ref().clone(),
                then: steps(cx, &d.then, &format!("{path}.then")),
                otherwise: steps(cx, &d.otherwise, &format!("{path}.else")),
            }
        }
        "action" => {
            let action = need(cx, &d.action, &span, kind, "action")?;
            if !cx.actions.contains(action.get_ref()) {
                cx.err(
                    action.span(),
                    format!(
                        "unknown action `{}`, expected one of: {}",
                        action.get_ref(),
                        cx.actions.join(", ")
                    ),
                );
            }
            if let Some(t) = &d.target {
                template_at(cx, t, "target");
            }
            let params = match &d.params {
                Some(p) => {
                    let v = toml::Value::Table(p.get_ref().clone());
                    params_templates(cx, &v, &p.span(), "params");
                    serde_json::to_value(&v).unwrap_or(serde_json::Value::Null)
                }
                None => serde_json::json!({}),
            };
            StepKind::Action {
                action: action.get_ref().clone(),
                target: d
                    .target
                    .as_ref()
                    .map(|t| t.get_ref().clone())
                    .unwrap_or_default(),
                params,
                responder: d.responder.clone(),
            }
        }
        "notify" => {
            let m = need(cx, &d.message, &span, kind, "message")?;
            template_at(cx, m, "message");
            StepKind::Notify {
                message: m.get_ref().clone(),
                responder: d.responder.clone(),
            }
        }
        "approval" => StepKind::Approval {
            reason: need(cx, &d.reason, &span, kind, "reason")?.clone(),
        },
        "parallel" => {
            if d.branches.len() < 2 {
                cx.err(
                    span.clone(),
                    "a `parallel` step needs at least two `branches`",
                );
            }
            StepKind::Parallel {
                branches: d
                    .branches
                    .iter()
                    .enumerate()
                    .map(|(i, b)| {
                        steps(
                            cx,
                            &b.get_ref().steps,
                            &format!("{path}.branches[{i}].steps"),
                        )
                    })
                    .collect(),
            }
        }
        "for_each" => {
            let items = need(cx, &d.items, &span, kind, "in")?;
            if let Err(e) = template::check_expr(items.get_ref()) {
                cx.err(items.span(), format!("`in`: {e}"));
            }
            if d.steps.is_empty() {
                cx.err(span.clone(), "a `for_each` step needs `steps`");
            }
            let limit = d.limit.unwrap_or(20);
            if limit == 0 {
                cx.err(span.clone(), "`limit` must be at least 1");
            }
            StepKind::ForEach {
                items: items.get_ref().clone(),
                limit,
                steps: steps(cx, &d.steps, &format!("{path}.steps")),
            }
        }
        _ => unreachable!("checked above"),
    };
    Some(Step { id, line, kind })
}
