//! Redacted evidence: what may be shown, logged or stored for a hit. Never the whole value: at most
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

fn keep(value: &[u8], start: usize, end: usize) -> String {
    let total = value.iter().filter(|b| b.is_ascii_alphanumeric()).count();
    let budget = total / 2;
    let ks = start.min(budget);
    let ke = end.min(budget - ks);
    let mut out = String::with_capacity(value.len());
    let mut idx = 0;
    for &b in value {
        if b.is_ascii_alphanumeric() {
            out.push(if idx < ks || idx >= total - ke {
                char::from(b)
            } else {
                '*'
            });
            idx += 1;
        } else if b.is_ascii_graphic() || b == b' ' {
            out.push(char::from(b));
        } else {
            out.push('*');
        }
    }
    shorten(out, value.len())
}

/// Long renderings keep their ends and say how long the value was.
fn shorten(s: String, len: usize) -> String {
    if s.len() <= MAX_EVIDENCE {
        return s;
    }
    // `s` is ASCII (built from ASCII bytes and '*'), so byte slicing is on char boundaries.
    format!(
        "{}…{} [{len} bytes]",
        &s[..SHORT_HEAD],
        &s[s.len() - SHORT_TAIL..]
    )
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
    fn long_values_are_shortened() {
        let r = Redaction::Keep { start: 3, end: 0 };
        let jwt = [b'e'; 200];
        let s = redact(&r, &jwt);
        assert!(s.ends_with("[200 bytes]") && s.len() < 60, "{s}");
    }
}
