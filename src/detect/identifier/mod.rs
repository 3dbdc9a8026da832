//! Data identifiers: payment cards, national ids, bank numbers, contact data and secrets, found in
//! one pass over the text and confirmed by validators (Symantec DLP's breadth model, Presidio's and
//! Google DLP's context words).
//!
//! How a scan works, and why it is fast (the target is >= 500 MB/s per core on plain text):
//! 1. `scan` walks the text once, eight bytes at a time, looking only for bytes that can start a
//!    candidate: digits (numbers, IBAN, UK NINO), `@` (email) and `:` (IPv6). Each digit run is
//!    grown into a small "number span" (digit groups joined by single separators); only runs of
//!    whole groups with the right digit count are matched against the definitions' anchored
//!    regexes, on those few bytes only. Values glued to words (hashes, UUIDs, `v10.2.3.4`,
//!    `INV-2024-555-1234`) and rows of number tables are skipped whole.
//! 2. `literal` runs two case-sensitive Aho-Corasick searches (Teddy, SIMD): secret prefixes
//!    (`AKIA`, `ghp_`, `xox`, `-----BEGIN`, `eyJ`, ...), and trigger words of identifiers that are
//!    only looked for near a word (`SWIFT_BIC` near "SWIFT", `AWS_SECRET_KEY` near "aws").
//! 3. Candidates that pass the cheap (wide) validators are sorted; `context` then searches for
//!    context words (default window 128 bytes each side) only around them, each byte at most
//!    once, and not at all where the answer cannot change the outcome.
//!    A candidate with no context word in its window may still have one in the message-level scope
//!    (`shared`: the subject for a body text, the body for a subject), searched only then.
//! 4. The breadth asked for decides which candidates become [`Hit`]s: wide = pattern and cheap
//!    validators; medium = all validators and no exclusion word; narrow = medium plus a context word.
//!
//! Definitions are data (`assets/definitions/identifiers.toml`, embedded; [`Identifiers::from_toml`]
//! accepts any other set). Validators are code (`validate`), referenced by name.
//!
//! Security: the text is untrusted. Every loop is bounded by the text length or a documented
//! constant, regexes are linear-time, nothing here allocates per byte, and matched values leave only
//! as offsets plus redacted evidence (`redact` never reveals more than half the letters and digits).
//! No I/O, no clock.

mod context;
mod definition;
mod literal;
use super::redact;
mod scan;
mod shared;
mod table;
mod validate;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_overlap;
#[cfg(test)]
mod tests_scope;
#[cfg(test)]
mod tests_secret;

use std::sync::{Arc, LazyLock};

use super::{Confidence, Hit};
use definition::{Compiled, Trigger};
use scan::Candidate;

pub use definition::DefinitionError;
pub use shared::Shared;

/// The default identifier definitions, embedded in the binary.
pub const EMBEDDED_DEFINITIONS: &str = include_str!("../../../assets/definitions/identifiers.toml");

/// How much evidence a candidate needs before it is reported (Symantec DLP's breadth).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Breadth {
    /// Pattern plus the cheap validators: the most hits, the most false positives.
    Wide,
    /// Pattern plus every validator, and no exclusion word just before it.
    Medium,
    /// Medium plus a context word within the window.
    Narrow,
}

/// A compiled, immutable set of identifier definitions. Cheap to clone; `Send + Sync`.
#[derive(Clone)]
pub struct Identifiers {
    inner: Arc<Compiled>,
}

static EMBEDDED: LazyLock<Identifiers> =
    LazyLock::new(|| match Identifiers::from_toml(EMBEDDED_DEFINITIONS) {
        Ok(ids) => ids,
        // The embedded text is a constant; `tests::embedded_definitions_compile` proves it compiles.
        Err(e) => panic!("embedded identifier definitions are invalid: {e}"),
    });

impl Identifiers {
    /// The embedded default set (compiled once per process).
    pub fn embedded() -> Identifiers {
        EMBEDDED.clone()
    }

    /// Compiles a definition file; the error names the entry and what is wrong with it.
    pub fn from_toml(text: &str) -> Result<Identifiers, DefinitionError> {
        Ok(Identifiers {
            inner: Arc::new(definition::compile(text)?),
        })
    }

