//! Response actions awaiting or past approval.

use jiff::Timestamp;
use sqlx::Row;

use super::{from_micros, micros, to_u64};
use crate::error::{Result, StoreError};
use crate::model::{ActionRecord, ActionState, ApprovalRecord, Execution, UndoPlan};

fn json<T: serde::Serialize>(v: &T, what: &str) -> Result<String> {
    serde_json::to_string(v).map_err(|e| StoreError::corrupt(what, e))
}

fn parse<T: serde::de::DeserializeOwned>(s: &str, what: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::corrupt(what, e))
}

pub(super) fn row_to_action(r: &sqlx::sqlite::SqliteRow) -> Result<ActionRecord> {
    let state: String = r.try_get("state")?;
    Ok(ActionRecord {
        id: r.try_get("id")?,
        created_at: from_micros(r.try_get("created_at")?, "action time")?,
        updated_at: from_micros(r.try_get("updated_at")?, "action time")?,
        state: ActionState::parse(&state)
            .ok_or_else(|| StoreError::corrupt("action state", state.clone()))?,
        approvals_needed: to_u64(r.try_get("approvals_needed")?) as u8,
        proposal: parse(&r.try_get::<String, _>("proposal")?, "action proposal")?,
        decision: parse(&r.try_get::<String, _>("decision")?, "action decision")?,
        execution: Execution {
            attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
            responder: r.try_get("responder")?,
            started_at: opt_time(r.try_get("started_at")?)?,
            finished_at: opt_time(r.try_get("finished_at")?)?,
            undo: opt_json(r.try_get("undo")?, "action undo")?,
            result: opt_json(r.try_get("result")?, "action result")?,
            undoes: r.try_get("undoes")?,
            rolled_back_by: r.try_get("rolled_back_by")?,
        },
    })
}

fn opt_time(v: Option<i64>) -> Result<Option<Timestamp>> {
    v.map(|m| from_micros(m, "action time")).transpose()
}

fn opt_json<T: serde::de::DeserializeOwned>(v: Option<String>, what: &str) -> Result<Option<T>> {
    v.map(|s| parse(&s, what)).transpose()
}

pub(super) async fn claim(
    w: &sqlx::SqlitePool,
    id: &str,
    responder: &str,
    undo: Option<&UndoPlan>,
    now: Timestamp,
) -> Result<Option<ActionRecord>> {
    // One statement: the compare-and-set and the read of the result are atomic without a transaction.
    let undo = undo.map(|u| json(u, "action undo")).transpose()?;
    sqlx::query(
        "UPDATE actions SET state = 'executing', attempts = attempts + 1, responder = ?, undo = ?, \
         started_at = ?, updated_at = ? WHERE id = ? AND state = 'approved' RETURNING *",
    )
    .bind(responder)
    .bind(undo)
    .bind(micros(now))
    .bind(micros(now))
    .bind(id)
    .fetch_optional(w)
    .await?
    .as_ref()
    .map(row_to_action)
    .transpose()
}

pub(super) async fn resume(
    w: &sqlx::SqlitePool,
    id: &str,
    now: Timestamp,
) -> Result<Option<ActionRecord>> {
    sqlx::query(
        "UPDATE actions SET attempts = attempts + 1, updated_at = ? WHERE id = ? AND state = 'executing' RETURNING *",
    )
    .bind(micros(now))
    .bind(id)
    .fetch_optional(w)
    .await?
    .as_ref()
    .map(row_to_action)
    .transpose()
}

pub(super) async fn finish(
    w: &sqlx::SqlitePool,
    id: &str,
    succeeded: bool,
    result: &serde_json::Value,
    now: Timestamp,
) -> Result<Option<ActionRecord>> {
    let state = if succeeded { "succeeded" } else { "failed" };
    // One statement; a succeeded rollback marks the original through the
    // `actions_rollback_marks_original` trigger, atomically with it.
    sqlx::query(
        "UPDATE actions SET state = ?, result = ?, finished_at = ?, updated_at = ? \
         WHERE id = ? AND state = 'executing' RETURNING *",
    )
    .bind(state)
    .bind(json(result, "action result")?)
    .bind(micros(now))
    .bind(micros(now))
    .bind(id)
    .fetch_optional(w)
    .await?
    .as_ref()
    .map(row_to_action)
    .transpose()
}

