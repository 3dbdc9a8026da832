//! The compiled lookup structure of a dictionary set: terms grouped by *head* (the first
//! whitespace-separated word of a term), each head split into marks before its first word token,
//! the word itself and the rest; heads found by that word, through a bit filter and a small table
//! for ASCII words and a map of folded words for the rest. Heads with no letter or digit at all go
//! to a small Aho-Corasick automaton instead.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::prefilter::Prefilter;
use super::text;
use super::{DefinitionError, MAX_CASE_VARIANTS};

/// Bits in each first-word filter (a power of two; 64 Kibit = 8 KiB).
pub(super) const FILTER_BITS: usize = 1 << 16;

/// The filter bit of a word token's first three bytes as written, ASCII letters lower-cased
/// (bytes past the end count as zero): any spelling of a head's first word has one of the bits of
/// its spellings.
#[inline]
pub(super) fn prefix_bit(token: &[u8]) -> usize {
    let at = |i: usize| u32::from(token.get(i).map_or(0, u8::to_ascii_lowercase));
    let x = at(0) | at(1) << 8 | at(2) << 16;
    (x.wrapping_mul(0x9E37_79B1) >> 16) as usize
}

/// Everything a scan needs to find the heads of a set.
#[derive(Debug, Clone)]
pub(crate) struct Index {
    /// Which ASCII word tokens may be the first word of a head, for the SIMD scan.
    pub(super) prefilter: Prefilter,
    /// Bit per [`key`] of the ASCII first word of some head.
    pub(super) filter: Vec<u64>,
    /// Bit per [`prefix_bit`] of every spelling of every head's first word (for tokens with
    /// non-ASCII bytes), unless `fold_all`.
    pub(super) prefix_filter: Vec<u64>,
    /// Some head compares under full case folding: every non-ASCII token must be folded.
    pub(super) fold_all: bool,
    /// [`key`] -> heads whose first word is ASCII.
    pub(super) by_key: HashMap<u16, Box<[u32]>, BuildHasherDefault<KeyHasher>>,
    /// Folded first word -> heads (every head with a first word).
    pub(super) by_word: HashMap<Box<str>, Box<[u32]>>,
    pub(super) heads: Vec<Head>,
    /// Heads without a word character, on the raw text.
    pub(super) marks: Option<Marks>,
}

/// Heads made only of marks (no letter or digit): matched by an automaton over the raw bytes.
#[derive(Debug, Clone)]
pub(crate) struct Marks {
    pub(super) ac: AhoCorasick,
    /// The head of each pattern.
    pub(super) pattern_head: Vec<u32>,
}

/// Terms sharing a first (whitespace-separated) word, folded: `prefix` + `word` + `suffix`.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    /// Marks before the first word token (`#` of `#include`); may be empty.
    pub(super) prefix: Box<str>,
    /// The first word token (letters and digits); empty for a head of marks only.
    pub(super) word: Box<str>,
    /// The rest of the head after that word (`&l` of `p&l`); may be empty.
    pub(super) suffix: Box<str>,
    /// Compare by full case folding: the head has more than [`MAX_CASE_VARIANTS`] spellings.
    pub(super) folded: bool,
    /// The head ends with a word character, so the text must not continue the word.
    pub(super) right_word: bool,
    pub(super) entries: Vec<Entry>,
}

/// One term under a head.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(super) term: u32,
    /// Folded words after the first (empty for a single word).
    pub(super) rest: Vec<Box<str>>,
    /// The last word ends with a word character.
    pub(super) right_word: bool,
}

/// The filter and table key of an ASCII word token: its length and first three bytes, lower-cased
/// (bytes past the end count as zero). Callers pass the token's bytes, at least one.
#[inline]
pub(super) fn key(token: &[u8]) -> u16 {
    let at = |i: usize| u32::from(token.get(i).copied().unwrap_or(0));
    key_of(at(0) | at(1) << 8 | at(2) << 16, token.len())
}

/// [`key`] from the little-endian bytes starting at the token (at least its first three, or all
/// of it when shorter; more are ignored) and its length.
#[inline]
pub(super) fn key_of(first: u32, len: usize) -> u16 {
    const KEEP: [u32; 4] = [0, 0xFF, 0xFFFF, 0xFF_FFFF];
    let x = ((first | 0x20_2020) & KEEP[len.min(3)]) | (len.min(255) as u32) << 24;
    (x.wrapping_mul(0x9E37_79B1) >> 16) as u16
}

/// Hashes a [`key`] (already well mixed) for the table.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u16(&mut self, n: u16) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Collects terms by head.
#[derive(Default)]
pub(crate) struct Builder {
    by_head: HashMap<String, usize>,
    heads: Vec<Head>,
}

