//! Reading input files: paths or `-` for stdin, gzip-compressed when the name ends in `.gz` or the
//! bytes start with the gzip magic.

use std::io::Read;
use std::path::Path;

use anyhow::Context;
use picket_ingest::InputKind;

/// Reads a whole input. Returns its bytes and the kind implied by its name (`.csv`, `.json`, `.ndjson`).
pub fn read(path: &str) -> anyhow::Result<(Vec<u8>, InputKind)> {
    let mut raw = Vec::new();
    if path == "-" {
        std::io::stdin()
            .read_to_end(&mut raw)
            .context("reading stdin")?;
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut raw))
            .with_context(|| format!("reading {path}"))?;
    }
    let name = path.strip_suffix(".gz").unwrap_or(path);
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("decompressing {path}"))?;
        out
    } else {
        raw
    };
    let kind = match Path::new(name).extension().and_then(|e| e.to_str()) {
        Some("csv") => InputKind::Csv,
        Some("json" | "ndjson" | "jsonl") => InputKind::Json,
        _ => InputKind::Auto,
    };
    Ok((bytes, kind))
}
