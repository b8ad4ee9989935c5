//! The guardrails hold for single proposals and for any sequence of them.

use jiff::{SignedDuration, Timestamp};
use picket_policy::{
    Approval, ApprovalState, Executed, History, Outcome, Policy, Proposal, Proposer, Tier,
    TimeoutBehavior, approval_hash, approval_state, evaluate,
};
use proptest::prelude::*;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_second(1_763_000_000 + secs).unwrap()
}

fn prop(action: &str, target: &str, proposer: Proposer) -> Proposal {
    Proposal {
        action: action.into(),
        target: target.into(),
        params: serde_json::json!({"duration_hours": 24}),
        incident: Some("inc_1".into()),
        proposer,
        requester: "playbook:c2".into(),
        protected: false,
        min_approvals: 0,
        asset_class: None,
        out_of_scope: false,
    }
}

#[test]
fn tiers_follow_the_seed_table() {
    let p = Policy::seed_defaults();
    let h = History::default();
    let target = |a: &str| {
        if a.ends_with("_ip") {
            "203.0.113.7"
        } else {
            "x"
        }
    };
    let out = |a: &str, who| evaluate(&p, &prop(a, target(a), who), &h, t(0)).outcome;
    assert_eq!(out("enrich_lookup", Proposer::Agent), Outcome::Allow);
    assert_eq!(out("block_ip", Proposer::Playbook), Outcome::Allow);
    assert_eq!(
        out("disable_user", Proposer::Playbook),
        Outcome::NeedsApproval {
            approvals: 1,
            timeout_secs: 1800,
            on_timeout: TimeoutBehavior::QueueForReview
        }
    );
    assert_eq!(
        out("isolate_host", Proposer::Agent),
        Outcome::NeedsApproval {
            approvals: 1,
            timeout_secs: 3600,
            on_timeout: TimeoutBehavior::BlockUntilApproved
        }
    );
    assert!(matches!(
        out("wipe_endpoint", Proposer::Analyst),
        Outcome::NeedsApproval {
            approvals: 2,
            on_timeout: TimeoutBehavior::EscalateToOnCall,
            ..
        }
    ));
    assert_eq!(
        out("format_disk", Proposer::Analyst),
        Outcome::Deny {
            code: "not_allowed".into()
        }
    );
}

#[test]
fn asset_classes_raise_the_tier_and_set_timeouts_per_action_and_class() {
    let p = Policy::from_toml(
        r#"version = "t"
allow = ["block_ip", "disable_user", "isolate_host"]
[timeouts]
isolate_host = 1800
[asset_classes.critical]
min_tier = "high"
timeout_secs = 600
[asset_classes.low]
min_tier = "low"
"#,
    )
    .unwrap();
    // A medium action on a critical asset: high (an approval, blocked until approved), 10 minutes.
    let mut pr = prop("disable_user", "ceo", Proposer::Analyst);
    pr.asset_class = Some("critical".into());
    let d = evaluate(&p, &pr, &History::default(), t(0));
    assert_eq!(d.tier, Some(Tier::High));
    assert_eq!(
        d.outcome,
        Outcome::NeedsApproval {
            approvals: 1,
            timeout_secs: 600,
            on_timeout: TimeoutBehavior::BlockUntilApproved
        }
    );
    assert!(
        d.reasons.iter().any(|r| r.contains("critical asset")),
        "{:?}",
        d.reasons
    );
    // A class never lowers a tier; the per-action timeout applies elsewhere.
    let mut pr = prop("isolate_host", "kiosk-3", Proposer::Analyst);
    pr.asset_class = Some("low".into());
    let d = evaluate(&p, &pr, &History::default(), t(0));
    assert_eq!(d.tier, Some(Tier::High));
    assert!(matches!(
        d.outcome,
        Outcome::NeedsApproval {
            timeout_secs: 1800,
            ..
        }
    ));
    // Mistakes are reported.
    let e = Policy::from_toml("version = \"t\"\nallow = []\n[asset_classes.vip]\ntimeout_secs = 0\n[timeouts]\nnuke = 5\n").unwrap_err();
    assert!(
        e.contains("asset_classes.vip: not an inventory criticality"),
        "{e}"
    );
    assert!(e.contains("unknown action `nuke`"), "{e}");
}

