//! Keeps mail-parser from building nested messages, whose depth it does not bound.
//!
//! mail-parser turns every `message/rfc822` (and `message/global`, and the default part type of
//! `multipart/digest`) into a nested `Message` value, without a depth limit for unencoded nesting.
//! Dropping a value nested a few hundred thousand levels deep overflows the stack, and a stack
//! overflow aborts the whole process: a message of a few megabytes would kill the server.
//!
//! So before parsing, those subtypes are renamed in place to same-length private ones
//! (`message/rfc822` -> `message/x-sl82`): mail-parser then hands such parts over as opaque
//! bytes, and the walker parses each nested message itself, one level at a time, within
//! [`super::Limits::max_depth`]. The declared type is restored for reporting by [`restore`].

use std::borrow::Cow;

/// Renamed subtypes: (type, real subtype, stand-in of the same length).
const RENAMED: &[(&[u8], &[u8], &[u8])] = &[
    (b"message", b"rfc822", b"x-sl82"),
    (b"message", b"global", b"x-slgl"),
    (b"multipart", b"digest", b"x-sldg"),
];

/// The message with nested-message content types renamed (borrowed when there are none).
pub(crate) fn defuse(raw: &[u8]) -> Cow<'_, [u8]> {
    let mut out: Option<Vec<u8>> = None;
    for slash in memchr::memchr_iter(b'/', raw) {
        for &(ty, sub, stand_in) in RENAMED {
            if !ends_with_token(&raw[..slash], ty) {
                continue;
            }
            let Some(at) = skip_space_and_comments(raw, slash + 1) else {
                continue;
            };
            let Some(word) = raw.get(at..at + sub.len()) else {
                continue;
            };
            let boundary = raw
                .get(at + sub.len())
                .is_none_or(|&c| !(c.is_ascii_alphanumeric() || c == b'-' || c == b'.'));
            if word.eq_ignore_ascii_case(sub) && boundary {
                let buf = out.get_or_insert_with(|| raw.to_vec());
                buf[at..at + sub.len()].copy_from_slice(stand_in);
            }
        }
    }
    match out {
        Some(v) => Cow::Owned(v),
        None => Cow::Borrowed(raw),
    }
}

/// The declared type as sent, for a type renamed by [`defuse`].
pub(crate) fn restore(declared: String) -> String {
    for &(ty, sub, stand_in) in RENAMED {
        if let Some(rest) = declared.strip_prefix(std::str::from_utf8(ty).unwrap_or_default())
            && rest.strip_prefix('/').map(str::as_bytes) == Some(stand_in)
        {
            return format!(
                "{}/{}",
                String::from_utf8_lossy(ty),
                String::from_utf8_lossy(sub)
            );
        }
    }
    declared
}

/// True when `before` ends with `token` (case-insensitive), optionally followed by spaces and
/// comments, and the token is not the tail of a longer word.
fn ends_with_token(before: &[u8], token: &[u8]) -> bool {
    let mut end = before.len();
    while end > 0 && matches!(before[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    let Some(start) = end.checked_sub(token.len()) else {
        return false;
    };
    before[start..end].eq_ignore_ascii_case(token)
        && (start == 0 || !before[start - 1].is_ascii_alphanumeric())
}

/// Index of the first byte at or after `i` that is not folding white space or inside a
/// (possibly nested) comment; `None` at the end of input. Bounded by [`MAX_SKIP`].
fn skip_space_and_comments(raw: &[u8], mut i: usize) -> Option<usize> {
    let start = i;
    let mut depth = 0u32;
    while i < raw.len() && i - start < MAX_SKIP {
        match raw[i] {
            b'(' => depth += 1,
            b')' if depth > 0 => depth -= 1,
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ if depth > 0 => {}
            _ => return Some(i),
        }
        i += 1;
    }
    None
}

/// Longest run of white space and comments looked through after a `/`.
const MAX_SKIP: usize = 256;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_nested_message_types_only() {
        let raw = b"Content-Type: Message/RFC822\r\nContent-Type: message / (c) global; x\r\nContent-Type: multipart/digest; boundary=b\r\nsee http://example.com/message/rfc822x and text/rfc822\r\n";
        let out = defuse(raw);
        assert_eq!(
            out.as_ref(),
            &b"Content-Type: Message/x-sl82\r\nContent-Type: message / (c) x-slgl; x\r\nContent-Type: multipart/x-sldg; boundary=b\r\nsee http://example.com/message/rfc822x and text/rfc822\r\n"[..]
        );
        assert!(matches!(defuse(b"plain text/html"), Cow::Borrowed(_)));
        assert_eq!(restore("message/x-sl82".into()), "message/rfc822");
        assert_eq!(restore("multipart/x-sldg".into()), "multipart/digest");
        assert_eq!(restore("application/pdf".into()), "application/pdf");
    }
}
