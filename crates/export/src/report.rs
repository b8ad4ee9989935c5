//! The incident report draft, in Markdown and in HTML, following the investigation phases: summary,
//! scope, timeline, ATT&CK mapping, evidence, indicators, actions taken, recommendations. Built from
//! the deterministic record only (the incident, its response actions, its lifecycle and analyst
//! verdicts), so it always exists and every line of it can be traced; a model's narrative, when one
//! is added, goes beside it, marked as such.

use picket_core::{Escalation, Incident, Verdict};

/// A response action on the incident, as the report shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionLine {
    pub id: String,
    pub action: String,
    pub target: String,
    /// `succeeded`, `failed`, `awaiting_approval`…
    pub state: String,
    /// Who proposed it (`token:alice`, `playbook:c2`).
    pub proposer: String,
    /// The vendor's summary or the error, when it ran.
    pub result: Option<String>,
}

/// What the report is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportInput<'a> {
    pub incident: &'a Incident,
    pub actions: Vec<ActionLine>,
    /// (event, time, actor), in time order: detected, triaged, escalated…
    pub lifecycle: Vec<(String, String, String)>,
    /// (analyst, verdict, note, time).
    pub verdicts: Vec<(String, String, Option<String>, String)>,
    /// The latest LLM investigation, when there is one: shown apart, marked as a model's.
    pub narrative: Option<Narrative>,
}

/// A model's narrative of the incident, as the report shows it. Its text is model-written from
/// attacker-influenced data: rendered inert (Markdown syntax escaped, HTML escaped).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Narrative {
    pub provider: String,
    pub mode: String,
    /// `completed`, or `degraded: <why>`.
    pub status: String,
    /// (statement, cited ids) of the findings and the enrichment summary.
    pub findings: Vec<(String, Vec<String>)>,
    /// (time, text, cited ids).
    pub timeline: Vec<(String, String, Vec<String>)>,
    /// The model's verdict, confidence and rationale, when it gave one.
    pub verdict: Option<(String, f64)>,
    pub rationale: Vec<(String, Vec<String>)>,
    /// Recommended actions (action, target, reason).
    pub actions: Vec<(String, String, String)>,
    pub confidence_note: Option<String>,
    /// The verdict that stands after reconciliation, and why it went to a human.
    pub standing: String,
    pub review_reason: Option<String>,
    /// Injection-like content found in what the model read.
    pub injection: Vec<String>,
}

