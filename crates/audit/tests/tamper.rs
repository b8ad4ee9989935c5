//! Every kind of change to a chain is detected and the first bad record named.

use jiff::Timestamp;
use picket_audit::{
    AuditKind, AuditRecord, Checkpoint, NewRecord, SigningKey, TamperKind, chain, sign, verify,
};
use proptest::prelude::*;

fn records(n: usize) -> Vec<AuditRecord> {
    let mut out: Vec<AuditRecord> = Vec::new();
    for i in 0..n {
        let r = chain(
            out.last().map(|p| (p.seq, p.hash.as_str())),
            NewRecord {
                at: Timestamp::from_second(1_763_000_000 + i as i64).unwrap(),
                kind: if i % 2 == 0 {
                    AuditKind::Input
                } else {
                    AuditKind::Decision
                },
                actor: "worker".into(),
                subject: format!("alert:{i}"),
                data: serde_json::json!({"i": i, "raw_sha256": format!("{i:064x}")}),
            },
        );
        out.push(r);
    }
    out
}

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn checkpoint(rs: &[AuditRecord], seq: u64) -> Checkpoint {
    let r = &rs[seq as usize - 1];
    sign(
        &key(),
        r.seq,
        &r.hash,
        Timestamp::from_second(1_763_100_000).unwrap(),
    )
}

#[test]
fn an_untouched_chain_verifies_with_its_key() {
    let rs = records(20);
    let cps = vec![checkpoint(&rs, 10), checkpoint(&rs, 20)];
    let s = verify(&rs, &cps, Some(&key().verifying_key())).unwrap();
    assert_eq!(
        (s.records, s.checkpoints, s.signed_checkpoints, s.head_seq),
        (20, 2, 2, 20)
    );
}

