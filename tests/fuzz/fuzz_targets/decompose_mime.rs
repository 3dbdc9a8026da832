//! Fuzz target: arbitrary bytes as a whole message (full decomposition and the flat content view).
//! Must never panic, hang or allocate without bound; see `sluice::decompose::fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sluice::decompose::fuzz::mime(data);
});
