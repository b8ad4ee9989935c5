//! Threat-intel enrichment from the command line, against a mock of AbuseIPDB's documented API:
//! `picket enrich`, `picket triage --enrich`, `picket connectors check`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "abuse-test-key-7f3a";

fn picket() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picket"))
}

fn config(dir: &Path, base_url: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("abuse.key"), format!("{KEY}\n")).unwrap();
    let cfg = dir.join("picket.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"version = 1
[enrichment]
deadline_ms = 5000

[[connectors]]
name = "abuse"
provider = "abuseipdb"
base_url = "{base_url}"
api_key_file = "abuse.key"
reliability = 0.9
"#
        ),
    )
    .unwrap();
    cfg
}

async fn abuseipdb() -> MockServer {
    let server = MockServer::start().await;
    let body = |ip: &str, score: u8| {
        json!({"data": {"ipAddress": ip, "isPublic": true, "ipVersion": 4, "isWhitelisted": false,
            "abuseConfidenceScore": score, "countryCode": "US", "usageType": "Data Center/Web Hosting/Transit",
            "isp": "Linode", "domain": "linode.com", "hostnames": [], "isTor": false,
            "totalReports": 120, "numDistinctUsers": 40, "lastReportedAt": "2026-11-20T09:00:00+00:00"}})
    };
    Mock::given(method("GET"))
        .and(path("/check"))
        .and(query_param("ipAddress", "45.33.32.156"))
        .and(header("Key", KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(body("45.33.32.156", 100)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/check"))
        .and(query_param("ipAddress", "192.0.2.1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body("192.0.2.1", 0)))
        .mount(&server)
        .await;
    server
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(KEY),
        "the key leaked to stderr"
    );
    out
}

const EVE: &str = r#"{"timestamp":"2026-11-20T10:00:00.000000+0000","flow_id":1234,"event_type":"alert","src_ip":"10.0.0.5","src_port":51514,"dest_ip":"45.33.32.156","dest_port":4444,"proto":"TCP","host":"sensor1","alert":{"action":"allowed","gid":1,"signature_id":2100498,"rev":7,"signature":"GPL ATTACK_RESPONSE id check returned root","category":"Potentially Bad Traffic","severity":2}}"#;

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn triage_with_enrich_cites_intel_and_without_stays_offline() {
    let server = abuseipdb().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &server.uri());
    let input = dir.path().join("eve.json");
    std::fs::write(&input, EVE).unwrap();

    let plain = run(picket().arg("-c").arg(&cfg).arg("triage").arg(&input));
    assert!(
        plain.status.success(),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "offline unless --enrich"
    );
    let before = &lines(&plain)[0];
    assert!(before.get("enrichment").is_none());

    let out = run(picket()
        .arg("-c")
        .arg(&cfg)
        .args(["triage", "--enrich", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg(&input));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inc = &lines(&out)[0];
    let ev = inc["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["source"] == "intel:abuse:ipv4:45.33.32.156")
        .expect("intel evidence cited");
    assert!(ev["weight"].as_f64().unwrap() > 0.4);
    assert_eq!(inc["enrichment"]["summary"]["malicious"], 1);
    let r = &inc["enrichment"]["indicators"][0]["results"][0];
    assert_eq!(r["provider"], "abuseipdb");
    assert_eq!(r["highlights"]["abuseConfidenceScore"], 100);
    // The private address was not sent to the online provider.
    let asked: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.query().unwrap_or("").to_owned())
        .collect();
    assert!(asked.iter().all(|q| !q.contains("10.0.0.5")), "{asked:?}");
    assert!(inc["verdict"] != before["verdict"] || inc["confidence"] != before["confidence"]);

    // A second run (a new event on the same address) answers from the store-backed cache.
    let n = server.received_requests().await.unwrap().len();
    let input2 = dir.path().join("eve2.json");
    std::fs::write(&input2, EVE.replace("1234", "5678")).unwrap();
    let again = run(picket()
        .arg("-c")
        .arg(&cfg)
        .args(["triage", "--enrich", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg(&input2));
    assert!(again.status.success());
    assert_eq!(server.received_requests().await.unwrap().len(), n);
    assert_eq!(
        lines(&again)[0]["enrichment"]["indicators"][0]["results"][0]["cached"],
        true
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn enrich_prints_one_line_per_indicator_and_check_reports_health() {
    let server = abuseipdb().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &server.uri());
    let out = run(picket()
        .arg("-c")
        .arg(&cfg)
        .args(["enrich", "45[.]33[.]32[.]156", "10.1.1.1"]));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let l = lines(&out);
    assert_eq!(l.len(), 1, "the private address is not sent: {l:?}");
    assert_eq!(l[0]["value"], "45.33.32.156");
    assert_eq!(l[0]["verdict"], "malicious");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--send-private"));

    let ok = run(picket().arg("-c").arg(&cfg).args(["connectors", "check"]));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("ok"));

    // A server that rejects the key: check fails with the stable code, exit 1, no key shown.
    let bad = MockServer::start().await;
    Mock::given(path("/check"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"errors": [{"detail": "Authentication failed.", "status": 401}]}),
        ))
        .mount(&bad)
        .await;
    let cfg = config(dir.path(), &bad.uri());
    let fail = run(picket()
        .arg("-c")
        .arg(&cfg)
        .args(["connectors", "check", "--json"]));
    assert_eq!(fail.status.code(), Some(1));
    let l = lines(&fail);
    assert_eq!(l[0]["code"], "unauthorized");
    assert!(!l[0]["detail"].as_str().unwrap().contains(KEY));
}
