//! Answers reused for a TTL that depends on the verdict (`cache_ttl`), in memory, optionally backed
//! by the store so they survive a restart.
//!
//! A hit comes back with `cached: true` and `stale` recomputed from `fetched_at` against the source's
//! `max_age_hours`: an answer can be reused (TTL) and still be old evidence (max age) — both are the
//! operator's to set. The memory map is bounded: past `capacity`, expired entries go first, then the
//! soonest to expire.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use picket_core::{IntelResult, ObservableType};

/// Persistence for cached answers (the SQLite store implements it).
#[async_trait]
pub trait CacheBackend: Send + Sync {
    /// Unexpired answers for these keys (source, kind, value).
    async fn load(
        &self,
        keys: &[(String, ObservableType, String)],
        now: Timestamp,
    ) -> Vec<(IntelResult, Timestamp)>;
    /// Stores an answer until `expires_at`.
    async fn save(&self, result: &IntelResult, expires_at: Timestamp);
}

type Key = (Arc<str>, ObservableType, String);

pub struct Cache {
    map: Mutex<HashMap<Key, (IntelResult, Timestamp)>>,
    capacity: usize,
    backend: Option<Arc<dyn CacheBackend>>,
}

impl Cache {
    pub fn new(capacity: usize, backend: Option<Arc<dyn CacheBackend>>) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            backend,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, (IntelResult, Timestamp)>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh-enough answer from memory, marked cached, with staleness recomputed.
    pub fn get(
        &self,
        source: &str,
        kind: ObservableType,
        value: &str,
        max_age_hours: u64,
        now: Timestamp,
    ) -> Option<IntelResult> {
        let key: Key = (source.into(), kind, value.to_owned());
        let map = self.lock();
        let (r, expires) = map.get(&key)?;
        if *expires <= now {
            return None;
        }
        let mut r = r.clone();
        r.cached = true;
        r.stale = is_stale(r.fetched_at, max_age_hours, now);
        Some(r)
    }

    /// Remembers an answer for `ttl_secs` (0: not cached).
    pub async fn put(&self, result: &IntelResult, ttl_secs: u64) {
        if ttl_secs == 0 {
            return;
        }
        let expires = result
            .fetched_at
            .checked_add(SignedDuration::from_secs(
                ttl_secs.min(i64::MAX as u64) as i64
            ))
            .unwrap_or(Timestamp::MAX);
        self.insert(result.clone(), expires);
        if let Some(b) = &self.backend {
            b.save(result, expires).await;
        }
    }

    fn insert(&self, result: IntelResult, expires: Timestamp) {
        let mut map = self.lock();
        if map.len() >= self.capacity {
            let now = Timestamp::now();
            map.retain(|_, (_, e)| *e > now);
            if map.len() >= self.capacity {
                // Drop the tenth that expires soonest.
                let mut exp: Vec<Timestamp> = map.values().map(|(_, e)| *e).collect();
                let cut = exp.len() / 10;
                exp.select_nth_unstable(cut);
                let bar = exp[cut];
                map.retain(|_, (_, e)| *e > bar);
            }
        }
        let key: Key = (
            result.source.as_str().into(),
            result.kind,
            result.value.clone(),
        );
        map.insert(key, (result, expires));
    }

    /// Loads unexpired answers for these keys from the backend into memory (after a restart).
    pub async fn warm(&self, keys: &[(String, ObservableType, String)]) {
        let Some(b) = &self.backend else { return };
        let missing: Vec<_> = {
            let map = self.lock();
            keys.iter()
                .filter(|(s, k, v)| !map.contains_key(&(s.as_str().into(), *k, v.clone())))
                .cloned()
                .collect()
        };
        if missing.is_empty() {
            return;
        }
        for (r, expires) in b.load(&missing, Timestamp::now()).await {
            self.insert(r, expires);
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether an answer fetched at `fetched_at` is older than `max_age_hours` at `now`.
pub fn is_stale(fetched_at: Timestamp, max_age_hours: u64, now: Timestamp) -> bool {
    let age = now.duration_since(fetched_at);
    age > SignedDuration::from_hours(max_age_hours.min(i64::MAX as u64 / 3600) as i64)
}
