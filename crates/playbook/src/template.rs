//! Templates and expressions over the incident (minijinja, strict: an unknown name is an error, never
//! an empty string sent to a vendor).

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind, State, UndefinedBehavior};

/// Labels that make an observable unfit as a response target.
const UNFIT: [&str; 4] = ["private", "loopback", "reserved", "link_local"];

pub(crate) fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_function("observables", observables);
    env
}

/// `observables('ipv4')`: the incident's values of that type that are not known-benign, private,
/// loopback or reserved, in incident order.
fn observables(state: &State, kind: String) -> Result<Vec<String>, Error> {
    let incident = state
        .lookup("incident")
        .ok_or_else(|| Error::new(ErrorKind::UndefinedError, "no incident in scope"))?;
    let list = incident.get_attr("observables")?;
    let mut out = Vec::new();
    for o in list.try_iter()? {
        let ty = o.get_attr("type")?;
        if ty.as_str() != Some(kind.as_str()) {
            continue;
        }
        let benign = o
            .get_attr("benign_lists")
            .ok()
            .and_then(|v| v.len())
            .unwrap_or(0);
        let unfit = o
            .get_attr("labels")
            .ok()
            .filter(|v| !v.is_undefined())
            .map(|v| {
                v.try_iter()
                    .map(|mut it| it.any(|l| l.as_str().is_some_and(|s| UNFIT.contains(&s))))
                    .unwrap_or(false)
            })
            .unwrap_or(false);
        if benign == 0
            && !unfit
            && let Some(v) = o.get_attr("value")?.as_str()
        {
            out.push(v.to_owned());
        }
    }
    Ok(out)
}

pub(crate) fn check_template(src: &str) -> Result<(), String> {
    env()
        .template_from_str(src)
        .map(|_| ())
        .map_err(|e| describe(&e))
}

pub(crate) fn check_expr(src: &str) -> Result<(), String> {
    env()
        .compile_expression(src)
        .map(|_| ())
        .map_err(|e| describe(&e))
}

pub(crate) fn render(src: &str, ctx: &Value) -> Result<String, String> {
    env().render_str(src, ctx).map_err(|e| describe(&e))
}

pub(crate) fn eval(src: &str, ctx: &Value) -> Result<Value, String> {
    let env = env();
    let expr = env.compile_expression(src).map_err(|e| describe(&e))?;
    expr.eval(ctx).map_err(|e| describe(&e))
}

fn describe(e: &Error) -> String {
    match e.detail() {
        Some(d) => format!("{}: {d}", e.kind()),
        None => e.kind().to_string(),
    }
}