#[test]
fn a_foreign_key_or_forged_signature_is_caught() {
    let rs = records(5);
    let cps = vec![checkpoint(&rs, 5)];
    let other = SigningKey::from_bytes(&[8u8; 32]).verifying_key();
    let e = verify(&rs, &cps, Some(&other)).unwrap_err();
    assert_eq!(e.kind, TamperKind::BadSignature);
    let mut forged = cps.clone();
    forged[0].hash = rs[3].hash.clone();
    let e = verify(&rs, &forged, Some(&key().verifying_key())).unwrap_err();
    assert_eq!(
        e.kind,
        TamperKind::BadSignature,
        "the signature covers the hash"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A record read back from its stored text (as `picket audit verify` does) keeps its hash,
    /// whatever floats its data holds (durations, scores): serde_json's `float_roundtrip` parsing.
    #[test]
    fn floats_survive_storage_with_their_hash(xs in prop::collection::vec(any::<f64>().prop_filter("finite", |x| x.is_finite()), 1..20)) {
        let r = chain(None, NewRecord {
            at: Timestamp::from_second(1_763_000_000).unwrap(),
            kind: AuditKind::Action,
            actor: "picket".into(),
            subject: "action:a".into(),
            data: serde_json::json!({"duration_ms": xs[0], "all": xs}),
        });
        let stored = r.data.to_string();
        let mut back = r.clone();
        back.data = serde_json::from_str(&stored).unwrap();
        prop_assert_eq!(back.compute_hash(), r.hash.clone());
        prop_assert!(verify(&[back], &[], None).is_ok());
    }

    #[test]
    fn modification_is_caught_at_that_record(n in 2usize..40, i in 0usize..40, v in any::<u32>()) {
        let i = i % n;
        let mut rs = records(n);
        rs[i].data["i"] = serde_json::json!(v as u64 + 1_000_000);
        let e = verify(&rs, &[], None).unwrap_err();
        prop_assert_eq!((e.seq, e.kind), (i as u64 + 1, TamperKind::Modified));
    }

    #[test]
    fn rehashing_a_modified_record_breaks_the_next_link(n in 3usize..40, i in 0usize..40) {
        let i = i % (n - 1);
        let mut rs = records(n);
        rs[i].subject = "alert:forged".into();
        rs[i].hash = rs[i].compute_hash();
        let e = verify(&rs, &[], None).unwrap_err();
        prop_assert_eq!((e.seq, e.kind), (i as u64 + 2, TamperKind::BrokenLink));
    }

    #[test]
    fn deletion_is_caught_where_the_gap_is(n in 3usize..40, i in 0usize..40) {
        let i = i % (n - 1);
        let mut rs = records(n);
        rs.remove(i);
        let e = verify(&rs, &[], None).unwrap_err();
        prop_assert_eq!((e.seq, e.kind), (i as u64 + 2, TamperKind::Deleted));
    }

    #[test]
    fn insertion_and_reordering_are_caught(n in 3usize..40, i in 0usize..40, j in 0usize..40) {
        let (i, j) = (i % n, j % n);
        let mut ins = records(n);
        let copy = ins[i].clone();
        ins.insert(j.max(i) + 1, copy);
        let e = verify(&ins, &[], None).unwrap_err();
        prop_assert_eq!(e.kind, TamperKind::InsertedOrReordered);
        prop_assert_eq!(e.seq, ins[j.max(i) + 1].seq);

        prop_assume!(i != j);
        let mut sw = records(n);
        sw.swap(i, j);
        let e = verify(&sw, &[], None).unwrap_err();
        let first = i.min(j) as u64 + 1;
        prop_assert!(matches!(e.kind, TamperKind::Deleted | TamperKind::InsertedOrReordered));
        prop_assert_eq!(e.seq, sw[i.min(j)].seq.max(first));
    }

    #[test]
    fn truncation_behind_a_checkpoint_is_caught(n in 2usize..40, keep in 0usize..40) {
        let rs = records(n);
        let cps = vec![checkpoint(&rs, n as u64)];
        let keep = keep % n;
        let e = verify(&rs[..keep], &cps, Some(&key().verifying_key())).unwrap_err();
        prop_assert_eq!((e.seq, e.kind), (keep as u64 + 1, TamperKind::Truncated));
    }
}

/// `scripts/audit-verify.py` recomputes the same hashes as Picket for data with every shape of
/// float serde_json writes (plain, small and large exponents, subnormal, negative), nested objects
/// with unsorted keys, and non-ASCII text: a third party can verify the trail without Picket.
#[test]
fn the_python_verifier_agrees_on_floats_keys_and_text() {
    let mut floats = vec![
        1.0,
        0.25,
        1e-7,
        1.5e20,
        123456789.0,
        0.0001,
        1e-5,
        1e-6,
        1e16,
        1e15,
        2.5e-8,
        -3.75,
        1.7976931348623157e308,
        5e-324,
        0.1,
        1e21,
        12345678901234567.0,
        -0.0,
        0.0,
    ];
    // A spread of others: deterministic pseudo-random bit patterns, finite ones only.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while floats.len() < 600 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let f = f64::from_bits(x);
        if f.is_finite() {
            floats.push(f);
        }
    }
    let mut out: Vec<AuditRecord> = Vec::new();
    for (i, chunk) in floats.chunks(20).enumerate() {
        let r = chain(
            out.last().map(|p| (p.seq, p.hash.as_str())),
            NewRecord {
                at: Timestamp::from_second(1_763_000_000 + i as i64).unwrap(),
                kind: AuditKind::Decision,
                actor: "worker".into(),
                subject: "incident:inc_ü".into(),
                data: serde_json::json!({
                    "zeta": chunk, "alpha": {"b": 2, "a": [1, "naïve \"quoted\" \n tab\t"]},
                    "duration_ms": chunk[0],
                }),
            },
        );
        out.push(r);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("trail.jsonl");
    let mut text = String::new();
    for r in &out {
        // Through text and back, as `picket audit export` and a reader would.
        let mut v = serde_json::to_value(r).unwrap();
        v["type"] = "record".into();
        text.push_str(&serde_json::to_string(&v).unwrap());
        text.push('\n');
    }
    std::fs::write(&file, text).unwrap();
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/audit-verify.py");
    let py = std::process::Command::new("python3")
        .arg(&script)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}{}",
        String::from_utf8_lossy(&py.stdout),
        String::from_utf8_lossy(&py.stderr)
    );
}
