//! The audit trail end to end: `picket serve` records what happens and signs checkpoints;
//! `picket audit verify` finds every kind of tampering done to the SQLite file directly, naming the
//! first bad record; `picket audit export` writes JSON lines.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn picket() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picket"))
}

fn shared() -> PathBuf {
    std::env::var_os("PICKET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> Option<(u16, String)> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {}\r\n", t.trim()))
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
    Some((
        status,
        resp.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default(),
    ))
}

fn sql(db: &Path, statement: &str) {
    let ok = Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()"])
        .arg(db)
        .arg(statement)
        .status()
        .unwrap()
        .success();
    assert!(ok, "python3 sqlite3 failed on {statement}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn verify(cfg: &Path, data: &Path) -> (Option<i32>, String) {
    let o = picket()
        .arg("-c")
        .arg(cfg)
        .args(["audit", "verify", "--data-dir"])
        .arg(data)
        .output()
        .unwrap();
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

#[test]
fn serve_writes_a_signed_trail_and_verify_catches_each_kind_of_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("audit.key");
    let kg = picket()
        .args(["audit", "keygen"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        kg.status.success(),
        "{}",
        String::from_utf8_lossy(&kg.stderr)
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let cfg = dir.path().join("picket.toml");
    std::fs::write(
        &cfg,
        "version = 1\n[audit]\nsigning_key_file = \"audit.key\"\ncheckpoint_every = 3\n",
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = picket()
        .arg("-c")
        .arg(&cfg)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http(port, "GET", "/healthz", None, b"").map(|r| r.0) != Some(200) {
        assert!(Instant::now() < deadline, "server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let data = dir.path().join("picket-data");
    let token = std::fs::read_to_string(data.join("admin.token")).unwrap();
    // One vendor alert: its raw SHA-256 is recorded as an input, its incident as a decision.
    let sample =
        std::fs::read(shared().join("alerts/wazuh/sshd_bruteforce_custom_rule_mitre.json"))
            .unwrap();
    let (st, body) = http(port, "POST", "/api/v1/alerts", Some(&token), &sample).unwrap();
    assert_eq!(st, 200, "{body}");
    while Instant::now() < deadline {
        let (_, body) = http(port, "GET", "/api/v1/incidents", Some(&token), b"").unwrap();
        if body.contains("inc_") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // A graceful stop: the last records are written and a final checkpoint signed.
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);

    let (code, said) = verify(&cfg, &data);
    assert_eq!(code, Some(0), "{said}\n{stderr}");
    assert!(
        said.contains("intact") && said.contains("signatures verified"),
        "{said}"
    );

    let export = picket()
        .arg("-c")
        .arg(&cfg)
        .args(["audit", "export", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = lines.iter().filter_map(|l| l["kind"].as_str()).collect();
    for k in ["system", "config", "input", "decision"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    assert!(lines.iter().any(|l| l["type"] == "checkpoint"));
    let text = String::from_utf8_lossy(&export.stdout);
    assert!(text.contains("raw_sha256"), "input versions are recorded");
    assert!(
        !text.contains(token.trim()),
        "the token never reaches the trail"
    );
    let records = lines.iter().filter(|l| l["type"] == "record").count();
    assert!(records >= 5, "{records}");
    // A third party recomputes every hash from the documented canonical form.
    let exported = dir.path().join("trail.jsonl");
    std::fs::write(&exported, &export.stdout).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/audit-verify.py");
    let py = Command::new("python3")
        .arg(&script)
        .arg(&exported)
        .output()
        .unwrap();
    assert!(
        py.status.success(),
        "{}{}",
        String::from_utf8_lossy(&py.stdout),
        String::from_utf8_lossy(&py.stderr)
    );
    let mut forged = String::from_utf8_lossy(&export.stdout).into_owned();
    forged = forged.replacen("\"event\":\"start\"", "\"event\":\"begin\"", 1);
    std::fs::write(&exported, forged).unwrap();
    let py = Command::new("python3")
        .arg(&script)
        .arg(&exported)
        .output()
        .unwrap();
    assert_eq!(py.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&py.stdout).contains("record 1: modified"));

    // Each kind of tampering, on a fresh copy of the store.
    let cases: [(&str, &str); 4] = [
        (
            "UPDATE audit_log SET data = '{\"forged\":true}' WHERE seq = 2",
            "record 2: modified",
        ),
        (
            "DELETE FROM audit_log WHERE seq = 3",
            "record 4: records deleted",
        ),
        (
            "UPDATE audit_log SET seq = 1000 WHERE seq = 2",
            "record 3: records deleted",
        ),
        ("DELETE FROM audit_log WHERE seq > 3", "record 4: truncated"),
    ];
    for (i, (statement, expect)) in cases.iter().enumerate() {
        let copy = dir.path().join(format!("tampered{i}"));
        copy_dir(&data, &copy);
        sql(&copy.join("picket.db"), statement);
        let (code, said) = verify(&cfg, &copy);
        assert_eq!(code, Some(1), "{statement}: {said}");
        assert!(
            said.contains(expect),
            "{statement}: expected `{expect}`, got {said}"
        );
    }
    // A checkpoint signed by another key is refused.
    let other = dir.path().join("other.key");
    picket()
        .args(["audit", "keygen"])
        .arg(&other)
        .output()
        .unwrap();
    let cfg2 = dir.path().join("other.toml");
    std::fs::write(
        &cfg2,
        "version = 1\n[audit]\nsigning_key_file = \"other.key\"\n",
    )
    .unwrap();
    let (code, said) = verify(&cfg2, &data);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("signature"), "{said}");
}
