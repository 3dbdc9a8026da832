//! Dictionary scanning throughput: 1 MB of generated plain text against a 1,000-term dictionary
//! (single words and phrases), plus the embedded default dictionaries on the same text and on
//! German text (exercising the case-folded path for non-ASCII terms). Reports MB/s per core.
//!
//!     cargo bench --bench dictionary

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluice::detect::dictionary::{Dictionaries, DictionaryDef};

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
    g.bench_function("1000_terms_english_1MB", |b| b.iter(|| big.scan(&english)));
    g.bench_function("defaults_english_1MB", |b| {
        b.iter(|| defaults.scan(&english))
    });
    g.throughput(Throughput::Bytes(german.len() as u64));
    g.bench_function("defaults_german_1MB", |b| b.iter(|| defaults.scan(&german)));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
