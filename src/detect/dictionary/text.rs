//! Text primitives shared by the dictionary, regex and EDM detectors: what a word character and
//! whitespace are on raw UTF-8 bytes, word tokens, Unicode case folding (and, for the test oracle,
//! a folded copy with an offset map), and masking.
//!
//! A *word character* is a Unicode alphanumeric character (`char::is_alphanumeric`); everything else
//! (punctuation, `_`, symbols, whitespace) separates words. ASCII is decided by a byte table; other
//! characters are decoded only where a boundary needs them.

/// Whether an ASCII byte is a word character (letter or digit).
#[inline]
pub(crate) fn ascii_word(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Whether a character is a word character, with a fast path for ASCII and Latin-1 / Latin
/// Extended-A letters (the same answer as `char::is_alphanumeric`).
#[inline]
pub(crate) fn word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else if ('\u{c0}'..='\u{17f}').contains(&c) {
        c != '\u{d7}' && c != '\u{f7}'
    } else {
        c.is_alphanumeric()
    }
}

/// Whether an ASCII byte is whitespace (space, tab, LF, CR, VT, FF).
#[inline]
pub(crate) fn ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The character that ends just before byte `at` (which must be a char boundary or `hay.len()`).
pub(crate) fn char_before(hay: &[u8], at: usize) -> Option<char> {
    let from = at.saturating_sub(4);
    let tail = &hay[from..at];
    // Walk back to the start of the last UTF-8 sequence (a byte that is not a continuation byte).
    let start = tail.iter().rposition(|&b| b & 0xC0 != 0x80)?;
    std::str::from_utf8(&tail[start..]).ok()?.chars().next()
}

/// The character that starts at byte `at`.
pub(crate) fn char_at(hay: &[u8], at: usize) -> Option<char> {
    let end = (at + 4).min(hay.len());
    let bytes = &hay[at..end];
    // A prefix of 1..=4 bytes holds exactly one whole character when `at` is a char boundary.
    (1..=bytes.len())
        .find_map(|n| std::str::from_utf8(&bytes[..n]).ok())
        .and_then(|s| s.chars().next())
}

/// Whether the character just before byte `at` is a word character.
#[cfg(test)]
#[inline]
pub(crate) fn word_before(hay: &[u8], at: usize) -> bool {
    match at.checked_sub(1).map(|i| hay[i]) {
        None => false,
        Some(b) if b < 0x80 => ascii_word(b),
        Some(_) => char_before(hay, at).is_some_and(char::is_alphanumeric),
    }
}

/// Whether the character starting at byte `at` is a word character.
#[inline]
pub(crate) fn word_at(hay: &[u8], at: usize) -> bool {
    match hay.get(at) {
        None => false,
        Some(&b) if b < 0x80 => ascii_word(b),
        Some(_) => char_at(hay, at).is_some_and(char::is_alphanumeric),
    }
}

/// The end of the whitespace run starting at byte `at` (`at` itself when there is none).
pub(crate) fn skip_space(hay: &[u8], mut at: usize) -> usize {
    while let Some(&b) = hay.get(at) {
        if b < 0x80 {
            if !ascii_space(b) {
                break;
            }
            at += 1;
        } else {
            match char_at(hay, at) {
                Some(c) if c.is_whitespace() => at += c.len_utf8(),
                _ => break,
            }
        }
    }
    at
}

/// Whether a string starts (`first`) or ends with a word character.
pub(crate) fn edge_is_word(s: &str, first: bool) -> bool {
    let c = if first {
        s.chars().next()
    } else {
        s.chars().next_back()
    };
    c.is_some_and(char::is_alphanumeric)
}

/// The case-folded form used for matching: `char::to_lowercase` per character.
pub(crate) fn fold(s: &str) -> String {
    if s.is_ascii() {
        return s.to_ascii_lowercase();
    }
    s.chars().flat_map(char::to_lowercase).collect()
}

/// A case-folded copy of `text` and, for every byte of it, the byte offset in `text` of the
/// character it came from (plus one final entry for the end). Whitespace is copied unchanged, so
/// word and whitespace boundaries are the same in both.
#[cfg(test)]
pub(crate) fn fold_with_map(text: &str) -> (Vec<u8>, Vec<u32>) {
    let mut out = Vec::with_capacity(text.len() + 16);
    let mut map = Vec::with_capacity(text.len() + 17);
    let mut buf = [0u8; 4];
    for (i, c) in text.char_indices() {
        // Offsets fit in u32: callers bound the text to MAX_SCAN_BYTES (< 4 GiB).
        let at = i as u32;
        if c.is_ascii() {
            out.push(c.to_ascii_lowercase() as u8);
            map.push(at);
            continue;
        }
        for l in c.to_lowercase() {
            let enc = l.encode_utf8(&mut buf);
            out.extend_from_slice(enc.as_bytes());
            map.extend(std::iter::repeat_n(at, enc.len()));
        }
    }
    map.push(text.len() as u32);
    (out, map)
}

/// Whether the text at byte `at` spells the folded `word` in any case; returns where it ends.
pub(crate) fn eq_folded(hay: &[u8], mut at: usize, word: &str) -> Option<usize> {
    let want = word.as_bytes();
    let mut w = 0;
    let mut buf = [0u8; 4];
    while w < want.len() {
        let b = *hay.get(at)?;
        if b < 0x80 {
            if want[w] != b.to_ascii_lowercase() {
                return None;
            }
            w += 1;
            at += 1;
            continue;
        }
        let c = char_at(hay, at)?;
        for l in c.to_lowercase() {
            let enc = l.encode_utf8(&mut buf).as_bytes();
            if want.get(w..w + enc.len())? != enc {
                return None;
            }
            w += enc.len();
        }
        at += c.len_utf8();
    }
    Some(at)
}

