//! Golden tests: every vendor sample in `../shared/data/alerts/<format>/` is detected as its format and
//! normalizes to the expected alert stored in `tests/golden/<format>/<file>` (raw bytes left out; the
//! raw SHA-256 stays). Set `PICKET_BLESS=1` to write the expected files after reviewing a change.

use std::path::{Path, PathBuf};

use picket_core::SourceFormat;
use picket_ingest::{InputKind, Normalizer, split};

fn shared_alerts() -> PathBuf {
    let base = std::env::var_os("PICKET_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    base.join("alerts")
}

#[test]
fn every_vendor_sample_matches_its_golden_alert() {
    let root = shared_alerts();
    assert!(
        root.is_dir(),
        "shared samples not found at {}",
        root.display()
    );
    let bless = std::env::var_os("PICKET_BLESS").is_some();
    let normalizer = Normalizer::default();
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_dir())
        .collect();
    dirs.sort_by_key(|e| e.file_name());
    for dir in dirs {
        let name = dir.file_name().to_string_lossy().into_owned();
        let format = SourceFormat::parse(&name)
            .unwrap_or_else(|| panic!("sample folder `{name}` names no format"));
        let mut files: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for file in files
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
        {
            checked += 1;
            let fname = file.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&file).unwrap();
            let recs = split(&bytes, InputKind::Auto, &fname);
            assert_eq!(recs.len(), 1, "{name}/{fname}: expected one record");
            let alert = match normalizer.normalize(recs[0].as_ref().unwrap()) {
                Ok(a) => a,
                Err(e) => {
                    failures.push(format!("{name}/{fname}: rejected: {e}"));
                    continue;
                }
            };
            if alert.format != format {
                failures.push(format!("{name}/{fname}: detected as {}", alert.format));
                continue;
            }
            let mut value = serde_json::to_value(&alert).unwrap();
            value.as_object_mut().unwrap().remove("raw");
            let actual = serde_json::to_string_pretty(&value).unwrap() + "\n";
            let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/golden")
                .join(&name)
                .join(&fname);
            if bless {
                std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
                std::fs::write(&golden, &actual).unwrap();
                continue;
            }
            match std::fs::read_to_string(&golden) {
                Ok(expected) if expected == actual => {}
                Ok(expected) => failures.push(format!(
                    "{name}/{fname}: differs from {}\n--- expected\n{expected}\n--- actual\n{actual}",
                    golden.display()
                )),
                Err(_) => failures.push(format!("{name}/{fname}: no golden file at {} (PICKET_BLESS=1 writes it)", golden.display())),
            }
        }
    }
    assert!(checked > 0, "no samples under {}", root.display());
    assert!(
        failures.is_empty(),
        "{} of {checked} samples failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
