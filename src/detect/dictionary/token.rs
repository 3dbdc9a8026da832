//! Coarse word tokens over raw bytes, found 64 bytes at a time from a bitmask: a *coarse* token is a
//! maximal run of ASCII letters and digits and non-ASCII bytes. A coarse token without non-ASCII
//! bytes is exactly one word token (see `text`); one with non-ASCII bytes may hold several words
//! (or none) and is split exactly by the caller.
//!
//! On x86_64 the mask comes from SSE2 (part of every x86_64 CPU); elsewhere from 8-byte SWAR.
//!
//! [`for_each_candidate`] also skips the ASCII tokens a [`Prefilter`] rules out: with AVX2 (checked
//! at run time) the prefilter's nibble tables are applied to 32 bytes at a time, and in a 64-byte
//! block without non-ASCII bytes only the tokens that pass are reported (and a token running into
//! the next block, if non-ASCII bytes follow there). Without AVX2 it reports every token, as [`for_each`] does.

use super::prefilter::Prefilter;

/// Whether a byte belongs to a coarse token.
#[inline]
pub(crate) fn coarse_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80
}

/// Bit `i` set when `chunk[i]` belongs to a coarse token, and bit `i` set when it is non-ASCII.
#[inline]
fn masks(chunk: &[u8; 64]) -> (u64, u64) {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    {
        // SAFETY: SSE2 is enabled for this target (checked by the cfg above); the function only
        // reads the 64-byte array it is given.
        unsafe { sse2::masks(chunk) }
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
    {
        swar_masks(chunk)
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpgt_epi8, _mm_cmplt_epi8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set_epi64x, _mm_set1_epi8,
    };

    #[target_feature(enable = "sse2")]
    fn load(c: &[u8; 16]) -> __m128i {
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&c[..8]);
        hi.copy_from_slice(&c[8..]);
        _mm_set_epi64x(i64::from_le_bytes(hi), i64::from_le_bytes(lo))
    }

    /// (coarse word bytes, non-ASCII bytes) of 16 bytes.
    #[target_feature(enable = "sse2")]
    fn masks16(c: &[u8; 16]) -> (u64, u64) {
        let b = load(c);
        let l = _mm_or_si128(b, _mm_set1_epi8(0x20));
        // Signed compares: bytes >= 0x80 are negative and fail both ranges.
        let letter = _mm_and_si128(
            _mm_cmpgt_epi8(l, _mm_set1_epi8(b'a' as i8 - 1)),
            _mm_cmplt_epi8(l, _mm_set1_epi8(b'z' as i8 + 1)),
        );
        let digit = _mm_and_si128(
            _mm_cmpgt_epi8(b, _mm_set1_epi8(b'0' as i8 - 1)),
            _mm_cmplt_epi8(b, _mm_set1_epi8(b'9' as i8 + 1)),
        );
        let high = _mm_movemask_epi8(b) as u32 as u64;
        let ascii = _mm_movemask_epi8(_mm_or_si128(letter, digit)) as u32 as u64;
        (ascii | high, high)
    }

    #[target_feature(enable = "sse2")]
    pub(super) fn masks(chunk: &[u8; 64]) -> (u64, u64) {
        let (mut word, mut high) = (0, 0);
        for (i, c) in chunk.as_chunks::<16>().0.iter().enumerate() {
            let (w, h) = masks16(c);
            word |= w << (16 * i);
            high |= h << (16 * i);
        }
        (word, high)
    }
}

/// The portable version of [`masks`]: 8 bytes per step with bit tricks on a `u64`.
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn swar_masks(chunk: &[u8; 64]) -> (u64, u64) {
    const HI: u64 = 0x8080_8080_8080_8080;
    const fn splat(b: u8) -> u64 {
        0x0101_0101_0101_0101 * b as u64
    }
    /// The top bit of each byte of `x` (bytes 0 or 0x80) gathered into the low 8 bits.
    fn gather(x: u64) -> u64 {
        ((x >> 7).wrapping_mul(0x0102_0408_1020_4080)) >> 56
    }
    let (mut word, mut high) = (0, 0);
    for (i, c) in chunk.as_chunks::<8>().0.iter().enumerate() {
        let x = u64::from_le_bytes(*c);
        let h = x & HI;
        // Low 7 bits of each byte; adding at most 0x50 never carries into the next byte.
        let y = x & !HI;
        let ge = |v: u64, lo: u8| (v + splat(0x80 - lo)) & HI;
        let digit = ge(y, b'0') & !ge(y, b'9' + 1);
        let l = y | splat(0x20);
        let letter = ge(l, b'a') & !ge(l, b'z' + 1);
        let w = (digit | letter) & !h;
        word |= gather(w | h) << (8 * i);
        high |= gather(h) << (8 * i);
    }
    (word, high)
}

