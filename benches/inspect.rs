//! Inspection throughput per message type (criterion): the whole pure pipeline the proxy runs at end of
//! DATA (decompose -> detect -> policy) with the shipped default policy set
//! (`assets/policies/default.toml`), on ~1 MiB messages: plain text, HTML, a .docx, a .zip of text,
//! and a PDF (text through the sandboxed `sluice pdf-text` child when a release binary exists).
//! Also the stages alone on the plain-text message. Single thread: bytes/s per core.
//!
//!     cargo build --release && cargo bench --bench inspect
//!
//! Also the 50 KB multipart message of `benches/load.rs --attachments` (a text body, a .docx and a
//! .zip holding a .txt, all base64). For `perf stat` / `perf record` on a fixed workload, without
//! criterion around it:
//!
//!     cargo bench --bench inspect -- --loop attached50k 5000
//!
//! Throughput is counted in message bytes as received (base64 included).

/// The load bench's helpers: its message builders (`make_attached_message`) and, through them,
/// the shared base64 and zip builders.
#[path = "support/mod.rs"]
mod support;

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group};
use sluice::config::Config;
use sluice::decompose::{self, NoBudget, NoPdf};
use sluice::detect::{Detector, Engine, Library};
use sluice::message::{Envelope, Recipient};
use sluice::scan::{Pdf, Scanner};

use support::mime::{b64, pdf_of_lines, zip_of};

const TEXT_BYTES: usize = 1 << 20;
/// The load bench's `--attachments --size 51200` message.
const ATTACHED_BYTES: usize = 51_200;

const WORDS: &[&str] = &[
    "the",
    "quarterly",
    "report",
    "shows",
    "revenue",
    "growth",
    "in",
    "all",
    "regions",
    "and",
    "our",
    "logistics",
    "partners",
    "confirmed",
    "the",
    "schedule",
    "for",
    "delivery",
    "of",
    "order",
    "materials",
    "please",
    "review",
    "attached",
    "figures",
    "before",
    "meeting",
    "on",
    "Tuesday",
    "with",
    "minor",
    "rounding",
    "differences",
    "Invoice",
    "INV-2024-0042",
    "total",
    "$1,250.00",
    "due",
    "2024-03-15",
    "call",
    "me",
    "at",
    "ext.",
    "4411",
    "version",
    "3.2.1",
    "thanks",
    "team",
];

/// Deterministic business text of about `n` bytes, lines of at most 76 characters.
fn text(n: usize) -> String {
    let mut s = String::with_capacity(n + 100);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut line = 0;
    while s.len() < n {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let w = WORDS[(x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) as usize % WORDS.len()];
        if line + w.len() + 1 > 76 {
            s.push_str("\r\n");
            line = 0;
        } else if line > 0 {
            s.push(' ');
            line += 1;
        }
        s.push_str(w);
        line += w.len();
    }
    s.push_str("\r\n");
    s
}

fn mail(body_type: &str, body: &str, attachment: Option<(&str, &str, &[u8])>) -> Vec<u8> {
    let mut m = String::from(
        "From: <a@corp.example>\r\nTo: <b@partner.example>\r\nSubject: Quarterly report\r\nMIME-Version: 1.0\r\n",
    );
    match attachment {
        None => m.push_str(&format!("Content-Type: {body_type}; charset=utf-8\r\n\r\n{body}")),
        Some((name, ctype, data)) => m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: {body_type}; charset=utf-8\r\n\r\n{body}--b\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--b--\r\n",
            b64(data)
        )),
    }
    m.into_bytes()
}

