//! Incidents, their membership (alerts and rule keys), analyst verdicts and rule counts: the parts
//! that run inside a caller's transaction.

use std::collections::{BTreeSet, HashSet};

use jiff::Timestamp;
use picket_core::{Incident, IncidentStatus, Verdict};
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::{from_micros, micros, to_i64};
use crate::error::{Result, StoreError};
use crate::model::VerdictRecord;

pub(super) fn status_str(s: IncidentStatus) -> &'static str {
    match s {
        IncidentStatus::Open => "open",
        IncidentStatus::Closed => "closed",
    }
}

pub(super) fn decode(doc: &str, id: &str) -> Result<Incident> {
    serde_json::from_str(doc).map_err(|e| StoreError::corrupt(format!("incident {id}"), e))
}

pub(super) async fn upsert(conn: &mut SqliteConnection, incidents: &[Incident]) -> Result<()> {
    let now = micros(Timestamp::now());
    let upserted: HashSet<&str> = incidents.iter().map(|i| i.id.as_str()).collect();
    // Incidents that lost alerts to another one in this batch, with the one that took them.
    let mut losers: Vec<(String, String)> = Vec::new();
    for inc in incidents {
        let doc = serde_json::to_string(inc)
            .map_err(|e| StoreError::corrupt(format!("incident {}", inc.id), e))?;
        sqlx::query(
            "INSERT INTO incidents (id, verdict, priority, status, escalation, first_seen, last_seen,
                                    alert_count, updated_at, superseded_by, doc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, ?10)
             ON CONFLICT (id) DO UPDATE SET
                verdict = excluded.verdict, priority = excluded.priority, status = excluded.status,
                escalation = excluded.escalation, first_seen = excluded.first_seen,
                last_seen = excluded.last_seen, alert_count = excluded.alert_count,
                updated_at = excluded.updated_at, superseded_by = NULL, doc = excluded.doc",
        )
        .bind(&inc.id)
        .bind(inc.verdict.as_str())
        .bind(inc.priority.as_str())
        .bind(status_str(inc.status))
        .bind(inc.escalation.as_str())
        .bind(micros(inc.first_seen))
        .bind(micros(inc.last_seen))
        .bind(to_i64(inc.alert_count))
        .bind(now)
        .bind(doc)
        .execute(&mut *conn)
        .await?;

        let members: BTreeSet<&str> = inc.alerts.iter().map(|a| a.id.as_str()).collect();
        // Alerts this incident held before but no longer lists (a group detached from it).
        let held: Vec<String> =
            sqlx::query_scalar("SELECT alert_id FROM incident_alerts WHERE incident_id = ?1")
                .bind(&inc.id)
                .fetch_all(&mut *conn)
                .await?;
        for gone in held.iter().filter(|a| !members.contains(a.as_str())) {
            sqlx::query("DELETE FROM incident_alerts WHERE alert_id = ?1 AND incident_id = ?2")
                .bind(gone)
                .bind(&inc.id)
                .execute(&mut *conn)
                .await?;
        }
        sqlx::query("DELETE FROM incident_rules WHERE incident_id = ?1")
            .bind(&inc.id)
            .execute(&mut *conn)
            .await?;
        for alert_id in members {
            let before: Option<String> =
                sqlx::query_scalar("SELECT incident_id FROM incident_alerts WHERE alert_id = ?1")
                    .bind(alert_id)
                    .fetch_optional(&mut *conn)
                    .await?;
            if let Some(prev) = before.filter(|p| *p != inc.id) {
                losers.push((prev, inc.id.clone()));
            }
            sqlx::query(
                "INSERT INTO incident_alerts (alert_id, incident_id) VALUES (?1, ?2)
                 ON CONFLICT (alert_id) DO UPDATE SET incident_id = excluded.incident_id",
            )
            .bind(alert_id)
            .bind(&inc.id)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT OR IGNORE INTO incident_rules (incident_id, rule_key)
                 SELECT ?1, rule_key FROM alerts WHERE id = ?2",
            )
            .bind(&inc.id)
            .bind(alert_id)
            .execute(&mut *conn)
            .await?;
        }
    }
    for (loser, winner) in losers {
        if upserted.contains(loser.as_str()) {
            continue;
        }
        sqlx::query(
            "UPDATE incidents SET superseded_by = ?2, updated_at = ?3
             WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM incident_alerts WHERE incident_id = ?1)",
        )
        .bind(&loser)
        .bind(&winner)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn record_verdict(conn: &mut SqliteConnection, v: &VerdictRecord) -> Result<()> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM incidents WHERE id = ?1")
        .bind(&v.incident_id)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_none() {
        return Err(StoreError::NotFound {
            kind: "incident",
            id: v.incident_id.clone(),
        });
    }
    sqlx::query(
        "INSERT INTO verdicts (incident_id, verdict, analyst, note, at, engine_verdict) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )
    .bind(&v.incident_id)
    .bind(v.verdict.as_str())
    .bind(&v.analyst)
    .bind(&v.note)
    .bind(micros(v.at))
    .bind(v.engine_verdict.map(|e| e.as_str()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn verdict_of(s: String) -> Result<Verdict> {
    Verdict::parse(&s).ok_or_else(|| StoreError::corrupt("verdicts.verdict", s))
}

pub(super) async fn list_verdicts(
    pool: &SqlitePool,
    incident_id: &str,
) -> Result<Vec<VerdictRecord>> {
    let rows = sqlx::query(
        "SELECT verdict, analyst, note, at, engine_verdict FROM verdicts WHERE incident_id = ?1 ORDER BY id",
    )
    .bind(incident_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(VerdictRecord {
                incident_id: incident_id.to_owned(),
                verdict: verdict_of(r.try_get("verdict")?)?,
                engine_verdict: r
                    .try_get::<Option<String>, _>("engine_verdict")?
                    .map(verdict_of)
                    .transpose()?,
                analyst: r.try_get("analyst")?,
                note: r.try_get("note")?,
                at: from_micros(r.try_get("at")?, "verdicts.at")?,
            })
        })
        .collect()
}

pub(super) async fn feedback_by_rule(pool: &SqlitePool) -> Result<Vec<(String, String, Verdict)>> {
    let rows = sqlx::query(
        "SELECT r.rule_key, v.incident_id, v.verdict FROM verdicts v
         JOIN incident_rules r ON r.incident_id = v.incident_id
         ORDER BY v.id, r.rule_key",
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok((
                r.try_get("rule_key")?,
                r.try_get("incident_id")?,
                verdict_of(r.try_get("verdict")?)?,
            ))
        })
        .collect()
}

pub(super) async fn bump_rule_counts(
    conn: &mut SqliteConnection,
    counts: &[(String, String, u64)],
) -> Result<()> {
    for (rule, entity, n) in counts {
        sqlx::query(
            "INSERT INTO rule_counts (rule_key, entity, count) VALUES (?1, ?2, ?3)
             ON CONFLICT (rule_key, entity) DO UPDATE SET count = count + excluded.count",
        )
        .bind(rule)
        .bind(entity)
        .bind(to_i64(*n))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn record_events(
    conn: &mut SqliteConnection,
    events: &[crate::model::IncidentEvent],
) -> Result<()> {
    for e in events {
        sqlx::query(
            "INSERT OR IGNORE INTO incident_events (incident_id, event, at, actor) VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(&e.incident_id)
        .bind(e.event.as_str())
        .bind(micros(e.at))
        .bind(&e.actor)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Incidents active within the range, their lifecycle events and analyst verdicts, read as three
/// single-row JSON documents (sqlx hands rows over one by one from its connection thread).
pub(super) async fn lifecycle(
    pool: &SqlitePool,
    since: Timestamp,
    until: Timestamp,
) -> Result<Vec<crate::model::IncidentLifecycle>> {
    use std::collections::HashMap;
    const IN_RANGE: &str = "SELECT id FROM incidents WHERE superseded_by IS NULL \
                            AND first_seen <= ?2 AND last_seen >= ?1";
    let docs: String = sqlx::query_scalar(&format!(
        "SELECT COALESCE(json_group_array(json(doc)), '[]') FROM incidents WHERE id IN ({IN_RANGE})"
    ))
    .bind(micros(since))
    .bind(micros(until))
    .fetch_one(pool)
    .await?;
    let incidents: Vec<Incident> =
        serde_json::from_str(&docs).map_err(|e| StoreError::corrupt("incidents", e))?;
    let events: String = sqlx::query_scalar(&format!(
        "SELECT COALESCE(json_group_array(json_array(incident_id, event, at, actor)), '[]') \
         FROM incident_events WHERE incident_id IN ({IN_RANGE})"
    ))
    .bind(micros(since))
    .bind(micros(until))
    .fetch_one(pool)
    .await?;
    let events: Vec<(String, String, i64, String)> =
        serde_json::from_str(&events).map_err(|e| StoreError::corrupt("incident_events", e))?;
    let verdicts: String = sqlx::query_scalar(&format!(
        "SELECT COALESCE(json_group_array(json_array(incident_id, verdict, analyst, note, at, engine_verdict)), '[]') \
         FROM (SELECT * FROM verdicts WHERE incident_id IN ({IN_RANGE}) ORDER BY id)"
    ))
    .bind(micros(since))
    .bind(micros(until))
    .fetch_one(pool)
    .await?;
    type V = (String, String, String, Option<String>, i64, Option<String>);
    let verdicts: Vec<V> =
        serde_json::from_str(&verdicts).map_err(|e| StoreError::corrupt("verdicts", e))?;
    let rules: String = sqlx::query_scalar(&format!(
        "SELECT COALESCE(json_group_array(json_array(incident_id, rule_key)), '[]') \
         FROM incident_rules WHERE incident_id IN ({IN_RANGE})"
    ))
    .bind(micros(since))
    .bind(micros(until))
    .fetch_one(pool)
    .await?;
    let rules: Vec<(String, String)> =
        serde_json::from_str(&rules).map_err(|e| StoreError::corrupt("incident_rules", e))?;
    let spend: String = sqlx::query_scalar(&format!(
        "SELECT COALESCE(json_group_array(json_array(incident_id, tokens, cost)), '[]') FROM \
         (SELECT incident_id, SUM(input_tokens + output_tokens) AS tokens, SUM(cost) AS cost \
          FROM investigations WHERE incident_id IN ({IN_RANGE}) GROUP BY incident_id)"
    ))
    .bind(micros(since))
    .bind(micros(until))
    .fetch_one(pool)
    .await?;
    let spend: HashMap<String, (u64, f64)> =
        serde_json::from_str::<Vec<(String, u64, f64)>>(&spend)
            .map_err(|e| StoreError::corrupt("investigations", e))?
            .into_iter()
            .map(|(id, t, c)| (id, (t, c)))
            .collect();
    type Parts = (
        Vec<crate::model::IncidentEvent>,
        Vec<VerdictRecord>,
        Vec<String>,
    );
    let mut by_id: HashMap<String, Parts> = HashMap::new();
    for (id, rule) in rules {
        by_id.entry(id).or_default().2.push(rule);
    }
    for (id, ev, at, actor) in events {
        let event = crate::model::LifecycleEvent::parse(&ev)
            .ok_or_else(|| StoreError::corrupt("incident_events.event", ev.clone()))?;
        by_id
            .entry(id.clone())
            .or_default()
            .0
            .push(crate::model::IncidentEvent {
                incident_id: id,
                event,
                at: from_micros(at, "incident_events.at")?,
                actor,
            });
    }
    for (id, v, analyst, note, at, engine) in verdicts {
        by_id.entry(id.clone()).or_default().1.push(VerdictRecord {
            incident_id: id,
            verdict: verdict_of(v)?,
            engine_verdict: engine.map(verdict_of).transpose()?,
            analyst,
            note,
            at: from_micros(at, "verdicts.at")?,
        });
    }
    Ok(incidents
        .into_iter()
        .map(|incident| {
            let (events, verdicts, rules) = by_id.remove(&incident.id).unwrap_or_default();
            let (llm_tokens, llm_cost) = spend.get(&incident.id).copied().unwrap_or_default();
            crate::model::IncidentLifecycle {
                incident,
                events,
                verdicts,
                rules,
                llm_tokens,
                llm_cost,
            }
        })
        .collect())
}

pub(super) async fn events_of(
    pool: &SqlitePool,
    incident_id: &str,
) -> Result<Vec<crate::model::IncidentEvent>> {
    let rows = sqlx::query(
        "SELECT event, at, actor FROM incident_events WHERE incident_id = ?1 ORDER BY at, event",
    )
    .bind(incident_id)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            let ev: String = r.try_get("event")?;
            Ok(crate::model::IncidentEvent {
                incident_id: incident_id.to_owned(),
                event: crate::model::LifecycleEvent::parse(&ev)
                    .ok_or_else(|| StoreError::corrupt("incident_events.event", ev.clone()))?,
                at: from_micros(r.try_get("at")?, "incident_events.at")?,
                actor: r.try_get("actor")?,
            })
        })
        .collect()
}
