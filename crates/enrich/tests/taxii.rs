//! TAXII 2.1 polling against the OASIS reference server `medallion` (PyPI) on loopback, with the
//! server data shipped in ../shared/data/stix/taxii. `.ci/run` installs medallion; set
//! `PICKET_SKIP_PY=1` to skip where Python packages cannot be installed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use picket_core::{IntelVerdict, ObservableType};
use picket_enrich::{ConnectorConfig, Recorder, Source, build_source_in};

const COLLECTION: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";

fn shared() -> PathBuf {
    std::env::var_os("PICKET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

struct Medallion(Child);

impl Drop for Medallion {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts medallion with its memory backend on the shared sample data; None when skipped.
async fn medallion(dir: &Path) -> Option<(Medallion, String)> {
    if std::env::var_os("PICKET_SKIP_PY").is_some() {
        eprintln!("PICKET_SKIP_PY set: TAXII interop test skipped");
        return None;
    }
    let data = shared().join("stix/taxii/medallion-default_data.json");
    let config = dir.join("medallion.json");
    std::fs::write(
        &config,
        serde_json::json!({
            "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend", "filename": data},
            "users": {"admin": "Password0", "user1": "Password1"},
            "taxii": {"max_page_size": 100}
        })
        .to_string(),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new("python3")
        .args([
            "-c",
            "import sys; from medallion.scripts.run import main; sys.argv[0] = 'medallion'; sys.exit(main())",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut m = Medallion(child);
    let root = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if let Ok(Some(status)) = m.0.try_wait() {
            let mut err = String::new();
            use std::io::Read;
            m.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!(
                "medallion exited ({status}): python3 -m pip install medallion (.ci/run does), or set PICKET_SKIP_PY=1\n{err}"
            );
        }
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((m, root));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("medallion did not start listening on {root}");
}

fn source(root: &str, data: &Path, password: &str, collection: &str) -> Source {
    let dir = data.join("cfg");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("taxii.pass"), password).unwrap();
    let mut c = ConnectorConfig::new("tg1", "taxii");
    c.base_url = Some(format!("{root}/trustgroup1/"));
    c.api_key_file = Some("taxii.pass".into());
    c.options = serde_json::json!({"collection": collection, "username": "admin"})
        .as_object()
        .unwrap()
        .clone();
    assert!(c.check().is_empty(), "{:?}", c.check());
    build_source_in(&c, &dir, &data.join("data"), Arc::new(Recorder::default())).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn polls_a_collection_incrementally_and_answers_locally() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_server, root)) = medallion(dir.path()).await else {
        return;
    };
    let s = source(&root, dir.path(), "Password0", COLLECTION);
    let health = s.connector.healthcheck().await.unwrap();
    assert!(
        health.contains("High Value Indicator Collection"),
        "{health}"
    );
    // Nothing known before the first poll.
    let url = "http://x4z9arb.cn/4712";
    assert_eq!(
        s.connector
            .lookup(ObservableType::Url, url)
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Unknown
    );
    let first = s.connector.refresh().await.unwrap().unwrap();
    assert!(!first.starts_with("0 objects"), "{first}");
    let hit = s.connector.lookup(ObservableType::Url, url).await.unwrap();
    assert_ne!(hit.verdict(), IntelVerdict::Unknown, "{hit:?}");
    assert!(
        hit.highlights["stix_id"]
            .as_str()
            .unwrap()
            .starts_with("indicator--")
    );
    let hash = s
        .connector
        .lookup(
            ObservableType::Sha256,
            "ef537f25c895bfa782526529a9b63d97aa631564d5d789c2b765448c8635fb6c",
        )
        .await
        .unwrap();
    assert_ne!(hash.verdict(), IntelVerdict::Unknown);
    let bundle = dir.path().join("data/intel/taxii-tg1.json");
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&bundle).unwrap()).unwrap();
    assert_eq!(doc["type"], "bundle");
    // The second poll starts after the last object seen: nothing new.
    let second = s.connector.refresh().await.unwrap().unwrap();
    assert!(second.contains(", 0 new or updated"), "{second}");

    // A fresh process (rebuilt source) answers from the kept bundle without polling.
    let again = source(&root, dir.path(), "Password0", COLLECTION);
    assert_ne!(
        again
            .connector
            .lookup(ObservableType::Url, url)
            .await
            .unwrap()
            .verdict(),
        IntelVerdict::Unknown
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_credentials_and_unknown_collections_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_server, root)) = medallion(dir.path()).await else {
        return;
    };
    let bad = source(&root, dir.path(), "wrong", COLLECTION);
    let e = bad.connector.refresh().await.unwrap_err();
    assert_eq!(e.code(), "unauthorized", "{e}");
    assert!(!e.to_string().contains("wrong"));
    let missing = source(
        &root,
        dir.path(),
        "Password0",
        "00000000-0000-4000-8000-000000000000",
    );
    let e = missing.connector.refresh().await.unwrap_err();
    assert!(
        matches!(e.code(), "config" | "http_error" | "forbidden"),
        "{e}"
    );
}
