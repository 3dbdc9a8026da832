//! Golden tests of 7z decomposition: entries with their paths, containers nested in 7z, solid
//! blocks, encryption, malformed archives and 7z bombs.

use super::*;

/// The card number test fixture, as a text file.
const CARD: &[u8] = b"card 4111 1111 1111 1111";

#[test]
fn sevenz_entries_and_nested_containers_are_decomposed_with_their_paths() {
    let inner = zip_of(&[("note.txt", b"zip inside 7z")]);
    let sz = sevenz_of(&[("dir/file.txt", CARD), ("inner.zip", &inner)]);
    let solid = solid_sevenz_of(&[("a.txt", b"alpha"), ("b.txt", b"beta")]);
    let raw = mail(
        "7z",
        "b",
        &[
            Att::new("archive.7z", "application/x-7z-compressed", &sz),
            Att::new("solid.7z", "application/octet-stream", &solid),
        ],
    );
    check(
        &raw,
        r#"
header:Subject "7z"
body "b"
attachment:archive.7z [7z]
attachment:archive.7z/dir/file.txt [text] "card 4111 1111 1111 1111"
attachment:archive.7z/inner.zip [zip]
attachment:archive.7z/inner.zip/note.txt [text] "zip inside 7z"
attachment:solid.7z [7z]
attachment:solid.7z/a.txt [text] "alpha"
attachment:solid.7z/b.txt [text] "beta"
"#,
    );
}

#[test]
fn a_card_number_in_a_text_file_in_a_7z_is_found_at_its_path() {
    use crate::detect::{Breadth, Detector, Engine, Library, Registry};
    let sz = sevenz_of(&[("dir/file.txt", CARD)]);
    let raw = mail(
        "7z",
        "nothing here",
        &[Att::new("archive.7z", "application/x-7z-compressed", &sz)],
    );
    let d = decompose(
        &raw,
        &crate::config::Config::embedded().unwrap().decomposition,
        &FakePdf,
        &NoBudget,
    );
    let mut r = Registry::default();
    let cc = r.register(Detector::Identifier {
        name: "CREDIT_CARD".into(),
        breadth: Breadth::Medium,
    });
    let library = Library::embedded().expect("embedded definitions");
    let engine = Engine::new(&r, &library).expect("engine");
    let texts: Vec<&str> = d.parts.iter().map(|p| p.text.as_str()).collect();
    let found = engine.scan(&texts);
    let at: Vec<String> = found
        .of(cc)
        .iter()
        .map(|f| d.parts[f.part].location.to_string())
        .collect();
    assert_eq!(at, ["attachment:archive.7z/dir/file.txt"]);
    assert_eq!(found.of(cc)[0].hit.redacted, "4111 **** **** 1111");
}

#[test]
fn encrypted_truncated_and_garbage_7z_are_reported() {
    let good = sevenz_of(&[("a.txt", b"alpha")]);
    let truncated = &good[..good.len() - 10];
    let mut garbage = b"7z\xbc\xaf\x27\x1c\x00\x04".to_vec();
    garbage.extend_from_slice(&[0x5a; 64]);
    // Content corrupted in place: the header still reads, decoding fails its CRC.
    let mut corrupt = good.clone();
    corrupt[34] ^= 0xff;
    let raw = mail(
        "7z",
        "b",
        &[
            Att::new(
                "content.7z",
                "application/x-7z-compressed",
                encrypted_sevenz(false),
            ),
            Att::new(
                "header.7z",
                "application/x-7z-compressed",
                encrypted_sevenz(true),
            ),
            Att::new("truncated.7z", "application/x-7z-compressed", truncated),
            Att::new("garbage.7z", "application/x-7z-compressed", &garbage),
            Att::new("corrupt.7z", "application/x-7z-compressed", &corrupt),
        ],
    );
    check(
        &raw,
        r#"
header:Subject "7z"
body "b"
attachment:content.7z [7z encrypted]
attachment:content.7z/secret.txt [unknown encrypted]
attachment:header.7z [7z encrypted]
attachment:truncated.7z [7z]
attachment:garbage.7z [7z]
attachment:corrupt.7z [7z]
attachment:corrupt.7z/a.txt [text] "alpha"
! Encrypted { path: "content.7z/secret.txt" }
! Encrypted { path: "header.7z" }
! Malformed { path: "truncated.7z", what: Archive }
! Malformed { path: "garbage.7z", what: Archive }
! Malformed { path: "corrupt.7z/a.txt", what: Archive }
"#,
    );
}

