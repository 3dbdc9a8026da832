//! The single scanning pass of a dictionary set: word tokens of the raw text looked up by their
//! first word (ASCII tokens through a bit filter, others case-folded), then the rest of each head,
//! whole-word checks and in-place phrase continuation. Heads made only of marks run on a small
//! automaton.

use std::collections::HashMap;

use super::index::{self, Head, Index};
use super::text::{self, skip_space, word_at};
use super::{Dictionaries, MAX_HITS, MAX_SCAN_BYTES, Scan, TermHit, TermId, token};

/// Hits and counts while scanning.
struct Out {
    hits: Vec<TermHit>,
    /// Counts of hits past [`MAX_HITS`] (not recorded), per term.
    overflow: HashMap<u32, u32>,
}

impl Out {
    fn record(&mut self, term: u32, start: usize, end: usize) {
        if self.hits.len() < MAX_HITS {
            self.hits.push(TermHit {
                start,
                end,
                term: TermId(term),
            });
        } else {
            let c = self.overflow.entry(term).or_insert(0);
            *c = c.saturating_add(1);
        }
    }
}

pub(super) fn scan(dicts: &Dictionaries, text: &str) -> Scan {
    let mut truncated = false;
    let text = if text.len() > MAX_SCAN_BYTES {
        truncated = true;
        let mut cut = MAX_SCAN_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        &text[..cut]
    } else {
        text
    };
    let mut out = Out {
        hits: Vec::new(),
        overflow: HashMap::new(),
    };
    let hay = text.as_bytes();
    let index = &dicts.index;
    if !index.by_word.is_empty() {
        words(index, text, &mut out);
    }
    if let Some(m) = &index.marks {
        marks(index, m, hay, &mut out);
    }
    out.hits.sort_unstable();
    let mut terms: Vec<u32> = out.hits.iter().map(|h| h.term.0).collect();
    terms.sort_unstable();
    let mut counts: Vec<(u32, u32)> = Vec::new();
    for t in terms {
        match counts.last_mut() {
            Some((last, c)) if *last == t => *c += 1,
            _ => counts.push((t, 1)),
        }
    }
    truncated |= !out.overflow.is_empty();
    for (t, n) in out.overflow {
        match counts.binary_search_by_key(&t, |&(x, _)| x) {
            Ok(i) => counts[i].1 = counts[i].1.saturating_add(n),
            Err(i) => counts.insert(i, (t, n)),
        }
    }
    Scan {
        hits: out.hits,
        counts,
        truncated,
    }
}

/// Every word token of `hay` looked up as the first word of a head.
fn words(index: &Index, text: &str, out: &mut Out) {
    let hay = text.as_bytes();
    let filter: &[u64] = &index.filter;
    let mut folded = String::new();
    token::for_each_candidate(
        hay,
        &index.prefilter,
        #[inline(always)]
        |start, end, non_ascii| {
            if non_ascii {
                split(index, text, start, end, &mut folded, out);
                return;
            }
            // An ASCII coarse token is exactly one word token.
            let k = match hay.get(start..start + 4) {
                Some(&[a, b, c, d]) => index::key_of(u32::from_le_bytes([a, b, c, d]), end - start),
                _ => index::key(&hay[start..end]),
            };
            if filter[usize::from(k) / 64] >> (k % 64) & 1 != 0 {
                ascii_word(index, hay, start, end, k, out);
            }
        },
    );
}

/// An ASCII word token that passed the filter: the heads with that first word.
#[inline(never)]
fn ascii_word(index: &Index, hay: &[u8], start: usize, end: usize, k: u16, out: &mut Out) {
    let Some(heads) = index.by_key.get(&k) else {
        return;
    };
    let tok = &hay[start..end];
    for &h in heads.iter() {
        let head = &index.heads[h as usize];
        if head.word.len() == tok.len() && tok.eq_ignore_ascii_case(head.word.as_bytes()) {
            follow_head(head, hay, start, end, out);
        }
    }
}

/// A coarse token with non-ASCII bytes: split exactly into word tokens; each that passes the
/// prefix filter is case-folded and looked up.
#[inline(never)]
fn split(index: &Index, text: &str, start: usize, end: usize, folded: &mut String, out: &mut Out) {
    let Some(coarse) = text.get(start..end) else {
        return; // a coarse token always starts and ends on char boundaries (ASCII or the ends)
    };
    let hay = text.as_bytes();
    let bytes = coarse.as_bytes();
    let mut from = None;
    let mut i = 0;
    // ASCII bytes of a coarse token are letters or digits; only non-ASCII characters can split it.
    while i <= bytes.len() {
        let (word, next) = match bytes.get(i) {
            Some(&b) if b < 0x80 => (true, i + 1),
            Some(_) => match coarse.get(i..).and_then(|r| r.chars().next()) {
                Some(c) => (text::word_char(c), i + c.len_utf8()),
                None => (false, i + 1),
            },
            None => (false, i + 1),
        };
        if word {
            from.get_or_insert(i);
        } else if let Some(s) = from.take() {
            let w = &coarse[s..i];
            let pass = index.fold_all || {
                let bit = index::prefix_bit(w.as_bytes());
                index.prefix_filter[bit / 64] >> (bit % 64) & 1 != 0
            };
            if pass {
                folded.clear();
                folded.extend(w.chars().flat_map(char::to_lowercase));
                lookup(index, hay, start + s, start + i, folded, out);
            }
        }
        i = next;
    }
}

