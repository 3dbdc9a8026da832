//! Proximity between two sets of matches: "A within N words of B", for dictionary terms, whole
//! dictionaries and regexes alike (they all give byte spans of the same text).
//!
//! Words are the word tokens of the text (runs of letters and digits). The distance between two
//! matches is the number of word positions from the last word of the earlier one to the first word
//! of the later one: adjacent words are 1 apart, "A x y B" is 3, overlapping matches are 0. Two
//! matches are within N words when that distance is at most N. A match is never near itself, so
//! "A within N words of A" needs two occurrences of A.

use super::text::word_ranges;

/// Largest accepted N (words); larger values are clamped to it.
pub const MAX_PROXIMITY_WORDS: u32 = 10_000;

/// Whether some span of `a` lies within `words` words of a different span of `b` in `text`.
/// Returns the first such pair (byte spans) found, scanning `a` in order.
pub fn within(
    text: &str,
    a: &[(usize, usize)],
    b: &[(usize, usize)],
    words: u32,
) -> Option<((usize, usize), (usize, usize))> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let n = i64::from(words.min(MAX_PROXIMITY_WORDS));
    let all: Vec<(usize, usize)> = a.iter().chain(b.iter()).copied().collect();
    let ranges = word_ranges(text, &all);
    let (ra, rb) = ranges.split_at(a.len());
    // B sorted by first word, with its original index, for a bounded search per A.
    let mut order: Vec<usize> = (0..b.len()).collect();
    order.sort_unstable_by_key(|&j| rb[j].0);
    // Spans hold at most a few words; the longest B bounds how far back a B can start and still
    // reach an A.
    let longest = rb.iter().map(|r| (r.1 - r.0).max(0)).max().unwrap_or(0);
    for (i, &(af, al)) in ra.iter().enumerate() {
        let lo = af - n - longest;
        let from = order.partition_point(|&j| rb[j].0 < lo);
        for &j in &order[from..] {
            let (bf, bl) = rb[j];
            if bf > al + n {
                break;
            }
            if a[i] == b[j] {
                continue;
            }
            let gap = (bf - al).max(af - bl);
            if gap <= n {
                return Some((a[i], b[j]));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(text: &str, needle: &str, nth: usize) -> (usize, usize) {
        let s = text.match_indices(needle).nth(nth).map(|(i, _)| i).unwrap();
        (s, s + needle.len())
    }

    #[test]
    fn distance_counts_word_positions() {
        let t = "alpha x y beta, and gamma";
        let a = [span(t, "alpha", 0)];
        let b = [span(t, "beta", 0)];
        assert!(within(t, &a, &b, 3).is_some());
        assert!(within(t, &a, &b, 2).is_none());
        assert!(within(t, &b, &a, 3).is_some(), "symmetric");
        let g = [span(t, "gamma", 0)];
        assert!(within(t, &a, &g, 5).is_some());
        assert!(within(t, &a, &g, 4).is_none());
    }

    #[test]
    fn a_span_is_not_near_itself() {
        let t = "secret here, later secret";
        let s = [span(t, "secret", 0), span(t, "secret", 1)];
        assert!(within(t, &s[..1], &s[..1], 100).is_none());
        assert!(within(t, &s, &s, 3).is_some());
        assert!(within(t, &s, &s, 2).is_none());
        assert!(within(t, &[], &s, 2).is_none());
    }

    #[test]
    fn multi_word_spans_measure_from_their_edges() {
        let t = "project falcon budget x y strictly confidential";
        let a = [span(t, "project falcon", 0)];
        let b = [span(t, "strictly confidential", 0)];
        assert!(within(t, &a, &b, 4).is_some());
        assert!(within(t, &a, &b, 3).is_none());
        assert!(within(t, &b, &a, 4).is_some());
        // Overlapping spans are 0 apart.
        let c = [span(t, "falcon budget", 0)];
        assert!(within(t, &a, &c, 0).is_some());
    }
}
