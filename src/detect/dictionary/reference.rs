//! The previous dictionary matcher (an overlapping Aho-Corasick automaton over every spelling of
//! each term's first word, plus a case-folded copy of the text for words with too many spellings),
//! kept as a test oracle: the word-token scan must report exactly the same hits.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use super::text::{self, skip_space, word_at, word_before};
use super::{DictionaryDef, MAX_CASE_VARIANTS};

/// Every hit `(start, end, term)` of the old matcher, sorted; terms numbered as in `Dictionaries`.
pub(super) fn hits(defs: &[DictionaryDef], text: &str) -> Vec<(usize, usize, u32)> {
    let mut direct = Builder::default();
    let mut folded_text = Builder::default();
    let mut id = 0u32;
    for d in defs {
        let mut seen = std::collections::HashSet::new();
        for raw in &d.terms {
            let folded: Vec<String> = raw.split_whitespace().map(text::fold).collect();
            if !seen.insert(folded.clone()) {
                continue;
            }
            if !direct.add(id, &folded, true) {
                folded_text.add(id, &folded, false);
            }
            id += 1;
        }
    }
    let mut out = Vec::new();
    if let Some(a) = direct.build() {
        run(&a, text.as_bytes(), &mut |t, s, e| out.push((s, e, t)));
    }
    if let Some(a) = folded_text.build()
        && !text.is_ascii()
    {
        let (folded, map) = text::fold_with_map(text);
        run(&a, &folded, &mut |t, s, e| {
            let (s, e) = text::unmap(&map, s, e, text);
            out.push((s, e, t))
        });
    }
    out.sort_unstable();
    out
}

struct Automaton {
    ac: AhoCorasick,
    pattern_head: Vec<u32>,
    heads: Vec<Head>,
}

struct Head {
    left_word: bool,
    right_word: bool,
    entries: Vec<Entry>,
}

struct Entry {
    term: u32,
    rest: Vec<Box<str>>,
    right_word: bool,
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

    fn build(self) -> Option<Automaton> {
        if self.patterns.is_empty() {
            return None;
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
            .ok()?;
        Some(Automaton {
            ac,
            pattern_head: self.pattern_head,
            heads: self.info,
        })
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
