//! The binary cargo builds is the static one the README promises (`.cargo/config.toml`): no dynamic
//! section, so no glibc, libm or libgcc_s at run time, whichever profile built it.

use std::process::Command;

#[test]
fn the_built_binary_is_statically_linked() {
    let bin = env!("CARGO_BIN_EXE_sluice");
    let out = Command::new("readelf")
        .args(["--program-headers", "--dynamic", bin])
        .output()
        .expect("readelf (binutils) runs");
    assert!(out.status.success(), "readelf failed: {out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("INTERP") && !text.contains("(NEEDED)"),
        "{bin} is dynamically linked:\n{text}"
    );
    // And it runs.
    let v = Command::new(bin)
        .arg("version")
        .output()
        .expect("run sluice");
    assert!(v.status.success() && String::from_utf8_lossy(&v.stdout).starts_with("sluice "));
}