fn docx(t: &str) -> Vec<u8> {
    let paras: String = t
        .split("\r\n")
        .map(|l| format!("<w:p><w:r><w:t>{l}</w:t></w:r></w:p>"))
        .collect();
    let doc = format!(
        "<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{paras}</w:body></w:document>"
    );
    zip_of(&[
        ("[Content_Types].xml", b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>"),
        ("word/document.xml", doc.as_bytes()),
    ])
}

fn envelope() -> Envelope {
    Envelope {
        sender: "a@corp.example".into(),
        params: Default::default(),
        recipients: vec![Recipient::plain("b@partner.example")],
    }
}

fn default_policies() -> Config {
    Config::parse(
        include_str!("../assets/policies/default.toml"),
        "assets/policies/default.toml",
    )
    .expect("default policy set")
}

fn bench(c: &mut Criterion) {
    let config = default_policies();
    let library = Library::embedded().expect("library");
    // The release binary beside this build's (`.../<target>/{debug,release}/sluice`), so even
    // `cargo test --bench inspect` (debug) reads PDFs with the optimised child.
    let release = std::path::Path::new(env!("CARGO_BIN_EXE_sluice"))
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("release/sluice"))
        .unwrap_or_default();
    let pdf_text: Pdf = if release.exists() {
        Arc::new(sluice::decompose::pdf_child::ChildPdf::new(
            release,
            &sluice::config::Config::embedded().expect("embedded").pdf,
        ))
    } else {
        eprintln!("no release sluice binary: PDFs are typed but not read (cargo build --release)");
        Arc::new(NoPdf)
    };
    let scanner = Scanner::with(&config, &[], pdf_text, &library).expect("scanner");
    let t = text(TEXT_BYTES);
    let html = format!(
        "<html><body>{}</body></html>\r\n",
        t.split("\r\n")
            .map(|l| format!("<p>{l}</p>\r\n"))
            .collect::<String>()
    );
    let pdf_lines: Vec<&str> = t.split("\r\n").take(3000).collect();
    let messages: Vec<(&str, Vec<u8>)> = vec![
        ("plain", mail("text/plain", &t, None)),
        ("html", mail("text/html", &html, None)),
        (
            "docx",
            mail(
                "text/plain",
                "see attached\r\n",
                Some((
                    "report.docx",
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    &docx(&t),
                )),
            ),
        ),
        (
            "zip",
            mail(
                "text/plain",
                "see attached\r\n",
                Some((
                    "export.zip",
                    "application/zip",
                    &zip_of(&[("export/notes.txt", t.as_bytes())]),
                )),
            ),
        ),
        (
            "pdf",
            mail(
                "text/plain",
                "see attached\r\n",
                Some(("report.pdf", "application/pdf", &pdf_of_lines(&pdf_lines))),
            ),
        ),
    ];
    let env = envelope();
    let (attached, _) = support::client::make_attached_message(ATTACHED_BYTES);
    {
        let r = scanner.scan(&env, &attached, &NoBudget);
        assert!(r.texts.iter().map(String::len).sum::<usize>() > 40_000);
        assert!(r.verdict.hits.iter().all(|h| h.action != "block"));
        // Nothing in it is uninspectable: policy 160 of the set would hold it.
        assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);
        assert!(r.verdict.hits.iter().all(|h| h.action != "quarantine"));
    }
    let mut g = c.benchmark_group("inspect/default-policies");
    g.sample_size(50);
    g.throughput(Throughput::Bytes(attached.len() as u64));
    g.bench_function("attached50k", |b| {
        b.iter(|| black_box(scanner.scan(&env, black_box(&attached), &NoBudget)))
    });
    g.finish();
    let mut g = c.benchmark_group("inspect/default-policies");
    g.sample_size(20);
    for (name, m) in &messages {
        let r = scanner.scan(&env, m, &NoBudget);
        assert!(
            r.texts.iter().map(String::len).sum::<usize>() > 100_000,
            "{name}: the text must reach detection"
        );
        assert!(
            r.verdict.hits.iter().all(|h| h.action != "block"),
            "{name}: clean"
        );
        g.throughput(Throughput::Bytes(m.len() as u64));
        g.bench_function(*name, |b| {
            b.iter(|| black_box(scanner.scan(&env, black_box(m), &NoBudget)))
        });
    }
    g.finish();

    // The stages alone, on the plain-text message.
    let plain = &messages[0].1;
    let mut g = c.benchmark_group("inspect/stages-plain");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(plain.len() as u64));
    g.bench_function("decompose", |b| {
        b.iter(|| {
            black_box(decompose::decompose(
                black_box(plain),
                &sluice::config::Config::embedded()
                    .expect("embedded")
                    .decomposition,
                &NoPdf,
                &NoBudget,
            ))
        })
    });
    let registry = config.policies.registry().clone();
    let engine = Engine::new(&registry, &library).expect("engine");
    g.bench_function("detect (default policy set)", |b| {
        b.iter(|| black_box(engine.scan(&[black_box(t.as_str())])))
    });
    let mut ids_only = sluice::detect::Registry::default();
    ids_only.register(Detector::AllIdentifiers);
    let ids = Engine::new(&ids_only, &library).expect("engine");
    g.bench_function("identifiers (all, default breadths)", |b| {
        b.iter(|| black_box(ids.scan(&[black_box(t.as_str())])))
    });
    let mut dicts = sluice::detect::Registry::default();
    for d in [
        "confidential-en",
        "confidential-de",
        "confidential-fr",
        "source-code",
    ] {
        dicts.register(Detector::Dictionary(d.into()));
    }
    let dicts = Engine::new(&dicts, &library).expect("engine");
    g.bench_function("dictionaries (the default set's four)", |b| {
        b.iter(|| black_box(dicts.scan(&[black_box(t.as_str())])))
    });
    g.finish();
}

/// `--loop NAME N`: scans one message N times and prints the time per message (for `perf stat`).
/// NAME is `attached50k` (the load bench's message) or `plain` (the 1 MiB text message, detection
/// alone).
fn run_loop(name: &str, n: usize) {
    let config = default_policies();
    let library = Library::embedded().expect("library");
    let scanner = Scanner::with(&config, &[], Arc::new(NoPdf), &library).expect("scanner");
    let env = envelope();
    let start = thread_cpu();
    let bytes = match name {
        "attached50k" => {
            let (m, _) = support::client::make_attached_message(ATTACHED_BYTES);
            let r = scanner.scan(&env, &m, &NoBudget);
            let sizes: Vec<String> = r
                .locations
                .iter()
                .zip(&r.texts)
                .map(|(l, t)| format!("{l} {}", t.len()))
                .collect();
            println!("parts: {}", sizes.join(", "));
            for _ in 0..n {
                black_box(scanner.scan(&env, black_box(&m), &NoBudget));
            }
            m.len()
        }
        "plain" => {
            let t = text(TEXT_BYTES);
            let engine = Engine::new(config.policies.registry(), &library).expect("engine");
            for _ in 0..n {
                black_box(engine.scan(&[black_box(t.as_str())]));
            }
            t.len()
        }
        other => panic!("unknown loop workload {other} (attached50k, plain)"),
    };
    let per = (thread_cpu() - start) / n as f64;
    println!(
        "{name}: {n} x {bytes} B: {:.1} µs CPU per message, {:.0} MiB/s per core",
        per * 1e6,
        bytes as f64 / per / f64::from(1 << 20)
    );
}

/// CPU time of this thread in seconds (the machine is shared: wall-clock time would count waits).
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer; CLOCK_THREAD_CPUTIME_ID exists on every Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

criterion_group!(benches, bench);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--loop") {
        let name = args.get(i + 1).map_or("attached50k", String::as_str);
        let n = args.get(i + 2).and_then(|v| v.parse().ok()).unwrap_or(2000);
        run_loop(name, n);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
