//! End-to-end tests of the `picket` binary, driven as a user would.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn picket() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picket"))
}

fn shared() -> PathBuf {
    std::env::var_os("PICKET_SHARED_DATA")
        .map(PathBuf::from)
        .map(|d| d.parent().map(Path::to_path_buf).unwrap_or(d))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

fn samples() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(shared().join("data/alerts"))
        .unwrap()
        .flatten()
    {
        if dir.path().is_dir() {
            for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
                out.push(f.path());
            }
        }
    }
    out.sort();
    out
}

fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn triage_output_honours_the_incident_contract() {
    let out = picket()
        .arg("triage")
        .args(samples())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.is_empty(),
        "no incidents; stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let check = shared().join("checks/incident-contract.py");
    let res = run_with_stdin(Command::new("python3").arg(&check), stdout.as_bytes());
    assert!(
        res.status.success(),
        "incident contract check failed:\n{}\n{}",
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
}

#[test]
fn bad_records_are_reported_with_location_and_the_rest_is_triaged() {
    let wazuh = std::fs::read_to_string(
        shared().join("data/alerts/wazuh/sshd_bruteforce_custom_rule_mitre.json"),
    )
    .unwrap();
    let compact: serde_json::Value = serde_json::from_str(&wazuh).unwrap();
    let input = format!("{}\n{{not json\n{{\"unknown\": \"shape\"}}\n", compact);
    let out = run_with_stdin(
        picket()
            .args(["triage", "-"])
            .current_dir(std::env::temp_dir()),
        input.as_bytes(),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit status says records were rejected"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("<stdin>:2: invalid JSON"), "{stderr}");
    assert!(
        stderr.contains("<stdin>:3:") && stderr.contains("[unknown_format]"),
        "{stderr}"
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "the good record still made an incident");
    assert_eq!(lines[0]["alert_count"], 1);
}

#[test]
fn triage_reads_ait_ads_csv_through_the_shipped_mapping() {
    let cfg = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/ait-ads.toml");
    let csv = "time,name,ip,host,short,time_label,event_label\n\
               1642723347,Wazuh: ClamAV database update,172.19.130.4,mail,W-Sys-Cav,false_positive,-\n\
               1642723352,Wazuh: ClamAV database update,172.19.130.4,mail,W-Sys-Cav,false_positive,-\n\
               1642723400,Wazuh: sshd: brute force trying to get access to the system.,172.19.130.4,mail,W-Ssh,x,-\n\
               1642723401,broken\n";
    let out = run_with_stdin(
        picket()
            .arg("--config")
            .arg(&cfg)
            .args(["triage", "--input", "csv", "-"])
            .current_dir(std::env::temp_dir()),
        csv.as_bytes(),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("<stdin>:5: CSV row has 2 fields"));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let total: u64 = lines
        .iter()
        .map(|l| l["alert_count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 3, "three good rows: {lines:#?}");
    assert!(lines.iter().all(|l| l["scope"]["hosts"][0] == "mail"));
}

#[test]
fn init_writes_a_config_that_check_config_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let st = picket()
        .args(["init"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    assert!(
        !picket()
            .args(["init"])
            .current_dir(dir.path())
            .status()
            .unwrap()
            .success(),
        "no silent overwrite"
    );
    let out = picket()
        .args(["check-config"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn check_config_lists_every_problem_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "version = 1\n[triage]\ndedup_window_secs = 0\ncorrelation_window_secs = -1\n[knowledge]\ninventory = \"nope.toml\"\n").unwrap();
    let out = picket().arg("check-config").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(":4:1: `triage.correlation_window_secs`"),
        "{stdout}"
    );
    assert!(stdout.contains(":6:1: `knowledge.inventory`: "), "{stdout}");
}

#[test]
fn schema_of_the_incident_line_is_generated_from_the_types() {
    let out = picket().args(["schema", "incident"]).output().unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "id",
        "verdict",
        "priority",
        "confidence",
        "confidence_note",
        "escalation",
        "alerts",
        "scope",
        "observables",
        "attack",
        "timeline",
        "evidence",
    ] {
        assert!(
            schema["required"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k == key),
            "{key} required"
        );
    }
}

#[test]
fn committed_schemas_match_the_types() {
    for artifact in ["incident", "alert"] {
        let out = picket().args(["schema", artifact]).output().unwrap();
        let generated: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../../docs/schema/{artifact}.schema.json"));
        let committed: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            generated, committed,
            "docs/schema/{artifact}.schema.json is stale: regenerate with `picket schema {artifact}`"
        );
    }
}

#[test]
fn data_dir_keeps_alerts_and_analyst_feedback_shapes_the_next_triage() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sample = std::fs::read_to_string(
        shared().join("data/alerts/wazuh/sshd_bruteforce_custom_rule_mitre.json"),
    )
    .unwrap();
    let first: serde_json::Value = serde_json::from_str(&sample).unwrap();
    let input = format!("{first}\n{{broken\n");
    let out = run_with_stdin(
        picket().args(["triage", "-", "--data-dir"]).arg(&data),
        input.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(2));
    let inc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = inc["id"].as_str().unwrap().to_owned();
    assert!(
        inc["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["source"].as_str().unwrap().starts_with("feedback:"))
    );

    // Stored: the incident can be listed, and an analyst calls it benign.
    let listed = picket()
        .args(["incidents", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&id));
    let st = picket()
        .args([
            "verdict",
            &id,
            "benign",
            "--note",
            "pentest",
            "--analyst",
            "ana",
            "--data-dir",
        ])
        .arg(&data)
        .status()
        .unwrap();
    assert!(st.success());

    // The same rule fires again, a week later: the assessment cites the analyst's verdict.
    let mut again = first.clone();
    again["id"] = serde_json::json!("1685356843.1");
    again["timestamp"] = serde_json::json!("2023-05-29T10:40:43.395+0000");
    let out = run_with_stdin(
        picket().args(["triage", "-", "--data-dir"]).arg(&data),
        again.to_string().as_bytes(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inc2: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fb = inc2["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == format!("feedback:{id}"))
        .cloned();
    assert!(
        fb.is_some_and(|e| e["weight"].as_f64().unwrap() < 0.0),
        "{inc2:#}"
    );

    // Re-sending the first alert changes nothing: ingest is idempotent.
    let out = run_with_stdin(
        picket().args(["triage", "-", "--data-dir"]).arg(&data),
        first.to_string().as_bytes(),
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("stored 0 new alerts (1 already stored)")
    );
}

/// A minimal HTTP/1.1 client for the serve test (the binary is the thing under test).
fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> Option<(u16, String)> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).ok()?;
    let status = resp.split_whitespace().nth(1)?.parse().ok()?;
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Some((status, body))
}

#[test]
fn serve_creates_its_store_and_token_then_triages_what_is_posted() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = picket()
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while http(port, "GET", "/healthz", None, b"").map(|r| r.0) != Some(200) {
        assert!(
            std::time::Instant::now() < deadline,
            "server did not come up"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let token = std::fs::read_to_string(dir.path().join("picket-data/admin.token")).unwrap();
    assert!(dir.path().join("picket-data/picket.db").exists());
    assert_eq!(
        http(port, "GET", "/api/v1/incidents", None, b"").unwrap().0,
        401
    );
    let sample =
        std::fs::read(shared().join("data/alerts/wazuh/sshd_bruteforce_custom_rule_mitre.json"))
            .unwrap();
    let (st, body) = http(port, "POST", "/api/v1/alerts", Some(&token), &sample).unwrap();
    assert_eq!(st, 200, "{body}");
    let mut found = false;
    while std::time::Instant::now() < deadline {
        let (_, body) = http(port, "GET", "/api/v1/incidents", Some(&token), b"").unwrap();
        if body.contains("brute force") {
            found = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        found,
        "the posted alert never became an incident; stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains(token.trim()),
        "the token must never be logged"
    );
}

#[test]
fn inventory_and_suppressions_from_the_config_shape_the_assessment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("inventory.toml"),
        "[[hosts]]\nname = \"UBUNTU-22\"\ncriticality = \"critical\"\nowner = \"infra\"\nprotected = true\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("picket.toml"),
        "version = 1\n[knowledge]\ninventory = \"inventory.toml\"\n\n[[suppressions]]\nname = \"vt-noise\"\nreason = \"VirusTotal integration misconfigured, tracked in OPS-1\"\nrule = \"^VirusTotal: Error\"\n",
    )
    .unwrap();
    let wazuh = shared().join("data/alerts/wazuh");
    let out = picket()
        .arg("triage")
        .arg(wazuh.join("sshd_bruteforce_custom_rule_mitre.json"))
        .arg(wazuh.join("virustotal_error_check_credentials.json"))
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let incidents: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let sshd = incidents
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with("sshd"))
        .unwrap();
    assert!(
        sshd["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["source"] == "inventory:host:ubuntu-22"),
        "{sshd:#}"
    );
    assert_eq!(
        sshd["priority"], "P2",
        "a critical asset raises priority: {sshd:#}"
    );
    let vt = incidents
        .iter()
        .find(|i| i["title"].as_str().unwrap().starts_with("VirusTotal"))
        .unwrap();
    assert_eq!(
        (vt["verdict"].as_str(), vt["escalation"].as_str()),
        (Some("benign"), Some("auto_close"))
    );
    assert_eq!(vt["evidence"][0]["source"], "suppression:vt-noise");
}
