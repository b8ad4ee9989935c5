//! `picket policy check|evaluate` on the shipped example policy.

use std::path::Path;
use std::process::Command;

fn picket() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picket"))
}

#[test]
fn the_example_policy_checks_and_decides() {
    let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/policy");
    let ok = picket()
        .args(["policy", "check"])
        .arg(ex.join("policy.toml"))
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let d = picket()
        .args(["policy", "evaluate", "--policy"])
        .arg(ex.join("policy.toml"))
        .arg(ex.join("isolate-web01.json"))
        .output()
        .unwrap();
    assert!(d.status.success());
    let v: serde_json::Value = serde_json::from_slice(&d.stdout).unwrap();
    assert_eq!(
        v["outcome"]["outcome"], "needs_approval",
        "an agent never isolates a host alone"
    );
    assert_eq!(v["tier"], "high");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "version = \"x\"\nallow = [\"nuke_from_orbit\"]\n").unwrap();
    let out = picket()
        .args(["policy", "check"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown action `nuke_from_orbit`"));
}