    /// The identifier type names (upper snake case), each once, in definition order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.inner.names.iter().map(String::as_str)
    }

    /// Appends the hits for the requested identifiers, sorted by position (`None` = every
    /// identifier at its configured breadth; unknown names are ignored).
    pub fn scan(&self, text: &str, select: Option<&[(String, Breadth)]>, out: &mut Vec<Hit>) {
        self.scan_shared(text, select, &mut Shared::none(), out);
    }

    /// As [`Identifiers::scan`], with context words also taken from the message-level scope
    /// `shared` (the texts of the same message that share context with `text`, see [`Shared`]).
    pub fn scan_shared(
        &self,
        text: &str,
        select: Option<&[(String, Breadth)]>,
        shared: &mut Shared<'_>,
        out: &mut Vec<Hit>,
    ) {
        let c = &*self.inner;
        let plan = scan::Plan::new(c, select);
        if plan.is_empty() {
            return;
        }
        let bytes = text.as_bytes();
        let mut cands = Vec::new();
        scan::run(c, &plan, bytes, &mut cands);
        literal::run(c, &plan, bytes, &mut cands);
        if cands.is_empty() {
            return;
        }
        cands.sort_unstable_by_key(|k| (k.start, k.end, k.def));
        cands.dedup_by_key(|k| (k.start, k.end, k.def));
        decide(c, &plan, bytes, &cands, shared, out);
    }
}

impl std::fmt::Debug for Identifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identifiers")
            .field("names", &self.inner.names)
            .finish()
    }
}

/// One step up the confidence scale.
fn raise(c: Confidence) -> Confidence {
    match c {
        Confidence::Low => Confidence::Medium,
        Confidence::Medium | Confidence::High => Confidence::High,
    }
}

/// How near a context word is: (after the candidate, bytes between); smaller is nearer.
type Nearness = (bool, usize);

/// Turns sorted candidates into hits: context, context-dependent validators, breadth, confidence,
/// redaction; then settles overlaps (`resolve_same_span`, `drop_contained`).
///
/// An exclusion word counts only if no context word of the same identifier stands between it and
/// the candidate ("Invoice query - phone +1 555 ..." is a phone number; "Invoice 555 ..." is not).
fn decide(
    c: &Compiled,
    plan: &scan::Plan,
    text: &[u8],
    cands: &[Candidate],
    shared: &mut Shared<'_>,
    out: &mut Vec<Hit>,
) {
    let mut ctx = context::Cache::new(c.context.as_ref(), text, c.max_window);
    let first_new = out.len();
    // Per new hit: how near its nearest context word is, if one was looked for and found.
    let mut near: Vec<Option<Nearness>> = Vec::new();
    for k in cands {
        let def = &c.defs[usize::from(k.def)];
        let Some(breadth) = plan.breadth(k.def) else {
            continue;
        };
        let excluded = def.has_exclude
            && ctx
                .last_negative(
                    k.def,
                    k.start,
                    k.start.saturating_sub(def.exclude_window),
                    k.start,
                )
                .is_some_and(|e| {
                    let other_sentence =
                        sentence_break(&text[e.saturating_add(1).min(k.start)..k.start]);
                    let overridden = def.has_context && ctx.positive(k.def, k.start, e, k.start);
                    !(other_sentence || overridden)
                });
        // The context search is the costliest step; skip it where it cannot change the outcome
        // (a high-confidence candidate that passes everything, at wide or medium breadth).
        let settled = breadth != Breadth::Narrow
            && def.wide_ctx.is_empty()
            && def.medium_ctx.is_empty()
            && k.medium
            && !excluded
            && def.confidence == Confidence::High;
        let found = if def.trigger == Trigger::Context {
            Some(((false, 0), 0))
        } else if def.has_context && !settled {
            ctx.nearest_positive(
                k.def,
                k.start,
                k.end,
                k.start.saturating_sub(def.window),
                k.end + def.window,
            )
            .or_else(|| {
                // Elsewhere in the message: ranks behind any word in a window, never "near".
                shared
                    .has(c, k.def)
                    .then_some(((true, validate::ELSEWHERE), validate::ELSEWHERE))
            })
        } else {
            None
        };
        let distance = found.map(|(rank, _)| rank);
        let bytes = found.map(|(_, bytes)| bytes);
        let positive = distance.is_some();
        let value = &text[k.start..k.end];
        let wide_ok = def
            .wide_ctx
            .iter()
            .all(|v| validate::check(v, value, bytes));
        if !wide_ok {
            continue;
        }
        let medium_ok = k.medium
            && !excluded
            && def
                .medium_ctx
                .iter()
                .all(|v| validate::check(v, value, bytes));
        let report = match breadth {
            Breadth::Wide => true,
            Breadth::Medium => medium_ok,
            Breadth::Narrow => medium_ok && positive,
        };
        if !report {
            continue;
        }
        let base = if medium_ok {
            def.confidence
        } else {
            Confidence::Low
        };
        let confidence = if positive { raise(base) } else { base };
        out.push(Hit {
            detector: def.name.clone(),
            start: k.start,
            end: k.end,
            confidence,
            redacted: redact::redact(&def.redact, value),
        });
        near.push(distance);
    }
    resolve_same_span(out, &mut near, first_new);
    drop_contained(out, first_new);
}

