//! The EDM matcher (pure): finds table rows of which at least k columns' values appear within a
//! window of W words of a text.
//!
//! 1. Candidates: every word token of the text is hashed as a one-word text value; tokens whose hash
//!    is the first word of some multi-word cell are extended to n-grams of up to the longest cell's
//!    word count; runs of digit groups joined by number separators are hashed digits-only, for every
//!    sub-run. Only candidates whose hash is in the index are kept.
//! 2. Rows: a value in at most [`MAX_ANCHOR_ROWS`] rows proposes those rows; a more common value
//!    (a city, a gender) never proposes rows but still counts for rows proposed by another value.
//!    So a row is found only if one of its matched cells is distinctive.
//! 3. Window: per row, the occurrences are swept in text order; a hit is a set of occurrences of at
//!    least k distinct columns spanning at most W word positions. One hit per row (the one with
//!    the most columns, then the earliest).
//!
//! Limitation: one text occurrence can count for two columns of a row when both hold the same
//! value (first name = last name).

use std::collections::HashMap;

use super::normalize::{DOMAIN_NUMBER, DOMAIN_TEXT, NUMBER_SEPARATORS};
use super::{ColumnKind, Index};
use crate::detect::dictionary::text::{fold, tokens};
use crate::detect::{Confidence, Hit};

/// Default k: columns of one row that must appear.
pub const DEFAULT_MIN_COLUMNS: usize = 2;
/// Default W: the window, in words, that the matched values must fit in.
pub const DEFAULT_WINDOW_WORDS: usize = 30;
/// A value in more rows than this does not propose candidate rows on its own.
pub const MAX_ANCHOR_ROWS: usize = 64;
/// Most candidate rows examined per text.
pub const MAX_CANDIDATE_ROWS: usize = 10_000;
/// Most occurrences considered per candidate row.
pub const MAX_ROW_OCCURRENCES: usize = 256;
/// Most digit groups joined into one number ("+1 (555) 123-4567" is four).
pub const MAX_NUMBER_GROUPS: usize = 6;
/// Most digits in one number candidate.
pub const MAX_NUMBER_DIGITS: usize = 32;
/// Most distinct words whose hash is remembered per text.
pub const MAX_CACHED_WORDS: usize = 65_536;
/// Most text candidates found in the index kept per text.
pub const MAX_CANDIDATES: usize = 1_000_000;

/// Match-time parameters (a policy sets them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchParams {
    /// k: distinct columns of one row that must appear (clamped to 1..=columns).
    pub min_columns: usize,
    /// W: how many consecutive word positions the matched values must fit in (at least 1).
    pub window_words: usize,
}

impl Default for MatchParams {
    fn default() -> Self {
        MatchParams {
            min_columns: DEFAULT_MIN_COLUMNS,
            window_words: DEFAULT_WINDOW_WORDS,
        }
    }
}

/// A row found in a text. Carries no cell value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdmHit {
    /// Data row number in the imported table, from 1 (the header is not counted).
    pub row: u32,
    /// Matched column indexes, ascending.
    pub columns: Vec<usize>,
    /// Byte span of the text from the first to the last matched value.
    pub start: usize,
    pub end: usize,
}

