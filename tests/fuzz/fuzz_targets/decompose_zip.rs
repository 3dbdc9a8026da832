//! Fuzz target: arbitrary bytes as an attached file of any type (zip, gzip, tar, office, RTF, HTML).
//! Must never panic, hang or allocate without bound; see `sluice::decompose::fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sluice::decompose::fuzz::zip(data);
});
