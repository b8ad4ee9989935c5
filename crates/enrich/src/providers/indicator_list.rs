//! Plain and CSV indicator lists on disk (air-gapped SOCs, exported blocklists).
//!
//! Plain: one indicator per line, `#` starts a comment, defanged forms (`hxxp`, `[.]`…) are refanged,
//! the type is recognised by Picket's extractor; a line holding no indicator is reported with its line
//! number when the source is built. CIDR lines (`203.0.113.0/24`) match every address inside.
//! CSV (header required): `column` names the value column (default `value`); optional `type_column`,
//! `verdict_column`, `comment_column`. Every listed value answers the list's `verdict` (default
//! malicious) unless its row says otherwise.

use std::sync::Arc;

use async_trait::async_trait;
use picket_core::{Finding, ObservableType};
use picket_ingest::extract::Extractor;

use crate::config::ConnectorConfig;
use crate::connector::{BuildContext, Connector, ConnectorError, KeyUse, Provider, Quota};
use crate::index::{Entry, Index, verdict_named};

pub(crate) static PROVIDER: Provider = Provider {
    name: "indicator_list",
    description: "plain or CSV indicator list file (offline)",
    docs: "docs/enrichment.md#indicator_list",
    kinds: &ObservableType::ALL,
    default_base_url: None,
    http: false,
    key: KeyUse::None,
    quota: Quota {
        per_minute: None,
        per_day: None,
    },
    check,
    build,
};

const OPTIONS: [&str; 6] = [
    "path",
    "format",
    "verdict",
    "column",
    "type_column",
    "verdict_column",
];

fn check(c: &ConnectorConfig) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if c.opt_str("path").is_none() {
        out.push(("options.path".into(), "required: the list file".into()));
    }
    if let Some(f) = c.opt_str("format")
        && !matches!(f, "plain" | "csv")
    {
        out.push(("options.format".into(), "plain or csv".into()));
    }
    if let Some(v) = c.opt_str("verdict")
        && verdict_named(v).is_none()
    {
        out.push((
            "options.verdict".into(),
            "malicious, suspicious, benign or unknown".into(),
        ));
    }
    for k in c.options.keys() {
        if !OPTIONS.contains(&k.as_str()) && k != "comment_column" {
            out.push((
                format!("options.{k}"),
                format!(
                    "unknown option, expected one of: {}, comment_column",
                    OPTIONS.join(", ")
                ),
            ));
        }
    }
    out
}

fn build(c: &ConnectorConfig, cx: BuildContext) -> Result<Arc<dyn Connector>, ConnectorError> {
    let path = cx.path(c.opt_str("path").unwrap_or_default());
    let text = std::fs::read_to_string(&path)
        .map_err(|e| ConnectorError::Config(format!("{}: {e}", path.display())))?;
    let default = c
        .opt_str("verdict")
        .and_then(verdict_named)
        .unwrap_or(picket_core::IntelVerdict::Malicious);
    let csv = match c.opt_str("format") {
        Some(f) => f == "csv",
        None => path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv")),
    };
    let name = path.display().to_string();
    let index = if csv {
        load_csv(&text, &name, c, default)?
    } else {
        load_plain(&text, &name, default)?
    };
    tracing::info!(connector = %c.name, entries = index.len(), "indicator list loaded");
    Ok(Arc::new(List { index }))
}

fn entry(verdict: picket_core::IntelVerdict, list: &str, comment: Option<&str>) -> Entry {
    let mut f = Finding {
        verdict: Some(verdict),
        ..Finding::default()
    }
    .highlight("list", list);
    if let Some(c) = comment.filter(|c| !c.is_empty()) {
        f = f.highlight("comment", c);
    }
    Entry { finding: f }
}

