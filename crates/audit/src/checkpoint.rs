//! Checkpoints: the chain's head at some point, signed with ed25519.

use ed25519_dalek::{Signature, Signer, Verifier};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: String,
    pub at: Timestamp,
    /// First 16 hex digits of SHA-256 of the public key.
    pub key_id: String,
    /// Hex ed25519 signature over [`Checkpoint::message`].
    pub signature: String,
}

impl Checkpoint {
    /// What is signed: `picket-audit-checkpoint\n{seq}\n{hash}\n{at}`.
    pub fn message(seq: u64, hash: &str, at: Timestamp) -> Vec<u8> {
        format!("picket-audit-checkpoint\n{seq}\n{hash}\n{at}").into_bytes()
    }

    pub fn verify_with(&self, key: &VerifyingKey) -> bool {
        let Ok(bytes) = hex::decode(&self.signature) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(&bytes) else {
            return false;
        };
        key.verify(&Self::message(self.seq, &self.hash, self.at), &sig)
            .is_ok()
    }
}

pub fn key_id(key: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))[..16].to_owned()
}

/// Signs the chain's head.
pub fn sign(key: &SigningKey, seq: u64, hash: &str, at: Timestamp) -> Checkpoint {
    let sig = key.sign(&Checkpoint::message(seq, hash, at));
    Checkpoint {
        seq,
        hash: hash.to_owned(),
        at,
        key_id: key_id(&key.verifying_key()),
        signature: hex::encode(sig.to_bytes()),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the signing key must be 64 hex digits (a 32-byte ed25519 seed)")]
    Format,
}

/// A signing key from its text form: 64 hex digits (the seed), surrounding whitespace ignored.
pub fn signing_key_from_text(text: &str) -> Result<SigningKey, KeyError> {
    let bytes = hex::decode(text.trim()).map_err(|_| KeyError::Format)?;
    let seed: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Format)?;
    Ok(SigningKey::from_bytes(&seed))
}
