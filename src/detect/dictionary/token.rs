//! Coarse word tokens over raw bytes, found 64 bytes at a time from a bitmask: a *coarse* token is a
//! maximal run of ASCII letters and digits and non-ASCII bytes. A coarse token without non-ASCII
//! bytes is exactly one word token (see `text`); one with non-ASCII bytes may hold several words
//! (or none) and is split exactly by the caller.
//!
//! On x86_64 the mask comes from SSE2 (part of every x86_64 CPU); elsewhere from 8-byte SWAR.

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
        let mut starts = m & !((m << 1) | prev);
        prev = m >> 63;
        while starts != 0 {
            let off = starts.trailing_zeros();
            starts &= starts - 1;
            let run = (!(m >> off)).trailing_zeros();
            let start = base + off as usize;
            if off + run < 64 {
                let bits = ((1u64 << run) - 1) << off;
                f(start, start + run as usize, high & bits != 0);
            } else {
                // The token runs into the next chunk: finish it byte by byte (the padded tail
                // always ends in non-word bytes, so this only happens in the body).
                let mut end = base + 64;
                while end < hay.len() && coarse_word(hay[end]) {
                    end += 1;
                }
                let non_ascii = hay[start..end].iter().any(|&b| b >= 0x80);
                f(start, end, non_ascii);
            }
        }
        base += 64;
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

    proptest! {
        #[test]
        fn tokens_match_a_naive_split(raw in prop::collection::vec(
            prop::sample::select(vec![b'a', b'Z', b'0', b' ', b'-', b'\n', 0xC3, 0xA4, b'_', 0xFF]),
            0..300,
        )) {
            prop_assert_eq!(tokens(&raw), naive(&raw));
        }
    }
}
