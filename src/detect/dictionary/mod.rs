//! Keyword dictionaries: named term lists compiled once into a lookup by first word and matched in
//! a single pass over the original text, case-insensitively and as whole words, with per-term
//! counts, byte offsets and proximity ("A within N words of B").
//!
//! How one pass works: the text is cut into word tokens (runs of letters and digits, see `text`),
//! 64 bytes at a time from a SIMD bitmask; each token is looked up as the *first word token* of a
//! term. With AVX2, a `prefilter` on the first three bytes of every token (Teddy's nibble tables)
//! first skips most ASCII tokens that cannot start a term, 32 bytes per step. An ASCII token goes through an 8 KiB bit filter keyed by its length and first three bytes
//! (most ordinary words stop there) and then a small table; a token with non-ASCII bytes goes
//! through a filter of its first three bytes (every case spelling of each first word is in it) and
//! only then is case-folded and looked up in a map. The marks before and after that word inside the term's first
//! word (`#` of `#include`, `&l` of `p&l`) and the remaining words of a phrase (after any run of
//! whitespace, line breaks included) are checked in place, so the text is never copied or
//! normalised. Terms whose first word has no letter or digit (`-->`) run on a small Aho-Corasick
//! automaton instead.
//!
//! Case: ASCII letters match in any case. A non-ASCII letter of a term's first word matches as
//! written or in its single other case (and `ß` also as `ẞ`), unless that word has more than
//! [`MAX_CASE_VARIANTS`] such spellings, in which case it is compared under full case folding
//! (`char::to_lowercase`), as later words of a phrase always are.
//!
//! Overlapping terms all count: "strictly confidential" in the text counts once for the phrase and
//! once for "confidential" when both are terms, and "client_secret" once for itself and once for
//! "secret".
//!
//! Does not: stem, match inside words, fold diacritics ("vertraulich" does not match "vertraulích"),
//! or apply special case mappings beyond `char::to_lowercase`.

pub mod definitions;
mod index;
mod prefilter;
pub mod proximity;
#[cfg(test)]
mod reference;
mod scan;
#[cfg(test)]
mod tests;
pub(crate) mod text;
mod token;

use std::ops::Range;

use crate::detect::{Confidence, Hit};
pub use definitions::{DefinitionError, Definitions, DictionaryDef};

/// Longest text scanned in one call, in bytes; the rest is not scanned and [`Scan::truncated`] is set.
pub const MAX_SCAN_BYTES: usize = 1 << 30;
/// Most case spellings of one term's first word matched letter by letter (2^4: four cased
/// non-ASCII letters); a word needing more is compared under full case folding instead.
pub const MAX_CASE_VARIANTS: usize = 16;
/// Most hit offsets kept per scan (counts stay exact beyond it; [`Scan::truncated`] is set).
pub const MAX_HITS: usize = 65_536;

/// A dictionary in a compiled set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DictId(u32);

/// A term in a compiled set (terms are numbered across all dictionaries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TermId(u32);

/// What a count, span list or proximity operand refers to: a whole dictionary or one term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    Dictionary(DictId),
    Term(TermId),
}

/// A compiled set of dictionaries, immutable and shareable between threads.
#[derive(Debug, Clone)]
pub struct Dictionaries {
    names: Vec<String>,
    /// Terms of dictionary `i` are `terms[ranges[i]]`.
    ranges: Vec<Range<u32>>,
    /// Each term as defined, whitespace collapsed (definition data, not message content).
    terms: Vec<String>,
    term_dict: Vec<u32>,
    /// Terms by first word.
    index: index::Index,
}

/// One match of one term: byte offsets into the scanned text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TermHit {
    pub start: usize,
    pub end: usize,
    pub term: TermId,
}

/// The result of scanning one text with a [`Dictionaries`] set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Hits sorted by offset (at most [`MAX_HITS`]).
    hits: Vec<TermHit>,
    /// Exact count per term with at least one hit, sorted by term.
    counts: Vec<(u32, u32)>,
    truncated: bool,
}

impl Dictionaries {
    /// Compiles the dictionaries of a checked definition set.
    pub fn new(defs: &[DictionaryDef]) -> Result<Dictionaries, DefinitionError> {
        let mut names = Vec::with_capacity(defs.len());
        let mut ranges = Vec::with_capacity(defs.len());
        let mut terms = Vec::new();
        let mut term_dict = Vec::new();
        let mut heads = index::Builder::default();
        for (di, d) in defs.iter().enumerate() {
            definitions::check_name("dictionary", &d.name)?;
            if names.contains(&d.name) {
                return Err(DefinitionError::Duplicate {
                    kind: "dictionary",
                    name: d.name.clone(),
                });
            }
            let first = terms.len() as u32;
            let mut seen = std::collections::HashSet::new();
            for (ti, raw) in d.terms.iter().enumerate() {
                let words: Vec<&str> = raw.split_whitespace().collect();
                let bad = |reason: &str| DefinitionError::Term {
                    name: d.name.clone(),
                    index: ti + 1,
                    reason: reason.to_owned(),
                };
                if words.is_empty() {
                    return Err(bad("empty term"));
                }
                if raw.len() > definitions::MAX_TERM_BYTES
                    || words.len() > definitions::MAX_TERM_WORDS
                {
                    return Err(bad("too long"));
                }
                let folded: Vec<String> = words.iter().map(|w| text::fold(w)).collect();
                if !seen.insert(folded.clone()) {
                    continue; // the same term twice (any case) counts once
                }
                let id = terms.len() as u32;
                terms.push(words.join(" "));
                term_dict.push(di as u32);
                heads.add(id, &folded);
            }
            if terms.len() as u32 == first {
                return Err(DefinitionError::Empty {
                    name: d.name.clone(),
                });
            }
            names.push(d.name.clone());
            ranges.push(first..terms.len() as u32);
        }
        Ok(Dictionaries {
            names,
            ranges,
            terms,
            term_dict,
            index: heads.build()?,
        })
    }

