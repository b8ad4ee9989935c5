//! Policy evaluation cost per proposed action, against a busy history (the orchestration overhead
//! the response issue bounds at 1 ms of CPU per action). `cargo bench -p picket-policy`.

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::Timestamp;
use picket_policy::{Executed, History, Policy, Proposal, Proposer, approval_hash, evaluate};

fn bench(c: &mut Criterion) {
    let p = Policy::seed_defaults();
    let now = Timestamp::from_second(1_763_000_000).unwrap();
    // 10,000 executed actions in the last hours: rate limits, blast radius and breaker all scan it.
    let mut h = History::default();
    for i in 0..10_000i64 {
        h.executed.push(Executed {
            at: Timestamp::from_second(1_763_000_000 - i).unwrap(),
            action: ["block_ip", "isolate_host", "notify"][(i % 3) as usize].into(),
            target: format!("t{}", i % 500),
            incident: Some(format!("inc_{}", i % 50)),
            automated: i % 2 == 0,
            undone: i % 4 == 0,
        });
    }
    let prop = Proposal {
        action: "isolate_host".into(),
        target: "web01".into(),
        params: serde_json::json!({"reason": "C2", "ttl_hours": 24}),
        incident: Some("inc_7".into()),
        proposer: Proposer::Playbook,
        requester: "playbook:c2".into(),
        protected: false,
        min_approvals: 0,
        asset_class: None,
        out_of_scope: false,
    };
    c.bench_function("policy/evaluate_10k_history", |b| {
        b.iter(|| evaluate(&p, &prop, &h, now))
    });
    c.bench_function("policy/evaluate_empty_history", |b| {
        b.iter(|| evaluate(&p, &prop, &History::default(), now))
    });
    c.bench_function("policy/approval_hash", |b| b.iter(|| approval_hash(&prop)));
}

criterion_group!(benches, bench);
criterion_main!(benches);
