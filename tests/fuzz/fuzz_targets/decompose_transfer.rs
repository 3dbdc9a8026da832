//! Fuzz target: the lenient base64 and quoted-printable decoders and the clean encoders the repair
//! of badly encoded bodies uses (first byte picks the encoding). See `sluice::decompose::fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    sluice::decompose::fuzz::transfer(data);
});
