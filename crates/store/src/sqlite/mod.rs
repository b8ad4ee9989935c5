//! The embedded backend: one SQLite file (`picket.db`) under the data directory.
//!
//! Opened in WAL mode with `synchronous = FULL`, so a committed transaction is on disk before the call
//! returns (an acknowledged alert survives a power cut), and readers never block the writer. Writes go
//! through a pool of one connection: SQLite has one writer anyway, and serialising them in-process
//! avoids `SQLITE_BUSY` upgrades between deferred transactions. Reads use their own small pool.
//!
//! Write path tuning (figures in `docs/performance.md`):
//! * the writer keeps a [`WRITER_CACHE_KIB`] page cache, so a batch of alerts does not spill pages to
//!   the WAL before its commit and the id index's inner pages stay in memory;
//! * statement journals (multi-row inserts need one) live in memory (`temp_store = MEMORY`);
//! * WAL pages are copied back into the database by a checkpointer on its own connection (and so its
//!   own thread) after each batch of alerts, instead of by the writer inside its commit. The writer
//!   still checkpoints itself if the WAL reaches [`WRITER_AUTOCHECKPOINT`] pages, so the WAL stays
//!   bounded if the checkpointer falls behind, and a WAL left larger than [`WAL_SIZE_LIMIT`] is
//!   truncated back once it has been copied.

mod actions;
mod incidents;
mod investigations;
mod raw;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use picket_core::{Alert, Incident, Verdict};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use tokio::sync::mpsc;

use crate::Store;
use crate::error::{Result, StoreError};
use crate::model::{
    ActionRecord, ActionState, AlertStatus, ApprovalRecord, DeadLetter, IncidentFilter,
    InsertOutcome, PendingAlert, StoreStats, StoredAlert, TriageCommit, UndoPlan, VerdictRecord,
};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a connection waits for a lock held by another process before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
const READERS: u32 = 4;

/// Page cache of the writer connection (`PRAGMA cache_size`), KiB.
const WRITER_CACHE_KIB: i64 = 64 * 1024;
/// WAL size, in pages, at which the writer checkpoints by itself (SQLite's default is 1,000).
const WRITER_AUTOCHECKPOINT: u32 = 16_000;
/// `PRAGMA journal_size_limit`: a WAL file grown past this is truncated back after a checkpoint.
const WAL_SIZE_LIMIT: i64 = 64 << 20;

/// The SQLite [`Store`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// `None` for an in-memory store.
    checkpointer: Option<Checkpointer>,
}

/// The connection that copies the WAL back into the database, and what wakes its task. The task
/// ends when the store is closed or its last clone dropped.
#[derive(Debug, Clone)]
struct Checkpointer {
    pool: SqlitePool,
    wake: mpsc::Sender<()>,
}

impl SqliteStore {
    /// Opens (creating if missing) `dir/picket.db` and brings its schema up to date.
    pub async fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_owned(),
            source,
        })?;
        let opts = SqliteConnectOptions::new()
            .filename(dir.join("picket.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                opts.clone()
                    .pragma("cache_size", format!("-{WRITER_CACHE_KIB}"))
                    .pragma("temp_store", "MEMORY")
                    .pragma("wal_autocheckpoint", WRITER_AUTOCHECKPOINT.to_string())
                    .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string()),
            )
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(opts.clone())
            .await?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(opts)
            .await?;
        Ok(Self {
            writer,
            reader,
            checkpointer: Some(Checkpointer::spawn(pool)),
        })
    }

    /// A private database in memory, for tests. One connection serves reads and writes (each
    /// in-memory connection would otherwise see its own database); it lives as long as the store.
    pub async fn open_in_memory() -> Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let opts = SqliteConnectOptions::new()
            .filename(format!("picket-mem-{n}"))
            .in_memory(true)
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            writer: pool.clone(),
            reader: pool,
            checkpointer: None,
        })
    }

    /// Asks the checkpointer to copy the WAL into the database; returns at once.
    fn wake_checkpointer(&self) {
        if let Some(c) = &self.checkpointer {
            // Full means a wake-up is already pending, which covers this one.
            let _ = c.wake.try_send(());
        }
    }
}

