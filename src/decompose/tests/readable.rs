//! Golden tests of inputs common tools read and Sluice once passed unread (issue 9): zip entries
//! compressed with bzip2, LZMA or zstd, zips with data before them (self-extractors), and what
//! still cannot be read, which is an anomaly policies see.

use zip::CompressionMethod;

use super::*;

const PLAN: &[u8] = b"the falcon plan";

#[test]
fn zip_entries_compressed_with_bzip2_lzma_or_zstd_are_read() {
    for method in [
        CompressionMethod::Bzip2,
        CompressionMethod::Zstd,
        CompressionMethod::Stored,
    ] {
        let z = zip_by(method, &[("plan.txt", PLAN)]);
        check(
            &mail("z", "see", &[Att::new("p.zip", "application/zip", &z)]),
            READ,
        );
    }
    // LZMA (method 14), written by Python's zipfile: the zip crate writes no LZMA.
    let z = include_bytes!("lzma.zip");
    check(
        &mail("z", "see", &[Att::new("p.zip", "application/zip", z)]),
        READ,
    );
}

#[test]
fn sevenz_entries_compressed_with_bzip2_or_zstd_are_read() {
    for method in [
        sevenz_rust2::EncoderMethod::BZIP2,
        sevenz_rust2::EncoderMethod::ZSTD,
    ] {
        let z = sevenz_by(method, &[("plan.txt", PLAN)]);
        check(
            &mail(
                "z",
                "see",
                &[Att::new("p.7z", "application/x-7z-compressed", &z)],
            ),
            r#"
header:Subject "z"
body "see"
attachment:p.7z [7z]
attachment:p.7z/plan.txt [text] "the falcon plan"
"#,
        );
    }
}

const READ: &str = r#"
header:Subject "z"
body "see"
attachment:p.zip [zip]
attachment:p.zip/plan.txt [text] "the falcon plan"
"#;

#[test]
fn a_zip_after_other_data_is_opened_like_unzip_does() {
    let z = zip_of(&[("plan.txt", PLAN)]);
    // 4 KiB of something that is not a PE header, then the zip.
    let mut junk = vec![0x5au8; 4096];
    junk[0] = 0;
    junk.extend_from_slice(&z);
    check(
        &mail("z", "see", &[Att::new("p.zip", "application/zip", &junk)]),
        READ,
    );
    // A self-extracting archive: an executable (for file rules) and the zip it carries.
    let sfx = prepended(4096, &z);
    check(
        &mail(
            "z",
            "see",
            &[Att::new("setup.exe", "application/octet-stream", &sfx)],
        ),
        r#"
header:Subject "z"
body "see"
attachment:setup.exe [exe]
attachment:setup.exe/plan.txt [text] "the falcon plan"
"#,
    );
    // A plain executable is still only that.
    check(
        &mail(
            "z",
            "see",
            &[Att::new("a.exe", "application/octet-stream", &exe())],
        ),
        "header:Subject \"z\"\nbody \"see\"\nattachment:a.exe [exe]",
    );
}

#[test]
fn what_still_cannot_be_read_is_an_anomaly() {
    // An entry method no build reads (PPMd, 98): unsupported, at the entry's path.
    let mut z = stored_zip_of(&[("plan.txt", PLAN)]);
    for sig in [&b"PK\x03\x04"[..], b"PK\x01\x02"] {
        let at = memchr::memmem::find(&z, sig).expect("header");
        let method = if sig == b"PK\x03\x04" {
            at + 8
        } else {
            at + 10
        };
        z[method..method + 2].copy_from_slice(&98u16.to_le_bytes());
    }
    check(
        &mail("z", "see", &[Att::new("p.zip", "application/zip", &z)]),
        r#"
header:Subject "z"
body "see"
attachment:p.zip [zip]
attachment:p.zip/plan.txt [unknown]
! Unsupported { path: "p.zip/plan.txt", true_type: Zip }
"#,
    );
}
