//! Context and exclusion words: one case-insensitive Aho-Corasick automaton over every definition's
//! words (overlapping matches, so "checking account number" yields both phrases), searched lazily
//! and only in the windows around candidates, each byte at most once; and, for the message-level
//! scope (see `Shared`), once over a whole text.

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};

/// Longest context word, bytes.
const MAX_WORD: usize = 64;

/// Compiled context words with, per pattern, which definitions own it and how.
pub(crate) struct Words {
    ac: AhoCorasick,
    /// (definition, positive) per pattern.
    owners: Vec<Vec<(u16, bool)>>,
    /// Whether the pattern's first / last byte is a word byte (then a word boundary is required).
    edges: Vec<(bool, bool)>,
    max_len: usize,
}

pub(crate) struct WordsBuilder {
    words: Vec<Vec<u8>>,
    owners: Vec<Vec<(u16, bool)>>,
}

impl Words {
    pub(crate) fn builder() -> WordsBuilder {
        WordsBuilder {
            words: Vec::new(),
            owners: Vec::new(),
        }
    }
}

impl Words {
    /// Marks, per definition, whether a positive word of it occurs anywhere in `text` (whole
    /// words, as in the windows). `found` has one entry per definition.
    pub(crate) fn mark_present(&self, text: &[u8], found: &mut [bool]) {
        for m in self.ac.find_overlapping_iter(Input::new(text)) {
            let p = m.pattern().as_usize();
            if !self.whole_word(text, m.start(), m.end(), p) {
                continue;
            }
            for &(d, positive) in &self.owners[p] {
                if let Some(f) = found.get_mut(usize::from(d)) {
                    *f |= positive;
                }
            }
        }
    }

    /// Whether the match `start..end` of pattern `p` is not glued to a neighbouring letter or digit.
    fn whole_word(&self, text: &[u8], start: usize, end: usize, p: usize) -> bool {
        let (need_start, need_end) = self.edges[p];
        let glued_before = need_start && start > 0 && glues(text[start - 1]);
        let glued_after = need_end && end < text.len() && glues(text[end]);
        !glued_before && !glued_after
    }
}

pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// A byte that glues a context word to its neighbour. Unlike [`is_word`], `_` separates: field
/// names such as `aba_routing` or `ssn_last4` name their context words.
fn glues(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

impl WordsBuilder {
    pub(crate) fn add(&mut self, word: &str, def: u16, positive: bool) -> Result<(), String> {
        let w = word.trim().to_ascii_lowercase().into_bytes();
        if w.is_empty() || w.len() > MAX_WORD {
            return Err(format!(
                "context word {word:?} must be 1 to {MAX_WORD} bytes"
            ));
        }
        for v in line_break_variants(&w) {
            match self.words.iter().position(|x| *x == v) {
                Some(i) => self.owners[i].push((def, positive)),
                None => {
                    self.words.push(v);
                    self.owners.push(vec![(def, positive)]);
                }
            }
        }
        Ok(())
    }

    pub(crate) fn build(self) -> Result<Option<Words>, String> {
        if self.words.is_empty() {
            return Ok(None);
        }
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // A DFA: the windows are read byte by byte (overlapping search has no prefilter), and
            // the DFA is about twice as fast per byte as the NFA for a few hundred words.
            .kind(Some(AhoCorasickKind::DFA))
            .build(&self.words)
            .map_err(|e| format!("context words: {e}"))?;
        let edges = self
            .words
            .iter()
            .map(|w| {
                (
                    w.first().is_some_and(|&b| is_word(b)),
                    w.last().is_some_and(|&b| is_word(b)),
                )
            })
            .collect();
        let max_len = self.words.iter().map(Vec::len).max().unwrap_or(1);
        Ok(Some(Words {
            ac,
            owners: self.owners,
            edges,
            max_len,
        }))
    }
}

/// Most spaces of a phrase that are also tried as line breaks (3^n variants).
const MAX_BREAKABLE_SPACES: usize = 3;

/// A phrase as written and, for phrases of up to `MAX_BREAKABLE_SPACES` spaces, with each space
/// also as `\n` or `\r\n`: wrapped text splits "Social\nSecurity Number" across lines.
fn line_break_variants(w: &[u8]) -> Vec<Vec<u8>> {
    let spaces = w.iter().filter(|&&b| b == b' ').count();
    if spaces == 0 || spaces > MAX_BREAKABLE_SPACES {
        return vec![w.to_vec()];
    }
    let mut out: Vec<Vec<u8>> = vec![Vec::new()];
    for &b in w {
        if b == b' ' {
            out = out
                .into_iter()
                .flat_map(|v| {
                    [&b" "[..], b"\n", b"\r\n"].map(|sep| {
                        let mut x = v.clone();
                        x.extend_from_slice(sep);
                        x
                    })
                })
                .collect();
        } else {
            out.iter_mut().for_each(|v| v.push(b));
        }
    }
    out
}

/// Context words found so far in one text; ask in increasing order of candidate start.
pub(crate) struct Cache<'a> {
    words: Option<&'a Words>,
    text: &'a [u8],
    /// (start, end, pattern) of whole-word matches, nearly sorted by start.
    hits: Vec<(usize, usize, u32)>,
    scanned_to: usize,
    /// First hit that can still fall in a window (windows only move forward).
    first: usize,
    max_window: usize,
}

