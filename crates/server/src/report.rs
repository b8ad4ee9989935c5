//! The incident report draft from the store (docs/api.md; `picket report`).

use picket_export::report::{ActionLine, Narrative, ReportInput, html, markdown};
use picket_store::{Store, StoreError};

/// Markdown or HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Markdown,
    Html,
}

/// The report of one incident, from its stored record, response actions, lifecycle and verdicts;
/// `None` when there is no such incident.
pub async fn incident_report(
    store: &dyn Store,
    id: &str,
    format: ReportFormat,
) -> Result<Option<String>, StoreError> {
    let Some(incident) = store.get_incident(id).await? else {
        return Ok(None);
    };
    let mut actions: Vec<_> = store
        .list_actions(None, 10_000)
        .await?
        .into_iter()
        .filter(|a| a.proposal.incident.as_deref() == Some(id))
        .collect();
    actions.sort_by_key(|a| a.created_at);
    let actions = actions
        .into_iter()
        .map(|a| ActionLine {
            result: a.execution.result.as_ref().map(|r| {
                r.get("summary")
                    .or_else(|| r.get("message"))
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            }),
            proposer: crate::response::actor(&a.proposal),
            id: a.id,
            action: a.proposal.action,
            target: a.proposal.target,
            state: a.state.as_str().to_owned(),
        })
        .collect();
    let lifecycle = store
        .incident_events(id)
        .await?
        .into_iter()
        .map(|e| (e.event.as_str().to_owned(), e.at.to_string(), e.actor))
        .collect();
    let verdicts = store
        .list_verdicts(id)
        .await?
        .into_iter()
        .map(|v| {
            (
                v.analyst,
                v.verdict.as_str().to_owned(),
                v.note,
                v.at.to_string(),
            )
        })
        .collect();
    let narrative = store
        .investigations(id)
        .await?
        .into_iter()
        .rev()
        .find_map(|r| serde_json::from_value::<picket_agent::Investigation>(r.doc).ok())
        .map(|inv| narrative(&inv));
    let input = ReportInput {
        incident: &incident,
        actions,
        lifecycle,
        verdicts,
        narrative,
    };
    Ok(Some(match format {
        ReportFormat::Markdown => markdown(&input),
        ReportFormat::Html => html(&input),
    }))
}

/// The report's view of an investigation.
fn narrative(inv: &picket_agent::Investigation) -> Narrative {
    let claims = |c: &[picket_agent::contract::Claim]| -> Vec<(String, Vec<String>)> {
        c.iter()
            .map(|c| (c.statement.clone(), c.cites.clone()))
            .collect()
    };
    let mut findings: Vec<(String, Vec<String>)> = inv
        .findings
        .iter()
        .flat_map(|f| claims(&f.claims))
        .collect();
    if let Some(e) = &inv.enrichment {
        findings.extend(claims(&e.findings));
    }
    let rec = inv.recommendation.as_ref();
    Narrative {
        provider: inv.provider.clone(),
        mode: inv.mode.as_str().to_owned(),
        status: match &inv.degraded {
            None => inv.status.clone(),
            Some(d) => format!(
                "degraded at {} ({}): {}; the deterministic result stands",
                d.step, d.code, d.message
            ),
        },
        findings,
        timeline: inv
            .timeline
            .iter()
            .flat_map(|t| &t.steps)
            .map(|s| (s.time.clone(), s.text.clone(), s.cites.clone()))
            .collect(),
        verdict: inv.model_verdict.map(|v| {
            (
                v.as_str().to_owned(),
                rec.map_or_else(
                    || {
                        inv.votes
                            .iter()
                            .filter(|x| x.voter != "engine")
                            .map(|x| x.confidence)
                            .fold(0.0, f64::max)
                    },
                    |r| r.confidence,
                ),
            )
        }),
        rationale: rec.map(|r| claims(&r.rationale)).unwrap_or_default(),
        actions: rec
            .map(|r| {
                r.actions
                    .iter()
                    .map(|a| (a.action.clone(), a.target.clone(), a.reason.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        confidence_note: rec.map(|r| r.confidence_note.clone()),
        standing: inv.verdict.as_str().to_owned(),
        review_reason: inv.review_reason.clone(),
        injection: inv
            .injection
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
    }
}
