//! Replays the committed seed corpus of the `smtp_session` fuzz target (tests/fuzz/) under `cargo test`,
//! so every input the fuzzer was seeded with (and every crash it found, once added) stays a regression test.

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
