//! Body encodings for rewritten parts: decoding a body from its transfer encoding (the lenient
//! decoders of `decompose`), encoding it back (base64 and quoted-printable in lines of at most 76
//! characters, with the message's own line ending), and text in a part's charset.

use base64::Engine as _;

use crate::decompose::TransferEncoding;

/// How a body is transfer-encoded, as far as rewriting is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cte {
    Base64,
    QuotedPrintable,
    /// 7bit, or none given: ASCII lines only.
    SevenBit,
    /// 8bit or binary: bytes as they are.
    EightBit,
}

impl Cte {
    pub fn of(value: Option<&str>) -> Cte {
        match value {
            Some("base64") => Cte::Base64,
            Some("quoted-printable") => Cte::QuotedPrintable,
            Some("8bit") | Some("binary") => Cte::EightBit,
            _ => Cte::SevenBit,
        }
    }

    pub fn decode(self, raw: &[u8]) -> Vec<u8> {
        match self {
            Cte::Base64 => TransferEncoding::Base64.decode(raw).bytes,
            Cte::QuotedPrintable => TransferEncoding::QuotedPrintable.decode(raw).bytes,
            Cte::SevenBit | Cte::EightBit => raw.to_vec(),
        }
    }

    /// The body encoded back; `None` when the bytes cannot go in this encoding (non-ASCII in a
    /// 7bit body).
    pub fn encode(self, bytes: &[u8], eol: &[u8]) -> Option<Vec<u8>> {
        match self {
            Cte::Base64 => Some(base64_lines(bytes, eol)),
            Cte::QuotedPrintable => Some(quoted_printable(bytes, eol)),
            Cte::SevenBit if !bytes.is_ascii() => None,
            Cte::SevenBit | Cte::EightBit => Some(bytes.to_vec()),
        }
    }
}

/// Base64 in lines of 76 characters.
pub(super) fn base64_lines(bytes: &[u8], eol: &[u8]) -> Vec<u8> {
    let flat = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = Vec::with_capacity(flat.len() + flat.len() / 76 * 2 + 2);
    for (i, line) in flat.as_bytes().chunks(76).enumerate() {
        if i > 0 {
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(line);
    }
    out
}

/// Quoted-printable (RFC 2045 6.7): line breaks of the text kept as hard breaks (written with
/// `eol`), soft breaks keep lines at 76 characters, white space before a break and every byte
/// that is not printable ASCII (and `=`) escaped. A line that starts with `-` gets its first
/// byte escaped, so no encoded line can be taken for a boundary delimiter.
pub(super) fn quoted_printable(bytes: &[u8], eol: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 4);
    let mut lines = bytes.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut width = 0;
        for (i, &b) in line.iter().enumerate() {
            let last = i + 1 == line.len();
            let literal =
                (b'!'..=b'~').contains(&b) && b != b'=' || (b == b' ' || b == b'\t') && !last;
            let literal = literal && !(i == 0 && b == b'-');
            let need = if literal { 1 } else { 3 };
            if width + need > 75 {
                out.push(b'=');
                out.extend_from_slice(eol);
                width = 0;
            }
            if literal {
                out.push(b);
            } else {
                out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            }
            width += need;
        }
        if lines.peek().is_some() {
            out.extend_from_slice(eol);
        }
    }
    out
}

/// Charsets whose bytes below 0x80 are ASCII whatever came before (so ASCII can be appended).
pub(super) fn ascii_compatible(charset: Option<&str>) -> bool {
    let Some(c) = charset else {
        return true;
    };
    let c = c.trim_matches('"');
    [
        "us-ascii", "ascii", "utf-8", "utf8", "big5", "gb2312", "gbk", "gb18030", "tis-620",
    ]
    .contains(&c)
        || [
            "iso-8859-",
            "iso8859-",
            "windows-",
            "cp",
            "koi8-",
            "euc-",
            "latin",
            "shift_jis",
        ]
        .iter()
        .any(|p| c.starts_with(p))
        || c == "ks_c_5601-1987"
}

pub(super) fn is_utf8(charset: Option<&str>) -> bool {
    matches!(charset.map(|c| c.trim_matches('"')), Some("utf-8" | "utf8"))
}