impl<'a> Cache<'a> {
    pub(crate) fn new(words: Option<&'a Words>, text: &'a [u8], max_window: usize) -> Cache<'a> {
        Cache {
            words,
            text,
            hits: Vec::new(),
            scanned_to: 0,
            first: 0,
            max_window,
        }
    }

    /// How near the nearest positive word of `def` within `from..to` is to the candidate
    /// `at..end`, if there is one (`from >= at - max_window`): smaller is nearer. A word before
    /// the candidate ranks ahead of any word after it (a label precedes its value: in "Routing
    /// number: 021000021 SSN 123-45-6789" the word "SSN" belongs to the next number), then bytes
    /// between word and candidate (0 when touching or overlapping). Also returns the fewest bytes
    /// between the candidate and any of its words, either side.
    pub(crate) fn nearest_positive(
        &mut self,
        def: u16,
        at: usize,
        end: usize,
        from: usize,
        to: usize,
    ) -> Option<((bool, usize), usize)> {
        let mut best: Option<((bool, usize), usize)> = None;
        for (s, e) in self.owned(def, true, at, from, to) {
            let rank = if s < at {
                (false, at.saturating_sub(e))
            } else {
                (true, s.saturating_sub(end))
            };
            best = Some(match best {
                None => (rank, rank.1),
                Some((r, b)) => (r.min(rank), b.min(rank.1)),
            });
        }
        best
    }

    /// Whether a positive word of `def` lies within `from..to` (same contract).
    pub(crate) fn positive(&mut self, def: u16, at: usize, from: usize, to: usize) -> bool {
        self.owned(def, true, at, from, to).next().is_some()
    }

    /// End of the last exclusion word of `def` lying within `from..to` (same contract).
    pub(crate) fn last_negative(
        &mut self,
        def: u16,
        at: usize,
        from: usize,
        to: usize,
    ) -> Option<usize> {
        self.owned(def, false, at, from, to).map(|(_, e)| e).max()
    }

    /// The (start, end) of every word of `def` of the given kind lying within `from..to`.
    fn owned(
        &mut self,
        def: u16,
        positive: bool,
        at: usize,
        from: usize,
        to: usize,
    ) -> impl Iterator<Item = (usize, usize)> + '_ {
        let to = to.min(self.text.len());
        let words = match self.words {
            Some(w) if from < to => {
                // Scanning from `at - max_window` (monotone, as candidates arrive sorted) leaves
                // no gaps whatever the window of each definition.
                let floor = at.saturating_sub(self.max_window);
                self.scan(w, floor, to);
                let stale = floor.saturating_sub(w.max_len);
                while self.first < self.hits.len() && self.hits[self.first].0 < stale {
                    self.first += 1;
                }
                Some(w)
            }
            _ => None,
        };
        let hits = match words {
            Some(_) => &self.hits[self.first..],
            None => &[],
        };
        hits.iter().filter_map(move |&(start, end, pat)| {
            let owned = start >= from
                && end <= to
                && words
                    .and_then(|w| w.owners.get(pat as usize))
                    .is_some_and(|o| o.iter().any(|&(d, p)| d == def && p == positive));
            owned.then_some((start, end))
        })
    }

    /// Makes sure every match lying within `from..to` is recorded.
    fn scan(&mut self, words: &Words, from: usize, to: usize) {
        if to <= self.scanned_to {
            return;
        }
        // Re-read a little before the old end so a word straddling it is found; keep only matches
        // ending past the old end (the others were recorded already).
        let (begin, keep_after) = if from > self.scanned_to {
            (from, from)
        } else {
            (
                self.scanned_to.saturating_sub(words.max_len - 1),
                self.scanned_to,
            )
        };
        let text = self.text;
        for m in words
            .ac
            .find_overlapping_iter(Input::new(text).range(begin..to))
        {
            if m.end() <= keep_after {
                continue;
            }
            if !words.whole_word(text, m.start(), m.end(), m.pattern().as_usize()) {
                continue;
            }
            self.hits.push((m.start(), m.end(), m.pattern().as_u32()));
        }
        self.scanned_to = to;
    }
}
