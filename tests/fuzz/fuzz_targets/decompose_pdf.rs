//! Fuzz target: arbitrary bytes on the PDF path (encryption check, extractor results, child exit status and output).
//! Must never panic, hang or allocate without bound; see `sluice::decompose::fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sluice::decompose::fuzz::pdf(data);
});
