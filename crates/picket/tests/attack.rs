//! `picket attack import|lookup|coverage` with the shared Enterprise bundle and vendor samples.

use std::path::{Path, PathBuf};
use std::process::Command;

fn picket() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picket"))
}

fn shared() -> PathBuf {
    std::env::var_os("PICKET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

#[test]
fn import_lookup_triage_and_coverage() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = picket()
        .current_dir(dir.path())
        .args(["attack", "import"])
        .arg(shared().join("attack/enterprise-attack.json"))
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("216 techniques, 475 sub-techniques, 14 tactics"),
        "{said}"
    );
    assert!(data.join("attack/enterprise-attack.json").exists());

    let lookup = |id: &str| {
        picket()
            .current_dir(dir.path())
            .args(["attack", "lookup", id, "--data-dir"])
            .arg(&data)
            .output()
            .unwrap()
    };
    let r = lookup("T1143");
    assert!(r.status.success());
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(v["id"], "T1564.003");
    assert_eq!(v["replaces"], "T1143");
    assert_eq!(v["full_name"], "Hide Artifacts: Hidden Window");
    let dep = lookup("T1153");
    assert_eq!(dep.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&dep.stderr).contains("deprecated"));

    // Triage vendor samples that name techniques, into the same data directory.
    let mut triage = picket();
    triage
        .current_dir(dir.path())
        .args(["triage", "--data-dir"])
        .arg(&data);
    for f in ["crowdstrike", "elastic_alert", "wazuh"] {
        for e in std::fs::read_dir(shared().join("alerts").join(f)).unwrap() {
            triage.arg(e.unwrap().path());
        }
    }
    let t = triage.output().unwrap();
    assert!(
        t.status.code().is_some_and(|c| c == 0 || c == 2),
        "{}",
        String::from_utf8_lossy(&t.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&t.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let named = lines
        .iter()
        .flat_map(|i| i["attack"].as_array().unwrap())
        .filter(|a| a.get("name").is_some())
        .count();
    assert!(
        named > 0,
        "techniques carry their ATT&CK names with the bundle loaded"
    );
    let incident_file = dir.path().join("incidents.ndjson");
    std::fs::write(&incident_file, &t.stdout).unwrap();

    let cov = |extra: &[&str]| {
        let o = picket()
            .current_dir(dir.path())
            .args(["attack", "coverage", "--json", "--data-dir"])
            .arg(&data)
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let stored = cov(&[]);
    assert!(!stored.is_empty());
    assert!(stored.iter().all(|r| r["incidents"].as_u64().unwrap() >= 1));
    let order: Vec<usize> = stored
        .iter()
        .map(|r| {
            picket_core::attack::tactic_order(r["tactics"][0].as_str().unwrap_or("")).unwrap_or(99)
        })
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] <= w[1]),
        "kill-chain order: {order:?}"
    );
    let from_file = cov(&["--from", incident_file.to_str().unwrap()]);
    assert_eq!(
        from_file
            .iter()
            .map(|r| &r["technique"])
            .collect::<Vec<_>>(),
        stored.iter().map(|r| &r["technique"]).collect::<Vec<_>>()
    );
}
