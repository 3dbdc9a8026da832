//! `application/x-www-form-urlencoded` bodies: the value of one named field. Pure; the body is
//! already bounded by `admin.max_body`.

/// The decoded value of the first field called `name`, if present and valid UTF-8.
pub(crate) fn field(body: &[u8], name: &str) -> Option<String> {
    body.split(|&b| b == b'&').find_map(|pair| {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        (decode(k)? == name).then(|| decode(v)).flatten()
    })
}

/// Percent-decoding with `+` as space; `None` for a bad escape or invalid UTF-8.
fn decode(s: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex(*s.get(i + 1)?)?;
                let lo = hex(*s.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_and_decodes_fields() {
        assert_eq!(
            field(b"decision=approve", "decision").as_deref(),
            Some("approve")
        );
        assert_eq!(
            field(b"a=1&decision=re%6Aect&decision=approve", "decision").as_deref(),
            Some("reject")
        );
        assert_eq!(field(b"x=a+b%20c", "x").as_deref(), Some("a b c"));
        assert_eq!(field(b"flag", "flag").as_deref(), Some(""));
        assert_eq!(field(b"", "decision"), None);
        assert_eq!(field(b"decisionx=approve", "decision"), None);
    }

    #[test]
    fn bad_escapes_are_no_value() {
        assert_eq!(field(b"decision=%", "decision"), None);
        assert_eq!(field(b"decision=%zz", "decision"), None);
        assert_eq!(field(b"decision=%ff", "decision"), None);
    }
}
