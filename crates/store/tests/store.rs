//! The store test suite, run against every backend (one integration test binary).

mod suite;

use std::sync::Arc;

use async_trait::async_trait;
use picket_store::{SqliteStore, Store};
use suite::Harness;

/// SQLite in a temporary directory: `open` opens (or reopens) the same `picket.db`.
struct SqliteHarness {
    dir: tempfile::TempDir,
}

#[async_trait]
impl Harness for SqliteHarness {
    async fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    async fn open(&self) -> Arc<dyn Store> {
        Arc::new(
            SqliteStore::open(self.dir.path())
                .await
                .expect("open sqlite"),
        )
    }
}

mod sqlite {
    crate::store_test_suite!(crate::SqliteHarness);
}

#[tokio::test]
async fn in_memory_store_serves_reads_and_writes_on_one_connection() {
    let store = SqliteStore::open_in_memory().await.expect("open");
    let a = suite::alert("mem", 0, "5710", "web01");
    store
        .insert_alerts(std::slice::from_ref(&a))
        .await
        .expect("insert");
    let got = store.get_alert(&a.id).await.expect("get").expect("present");
    assert_eq!(got.alert, a);
    assert_eq!(store.pending_alerts(10).await.expect("pending").len(), 1);
}

#[tokio::test]
async fn open_creates_the_directory_and_the_database_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested = dir.path().join("a/b");
    let store = SqliteStore::open(&nested).await.expect("open");
    store.ping().await.expect("ping");
    assert!(nested.join("picket.db").exists());
}

/// The raw record and the normalized alert come back exactly however they were kept: packed
/// together (a large vendor alert), as text (short, or not worth packing), or in the forms earlier
/// versions wrote. A packed row is readable with the standard tools, as the store documents.
#[tokio::test]
async fn raw_records_come_back_exactly_packed_or_not() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).await.expect("open");
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../../shared/data/alerts/crowdstrike/streaming_detectionsummaryevent_ngav_pup.json",
    );
    let vendor = std::fs::read_to_string(&sample).expect("shared CrowdStrike sample");
    // Not worth packing: pseudo-random text (an xorshift stream, 2 KB).
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let noise: String = (0..2048)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(b'!' + (x % 90) as u8)
        })
        .collect();
    let mut alerts = Vec::new();
    for (tag, raw) in [
        ("small", "{\"a\":\"é\"}".to_owned()),
        ("vendor", vendor.clone()),
        ("noise", noise),
    ] {
        let mut a = suite::alert(tag, 0, "5710", "web01");
        a.raw_sha256 = picket_core::hash::sha256_hex(raw.as_bytes());
        a.raw = raw;
        alerts.push(a);
    }
    store.insert_alerts(&alerts).await.expect("insert");
    for a in &alerts {
        let got = store.get_alert(&a.id).await.expect("get").expect("stored");
        assert_eq!(got.alert.raw, a.raw, "{}", a.id);
    }
    let pending = store.pending_alerts(10).await.expect("pending");
    assert_eq!(
        pending.iter().map(|p| &p.alert.raw).collect::<Vec<_>>(),
        alerts.iter().map(|a| &a.raw).collect::<Vec<_>>()
    );

    let db = dir.path().join("picket.db");
    let sqlite = |sql: &str| {
        let out = std::process::Command::new("sqlite3")
            .arg(&db)
            .arg(sql)
            .current_dir(dir.path())
            .output()
            .expect("sqlite3 (apt package sqlite3)");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    // The vendor alert is packed with its normalized JSON in one frame; the others stay plain.
    assert_eq!(
        sqlite("SELECT typeof(raw), raw_len, length(normalized) > 0 FROM alerts ORDER BY seq"),
        format!("text||1\nblob|{}|0\ntext||1\n", vendor.len())
    );
    let vendor_id = &alerts[1].id;
    let stored: usize = sqlite(&format!(
        "SELECT length(raw) FROM alerts WHERE id = '{vendor_id}'"
    ))
    .trim()
    .parse()
    .expect("length");
    assert!(
        stored * 4 < vendor.len() * 3,
        "{stored} of {}",
        vendor.len()
    );
    // Readable with the standard tools: the record, then the normalized JSON.
    sqlite(&format!(
        "SELECT writefile('row.lz4', raw) FROM alerts WHERE id = '{vendor_id}'"
    ));
    let out = std::process::Command::new("lz4")
        .args(["-dc", "row.lz4"])
        .current_dir(dir.path())
        .output()
        .expect("lz4 (apt package lz4)");
    assert!(out.status.success());
    let (record, json) = out.stdout.split_at(vendor.len());
    assert_eq!(record, vendor.as_bytes());
    let json: serde_json::Value = serde_json::from_slice(json).expect("normalized JSON");
    assert_eq!(json["id"], vendor_id.as_str());
    assert_eq!(json["raw_sha256"], alerts[1].raw_sha256.as_str());

    // Rows written by earlier versions: the record alone as an LZ4 frame beside the JSON as text,
    // and both as text.
    let json = String::from_utf8(out.stdout[vendor.len()..].to_vec()).expect("utf-8");
    std::fs::write(dir.path().join("vendor.json"), &vendor).expect("write");
    std::fs::write(dir.path().join("normalized.json"), &json).expect("write");
    let out = std::process::Command::new("lz4")
        .args(["-f", "vendor.json", "vendor.lz4"])
        .current_dir(dir.path())
        .output()
        .expect("lz4");
    assert!(out.status.success());
    let older = |raw: &str| {
        sqlite(&format!(
            "UPDATE alerts SET raw = {raw}, normalized = CAST(readfile('normalized.json') AS TEXT),
             raw_len = NULL WHERE id = '{vendor_id}'"
        ));
    };
    for (raw, class) in [
        ("readfile('vendor.lz4')", "blob"),
        ("CAST(readfile('vendor.json') AS TEXT)", "text"),
    ] {
        older(raw);
        assert_eq!(
            sqlite(&format!(
                "SELECT typeof(raw), raw_len FROM alerts WHERE id = '{vendor_id}'"
            )),
            format!("{class}|\n")
        );
        let got = store
            .get_alert(vendor_id)
            .await
            .expect("get")
            .expect("stored");
        assert_eq!(got.alert, alerts[1], "{class}");
    }

    // A damaged row is an error naming the alert, not a panic or a wrong record: a split point
    // inside the record, one past the end, a frame cut short.
    for (raw, raw_len) in [
        ("readfile('row.lz4')", "7"),
        ("readfile('row.lz4')", "1000000000"),
        ("substr(readfile('row.lz4'), 1, 100)", "7"),
    ] {
        sqlite(&format!(
            "UPDATE alerts SET raw = {raw}, normalized = '', raw_len = {raw_len} WHERE id = '{vendor_id}'"
        ));
        let err = store.get_alert(vendor_id).await.expect_err("damaged row");
        assert!(
            err.to_string().contains(vendor_id.as_str()),
            "{raw} {raw_len}: {err}"
        );
    }
    store.close().await;
}

