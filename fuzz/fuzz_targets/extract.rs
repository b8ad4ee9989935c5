//! Indicator extraction on arbitrary UTF-8: must not panic, and every value must be canonical
//! (extracting from it again finds it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use picket_ingest::extract::Extractor;

fuzz_target!(|text: &str| {
    thread_local! {
        static EX: Extractor = Extractor::new();
    }
    EX.with(|ex| {
        let mut out = Vec::new();
        ex.extract_text(text, "text:1", &mut out);
        for o in &out {
            let mut again = Vec::new();
            ex.extract_text(&o.value, "v", &mut again);
            assert!(
                again.iter().any(|a| a.kind == o.kind && a.value == o.value),
                "{:?} {:?} not found again in its own value: {again:?}",
                o.kind,
                o.value
            );
        }
    });
});
