//! Content hashes and the deterministic ids derived from them.

use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    lower_hex(&Sha256::digest(bytes))
}

/// Lowercase hex of `bytes`, through a table (`hex::encode` goes one `char` at a time, and this runs
/// twice per ingested alert).
fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)]);
        out.push(DIGITS[usize::from(b & 0x0f)]);
    }
    String::from_utf8(out).unwrap_or_default()
}

/// A short, stable id: `prefix` followed by the first 24 hex digits (96 bits) of SHA-256 over the parts,
/// each part length-prefixed so that ("ab","c") and ("a","bc") differ.
pub fn stable_id(prefix: &str, parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let digest = h.finalize();
    let mut out = String::with_capacity(prefix.len() + 24);
    out.push_str(prefix);
    out.push_str(&lower_hex(&digest[..12]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_hex_matches_the_hex_crate() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(lower_hex(&all), hex::encode(&all));
    }

    #[test]
    fn sha256_of_empty_input_is_the_known_constant() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn stable_id_separates_parts() {
        assert_ne!(
            stable_id("x_", &[b"ab", b"c"]),
            stable_id("x_", &[b"a", b"bc"])
        );
        assert_eq!(stable_id("x_", &[b"a"]).len(), 2 + 24);
    }
}
