//! Text helpers for the readers: a whitespace-insensitive fingerprint of a text (to count
//! identical body alternatives once) and a Unicode whitespace test that skips decoding for ASCII.
//!
//! Both run in one pass over the bytes without building a normalised copy of the text.

/// Bytes of normalised text gathered before they are hashed.
const HASH_CHUNK: usize = 4096;

/// True for the characters `char::is_whitespace` accepts, decoding only non-ASCII bytes.
/// `s[i..]` must start on a character boundary; returns the truth and the character's length.
#[inline]
pub(crate) fn whitespace_at(s: &str, i: usize) -> (bool, usize) {
    let b = s.as_bytes()[i];
    if b < 0x80 {
        return (is_ascii_space(b), 1);
    }
    match s[i..].chars().next() {
        Some(c) => (c.is_whitespace(), c.len_utf8()),
        None => (false, 1),
    }
}

/// The ASCII characters `char::is_whitespace` accepts (`u8::is_ascii_whitespace` leaves out
/// vertical tab).
#[inline]
pub(crate) fn is_ascii_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// A fingerprint of `text` with every run of whitespace counted as one space and leading and
/// trailing whitespace ignored: two texts have the same fingerprint exactly when their
/// `split_whitespace` words are the same (up to a BLAKE3 collision).
pub(crate) fn fingerprint(text: &str) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new();
    let mut buf = [0u8; HASH_CHUNK];
    let mut len = 0usize;
    let mut emit = |piece: &[u8]| {
        let mut piece = piece;
        while !piece.is_empty() {
            if len == HASH_CHUNK {
                hasher.update(&buf);
                len = 0;
            }
            let n = piece.len().min(HASH_CHUNK - len);
            buf[len..len + n].copy_from_slice(&piece[..n]);
            len += n;
            piece = &piece[n..];
        }
    };
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut first = true;
    while i < bytes.len() {
        // Skip a whitespace run.
        while i < bytes.len() {
            let (space, n) = whitespace_at(text, i);
            if !space {
                break;
            }
            i += n;
        }
        if i >= bytes.len() {
            break;
        }
        // A word: up to the next whitespace character.
        let start = i;
        while i < bytes.len() {
            let b = bytes[i];
            if b < 0x80 {
                if is_ascii_space(b) {
                    break;
                }
                i += 1;
            } else {
                let (space, n) = whitespace_at(text, i);
                if space {
                    break;
                }
                i += n;
            }
        }
        if !first {
            emit(b" ");
        }
        first = false;
        emit(&bytes[start..i]);
    }
    hasher.update(&buf[..len]);
    *hasher.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(text: &str) -> String {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn fingerprint_is_the_hash_of_the_split_whitespace_join() {
        let long = "word\u{a0} \t\r\nnext ".repeat(3000);
        for t in [
            "",
            "   ",
            "a",
            " the  project\r\n is\tsecret ",
            "caf\u{e9}\u{2003}ol\u{e9}\u{3000}x\u{b}y\u{c}z\u{85}w",
            // Not whitespace for split_whitespace: zero width space, control characters.
            "a\u{200b}b\u{1c}c\u{1f}d",
            long.as_str(),
        ] {
            assert_eq!(
                fingerprint(t),
                *blake3::hash(normalized(t).as_bytes()).as_bytes(),
                "{t:?}"
            );
        }
        assert_eq!(fingerprint("a  b\n"), fingerprint("\ta b"));
        assert_ne!(fingerprint("a b"), fingerprint("ab"));
        assert_ne!(fingerprint("a\u{200b}b"), fingerprint("a b"));
    }

    #[test]
    fn whitespace_matches_char_is_whitespace() {
        for c in (0u32..0x3100).filter_map(char::from_u32) {
            let s = format!("{c}x");
            assert_eq!(
                whitespace_at(&s, 0),
                (c.is_whitespace(), c.len_utf8()),
                "{c:?}"
            );
        }
    }
}
