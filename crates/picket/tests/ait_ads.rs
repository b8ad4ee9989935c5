//! The AIT Alert Data Set goal, as a regression test on its smallest scenario (45k real alerts): at
//! least 90% of false-positive alerts are handled without a human, and every attack phase that has a
//! distinctive alert reaches an escalated incident. Labels are read here only; Picket never sees them
//! (the shipped mapping ignores those columns). Full figures: docs/evaluation.md.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

fn data() -> PathBuf {
    std::env::var_os("PICKET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

#[test]
fn russellmitchell_noise_is_handled_and_attack_phases_escalate() {
    let csv = data().join("ait-ads/russellmitchell_alerts.csv.gz");
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ait-ads.toml");
    let dir = tempfile::tempdir().unwrap();
    let asg = dir.path().join("assignments.ndjson");
    let out = Command::new(env!("CARGO_BIN_EXE_picket"))
        .arg("--config")
        .arg(&cfg)
        .arg("triage")
        .arg(&csv)
        .arg("--assignments")
        .arg(&asg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let escalated: HashSet<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|i| i["escalation"] != "auto_close")
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();

    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&csv).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let labels: HashMap<u64, String> = text
        .lines()
        .enumerate()
        .skip(1)
        .map(|(i, l)| (i as u64 + 1, l.rsplit(',').nth(1).unwrap().to_owned()))
        .collect();

    let (mut fp_auto, mut fp_human) = (0u64, 0u64);
    let mut phases_escalated = HashSet::new();
    for line in std::fs::read_to_string(&asg).unwrap().lines() {
        let a: serde_json::Value = serde_json::from_str(line).unwrap();
        let label = &labels[&a["line"].as_u64().unwrap()];
        let human = a["incident"].as_str().is_none_or(|i| escalated.contains(i));
        match (label.as_str(), human) {
            ("false_positive", true) => fp_human += 1,
            ("false_positive", false) => fp_auto += 1,
            (phase, true) => {
                phases_escalated.insert(phase.to_owned());
            }
            _ => {}
        }
    }
    let share = fp_auto as f64 / (fp_auto + fp_human) as f64;
    assert!(
        share >= 0.90,
        "only {:.1}% of false-positive alerts handled without a human",
        share * 100.0
    );
    // network_scans and dnsteal hold only rules that were already firing routinely before the phase
    // began in this scenario (see scripts/ait-eval.py): nothing distinguishes them at alert level.
    for phase in [
        "service_scans",
        "dirb",
        "wpscan",
        "webshell",
        "cracking",
        "reverse_shell",
        "privilege_escalation",
        "service_stop",
    ] {
        assert!(
            phases_escalated.contains(phase),
            "attack phase {phase} reached no escalated incident"
        );
    }
}
