//! Record splitting and every adapter (auto-detected) on arbitrary bytes: errors are fine, panics
//! are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_ingest::{InputKind, Normalizer, split};

fuzz_target!(|data: &[u8]| {
    thread_local! {
        static N: Normalizer = Normalizer::default();
    }
    N.with(|n| {
        for rec in split(data, InputKind::Auto, "fuzz").into_iter().flatten() {
            let _ = n.normalize(&rec);
        }
    });
});
