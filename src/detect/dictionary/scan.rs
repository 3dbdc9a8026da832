//! The single scanning pass of a dictionary set: automaton over the raw bytes, whole-word checks
//! and in-place phrase continuation; the case-folded copy only for non-ASCII terms on non-ASCII text.

use super::text::{self, skip_space, word_at, word_before};
use super::{Automaton, Dictionaries, MAX_HITS, MAX_SCAN_BYTES, Scan, TermHit, TermId};

pub(super) fn scan(dicts: &Dictionaries, text: &str) -> Scan {
    let mut out = Scan {
        hits: Vec::new(),
        counts: vec![0; dicts.terms.len()],
        truncated: false,
    };
    let text = if text.len() > MAX_SCAN_BYTES {
        out.truncated = true;
        let mut cut = MAX_SCAN_BYTES;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        &text[..cut]
    } else {
        text
    };
    if let Some(a) = &dicts.raw {
        run(a, text.as_bytes(), &mut |term, s, e| {
            record(&mut out, term, s, e)
        });
    }
    if let Some(a) = &dicts.folded
        && !text.is_ascii()
    {
        let (folded, map) = text::fold_with_map(text);
        run(a, &folded, &mut |term, s, e| {
            let (s, e) = text::unmap(&map, s, e, text);
            record(&mut out, term, s, e)
        });
    }
    out.hits.sort_unstable();
    out
}

fn record(out: &mut Scan, term: u32, start: usize, end: usize) {
    if let Some(c) = out.counts.get_mut(term as usize) {
        *c = c.saturating_add(1);
    }
    if out.hits.len() < MAX_HITS {
        out.hits.push(TermHit {
            start,
            end,
            term: TermId(term),
        });
    } else {
        out.truncated = true;
    }
}

/// Runs one automaton over `hay` and reports `(term, start, end)` for every whole-word match.
fn run(a: &Automaton, hay: &[u8], emit: &mut dyn FnMut(u32, usize, usize)) {
    for m in a.ac.find_overlapping_iter(hay) {
        let Some(head) = a
            .pattern_head
            .get(m.pattern().as_usize())
            .and_then(|&h| a.heads.get(h as usize))
        else {
            continue;
        };
        let (start, end) = (m.start(), m.end());
        if head.left_word && word_before(hay, start) {
            continue;
        }
        // A phrase needs whitespace after its first word, so this check is right for every entry.
        if head.right_word && word_at(hay, end) {
            continue;
        }
        for entry in &head.entries {
            if entry.rest.is_empty() {
                emit(entry.term, start, end);
            } else if let Some(e) = follow(hay, end, &entry.rest, entry.right_word) {
                emit(entry.term, start, e);
            }
        }
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
