//! The audit trail: append-only records, each holding the hash of the previous one, and periodic
//! checkpoints signed with ed25519. Pure: hashing, chaining, redaction, signing and verification take
//! values; the store keeps the rows (`picket_store`), the server and CLI write them.
//!
//! Canonical form of a record (what its hash covers, docs/audit.md): the UTF-8 JSON text of
//! `{"seq":…,"at":"…","kind":"…","actor":"…","subject":"…","data":…,"prev_hash":"…"}` with exactly
//! these keys in this order, no whitespace, `at` in RFC 3339 UTC as jiff prints it, and `data`'s
//! object keys sorted (serde_json's default map). `hash = hex(SHA-256(canonical))`; the first record's
//! `prev_hash` is 64 zeros.

mod checkpoint;
mod record;
mod redact;
mod verify;

pub use checkpoint::{
    Checkpoint, KeyError, SigningKey, VerifyingKey, key_id, sign, signing_key_from_text,
};
pub use record::{AuditKind, AuditRecord, GENESIS, NewRecord, chain};
pub use redact::Redactor;
pub use verify::{Summary, Tamper, TamperKind, verify};