/// Longest word taken for an abbreviation when a `.` follows it ("no.", "ver.", "inv.").
const MAX_ABBREVIATION: usize = 3;

/// Whether `between` (the bytes after an exclusion word, less the one right after it so that
/// "v. 1.2.3.4" keeps its word) ends a sentence: `!` or `?`, or `.` not after an abbreviation,
/// before whitespace. An exclusion word labels the value in its own sentence only ("... build
/// season. 203.0.113.9 - GET /" is an address; "Order no. 415-555-2671" is still an order).
fn sentence_break(between: &[u8]) -> bool {
    (0..between.len().saturating_sub(1)).any(|i| {
        if !between[i + 1].is_ascii_whitespace() {
            return false;
        }
        match between[i] {
            b'!' | b'?' => true,
            b'.' => {
                let letters = between[..i]
                    .iter()
                    .rev()
                    .take_while(|b| b.is_ascii_alphabetic())
                    .count();
                letters == 0 || letters > MAX_ABBREVIATION
            }
            _ => false,
        }
    })
}

/// Among new hits covering exactly the same bytes, keeps only those of the highest confidence (a
/// bare 9-digit number may pass as SSN, routing number and SIN; the one with context wins); among
/// those raised by a context word, only the ones whose word is nearest ("SSN 123-45-6789,
/// routing 021000021": each number belongs to the word before it, see
/// `context::Cache::nearest_positive`); and drops repeats of one
/// detector (two entries of one type matching the same bytes). `near` runs parallel to
/// `out[from..]` and is kept so.
fn resolve_same_span(out: &mut Vec<Hit>, near: &mut Vec<Option<Nearness>>, from: usize) {
    let mut i = from;
    while i < out.len() {
        let mut j = i + 1;
        while j < out.len() && out[j].start == out[i].start && out[j].end == out[i].end {
            j += 1;
        }
        if j - i > 1 {
            let best = out[i..j]
                .iter()
                .map(|h| h.confidence)
                .max()
                .unwrap_or(Confidence::Low);
            let closest = out[i..j]
                .iter()
                .zip(&near[i - from..j - from])
                .filter(|(h, _)| h.confidence == best)
                .filter_map(|(_, d)| *d)
                .min();
            let mut seen: Vec<String> = Vec::new();
            let mut group: Vec<(Hit, Option<Nearness>)> = Vec::new();
            for (h, d) in out.drain(i..j).zip(near.drain(i - from..j - from)) {
                let nearest = d.is_none() || d == closest;
                if h.confidence == best && nearest && !seen.contains(&h.detector) {
                    seen.push(h.detector.clone());
                    group.push((h, d));
                }
            }
            let kept = group.len();
            let (hits, dists): (Vec<Hit>, Vec<Option<Nearness>>) = group.into_iter().unzip();
            out.splice(i..i, hits);
            near.splice(i - from..i - from, dists);
            j = i + kept;
        }
        i = j;
    }
}

/// Drops each new hit lying inside a longer new hit at least as confident: the digits of a
/// payment card are not also a phone number, nor the groups of an IBAN a card.
fn drop_contained(out: &mut Vec<Hit>, from: usize) {
    if out.len() < from + 2 {
        return;
    }
    // Longest first among equal starts, so a container is always seen before what it contains.
    let mut order: Vec<usize> = (from..out.len()).collect();
    order.sort_unstable_by_key(|&k| (out[k].start, std::cmp::Reverse(out[k].end)));
    let mut drop = vec![false; out.len()];
    // The hit reaching furthest so far (end, start, confidence).
    let mut reach: Option<(usize, usize, Confidence)> = None;
    for &k in &order {
        let h = &out[k];
        match reach {
            Some((end, start, conf))
                if h.end <= end && end - start > h.end - h.start && conf >= h.confidence =>
            {
                drop[k] = true;
            }
            Some((end, ..)) if h.end <= end => {}
            _ => reach = Some((h.end, h.start, h.confidence)),
        }
    }
    let mut k = 0;
    out.retain(|_| {
        k += 1;
        !drop[k - 1]
    });
}
