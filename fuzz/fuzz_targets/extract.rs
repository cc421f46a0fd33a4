//! Arbitrary bytes through the whole extraction path: it must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slaclaim::config::ExtractConfig;
use slaclaim::extract::Extractor;
use std::sync::LazyLock;

static EXTRACTOR: LazyLock<Option<Extractor>> = LazyLock::new(|| Extractor::new(&ExtractConfig::default()).ok());

fuzz_target!(|data: &[u8]| {
    if let Some(extractor) = EXTRACTOR.as_ref() {
        let _ = extractor.extract(data);
    }
});