impl Checkpointer {
    /// Runs `PRAGMA wal_checkpoint(PASSIVE)` on `pool` each time it is woken: it copies what it can
    /// without waiting for the writer or readers, so neither is ever blocked by it.
    fn spawn(pool: SqlitePool) -> Self {
        let (wake, mut woken) = mpsc::channel::<()>(1);
        let task_pool = pool.clone();
        tokio::spawn(async move {
            while woken.recv().await.is_some() {
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&task_pool)
                    .await
                {
                    if task_pool.is_closed() {
                        break;
                    }
                    tracing::warn!(error = %e, "WAL checkpoint failed; the writer will checkpoint instead");
                }
            }
            task_pool.close().await;
        });
        Self { pool, wake }
    }
}

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn from_micros(us: i64, what: &str) -> Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| StoreError::corrupt(what, e))
}

/// SQLite integers are signed; counts beyond i64 saturate.
pub(crate) fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn decode_alert(normalized: &str, raw: String, id_hint: &str) -> Result<Alert> {
    let mut alert: Alert = serde_json::from_str(normalized)
        .map_err(|e| StoreError::corrupt(format!("alert {id_hint}"), e))?;
    alert.raw = raw;
    Ok(alert)
}

async fn mark_processed_in(conn: &mut SqliteConnection, seqs: &[i64]) -> Result<()> {
    let now = micros(Timestamp::now());
    for seq in seqs {
        sqlx::query(
            "UPDATE alerts SET status = 'processed', processed_at = ?2 WHERE seq = ?1 AND status = 'pending'",
        )
        .bind(seq)
        .bind(now)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }

    async fn close(&self) {
        if let Some(c) = &self.checkpointer {
            c.pool.close().await;
        }
        self.writer.close().await;
        self.reader.close().await;
    }

    async fn insert_alerts(&self, alerts: &[Alert]) -> Result<Vec<InsertOutcome>> {
        let now = micros(Timestamp::now());
        // The first occurrence of an id in the batch is the one that may be inserted; any later
        // one is a duplicate.
        let mut seen: HashSet<&str> = HashSet::with_capacity(alerts.len());
        let first: Vec<bool> = alerts.iter().map(|a| seen.insert(a.id.as_str())).collect();
        let distinct = seen.len();
        // Multi-row statements: one round trip to SQLite's thread per chunk, not per alert. The first
        // chunk is serialized before the transaction begins, each next one while SQLite's thread
        // inserts the one before, so the writer connection is held briefly and both cores work.
        // The inserts return no rows (a row per alert, sent back one by one, kept SQLite's thread
        // waiting on this one): what was inserted is told by the count of changed rows, and only
        // when that falls short of the batch's distinct ids by reading which rows are new.
        // `OR IGNORE` skips a row whose id is stored; it would also skip one breaking a NOT NULL or
        // CHECK constraint, which the values bound here never do. With no way left to abort midway,
        // SQLite keeps no statement journal (a copy of every page each insert touches).
        // The first chunk is small, so SQLite's thread starts early.
        let (head, tail) = alerts.split_at(alerts.len().min(FIRST_CHUNK));
        let mut chunks = std::iter::once(head)
            .filter(|c| !c.is_empty())
            .chain(tail.chunks(INSERT_CHUNK));
        let mut rows = chunks.next().map(alert_rows).transpose()?;
        // IMMEDIATE: the write lock is taken (or waited for, if another process holds it) before
        // the read below, so no other writer can come between that read and the inserts.
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        // AUTOINCREMENT: every row inserted below gets a `seq` above this one.
        let before: i64 = sqlx::query_scalar(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'alerts'), 0)",
        )
        .fetch_one(&mut *tx)
        .await?;
        let mut changed = 0u64;
        while let Some(chunk) = rows.take() {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT OR IGNORE INTO alerts (id, format, rule_key, time, received_at, raw_sha256, raw, normalized, raw_len, status) ",
            );
            q.push_values(&chunk, |mut b, row| {
                b.push_bind(row.alert.id.as_str())
                    .push_bind(row.alert.format.as_str())
                    .push_bind(row.rule_key.as_str())
                    .push_bind(micros(row.alert.time))
                    .push_bind(now)
                    .push_bind(row.alert.raw_sha256.as_str());
                match &row.cells {
                    raw::Cells::Plain { raw, normalized } => b
                        .push_bind(*raw)
                        .push_bind(normalized.as_str())
                        .push_bind(None::<i64>),
                    raw::Cells::Packed { frame, raw_len } => b
                        .push_bind(frame.as_slice())
                        .push_bind("")
                        .push_bind(*raw_len),
                };
                b.push_bind("pending");
            });
            // `join!` polls the insert first, which hands the statement to SQLite's thread.
            let (done, next) = tokio::join!(q.build().execute(&mut *tx), async {
                chunks.next().map(alert_rows).transpose()
            });
            changed += done?.rows_affected();
            rows = next?;
        }
        let fresh: Option<HashSet<String>> = if usize::try_from(changed).ok() == Some(distinct) {
            None
        } else {
            Some(
                sqlx::query_scalar("SELECT id FROM alerts WHERE seq > ?1")
                    .bind(before)
                    .fetch_all(&mut *tx)
                    .await?
                    .into_iter()
                    .collect(),
            )
        };
        tx.commit().await?;
        self.wake_checkpointer();
        Ok(alerts
            .iter()
            .zip(first)
            .map(|(a, first)| {
                if first && fresh.as_ref().is_none_or(|f| f.contains(&a.id)) {
                    InsertOutcome::Inserted
                } else {
                    InsertOutcome::Duplicate
                }
            })
            .collect())
    }

    async fn pending_alerts(&self, limit: u32) -> Result<Vec<PendingAlert>> {
        let rows = sqlx::query(
            "SELECT seq, id, received_at, raw, normalized, raw_len FROM alerts
             WHERE status = 'pending' ORDER BY seq LIMIT ?1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                let (raw, normalized) = raw::unpack(&r, &id)?;
                Ok(PendingAlert {
                    seq: r.try_get("seq")?,
                    received_at: from_micros(r.try_get("received_at")?, "alerts.received_at")?,
                    alert: decode_alert(&normalized, raw, &id)?,
                })
            })
            .collect()
    }

    async fn count_pending(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alerts WHERE status = 'pending'")
            .fetch_one(&self.reader)
            .await?;
        Ok(to_u64(n))
    }

    async fn mark_processed(&self, seqs: &[i64]) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        mark_processed_in(&mut tx, seqs).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn alerts_since(&self, since: Timestamp) -> Result<Vec<Alert>> {
        let rows = sqlx::query(
            "SELECT id, raw, normalized, raw_len FROM alerts
             WHERE status = 'processed' AND time >= ?1 ORDER BY time, seq",
        )
        .bind(micros(since))
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                let (_, normalized) = raw::unpack(&r, &id)?;
                decode_alert(&normalized, String::new(), &id)
            })
            .collect()
    }

    async fn latest_processed_time(&self) -> Result<Option<Timestamp>> {
        let t: Option<i64> =
            sqlx::query_scalar("SELECT MAX(time) FROM alerts WHERE status = 'processed'")
                .fetch_one(&self.reader)
                .await?;
        t.map(|t| from_micros(t, "alerts.time")).transpose()
    }

    async fn get_alert(&self, id: &str) -> Result<Option<StoredAlert>> {
        let row = sqlx::query(
            "SELECT seq, received_at, status, raw, normalized, raw_len FROM alerts WHERE id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.reader)
        .await?;
        let Some(r) = row else { return Ok(None) };
        let status: String = r.try_get("status")?;
        let (raw, normalized) = raw::unpack(&r, id)?;
        Ok(Some(StoredAlert {
            seq: r.try_get("seq")?,
            received_at: from_micros(r.try_get("received_at")?, "alerts.received_at")?,
            status: AlertStatus::parse(&status)
                .ok_or_else(|| StoreError::corrupt("alerts.status", status))?,
            alert: decode_alert(&normalized, raw, id)?,
        }))
    }

    async fn insert_dead_letters(&self, letters: &[DeadLetter]) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        for d in letters {
            sqlx::query(
                "INSERT INTO dead_letters (received_at, source, line, record_index, code, message, raw)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .bind(micros(d.received_at))
            .bind(&d.source)
            .bind(to_i64(d.line))
            .bind(to_i64(d.index))
            .bind(&d.code)
            .bind(&d.message)
            .bind(&d.raw)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn list_dead_letters(&self, limit: u32, offset: u32) -> Result<Vec<(i64, DeadLetter)>> {
        let rows = sqlx::query(
            "SELECT id, received_at, source, line, record_index, code, message, raw
             FROM dead_letters ORDER BY id DESC LIMIT ?1 OFFSET ?2",
        )
        .bind(i64::from(limit))
        .bind(i64::from(offset))
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    r.try_get("id")?,
                    DeadLetter {
                        received_at: from_micros(
                            r.try_get("received_at")?,
                            "dead_letters.received_at",
                        )?,
                        source: r.try_get("source")?,
                        line: to_u64(r.try_get("line")?),
                        index: to_u64(r.try_get("record_index")?),
                        code: r.try_get("code")?,
                        message: r.try_get("message")?,
                        raw: r.try_get("raw")?,
                    },
                ))
            })
            .collect()
    }

    async fn upsert_incidents(&self, incidents: &[Incident]) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        incidents::upsert(&mut tx, incidents).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn get_incident(&self, id: &str) -> Result<Option<Incident>> {
        let doc: Option<String> = sqlx::query_scalar("SELECT doc FROM incidents WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        doc.map(|d| incidents::decode(&d, id)).transpose()
    }

    async fn list_incidents(&self, f: &IncidentFilter) -> Result<Vec<Incident>> {
        let mut q: QueryBuilder<Sqlite> =
            QueryBuilder::new("SELECT id, doc FROM incidents WHERE superseded_by IS NULL");
        if let Some(s) = f.status {
            q.push(" AND status = ").push_bind(incidents::status_str(s));
        }
        if let Some(v) = f.verdict {
            q.push(" AND verdict = ").push_bind(v.as_str());
        }
        if let Some(p) = f.priority {
            q.push(" AND priority = ").push_bind(p.as_str());
        }
        if let Some(t) = f.since {
            q.push(" AND last_seen >= ").push_bind(micros(t));
        }
        if let Some(t) = f.until {
            q.push(" AND first_seen <= ").push_bind(micros(t));
        }
        q.push(" ORDER BY last_seen DESC, id LIMIT ")
            .push_bind(i64::from(f.limit))
            .push(" OFFSET ")
            .push_bind(i64::from(f.offset));
        let rows = q.build().fetch_all(&self.reader).await?;
        rows.into_iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                incidents::decode(r.try_get("doc")?, &id)
            })
            .collect()
    }

    async fn incident_rule_keys(&self, incident_id: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT rule_key FROM incident_rules WHERE incident_id = ?1 ORDER BY rule_key",
        )
        .bind(incident_id)
        .fetch_all(&self.reader)
        .await?)
    }

    async fn record_verdict(&self, v: &VerdictRecord) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        incidents::record_verdict(&mut tx, v).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn list_verdicts(&self, incident_id: &str) -> Result<Vec<VerdictRecord>> {
        incidents::list_verdicts(&self.reader, incident_id).await
    }

    async fn feedback_by_rule(&self) -> Result<Vec<(String, String, Verdict)>> {
        incidents::feedback_by_rule(&self.reader).await
    }

    async fn bump_rule_counts(&self, counts: &[(String, String, u64)]) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        incidents::bump_rule_counts(&mut tx, counts).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn load_rule_counts(&self) -> Result<HashMap<(String, String), u64>> {
        let rows = sqlx::query("SELECT rule_key, entity, count FROM rule_counts")
            .fetch_all(&self.reader)
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok((
                    (r.try_get("rule_key")?, r.try_get("entity")?),
                    to_u64(r.try_get("count")?),
                ))
            })
            .collect()
    }

    async fn commit_triage(&self, step: &TriageCommit) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        incidents::upsert(&mut tx, &step.incidents).await?;
        incidents::bump_rule_counts(&mut tx, &step.rule_counts).await?;
        mark_processed_in(&mut tx, &step.processed).await?;
        incidents::record_events(&mut tx, &step.events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_incident_events(&self, events: &[crate::model::IncidentEvent]) -> Result<()> {
        let mut tx = self.writer.begin().await?;
        incidents::record_events(&mut tx, events).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn incident_events(&self, incident_id: &str) -> Result<Vec<crate::model::IncidentEvent>> {
        incidents::events_of(&self.reader, incident_id).await
    }

    async fn lifecycle(
        &self,
        since: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<crate::model::IncidentLifecycle>> {
        incidents::lifecycle(&self.reader, since, until).await
    }

    async fn insert_investigation(&self, r: &crate::model::InvestigationRecord) -> Result<()> {
        investigations::insert(&self.writer, r).await
    }

    async fn investigations(
        &self,
        incident_id: &str,
    ) -> Result<Vec<crate::model::InvestigationRecord>> {
        investigations::of_incident(&self.reader, incident_id).await
    }

    async fn insert_action(&self, action: &ActionRecord) -> Result<()> {
        actions::insert(&self.writer, action).await
    }

    async fn get_action(&self, id: &str) -> Result<Option<(ActionRecord, Vec<ApprovalRecord>)>> {
        actions::get(&self.reader, id).await
    }

    async fn list_actions(
        &self,
        state: Option<ActionState>,
        limit: u32,
    ) -> Result<Vec<ActionRecord>> {
        actions::list(&self.reader, state, limit).await
    }

    async fn approve_action(
        &self,
        id: &str,
        approval: &ApprovalRecord,
    ) -> Result<Option<(ActionRecord, Vec<ApprovalRecord>)>> {
        actions::approve(&self.writer, id, approval).await
    }

    async fn take_timed_out_actions(&self, now: Timestamp) -> Result<Vec<ActionRecord>> {
        actions::take_timed_out(&self.writer, now).await
    }

    async fn claim_action(
        &self,
        id: &str,
        responder: &str,
        undo: Option<&UndoPlan>,
        now: Timestamp,
    ) -> Result<Option<ActionRecord>> {
        actions::claim(&self.writer, id, responder, undo, now).await
    }

    async fn resume_action(&self, id: &str, now: Timestamp) -> Result<Option<ActionRecord>> {
        actions::resume(&self.writer, id, now).await
    }

    async fn finish_action(
        &self,
        id: &str,
        succeeded: bool,
        result: &serde_json::Value,
        now: Timestamp,
    ) -> Result<Option<ActionRecord>> {
        actions::finish(&self.writer, id, succeeded, result, now).await
    }

    async fn policy_history(
        &self,
        since: Timestamp,
        incident: Option<&str>,
    ) -> Result<Vec<picket_policy::Executed>> {
        actions::policy_history(&self.reader, since, incident).await
    }

    async fn approved_actions(&self, limit: u32) -> Result<Vec<ActionRecord>> {
        actions::approved(&self.reader, limit).await
    }

    async fn set_response_pause(&self, reason: Option<&str>, now: Timestamp) -> Result<()> {
        actions::set_pause(&self.writer, reason, now).await
    }

    async fn response_pause(&self) -> Result<Option<(String, Timestamp)>> {
        actions::pause(&self.reader).await
    }

    async fn claim_playbook_run(
        &self,
        incident_id: &str,
        playbook: &str,
        version: &str,
        sha256: &str,
        now: Timestamp,
    ) -> Result<bool> {
        let r = sqlx::query(
            "INSERT OR IGNORE INTO playbook_runs (incident_id, playbook, version, sha256, at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(incident_id)
        .bind(playbook)
        .bind(version)
        .bind(sha256)
        .bind(micros(now))
        .execute(&self.writer)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn append_audit(
        &self,
        records: Vec<picket_audit::NewRecord>,
    ) -> Result<Vec<picket_audit::AuditRecord>> {
        let mut tx = self.writer.begin().await?;
        let head = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        let mut prev: Option<(u64, String)> = match head {
            Some(r) => Some((to_u64(r.try_get("seq")?), r.try_get("hash")?)),
            None => None,
        };
        let mut out = Vec::with_capacity(records.len());
        for n in records {
            let r = picket_audit::chain(prev.as_ref().map(|(s, h)| (*s, h.as_str())), n);
            sqlx::query(
                "INSERT INTO audit_log (seq, at, kind, actor, subject, data, prev_hash, hash) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(r.seq as i64)
            .bind(r.at.to_string())
            .bind(r.kind.as_str())
            .bind(&r.actor)
            .bind(&r.subject)
            .bind(r.data.to_string())
            .bind(&r.prev_hash)
            .bind(&r.hash)
            .execute(&mut *tx)
            .await?;
            prev = Some((r.seq, r.hash.clone()));
            out.push(r);
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn audit_records(
        &self,
        from_seq: u64,
        limit: u32,
    ) -> Result<Vec<picket_audit::AuditRecord>> {
        let rows = sqlx::query(
            "SELECT seq, at, kind, actor, subject, data, prev_hash, hash FROM audit_log \
             WHERE seq >= ? ORDER BY rowid LIMIT ?",
        )
        .bind(from_seq as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|r| {
                let at: String = r.try_get("at")?;
                let kind: String = r.try_get("kind")?;
                let data: String = r.try_get("data")?;
                Ok(picket_audit::AuditRecord {
                    seq: to_u64(r.try_get("seq")?),
                    at: at
                        .parse()
                        .map_err(|e| StoreError::corrupt("audit time", e))?,
                    kind: picket_audit::AuditKind::parse(&kind)
                        .ok_or_else(|| StoreError::corrupt("audit kind", kind.clone()))?,
                    actor: r.try_get("actor")?,
                    subject: r.try_get("subject")?,
                    data: serde_json::from_str(&data)
                        .map_err(|e| StoreError::corrupt("audit data", e))?,
                    prev_hash: r.try_get("prev_hash")?,
                    hash: r.try_get("hash")?,
                })
            })
            .collect()
    }

    async fn audit_head(&self) -> Result<Option<(u64, String)>> {
        let r = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&self.reader)
            .await?;
        match r {
            Some(r) => Ok(Some((to_u64(r.try_get("seq")?), r.try_get("hash")?))),
            None => Ok(None),
        }
    }

    async fn put_audit_checkpoint(&self, c: &picket_audit::Checkpoint) -> Result<()> {
        sqlx::query(
            "INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(c.seq as i64)
        .bind(&c.hash)
        .bind(c.at.to_string())
        .bind(&c.key_id)
        .bind(&c.signature)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn audit_checkpoints(&self) -> Result<Vec<picket_audit::Checkpoint>> {
        let rows = sqlx::query(
            "SELECT seq, hash, at, key_id, signature FROM audit_checkpoints ORDER BY id",
        )
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|r| {
                let at: String = r.try_get("at")?;
                Ok(picket_audit::Checkpoint {
                    seq: to_u64(r.try_get("seq")?),
                    hash: r.try_get("hash")?,
                    at: at
                        .parse()
                        .map_err(|e| StoreError::corrupt("checkpoint time", e))?,
                    key_id: r.try_get("key_id")?,
                    signature: r.try_get("signature")?,
                })
            })
            .collect()
    }

    async fn put_intel_result(
        &self,
        result: &picket_core::IntelResult,
        expires_at: Timestamp,
    ) -> Result<()> {
        let json =
            serde_json::to_string(result).map_err(|e| StoreError::corrupt("intel result", e))?;
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO intel_results (source, kind, value, fetched_at, expires_at, result) \
             VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (source, kind, value) DO UPDATE SET fetched_at = excluded.fetched_at, \
             expires_at = excluded.expires_at, result = excluded.result",
        )
        .bind(&result.source)
        .bind(result.kind.as_str())
        .bind(&result.value)
        .bind(micros(result.fetched_at))
        .bind(micros(expires_at))
        .bind(json)
        .execute(&mut *tx)
        .await?;
        // Keep the table bounded by what is still usable.
        sqlx::query("DELETE FROM intel_results WHERE expires_at <= ?")
            .bind(micros(Timestamp::now()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn intel_results(
        &self,
        keys: &[(String, picket_core::ObservableType, String)],
        now: Timestamp,
    ) -> Result<Vec<(picket_core::IntelResult, Timestamp)>> {
        let mut out = Vec::new();
        // SQLite's bound-parameter limit: 3 per key, well under 32766 per chunk.
        for chunk in keys.chunks(1000) {
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
                "SELECT result, expires_at FROM intel_results WHERE expires_at > ",
            );
            q.push_bind(micros(now));
            q.push(" AND (source, kind, value) IN (");
            let mut sep = q.separated(", ");
            for (s, k, v) in chunk {
                sep.push("(");
                sep.push_bind_unseparated(s.clone());
                sep.push_unseparated(", ");
                sep.push_bind_unseparated(k.as_str());
                sep.push_unseparated(", ");
                sep.push_bind_unseparated(v.clone());
                sep.push_unseparated(")");
            }
            q.push(")");
            for row in q.build().fetch_all(&self.reader).await? {
                let text: String = row.try_get("result")?;
                let r: picket_core::IntelResult = serde_json::from_str(&text)
                    .map_err(|e| StoreError::corrupt("intel result", e))?;
                out.push((r, from_micros(row.try_get("expires_at")?, "intel expiry")?));
            }
        }
        Ok(out)
    }

    async fn stats(&self) -> Result<StoreStats> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS total, COALESCE(SUM(status = 'pending'), 0) AS pending FROM alerts",
        )
        .fetch_one(&self.reader)
        .await?;
        let (alerts, pending_alerts): (i64, i64) = (r.try_get("total")?, r.try_get("pending")?);
        let dead_letters: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM dead_letters")
            .fetch_one(&self.reader)
            .await?;
        let verdicts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM verdicts")
            .fetch_one(&self.reader)
            .await?;
        let rows = sqlx::query(
            "SELECT verdict, COUNT(*) AS n FROM incidents WHERE superseded_by IS NULL
             GROUP BY verdict ORDER BY verdict",
        )
        .fetch_all(&self.reader)
        .await?;
        let mut incidents_by_verdict = Vec::with_capacity(rows.len());
        for r in rows {
            let v: String = r.try_get("verdict")?;
            let verdict =
                Verdict::parse(&v).ok_or_else(|| StoreError::corrupt("incidents.verdict", v))?;
            incidents_by_verdict.push((verdict, to_u64(r.try_get("n")?)));
        }
        Ok(StoreStats {
            alerts: to_u64(alerts),
            pending_alerts: to_u64(pending_alerts),
            dead_letters: to_u64(dead_letters),
            incidents_by_verdict,
            verdicts: to_u64(verdicts),
        })
    }
}

/// Alerts per multi-row INSERT (10 bound values each, far below SQLite's variable limit).
const INSERT_CHUNK: usize = 256;
/// Alerts in the first multi-row insert of a batch, which SQLite's thread waits for.
const FIRST_CHUNK: usize = 32;

/// The stored form of an alert: every field but `raw` (kept beside it, see `raw.rs`), written the way
/// `Alert` serializes them, so [`decode_alert`] reads it back with `Alert`'s own `Deserialize`.
/// Borrowing the fields spares a copy of the alert (and of its raw bytes) per insert.
#[derive(serde::Serialize)]
struct NormalizedRow<'a> {
    id: &'a str,
    format: picket_core::SourceFormat,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_event_id: &'a Option<String>,
    time: Timestamp,
    product: &'a picket_core::Product,
    rule: &'a picket_core::Rule,
    severity: picket_core::Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    vendor_severity: &'a Option<String>,
    message: &'a str,
    entities: &'a picket_core::Entities,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    attack: &'a [picket_core::AttackRef],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    observables: &'a [picket_core::Observable],
    raw_sha256: &'a str,
}

/// An alert as it is inserted: its rule key, and its raw record and stored form as kept.
struct AlertRow<'a> {
    alert: &'a Alert,
    rule_key: String,
    cells: raw::Cells<'a>,
}

/// The rows for the alerts of `chunk`.
fn alert_rows(chunk: &[Alert]) -> Result<Vec<AlertRow<'_>>> {
    chunk
        .iter()
        .map(|a| {
            Ok(AlertRow {
                alert: a,
                rule_key: picket_triage::knowledge::rule_key(a),
                cells: raw::pack(
                    &a.raw,
                    normalized_json(a)
                        .map_err(|e| StoreError::corrupt(format!("alert {}", a.id), e))?,
                ),
            })
        })
        .collect()
}

fn normalized_json(a: &Alert) -> serde_json::Result<String> {
    let Alert {
        id,
        format,
        source_event_id,
        time,
        product,
        rule,
        severity,
        vendor_severity,
        message,
        entities,
        attack,
        observables,
        raw_sha256,
        raw: _,
    } = a;
    serde_json::to_string(&NormalizedRow {
        id,
        format: *format,
        source_event_id,
        time: *time,
        product,
        rule,
        severity: *severity,
        vendor_severity,
        message,
        entities,
        attack,
        observables,
        raw_sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every field but `raw` survives the stored form, whatever is set.
    #[test]
    fn stored_form_round_trips_every_field_but_raw() {
        let full: Alert = serde_json::from_value(serde_json::json!({
            "id": "al_1", "format": "wazuh", "source_event_id": "e1",
            "time": "2024-05-01T10:00:00Z",
            "product": {"vendor": "Wazuh", "name": "Wazuh"},
            "rule": {"id": "5710", "name": "sshd: invalid user"},
            "severity": "high", "vendor_severity": "10", "message": "m",
            "entities": {"hosts": [{"hostname": "h1", "ip": "10.0.0.1"}], "urls": ["http://x.example/"]},
            "attack": [{"technique": "T1110", "tactic": "credential-access"}],
            "observables": [{"type": "ipv4", "value": "10.0.0.1", "field": "agent.ip", "labels": ["private"]}],
            "raw_sha256": "ab", "raw": "{\"x\":1}"
        }))
        .unwrap();
        let back =
            decode_alert(&normalized_json(&full).unwrap(), full.raw.clone(), "al_1").unwrap();
        assert_eq!(back, full);
        let mut bare = full.clone();
        bare.source_event_id = None;
        bare.vendor_severity = None;
        bare.attack.clear();
        bare.observables.clear();
        let text = normalized_json(&bare).unwrap();
        assert!(!text.contains("\"raw\""), "{text}");
        assert_eq!(decode_alert(&text, bare.raw.clone(), "al_1").unwrap(), bare);
    }
}
