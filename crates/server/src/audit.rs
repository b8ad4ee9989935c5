//! The audit writer: records from the API, the worker and the enrichment path go through one
//! channel to one task, which appends them to the store's chain in batches of what is queued and signs a
//! checkpoint every `checkpoint_every` records and at shutdown.
//!
//! The channel is unbounded on purpose: an audit record is never dropped. Appends are batched (one
//! transaction for up to 256 queued records), far faster than the events that produce them; a store
//! that cannot write is retried, and the pending count is visible in the logs.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use picket_audit::{AuditKind, NewRecord, Redactor, SigningKey, sign};
use picket_store::Store;
use tokio::sync::{mpsc, oneshot};

enum Cmd {
    Record(NewRecord),
    Flush(oneshot::Sender<()>),
}

/// A handle to the audit writer. Cheap to clone.
#[derive(Clone)]
pub struct Auditor {
    tx: mpsc::UnboundedSender<Cmd>,
    redactor: Arc<Redactor>,
}

const BATCH: usize = 256;
/// How long the writer waits for more records before committing a batch.
const LINGER: Duration = Duration::from_millis(5);
const RETRY: Duration = Duration::from_millis(500);

impl Auditor {
    /// Starts the writer. `key`: checkpoints are signed with it (unsigned trails are still chained
    /// and verifiable, but only a signed checkpoint proves nothing was truncated behind it).
    pub fn start(
        store: Arc<dyn Store>,
        key: Option<SigningKey>,
        checkpoint_every: u64,
        redactor: Redactor,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(writer(store, key, checkpoint_every.max(1), rx));
        (
            Self {
                tx,
                redactor: Arc::new(redactor),
            },
            task,
        )
    }

    /// Queues a record (redacted first). Never blocks, never drops.
    pub fn record(&self, kind: AuditKind, actor: &str, subject: &str, mut data: serde_json::Value) {
        self.redactor.redact(&mut data);
        let r = NewRecord {
            at: Timestamp::now(),
            kind,
            actor: actor.to_owned(),
            subject: subject.to_owned(),
            data,
        };
        if self.tx.send(Cmd::Record(r)).is_err() {
            tracing::error!("audit writer stopped: record not written");
        }
    }

    /// Waits until everything queued so far is written (and checkpointed when a key is set).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

impl picket_enrich::LookupObserver for Auditor {
    fn lookup(&self, e: &picket_enrich::LookupEvent) {
        self.record(
            AuditKind::ConnectorCall,
            &format!("connector:{}", e.source),
            &format!("indicator:{}:{}", e.kind, e.value),
            serde_json::to_value(e).unwrap_or_default(),
        );
    }
}

/// Every responder HTTP request (secrets already redacted by the client) as a tool call.
impl picket_enrich::Observer for Auditor {
    fn call(&self, e: &picket_enrich::CallEvent) {
        self.record(
            AuditKind::ConnectorCall,
            &format!("responder:{}", e.connector),
            &format!("call:{}", e.operation),
            serde_json::to_value(e).unwrap_or_default(),
        );
    }
}

async fn writer(
    store: Arc<dyn Store>,
    key: Option<SigningKey>,
    every: u64,
    mut rx: mpsc::UnboundedReceiver<Cmd>,
) {
    let mut pending: Vec<NewRecord> = Vec::new();
    let mut waiters: Vec<oneshot::Sender<()>> = Vec::new();
    let mut since_checkpoint = 0u64;
    let mut closed = false;
    let mut failures = 0u32;
    let take = |cmd: Cmd, pending: &mut Vec<NewRecord>, waiters: &mut Vec<oneshot::Sender<()>>| {
        match cmd {
            Cmd::Record(r) => pending.push(r),
            Cmd::Flush(w) => waiters.push(w),
        }
    };
    loop {
        if pending.is_empty() && waiters.is_empty() {
            if closed {
                break;
            }
            match rx.recv().await {
                Some(cmd) => take(cmd, &mut pending, &mut waiters),
                None => closed = true,
            }
        }
        // Whatever else is queued, or arrives within LINGER, joins the batch: the records of one
        // action or one triage step come in bursts and share one transaction (one fsync). A flush
        // does not wait.
        let deadline = tokio::time::Instant::now() + LINGER;
        while pending.len() < BATCH && !closed {
            let next = if waiters.is_empty() {
                tokio::time::timeout_at(deadline, rx.recv()).await.ok()
            } else {
                match rx.try_recv() {
                    Ok(cmd) => Some(Some(cmd)),
                    Err(mpsc::error::TryRecvError::Empty) => None,
                    Err(mpsc::error::TryRecvError::Disconnected) => Some(None),
                }
            };
            match next {
                Some(Some(cmd)) => take(cmd, &mut pending, &mut waiters),
                Some(None) => closed = true,
                None => break,
            }
        }
        if !pending.is_empty() {
            match store.append_audit(pending.clone()).await {
                Ok(written) => {
                    since_checkpoint += written.len() as u64;
                    pending.clear();
                    failures = 0;
                }
                Err(e) => {
                    // Kept and retried: an audit record is never dropped while the service runs.
                    failures += 1;
                    tracing::error!(error = %e, pending = pending.len(), "audit append failed; retrying");
                    if closed && failures >= 3 {
                        tracing::error!(
                            lost = pending.len(),
                            "audit store unavailable at shutdown: records not written"
                        );
                        for w in waiters.drain(..) {
                            let _ = w.send(());
                        }
                        return;
                    }
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            }
        }
        let settling = closed || !waiters.is_empty();
        if let Some(k) = &key
            && (since_checkpoint >= every || (settling && since_checkpoint > 0))
        {
            match store.audit_head().await {
                Ok(Some((seq, hash))) => {
                    match store
                        .put_audit_checkpoint(&sign(k, seq, &hash, Timestamp::now()))
                        .await
                    {
                        Ok(()) => since_checkpoint = 0,
                        Err(e) => tracing::error!(error = %e, "audit checkpoint failed"),
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "audit head unreadable"),
            }
        }
        for w in waiters.drain(..) {
            let _ = w.send(());
        }
    }
}
