//! Playbooks: the shipped examples load; problems are reported all at once with file:line:col; plans
//! follow triggers, conditions, loops and approval gates; property: a plan never targets a benign,
//! private or loopback indicator and only proposes catalog actions.

use picket_core::Incident;
use picket_playbook::{Playbook, load};
use proptest::prelude::*;

fn example(name: &str) -> Playbook {
    let path = format!(
        "{}/../../examples/playbooks/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    load(&text, &path).unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

fn incident() -> Incident {
    serde_json::from_str(include_str!("fixtures/c2-incident.json")).unwrap()
}

#[test]
fn every_shipped_example_loads() {
    let dir = format!("{}/../../examples/playbooks", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "brute-force",
            "c2-beaconing",
            "compromised-credentials",
            "malware-endpoint",
            "phishing"
        ]
    );
    for n in &names {
        let p = example(n);
        assert_eq!(&p.name, n);
        assert_eq!(p.sha256.len(), 64);
    }
}

#[test]
fn c2_plan_blocks_public_c2_only_pages_and_gates_isolation() {
    let p = example("c2-beaconing");
    let inc = incident();
    assert!(p.matches(&inc).unwrap());
    let plan = p.plan(&inc).unwrap();
    let proposals: Vec<_> = plan.iter().filter_map(|s| s.proposal.as_ref()).collect();
    let summary: Vec<(String, String, u8)> = proposals
        .iter()
        .map(|p| (p.action.clone(), p.target.clone(), p.min_approvals))
        .collect();
    assert_eq!(
        summary,
        [
            ("block_ip".to_owned(), "45.33.32.156".to_owned(), 0),
            ("page_on_call".to_owned(), String::new(), 0),
            ("isolate_host".to_owned(), "web01".to_owned(), 1),
            ("isolate_host".to_owned(), "web02".to_owned(), 1),
        ],
        "8.8.8.8 is on a benign list and 10.0.0.5 is private: never blocked"
    );
    let block = proposals[0];
    assert_eq!(
        block.params["reason"],
        "C2 traffic in incident inc_c2_0001: Cobalt Strike beacon on web01"
    );
    assert_eq!(block.params["duration_hours"], 24);
    assert_eq!(block.params["playbook"], "c2-beaconing@1.0.0");
    assert_eq!(block.incident.as_deref(), Some("inc_c2_0001"));
    assert_eq!(block.proposer, picket_policy::Proposer::Playbook);
    assert!(
        proposals[1].params["message"]
            .as_str()
            .unwrap()
            .contains("hosts: web01, web02")
    );
    assert!(
        plan[0].note.contains("no threat-intel enrichment"),
        "{}",
        plan[0].note
    );
}

#[test]
fn triggers_hold_only_when_every_condition_does() {
    let p = example("c2-beaconing");
    let mut inc = incident();
    inc.priority = picket_core::Priority::P3;
    assert!(!p.matches(&inc).unwrap(), "priority below P2");
    let mut inc = incident();
    inc.verdict = picket_core::Verdict::Benign;
    assert!(!p.matches(&inc).unwrap());
    let mut inc = incident();
    inc.attack.clear();
    assert!(!p.matches(&inc).unwrap(), "no C2 tactic");
    // The tactic may be given by id (TA0011) as vendors do.
    let mut inc = incident();
    inc.attack[0].tactic = Some("TA0011".into());
    assert!(p.matches(&inc).unwrap());
    // Sub-techniques match their parent; sources and `when` too.
    let m = example("malware-endpoint");
    assert!(m.matches(&incident()).unwrap());
    let mut inc = incident();
    inc.scope.hosts.clear();
    assert!(!m.matches(&inc).unwrap(), "`when`: no host");
    let c = example("compromised-credentials");
    assert!(!c.matches(&incident()).unwrap(), "no T1078");
}

#[test]
fn conditions_loops_and_parallel_branches() {
    let inc = incident();
    // brute-force: C2 fixture has execution (TA0002) => the `then` branch.
    let mut b = example("brute-force");
    b.trigger.techniques.clear();
    let plan = b.plan(&inc).unwrap();
    let kinds: Vec<&str> = plan.iter().map(|s| s.kind).collect();
    assert_eq!(
        kinds,
        ["for_each", "action", "condition", "action", "notify"]
    );
    assert!(plan[2].note.ends_with("is true"));
    // compromised-credentials: each user gets both branches, behind the approval gate.
    let plan = example("compromised-credentials").plan(&inc).unwrap();
    let acts: Vec<(String, String, u8)> = plan
        .iter()
        .filter_map(|s| s.proposal.as_ref())
        .map(|p| (p.action.clone(), p.target.clone(), p.min_approvals))
        .collect();
    assert_eq!(
        acts,
        [
            ("notify".to_owned(), String::new(), 0),
            ("disable_user".to_owned(), "svc-web".to_owned(), 1),
            ("revoke_sessions".to_owned(), "svc-web".to_owned(), 1),
        ]
    );
}

#[test]
fn every_problem_is_reported_with_its_line_and_column() {
    let text = r#"name = "bad"
version = "1"

[trigger]
verdicts = ["malicious"]
tactics = ["not-a-tactic"]

[[steps]]
type = "action"
action = "launch_missiles"
target = "{{ item"

[[steps]]
type = "notify"

[[steps]]
type = "teleport"

[[steps]]
type = "approval"
reason = "x"
message = "not for approvals"
"#;
    let errs = load(text, "bad.toml").unwrap_err();
    let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let all = lines.join("\n");
    assert!(
        all.contains("bad.toml:4:1: `trigger.tactics`: unknown tactic `not-a-tactic`"),
        "{all}"
    );
    assert!(
        all.contains("bad.toml:10:10: unknown action `launch_missiles`"),
        "{all}"
    );
    assert!(
        all.contains("bad.toml:11:10: `target`: syntax error"),
        "{all}"
    );
    assert!(
        all.contains("bad.toml:13:1: a `notify` step needs `message`"),
        "{all}"
    );
    assert!(
        all.contains("bad.toml:17:8: unknown step type `teleport`"),
        "{all}"
    );
    assert!(
        all.contains("bad.toml:19:1: `message` does not apply to a `approval` step"),
        "{all}"
    );
    assert_eq!(errs.len(), 6, "{all}");
    // A TOML syntax error and an unknown field, located.
    let e = load("name = \"x\"\nversion = \n", "s.toml").unwrap_err();
    assert_eq!((e[0].line, e[0].column), (2, 11), "{}", e[0]);
    let e = load(
        "name = \"x\"\nversion = \"1\"\n[trigger]\n[[steps]]\ntype = \"enrich\"\ncolour = 1\n",
        "u.toml",
    )
    .unwrap_err();
    assert!(e[0].message.contains("unknown field `colour`"), "{}", e[0]);
    assert_eq!(e[0].line, 6, "{}", e[0]);
}

#[test]
fn a_template_that_fails_on_an_incident_names_its_step() {
    let text = "name = \"t\"\nversion = \"1\"\n[trigger]\n[[steps]]\nid = \"n\"\ntype = \"notify\"\nmessage = \"{{ incident.no_such_field }}\"\n";
    let p = load(text, "t.toml").unwrap();
    let e = p.plan(&incident()).unwrap_err();
    assert_eq!((e.step.as_str(), e.line), ("n", 4));
    assert!(e.message.contains("undefined"), "{e}");
}

fn arb_incident() -> impl Strategy<Value = Incident> {
    let obs = prop::collection::vec(
        (
            prop::sample::select(vec!["ipv4", "ipv6", "domain", "sha256", "url"]),
            "[a-z0-9.:]{1,12}",
            any::<bool>(),
            prop::sample::select(vec![None, Some("private"), Some("loopback")]),
        ),
        0..8,
    );
    (
        prop::sample::select(vec!["malicious", "suspicious", "benign", "needs_review"]),
        prop::sample::select(vec!["P1", "P2", "P3", "P4"]),
        0.0f64..=1.0,
        obs,
        prop::collection::vec("[a-z0-9-]{1,8}", 0..4),
        prop::collection::vec("[a-z0-9.]{1,8}", 0..4),
    )
        .prop_map(|(v, p, c, obs, hosts, users)| {
            let mut inc = incident();
            inc.verdict = serde_json::from_value(serde_json::json!(v)).unwrap();
            inc.priority = serde_json::from_value(serde_json::json!(p)).unwrap();
            inc.confidence = c;
            inc.scope.hosts = hosts;
            inc.scope.users = users;
            inc.observables = obs
                .into_iter()
                .map(|(t, value, benign, label)| {
                    serde_json::from_value(serde_json::json!({
                        "type": t, "value": value,
                        "benign_lists": if benign { vec!["a list"] } else { vec![] },
                        "labels": label.into_iter().collect::<Vec<_>>(),
                    }))
                    .unwrap()
                })
                .collect();
            inc
        })
}

proptest! {
    #[test]
    fn plans_only_propose_catalog_actions_on_fit_targets(inc in arb_incident()) {
        let catalog: Vec<String> = picket_policy::default_catalog().into_iter().map(|a| a.name).collect();
        let unfit: Vec<&str> = inc
            .observables
            .iter()
            .filter(|o| !o.benign_lists.is_empty() || !o.labels.is_empty())
            .map(|o| o.value.as_str())
            .collect();
        for name in ["brute-force", "c2-beaconing", "compromised-credentials", "malware-endpoint", "phishing"] {
            let p = example(name);
            let _ = p.matches(&inc).unwrap();
            let plan = p.plan(&inc).unwrap();
            for s in plan.iter().filter_map(|s| s.proposal.as_ref()) {
                prop_assert!(catalog.contains(&s.action));
                if s.action == "block_ip" {
                    prop_assert!(!unfit.contains(&s.target.as_str()) || inc.observables.iter().any(|o| o.value == s.target && o.benign_lists.is_empty() && o.labels.is_empty()),
                        "{name} blocks unfit {}", s.target);
                }
            }
        }
    }
}

#[test]
fn a_playbook_may_choose_the_agents_investigation_mode() {
    let text = "name = \"c2\"\nversion = \"1\"\ninvestigate = \"blackboard\"\n[trigger]\nverdicts = [\"malicious\"]\n[[steps]]\ntype = \"enrich\"\n";
    assert_eq!(
        load(text, "m.toml").unwrap().investigate.as_deref(),
        Some("blackboard")
    );
    let bad = text.replace("blackboard", "vibes");
    let e = load(&bad, "m.toml").unwrap_err();
    assert_eq!((e[0].line, e[0].column), (3, 15), "{}", e[0]);
    assert!(e[0].message.contains("supervisor_worker"), "{}", e[0]);
}