/// Calls `f(start, end, non_ascii)` for every coarse token of `hay`, in order.
#[inline]
pub(crate) fn for_each(hay: &[u8], mut f: impl FnMut(usize, usize, bool)) {
    let mut prev = 0u64;
    let mut base = 0;
    let (body, tail) = hay.as_chunks::<64>();
    let mut pad = [0u8; 64];
    pad[..tail.len()].copy_from_slice(tail);
    for chunk in body.iter().chain((!tail.is_empty()).then_some(&pad)) {
        let (m, high) = masks(chunk);
        let starts = m & !((m << 1) | prev);
        prev = m >> 63;
        walk(hay, base, m, high, starts, &mut f);
        base += 64;
    }
}

/// Calls `f(start, end, non_ascii)`, in order, for every coarse token of `hay` that has non-ASCII
/// bytes or passes `pre`, and possibly for others (see the module docs).
#[inline]
pub(crate) fn for_each_candidate(hay: &[u8], pre: &Prefilter, f: impl FnMut(usize, usize, bool)) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { avx2::for_each(hay, pre, f) };
            return;
        }
    }
    let _ = pre;
    for_each(hay, f)
}

/// Reports the tokens of one 64-byte block at `base` whose starts are in `select` (`m`: coarse
/// word bytes, `high`: non-ASCII bytes).
#[inline(always)]
fn walk(
    hay: &[u8],
    base: usize,
    m: u64,
    high: u64,
    mut select: u64,
    f: &mut impl FnMut(usize, usize, bool),
) {
    while select != 0 {
        let off = select.trailing_zeros();
        select &= select - 1;
        let run = (!(m >> off)).trailing_zeros();
        let start = base + off as usize;
        if off + run < 64 {
            let bits = ((1u64 << run) - 1) << off;
            f(start, start + run as usize, high & bits != 0);
        } else {
            let end = finish(hay, base + 64);
            let non_ascii = hay[start..end].iter().any(|&b| b >= 0x80);
            f(start, end, non_ascii);
        }
    }
}

