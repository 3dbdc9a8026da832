//! Replays the committed seed corpora of the fuzz targets (tests/fuzz/) under `cargo test`, so every
//! input the fuzzer was seeded with (and every crash it found, once added) stays a regression test.

use std::path::Path;

#[test]
fn smtp_session_corpus_replays_without_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus/smtp_session");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus dir") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("read seed");
        sluice::smtp::transcript::fuzz(&data);
        count += 1;
    }
    assert!(count >= 9, "corpus has only {count} seeds");
}

#[test]
fn corpus_smuggling_seed_yields_exactly_one_message() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus/smtp_session");
    let data = std::fs::read(dir.join("smuggle_lf")).expect("seed");
    let (_, messages, _) =
        sluice::smtp::transcript::run(sluice::smtp::transcript::fuzz_settings(), &data[2..], &[]);
    assert_eq!(
        messages.len(),
        1,
        "the smuggled MAIL must stay message content"
    );
    assert!(String::from_utf8_lossy(&messages[0].1).contains("MAIL FROM:<evil@x>"));
}

/// Runs `target` on every seed of `tests/fuzz/corpus/<name>`; returns how many there were.
fn replay(name: &str, target: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz/corpus")
        .join(name);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus dir") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("read seed");
        target(&data);
        count += 1;
    }
    count
}

#[test]
fn decompose_mime_corpus_replays_without_panics() {
    let n = replay("decompose_mime", sluice::decompose::fuzz::mime);
    assert!(n >= 16, "corpus has only {n} seeds");
}

#[test]
fn decompose_zip_corpus_replays_without_panics() {
    let n = replay("decompose_zip", sluice::decompose::fuzz::zip);
    assert!(n >= 19, "corpus has only {n} seeds");
}

#[test]
fn decompose_transfer_corpus_replays_without_panics() {
    let n = replay("decompose_transfer", sluice::decompose::fuzz::transfer);
    assert!(n >= 5, "corpus has only {n} seeds");
}

#[test]
fn decompose_ooxml_corpus_replays_without_panics() {
    let n = replay("decompose_ooxml", sluice::decompose::fuzz::ooxml);
    assert!(n >= 6, "corpus has only {n} seeds");
}

#[test]
fn decompose_pdf_corpus_replays_without_panics() {
    let n = replay("decompose_pdf", sluice::decompose::fuzz::pdf);
    assert!(n >= 6, "corpus has only {n} seeds");
}

#[test]
fn store_backup_corpus_replays_without_panics_and_damage_is_refused() {
    let n = replay("store_backup", sluice::store::backup::fuzz);
    assert!(n >= 8, "corpus has only {n} seeds");
    // The one sound backup verifies; every damaged one is refused.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/corpus/store_backup");
    for entry in std::fs::read_dir(&dir).expect("corpus dir") {
        let path = entry.expect("entry").path();
        let data = std::fs::read(&path).expect("read seed");
        let sound = path.file_name().is_some_and(|f| f == "sound");
        assert_eq!(
            sluice::store::backup::verify_bytes(&data).is_ok(),
            sound,
            "{}",
            path.display()
        );
    }
}
