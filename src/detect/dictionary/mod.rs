//! Keyword dictionaries: named term lists compiled once into Aho-Corasick automata and matched in a
//! single pass over the original text, case-insensitively and as whole words, with per-term counts,
//! byte offsets and proximity ("A within N words of B").
//!
//! How one pass works: an ASCII-case-insensitive DFA runs over the raw bytes; each automaton
//! pattern is the *first word* of one or more terms, and the remaining words of a phrase are checked
//! in place right after the head match (any run of whitespace, line breaks included, between
//! words), so the text is never copied or normalised. Word boundaries are checked on the raw bytes
//! (`text`). A first word with non-ASCII letters (for example "Geschäftsgeheimnis") enters the
//! automaton in each upper/lower-case combination of those letters (at most
//! [`MAX_CASE_VARIANTS`]); later words are compared case-folded in place. Only a term whose first
//! word would need more variants goes to a second automaton over a case-folded copy of the text,
//! run only when such terms exist *and* the text is not pure ASCII.
//!
//! Overlapping terms all count: "strictly confidential" in the text counts once for the phrase and
//! once for "confidential" when both are terms.
//!
//! Does not: stem, match inside words, fold diacritics ("vertraulich" does not match "vertraulích"),
//! or apply special case mappings beyond `char::to_lowercase`.

pub mod definitions;
pub mod proximity;
mod scan;
#[cfg(test)]
mod tests;
pub(crate) mod text;

use std::collections::HashMap;
use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::detect::{Confidence, Hit};
pub use definitions::{DefinitionError, Definitions, DictionaryDef};

/// Longest text scanned in one call, in bytes; the rest is not scanned and [`Scan::truncated`] is set.
pub const MAX_SCAN_BYTES: usize = 1 << 30;
/// Most case spellings of one non-ASCII first word put into the automaton (2^4: four cased
/// non-ASCII letters); a word needing more is matched on a case-folded copy of the text instead.
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
    /// Over the raw text: every term whose first word has few enough case spellings.
    raw: Option<Automaton>,
    /// Over a case-folded copy of non-ASCII text: the other terms.
    folded: Option<Automaton>,
}

/// One automaton: patterns are spellings of distinct first words; what to check after each.
#[derive(Debug, Clone)]
pub(crate) struct Automaton {
    ac: AhoCorasick,
    /// The head of each pattern (several case spellings share one head).
    pattern_head: Vec<u32>,
    heads: Vec<Head>,
}

#[derive(Debug, Clone)]
struct Head {
    /// The head word starts (ends) with a word character, so the text must not continue the word.
    left_word: bool,
    right_word: bool,
    entries: Vec<Entry>,
}

#[derive(Debug, Clone)]
struct Entry {
    term: u32,
    /// Folded words after the first (empty for a single word).
    rest: Vec<Box<str>>,
    /// The last word ends with a word character.
    right_word: bool,
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
    /// Exact count per term.
    counts: Vec<u32>,
    truncated: bool,
}

impl Dictionaries {
    /// Compiles the dictionaries of a checked definition set.
    pub fn new(defs: &[DictionaryDef]) -> Result<Dictionaries, DefinitionError> {
        let mut names = Vec::with_capacity(defs.len());
        let mut ranges = Vec::with_capacity(defs.len());
        let mut terms = Vec::new();
        let mut term_dict = Vec::new();
        let mut direct = Builder::default();
        let mut folded_text = Builder::default();
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
                if !direct.add(id, &folded, true) {
                    folded_text.add(id, &folded, false);
                }
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
            raw: direct.build()?,
            folded: folded_text.build()?,
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
        match what {
            Selector::Term(t) => self.counts.get(t.0 as usize).copied().unwrap_or(0) as u64,
            Selector::Dictionary(d) => dicts
                .terms(d)
                .map(|t| self.counts.get(t.0 as usize).copied().unwrap_or(0) as u64)
                .sum(),
        }
    }

    /// Exact number of hits over all terms.
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|&c| c as u64).sum()
    }

    /// `(term, count)` for every term with at least one hit.
    pub fn term_counts(&self) -> impl Iterator<Item = (TermId, u32)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(t, &c)| (TermId(t as u32), c))
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

/// Collects terms by first word for one automaton.
#[derive(Default)]
struct Builder {
    heads: HashMap<String, usize>,
    patterns: Vec<String>,
    pattern_head: Vec<u32>,
    info: Vec<Head>,
}

impl Builder {
    /// Adds a term (folded words). With `variants`, the first word goes in every case spelling of
    /// its non-ASCII letters; returns false, adding nothing, when that needs more than
    /// [`MAX_CASE_VARIANTS`].
    fn add(&mut self, term: u32, words: &[String], variants: bool) -> bool {
        let Some((first, rest)) = words.split_first() else {
            return true;
        };
        let idx = match self.heads.get(first) {
            Some(&i) => i,
            None => {
                let spellings = if variants {
                    match case_variants(first) {
                        Some(v) => v,
                        None => return false,
                    }
                } else {
                    vec![first.clone()]
                };
                let i = self.info.len();
                self.info.push(Head {
                    left_word: text::edge_is_word(first, true),
                    right_word: text::edge_is_word(first, false),
                    entries: Vec::new(),
                });
                for p in spellings {
                    self.patterns.push(p);
                    self.pattern_head.push(i as u32);
                }
                self.heads.insert(first.clone(), i);
                i
            }
        };
        let last = words.last().map_or("", String::as_str);
        self.info[idx].entries.push(Entry {
            term,
            rest: rest.iter().map(|w| w.as_str().into()).collect(),
            right_word: text::edge_is_word(last, false),
        });
        true
    }

    fn build(self) -> Result<Option<Automaton>, DefinitionError> {
        if self.patterns.is_empty() {
            return Ok(None);
        }
        let builder = |kind| {
            AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(true)
                .kind(kind)
                .build(&self.patterns)
        };
        // A DFA too large for the automaton's limits falls back to the automatic choice (an NFA).
        let ac = builder(Some(AhoCorasickKind::DFA))
            .or_else(|_| builder(None))
            .map_err(|e| DefinitionError::Syntax(format!("dictionary automaton: {e}")))?;
        Ok(Some(Automaton {
            ac,
            pattern_head: self.pattern_head,
            heads: self.info,
        }))
    }
}

/// Every spelling of a folded word with each cased non-ASCII letter in lower or upper case (ASCII
/// case is left to the automaton). None when there would be more than [`MAX_CASE_VARIANTS`].
fn case_variants(word: &str) -> Option<Vec<String>> {
    let mut out = vec![String::with_capacity(word.len())];
    for c in word.chars() {
        let mut forms = vec![c];
        if !c.is_ascii() {
            let mut up = c.to_uppercase();
            if let (Some(u), None) = (up.next(), up.next())
                && u != c
                && u.to_lowercase().eq(std::iter::once(c))
            {
                forms.push(u);
            }
            if c == 'ß' {
                forms.push('ẞ');
            }
        }
        if out.len() * forms.len() > MAX_CASE_VARIANTS {
            return None;
        }
        out = out
            .iter()
            .flat_map(|s| {
                forms.iter().map(move |f| {
                    let mut s = s.clone();
                    s.push(*f);
                    s
                })
            })
            .collect();
    }
    Some(out)
}
