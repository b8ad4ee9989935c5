//! `picket export`: incidents triaged from the shared vendor samples, exported as STIX 2.1 bundles
//! and MISP events, checked by the formats' own tools: `stix2_validator --strict` (PyPI
//! `stix2-validator`) and PyMISP (PyPI `pymisp`). `.ci/run` installs both.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn picket() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picket"))
}

fn shared_alerts() -> PathBuf {
    std::env::var_os("PICKET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
        .join("alerts")
}

fn samples() -> Vec<PathBuf> {
    let root = shared_alerts();
    let mut out = Vec::new();
    for dir in std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("shared samples at {}: {e}", root.display()))
        .flatten()
        .filter(|d| d.path().is_dir())
    {
        for f in std::fs::read_dir(dir.path()).unwrap().flatten() {
            if f.path().extension().is_some_and(|x| x == "json") {
                out.push(f.path());
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no samples under {}", root.display());
    out
}

fn ok(out: Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn with_stdin(cmd: &mut Command, stdin: &[u8]) -> std::io::Result<Output> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    child.stdin.take().unwrap().write_all(stdin)?;
    child.wait_with_output()
}

/// Every shared sample triaged into a store under `dir`; returns the incident lines printed.
fn triage_into(dir: &Path) -> String {
    ok(
        picket()
            .arg("triage")
            .arg("--data-dir")
            .arg(dir)
            .args(samples())
            .current_dir(dir)
            .output()
            .unwrap(),
        "picket triage",
    )
}

fn ids(lines: &str) -> Vec<String> {
    lines
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// `picket export FORMAT --incident … --data-dir DIR` for every id, plus `extra` arguments.
fn export_stored(dir: &Path, format: &str, ids: &[String], extra: &[&str]) -> String {
    let mut cmd = picket();
    cmd.arg("export")
        .arg(format)
        .arg("--data-dir")
        .arg(dir)
        .args(extra);
    for id in ids {
        cmd.arg("--incident").arg(id);
    }
    ok(cmd.output().unwrap(), "picket export")
}

fn export_from(lines: &str, format: &str, extra: &[&str]) -> String {
    let mut cmd = picket();
    cmd.args(["export", format, "--from", "-"]).args(extra);
    ok(
        with_stdin(&mut cmd, lines.as_bytes()).unwrap(),
        "picket export --from",
    )
}

fn count_types(bundles: &str, ty: &str) -> usize {
    bundles
        .lines()
        .map(|l| {
            let b: Value = serde_json::from_str(l).unwrap();
            b["objects"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|o| o["type"] == ty)
                .count()
        })
        .sum()
}

#[test]
fn stix_bundles_of_triaged_samples_pass_the_strict_validator() {
    let dir = tempfile::tempdir().unwrap();
    let lines = triage_into(dir.path());
    let ids = ids(&lines);
    let stored = export_stored(dir.path(), "stix", &ids, &["--tlp", "amber"]);
    let from_lines = export_from(&lines, "stix", &["--tlp", "white", "--tlp-version", "1"]);
    assert_eq!(stored.lines().count(), ids.len(), "one bundle per incident");
    assert_eq!(from_lines.lines().count(), ids.len());
    // The samples exercise every kind of object the export makes.
    for ty in [
        "indicator",
        "sighting",
        "observed-data",
        "attack-pattern",
        "relationship",
        "report",
        "note",
        "file",
        "url",
        "domain-name",
        "email-addr",
        "user-account",
        "network-traffic",
        "vulnerability",
        "marking-definition",
    ] {
        assert!(
            count_types(&stored, ty) > 0,
            "no {ty} in any bundle from the samples"
        );
    }

    let files = tempfile::tempdir().unwrap();
    for (name, text) in [("stored", &stored), ("lines", &from_lines)] {
        for (n, bundle) in text.lines().enumerate() {
            std::fs::write(files.path().join(format!("{name}-{n:03}.json")), bundle).unwrap();
        }
    }
    // The `stix2_validator` command, run through the interpreter `.ci/run` installs into (a console
    // script may not be on PATH).
    let out = Command::new("python3")
        .args(["-m", "stix2validator.scripts.stix2_validator", "--strict"])
        .arg(files.path())
        .output()
        .expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named"),
        "stix2_validator is not installed: python3 -m pip install stix2-validator (.ci/run does)\n{stderr}"
    );
    let report = String::from_utf8_lossy(&out.stdout);
    let problems: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("[X]") || l.contains("[!]") || l.contains("Results for"))
        .collect();
    assert!(
        out.status.success(),
        "stix2_validator --strict refused bundles:\n{}\n{stderr}",
        problems.join("\n"),
    );
    assert_eq!(
        report.matches("STIX JSON: Valid").count(),
        2 * ids.len(),
        "{report}"
    );
}

/// Loads each event line with PyMISP, re-serialises it, and checks every attribute's type and
/// category against PyMISP's own table of MISP attribute types.
const PYMISP_CHECK: &str = r#"
import json, sys
try:
    from pymisp import MISPEvent
    from pymisp.abstract import AbstractMISP
except ImportError:
    sys.exit("pymisp is not installed: python3 -m pip install pymisp (.ci/run does)")
types = AbstractMISP().describe_types
bad, n = [], 0
for line in sys.stdin:
    if not line.strip():
        continue
    n += 1
    src = json.loads(line)["Event"]
    ev = MISPEvent()
    ev.load(line)
    for a in ev.attributes:
        if a.type not in types["types"]:
            bad.append(f"{src['uuid']}: unknown attribute type {a.type}")
        elif a.type not in types["category_type_mappings"].get(a.category, []):
            bad.append(f"{src['uuid']}: {a.type} is not allowed in category {a.category}")
    again = json.loads(ev.to_json())
    kept = [(a["type"], a["value"], a["to_ids"]) for a in again.get("Attribute", [])]
    sent = [(a["type"], a["value"], a["to_ids"]) for a in src["Attribute"]]
    if kept != sent or again.get("uuid") != src["uuid"]:
        bad.append(f"{src['uuid']}: attributes or uuid changed on re-serialisation")
    if [t["name"] for t in again.get("Tag", [])] != [t["name"] for t in src.get("Tag", [])]:
        bad.append(f"{src['uuid']}: tags changed on re-serialisation")
if bad:
    sys.exit("\n".join(bad))
print(f"{n} events")
"#;

#[test]
fn misp_events_of_triaged_samples_load_in_pymisp() {
    let dir = tempfile::tempdir().unwrap();
    let lines = triage_into(dir.path());
    let ids = ids(&lines);
    let stored = export_stored(dir.path(), "misp", &ids, &["--tlp", "green"]);
    let from_lines = export_from(&lines, "misp", &[]);
    let all = format!("{stored}{from_lines}");
    let out = with_stdin(
        Command::new("python3").args(["-c", PYMISP_CHECK]),
        all.as_bytes(),
    )
    .expect("python3 runs");
    assert!(
        out.status.success(),
        "PyMISP check failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{} events", 2 * ids.len())
    );
    // The samples give every attribute type the mapping has but sha512.
    let types: std::collections::BTreeSet<String> = stored
        .lines()
        .flat_map(|l| {
            let e: Value = serde_json::from_str(l).unwrap();
            e["Event"]["Attribute"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["type"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    for ty in [
        "ip-src",
        "ip-dst",
        "domain",
        "url",
        "email-src",
        "md5",
        "sha1",
        "sha256",
        "vulnerability",
        "target-user",
        "target-machine",
    ] {
        assert!(types.contains(ty), "no {ty} attribute: {types:?}");
    }
}

#[test]
fn export_is_repeatable_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let lines = triage_into(dir.path());
    let ids = ids(&lines);
    for format in ["stix", "misp"] {
        assert_eq!(
            export_stored(dir.path(), format, &ids[..3], &[]),
            export_stored(dir.path(), format, &ids[..3], &[]),
            "{format}: the same incidents export to the same bytes"
        );
    }

    let fails = |args: &[&str], stdin: &str| {
        let mut cmd = picket();
        cmd.arg("export").args(args);
        let out = with_stdin(&mut cmd, stdin.as_bytes()).unwrap();
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let data_dir = dir.path().to_str().unwrap();
    let err = fails(
        &["stix", "--incident", "inc_nope", "--data-dir", data_dir],
        "",
    );
    assert!(err.contains("no incident `inc_nope`"), "{err}");
    let err = fails(&["misp", "--from", "-", "--tlp", "purple"], "");
    assert!(err.contains("`purple` is not a TLP level"), "{err}");
    let first = lines.lines().next().unwrap();
    let err = fails(
        &["stix", "--from", "-"],
        &format!("{first}\n{{\"id\": 1}}\n"),
    );
    assert!(err.contains("-:2: not an incident line"), "{err}");
    let err = fails(&["stix"], "");
    assert!(
        err.contains("--incident") && err.contains("--from"),
        "{err}"
    );
}