pub(super) async fn policy_history(
    r: &sqlx::SqlitePool,
    since: Timestamp,
    incident: Option<&str>,
) -> Result<Vec<picket_policy::Executed>> {
    // One row holding a JSON array: sqlx hands rows over one by one from its connection thread, and a
    // busy hour holds thousands of actions.
    const COLS: &str = "started_at, updated_at, action, target, incident_id, automated, state";
    let row = sqlx::query(&format!(
        "SELECT json_group_array(json_array(COALESCE(started_at, updated_at), action, target, \
                incident_id, automated, state = 'rolled_back')) AS h \
         FROM ( \
           SELECT {COLS} FROM actions INDEXED BY actions_policy_recent \
           WHERE updated_at >= ?1 AND state IN ('approved', 'executing', 'succeeded', 'rolled_back') \
           UNION ALL \
           SELECT {COLS} FROM actions INDEXED BY actions_policy_incident \
           WHERE incident_id = ?2 AND state IN ('approved', 'executing', 'succeeded') AND updated_at < ?1)"
    ))
    .bind(micros(since))
    .bind(incident)
    .fetch_one(r)
    .await?;
    type Row = (i64, String, String, Option<String>, i64, i64);
    let rows: Vec<Row> = parse(&row.try_get::<String, _>("h")?, "policy history")?;
    rows.into_iter()
        .map(|(at, action, target, incident, automated, undone)| {
            Ok(picket_policy::Executed {
                at: from_micros(at, "action time")?,
                action,
                target,
                incident,
                automated: automated != 0,
                undone: undone != 0,
            })
        })
        .collect()
}

pub(super) async fn approved(r: &sqlx::SqlitePool, limit: u32) -> Result<Vec<ActionRecord>> {
    let rows = sqlx::query(
        "SELECT * FROM actions WHERE state = 'approved' ORDER BY updated_at, created_at, id LIMIT ?",
    )
    .bind(i64::from(limit))
    .fetch_all(r)
    .await?;
    rows.iter().map(row_to_action).collect()
}

pub(super) async fn set_pause(
    w: &sqlx::SqlitePool,
    reason: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    match reason {
        Some(r) => {
            sqlx::query(
                "INSERT OR IGNORE INTO response_pause (id, reason, since) VALUES (1, ?, ?)",
            )
            .bind(r)
            .bind(micros(now))
            .execute(w)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM response_pause").execute(w).await?;
        }
    }
    Ok(())
}

pub(super) async fn pause(r: &sqlx::SqlitePool) -> Result<Option<(String, Timestamp)>> {
    let Some(row) = sqlx::query("SELECT reason, since FROM response_pause WHERE id = 1")
        .fetch_optional(r)
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((
        row.try_get("reason")?,
        from_micros(row.try_get("since")?, "pause time")?,
    )))
}

pub(super) fn row_to_approval(r: &sqlx::sqlite::SqliteRow) -> Result<ApprovalRecord> {
    Ok(ApprovalRecord {
        user: r.try_get("user")?,
        approve: r.try_get::<i64, _>("approve")? != 0,
        reason: r.try_get("reason")?,
        approval_hash: r.try_get("approval_hash")?,
        at: from_micros(r.try_get("at")?, "approval time")?,
    })
}

