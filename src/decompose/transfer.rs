//! Lenient Content-Transfer-Encoding decoders for the raw bytes of a MIME part.
//!
//! mail-parser decodes every part, but it also charset-decodes text parts, which would corrupt a
//! binary file sent as `text/plain`. To sniff the true type of such a part the walker decodes its
//! raw body again here: base64 ignores anything outside the alphabet and stops at padding or the
//! end (a truncated body yields what was there), quoted-printable keeps malformed escapes as is.

/// Decodes base64, skipping line breaks and junk; a trailing partial quantum is dropped.
pub(crate) fn base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Decodes quoted-printable: `=XX` escapes, soft line breaks (`=` at the end of a line).
pub(crate) fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b != b'=' {
            out.push(b);
            i += 1;
            continue;
        }
        match (input.get(i + 1), input.get(i + 2)) {
            (Some(b'\r'), Some(b'\n')) => i += 3,
            (Some(b'\n'), _) => i += 2,
            (Some(&h), Some(&l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => {
                out.push(hex(h) << 4 | hex(l));
                i += 3;
            }
            _ => {
                out.push(b'=');
                i += 1;
            }
        }
    }
    out
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c.wrapping_sub(b'A').wrapping_add(10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_with_line_breaks_and_truncation() {
        assert_eq!(base64(b"c2VjcmV0\r\nIHBsYW5z\r\n"), b"secret plans");
        assert_eq!(base64(b"aGk="), b"hi");
        // Truncated: the complete bytes survive.
        assert_eq!(base64(b"c2VjcmV0IHBsY"), b"secret pl");
        assert_eq!(base64(b"!!!"), b"");
    }

    #[test]
    fn quoted_printable_soft_breaks_and_bad_escapes() {
        assert_eq!(quoted_printable(b"caf=C3=A9 =\r\nok"), "café ok".as_bytes());
        assert_eq!(quoted_printable(b"a=zz b="), b"a=zz b=");
        assert_eq!(quoted_printable(b"x=3d=3D"), b"x==");
    }
}
