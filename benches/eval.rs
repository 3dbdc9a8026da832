//! Whole-corpus evaluation bench (issue 3): detection quality and scan speed of `sluice scan` on the
//! labelled corpus, and optionally Presidio's pattern recognizers side by side on the same corpus.
//!
//!     cargo bench --bench eval -- [--count 5000] [--seed 1] [--presidio] [--hyperscan] [--out DIR]
//!
//! Steps: `benches/eval/gen_corpus.py` builds the corpus (Python 3 + Faker); the release binary runs
//! `sluice scan --json --show-matches DIR` (wall time, MB/s of .eml bytes); `score.py` prints
//! precision, recall and F1 per type. With `--presidio`, `presidio_scan.py` (presidio-analyzer
//! installed) scans the extracted texts of the same corpus, and a side-by-side table and the
//! throughput ratio follow. With `--hyperscan`, `hyperscan_scan.py` (PyPI `hyperscan`) runs the
//! regexes of the same Presidio recognizers through Hyperscan on the same extracted texts, for a
//! speed reference (candidates only: no validation, no context). Nothing here asserts a target: it exits non-zero only on errors.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

const USAGE: &str = "cargo bench --bench eval -- [options]

  --count N        messages in the corpus (default 5000)
  --seed S         generator seed (default 1)
  --presidio       also run Presidio's pattern recognizers (pip install presidio-analyzer) and
                   print both side by side
  --hyperscan      also time Hyperscan (pip install hyperscan) running the same recognizers'
                   regexes on the same extracted texts (needs presidio-analyzer for the regexes)
  --out DIR        build the corpus and results here and keep them (default: a temporary directory)
  --sluice PATH    the sluice binary (default: the one cargo built for this bench, target/x86_64-unknown-linux-gnu/release/sluice)
  --python PATH    the Python interpreter (default python3)
";

/// Types Presidio's pattern recognizers cover (see presidio_scan.py); the others are not compared.
const PRESIDIO_TYPES: [&str; 9] = [
    "CREDIT_CARD",
    "US_SSN",
    "IBAN",
    "US_BANK_ROUTING",
    "UK_NINO",
    "CA_SIN",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "IP_ADDRESS",
];

#[derive(Debug)]
struct Opts {
    count: usize,
    seed: u64,
    presidio: bool,
    hyperscan: bool,
    out: Option<PathBuf>,
    sluice: PathBuf,
    python: String,
}

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        count: 5000,
        seed: 1,
        presidio: false,
        hyperscan: false,
        out: None,
        sluice: PathBuf::from(env!("CARGO_BIN_EXE_sluice")),
        python: "python3".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--bench" => {} // added by `cargo bench`
            "--count" => {
                let v = val("--count")?;
                o.count = v
                    .parse()
                    .map_err(|_| format!("--count: not a number: {v}"))?;
            }
            "--seed" => {
                let v = val("--seed")?;
                o.seed = v
                    .parse()
                    .map_err(|_| format!("--seed: not a number: {v}"))?;
            }
            "--presidio" => o.presidio = true,
            "--hyperscan" => o.hyperscan = true,
            "--out" => o.out = Some(PathBuf::from(val("--out")?)),
            "--sluice" => o.sluice = PathBuf::from(val("--sluice")?),
            "--python" => o.python = val("--python")?,
            "-h" | "--help" => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown option {other}\n\n{USAGE}")),
        }
    }
    if o.count == 0 {
        return Err("--count must be > 0".into());
    }
    Ok(o)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary with no arguments,
    // and a corpus build plus a scan has no place in a test run.
    if std::env::args().len() == 1 {
        eprintln!("benches/eval.rs: skipped (run it with `cargo bench --bench eval`)");
        return;
    }
    let opts = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&opts) {
        eprintln!("eval bench failed: {e}");
        std::process::exit(1);
    }
}

fn eval_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("benches/eval")
        .join(name)
}

