//! Fuzz target: arbitrary bytes as a client's whole SMTP session (commands and DATA), split at a few
//! points taken from the input itself. Must never panic; see `sluice::smtp::transcript`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sluice::smtp::transcript::fuzz(data);
});