    /// Compiles the embedded default dictionaries.
    pub fn embedded() -> Result<Dictionaries, DefinitionError> {
        Dictionaries::new(&Definitions::embedded()?.dictionaries)
    }

    /// The dictionary with this name.
    pub fn dictionary(&self, name: &str) -> Option<DictId> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| DictId(i as u32))
    }

    /// A term of a dictionary, looked up case-insensitively with whitespace collapsed.
    pub fn term(&self, dict: DictId, term: &str) -> Option<TermId> {
        let want: Vec<String> = term.split_whitespace().map(text::fold).collect();
        let range = self.ranges.get(dict.0 as usize)?.clone();
        range
            .into_iter()
            .find(|&t| {
                self.terms[t as usize]
                    .split(' ')
                    .map(text::fold)
                    .eq(want.iter().cloned())
            })
            .map(TermId)
    }

    /// Resolves a proximity or count operand: `dictionary` alone, or `dictionary` and one of its terms.
    pub fn selector(
        &self,
        dictionary: &str,
        term: Option<&str>,
    ) -> Result<Selector, DefinitionError> {
        let d = self.dictionary(dictionary).ok_or_else(|| {
            DefinitionError::Reference(format!("no dictionary named {dictionary:?}"))
        })?;
        match term {
            None => Ok(Selector::Dictionary(d)),
            Some(t) => self.term(d, t).map(Selector::Term).ok_or_else(|| {
                DefinitionError::Reference(format!("dictionary {dictionary:?} has no term {t:?}"))
            }),
        }
    }

    /// Dictionary names, in definition order.
    pub fn names(&self) -> impl Iterator<Item = (DictId, &str)> {
        self.names
            .iter()
            .enumerate()
            .map(|(i, n)| (DictId(i as u32), n.as_str()))
    }

    /// The terms of a dictionary.
    pub fn terms(&self, dict: DictId) -> impl Iterator<Item = TermId> + use<> {
        self.ranges
            .get(dict.0 as usize)
            .cloned()
            .unwrap_or(0..0)
            .map(TermId)
    }

    /// A term as defined (definition data), whitespace collapsed.
    pub fn term_text(&self, term: TermId) -> &str {
        self.terms.get(term.0 as usize).map_or("", String::as_str)
    }

    /// The dictionary a term belongs to.
    pub fn dictionary_of(&self, term: TermId) -> DictId {
        DictId(self.term_dict.get(term.0 as usize).copied().unwrap_or(0))
    }

    /// The name of a dictionary.
    pub fn name(&self, dict: DictId) -> &str {
        self.names.get(dict.0 as usize).map_or("", String::as_str)
    }

    /// Number of terms over all dictionaries.
    pub fn len(&self) -> usize {
        self.terms.len()
    }

    /// Whether the set has no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Scans `text` for every term of every dictionary (see the module docs). Never fails.
    pub fn scan(&self, text: &str) -> Scan {
        scan::scan(self, text)
    }

    /// Shared [`Hit`]s for one dictionary: detector `dictionary:<name>`, evidence the masked term.
    pub fn hits(&self, scan: &Scan, dict: DictId) -> Vec<Hit> {
        scan.iter(Selector::Dictionary(dict), self)
            .map(|h| Hit {
                detector: format!("dictionary:{}", self.name(dict)),
                start: h.start,
                end: h.end,
                confidence: Confidence::Medium,
                redacted: text::mask(self.term_text(h.term)),
            })
            .collect()
    }
}

impl Scan {
    /// Exact number of hits for a term or a whole dictionary.
    pub fn count(&self, what: Selector, dicts: &Dictionaries) -> u64 {
        // A dictionary's terms are numbered consecutively.
        let range = match what {
            Selector::Term(t) => t.0..t.0.saturating_add(1),
            Selector::Dictionary(d) => dicts.ranges.get(d.0 as usize).cloned().unwrap_or(0..0),
        };
        let from = self.counts.partition_point(|&(t, _)| t < range.start);
        self.counts[from..]
            .iter()
            .take_while(|&&(t, _)| t < range.end)
            .map(|&(_, c)| u64::from(c))
            .sum()
    }

    /// Exact number of hits over all terms.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|&(_, c)| u64::from(c)).sum()
    }

    /// `(term, count)` for every term with at least one hit.
    pub fn term_counts(&self) -> impl Iterator<Item = (TermId, u32)> + '_ {
        self.counts.iter().map(|&(t, c)| (TermId(t), c))
    }

    /// All recorded hits, sorted by offset.
    pub fn all(&self) -> &[TermHit] {
        &self.hits
    }

    /// Recorded hits of a term or dictionary, sorted by offset.
    pub fn iter<'a>(
        &'a self,
        what: Selector,
        dicts: &'a Dictionaries,
    ) -> impl Iterator<Item = TermHit> + 'a {
        self.hits.iter().copied().filter(move |h| match what {
            Selector::Term(t) => h.term == t,
            Selector::Dictionary(d) => dicts.dictionary_of(h.term) == d,
        })
    }

    /// Byte spans of a term or dictionary, for [`proximity::within`].
    pub fn spans(&self, what: Selector, dicts: &Dictionaries) -> Vec<(usize, usize)> {
        self.iter(what, dicts).map(|h| (h.start, h.end)).collect()
    }

    /// Whether the text was longer than [`MAX_SCAN_BYTES`] or had more than [`MAX_HITS`] hits.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}
