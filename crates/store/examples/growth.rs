//! How the persisted rate changes as the store grows: BLOCKS blocks of 200,000 synthetic alerts
//! (a shared 2.8 KB CrowdStrike sample as raw, made unique per alert; 20 observables), 2,000 per
//! commit, into one fresh SQLite store under the temp dir.
//! Alert ids are hashes, as in production; with `SEQ=1` they are time-ordered instead, which shows
//! what the random-key unique index costs. Figures: docs/performance.md.
//!
//!   cargo run --release -p picket-store --example growth -- 5

use picket_core::Alert;
use picket_store::{SqliteStore, Store};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let blocks: usize = match std::env::args().nth(1) {
        Some(s) => s.parse()?,
        None => 5,
    };
    let sequential = std::env::var_os("SEQ").is_some();
    let dir = std::env::temp_dir().join(format!("picket-growth-{}", std::process::id()));
    let store = SqliteStore::open(&dir).await?;
    let observables: Vec<_> = (0..20)
        .map(|i| serde_json::json!({"type": "ipv4", "value": format!("10.0.0.{i}"), "field": "some.field.path"}))
        .collect();
    let base: Alert = serde_json::from_value(serde_json::json!({
        "id": "x", "format": "wazuh", "time": "2024-05-01T10:00:00Z",
        "product": {"vendor": "Wazuh", "name": "Wazuh"},
        "rule": {"id": "5710", "name": "sshd: invalid user"},
        "severity": "high", "message": "m".repeat(300),
        "entities": {"hosts": [{"hostname": "h1", "ip": "10.0.0.1"}], "urls": ["http://x.example/"]},
        "observables": observables,
        "raw_sha256": "ab", "raw": ""
    }))?;
    let sample = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/data/alerts/crowdstrike/streaming_eppdetectionsummaryevent_eicar_high.json"),
    )?;
    let sample = sample
        .trim_start()
        .strip_prefix('{')
        .ok_or("sample is not an object")?;
    let mut n = 0u64;
    for b in 0..blocks {
        let t = std::time::Instant::now();
        for _ in 0..100 {
            let chunk: Vec<Alert> = (0..2000)
                .map(|_| {
                    n += 1;
                    let mut a = base.clone();
                    a.raw = format!("{{\"n\":{n},{sample}");
                    a.id = if sequential {
                        format!("al_{n:024}")
                    } else {
                        picket_core::hash::stable_id("al_", &[&n.to_le_bytes()])
                    };
                    a
                })
                .collect();
            store.insert_alerts(&chunk).await?;
        }
        let rate = 200_000.0 / t.elapsed().as_secs_f64();
        println!(
            "block {b} (alerts {} to {n}): {rate:.0} alerts/s",
            n - 199_999
        );
    }
    store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