/// Two stores on one database (as two processes would be) inserting overlapping batches at the same
/// time: every alert is stored once and reported inserted by exactly one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_database_insert_each_alert_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = SqliteStore::open(dir.path()).await.expect("open");
    let second = SqliteStore::open(dir.path()).await.expect("open again");
    let alerts: Vec<_> = (0..3000)
        .map(|i| suite::alert(&format!("both{i}"), i, "5710", "web01"))
        .collect();
    let mut tasks = Vec::new();
    for (store, offset) in [(first.clone(), 0), (second.clone(), 500)] {
        let alerts = alerts.clone();
        tasks.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            // Different batch boundaries, the same alerts.
            for batch in alerts[offset..]
                .chunks(700)
                .chain(alerts[..offset].chunks(700))
            {
                let out = store.insert_alerts(batch).await.expect("insert");
                outcomes.extend(batch.iter().map(|a| a.id.clone()).zip(out));
            }
            outcomes
        }));
    }
    let mut inserted = std::collections::HashMap::<String, usize>::new();
    for t in tasks {
        for (id, o) in t.await.expect("task") {
            if o == picket_store::InsertOutcome::Inserted {
                *inserted.entry(id).or_default() += 1;
            }
        }
    }
    assert_eq!(inserted.len(), alerts.len());
    assert!(inserted.values().all(|&n| n == 1));
    assert_eq!(first.stats().await.expect("stats").alerts, 3000);
    first.close().await;
    second.close().await;
}

/// WAL pages are copied back into the database by the store's checkpointer after a batch, well
/// before the WAL reaches the size at which the writer would do it inside a commit.
#[tokio::test]
async fn the_checkpointer_copies_the_wal_back_after_a_batch() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path()).await.expect("open");
    let db = dir.path().join("picket.db");
    let before = std::fs::metadata(&db).expect("db").len();
    let filler = "x".repeat(300);
    let alerts: Vec<_> = (0..2000)
        .map(|i| {
            let mut a = suite::alert(&format!("ck{i}"), i, "5710", "web01");
            a.message = format!("{i} {filler}");
            a
        })
        .collect();
    store.insert_alerts(&alerts).await.expect("insert");
    // About 1.5 MB of pages, far below the writer's own threshold (64 MB of WAL).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let now = std::fs::metadata(&db).expect("db").len();
        if now > before + 1_000_000 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "picket.db stayed at {now} bytes (was {before}): nothing was checkpointed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    store.close().await;
}
