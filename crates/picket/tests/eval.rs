//! `picket eval` end to end: the smallest AIT-ADS scenario scored against its labels (labels read from
//! a CSV column the mapping hides from triage), and a hand-made JSON-lines label file with exact
//! figures.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn picket() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picket"))
}

fn shared() -> PathBuf {
    std::env::var_os("PICKET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn ait_ads_scenario_is_scored_against_its_labels() {
    let charts = tempfile::tempdir().unwrap();
    let o = picket()
        .arg("--config")
        .arg(repo().join("examples/ait-ads.toml"))
        .arg("eval")
        .arg(shared().join("ait-ads/russellmitchell_alerts.csv.gz"))
        .args(["--format", "json", "--charts"])
        .arg(charts.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["alerts"]["total"], 45544);
    assert_eq!(r["alerts"]["unlabelled"], 0);
    // docs/evaluation.md: 94.1% of false-positive alerts closed without a human.
    assert!(
        r["automation"]["fp_share"].as_f64().unwrap() >= 0.90,
        "{}",
        r["automation"]
    );
    // Every phase with a distinctive alert is reached.
    assert_eq!(
        r["coverage"]["distinctive_reached"],
        r["coverage"]["distinctive"]
    );
    for p in r["phases"].as_array().unwrap() {
        if p["distinctive_alerts"].as_u64().unwrap() > 0 {
            assert_eq!(p["reached"], true, "{p}");
        }
    }
    // Quality: every threshold's precision and recall within [0, 1], confusion matrices complete.
    let total = r["alerts"]["labelled"].as_u64().unwrap();
    for q in r["quality"].as_array().unwrap() {
        let a = &q["alerts"];
        let sum: u64 = ["tp", "fp", "fn", "tn"]
            .iter()
            .map(|k| a[k].as_u64().unwrap())
            .sum();
        assert_eq!(sum, total, "{q}");
        for k in ["precision", "recall"] {
            if let Some(x) = a[k].as_f64() {
                assert!((0.0..=1.0).contains(&x), "{q}");
            }
        }
    }
    assert!(r["baseline"]["saved_hours"]["low"].as_f64().unwrap() > 0.0);
    assert!(r["throughput"]["alerts_per_sec"].as_f64().unwrap() > 0.0);
    for name in ["precision-recall.svg", "volume.svg", "time-to-triage.svg"] {
        let svg = std::fs::read_to_string(charts.path().join(name)).unwrap();
        assert!(svg.starts_with("<svg") || svg.contains("<svg "), "{name}");
        assert!(svg.trim_end().ends_with("</svg>"), "{name}");
        // Well-formed XML (a third-party parser).
        let ok = Command::new("python3")
            .args([
                "-c",
                "import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])",
            ])
            .arg(charts.path().join(name))
            .status()
            .unwrap()
            .success();
        assert!(ok, "{name} is not well-formed XML");
    }
}

#[test]
fn json_lines_labels_give_exact_figures() {
    let dir = tempfile::tempdir().unwrap();
    // Two Wazuh alerts: a routine one labelled benign, the sshd brute force labelled an attack.
    let wazuh = shared().join("alerts/wazuh");
    let sshd = wazuh.join("sshd_bruteforce_custom_rule_mitre.json");
    let alerts = dir.path().join("alerts.ndjson");
    let mut lines = Vec::new();
    let other = std::fs::read_dir(&wazuh)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json") && *p != sshd)
        .min()
        .unwrap();
    for p in [&other, &sshd] {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        lines.push(v.to_string());
    }
    std::fs::write(&alerts, lines.join("\n") + "\n").unwrap();
    let labels = dir.path().join("labels.jsonl");
    std::fs::write(
        &labels,
        "{\"file\": \"alerts.ndjson\", \"line\": 1, \"label\": \"false_positive\"}\n\
         {\"file\": \"alerts.ndjson\", \"line\": 2, \"label\": \"brute_force\"}\n",
    )
    .unwrap();
    let o = picket()
        .current_dir(dir.path())
        .args([
            "eval",
            "alerts.ndjson",
            "--labels",
            "labels.jsonl",
            "--format",
            "json",
        ])
        .args(["--minutes-per-alert", "20"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["alerts"]["total"], 2);
    assert_eq!(
        (
            r["alerts"]["attack"].as_u64(),
            r["alerts"]["benign"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let phase = &r["phases"][0];
    assert_eq!(
        (phase["name"].as_str(), phase["alerts"].as_u64()),
        (Some("brute_force"), Some(1))
    );
    // Manual baseline: 2 alerts × 20 min = 40 min by hand.
    assert!((r["baseline"]["manual_hours"]["low"].as_f64().unwrap() - 40.0 / 60.0).abs() < 1e-9);
    // A label naming a line that does not exist is an error, not silently ignored? It is counted.
    std::fs::write(
        &labels,
        "{\"file\": \"alerts.ndjson\", \"line\": 9, \"label\": \"x\"}\nnot json\n",
    )
    .unwrap();
    let o = picket()
        .current_dir(dir.path())
        .args(["eval", "alerts.ndjson", "--labels", "labels.jsonl"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("labels.jsonl:2"), "located: {err}");
}

// Below: the script equivalence of the phase figures, the labels file checked figure by figure against
// `picket triage --assignments`, and the errors a user can run into.

fn ok(out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn russellmitchell_phases_match_the_python_scorer() {
    let out = picket()
        .arg("--config")
        .arg(repo().join("examples/ait-ads.toml"))
        .arg("eval")
        .arg(shared().join("ait-ads/russellmitchell_alerts.csv.gz"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let r: Value = serde_json::from_str(&ok(out)).unwrap();
    assert_eq!(r["alerts"]["benign"], 33529);
    assert_eq!(r["labels"]["source"], "CSV column `time_label`");
    // (phase, alerts, distinctive alerts) as scripts/ait-eval.py prints them: properties of the data.
    let want = [
        ("network_scans", 8, 0),
        ("service_scans", 367, 9),
        ("dirb", 4522, 2),
        ("wpscan", 6359, 3),
        ("webshell", 5, 0),
        ("cracking", 14, 0),
        ("reverse_shell", 3, 0),
        ("privilege_escalation", 24, 2),
        ("service_stop", 2, 0),
        ("dnsteal", 711, 0),
    ];
    let got: Vec<(&str, u64, u64)> = r["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                p["alerts"].as_u64().unwrap(),
                p["distinctive_alerts"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
    // Picket's own threshold: its true negatives are the auto-closed false positives.
    let picket = r["quality"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["threshold"] == "escalation != auto_close")
        .unwrap();
    assert_eq!(picket["alerts"]["tn"], r["automation"]["fp_auto_closed"]);
    let ttt = &r["time_to_triage"];
    assert_eq!(ttt["escalated_incidents"], r["incidents"]["escalated"]);
    assert_eq!(ttt["measured"], ttt["escalated_incidents"]);
    let buckets = r["event_time"]["buckets"].as_array().unwrap();
    let alerts: u64 = buckets.iter().map(|b| b["alerts"].as_u64().unwrap()).sum();
    assert_eq!(alerts, 45544);
}

/// Every vendor sample, compacted to one line each.
fn samples_ndjson() -> String {
    let mut files = Vec::new();
    for dir in std::fs::read_dir(shared().join("alerts"))
        .unwrap()
        .flatten()
    {
        if dir.path().is_dir() {
            files.extend(
                std::fs::read_dir(dir.path())
                    .unwrap()
                    .flatten()
                    .map(|f| f.path()),
            );
        }
    }
    files.sort();
    let mut out = String::new();
    for f in files {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}

#[test]
fn labels_file_figures_match_triage_on_the_same_input() {
    use std::collections::HashMap;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("alerts.ndjson");
    std::fs::write(&input, samples_ndjson()).unwrap();

    // What `picket triage` does with the same input.
    let asg = dir.path().join("a.ndjson");
    let out = picket()
        .current_dir(dir.path())
        .args(["triage", "alerts.ndjson", "--assignments"])
        .arg(&asg)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let incidents: HashMap<String, Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|i| (i["id"].as_str().unwrap().to_owned(), i))
        .collect();
    let rows: Vec<Value> = std::fs::read_to_string(&asg)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let n = rows.len();
    assert!(n >= 20, "{n} samples");

    // Labels: every third row is an attack (`intrusion`), the others false positives, except every
    // fifth row left unlabelled; row 2 labelled by its alert id, not its line; two labels match
    // nothing (a line past the end, a file not given).
    let mut labels = String::new();
    let mut expect: HashMap<u64, &str> = HashMap::new();
    for r in &rows {
        let line = r["line"].as_u64().unwrap();
        if line % 5 == 0 {
            continue;
        }
        let label = if line % 3 == 0 {
            "intrusion"
        } else {
            "false_positive"
        };
        expect.insert(line, label);
        let entry = match r["alert"].as_str() {
            Some(id) if line == 2 => serde_json::json!({"alert": id, "label": label}),
            _ => serde_json::json!({"file": "alerts.ndjson", "line": line, "label": label}),
        };
        labels.push_str(&format!("{entry}\n"));
    }
    labels
        .push_str("\n{\"file\": \"alerts.ndjson\", \"line\": 100000, \"label\": \"intrusion\"}\n");
    labels.push_str("{\"file\": \"other.json\", \"line\": 1, \"label\": \"intrusion\"}\n");
    std::fs::write(dir.path().join("labels.ndjson"), &labels).unwrap();

    // Expected figures, computed here from triage's output.
    let escalated = |r: &Value| {
        r["incident"]
            .as_str()
            .is_none_or(|id| incidents[id]["escalation"] != "auto_close")
    };
    let (mut tp, mut fp, mut fn_, mut tn) = (0u64, 0u64, 0u64, 0u64);
    let mut inc_attack: HashMap<&str, bool> = HashMap::new();
    for r in &rows {
        let Some(label) = expect.get(&r["line"].as_u64().unwrap()) else {
            continue;
        };
        let attack = *label == "intrusion";
        match (attack, escalated(r)) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            (false, false) => tn += 1,
        }
        if let Some(id) = r["incident"].as_str() {
            *inc_attack.entry(id).or_default() |= attack;
        }
    }
    let mut inc_conf = [0u64; 4]; // tp fp fn tn
    for (id, attack) in &inc_attack {
        let esc = incidents[*id]["escalation"] != "auto_close";
        inc_conf[match (*attack, esc) {
            (true, true) => 0,
            (false, true) => 1,
            (true, false) => 2,
            (false, false) => 3,
        }] += 1;
    }
    let labelled = expect.len() as u64;
    let attack = expect.values().filter(|l| **l == "intrusion").count() as u64;
    let escalated_incidents = incidents
        .values()
        .filter(|i| i["escalation"] != "auto_close")
        .count() as u64;

    let out = picket()
        .current_dir(dir.path())
        .args([
            "eval",
            "alerts.ndjson",
            "--labels",
            "labels.ndjson",
            "--minutes-per-alert",
            "10",
            "--minutes-per-incident",
            "20-40",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let r: Value = serde_json::from_str(&ok(out)).unwrap();
    assert!(stderr.contains("2 of"), "{stderr}");
    assert_eq!(r["labels"]["unmatched"], 2);
    assert_eq!(r["labels"]["entries"], labelled + 2);
    assert_eq!(r["alerts"]["total"], n as u64);
    assert_eq!(r["alerts"]["labelled"], labelled);
    assert_eq!(r["alerts"]["attack"], attack);
    assert_eq!(r["alerts"]["unlabelled"], n as u64 - labelled);
    assert_eq!(r["incidents"]["total"], incidents.len() as u64);
    assert_eq!(r["incidents"]["escalated"], escalated_incidents);
    let q = r["quality"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["threshold"] == "escalation != auto_close")
        .unwrap()
        .clone();
    let conf = |level: &str| -> [u64; 4] {
        ["tp", "fp", "fn", "tn"].map(|k| q[level][k].as_u64().unwrap())
    };
    assert_eq!(conf("alerts"), [tp, fp, fn_, tn]);
    assert_eq!(conf("incidents"), inc_conf);
    let precision = tp as f64 / (tp + fp) as f64;
    assert!((q["alerts"]["precision"].as_f64().unwrap() - precision).abs() < 1e-12);
    assert_eq!(r["automation"]["fp_auto_closed"], tn);
    assert_eq!(r["phases"][0]["name"], "intrusion");
    assert_eq!(r["phases"][0]["alerts"], attack);
    assert_eq!(r["phases"][0]["escalated_alerts"], tp);
    // Baseline: n alerts × 10 min by hand; escalated incidents × 20–40 min (+ rejected rows × 10).
    let rejected = rows.iter().filter(|r| r["incident"].is_null()).count() as f64;
    let b = &r["baseline"];
    assert_eq!(
        b["manual_hours"]["low"].as_f64().unwrap(),
        n as f64 * 10.0 / 60.0
    );
    let picket_low = (escalated_incidents as f64 * 20.0 + rejected * 10.0) / 60.0;
    assert!((b["picket_hours"]["low"].as_f64().unwrap() - picket_low).abs() < 1e-9);
    let picket_high = (escalated_incidents as f64 * 40.0 + rejected * 10.0) / 60.0;
    assert!((b["picket_hours"]["high"].as_f64().unwrap() - picket_high).abs() < 1e-9);

    // The terminal table says the same.
    let table = ok(picket()
        .current_dir(dir.path())
        .args(["eval", "alerts.ndjson", "--labels", "labels.ndjson"])
        .output()
        .unwrap());
    assert!(table.contains("Quality by escalation threshold"), "{table}");
    assert!(table.contains(&format!("{attack} attack")), "{table}");
}

fn eval_err(dir: &Path, args: &[&str]) -> String {
    let out = picket()
        .current_dir(dir)
        .arg("eval")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "expected a clean failure; stdout {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    err
}

#[test]
fn bad_labels_and_label_columns_triage_could_see_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("a.csv"),
        "time,name,host,label\n1700000000,Login failed,web01,false_positive\n1700000060,Port scan,web01,scan\n",
    )
    .unwrap();
    // A mapping that does not ignore the label column: refused, naming the fix.
    std::fs::write(
        d.join("open.toml"),
        "version = 1\n[[mappings]]\nname = \"t\"\ntime = \"time\"\nrule_name = \"name\"\nhosts = [\"host\"]\n",
    )
    .unwrap();
    let err = eval_err(
        d,
        &["--config", "open.toml", "a.csv", "--label-column", "label"],
    );
    assert!(
        err.contains("not in the `ignore` list of mapping `t`"),
        "{err}"
    );
    // Ignored: accepted, and the default column name is checked against the header.
    std::fs::write(
        d.join("closed.toml"),
        "version = 1\n[[mappings]]\nname = \"t\"\ntime = \"time\"\nrule_name = \"name\"\nhosts = [\"host\"]\nignore = [\"label\", \"time_label\"]\n",
    )
    .unwrap();
    let err = eval_err(d, &["--config", "closed.toml", "a.csv"]);
    assert!(
        err.contains("a.csv: the CSV header has no column `time_label`"),
        "{err}"
    );
    let out = picket()
        .current_dir(d)
        .args([
            "--config",
            "closed.toml",
            "eval",
            "a.csv",
            "--label-column",
            "label",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let r: Value = serde_json::from_str(&ok(out)).unwrap();
    assert_eq!(r["alerts"]["benign"], 1);
    assert_eq!(r["phases"][0]["name"], "scan");

    // Labels files: located errors.
    for (text, want) in [
        (
            "{\"file\": \"a.csv\", \"line\": 2, \"label\": \"x\"}\nnot json\n",
            "labels.ndjson:2: not JSON",
        ),
        (
            "{\"line\": 2, \"label\": \"x\"}\n",
            "labels.ndjson:1: give either `alert`",
        ),
        (
            "{\"file\": \"a.csv\", \"line\": 0, \"label\": \"x\"}\n",
            "labels.ndjson:1: `line` must be",
        ),
        (
            "{\"alert\": \"al_1\", \"label\": 3}\n",
            "labels.ndjson:1: `label` must be a string",
        ),
        (
            "{\"alert\": \"al_1\", \"label\": \"x\", \"phase\": 1}\n",
            "unknown key `phase`",
        ),
        (
            "{\"file\": \"a.csv\", \"line\": 2, \"label\": \"x\"}\n{\"file\": \"a.csv\", \"line\": 2, \"label\": \"y\"}\n",
            "labels.ndjson:2: a.csv:2 is labelled twice",
        ),
    ] {
        std::fs::write(d.join("labels.ndjson"), text).unwrap();
        let err = eval_err(
            d,
            &[
                "--config",
                "closed.toml",
                "a.csv",
                "--labels",
                "labels.ndjson",
            ],
        );
        assert!(err.contains(want), "want {want:?}, got {err}");
    }
    let err = eval_err(
        d,
        &[
            "--config",
            "closed.toml",
            "a.csv",
            "--labels",
            "missing.ndjson",
        ],
    );
    assert!(err.contains("reading labels missing.ndjson"), "{err}");
    let out = picket()
        .current_dir(d)
        .args(["eval", "a.csv", "--minutes-per-alert", "30-15"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("LOW-HIGH"));
    // JSON alerts with the label column: refused with the way out.
    std::fs::write(
        d.join("b.json"),
        "{\"time\": 1700000000, \"name\": \"x\", \"host\": \"h\"}\n",
    )
    .unwrap();
    let err = eval_err(
        d,
        &[
            "--config",
            "closed.toml",
            "b.json",
            "--label-column",
            "label",
        ],
    );
    assert!(err.contains("--labels FILE"), "{err}");
}