/// Runs a command with stdout to `stdout_to` (or captured when None); returns (stdout, seconds).
fn run_cmd(
    cmd: &mut Command,
    what: &str,
    stdout_to: Option<&Path>,
) -> Result<(String, f64), String> {
    if let Some(path) = stdout_to {
        let f = File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        cmd.stdout(Stdio::from(f));
    }
    let started = Instant::now();
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    let secs = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    // A scan may exit 1 when it reported findings; only a silent failure is an error.
    let wrote = stdout_to.is_some_and(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0));
    if !out.status.success() && !wrote {
        return Err(format!(
            "{what} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok((stdout, secs))
}

fn score(
    o: &Opts,
    dir: &Path,
    findings: &Path,
    name: &str,
    min_confidence: &str,
) -> Result<(String, serde_json::Value), String> {
    let base = |cmd: &mut Command| {
        cmd.arg(eval_script("score.py"))
            .arg("--labels")
            .arg(dir.join("labels.jsonl"))
            .arg("--findings")
            .arg(findings)
            .args(["--name", name, "--min-confidence", min_confidence]);
    };
    let mut table_cmd = Command::new(&o.python);
    base(&mut table_cmd);
    let (table, _) = run_cmd(&mut table_cmd, "score.py", None)?;
    let mut json_cmd = Command::new(&o.python);
    base(&mut json_cmd);
    json_cmd.arg("--json");
    let (json, _) = run_cmd(&mut json_cmd, "score.py --json", None)?;
    let value = serde_json::from_str(&json).map_err(|e| format!("score.py --json: {e}"))?;
    Ok((table, value))
}

fn eml_bytes(dir: &Path) -> Result<u64, String> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.path().extension().is_some_and(|x| x == "eml") {
            total += entry.metadata().map_err(|e| e.to_string())?.len();
        }
    }
    Ok(total)
}

fn run(o: &Opts) -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let dir = o.out.clone().unwrap_or_else(|| tmp.path().join("corpus"));
    let (generated, gen_secs) = run_cmd(
        Command::new(&o.python)
            .arg(eval_script("gen_corpus.py"))
            .arg("--out")
            .arg(&dir)
            .args([
                "--count",
                &o.count.to_string(),
                "--seed",
                &o.seed.to_string(),
            ]),
        "gen_corpus.py (needs `pip install faker`)",
        None,
    )?;
    print!("{generated}");
    println!("corpus built in {gen_secs:.1} s");

    let bytes = eml_bytes(&dir)?;
    let findings = dir.join("sluice.jsonl");
    // Every identifier at its own breadth, no policy (not even the built-in set) in between.
    let config = dir.join("sluice-eval.toml");
    std::fs::write(&config, "[inspection]\nbuiltin_policies = \"off\"\n")
        .map_err(|e| format!("{}: {e}", config.display()))?;
    let (_, scan_secs) = run_cmd(
        Command::new(&o.sluice)
            .args(["scan", "--json", "--show-matches", "--config"])
            .arg(&config)
            .arg(&dir),
        &format!(
            "{} scan (build it with `cargo build --release`)",
            o.sluice.display()
        ),
        Some(&findings),
    )?;
    let mb = bytes as f64 / 1e6;
    println!(
        "\nsluice scan: {} messages, {mb:.1} MB of .eml in {scan_secs:.2} s = {:.1} MB/s, {:.0} messages/s \
         (wall time of one process, start-up included)\n",
        o.count,
        mb / scan_secs,
        o.count as f64 / scan_secs
    );
    let (table, sluice) = score(o, &dir, &findings, "sluice", "low")?;
    println!("{table}");
    let hyperscan = if o.hyperscan {
        Some(hyperscan_stats(o, &dir)?)
    } else {
        None
    };
    if !o.presidio {
        if let Some(hs) = &hyperscan {
            let (engine_chars, engine_secs) = engine_on_texts(&dir.join("texts.jsonl"))?;
            println!(
                "
detection alone on the same extracted texts ({engine_chars:.0} characters, one thread):"
            );
            print_rates(engine_chars / engine_secs.max(1e-9), None, Some(hs));
        }
        return Ok(());
    }

    let presidio_findings = dir.join("presidio.jsonl");
    let stats_path = dir.join("presidio-stats.json");
    let (_, presidio_wall) = run_cmd(
        Command::new(&o.python)
            .arg(eval_script("presidio_scan.py"))
            .arg(dir.join("texts.jsonl"))
            .arg("--stats")
            .arg(&stats_path),
        "presidio_scan.py (needs `pip install presidio-analyzer`)",
        Some(&presidio_findings),
    )?;
    let stats: serde_json::Value = std::fs::read_to_string(&stats_path)
        .map_err(|e| format!("{}: {e}", stats_path.display()))
        .and_then(|s| serde_json::from_str(&s).map_err(|e| format!("presidio stats: {e}")))?;
    // Presidio is compared at its best score threshold on this corpus (presidio_scan.py maps
    // score < 0.4 to low, < 0.7 to medium, else high), so the comparison is not won by a bad cut-off.
    let mut best: Option<(f64, &str, String, serde_json::Value)> = None;
    let mut tried = Vec::new();
    for (level, cut) in [("low", "0.0"), ("medium", "0.4"), ("high", "0.7")] {
        let (table, summary) = score(o, &dir, &presidio_findings, "presidio", level)?;
        let (tp, fp, fn_) = micro(&summary, &PRESIDIO_TYPES);
        let f1 = prf(tp, fp, fn_).2;
        tried.push(format!("score >= {cut}: F1 {f1:.3}"));
        if best.as_ref().is_none_or(|b| f1 > b.0) {
            best = Some((f1, cut, table, summary));
        }
    }
    let Some((_, cut, table, presidio)) = best else {
        return Err("no Presidio score".into());
    };
    println!("\n{table}\n");
    println!(
        "Presidio at its best threshold, score >= {cut} (micro F1 over the types it covers: {})\n",
        tried.join(", ")
    );
    side_by_side(&sluice, &presidio);

    let chars = stats["chars"].as_f64().unwrap_or(0.0);
    let presidio_secs = stats["seconds"].as_f64().unwrap_or(presidio_wall);
    let presidio_rate = chars / presidio_secs.max(1e-9);
    let sluice_rate = chars / scan_secs.max(1e-9);
    println!(
        "\nthroughput on the same corpus ({chars:.0} characters of extracted text):\n  \
         sluice   {sluice_rate:>14.0} chars/s  (whole scan from raw .eml: MIME, archives, documents, start-up)\n  \
         presidio {presidio_rate:>14.0} chars/s  (analysis of pre-extracted text only; {presidio_wall:.1} s wall with start-up)\n  \
         ratio    {:>14.1}x",
        sluice_rate / presidio_rate.max(1e-9)
    );
    // Detection alone on exactly the texts Presidio analysed: Sluice's engine with every data
    // identifier at its default breadth (Presidio has no dictionaries), one thread, in this run.
    let (engine_chars, engine_secs) = engine_on_texts(&dir.join("texts.jsonl"))?;
    let engine_rate = engine_chars / engine_secs.max(1e-9);
    println!(
        "detection alone on the same extracted texts ({engine_chars:.0} characters, one thread):"
    );
    print_rates(engine_rate, Some(presidio_rate), hyperscan.as_ref());
    Ok(())
}