/// The indicators in one value: a CIDR network, or what the extractor finds.
fn classify(x: &Extractor, v: &str) -> Result<Vec<(ObservableType, String)>, String> {
    let mut found = Vec::new();
    x.extract_text(v.trim(), "list", &mut found);
    // A bare value must be one indicator, all of it (not "foo 1.2.3.4").
    match found.as_slice() {
        [one] => Ok(vec![(one.kind, one.value.clone())]),
        [] => Err(format!("`{v}` is not an indicator")),
        many => {
            // A URL also yields its host: keep the URL only.
            if let Some(u) = many.iter().find(|o| o.kind == ObservableType::Url) {
                return Ok(vec![(u.kind, u.value.clone())]);
            }
            Err(format!(
                "`{v}` holds {} indicators; give one per line",
                many.len()
            ))
        }
    }
}

fn add(x: &Extractor, index: &mut Index, value: &str, e: Entry) -> Result<(), String> {
    if let Ok(net) = value.trim().parse::<ipnet::IpNet>() {
        index.insert_net(net, e);
        return Ok(());
    }
    for (kind, v) in classify(x, value)? {
        index.insert(kind, &v, e.clone());
    }
    Ok(())
}

fn load_plain(
    text: &str,
    name: &str,
    verdict: picket_core::IntelVerdict,
) -> Result<Index, ConnectorError> {
    let x = Extractor::new();
    let mut index = Index::default();
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let v = line.split('#').next().unwrap_or("").trim();
        if v.is_empty() {
            continue;
        }
        if let Err(m) = add(&x, &mut index, v, entry(verdict, name, None)) {
            problems.push(format!("{name}:{}: {m}", i + 1));
        }
    }
    finish(index, problems)
}

fn finish(index: Index, problems: Vec<String>) -> Result<Index, ConnectorError> {
    if problems.is_empty() {
        Ok(index)
    } else {
        let shown: Vec<_> = problems.iter().take(20).cloned().collect();
        Err(ConnectorError::Config(format!(
            "{} unreadable entr{} (fix or comment them out):\n{}{}",
            problems.len(),
            if problems.len() == 1 { "y" } else { "ies" },
            shown.join("\n"),
            if problems.len() > shown.len() {
                "\n…"
            } else {
                ""
            }
        )))
    }
}

fn load_csv(
    text: &str,
    name: &str,
    c: &ConnectorConfig,
    verdict: picket_core::IntelVerdict,
) -> Result<Index, ConnectorError> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = r
        .headers()
        .map_err(|e| ConnectorError::Config(format!("{name}: header: {e}")))?
        .clone();
    let col = |opt: &str, default: Option<&str>| -> Result<Option<usize>, ConnectorError> {
        match c.opt_str(opt).or(default) {
            None => Ok(None),
            Some(n) => headers
                .iter()
                .position(|h| h.trim() == n)
                .map(Some)
                .ok_or_else(|| ConnectorError::Config(format!("{name}: no column `{n}` ({opt})"))),
        }
    };
    let value = col("column", Some("value"))?.unwrap_or(0);
    let vcol = col("verdict_column", None)?;
    let ccol = col("comment_column", None)?;
    let x = Extractor::new();
    let mut index = Index::default();
    let mut problems = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{name}:{line}: {e}"));
                continue;
            }
        };
        let Some(v) = rec.get(value).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        let row_verdict = match vcol.and_then(|i| rec.get(i)).filter(|s| !s.is_empty()) {
            Some(s) => match verdict_named(s) {
                Some(v) => v,
                None => {
                    problems.push(format!("{name}:{line}: verdict `{s}` is not malicious, suspicious, benign or unknown"));
                    continue;
                }
            },
            None => verdict,
        };
        let e = entry(row_verdict, name, ccol.and_then(|i| rec.get(i)));
        if let Err(m) = add(&x, &mut index, v, e) {
            problems.push(format!("{name}:{line}: {m}"));
        }
    }
    finish(index, problems)
}

struct List {
    index: Index,
}

#[async_trait]
impl Connector for List {
    fn kinds(&self) -> &[ObservableType] {
        PROVIDER.kinds
    }

    async fn lookup(&self, kind: ObservableType, value: &str) -> Result<Finding, ConnectorError> {
        Ok(self.index.lookup(kind, value))
    }

    async fn healthcheck(&self) -> Result<String, ConnectorError> {
        Ok(format!("{} entries loaded", self.index.len()))
    }
}
