//! Fuzz target: arbitrary bytes as an office package and as one of its XML parts.
//! Must never panic, hang or allocate without bound; see `sluice::decompose::fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sluice::decompose::fuzz::ooxml(data);
});