/// Runs `hyperscan_scan.py` on the corpus texts; its stats (see the script).
fn hyperscan_stats(o: &Opts, dir: &Path) -> Result<serde_json::Value, String> {
    let stats_path = dir.join("hyperscan-stats.json");
    run_cmd(
        Command::new(&o.python)
            .arg(eval_script("hyperscan_scan.py"))
            .arg(dir.join("texts.jsonl"))
            .arg("--stats")
            .arg(&stats_path),
        "hyperscan_scan.py (needs `pip install hyperscan presidio-analyzer`)",
        None,
    )?;
    std::fs::read_to_string(&stats_path)
        .map_err(|e| format!("{}: {e}", stats_path.display()))
        .and_then(|s| serde_json::from_str(&s).map_err(|e| format!("hyperscan stats: {e}")))
}

/// Detection speed on the extracted texts: Sluice's engine, and Presidio and Hyperscan when run.
fn print_rates(engine: f64, presidio: Option<f64>, hyperscan: Option<&serde_json::Value>) {
    println!(
        "  sluice    {engine:>14.0} chars/s  (detect::Engine, all data identifiers, validated)"
    );
    if let Some(p) = presidio {
        println!(
            "  presidio  {p:>14.0} chars/s  (pattern recognizers)    sluice / presidio  = {:>7.1}x   (target >= 100x)",
            engine / p.max(1e-9)
        );
    }
    if let Some(hs) = hyperscan {
        let rate = hs["chars_per_sec"].as_f64().unwrap_or(0.0);
        println!(
            "  hyperscan {rate:>14.0} chars/s  ({} of Presidio's regexes, {} in prefilter mode; candidates only, {} matches)    sluice / hyperscan = {:>7.1}x",
            hs["patterns"].as_u64().unwrap_or(0),
            hs["prefilter"].as_array().map_or(0, Vec::len),
            hs["matches"].as_u64().unwrap_or(0),
            engine / rate.max(1e-9)
        );
    }
}