/// Maps a span of the folded copy back to the original text: the start maps to the start of its
/// character, the end to the end of the character holding the span's last byte.
#[cfg(test)]
pub(crate) fn unmap(map: &[u32], start: usize, end: usize, text: &str) -> (usize, usize) {
    let s = map.get(start).copied().unwrap_or(0) as usize;
    let last = map
        .get(end.saturating_sub(1))
        .copied()
        .unwrap_or(text.len() as u32) as usize;
    let e = text[last..]
        .chars()
        .next()
        .map_or(text.len(), |c| last + c.len_utf8());
    (s, e.max(s))
}

/// Word tokens: maximal runs of word characters, as byte spans of `text`.
pub(crate) fn tokens(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let bytes = text.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() && !word_at(bytes, at) {
            at += char_len(bytes[at]);
        }
        if at >= bytes.len() {
            return None;
        }
        let start = at;
        while at < bytes.len() && word_at(bytes, at) {
            at += char_len(bytes[at]);
        }
        Some((start, at))
    })
}

/// Length of the UTF-8 sequence introduced by a leading byte (1 for stray continuation bytes).
#[inline]
fn char_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// Word index ranges for byte spans: for each `(start, end)`, the index of the first and the last
/// word token that the span touches (0-based). A span with no word in it gets the index of the
/// next word as first and the previous one as last. One pass over the text.
pub(crate) fn word_ranges(text: &str, spans: &[(usize, usize)]) -> Vec<(i64, i64)> {
    // Queries are byte offsets: "how many word tokens start before this offset".
    let mut queries: Vec<(usize, usize)> = Vec::with_capacity(spans.len() * 2);
    for (i, &(s, e)) in spans.iter().enumerate() {
        queries.push((s, 2 * i));
        queries.push((e, 2 * i + 1));
    }
    queries.sort_unstable();
    let mut counts = vec![0i64; queries.len()];
    let mut q = queries.iter().peekable();
    let mut seen = 0i64;
    for (start, _) in tokens(text) {
        while let Some(&&(off, slot)) = q.peek() {
            if off > start {
                break;
            }
            counts[slot] = seen;
            q.next();
        }
        seen += 1;
    }
    for &(_, slot) in q {
        counts[slot] = seen;
    }
    (0..spans.len())
        .map(|i| (counts[2 * i], counts[2 * i + 1] - 1))
        .collect()
}

/// Masks a matched value for evidence ([`crate::detect::redact::mask`]): keeps the first and last
/// character of values of six or more characters, masks everything else but whitespace.
pub(crate) fn mask(value: &str) -> String {
    let keep = usize::from(value.chars().count() >= 6);
    crate::detect::redact::mask(value, keep, keep, crate::detect::redact::Shown::Nothing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_on_raw_bytes_handle_unicode() {
        let t = "ÄBC def";
        assert!(!word_before(t.as_bytes(), 0));
        assert!(word_before(t.as_bytes(), 2)); // after "Ä"
        assert!(word_at(t.as_bytes(), 0));
        assert!(!word_at(t.as_bytes(), 4));
        assert_eq!(skip_space("a \u{a0}\r\n b".as_bytes(), 1), 7);
        assert_eq!(skip_space(b"ab", 1), 1);
    }

    #[test]
    fn word_char_fast_path_agrees_with_unicode() {
        for c in ('\0'..='\u{2000}').chain(['\u{1e9e}', '\u{212a}', '\u{fffd}']) {
            assert_eq!(word_char(c), c.is_alphanumeric(), "{c:?}");
        }
    }

    #[test]
    fn fold_maps_offsets_back() {
        let t = "xÄÖ ẞ";
        let (f, map) = fold_with_map(t);
        assert_eq!(std::str::from_utf8(&f).unwrap(), "xäö ß");
        assert_eq!(unmap(&map, 1, 5, t), (1, 5));
        assert_eq!(unmap(&map, 6, 8, t), (6, 9));
    }

    #[test]
    fn folded_comparison_in_place() {
        assert_eq!(eq_folded("FÜR den".as_bytes(), 0, "für"), Some(4));
        assert_eq!(eq_folded("Für".as_bytes(), 0, "für"), Some(4));
        assert_eq!(eq_folded("fur".as_bytes(), 0, "für"), None);
        assert_eq!(eq_folded("fü".as_bytes(), 0, "für"), None);
        assert_eq!(eq_folded("xẞy".as_bytes(), 1, "ß"), Some(4));
    }

    #[test]
    fn word_ranges_count_tokens() {
        let t = "one, two  three\nfour";
        let r = word_ranges(t, &[(0, 3), (5, 15), (16, 20), (3, 5)]);
        assert_eq!(r, vec![(0, 0), (1, 2), (3, 3), (1, 0)]);
        assert_eq!(tokens("a-b ü").count(), 3);
    }

    #[test]
    fn mask_hides_the_middle() {
        assert_eq!(mask("confidential"), "c**********l");
        assert_eq!(mask("abc"), "***");
        assert_eq!(mask("top secret"), "t** *****t");
    }
}
