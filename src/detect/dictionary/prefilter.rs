//! The word scan's prefilter: which ASCII word tokens could be the first word of a head, judged
//! from their first [`PREFIX`] bytes alone (ASCII letters in any case), so that the SIMD scan in
//! `token` can skip every other token of an ASCII block without looking it up.
//!
//! How: the first bytes of every ASCII head word go into one of [`BUCKETS`] buckets (grouped so
//! that each accepts few other byte triples); per prefix position, two 16-entry tables give the buckets a byte's low and high
//! nibble may belong to, and a token is a candidate when some bucket accepts all of its first
//! bytes, the nibble-table test of Teddy (Hyperscan, the aho-corasick crate). It is conservative:
//! a token it rejects spells no ASCII head word in any case; one it accepts may still be no head
//! (the exact lookup in `scan` decides).
//!
//! Does not: look at tokens with non-ASCII bytes (those always get the exact lookup) or at heads of
//! marks only (their automaton runs on its own).

/// Bytes of a token's start that the prefilter looks at.
pub(crate) const PREFIX: usize = 3;
/// Buckets of head prefixes (one bit each in the table entries).
pub(crate) const BUCKETS: usize = 8;

/// Nibble tables over the ASCII head words of a set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Prefilter {
    /// Per prefix position, the buckets a byte (after `| 0x20`, which lower-cases ASCII letters and
    /// leaves digits alone) may be in, by its low nibble.
    pub(crate) lo: [[u8; 16]; PREFIX],
    /// The same by its high nibble.
    pub(crate) hi: [[u8; 16]; PREFIX],
}

impl Prefilter {
    /// Tables for these head words (lower-case ASCII letters and digits, at least one byte each).
    pub(crate) fn new<'a>(words: impl IntoIterator<Item = &'a [u8]>) -> Prefilter {
        // A head word's first PREFIX bytes; None past its end (any byte may follow there).
        let mut keys: Vec<[Option<u8>; PREFIX]> = words
            .into_iter()
            .filter(|w| !w.is_empty())
            .map(|w| std::array::from_fn(|k| w.get(k).map(|b| b | 0x20)))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let mut pre = Prefilter::default();
        for (bit, group) in buckets(&keys).iter().enumerate() {
            for k in 0..PREFIX {
                for n in 0..16 {
                    if group.lo[k] >> n & 1 != 0 {
                        pre.lo[k][n] |= 1 << bit;
                    }
                    if group.hi[k] >> n & 1 != 0 {
                        pre.hi[k][n] |= 1 << bit;
                    }
                }
            }
        }
        pre
    }

    /// The test the SIMD scan makes, on a token's first bytes (zero past the text's end): whether
    /// the token may spell an ASCII head word.
    #[cfg(test)]
    pub(crate) fn passes(&self, first: [u8; PREFIX]) -> bool {
        let mut acc = 0xFF;
        for (k, b) in first.iter().enumerate() {
            let x = b | 0x20;
            acc &= self.lo[k][usize::from(x & 0x0F)] & self.hi[k][usize::from(x >> 4)];
        }
        acc != 0
    }
}

/// Most groups the bucket assignment starts from (it merges pairs, cubic in this: about 10^5
/// unions at 64).
const MAX_GROUPS: usize = 64;

/// A set of head prefixes as the tables see it: per position, the low and high nibbles allowed.
#[derive(Debug, Clone, Copy, Default)]
struct Group {
    lo: [u16; PREFIX],
    hi: [u16; PREFIX],
}

impl Group {
    fn of(key: &[Option<u8>; PREFIX]) -> Group {
        let mut g = Group::default();
        for (k, b) in key.iter().enumerate() {
            (g.lo[k], g.hi[k]) = match b {
                Some(b) => (1 << (b & 0x0F), 1 << (b >> 4)),
                None => (0xFFFF, 0xFFFF),
            };
        }
        g
    }

    fn union(self, o: Group) -> Group {
        Group {
            lo: std::array::from_fn(|k| self.lo[k] | o.lo[k]),
            hi: std::array::from_fn(|k| self.hi[k] | o.hi[k]),
        }
    }

    /// How many byte triples the group accepts: the false positives it lets through, roughly.
    fn volume(&self) -> i64 {
        (0..PREFIX)
            .map(|k| i64::from(self.lo[k].count_ones() * self.hi[k].count_ones()))
            .product()
    }
}

/// Puts the prefixes into at most [`BUCKETS`] groups accepting few other triples: prefixes with the
/// same first bytes start together (so that a set of any size starts from at most [`MAX_GROUPS`]),
/// then the pair of groups whose union grows the accepted volume least is merged, until few
/// enough are left.
fn buckets(keys: &[[Option<u8>; PREFIX]]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for shared in (0..=PREFIX).rev() {
        groups.clear();
        let mut last: Option<&[Option<u8>]> = None;
        for key in keys {
            // Keys are sorted: those sharing their first `shared` bytes are neighbours.
            let g = Group::of(key);
            match (last, groups.last_mut()) {
                (Some(l), Some(prev)) if l == &key[..shared] => *prev = prev.union(g),
                _ => groups.push(g),
            }
            last = Some(&key[..shared]);
        }
        if groups.len() <= MAX_GROUPS {
            break;
        }
    }
    while groups.len() > BUCKETS {
        let mut best = (i64::MAX, 0, 1);
        for i in 0..groups.len() {
            for j in i + 1..groups.len() {
                // Negative when the two overlap a lot.
                let grow =
                    groups[i].union(groups[j]).volume() - groups[i].volume() - groups[j].volume();
                if grow < best.0 {
                    best = (grow, i, j);
                }
            }
        }
        let (_, i, j) = best;
        let merged = groups.swap_remove(j);
        groups[i] = groups[i].union(merged);
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pre(words: &[&str]) -> Prefilter {
        Prefilter::new(words.iter().map(|w| w.as_bytes()))
    }

    #[test]
    fn head_words_pass_in_any_case() {
        let p = pre(&["confidential", "for", "do", "x", "3des"]);
        for t in [
            "con", "CON", "Con", "for", "FOR", "do ", "DO\n", "dO,", "x\0\0", "X-y", "3de",
        ] {
            let b = t.as_bytes();
            assert!(p.passes([b[0], b[1], b[2]]), "{t:?}");
        }
    }

    #[test]
    fn ordinary_words_mostly_do_not() {
        let p = pre(&["confidential", "strictly", "internal", "for", "not", "do"]);
        for t in [
            "the", "and", "wit", "our", "rev", "qua", "sho", "gro", "you",
        ] {
            let b = t.as_bytes();
            assert!(!p.passes([b[0], b[1], b[2]]), "{t:?}");
        }
    }

    #[test]
    fn every_word_of_a_large_set_passes() {
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let words: Vec<String> = (0..3000)
            .map(|i| {
                let len = 1 + i % 9;
                (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        b"abcdefghijklmnopqrstuvwxyz0123456789"[(x % 36) as usize] as char
                    })
                    .collect()
            })
            .collect();
        let p = pre(&words.iter().map(String::as_str).collect::<Vec<_>>());
        for w in &words {
            let b = w.as_bytes();
            let first = std::array::from_fn(|k| b.get(k).map_or(b' ', u8::to_ascii_uppercase));
            assert!(p.passes(first), "{w}");
        }
    }

    #[test]
    fn no_head_words_pass_nothing() {
        let p = pre(&[]);
        assert!(!p.passes(*b"abc"));
        assert!(!p.passes([0, 0, 0]));
    }
}
