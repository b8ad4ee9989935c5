//! Orchestration overhead per response action, in CPU time of the whole process (every thread):
//! `POST /api/v1/actions` (auth, JSON, the policy's history from the store, evaluation, the action
//! stored, the audit record) and the executor's run (claim with the undo, the responder call, the
//! result committed), with a responder that answers at once so only Picket's own work is measured.
//! The store holds 2,000 recent actions so the history is not empty. The target: ≤ 1 ms CPU.
//!
//! `cargo bench -p picket-server --bench orchestration`; `PRELOAD=N` sets the recent actions stored
//! first (default 2000); `SPLIT=1` prints the CPU of the proposal and of the execution separately
//! instead; `TMPDIR=/dev/shm` puts the database on tmpfs (no fsync cost).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{Method, Request, header};
use cpu_time::ProcessTime;
use criterion::{Criterion, criterion_group, criterion_main};
use picket_respond::{
    ActionDef, ActionOutcome, ActionRequest, Configured, RespondError, Responder, Responders,
};
use picket_server::{Pipeline, Role, ServerConfig, TokenConfig};
use picket_store::{SqliteStore, Store};
use tower::ServiceExt;

struct Instant;

#[async_trait]
impl Responder for Instant {
    fn actions(&self) -> Vec<ActionDef> {
        vec![
            ActionDef::new("block_ip", Some("unblock_ip"), true),
            ActionDef::new("unblock_ip", Some("block_ip"), true),
        ]
    }
    async fn execute(&self, req: &ActionRequest) -> Result<ActionOutcome, RespondError> {
        Ok(ActionOutcome {
            summary: format!("{} {}", req.action, req.target),
            details: serde_json::json!({}),
        })
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("t");
    std::fs::write(&token_file, "bench-token-000000000000000001").unwrap();
    let cfg = ServerConfig {
        tokens: vec![TokenConfig {
            name: "rita".into(),
            token_env: None,
            token_file: Some(token_file),
            role: Role::Admin,
        }],
        ..ServerConfig::default()
    };
    let (router, state) = rt.block_on(async {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(dir.path().join("data")).await.unwrap());
        let (auditor, _task) = picket_server::Auditor::start(
            store.clone(),
            None,
            1000,
            picket_audit::Redactor::new(Vec::<String>::new()),
        );
        let mut policy = picket_policy::Policy::seed_defaults();
        // Room for the benchmark's own actions within the rate limits.
        for r in &mut policy.rate_limits {
            r.max = 10_000_000;
        }
        let pipeline = Pipeline {
            auditor: Some(auditor),
            policy: Some(policy),
            responders: Responders::from_list(vec![Configured {
                name: "fw".into(),
                kind: "bench",
                actions: Instant.actions(),
                responder: Arc::new(Instant),
            }]),
            ..Pipeline::default()
        };
        let (state, _worker) = picket_server::prepare(&cfg, store, pipeline).await.unwrap();
        (picket_server::router(state.clone()), state)
    });
    let propose = |i: u64| {
        let body = serde_json::json!({
            "action": "block_ip",
            "target": format!("198.51.{}.{}", (i / 250) % 250, i % 250),
            "incident": format!("inc_{}", i % 40),
        });
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/actions")
            .header(
                header::AUTHORIZATION,
                "Bearer bench-token-000000000000000001",
            )
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    // A busy recent history.
    rt.block_on(async {
        for i in 0..std::env::var("PRELOAD")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000u64)
        {
            router.clone().oneshot(propose(i)).await.unwrap();
        }
        picket_server::execute_approved(&state).await.unwrap();
    });
    if std::env::var("SPLIT").is_ok() {
        rt.block_on(async {
            let (mut tp, mut te) = (Duration::ZERO, Duration::ZERO);
            for i in 0..500u64 {
                let t = ProcessTime::now();
                let resp = router
                    .clone()
                    .oneshot(propose(5_000_000 + i))
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 201);
                tp += t.elapsed();
                let t = ProcessTime::now();
                picket_server::execute_approved(&state).await.unwrap();
                te += t.elapsed();
            }
            eprintln!(
                "propose {:?}/action, execute {:?}/action",
                tp / 500,
                te / 500
            );
        });
        return;
    }
    let mut n = 1_000_000u64;
    let mut g = c.benchmark_group("orchestration");
    g.measurement_time(Duration::from_secs(10)).sample_size(20);
    g.bench_function("propose_decide_store_execute_per_action_cpu", |b| {
        b.iter_custom(|iters| {
            let start = ProcessTime::now();
            rt.block_on(async {
                for _ in 0..iters {
                    n += 1;
                    let resp = router.clone().oneshot(propose(n)).await.unwrap();
                    assert_eq!(resp.status(), 201);
                    assert_eq!(picket_server::execute_approved(&state).await.unwrap(), 1);
                }
            });
            start.elapsed()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
