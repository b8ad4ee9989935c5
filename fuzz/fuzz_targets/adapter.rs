//! Each adapter forced on arbitrary input: the first byte picks the format, the rest is the payload.
//! Seed it with the vendor samples for depth:
//!   mkdir -p corpus/adapter && for f in ../../shared/data/alerts/*/*.json; do cp "$f" corpus/adapter/; done
//!   cargo +nightly fuzz run adapter
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_core::SourceFormat;
use picket_ingest::{InputKind, Normalizer, NormalizerOptions, split};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    let formats: Vec<SourceFormat> =
        SourceFormat::ALL.into_iter().filter(|f| *f != SourceFormat::Generic).collect();
    let format = formats[pick as usize % formats.len()];
    let n = Normalizer::new(NormalizerOptions { format: Some(format), ..Default::default() })
        .expect("built-in formats need no mapping");
    for rec in split(body, InputKind::Json, "fuzz").into_iter().flatten() {
        let _ = n.normalize(&rec);
    }
});