#[test]
fn protected_assets_need_dual_approval_and_never_run_automatically() {
    let p = Policy::seed_defaults();
    let mut pr = prop("block_ip", "10.0.0.1", Proposer::Playbook);
    pr.protected = true;
    let d = evaluate(&p, &pr, &History::default(), t(0));
    assert!(
        matches!(d.outcome, Outcome::NeedsApproval { approvals: 2, .. }),
        "{d:?}"
    );
    assert!(d.reasons.iter().any(|r| r.contains("protected")));
}

#[test]
fn the_seed_rate_limit_and_blast_radius() {
    let p = Policy::seed_defaults();
    let mut h = History::default();
    for i in 0..100 {
        h.executed.push(Executed {
            at: t(i),
            action: "block_ip".into(),
            target: format!("203.0.113.{i}"),
            incident: None,
            automated: false,
            undone: false,
        });
    }
    let d = evaluate(
        &p,
        &prop("block_ip", "198.51.100.1", Proposer::Analyst),
        &h,
        t(200),
    );
    assert_eq!(
        d.outcome,
        Outcome::Deny {
            code: "rate_limited".into()
        }
    );
    // An hour later the window has passed.
    let d = evaluate(
        &p,
        &prop("block_ip", "198.51.100.1", Proposer::Analyst),
        &h,
        t(3700),
    );
    assert_eq!(d.outcome, Outcome::Allow);

    let mut h = History::default();
    for i in 0..5 {
        h.executed.push(Executed {
            at: t(i),
            action: "isolate_host".into(),
            target: format!("web{i}"),
            incident: Some("inc_1".into()),
            automated: false,
            undone: false,
        });
    }
    let d = evaluate(
        &p,
        &prop("isolate_host", "web9", Proposer::Analyst),
        &h,
        t(10),
    );
    assert_eq!(
        d.outcome,
        Outcome::Deny {
            code: "blast_radius".into()
        }
    );
}

#[test]
fn repeated_hits_on_one_target_trip_the_breaker() {
    let p = Policy::seed_defaults();
    let mut h = History::default();
    for i in 0..3 {
        h.executed.push(Executed {
            at: t(i),
            action: "block_ip".into(),
            target: "203.0.113.5".into(),
            incident: None,
            automated: true,
            undone: true,
        });
    }
    let d = evaluate(
        &p,
        &prop("block_ip", "203.0.113.5", Proposer::Playbook),
        &h,
        t(10),
    );
    assert!(d.trip_breaker.is_some());
    assert!(matches!(d.outcome, Outcome::NeedsApproval { .. }));
    h.paused = Some("spike".into());
    let d = evaluate(
        &p,
        &prop("block_ip", "198.51.100.7", Proposer::Agent),
        &h,
        t(10),
    );
    assert!(
        matches!(d.outcome, Outcome::NeedsApproval { .. }),
        "paused: no automated action"
    );
}

#[test]
fn approvals_are_bound_to_the_exact_action_and_need_distinct_humans() {
    let pr = prop("isolate_host", "web1", Proposer::Agent);
    let h = approval_hash(&pr);
    let a = |user: &str, hash: &str, by_model| Approval {
        user: user.into(),
        approval_hash: hash.into(),
        approve: true,
        by_model,
    };
    assert_eq!(
        approval_state(&pr, 2, &[a("alice", &h, false), a("alice", &h, false)]),
        ApprovalState::Pending { have: 1, need: 2 }
    );
    assert_eq!(
        approval_state(&pr, 2, &[a("alice", &h, false), a("bob", &h, false)]),
        ApprovalState::Approved
    );
    assert_eq!(
        approval_state(&pr, 1, &[a("playbook:c2", &h, false)]),
        ApprovalState::Pending { have: 0, need: 1 },
        "not the requester"
    );
    assert_eq!(
        approval_state(&pr, 1, &[a("agent", &h, true)]),
        ApprovalState::Pending { have: 0, need: 1 },
        "a model never approves"
    );
    let mut changed = pr.clone();
    changed.params = serde_json::json!({"duration_hours": 48});
    assert_ne!(approval_hash(&changed), h);
    assert_eq!(
        approval_state(&changed, 1, &[a("alice", &h, false)]),
        ApprovalState::Pending { have: 0, need: 1 }
    );
    let mut no = a("bob", &h, false);
    no.approve = false;
    assert_eq!(
        approval_state(&pr, 1, &[a("alice", &h, false), no]),
        ApprovalState::Rejected
    );
}