impl Builder {
    /// Adds a term given as its folded words.
    pub(crate) fn add(&mut self, term: u32, words: &[String]) {
        let Some((first, rest)) = words.split_first() else {
            return;
        };
        let idx = match self.by_head.get(first) {
            Some(&i) => i,
            None => {
                let i = self.heads.len();
                self.heads.push(head(first));
                self.by_head.insert(first.clone(), i);
                i
            }
        };
        let last = words.last().map_or("", String::as_str);
        self.heads[idx].entries.push(Entry {
            term,
            rest: rest.iter().map(|w| w.as_str().into()).collect(),
            right_word: text::edge_is_word(last, false),
        });
    }

    pub(crate) fn build(self) -> Result<Index, DefinitionError> {
        let mut filter = vec![0u64; FILTER_BITS / 64];
        let mut prefix_filter = vec![0u64; FILTER_BITS / 64];
        let mut fold_all = false;
        let mut by_key: HashMap<u16, Vec<u32>, BuildHasherDefault<KeyHasher>> = HashMap::default();
        let mut by_word: HashMap<Box<str>, Vec<u32>> = HashMap::new();
        let mut patterns = Vec::new();
        let mut pattern_head = Vec::new();
        for (i, h) in self.heads.iter().enumerate() {
            let i = i as u32;
            if h.word.is_empty() {
                let head = format!("{}{}", h.prefix, h.suffix);
                for p in case_variants(&head).unwrap_or_else(|| vec![head.clone()]) {
                    patterns.push(p);
                    pattern_head.push(i);
                }
                continue;
            }
            if h.word.is_ascii() {
                let k = key(h.word.as_bytes());
                filter[usize::from(k) / 64] |= 1 << (k % 64);
                by_key.entry(k).or_default().push(i);
            }
            match case_variants(&h.word) {
                Some(spellings) if !h.folded => {
                    for w in spellings {
                        let bit = prefix_bit(w.as_bytes());
                        prefix_filter[bit / 64] |= 1 << (bit % 64);
                    }
                }
                _ => fold_all = true,
            }
            by_word.entry(h.word.clone()).or_default().push(i);
        }
        let marks = if patterns.is_empty() {
            None
        } else {
            // Marks have no ASCII letters, so no case-insensitive search is needed.
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::Standard)
                .build(&patterns)
                .map_err(|e| DefinitionError::Syntax(format!("dictionary automaton: {e}")))?;
            Some(Marks { ac, pattern_head })
        };
        let prefilter = Prefilter::new(
            self.heads
                .iter()
                .filter(|h| !h.word.is_empty() && h.word.is_ascii())
                .map(|h| h.word.as_bytes()),
        );
        Ok(Index {
            prefilter,
            filter,
            prefix_filter,
            fold_all,
            by_key: by_key.into_iter().map(|(k, v)| (k, v.into())).collect(),
            by_word: by_word.into_iter().map(|(k, v)| (k, v.into())).collect(),
            heads: self.heads,
            marks,
        })
    }
}

/// Splits a folded head into marks, first word token and rest.
fn head(first: &str) -> Head {
    let word_start = first
        .char_indices()
        .find(|(_, c)| c.is_alphanumeric())
        .map_or(first.len(), |(i, _)| i);
    let word_end = first[word_start..]
        .char_indices()
        .find(|(_, c)| !c.is_alphanumeric())
        .map_or(first.len(), |(i, _)| word_start + i);
    Head {
        prefix: first[..word_start].into(),
        word: first[word_start..word_end].into(),
        suffix: first[word_end..].into(),
        folded: case_variants(first).is_none(),
        right_word: text::edge_is_word(first, false),
        entries: Vec::new(),
    }
}

/// The case forms a text character may take for the folded character `c` of a head (besides `c`
/// itself): its single upper-case letter when that folds back to `c`, and `ẞ` for `ß`.
pub(super) fn other_case(c: char) -> [Option<char>; 2] {
    let mut up = c.to_uppercase();
    let upper = match (up.next(), up.next()) {
        (Some(u), None) if u != c && u.to_lowercase().eq(std::iter::once(c)) => Some(u),
        _ => None,
    };
    [upper, (c == 'ß').then_some('ẞ')]
}

/// Every spelling of a folded word with each cased non-ASCII letter in lower or upper case (ASCII
/// case is left to the comparison). None when there would be more than [`MAX_CASE_VARIANTS`].
fn case_variants(word: &str) -> Option<Vec<String>> {
    let mut out = vec![String::with_capacity(word.len())];
    for c in word.chars() {
        let mut forms = vec![c];
        if !c.is_ascii() {
            forms.extend(other_case(c).into_iter().flatten());
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
