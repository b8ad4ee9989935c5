//! OCSF export against the official schema: every shared vendor sample that normalizes is exported
//! with `to_ocsf` into one NDJSON file, which `tests/ocsf_validate.py` checks with the
//! `ocsf-json-schema` and `jsonschema` Python packages. Missing Python or packages fail the test with
//! the install command; `PICKET_SKIP_PY=1` skips the Python step (the export itself still runs).
//! `PICKET_PYTHON` names another interpreter than `python3`.

use std::path::{Path, PathBuf};
use std::process::Command;

use picket_ingest::ocsf_export::to_ocsf;
use picket_ingest::{InputKind, Normalizer, split};

const PIP: &str = "pip install ocsf-json-schema jsonschema";

fn shared_alerts() -> PathBuf {
    let base = std::env::var_os("PICKET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    base.join("alerts")
}

fn validator() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ocsf_validate.py")
}

fn python() -> String {
    std::env::var("PICKET_PYTHON").unwrap_or_else(|_| "python3".to_owned())
}

fn skip_python() -> bool {
    std::env::var("PICKET_SKIP_PY").is_ok_and(|v| v == "1")
}

/// A fresh file in the temp directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, contents: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path = std::env::temp_dir().join(format!(
            "picket-ocsf-{tag}-{}-{nanos}.ndjson",
            std::process::id()
        ));
        std::fs::write(&path, contents).expect("write temp NDJSON");
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Every shared sample that normalizes, exported as OCSF lines; with the names of the samples.
fn export_samples() -> (Vec<String>, Vec<String>) {
    let root = shared_alerts();
    assert!(
        root.is_dir(),
        "shared samples not found at {}",
        root.display()
    );
    let normalizer = Normalizer::default();
    let mut lines = Vec::new();
    let mut names = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        for file in files {
            let fname = file.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&file).unwrap();
            for rec in split(&bytes, InputKind::Auto, &fname).into_iter().flatten() {
                // Samples of formats that do not normalize (yet) are skipped, not failed.
                let Ok(alert) = normalizer.normalize(&rec) else {
                    continue;
                };
                lines.push(serde_json::to_string(&to_ocsf(&alert)).unwrap());
                names.push(format!(
                    "{}/{fname}",
                    dir.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    (lines, names)
}

/// Runs the validator on `path`; Err carries a message for the test failure.
fn run_validator(path: &Path) -> Result<(bool, String), String> {
    let py = python();
    let probe = Command::new(&py)
        .args(["-c", "import ocsf_json_schema, jsonschema"])
        .output()
        .map_err(|e| format!("cannot run `{py}` ({e}): install Python 3, then `{PIP}`"))?;
    if !probe.status.success() {
        return Err(format!(
            "Python packages missing ({}): run `{PIP}` (or set PICKET_SKIP_PY=1 to skip this check)",
            String::from_utf8_lossy(&probe.stderr).trim()
        ));
    }
    let out = Command::new(&py)
        .arg(validator())
        .arg(path)
        .output()
        .map_err(|e| format!("cannot run `{py}` ({e}): install Python 3, then `{PIP}`"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) => Ok((true, text)),
        Some(1) => Ok((false, text)),
        _ => Err(format!("validator failed to run: {text}\n(needs `{PIP}`)")),
    }
}

#[test]
fn every_normalized_sample_exports_valid_ocsf() {
    let (lines, names) = export_samples();
    assert!(!lines.is_empty(), "no sample normalized");
    if skip_python() {
        eprintln!(
            "PICKET_SKIP_PY=1: skipped OCSF schema validation of {} exported samples",
            lines.len()
        );
        return;
    }
    let file = TempFile::new("samples", &(lines.join("\n") + "\n"));
    match run_validator(&file.0) {
        Err(msg) => panic!("{msg}"),
        Ok((true, _)) => {}
        Ok((false, report)) => {
            let index: String = names
                .iter()
                .enumerate()
                .map(|(i, n)| format!("  line {}: {n}\n", i + 1))
                .collect();
            panic!("OCSF validation failed:\n{report}\nlines:\n{index}");
        }
    }
}

/// The validator must reject what the schema forbids, or a pass above would mean nothing.
#[test]
fn validator_rejects_an_invalid_finding() {
    if skip_python() {
        eprintln!("PICKET_SKIP_PY=1: skipped the validator's negative check");
        return;
    }
    let (lines, _) = export_samples();
    let mut bad: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    bad["severity_id"] = serde_json::json!(7);
    bad["finding_info"].as_object_mut().unwrap().remove("uid");
    bad["not_an_ocsf_attribute"] = serde_json::json!(true);
    let file = TempFile::new("invalid", &(bad.to_string() + "\n"));
    match run_validator(&file.0) {
        Err(msg) => panic!("{msg}"),
        Ok((true, report)) => panic!("an invalid finding passed validation:\n{report}"),
        Ok((false, report)) => {
            for needle in ["severity_id", "uid", "not_an_ocsf_attribute"] {
                assert!(report.contains(needle), "no `{needle}` error in:\n{report}");
            }
        }
    }
}