#[test]
fn a_policy_file_is_checked() {
    let ok = Policy::from_toml("version = \"2026-11\"\nallow = [\"block_ip\", \"isolate_host\"]\n[[rate_limits]]\naction = \"block_ip\"\nmax = 100\nper_secs = 3600\n").unwrap();
    assert_eq!(ok.allow.len(), 2);
    let err = Policy::from_toml(
        "version = \"x\"\nallow = [\"nuke\"]\n[[rate_limits]]\nmax = 0\nper_secs = 1\n",
    )
    .unwrap_err();
    assert!(
        err.contains("unknown action `nuke`") && err.contains("rate_limits[0]"),
        "{err}"
    );
    let err = Policy::from_toml("version = 1\nallow = []\n").unwrap_err();
    assert!(err.contains("line 1"), "{err}");
    assert_eq!(Policy::seed_defaults().tiers.get("x"), None::<&Tier>);
}

const ACTIONS: [&str; 6] = [
    "block_ip",
    "isolate_host",
    "disable_user",
    "wipe_endpoint",
    "enrich_lookup",
    "revoke_sessions",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Run every allowed proposal of a random stream; the guardrails are never exceeded, protected
    /// targets and high-impact actions never run without approval, and models never act alone.
    #[test]
    fn no_sequence_of_proposals_breaks_the_guardrails(
        steps in proptest::collection::vec((0usize..6, 0u8..12, 0u8..5, any::<bool>(), 0i64..120, 0u8..3), 1..300)
    ) {
        let p = Policy::seed_defaults();
        let mut h = History::default();
        let mut now = t(0);
        let proposers = [Proposer::Playbook, Proposer::Agent, Proposer::Mcp, Proposer::Analyst, Proposer::Api];
        for (a, target, who, protected, dt, incident) in steps {
            now = now.checked_add(SignedDuration::from_secs(dt)).unwrap();
            let mut pr = prop(ACTIONS[a], &format!("t{target}"), proposers[who as usize]);
            pr.protected = protected;
            pr.incident = Some(format!("inc_{incident}"));
            let d = evaluate(&p, &pr, &h, now);
            if d.outcome != Outcome::Allow {
                continue;
            }
            prop_assert!(!pr.protected, "a protected target ran without approval");
            prop_assert!(d.tier.unwrap() < Tier::High, "high impact ran without approval: {d:?}");
            if pr.proposer.automated() {
                prop_assert!(d.tier.unwrap() <= Tier::Low, "automated medium+ ran: {d:?}");
            }
            h.executed.push(Executed { at: now, action: pr.action.clone(), target: pr.target.clone(), incident: pr.incident.clone(), automated: pr.proposer.automated(), undone: false });
            let in_hour = |name: &str| h.executed.iter().filter(|e| e.action == name && now.duration_since(e.at) < SignedDuration::from_secs(3600)).count();
            prop_assert!(in_hour("block_ip") <= 100);
            prop_assert!(in_hour("isolate_host") <= 5);
        }
    }
}

#[test]
fn targets_are_checked_and_models_stay_within_the_incident() {
    let p = Policy::seed_defaults();
    let h = History::default();
    let code = |d: picket_policy::Decision| match d.outcome {
        Outcome::Deny { code } => code,
        other => format!("{other:?}"),
    };
    for bad in [
        "0.0.0.0/0",
        "::/0",
        "10.0.0.0/8",
        "127.0.0.1",
        "0.0.0.0",
        "all",
        "224.0.0.1",
        "",
    ] {
        let d = evaluate(&p, &prop("block_ip", bad, Proposer::Analyst), &h, t(0));
        assert_eq!(code(d), "invalid_target", "{bad}");
    }
    for good in ["203.0.113.7", "198.51.100.0/24", "2001:db8::1", "10.1.2.3"] {
        let d = evaluate(&p, &prop("block_ip", good, Proposer::Playbook), &h, t(0));
        assert_eq!(d.outcome, Outcome::Allow, "{good}");
    }
    let d = evaluate(
        &p,
        &prop("isolate_host", "web 01", Proposer::Analyst),
        &h,
        t(0),
    );
    assert_eq!(code(d), "invalid_target");
    for who in [Proposer::Agent, Proposer::Mcp] {
        let mut pr = prop("block_ip", "203.0.113.7", who);
        pr.out_of_scope = true;
        assert_eq!(code(evaluate(&p, &pr, &h, t(0))), "out_of_scope");
    }
    // A human may act beyond the incident.
    let mut pr = prop("block_ip", "203.0.113.7", Proposer::Analyst);
    pr.out_of_scope = true;
    assert!(!matches!(
        evaluate(&p, &pr, &h, t(0)).outcome,
        Outcome::Deny { .. }
    ));
}
