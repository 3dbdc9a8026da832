//! Detection quality on the labelled evaluation corpus (issue 3): generates about 1,500 messages
//! with `benches/eval/gen_corpus.py` (Python 3 and Faker), scans them with the real binary
//! (`sluice scan --json --show-matches DIR`), scores the findings with `benches/eval/score.py` and
//! asserts the targets: precision and recall >= 0.98 for the checksum identifiers, F1 >= 0.95 for
//! e-mail addresses, phone numbers, IP addresses and AWS access keys. Also runs the Python tools'
//! own tests (validators, generator determinism, scorer arithmetic).
//!
//! Needs `python3` with Faker (`pip install faker`); without them the tests fail and say so.
//! `SLUICE_PYTHON` overrides the interpreter.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Messages in the corpus: enough for ~150 planted items per asserted type.
const COUNT: usize = 1500;
/// Fixed seed: the same corpus on every run and machine (same Faker version).
const SEED: u64 = 20240611;
/// Checksum identifiers: precision and recall must each reach `MIN_PRECISION_RECALL`.
const CHECKSUM_TYPES: [&str; 6] = [
    "CREDIT_CARD",
    "IBAN",
    "US_BANK_ROUTING",
    "CA_SIN",
    "US_SSN",
    "UK_NINO",
];
const MIN_PRECISION_RECALL: f64 = 0.98;
/// Pattern identifiers without a checksum: F1 must reach `MIN_F1`.
const F1_TYPES: [&str; 4] = [
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "IP_ADDRESS",
    "AWS_ACCESS_KEY",
];
const MIN_F1: f64 = 0.95;

fn eval_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/eval")
}

/// The Python interpreter, after checking that it runs and imports Faker.
fn python_with_faker() -> String {
    let py = std::env::var("SLUICE_PYTHON").unwrap_or_else(|_| "python3".to_string());
    match Command::new(&py).args(["-c", "import faker"]).output() {
        Ok(o) if o.status.success() => py,
        Ok(o) => panic!(
            "the evaluation corpus needs Faker for {py}: run `pip install faker`\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!(
            "the evaluation corpus needs {py} ({e}): install Python 3, then `pip install faker`"
        ),
    }
}

/// Runs a command to completion; panics with its stderr if it fails.
fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn evaluation_tools_pass_their_own_tests() {
    let py = python_with_faker();
    run(
        Command::new(py)
            .args(["-m", "unittest", "discover", "-q", "-s"])
            .arg(eval_dir()),
        "python3 -m unittest (benches/eval)",
    );
}

#[test]
fn detection_meets_precision_and_recall_targets_on_the_corpus() {
    let py = python_with_faker();
    let tmp = tempfile::tempdir().expect("temporary directory");
    let corpus = tmp.path().join("corpus");
    let generated = run(
        Command::new(&py)
            .arg(eval_dir().join("gen_corpus.py"))
            .arg("--out")
            .arg(&corpus)
            .args(["--count", &COUNT.to_string(), "--seed", &SEED.to_string()]),
        "gen_corpus.py",
    );
    println!("{}", String::from_utf8_lossy(&generated.stdout));

    // Every identifier at its own breadth, no policy (not even the built-in set) in between.
    let config = tmp.path().join("sluice.toml");
    std::fs::write(&config, "[inspection]\nbuiltin_policies = \"off\"\n").expect("config");
    let scan = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["scan", "--json", "--show-matches", "--config"])
        .arg(&config)
        .arg(&corpus)
        .output()
        .expect("start sluice scan");
    // Exit status 1 may mean "findings reported" (as grep's 0/1); no output at all is a failure.
    assert!(
        scan.status.success() || !scan.stdout.is_empty(),
        "sluice scan failed ({}):\n{}",
        scan.status,
        String::from_utf8_lossy(&scan.stderr)
    );
    let findings = tmp.path().join("findings.jsonl");
    std::fs::write(&findings, &scan.stdout).expect("write findings");

    let score = |extra: &[&str]| {
        let out = run(
            Command::new(&py)
                .arg(eval_dir().join("score.py"))
                .arg("--labels")
                .arg(corpus.join("labels.jsonl"))
                .arg("--findings")
                .arg(&findings)
                .args(["--name", "sluice"])
                .args(extra),
            "score.py",
        );
        // --show-errors lists false positives and negatives on stderr.
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let table = score(&["--show-errors", "20"]);
    println!("{table}");
    let summary: serde_json::Value =
        serde_json::from_str(&score(&["--json"])).expect("score.py --json prints one JSON object");

    let failures = check_targets(&summary);
    assert!(
        failures.is_empty(),
        "detection targets missed:\n  {}\n\n{table}",
        failures.join("\n  ")
    );
}

/// Every target the summary misses, as one line each.
fn check_targets(summary: &serde_json::Value) -> Vec<String> {
    let mut failures = Vec::new();
    let metric = |t: &str, m: &str| summary["types"][t][m].as_f64();
    for t in CHECKSUM_TYPES {
        for m in ["precision", "recall"] {
            match metric(t, m) {
                Some(v) if v >= MIN_PRECISION_RECALL => {}
                Some(v) => failures.push(format!("{t} {m} {v:.3} < {MIN_PRECISION_RECALL}")),
                None => failures.push(format!("{t}: not in the score (no labels?)")),
            }
        }
    }
    for t in F1_TYPES {
        match metric(t, "f1") {
            Some(v) if v >= MIN_F1 => {}
            Some(v) => failures.push(format!("{t} F1 {v:.3} < {MIN_F1}")),
            None => failures.push(format!("{t}: not in the score (no labels?)")),
        }
    }
    failures
}
