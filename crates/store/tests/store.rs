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