/// Whether a part declared in this charset holds ASCII only when its bytes do.
pub(super) fn is_ascii_charset(charset: Option<&str>) -> bool {
    matches!(
        charset.map(|c| c.trim_matches('"')),
        None | Some("us-ascii" | "ascii")
    )
}

/// `text` in the charset, when every character has a byte there (UTF-8, ASCII-compatible
/// charsets for ASCII text, ISO-8859-1 and windows-1252 for Latin-1 text).
pub(super) fn in_charset(text: &str, charset: Option<&str>) -> Option<Vec<u8>> {
    if text.is_ascii() && ascii_compatible(charset) || is_utf8(charset) {
        return Some(text.as_bytes().to_vec());
    }
    let c = charset?.trim_matches('"');
    let latin1 = ["iso-8859-1", "iso8859-1", "latin1", "latin-1"].contains(&c);
    let cp1252 = c == "windows-1252" || c == "cp1252";
    if !(latin1 || cp1252) {
        return None;
    }
    text.chars()
        .map(|ch| {
            let n = u32::from(ch);
            // windows-1252 has other characters at 0x80-0x9f.
            let fits = n < 0x80 || (0xa0..0x100).contains(&n) || latin1 && n < 0x100;
            fits.then_some(n as u8)
        })
        .collect()
}

/// HTML for any ASCII-compatible charset: every non-ASCII character as a numeric reference.
pub(super) fn html_references(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    for ch in html.chars() {
        if ch.is_ascii() {
            out.push(ch);
        } else {
            out.push_str(&format!("&#{};", u32::from(ch)));
        }
    }
    out
}

/// `text` with its line breaks written as `eol`.
pub(super) fn with_eol(text: &str, eol: &[u8]) -> Vec<u8> {
    bytes_with_eol(text.as_bytes(), eol)
}

/// Bytes with their line breaks (LF or CRLF) written as `eol`.
pub(super) fn bytes_with_eol(text: &[u8], eol: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 8);
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
    }
    out
}

/// A text part: its header fields and body, for a part Sluice adds (UTF-8; 7bit when ASCII,
/// else quoted-printable).
pub(super) fn text_part(subtype: &str, text: &str, eol: &[u8], extra: &[&str]) -> Vec<u8> {
    let body = with_eol(text, eol);
    let (cte, body) = if body.is_ascii() {
        ("7bit", body)
    } else {
        ("quoted-printable", quoted_printable(&body, eol))
    };
    let mut out = Vec::with_capacity(body.len() + 128);
    out.extend_from_slice(format!("Content-Type: text/{subtype}; charset=utf-8").as_bytes());
    out.extend_from_slice(eol);
    out.extend_from_slice(format!("Content-Transfer-Encoding: {cte}").as_bytes());
    out.extend_from_slice(eol);
    for line in extra {
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(eol);
    }
    out.extend_from_slice(eol);
    out.extend_from_slice(&body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_round_trips_and_keeps_lines_short() {
        let text = "caf\u{e9} = 1 \n".repeat(20) + &"x".repeat(200) + "\n-- \nend \t";
        let enc = quoted_printable(text.as_bytes(), b"\r\n");
        assert!(enc.split(|&b| b == b'\n').all(|l| l.len() <= 77), "{enc:?}");
        assert!(!enc.split(|&b| b == b'\n').any(|l| l.starts_with(b"--")));
        let back = Cte::QuotedPrintable.decode(&enc);
        assert_eq!(String::from_utf8(back).unwrap(), text.replace('\n', "\r\n"));
    }

    #[test]
    fn charsets() {
        assert_eq!(in_charset("abc", Some("iso-8859-2")), Some(b"abc".to_vec()));
        assert_eq!(in_charset("\u{e9}", Some("iso-8859-1")), Some(vec![0xe9]));
        assert_eq!(in_charset("\u{20ac}", Some("iso-8859-1")), None);
        assert_eq!(in_charset("\u{e9}", Some("koi8-r")), None);
        assert_eq!(in_charset("abc", Some("utf-16")), None);
        assert_eq!(html_references("<p>\u{e9}</p>"), "<p>&#233;</p>");
    }
}