/// The end of a token that runs on at `from` (the start of the next chunk): found byte by byte.
#[inline]
fn finish(hay: &[u8], mut from: usize) -> usize {
    while from < hay.len() && coarse_word(hay[from]) {
        from += 1;
    }
    from.min(hay.len())
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{
        __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_cmpgt_epi8, _mm256_loadu_si256,
        _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8, _mm256_setzero_si256,
        _mm256_shuffle_epi8, _mm256_srli_epi16,
    };

    use super::super::prefilter::{PREFIX, Prefilter};
    use super::{finish, walk};

    /// Bytes read for one 64-byte block: the block and the prefix bytes of a token starting at
    /// its last byte.
    const WINDOW: usize = 64 + PREFIX - 1;

    /// The prefilter's tables, each 16-byte table in both 128-bit lanes (for `vpshufb`).
    struct Tables {
        lo: [__m256i; PREFIX],
        hi: [__m256i; PREFIX],
    }

    #[target_feature(enable = "avx2")]
    fn table(t: &[u8; 16]) -> __m256i {
        let mut both = [0u8; 32];
        both[..16].copy_from_slice(t);
        both[16..].copy_from_slice(t);
        // SAFETY: reads the 32 bytes of `both`.
        unsafe { _mm256_loadu_si256(both.as_ptr().cast()) }
    }

    /// (coarse word bytes, non-ASCII bytes, prefilter candidates) of the 32 bytes at `w[at..]`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn half(w: &[u8; WINDOW], at: usize, t: &Tables) -> (u64, u64, u64) {
        debug_assert!(at + PREFIX - 1 + 32 <= WINDOW);
        // SAFETY: `at` is 0 or 32, so each load of 32 bytes from `at + k` (k < PREFIX) stays
        // inside the WINDOW bytes of `w`.
        let load = |k: usize| unsafe { _mm256_loadu_si256(w.as_ptr().add(at + k).cast()) };
        let b = load(0);
        let case = _mm256_set1_epi8(0x20);
        let l = _mm256_or_si256(b, case);
        // Signed compares: bytes >= 0x80 are negative and fail both ranges.
        let letter = _mm256_and_si256(
            _mm256_cmpgt_epi8(l, _mm256_set1_epi8(b'a' as i8 - 1)),
            _mm256_cmpgt_epi8(_mm256_set1_epi8(b'z' as i8 + 1), l),
        );
        let digit = _mm256_and_si256(
            _mm256_cmpgt_epi8(b, _mm256_set1_epi8(b'0' as i8 - 1)),
            _mm256_cmpgt_epi8(_mm256_set1_epi8(b'9' as i8 + 1), b),
        );
        let high = _mm256_movemask_epi8(b) as u32 as u64;
        let word = _mm256_movemask_epi8(_mm256_or_si256(letter, digit)) as u32 as u64 | high;
        let nibble = _mm256_set1_epi8(0x0F);
        let mut acc = _mm256_set1_epi8(-1);
        for k in 0..PREFIX {
            let x = if k == 0 {
                l
            } else {
                _mm256_or_si256(load(k), case)
            };
            let lo = _mm256_shuffle_epi8(t.lo[k], _mm256_and_si256(x, nibble));
            let hi =
                _mm256_shuffle_epi8(t.hi[k], _mm256_and_si256(_mm256_srli_epi16(x, 4), nibble));
            acc = _mm256_and_si256(acc, _mm256_and_si256(lo, hi));
        }
        let none = _mm256_movemask_epi8(_mm256_cmpeq_epi8(acc, _mm256_setzero_si256()));
        (word, high, u64::from(!(none as u32)))
    }

    /// [`super::for_each_candidate`] with AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) fn for_each<F: FnMut(usize, usize, bool)>(hay: &[u8], pre: &Prefilter, mut f: F) {
        let t = Tables {
            lo: std::array::from_fn(|k| table(&pre.lo[k])),
            hi: std::array::from_fn(|k| table(&pre.hi[k])),
        };
        let mut prev = 0u64;
        let mut base = 0;
        // The last blocks (fewer than WINDOW bytes left), copied once and padded with zeros.
        let mut pad = [0u8; 64 + WINDOW];
        let mut pad_from = None;
        // A token that started in an earlier block and is skipped unless its rest is non-ASCII.
        let mut pending: Option<usize> = None;
        while base < hay.len() {
            let w: &[u8; WINDOW] = match hay.get(base..).and_then(|r| r.first_chunk()) {
                Some(w) => w,
                None => {
                    let from = *pad_from.get_or_insert_with(|| {
                        let rest = &hay[base..];
                        pad[..rest.len()].copy_from_slice(rest);
                        base
                    });
                    // At most 64 + WINDOW - 1 bytes were left, so this window fits in `pad`.
                    match pad[base - from..].first_chunk() {
                        Some(w) => w,
                        None => return,
                    }
                }
            };
            let (m0, h0, c0) = half(w, 0, &t);
            let (m1, h1, c1) = half(w, 32, &t);
            let m = m0 | m1 << 32;
            let high = h0 | h1 << 32;
            let starts = m & !((m << 1) | prev);
            prev = m >> 63;
            if let Some(start) = pending.take() {
                // The rest of a token the prefilter ruled out while it was ASCII.
                let run = (!m).trailing_zeros();
                let rest = u64::MAX.checked_shr(64 - run).unwrap_or(0);
                if high & rest != 0 {
                    let end = if run < 64 {
                        base + run as usize
                    } else {
                        finish(hay, base + 64)
                    };
                    f(start, end, true);
                } else if run == 64 {
                    pending = Some(start);
                }
            }
            let select = if high != 0 {
                starts
            } else {
                let select = starts & (c0 | c1 << 32);
                if m >> 63 != 0 && starts != 0 {
                    // The last token runs into the next block, where it may take non-ASCII
                    // bytes: unless it is a candidate already, watch its rest there.
                    let last = 63 - starts.leading_zeros();
                    if select >> last & 1 == 0 {
                        pending = Some(base + last as usize);
                    }
                }
                select
            };
            walk(hay, base, m, high, select, &mut f);
            base += 64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(hay: &[u8]) -> Vec<(usize, usize, bool)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < hay.len() {
            if !coarse_word(hay[i]) {
                i += 1;
                continue;
            }
            let s = i;
            while i < hay.len() && coarse_word(hay[i]) {
                i += 1;
            }
            out.push((s, i, hay[s..i].iter().any(|&b| b >= 0x80)));
        }
        out
    }

    fn tokens(hay: &[u8]) -> Vec<(usize, usize, bool)> {
        let mut out = Vec::new();
        for_each(hay, |s, e, n| out.push((s, e, n)));
        out
    }

    #[test]
    fn masks_agree_with_the_byte_rule() {
        let mut chunk = [0u8; 64];
        for start in (0..256).step_by(64) {
            for (i, b) in chunk.iter_mut().enumerate() {
                *b = (start + i) as u8;
            }
            let (w, h) = swar_masks(&chunk);
            assert_eq!((w, h), masks(&chunk));
            for (i, &b) in chunk.iter().enumerate() {
                assert_eq!(w >> i & 1 == 1, coarse_word(b), "byte {b:#x}");
                assert_eq!(h >> i & 1 == 1, b >= 0x80, "byte {b:#x}");
            }
        }
    }

    #[test]
    fn tokens_across_chunk_edges_and_the_tail() {
        let long = "x".repeat(150);
        let t = format!("{long} ab, é{long}é z");
        assert_eq!(tokens(t.as_bytes()), naive(t.as_bytes()));
        assert_eq!(tokens(b""), []);
        assert_eq!(tokens(b"a"), [(0, 1, false)]);
        let exact64 = "y".repeat(64);
        assert_eq!(tokens(exact64.as_bytes()), [(0, 64, false)]);
    }

    /// Checks `for_each_candidate` against the naive split: every token it reports is a real token,
    /// in order, and it reports every token with non-ASCII bytes or passing the prefilter.
    fn check_candidates(hay: &[u8], pre: &Prefilter) {
        let all = naive(hay);
        let mut got = Vec::new();
        for_each_candidate(hay, pre, |s, e, n| got.push((s, e, n)));
        let mut rest = all.iter();
        for t in &got {
            assert!(
                rest.any(|a| a == t),
                "{t:?} is not a token, or out of order"
            );
        }
        for &(s, e, n) in &all {
            let first = std::array::from_fn(|k| hay.get(s + k).copied().unwrap_or(0));
            if n || pre.passes(first) {
                assert!(got.contains(&(s, e, n)), "missed {:?}", &hay[s..e]);
            }
        }
    }

    #[test]
    fn candidates_skip_only_ascii_tokens_the_prefilter_rules_out() {
        let pre = Prefilter::new([&b"confidential"[..], b"do", b"x"]);
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(
                [
                    "the ",
                    "CONFIDENTIAL ",
                    "do, ",
                    "X",
                    "dox ",
                    "é",
                    "ya-",
                    "…x ",
                ][i % 8],
            );
            text.push_str(&"q".repeat(i % 7));
        }
        for cut in 0..text.len() {
            if text.is_char_boundary(cut) {
                check_candidates(&text.as_bytes()[cut..], &pre);
            }
        }
        // A long ASCII token ending in a non-ASCII separator and a head word in the next block.
        let t = format!("{}\u{2026}confidential {}", "y".repeat(70), "z".repeat(60));
        check_candidates(t.as_bytes(), &pre);
        let mut got = Vec::new();
        for_each_candidate(t.as_bytes(), &pre, |s, e, n| got.push((s, e, n)));
        assert!(got.contains(&(0, 85, true)), "{got:?}");
        // Tokens over several blocks, with their first non-ASCII byte in the second or a later one.
        for (len, at) in [
            (150, 148),
            (150, 64),
            (200, 130),
            (128, 126),
            (128, 62),
            (190, 0),
        ] {
            let mut t = "y".repeat(len).into_bytes();
            t[at..at + 2].copy_from_slice("é".as_bytes());
            t.extend_from_slice(b" confidential");
            check_candidates(&t, &pre);
            let mut got = Vec::new();
            for_each_candidate(&t, &pre, |s, e, n| got.push((s, e, n)));
            assert_eq!(got.first(), Some(&(0, len, true)), "{len} {at}");
        }
        check_candidates(b"", &pre);
        check_candidates(b"x", &pre);
    }

    proptest! {
        #[test]
        fn candidates_cover_every_possible_head(
            words in prop::collection::vec("[a-z0-9]{1,5}", 0..12),
            raw in prop::collection::vec(
                prop::sample::select(vec![b'a', b'b', b'Z', b'0', b' ', b'-', b'\n', 0xC3, 0xA4, b'_', b'D', b'o']),
                0..400,
            ),
        ) {
            let pre = Prefilter::new(words.iter().map(|w| w.as_bytes()));
            check_candidates(&raw, &pre);
            let ascii: Vec<u8> = raw.iter().map(|&b| if b >= 0x80 { b' ' } else { b }).collect();
            check_candidates(&ascii, &pre);
        }

        #[test]
        fn tokens_match_a_naive_split(raw in prop::collection::vec(
            prop::sample::select(vec![b'a', b'Z', b'0', b' ', b'-', b'\n', 0xC3, 0xA4, b'_', 0xFF]),
            0..300,
        )) {
            prop_assert_eq!(tokens(&raw), naive(&raw));
        }
    }
}