/// Runs the identifier engine over every text of `texts.jsonl` (best of three passes).
fn engine_on_texts(path: &Path) -> Result<(f64, f64), String> {
    use sluice::detect::{Detector, Engine, Library, Registry};
    let raw = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut texts = Vec::new();
    for line in raw.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("texts.jsonl: {e}"))?;
        for t in v["texts"].as_array().into_iter().flatten() {
            if let Some(s) = t["text"].as_str() {
                texts.push(s.to_string());
            }
        }
    }
    let mut registry = Registry::default();
    registry.register(Detector::AllIdentifiers);
    let engine = Engine::new(&registry, &Library::embedded()?)?;
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = std::time::Instant::now();
        let mut hits = 0;
        for t in &texts {
            hits += engine
                .scan(&[t.as_str()])
                .iter()
                .map(|(_, f)| f.len())
                .sum::<usize>();
        }
        std::hint::black_box(hits);
        best = best.min(start.elapsed().as_secs_f64());
    }
    Ok((chars as f64, best))
}

/// Micro-averaged (tp, fp, fn) over `types` of one summary.
fn micro(summary: &serde_json::Value, types: &[&str]) -> (u64, u64, u64) {
    let mut sum = (0, 0, 0);
    for t in types {
        let m = &summary["types"][*t];
        sum.0 += m["tp"].as_u64().unwrap_or(0);
        sum.1 += m["fp"].as_u64().unwrap_or(0);
        sum.2 += m["fn"].as_u64().unwrap_or(0);
    }
    sum
}

fn prf(tp: u64, fp: u64, fn_: u64) -> (f64, f64, f64) {
    let p = if tp + fp > 0 {
        tp as f64 / (tp + fp) as f64
    } else {
        0.0
    };
    let r = if tp + fn_ > 0 {
        tp as f64 / (tp + fn_) as f64
    } else {
        0.0
    };
    let f = if p + r > 0.0 {
        2.0 * p * r / (p + r)
    } else {
        0.0
    };
    (p, r, f)
}

fn side_by_side(sluice: &serde_json::Value, presidio: &serde_json::Value) {
    let cell = |s: &serde_json::Value, t: &str| {
        let m = &s["types"][t];
        match (
            m["precision"].as_f64(),
            m["recall"].as_f64(),
            m["f1"].as_f64(),
        ) {
            (Some(p), Some(r), Some(f)) => format!("{p:>6.3} {r:>6.3} {f:>6.3}"),
            _ => format!("{:>6} {:>6} {:>6}", "-", "-", "-"),
        }
    };
    println!(
        "{:<16} {:^20}   {:^20}\n{:<16} {:>6} {:>6} {:>6}   {:>6} {:>6} {:>6}",
        "", "sluice", "presidio", "type", "P", "R", "F1", "P", "R", "F1"
    );
    // Canonical order first (serde_json sorts object keys), then any other type reported.
    let mut types: Vec<String> = sluice::detect::identifier_names();
    for s in [sluice, presidio] {
        if let Some(map) = s["types"].as_object() {
            types.extend(
                map.keys()
                    .filter(|k| !types.contains(k))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
        }
    }
    types.retain(|t| {
        !sluice["types"][t.as_str()].is_null() || !presidio["types"][t.as_str()].is_null()
    });
    for t in &types {
        let p = if PRESIDIO_TYPES.contains(&t.as_str()) {
            cell(presidio, t)
        } else {
            format!("{:>20}", "(no recognizer)")
        };
        println!("{t:<16} {}   {p}", cell(sluice, t));
    }
    let (sp, sr, sf) = {
        let (a, b, c) = micro(sluice, &PRESIDIO_TYPES);
        prf(a, b, c)
    };
    let (pp, pr, pf) = {
        let (a, b, c) = micro(presidio, &PRESIDIO_TYPES);
        prf(a, b, c)
    };
    println!(
        "{:<16} {sp:>6.3} {sr:>6.3} {sf:>6.3}   {pp:>6.3} {pr:>6.3} {pf:>6.3}",
        "common (micro)"
    );
}