#[test]
fn sevenz_bombs_stop_at_the_ratio_and_byte_limits() {
    // 8 MiB of zeros compress to a few KiB: past the ratio from the declared sizes, not decoded.
    let zeros = vec![0u8; 8 << 20];
    let bomb = sevenz_of(&[("zeros.bin", &zeros)]);
    assert!(bomb.len() < 64 << 10, "{}", bomb.len());
    // A solid block of 1 MiB files: each one alone within the ratio floor, together a bomb
    // only found while decoding.
    let mib = vec![0u8; 1 << 20];
    let files: Vec<(String, &[u8])> = (0..8).map(|i| (format!("f{i}.bin"), &mib[..])).collect();
    let files: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (n.as_str(), *d)).collect();
    let solid = solid_sevenz_of(&files);
    let raw = mail(
        "bombs",
        "b",
        &[
            Att::new("bomb.7z", "application/x-7z-compressed", &bomb),
            Att::new(
                "nested.zip",
                "application/zip",
                &stored_zip_of(&[("in.7z", &bomb)]),
            ),
        ],
    );
    check(
        &raw,
        r#"
header:Subject "bombs"
body "b"
attachment:bomb.7z [7z]
attachment:bomb.7z/zeros.bin [unknown]
attachment:nested.zip [zip]
attachment:nested.zip/in.7z [7z]
attachment:nested.zip/in.7z/zeros.bin [unknown]
! LimitExceeded { kind: Ratio, path: "bomb.7z/zeros.bin" }
! LimitExceeded { kind: Ratio, path: "nested.zip/in.7z/zeros.bin" }
"#,
    );
    // With a high ratio limit, the extracted-bytes limit stops decoding (after 3 MiB).
    let limits = Limits {
        max_ratio: 1 << 20,
        max_extracted_bytes: 3 << 20,
        ..crate::config::Config::embedded().unwrap().decomposition
    };
    let raw = mail(
        "solid",
        "b",
        &[Att::new("solid.7z", "application/x-7z-compressed", &solid)],
    );
    check_with(
        &raw,
        &limits,
        r#"
header:Subject "solid"
body "b"
attachment:solid.7z [7z]
attachment:solid.7z/f0.bin [unknown]
attachment:solid.7z/f1.bin [unknown]
attachment:solid.7z/f2.bin [unknown]
! LimitExceeded { kind: ExtractedBytes, path: "solid.7z/f2.bin" }
"#,
    );
    // With the default limits the same solid block is stopped by its ratio.
    let raw = mail(
        "solid",
        "b",
        &[Att::new("solid.7z", "application/x-7z-compressed", &solid)],
    );
    let d = decompose(
        &raw,
        &crate::config::Config::embedded().unwrap().decomposition,
        &FakePdf,
        &NoBudget,
    );
    assert!(
        d.anomalies.iter().any(|a| matches!(
            a,
            Anomaly::LimitExceeded {
                kind: LimitKind::Ratio,
                ..
            }
        )),
        "{:?}",
        d.anomalies
    );
}

#[test]
fn sevenz_entry_limits_and_depth() {
    let sz = sevenz_of(&[("a.txt", b"alpha"), ("b.txt", b"beta"), ("c.txt", b"gamma")]);
    let limits = Limits {
        max_entries_per_container: 2,
        ..crate::config::Config::embedded().unwrap().decomposition
    };
    let raw = mail(
        "n",
        "b",
        &[Att::new("x.7z", "application/x-7z-compressed", &sz)],
    );
    check_with(
        &raw,
        &limits,
        r#"
header:Subject "n"
body "b"
attachment:x.7z [7z]
attachment:x.7z/a.txt [text] "alpha"
attachment:x.7z/b.txt [text] "beta"
! LimitExceeded { kind: Entries, path: "x.7z" }
"#,
    );
    let limits = Limits {
        max_depth: 1,
        ..crate::config::Config::embedded().unwrap().decomposition
    };
    check_with(
        &raw,
        &limits,
        r#"
header:Subject "n"
body "b"
attachment:x.7z [7z]
! LimitExceeded { kind: Depth, path: "x.7z" }
"#,
    );
}
