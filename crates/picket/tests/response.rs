//! Response end to end through `picket serve`: an approved action runs at its responder; killing the
//! process (SIGKILL) in the middle of vendor calls neither repeats an effect nor loses an action; the
//! audit trail still verifies; `picket actions` drives the review queue.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn picket() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picket"))
}

fn http(port: u16, method: &str, path: &str, token: &str, body: &Value) -> (u16, Value) {
    let body = if body.is_null() {
        Vec::new()
    } else {
        body.to_string().into_bytes()
    };
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        token.trim(),
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    // Chunked bodies: the JSON is the part between the first `{`/`[` and the last `}`/`]`.
    let start = body.find(['{', '[']).unwrap_or(0);
    let end = body.rfind(['}', ']']).map_or(body.len(), |e| e + 1);
    (
        status,
        serde_json::from_str(&body[start..end.max(start)]).unwrap_or(Value::Null),
    )
}

fn start(cfg: &Path, dir: &Path, port: u16) -> Child {
    let child = picket()
        .arg("-c")
        .arg(cfg)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir)
        .env("PICKET_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let up = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok();
        if up {
            break;
        }
        assert!(Instant::now() < deadline, "server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    child
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn hits(server: &MockServer, p: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_during_execution_neither_repeats_nor_loses_an_action() {
    let vendor = MockServer::start().await;
    // The firewall's first call hangs (the process is killed meanwhile); later calls answer.
    Mock::given(method("POST"))
        .and(path("/fw"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(120)))
        .up_to_n_times(1)
        .mount(&vendor)
        .await;
    Mock::given(method("POST"))
        .and(path("/fw"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "done"})))
        .mount(&vendor)
        .await;
    // The chat webhook always hangs: the process is killed during that call too.
    Mock::given(method("POST"))
        .and(path("/chat"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(120)))
        .mount(&vendor)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("picket.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"version = 1
[audit]
checkpoint_every = 5

[response]
action_timeout_secs = 300
# One at a time, so that a queued action is waiting (approved, unclaimed) at the first kill.
executor_concurrency = 1

[[responders]]
name = "edge-fw"
kind = "webhook"
base_url = "{uri}/fw"
timeout_ms = 200000
retries = 0
options = {{ actions = ["block_ip", "unblock_ip"], idempotent = true }}

[[responders]]
name = "soc-chat"
kind = "webhook"
base_url = "{uri}/chat"
timeout_ms = 200000
options = {{ actions = ["notify"] }}
"#,
            uri = vendor.uri()
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = start(&cfg, dir.path(), port);
    let token = std::fs::read_to_string(dir.path().join("picket-data/admin.token")).unwrap();

    let (st, v) = http(
        port,
        "POST",
        "/api/v1/actions",
        &token,
        &json!({"action": "block_ip", "target": "203.0.113.7", "params": {"reason": "C2"}}),
    );
    assert_eq!(st, 201, "{v}");
    let block = v["action"]["id"].as_str().unwrap().to_owned();
    // The firewall call is under way: kill -9 now, with a notification approved and waiting.
    let mut fw_calls = 0;
    while fw_calls == 0 {
        fw_calls = hits(&vendor, "/fw").await.len();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, v) = http(
        port,
        "POST",
        "/api/v1/actions",
        &token,
        &json!({"action": "notify", "params": {"message": "C2 blocked"}}),
    );
    let notify = v["action"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        http(
            port,
            "GET",
            &format!("/api/v1/actions/{block}"),
            &token,
            &Value::Null
        )
        .1["action"]["state"],
        "executing"
    );
    child.kill().unwrap();
    child.wait().unwrap();

    // Restart: the idempotent block resumes with the same idempotency key; the waiting notification
    // runs (and hangs: kill again during it).
    let mut child = start(&cfg, dir.path(), port);
    wait_for("the resumed block", || {
        http(
            port,
            "GET",
            &format!("/api/v1/actions/{block}"),
            &token,
            &Value::Null,
        )
        .1["action"]["state"]
            == "succeeded"
    })
    .await;
    while hits(&vendor, "/chat").await.is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let mut child = start(&cfg, dir.path(), port);
    wait_for("the interrupted notification", || {
        http(
            port,
            "GET",
            &format!("/api/v1/actions/{notify}"),
            &token,
            &Value::Null,
        )
        .1["action"]["state"]
            == "failed"
    })
    .await;
    let (_, b) = http(
        port,
        "GET",
        &format!("/api/v1/actions/{block}"),
        &token,
        &Value::Null,
    );
    let (_, n) = http(
        port,
        "GET",
        &format!("/api/v1/actions/{notify}"),
        &token,
        &Value::Null,
    );
    assert_eq!(b["action"]["execution"]["attempts"], 2, "{b}");
    assert_eq!(b["action"]["execution"]["undo"]["action"], "unblock_ip");
    assert_eq!(
        n["action"]["execution"]["result"]["code"], "interrupted",
        "{n}"
    );

    // What the vendors saw: the block twice with one idempotency key (one effect); the chat message
    // once; nothing lost.
    let fw = hits(&vendor, "/fw").await;
    assert_eq!(fw.len(), 2);
    for r in &fw {
        assert_eq!(
            r.headers.get("idempotency-key").unwrap().to_str().unwrap(),
            block
        );
    }
    assert_eq!(
        hits(&vendor, "/chat").await.len(),
        1,
        "a notification is never sent twice"
    );

    // Roll the block back through the CLI, against the running service.
    let out = picket()
        .arg("-c")
        .arg(&cfg)
        .args([
            "actions",
            "rollback",
            &block,
            "--reason",
            "false positive",
            "--url",
            &format!("http://127.0.0.1:{port}"),
        ])
        .env("PICKET_TOKEN", token.trim())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let undo: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(undo["action"]["proposal"]["action"], "unblock_ip");
    wait_for("the rollback", || {
        http(
            port,
            "GET",
            &format!("/api/v1/actions/{block}"),
            &token,
            &Value::Null,
        )
        .1["action"]["state"]
            == "rolled_back"
    })
    .await;
    let last = hits(&vendor, "/fw").await.pop().unwrap();
    let body: Value = serde_json::from_slice(&last.body).unwrap();
    assert_eq!(
        (body["action"].as_str(), body["target"].as_str()),
        (Some("unblock_ip"), Some("203.0.113.7"))
    );

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    // Two kills later, the audit trail is intact and tells the story.
    let o = picket()
        .arg("-c")
        .arg(&cfg)
        .args(["audit", "verify", "--data-dir"])
        .arg(dir.path().join("picket-data"))
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{said}");
    let o = picket()
        .arg("-c")
        .arg(&cfg)
        .args(["audit", "export", "--data-dir"])
        .arg(dir.path().join("picket-data"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    for event in [
        "\"proposed\"",
        "\"executing\"",
        "\"resumed\"",
        "\"succeeded\"",
        "\"failed\"",
    ] {
        assert!(text.contains(event), "audit lacks {event}");
    }
    assert!(
        text.contains("responder:edge-fw"),
        "responder calls are audited"
    );
}
