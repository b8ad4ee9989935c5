//! Derived identifiers: the same input names the same object in every export.
//!
//! - STIX Cyber-observable objects use the specification's own UUIDv5 scheme (STIX 2.1 §2.9): the
//!   STIX namespace and the canonical JSON of the object's ID-contributing properties, so an address
//!   has the same id in every bundle from every producer.
//! - Everything else (SDOs, SROs, the bundle, MISP uuids) is named by SHA-1 over Picket's namespace
//!   and a key (`<incident id>/<object key>`), as UUIDv5 does, but stamped version 4: STIX 2.1 says
//!   these objects SHOULD carry UUIDv4 and `stix2-validator --strict` enforces it. Such an id is as
//!   unique as a random one and reproducible.

use serde_json::Value;
use sha1::{Digest, Sha1};

/// Picket's namespace for derived ids. Never change it: every exported id depends on it.
const PICKET_NAMESPACE: [u8; 16] = uuid_bytes("9789dd72-b380-4d7e-b854-efb5ab4542d9");

/// The STIX 2.1 namespace for Cyber-observable object ids (STIX 2.1 §2.9).
const STIX_SCO_NAMESPACE: [u8; 16] = uuid_bytes("00abedb4-aa42-466c-9c01-fed23315a9b7");

const fn uuid_bytes(s: &str) -> [u8; 16] {
    let s = s.as_bytes();
    let mut out = [0u8; 16];
    let (mut i, mut n) = (0, 0);
    while i < s.len() {
        if s[i] != b'-' {
            let hi = hex_val(s[i]);
            let lo = hex_val(s[i + 1]);
            out[n] = hi << 4 | lo;
            n += 1;
            i += 1;
        }
        i += 1;
    }
    out
}

const fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not a lowercase hex digit"),
    }
}

fn name_hash(namespace: &[u8; 16], name: &[u8], version: u8) -> String {
    let mut h = Sha1::new();
    h.update(namespace);
    h.update(name);
    let digest = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | (version << 4);
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// RFC 4122 UUIDv5 of `name` in `namespace`.
fn uuid_v5(namespace: &[u8; 16], name: &[u8]) -> String {
    name_hash(namespace, name, 5)
}

/// A reproducible UUID (version 4 layout) for `key` in Picket's namespace.
pub(crate) fn derived_uuid(key: &str) -> String {
    name_hash(&PICKET_NAMESPACE, key.as_bytes(), 4)
}

/// `<stix type>--<derived uuid>` for an SDO, SRO or bundle.
pub(crate) fn sdo_id(stix_type: &str, key: &str) -> String {
    format!(
        "{stix_type}--{}",
        derived_uuid(&format!("{stix_type}/{key}"))
    )
}

/// The STIX id of a Cyber-observable object from its ID-contributing properties (an object holding
/// only those, e.g. `{"value": "203.0.113.9"}`).
pub(crate) fn sco_id(stix_type: &str, contributing: &Value) -> String {
    let mut canonical = String::new();
    canonical_json(contributing, &mut canonical);
    format!(
        "{stix_type}--{}",
        uuid_v5(&STIX_SCO_NAMESPACE, canonical.as_bytes())
    )
}

/// RFC 8785 canonical JSON for the values STIX ids are made of (strings, integers, objects, arrays):
/// members sorted by key, no insignificant whitespace, strings escaped as ECMAScript does.
fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            // Sorted by UTF-16 code units; for the ASCII property names STIX uses, byte order is the same.
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        // serde_json escapes strings exactly as JSON.stringify does (only `"`, `\` and controls), and
        // prints integers plainly.
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn uuid_v5_matches_rfc_4122_test_vector() {
        // Python: uuid.uuid5(uuid.NAMESPACE_DNS, "python.org")
        let dns = uuid_bytes("6ba7b810-9dad-11d1-80b4-00c04fd430c8");
        assert_eq!(
            uuid_v5(&dns, b"python.org"),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d"
        );
    }

    #[test]
    fn sco_ids_follow_the_stix_scheme() {
        // Python: uuid.uuid5(UUID("00abedb4-aa42-466c-9c01-fed23315a9b7"), '{"value":"198.51.100.3"}')
        assert_eq!(
            sco_id("ipv4-addr", &json!({"value": "198.51.100.3"})),
            "ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"
        );
        // Key order does not matter; the canonical form sorts.
        let a = sco_id("file", &json!({"hashes": {"SHA-256": "ab"}, "name": "x"}));
        let b = sco_id("file", &json!({"name": "x", "hashes": {"SHA-256": "ab"}}));
        assert_eq!(a, b);
    }

    #[test]
    fn derived_ids_are_stable_version_4_and_distinct() {
        let a = sdo_id("indicator", "inc_1/ipv4:203.0.113.9");
        assert_eq!(a, sdo_id("indicator", "inc_1/ipv4:203.0.113.9"));
        assert_ne!(a, sdo_id("indicator", "inc_2/ipv4:203.0.113.9"));
        assert_ne!(a, sdo_id("sighting", "inc_1/ipv4:203.0.113.9"));
        let uuid = a.strip_prefix("indicator--").unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn canonical_json_escapes_like_ecmascript() {
        let mut s = String::new();
        canonical_json(&json!({"b": "q\"\\/é\n", "a": [1, "x"]}), &mut s);
        assert_eq!(s, r#"{"a":[1,"x"],"b":"q\"\\/é\n"}"#);
    }
}
