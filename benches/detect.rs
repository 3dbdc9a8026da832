//! Detection throughput (criterion): the default data identifiers over ~1 MiB of generated business
//! English with a sprinkling of numbers, dates, prices, order numbers, phone numbers and a little
//! PII, plus a PII-dense variant. Reports bytes per second per core (single thread).
//!
//!     nice -n 19 cargo bench --bench detect
//!
//! The corpus is generated here (fixed seed), so runs are comparable.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sluice::detect::identifier::Identifiers;

/// Size of each generated corpus, bytes.
const CORPUS_BYTES: usize = 1 << 20;

/// A small deterministic PRNG (xorshift64*), so the corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const PROSE: &[&str] = &[
    "Thanks for the quick turnaround on the quarterly forecast; the team reviewed it this morning.",
    "Please find attached the revised statement of work for the integration project.",
    "We agreed to move the steering committee meeting to next Thursday afternoon.",
    "Our logistics partner confirmed that the shipment left the warehouse on schedule.",
    "Let me know if the pricing below works for your procurement team before Friday.",
    "The auditors asked for the signed contracts and the vendor onboarding checklist.",
    "As discussed on the call, the renewal includes premium support and two training days.",
    "Could you double-check the totals against the purchase order before we invoice?",
    "I have copied Maria from finance, who will handle the payment schedule.",
    "The new hire orientation is scheduled for the first Monday of next month.",
    "Regards,\nDaniel Okafor\nSenior Account Manager",
    "Best wishes to you and the team, and thanks again for your patience.",
];

/// One sentence with numbers in it (dates, prices, references, phones, versions, times).
fn numeric(r: &mut Rng) -> String {
    match r.below(14) {
        0 => format!(
            "Invoice INV-{} is due on {}/{:02}/2024.",
            10_000 + r.below(90_000),
            1 + r.below(12),
            1 + r.below(28)
        ),
        1 => format!(
            "The total comes to ${},{:03}.{:02} including tax.",
            1 + r.below(99),
            r.below(1000),
            r.below(100)
        ),
        2 => format!(
            "Order #{} shipped on 2024-{:02}-{:02} via tracking 1Z{}.",
            100_000 + r.below(900_000),
            1 + r.below(12),
            1 + r.below(28),
            10_000_000 + r.below(90_000_000)
        ),
        3 => format!(
            "Call me at ({}) {}-{:04} after {}:{:02} pm.",
            200 + r.below(800),
            200 + r.below(800),
            r.below(10_000),
            1 + r.below(11),
            r.below(60)
        ),
        4 => format!(
            "We upgraded to version {}.{}.{} last week.",
            r.below(20),
            r.below(10),
            r.below(30)
        ),
        5 => format!(
            "Headcount grew {}% to {} people across {} offices.",
            r.below(40),
            50 + r.below(900),
            2 + r.below(12)
        ),
        6 => format!(
            "Meeting room {} is booked from {}:00 to {}:30 on March {}.",
            100 + r.below(400),
            8 + r.below(4),
            12 + r.below(5),
            1 + r.below(30)
        ),
        7 => format!(
            "Reference PO {} covers {} units at {}.{:02} EUR each.",
            4_500_000 + r.below(100_000),
            10 + r.below(500),
            r.below(200),
            r.below(100)
        ),
        8 => format!(
            "Q{} revenue was {}.{} million, up from {}.{} million in {}.",
            1 + r.below(4),
            r.below(90),
            r.below(10),
            r.below(90),
            r.below(10),
            2015 + r.below(9)
        ),
        9 => format!(
            "Ticket {} was closed at {:02}:{:02}:{:02} UTC.",
            200_000 + r.below(800_000),
            r.below(24),
            r.below(60),
            r.below(60)
        ),
        10 => format!("Contact sam.lee{}@example.com for details.", r.below(100)),
        11 => format!(
            "ISBN 978-{}-{}-{}-{} is the new edition.",
            r.below(10),
            10 + r.below(90),
            100_000 + r.below(900_000),
            r.below(10)
        ),
        12 => format!(
            "Server build {} passed {} of {} checks.",
            1_000 + r.below(9_000),
            100 + r.below(400),
            500
        ),
        _ => format!(
            "Room rate is {} USD per night for {} nights.",
            90 + r.below(300),
            1 + r.below(14)
        ),
    }
}

/// One sentence with a sensitive value in it.
fn sensitive(r: &mut Rng) -> String {
    match r.below(6) {
        0 => "Card on file: 4111 1111 1111 1111, exp 04/27.".to_string(),
        1 => "Her SSN is 536-22-8741 per the onboarding form.".to_string(),
        2 => "Wire to IBAN DE89 3704 0044 0532 0130 00, SWIFT DEUTDEFF.".to_string(),
        3 => "Use key AKIAIOSFODNN7EXAMPLE for the staging bucket.".to_string(),
        4 => "The VPN gateway is 10.20.30.40, backup 2001:db8::1.".to_string(),
        _ => "Routing number 021000021, account 123456789012.".to_string(),
    }
}

/// ~1 MiB of business English; `pii_every` = one sensitive sentence per that many sentences.
fn corpus(seed: u64, numeric_every: u64, pii_every: u64) -> String {
    let mut r = Rng(seed);
    let mut s = String::with_capacity(CORPUS_BYTES + 256);
    while s.len() < CORPUS_BYTES {
        let k = r.below(1_000);
        let sentence = if k.is_multiple_of(pii_every) {
            sensitive(&mut r)
        } else if k.is_multiple_of(numeric_every) {
            numeric(&mut r)
        } else {
            r.pick(PROSE).to_string()
        };
        s.push_str(&sentence);
        s.push(if r.below(5) == 0 { '\n' } else { ' ' });
    }
    s
}

/// ~1 MiB of a spreadsheet exported as text: rows of small numbers separated by single spaces (the
/// worst case for number spans: every group could start a candidate).
fn number_table(seed: u64) -> String {
    let mut r = Rng(seed);
    let mut s = String::with_capacity(CORPUS_BYTES + 256);
    while s.len() < CORPUS_BYTES {
        for _ in 0..12 {
            let digits = 1 + r.below(4) as u32;
            s.push_str(&r.below(10u64.pow(digits)).to_string());
            s.push(' ');
        }
        s.push('\n');
    }
    s
}

fn identifiers(c: &mut Criterion) {
    let ids = Identifiers::embedded();
    let mut group = c.benchmark_group("identifiers");
    for (name, text) in [
        ("business_text", corpus(42, 3, 200)),
        ("pii_dense", corpus(7, 2, 5)),
        ("number_table", number_table(3)),
    ] {
        let mut hits = Vec::new();
        ids.scan(&text, None, &mut hits);
        let mut per: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for h in &hits {
            *per.entry(h.detector.as_str()).or_default() += 1;
        }
        eprintln!("{name}: {} bytes, {} hits {per:?}", text.len(), hits.len());
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                hits.clear();
                ids.scan(black_box(&text), None, &mut hits);
                black_box(hits.len())
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = identifiers
}
criterion_main!(benches);
