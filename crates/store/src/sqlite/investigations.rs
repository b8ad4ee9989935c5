//! LLM investigations: one row each, the document beside the columns lists and metrics read.

use picket_core::Verdict;
use sqlx::{Row, SqlitePool};

use super::{from_micros, micros, to_u64};
use crate::error::{Result, StoreError};
use crate::model::InvestigationRecord;

pub(super) async fn insert(pool: &SqlitePool, r: &InvestigationRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO investigations (id, incident_id, mode, provider, status, verdict, started_at, \
         finished_at, input_tokens, output_tokens, cost, doc) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .bind(&r.id)
    .bind(&r.incident_id)
    .bind(&r.mode)
    .bind(&r.provider)
    .bind(&r.status)
    .bind(r.verdict.as_str())
    .bind(micros(r.started_at))
    .bind(micros(r.finished_at))
    .bind(i64::try_from(r.input_tokens).unwrap_or(i64::MAX))
    .bind(i64::try_from(r.output_tokens).unwrap_or(i64::MAX))
    .bind(r.cost)
    .bind(r.doc.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn of_incident(
    pool: &SqlitePool,
    incident_id: &str,
) -> Result<Vec<InvestigationRecord>> {
    let rows = sqlx::query(
        "SELECT id, incident_id, mode, provider, status, verdict, started_at, finished_at, \
         input_tokens, output_tokens, cost, doc FROM investigations WHERE incident_id = ?1 \
         ORDER BY started_at, id",
    )
    .bind(incident_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let verdict: String = r.try_get("verdict")?;
            let doc: String = r.try_get("doc")?;
            Ok(InvestigationRecord {
                id: r.try_get("id")?,
                incident_id: r.try_get("incident_id")?,
                mode: r.try_get("mode")?,
                provider: r.try_get("provider")?,
                status: r.try_get("status")?,
                verdict: Verdict::parse(&verdict)
                    .ok_or_else(|| StoreError::corrupt("investigations.verdict", verdict))?,
                started_at: from_micros(r.try_get("started_at")?, "investigations.started_at")?,
                finished_at: from_micros(r.try_get("finished_at")?, "investigations.finished_at")?,
                input_tokens: to_u64(r.try_get("input_tokens")?),
                output_tokens: to_u64(r.try_get("output_tokens")?),
                cost: r.try_get("cost")?,
                doc: serde_json::from_str(&doc)
                    .map_err(|e| StoreError::corrupt("investigations.doc", e))?,
            })
        })
        .collect()
}