impl EdmHit {
    /// The shared [`Hit`]: detector `edm:<name>`, evidence naming the row and columns only.
    pub fn to_hit(&self, index: &Index) -> Hit {
        let names: Vec<&str> = self
            .columns
            .iter()
            .filter_map(|&c| index.columns.get(c).map(|c| c.name.as_str()))
            .collect();
        Hit {
            detector: format!("edm:{}", index.name),
            start: self.start,
            end: self.end,
            confidence: Confidence::High,
            redacted: format!(
                "row {}: {} ({} of {} columns)",
                self.row,
                names.join(", "),
                names.len(),
                index.columns.len()
            ),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Cand {
    hash: u64,
    first: u32,
    last: u32,
    start: usize,
    end: usize,
}

/// Finds the rows of `index` present in `text` (see the module docs).
pub fn find(index: &Index, text: &str, params: MatchParams) -> Vec<EdmHit> {
    let k = params.min_columns.clamp(1, index.columns.len().max(1));
    let window = params.window_words.max(1) as u32;
    let toks: Vec<(usize, usize)> = tokens(text).collect();
    let cands = candidates(index, text, &toks);
    if cands.is_empty() {
        return Vec::new();
    }
    // Occurrences (row, column, candidate), from distinctive values first.
    let mut order: Vec<u32> = (0..cands.len() as u32).collect();
    order.sort_unstable_by_key(|&i| cands[i as usize].hash);
    let groups: Vec<&[u32]> = order
        .chunk_by(|&a, &b| cands[a as usize].hash == cands[b as usize].hash)
        .collect();
    let mut occ: Vec<(u32, u8, u32)> = Vec::new();
    let mut common = Vec::new();
    for g in &groups {
        let range = index.lookup(cands[g[0] as usize].hash);
        if range.len() > MAX_ANCHOR_ROWS {
            common.push((range, *g));
            continue;
        }
        for e in range {
            for &c in *g {
                occ.push((index.entry_rows[e], index.entry_cols[e], c));
            }
        }
    }
    let mut rows: Vec<u32> = occ.iter().map(|o| o.0).collect();
    rows.sort_unstable();
    rows.dedup();
    rows.truncate(MAX_CANDIDATE_ROWS);
    if let Some(&last) = rows.last() {
        occ.retain(|o| o.0 <= last);
    }
    for (range, g) in common {
        let entry_rows = &index.entry_rows[range.clone()];
        for &r in &rows {
            let from = entry_rows.partition_point(|&x| x < r);
            for (i, _) in entry_rows[from..]
                .iter()
                .enumerate()
                .take_while(|(_, x)| **x == r)
            {
                let col = index.entry_cols[range.start + from + i];
                for &c in g {
                    occ.push((r, col, c));
                }
            }
        }
    }
    occ.sort_unstable_by_key(|&(r, _, c)| (r, cands[c as usize].first, c));
    let mut hits: Vec<EdmHit> = occ
        .chunk_by(|a, b| a.0 == b.0)
        .filter_map(|row| best_window(row, &cands, k, window))
        .collect();
    hits.sort_unstable_by_key(|h| (h.start, h.row));
    hits
}

/// The best window of one row's occurrences (sorted by first word), if it has k columns.
fn best_window(row: &[(u32, u8, u32)], cands: &[Cand], k: usize, window: u32) -> Option<EdmHit> {
    let row = &row[..row.len().min(MAX_ROW_OCCURRENCES)];
    let mut best: Option<(u32, u64, usize, usize)> = None; // (columns, mask, start, end)
    for (a, &(_, _, ca)) in row.iter().enumerate() {
        let lo = cands[ca as usize].first;
        let (mut mask, mut start, mut end) = (0u64, usize::MAX, 0usize);
        for &(_, col, c) in &row[a..] {
            let cand = &cands[c as usize];
            if cand.first >= lo + window {
                break;
            }
            if cand.last >= lo + window {
                continue;
            }
            mask |= 1u64 << (col as u32 % 64);
            start = start.min(cand.start);
            end = end.max(cand.end);
        }
        let n = mask.count_ones();
        if n as usize >= k && best.is_none_or(|b| n > b.0) {
            best = Some((n, mask, start, end));
        }
    }
    let (_, mask, start, end) = best?;
    Some(EdmHit {
        row: row[0].0 + 1,
        columns: (0..64).filter(|c| mask & (1u64 << c) != 0).collect(),
        start,
        end,
    })
}

/// Text and number candidates whose hash is in the index.
fn candidates(index: &Index, text: &str, toks: &[(usize, usize)]) -> Vec<Cand> {
    let has = |kind| index.columns.iter().any(|c| c.kind == kind);
    let mut out = Vec::new();
    let mut scratch = Vec::with_capacity(64);
    let mut buf = String::with_capacity(64);
    let push = |out: &mut Vec<Cand>, hash: u64, i: usize, j: usize| {
        if out.len() < MAX_CANDIDATES && !index.lookup(hash).is_empty() {
            out.push(Cand {
                hash,
                first: i as u32,
                last: j as u32,
                start: toks[i].0,
                end: toks[j].1,
            });
        }
    };
    if has(ColumnKind::Text) {
        // Words repeat: each distinct spelling is hashed and looked up once per text.
        let mut seen: HashMap<&str, (u64, bool, bool)> = HashMap::new();
        for i in 0..toks.len() {
            let word = &text[toks[i].0..toks[i].1];
            let (h, found, head) = match seen.get(word) {
                Some(&v) => v,
                None => {
                    buf.clear();
                    push_folded(&mut buf, word);
                    let h = index.hash(DOMAIN_TEXT, buf.as_bytes(), &mut scratch);
                    let v = (
                        h,
                        !index.lookup(h).is_empty(),
                        index.max_tokens > 1 && index.is_head(h),
                    );
                    if seen.len() < MAX_CACHED_WORDS {
                        seen.insert(word, v);
                    }
                    v
                }
            };
            if found {
                push(&mut out, h, i, i);
            }
            if head {
                buf.clear();
                push_folded(&mut buf, word);
                for j in i + 1..toks.len().min(i + index.max_tokens) {
                    buf.push(' ');
                    push_folded(&mut buf, &text[toks[j].0..toks[j].1]);
                    let h = index.hash(DOMAIN_TEXT, buf.as_bytes(), &mut scratch);
                    push(&mut out, h, i, j);
                }
            }
        }
    }
    if has(ColumnKind::Number) {
        let digits = |t: (usize, usize)| text.as_bytes()[t.0..t.1].iter().all(u8::is_ascii_digit);
        let joined = |a: (usize, usize), b: (usize, usize)| {
            let gap = &text[a.1..b.0];
            (1..=2).contains(&gap.len()) && gap.chars().all(|c| NUMBER_SEPARATORS.contains(&c))
        };
        let mut i = 0;
        while i < toks.len() {
            if !digits(toks[i]) {
                i += 1;
                continue;
            }
            // A chain of digit groups i..=e.
            let mut e = i;
            while e + 1 < toks.len() && digits(toks[e + 1]) && joined(toks[e], toks[e + 1]) {
                e += 1;
            }
            for a in i..=e {
                buf.clear();
                for b in a..=e.min(a + MAX_NUMBER_GROUPS - 1) {
                    buf.push_str(&text[toks[b].0..toks[b].1]);
                    if buf.len() > MAX_NUMBER_DIGITS {
                        break;
                    }
                    let h = index.hash(DOMAIN_NUMBER, buf.as_bytes(), &mut scratch);
                    push(&mut out, h, a, b);
                }
            }
            i = e + 1;
        }
    }
    out
}

fn push_folded(buf: &mut String, token: &str) {
    if token.is_ascii() {
        buf.extend(token.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        buf.push_str(&fold(token));
    }
}