/// A folded word token that passed the filter: the heads with that first word.
fn lookup(index: &Index, hay: &[u8], start: usize, end: usize, folded: &str, out: &mut Out) {
    let Some(heads) = index.by_word.get(folded) else {
        return;
    };
    let Ok(word) = std::str::from_utf8(&hay[start..end]) else {
        return; // token edges are char boundaries
    };
    for &h in heads.iter() {
        let head = &index.heads[h as usize];
        if same_word(word, &head.word, head.folded) {
            follow_head(head, hay, start, end, out);
        }
    }
}

/// Whether a text word spells a head's folded word: ASCII letters in any case; other letters as
/// written or in their other case (`ß`/`ẞ`), or under full case folding for a `folded` head.
fn same_word(word: &str, want: &str, folded: bool) -> bool {
    if folded {
        return text::eq_folded(word.as_bytes(), 0, want) == Some(word.len());
    }
    let mut a = word.chars();
    let mut b = want.chars();
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(c)) if same_char(x, c) => {}
            _ => return false,
        }
    }
}

/// Whether the text character `x` spells the folded head character `c` (without full folding).
#[inline]
fn same_char(x: char, c: char) -> bool {
    if c.is_ascii() {
        return x.eq_ignore_ascii_case(&c);
    }
    x == c || index::other_case(c).contains(&Some(x))
}

/// Whether the text character `x` spells `c` in either comparison mode.
fn same_char_in(x: char, c: char, folded: bool) -> bool {
    if folded {
        x.to_lowercase().eq(std::iter::once(c))
    } else {
        same_char(x, c)
    }
}

/// The text ending at `at` spells the marks `prefix`; returns where it starts.
fn match_before(hay: &[u8], mut at: usize, prefix: &str, folded: bool) -> Option<usize> {
    if prefix.is_ascii() {
        let start = at.checked_sub(prefix.len())?;
        return hay[start..at]
            .eq_ignore_ascii_case(prefix.as_bytes())
            .then_some(start);
    }
    for c in prefix.chars().rev() {
        let x = text::char_before(hay, at)?;
        if !same_char_in(x, c, folded) {
            return None;
        }
        at -= x.len_utf8();
    }
    Some(at)
}

/// The text from `at` spells `suffix`; returns where it ends.
fn match_after(hay: &[u8], mut at: usize, suffix: &str, folded: bool) -> Option<usize> {
    if suffix.is_ascii() {
        let end = at.checked_add(suffix.len())?;
        return hay
            .get(at..end)?
            .eq_ignore_ascii_case(suffix.as_bytes())
            .then_some(end);
    }
    if folded {
        return text::eq_folded(hay, at, suffix);
    }
    for c in suffix.chars() {
        let x = text::char_at(hay, at)?;
        if !same_char(x, c) {
            return None;
        }
        at += x.len_utf8();
    }
    Some(at)
}

/// The head's first word is the text word `start..end`: checks its marks and rest, then reports
/// every term of the head that follows.
#[inline]
fn follow_head(head: &Head, hay: &[u8], start: usize, end: usize, out: &mut Out) {
    let start = if head.prefix.is_empty() {
        start
    } else {
        match match_before(hay, start, &head.prefix, head.folded) {
            Some(s) => s,
            None => return,
        }
    };
    let end = if head.suffix.is_empty() {
        end // the word token ended: the next character is not a word character
    } else {
        match match_after(hay, end, &head.suffix, head.folded) {
            Some(e) if !(head.right_word && word_at(hay, e)) => e,
            _ => return,
        }
    };
    terms(head, hay, start, end, out);
}

/// Reports the terms of a head matched at `start..end`.
fn terms(head: &Head, hay: &[u8], start: usize, end: usize, out: &mut Out) {
    for entry in &head.entries {
        if entry.rest.is_empty() {
            out.record(entry.term, start, end);
        } else if let Some(e) = follow(hay, end, &entry.rest, entry.right_word) {
            out.record(entry.term, start, e);
        }
    }
}

/// Heads of marks only, found anywhere (they have no word boundary to respect).
fn marks(index: &Index, m: &index::Marks, hay: &[u8], out: &mut Out) {
    for found in m.ac.find_overlapping_iter(hay) {
        let Some(head) = m
            .pattern_head
            .get(found.pattern().as_usize())
            .and_then(|&h| index.heads.get(h as usize))
        else {
            continue;
        };
        terms(head, hay, found.start(), found.end(), out);
    }
}

/// Matches the remaining words of a phrase from `at` (the end of its first word): each word after a
/// non-empty whitespace run. Returns the end of the phrase.
fn follow(hay: &[u8], mut at: usize, rest: &[Box<str>], right_word: bool) -> Option<usize> {
    for word in rest {
        let next = skip_space(hay, at);
        if next == at {
            return None;
        }
        at = if word.is_ascii() {
            let end = next.checked_add(word.len())?;
            if !hay.get(next..end)?.eq_ignore_ascii_case(word.as_bytes()) {
                return None;
            }
            end
        } else {
            text::eq_folded(hay, next, word)?
        };
    }
    if right_word && word_at(hay, at) {
        return None;
    }
    Some(at)
}