pub(super) async fn insert(w: &sqlx::SqlitePool, a: &ActionRecord) -> Result<()> {
    sqlx::query(
        "INSERT INTO actions (id, created_at, updated_at, incident_id, state, approvals_needed, approval_hash, proposal, decision, undoes, action, target, automated) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&a.id)
    .bind(micros(a.created_at))
    .bind(micros(a.updated_at))
    .bind(&a.proposal.incident)
    .bind(a.state.as_str())
    .bind(i64::from(a.approvals_needed))
    .bind(&a.decision.approval_hash)
    .bind(json(&a.proposal, "action proposal")?)
    .bind(json(&a.decision, "action decision")?)
    .bind(&a.execution.undoes)
    .bind(&a.proposal.action)
    .bind(&a.proposal.target)
    .bind(i64::from(a.proposal.proposer.automated()))
    .execute(w)
    .await?;
    Ok(())
}

/// Records an approval and, in the same transaction, moves the action to approved or rejected when
/// the approvals now say so. Only an action awaiting approval can be approved.
pub(super) async fn approve(
    w: &sqlx::SqlitePool,
    id: &str,
    approval: &ApprovalRecord,
) -> Result<Option<(ActionRecord, Vec<ApprovalRecord>)>> {
    let mut tx = w.begin().await?;
    let Some(row) = sqlx::query("SELECT * FROM actions WHERE id = ?")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
    else {
        return Ok(None);
    };
    let mut action = row_to_action(&row)?;
    if action.state != ActionState::AwaitingApproval {
        let list = list_approvals(&mut tx, id).await?;
        return Ok(Some((action, list)));
    }
    sqlx::query(
        "INSERT INTO action_approvals (action_id, user, approve, reason, approval_hash, at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(&approval.user)
    .bind(i64::from(approval.approve))
    .bind(&approval.reason)
    .bind(&approval.approval_hash)
    .bind(micros(approval.at))
    .execute(&mut *tx)
    .await?;
    let list = list_approvals(&mut tx, id).await?;
    let policy_view: Vec<picket_policy::Approval> = list
        .iter()
        .map(|a| picket_policy::Approval {
            user: a.user.clone(),
            approval_hash: a.approval_hash.clone(),
            approve: a.approve,
            by_model: false,
        })
        .collect();
    let next = match picket_policy::approval_state(
        &action.proposal,
        action.approvals_needed,
        &policy_view,
    ) {
        picket_policy::ApprovalState::Approved => Some(ActionState::Approved),
        picket_policy::ApprovalState::Rejected => Some(ActionState::Rejected),
        picket_policy::ApprovalState::Pending { .. } => None,
    };
    if let Some(s) = next {
        let now = Timestamp::now();
        sqlx::query("UPDATE actions SET state = ?, updated_at = ? WHERE id = ?")
            .bind(s.as_str())
            .bind(micros(now))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        action.state = s;
        action.updated_at = now;
    }
    tx.commit().await?;
    Ok(Some((action, list)))
}

async fn list_approvals(tx: &mut sqlx::SqliteConnection, id: &str) -> Result<Vec<ApprovalRecord>> {
    let rows = sqlx::query("SELECT * FROM action_approvals WHERE action_id = ? ORDER BY id")
        .bind(id)
        .fetch_all(&mut *tx)
        .await?;
    rows.iter().map(row_to_approval).collect()
}

pub(super) async fn get(
    r: &sqlx::SqlitePool,
    id: &str,
) -> Result<Option<(ActionRecord, Vec<ApprovalRecord>)>> {
    let Some(row) = sqlx::query("SELECT * FROM actions WHERE id = ?")
        .bind(id)
        .fetch_optional(r)
        .await?
    else {
        return Ok(None);
    };
    let a = row_to_action(&row)?;
    let rows = sqlx::query("SELECT * FROM action_approvals WHERE action_id = ? ORDER BY id")
        .bind(id)
        .fetch_all(r)
        .await?;
    Ok(Some((
        a,
        rows.iter().map(row_to_approval).collect::<Result<_>>()?,
    )))
}

pub(super) async fn list(
    r: &sqlx::SqlitePool,
    state: Option<ActionState>,
    limit: u32,
) -> Result<Vec<ActionRecord>> {
    let rows = match state {
        Some(s) => {
            sqlx::query(
                "SELECT * FROM actions WHERE state = ? ORDER BY created_at DESC, id LIMIT ?",
            )
            .bind(s.as_str())
            .bind(i64::from(limit))
            .fetch_all(r)
            .await?
        }
        None => {
            sqlx::query("SELECT * FROM actions ORDER BY created_at DESC, id LIMIT ?")
                .bind(i64::from(limit))
                .fetch_all(r)
                .await?
        }
    };
    rows.iter().map(row_to_action).collect()
}

pub(super) async fn take_timed_out(
    w: &sqlx::SqlitePool,
    now: Timestamp,
) -> Result<Vec<ActionRecord>> {
    let mut tx = w.begin().await?;
    let rows = sqlx::query(
        "SELECT * FROM actions WHERE state = 'awaiting_approval' AND timed_out_at IS NULL ORDER BY created_at LIMIT 10000",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut due = Vec::new();
    for r in &rows {
        let a = row_to_action(r)?;
        let timeout = match &a.decision.outcome {
            picket_policy::Outcome::NeedsApproval { timeout_secs, .. } => *timeout_secs,
            _ => continue,
        };
        let deadline = a
            .created_at
            .checked_add(jiff::SignedDuration::from_secs(
                i64::try_from(timeout).unwrap_or(i64::MAX),
            ))
            .unwrap_or(Timestamp::MAX);
        if deadline <= now {
            sqlx::query("UPDATE actions SET timed_out_at = ? WHERE id = ?")
                .bind(micros(now))
                .bind(&a.id)
                .execute(&mut *tx)
                .await?;
            due.push(a);
        }
    }
    tx.commit().await?;
    Ok(due)
}
