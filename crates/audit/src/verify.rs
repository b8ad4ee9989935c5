//! Verification: recompute every hash, follow the chain, check the checkpoints.

use std::fmt;

use crate::checkpoint::{Checkpoint, VerifyingKey, key_id};
use crate::record::{AuditRecord, GENESIS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TamperKind {
    /// The record's content does not match its hash.
    Modified,
    /// A seq is missing: records deleted (or the chain starts late).
    Deleted,
    /// A seq repeats or goes backwards: a record inserted or moved.
    InsertedOrReordered,
    /// The record's prev_hash is not the previous record's hash.
    BrokenLink,
    /// A checkpoint names a seq beyond the last record: the trail was truncated.
    Truncated,
    /// A checkpoint's hash differs from the record at its seq.
    CheckpointMismatch,
    /// A checkpoint's signature does not verify with the key.
    BadSignature,
}

impl fmt::Display for TamperKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Modified => "modified (content does not match its hash)",
            Self::Deleted => "records deleted before it (seq gap)",
            Self::InsertedOrReordered => "inserted or reordered (seq out of order)",
            Self::BrokenLink => "chain broken (prev_hash is not the previous record's hash)",
            Self::Truncated => "truncated behind a signed checkpoint",
            Self::CheckpointMismatch => "does not match its signed checkpoint",
            Self::BadSignature => "checkpoint signature invalid",
        })
    }
}

/// The first problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tamper {
    /// The seq of the first bad record (or of the checkpoint).
    pub seq: u64,
    pub kind: TamperKind,
}

impl fmt::Display for Tamper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "record {}: {}", self.seq, self.kind)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Summary {
    pub records: u64,
    pub checkpoints: u64,
    /// Checkpoints verified against the key (0 when no key was given).
    pub signed_checkpoints: u64,
    pub head_seq: u64,
    pub head_hash: String,
}

/// Verifies records (in stored order) and checkpoints. With a key, every checkpoint must carry a
/// valid signature by it; without one, checkpoints still pin hashes but signatures are not checked.
pub fn verify(
    records: &[AuditRecord],
    checkpoints: &[Checkpoint],
    key: Option<&VerifyingKey>,
) -> Result<Summary, Tamper> {
    let mut prev: Option<&AuditRecord> = None;
    for r in records {
        let expected_seq = prev.map_or(1, |p| p.seq + 1);
        if r.seq > expected_seq {
            return Err(Tamper {
                seq: r.seq,
                kind: TamperKind::Deleted,
            });
        }
        if r.seq < expected_seq {
            return Err(Tamper {
                seq: r.seq,
                kind: TamperKind::InsertedOrReordered,
            });
        }
        if r.compute_hash() != r.hash {
            return Err(Tamper {
                seq: r.seq,
                kind: TamperKind::Modified,
            });
        }
        let expected_prev = prev.map_or(GENESIS, |p| p.hash.as_str());
        if r.prev_hash != expected_prev {
            return Err(Tamper {
                seq: r.seq,
                kind: TamperKind::BrokenLink,
            });
        }
        prev = Some(r);
    }
    let last = prev.map_or(0, |p| p.seq);
    let mut signed = 0;
    for c in checkpoints {
        if let Some(k) = key {
            if c.key_id != key_id(k) || !c.verify_with(k) {
                return Err(Tamper {
                    seq: c.seq,
                    kind: TamperKind::BadSignature,
                });
            }
            signed += 1;
        }
        if c.seq > last {
            return Err(Tamper {
                seq: last + 1,
                kind: TamperKind::Truncated,
            });
        }
        // Records are contiguous from 1 by now: the one at c.seq is at index c.seq - 1.
        match records.get((c.seq as usize).wrapping_sub(1)) {
            Some(r) if r.hash == c.hash => {}
            _ => {
                return Err(Tamper {
                    seq: c.seq,
                    kind: TamperKind::CheckpointMismatch,
                });
            }
        }
    }
    Ok(Summary {
        records: records.len() as u64,
        checkpoints: checkpoints.len() as u64,
        signed_checkpoints: signed,
        head_seq: last,
        head_hash: prev
            .map(|p| p.hash.clone())
            .unwrap_or_else(|| GENESIS.to_owned()),
    })
}
