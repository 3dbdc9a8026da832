//! Dictionary scanning throughput: 1 MB of generated plain text against a 1,000-term dictionary
//! (single words and phrases), plus the embedded default dictionaries on the same text and on
//! German text (non-ASCII first words). Reports MB/s per core. Also the EDM matcher: a
//! 100,000-row, 4-column table against the same English text with a few planted rows.
//!
//! The dictionary group counts this thread's CPU time, not wall time, so other work on a shared
//! machine does not distort it.
//!
//!     cargo bench --bench dictionary

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluice::detect::dictionary::{Dictionaries, DictionaryDef};
use sluice::detect::edm;

/// This thread's CPU time.
fn cpu_time() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// Times `iters` scans in CPU time.
fn cpu_iters(iters: u64, mut f: impl FnMut()) -> Duration {
    let start = cpu_time();
    for _ in 0..iters {
        f();
    }
    cpu_time().saturating_sub(start)
}

/// A small deterministic generator (xorshift), so every run scans the same text.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const COMMON: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "was",
    "with",
    "be",
    "by",
    "on",
    "not",
    "he",
    "this",
    "are",
    "or",
    "his",
    "from",
    "at",
    "which",
    "but",
    "have",
    "an",
    "they",
    "you",
    "were",
    "her",
    "she",
    "there",
    "would",
    "their",
    "we",
    "him",
    "been",
    "has",
    "when",
    "who",
    "will",
    "meeting",
    "report",
    "please",
    "review",
    "attached",
    "project",
    "customer",
    "thanks",
    "regards",
    "schedule",
    "budget",
    "quarter",
    "team",
    "update",
    "information",
    "contract",
    "delivery",
    "office",
];

const GERMAN: &[&str] = &[
    "der",
    "die",
    "und",
    "für",
    "Größe",
    "über",
    "Bestätigung",
    "Grüße",
    "Angebot",
    "Rechnung",
    "wir",
    "Ihnen",
    "möchten",
    "Änderung",
    "Lieferung",
    "Vertrag",
    "nächste",
    "Woche",
    "Büro",
    "Kunde",
];

/// About `size` bytes of sentences drawn from `words`, wrapped at ~72 columns with CRLF.
fn text(words: &[&str], size: usize, seed: u64) -> String {
    let mut rng = Rng(seed);
    let mut s = String::with_capacity(size + 100);
    let mut col = 0;
    while s.len() < size {
        let w = rng.pick(words);
        s.push_str(w);
        col += w.len() + 1;
        if rng.next().is_multiple_of(12) {
            s.push('.');
        }
        if col > 72 {
            s.push_str("\r\n");
            col = 0;
        } else {
            s.push(' ');
        }
    }
    s
}

/// 1,000 synthetic terms: 800 single words and 200 two-word phrases, letters only, none common.
fn thousand_terms() -> Vec<String> {
    let mut rng = Rng(42);
    let letters = b"abcdefghijklmnopqrstuvwxyz";
    let word = |rng: &mut Rng| -> String {
        let n = 5 + (rng.next() % 6) as usize;
        (0..n)
            .map(|_| letters[(rng.next() % 26) as usize] as char)
            .collect()
    };
    let mut terms: Vec<String> = (0..800).map(|_| word(&mut rng)).collect();
    terms.extend((0..200).map(|_| format!("{} {}", word(&mut rng), word(&mut rng))));
    terms
}

fn bench(c: &mut Criterion) {
    let mut english = text(COMMON, 1 << 20, 7);
    let terms = thousand_terms();
    // Plant some real hits so matches are exercised (about one per 2 KB).
    let mut planted = String::with_capacity(english.len() + 10_000);
    for (i, line) in english.split("\r\n").enumerate() {
        planted.push_str(line);
        planted.push_str("\r\n");
        if i % 25 == 0 {
            planted.push_str(&terms[i % terms.len()]);
            planted.push(' ');
        }
    }
    english = planted;
    let german = text(GERMAN, 1 << 20, 9);

    let big = Dictionaries::new(&[DictionaryDef {
        name: "big".into(),
        description: String::new(),
        terms,
    }])
    .expect("bench dictionary compiles");
    let defaults = Dictionaries::embedded().expect("embedded definitions compile");
    eprintln!(
        "hits: big/english {}, defaults/english {}, defaults/german {}",
        big.scan(&english).total(),
        defaults.scan(&english).total(),
        defaults.scan(&german).total()
    );

    let mut g = c.benchmark_group("dictionary");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(english.len() as u64));
    g.bench_function("1000_terms_english_1MB", |b| {
        b.iter_custom(|n| cpu_iters(n, || drop(black_box(big.scan(&english)))))
    });
    g.bench_function("defaults_english_1MB", |b| {
        b.iter_custom(|n| cpu_iters(n, || drop(black_box(defaults.scan(&english)))))
    });
    g.throughput(Throughput::Bytes(german.len() as u64));
    g.bench_function("defaults_german_1MB", |b| {
        b.iter_custom(|n| cpu_iters(n, || drop(black_box(defaults.scan(&german)))))
    });
    g.finish();

    // EDM: 100,000 rows of name, surname, account number, city.
    let mut csv = String::from("first_name,last_name,account,city\n");
    let mut rng = Rng(5);
    let cities = ["London", "Paris", "Berlin", "Madrid", "Rome"];
    let name = |rng: &mut Rng| -> String {
        let n = 4 + (rng.next() % 5) as usize;
        (0..n)
            .map(|i| {
                let c = (b'a' + (rng.next() % 26) as u8) as char;
                if i == 0 { c.to_ascii_uppercase() } else { c }
            })
            .collect()
    };
    let mut planted_rows = Vec::new();
    for i in 0..100_000u64 {
        let (f, l) = (name(&mut rng), name(&mut rng));
        let acct = format!("{:04}-{:06}", rng.next() % 10_000, 100_000 + i);
        if i % 20_000 == 0 {
            planted_rows.push(format!("{f} {l}, account {acct}"));
        }
        csv.push_str(&format!("{f},{l},{acct},{}\n", cities[(i % 5) as usize]));
    }
    let (index, _) = edm::build("bench", csv.as_bytes(), [9; edm::KEY_BYTES]).expect("edm index");
    let mut text = english.clone();
    for p in &planted_rows {
        text.push_str(p);
        text.push_str(" London\r\n");
    }
    let params = edm::MatchParams::default();
    eprintln!(
        "edm: {} rows, ~{} MB in memory, {} rows found",
        index.rows(),
        index.memory_bytes() / 1_000_000,
        edm::matcher::find(&index, &text, params).len()
    );
    let mut g = c.benchmark_group("edm");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("100k_rows_english_1MB", |b| {
        b.iter(|| edm::matcher::find(&index, &text, params))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
