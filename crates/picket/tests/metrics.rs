//! `picket metrics` on a store filled by `picket triage --data-dir`, and `picket verdict` feeding the
//! override and accuracy figures.

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

fn metrics(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let o = picket()
        .args([
            "metrics",
            "--json",
            "--since",
            "2000-01-01T00:00:00Z",
            "--data-dir",
        ])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn metrics_are_computed_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let samples: Vec<PathBuf> = std::fs::read_dir(shared().join("alerts/wazuh"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    let o = picket()
        .arg("triage")
        .arg("--data-dir")
        .arg(&data)
        .args(&samples)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let incidents: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let m = metrics(&data, &[]);
    assert_eq!(m["incidents"].as_u64().unwrap() as usize, incidents.len());
    assert_eq!(
        m["time_to_triage"]["count"].as_u64().unwrap() as usize,
        incidents.len(),
        "every incident was ingested and triaged in this run"
    );
    let auto = incidents
        .iter()
        .filter(|i| i["escalation"] == "auto_close")
        .count() as u64;
    assert_eq!(m["automation"]["numerator"], auto);

    // An analyst overturns one the engine judged itself.
    let judged = incidents
        .iter()
        .find(|i| i["verdict"] != "needs_review" && i["verdict"] != "benign")
        .or_else(|| incidents.iter().find(|i| i["verdict"] != "needs_review"))
        .expect("an incident the engine judged");
    let flip = if judged["verdict"] == "benign" {
        "malicious"
    } else {
        "benign"
    };
    let o = picket()
        .args([
            "verdict",
            judged["id"].as_str().unwrap(),
            flip,
            "--analyst",
            "alice",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m = metrics(&data, &[]);
    assert_eq!(m["override_rate"]["numerator"], 1);
    assert_eq!(m["override_rate"]["denominator"], 1);
    assert_eq!(m["accuracy"]["judged"], 1);
    // The terminal table.
    let o = picket()
        .args(["metrics", "--since", "2000-01-01T00:00:00Z", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("to triage (ingested → triaged)") && text.contains("human override rate"),
        "{text}"
    );
    // Filters.
    let none = metrics(&data, &["--source", "crowdstrike"]);
    assert_eq!(none["incidents"], 0);
    // The report of the judged incident, as HTML in a file.
    let out = dir.path().join("report.html");
    let o = picket()
        .args([
            "report",
            judged["id"].as_str().unwrap(),
            "--html",
            "--data-dir",
        ])
        .arg(&data)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&out).unwrap();
    assert!(
        page.contains("Analyst alice: ") && page.contains("<h2>Recommendations</h2>"),
        "{page}"
    );
    let o = picket()
        .args(["report", "inc_nope", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!o.status.success());
}