/// Model text made inert for Markdown: no links, images, HTML or emphasis it did not earn.
fn inert(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '!' | '#' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn cited(text: &str, ids: &[String]) -> String {
    if ids.is_empty() {
        text.to_owned()
    } else {
        format!("{text} (cites {})", ids.join(", "))
    }
}

fn narrative_blocks(n: &Narrative, b: &mut Vec<Block>) {
    b.push(Block::Heading(2, "Model narrative".into()));
    b.push(Block::Para(format!(
        "Written by the LLM `{}` in {} mode. A model's reading, beside the record above and never \
         instead of it: every statement cites evidence ids that exist, but only the sections above \
         are what Picket established.",
        n.provider, n.mode
    )));
    b.push(Block::Plain(format!("Status: {}", n.status)));
    if !n.injection.is_empty() {
        b.push(Block::Para(format!(
            "**Injection-like content** was found in what the model read ({}): treat this \
             narrative with care.",
            n.injection.join(", ")
        )));
    }
    if let Some((v, c)) = &n.verdict {
        b.push(Block::Para(format!(
            "Model verdict: **{v}** (confidence {c:.2}); standing verdict: **{}**.",
            n.standing
        )));
    }
    if let Some(r) = &n.review_reason {
        b.push(Block::Plain(format!("Sent to a human: {r}")));
    }
    if !n.findings.is_empty() {
        b.push(Block::Heading(3, "Findings".into()));
        b.push(Block::PlainList(
            n.findings.iter().map(|(t, ids)| cited(t, ids)).collect(),
        ));
    }
    if !n.timeline.is_empty() {
        b.push(Block::Heading(3, "Narrative timeline".into()));
        b.push(Block::PlainList(
            n.timeline
                .iter()
                .map(|(t, text, ids)| format!("{t}: {}", cited(text, ids)))
                .collect(),
        ));
    }
    if !n.rationale.is_empty() || !n.actions.is_empty() {
        b.push(Block::Heading(3, "Model recommendation".into()));
        let mut items: Vec<String> = n.rationale.iter().map(|(t, ids)| cited(t, ids)).collect();
        items.extend(n.actions.iter().map(|(a, t, why)| {
            format!("Proposed {a} on {t}: {why} (a proposal: the policy and approvers decide)")
        }));
        b.push(Block::PlainList(items));
    }
    if let Some(c) = &n.confidence_note {
        b.push(Block::Plain(format!("Model's confidence note: {c}")));
    }
}

/// One block of the report, rendered to either format.
enum Block {
    Heading(u8, String),
    Para(String),
    List(Vec<String>),
    Table(Vec<String>, Vec<Vec<String>>),
    /// Model-written text: no markup at all (escaped in both formats).
    Plain(String),
    PlainList(Vec<String>),
}

fn recommendations(r: &ReportInput<'_>) -> Vec<String> {
    let i = r.incident;
    let mut out = Vec::new();
    let contained = r.lifecycle.iter().any(|(e, _, _)| e == "contained");
    let pending: Vec<&ActionLine> = r
        .actions
        .iter()
        .filter(|a| a.state == "awaiting_approval")
        .collect();
    for a in &pending {
        out.push(format!(
            "Decide on the pending action {} (`{}` on `{}`).",
            a.id, a.action, a.target
        ));
    }
    match i.verdict {
        Verdict::Malicious if !contained => out.push(
            "Contain the affected scope (hosts, accounts, addresses below): no containment has succeeded yet.".into(),
        ),
        Verdict::Malicious => out.push("Verify the containment held, then eradicate and recover.".into()),
        Verdict::Suspicious => out.push("Investigate the evidence below to confirm or dismiss; containment can wait for the verdict.".into()),
        Verdict::NeedsReview => out.push("An analyst must review: the engine could not decide with enough confidence.".into()),
        Verdict::Benign => out.push("No action: judged benign. Consider a suppression rule if this recurs.".into()),
    }
    if r.actions.iter().any(|a| a.state == "failed") {
        out.push(
            "Check the failed actions at the vendor; propose them again if still needed.".into(),
        );
    }
    if i.escalation == Escalation::OnCall && r.verdicts.is_empty() {
        out.push("On-call should acknowledge and record a verdict.".into());
    }
    out
}

fn blocks(r: &ReportInput<'_>) -> Vec<Block> {
    let i = r.incident;
    let mut b = vec![Block::Heading(1, format!("Incident report: {}", i.title))];
    b.push(Block::Para(format!(
        "Incident `{}` · verdict **{}** · priority **{}** · confidence {:.2} · escalation {}",
        i.id,
        i.verdict.as_str(),
        i.priority.as_str(),
        i.confidence,
        i.escalation.as_str()
    )));
    b.push(Block::Heading(2, "Summary".into()));
    let mut sources: Vec<&str> = i.alerts.iter().map(|a| a.format.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    b.push(Block::Para(format!(
        "{} alert(s) from {} between {} and {}. {}",
        i.alert_count,
        sources.join(", "),
        i.first_seen,
        i.last_seen,
        i.confidence_note
    )));
    if !r.verdicts.is_empty() {
        b.push(Block::List(
            r.verdicts
                .iter()
                .map(|(who, v, note, at)| match note {
                    Some(n) => format!("Analyst {who}: {v} ({at}): {n}"),
                    None => format!("Analyst {who}: {v} ({at})"),
                })
                .collect(),
        ));
    }
    b.push(Block::Heading(2, "Scope".into()));
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(", ")
        }
    };
    b.push(Block::List(vec![
        format!("Hosts: {}", list(&i.scope.hosts)),
        format!("Users: {}", list(&i.scope.users)),
        format!("Addresses: {}", list(&i.scope.ips)),
    ]));
    b.push(Block::Heading(2, "Timeline".into()));
    let mut rows: Vec<Vec<String>> = r
        .lifecycle
        .iter()
        .map(|(e, at, who)| vec![at.clone(), format!("{e} ({who})"), String::new()])
        .collect();
    rows.extend(i.timeline.iter().map(|t| {
        vec![
            t.time.to_string(),
            format!(
                "alert {}{}",
                t.alert,
                if t.count > 1 {
                    format!(" ×{}", t.count)
                } else {
                    String::new()
                }
            ),
            t.summary.clone(),
        ]
    }));
    rows.sort();
    b.push(Block::Table(
        vec!["time".into(), "what".into(), "detail".into()],
        rows,
    ));
    b.push(Block::Heading(2, "ATT&CK mapping".into()));
    if i.attack.is_empty() {
        b.push(Block::Para(
            "No ATT&CK technique or tactic was named or inferred.".into(),
        ));
    } else {
        b.push(Block::Table(
            vec!["tactic".into(), "technique".into(), "name".into()],
            i.attack
                .iter()
                .map(|a| {
                    vec![
                        a.tactic.clone().unwrap_or_default(),
                        a.technique.clone().unwrap_or_default(),
                        a.name.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        ));
    }
    b.push(Block::Heading(2, "Evidence".into()));
    b.push(Block::Table(
        vec!["claim".into(), "source".into(), "weight".into()],
        i.evidence
            .iter()
            .map(|e| {
                vec![
                    e.claim.clone(),
                    e.source.clone(),
                    format!("{:+.3}", e.weight),
                ]
            })
            .collect(),
    ));
    b.push(Block::Heading(2, "Indicators".into()));
    b.push(Block::Table(
        vec!["type".into(), "value".into(), "known-benign lists".into()],
        i.observables
            .iter()
            .map(|o| {
                vec![
                    o.kind.as_str().into(),
                    o.value.clone(),
                    o.benign_lists.join(", "),
                ]
            })
            .collect(),
    ));
    b.push(Block::Heading(2, "Actions taken".into()));
    if r.actions.is_empty() {
        b.push(Block::Para("No response action was proposed.".into()));
    } else {
        b.push(Block::Table(
            vec![
                "action".into(),
                "target".into(),
                "state".into(),
                "proposed by".into(),
                "result".into(),
            ],
            r.actions
                .iter()
                .map(|a| {
                    vec![
                        format!("{} ({})", a.action, a.id),
                        a.target.clone(),
                        a.state.clone(),
                        a.proposer.clone(),
                        a.result.clone().unwrap_or_default(),
                    ]
                })
                .collect(),
        ));
    }
    b.push(Block::Heading(2, "Recommendations".into()));
    b.push(Block::List(recommendations(r)));
    b.push(Block::Para(
        "Drafted by Picket from its deterministic record (incident, evidence, actions, lifecycle); every statement above cites stored data.".into(),
    ));
    if let Some(n) = &r.narrative {
        narrative_blocks(n, &mut b);
    }
    b
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The report as Markdown (GitHub-flavoured tables).
pub fn markdown(r: &ReportInput<'_>) -> String {
    let mut out = String::new();
    for b in blocks(r) {
        match b {
            Block::Heading(n, t) => {
                out += &format!("{} {}\n\n", "#".repeat(n as usize), md_cell(&t))
            }
            Block::Para(t) => out += &format!("{}\n\n", t.replace('\n', " ")),
            Block::List(items) => {
                for i in items {
                    out += &format!("- {}\n", i.replace('\n', " "));
                }
                out += "\n";
            }
            Block::Plain(t) => out += &format!("{}\n\n", inert(&t)),
            Block::PlainList(items) => {
                for i in items {
                    out += &format!("- {}\n", inert(&i));
                }
                out += "\n";
            }
            Block::Table(head, rows) => {
                out += &format!("| {} |\n", head.join(" | "));
                out += &format!("|{}\n", "---|".repeat(head.len()));
                for row in rows {
                    out += &format!(
                        "| {} |\n",
                        row.iter()
                            .map(|c| md_cell(c))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    );
                }
                out += "\n";
            }
        }
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Markdown's `**bold**` and `` `code` `` in paragraphs, after escaping.
fn inline(s: &str) -> String {
    let mut out = String::new();
    for (n, part) in esc(s).split("**").enumerate() {
        let part: String = part
            .split('`')
            .enumerate()
            .map(|(k, p)| {
                if k % 2 == 1 {
                    format!("<code>{p}</code>")
                } else {
                    p.to_owned()
                }
            })
            .collect();
        if n % 2 == 1 {
            out += &format!("<strong>{part}</strong>");
        } else {
            out += &part;
        }
    }
    out
}

/// The report as a standalone HTML page (no scripts, no external resources; every value escaped).
pub fn html(r: &ReportInput<'_>) -> String {
    let mut body = String::new();
    for b in blocks(r) {
        match b {
            Block::Heading(n, t) => body += &format!("<h{n}>{}</h{n}>\n", esc(&t)),
            Block::Para(t) => body += &format!("<p>{}</p>\n", inline(&t)),
            Block::List(items) => {
                body += "<ul>\n";
                for i in items {
                    body += &format!("<li>{}</li>\n", inline(&i));
                }
                body += "</ul>\n";
            }
            Block::Plain(t) => body += &format!("<p>{}</p>\n", esc(&t)),
            Block::PlainList(items) => {
                body += "<ul>\n";
                for i in items {
                    body += &format!("<li>{}</li>\n", esc(&i));
                }
                body += "</ul>\n";
            }
            Block::Table(head, rows) => {
                body += "<table>\n<tr>";
                for h in head {
                    body += &format!("<th>{}</th>", esc(&h));
                }
                body += "</tr>\n";
                for row in rows {
                    body += "<tr>";
                    for c in row {
                        body += &format!("<td>{}</td>", esc(&c));
                    }
                    body += "</tr>\n";
                }
                body += "</table>\n";
            }
        }
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n<title>{}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}\
         table{{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}}td,th{{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}}\
         th{{background:#f3f3f3}}code{{background:#f3f3f3;padding:0 .2rem}}</style>\n</head>\n<body>\n{}</body>\n</html>\n",
        esc(&format!("Incident report: {}", r.incident.title)),
        body
    )
}
