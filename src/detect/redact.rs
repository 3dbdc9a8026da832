//! Redacted evidence: what may be shown, logged or stored for a hit, for every detector (identifiers,
//! dictionaries, regular expressions): one masking routine, [`mask`]. Never the whole value: at most
//! half of its letters and digits survive, and long values are shortened.

/// How a definition redacts its matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Redaction {
    /// Keep this many leading and trailing letters/digits; mask the others, keep separators.
    Keep { start: usize, end: usize },
    /// `j***@example.com`: first letter of the local part (if it has three or more), the domain.
    Email,
    /// The BEGIN line's label and the size of the block: `RSA PRIVATE KEY block [1675 bytes]`.
    Pem,
}

/// Longest evidence string before it is shortened to head, ellipsis and length.
const MAX_EVIDENCE: usize = 48;
/// Bytes of the masked rendering kept at each end when shortening.
const SHORT_HEAD: usize = 24;
const SHORT_TAIL: usize = 8;
/// Longest BEGIN line label shown for a PEM block.
const MAX_PEM_LABEL: usize = 40;

/// Renders the evidence for a matched value (ASCII by construction; other bytes are masked).
pub(crate) fn redact(r: &Redaction, value: &[u8]) -> String {
    match *r {
        Redaction::Keep { start, end } => keep(value, start, end),
        Redaction::Email => email(value),
        Redaction::Pem => pem(value),
    }
}

/// Which characters besides letters and digits stay visible in [`mask`] (whitespace always shows,
/// as a space; anything else becomes `*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shown {
    /// Printable ASCII separators (`4111 **** **** 1111`, `1.2.*.*`): identifiers.
    Separators,
    /// Dashes (`E**-*****6`): [`crate::detect::redact`].
    Dashes,
    /// Nothing (`T********6`): dictionary terms and regular expressions.
    Nothing,
}

/// The one masking routine: keeps the first `start` and last `end` letters and digits (at most half
/// of them together), masks the others as `*`, keeps the characters `shown` lets through, and
/// shortens long results.
pub(crate) fn mask(value: &str, start: usize, end: usize, shown: Shown) -> String {
    let total = value.chars().filter(|c| c.is_alphanumeric()).count();
    let budget = total / 2;
    let ks = start.min(budget);
    let ke = end.min(budget - ks);
    let mut out = String::with_capacity(value.len());
    let mut idx = 0;
    for c in value.chars() {
        out.push(if c.is_alphanumeric() {
            idx += 1;
            if idx <= ks || idx > total - ke {
                c
            } else {
                '*'
            }
        } else if c.is_whitespace() {
            ' '
        } else if match shown {
            Shown::Separators => c.is_ascii_graphic(),
            Shown::Dashes => c == '-',
            Shown::Nothing => false,
        } {
            c
        } else {
            '*'
        });
    }
    shorten(out, value.len())
}

fn keep(value: &[u8], start: usize, end: usize) -> String {
    mask(
        &String::from_utf8_lossy(value),
        start,
        end,
        Shown::Separators,
    )
}

/// Long renderings keep their ends and say how long the value was.
fn shorten(s: String, len: usize) -> String {
    let n = s.chars().count();
    if n <= MAX_EVIDENCE {
        return s;
    }
    let head: String = s.chars().take(SHORT_HEAD).collect();
    let tail: String = s.chars().skip(n - SHORT_TAIL).collect();
    format!("{head}…{tail} [{len} bytes]")
}

fn email(value: &[u8]) -> String {
    let Some(at) = value.iter().position(|&b| b == b'@') else {
        return keep(value, 0, 0);
    };
    let (local, domain) = (&value[..at], &value[at..]);
    let mut out = String::new();
    if local.len() >= 3 && local[0].is_ascii_alphanumeric() {
        out.push(char::from(local[0]));
    }
    out.push_str("***");
    out.extend(domain.iter().map(|&b| {
        if b.is_ascii_graphic() {
            char::from(b)
        } else {
            '*'
        }
    }));
    shorten(out, value.len())
}

fn pem(value: &[u8]) -> String {
    let line_end = value
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .unwrap_or(value.len());
    let line = &value[..line_end];
    let line = line.strip_prefix(b"-----BEGIN ").unwrap_or(line);
    let line = line.strip_suffix(b"-----").unwrap_or(line);
    let label: String = line[..line.len().min(MAX_PEM_LABEL)]
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b == b' ' {
                char::from(b)
            } else {
                '*'
            }
        })
        .collect();
    // Without the dashes the evidence can never equal the value, even for a bare BEGIN line.
    format!("{label} block [{} bytes]", value.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_ends_and_separators() {
        let card = Redaction::Keep { start: 4, end: 4 };
        assert_eq!(redact(&card, b"4111 1111 1111 1111"), "4111 **** **** 1111");
        assert_eq!(redact(&card, b"4111111111111111"), "4111********1111");
        assert_eq!(
            redact(&card, b"AKIAIOSFODNN7EXAMPLE"),
            "AKIA************MPLE"
        );
        let ssn = Redaction::Keep { start: 0, end: 4 };
        assert_eq!(redact(&ssn, b"078-05-1120"), "***-**-1120");
        let iban = Redaction::Keep { start: 4, end: 2 };
        assert_eq!(
            redact(&iban, b"GB82 WEST 1234 5698 7654 32"),
            "GB82 **** **** **** **** 32"
        );
    }

    #[test]
    fn never_reveals_more_than_half() {
        let r = Redaction::Keep { start: 10, end: 10 };
        assert_eq!(redact(&r, b"1.2.3.4"), "1.2.*.*");
        assert_eq!(redact(&r, b"ab"), "a*");
    }

    #[test]
    fn email_and_pem() {
        assert_eq!(
            redact(&Redaction::Email, b"jane.doe@example.com"),
            "j***@example.com"
        );
        assert_eq!(
            redact(&Redaction::Email, b"jo@example.com"),
            "***@example.com"
        );
        let block = b"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----";
        assert_eq!(
            redact(&Redaction::Pem, block),
            "RSA PRIVATE KEY block [66 bytes]"
        );
    }

    #[test]
    fn what_each_detector_shows() {
        assert_eq!(mask("TCK-123456", 1, 1, Shown::Nothing), "T********6");
        assert_eq!(mask("top secret", 1, 1, Shown::Nothing), "t** *****t");
        assert_eq!(mask("EMP-123456", 1, 1, Shown::Dashes), "E**-*****6");
        assert_eq!(mask("a.b\tc", 0, 0, Shown::Separators), "*.* *");
        assert_eq!(mask("Ölpreise", 1, 1, Shown::Nothing), "Ö******e");
    }

    #[test]
    fn long_values_are_shortened() {
        let r = Redaction::Keep { start: 3, end: 0 };
        let jwt = [b'e'; 200];
        let s = redact(&r, &jwt);
        assert!(s.ends_with("[200 bytes]") && s.len() < 60, "{s}");
        let s = mask(&"ä".repeat(60), 0, 0, Shown::Nothing);
        assert!(s.ends_with("[120 bytes]"), "{s}");
    }
}
