//! The incident report draft from the store (docs/api.md; `picket report`).

use picket_export::report::{ActionLine, ReportInput, html, markdown};
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
    let input = ReportInput {
        incident: &incident,
        actions,
        lifecycle,
        verdicts,
    };
    Ok(Some(match format {
        ReportFormat::Markdown => markdown(&input),
        ReportFormat::Html => html(&input),
    }))
}
