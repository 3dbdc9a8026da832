//! Fuzz target: arbitrary bytes as a backup file (and as an LMDB data file): the backup header,
//! checksum and the structural page check must never panic, hang or allocate without bound; see
//! `sluice::store::backup::fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sluice::store::backup::fuzz(data);
});
