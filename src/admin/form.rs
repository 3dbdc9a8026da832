//! `application/x-www-form-urlencoded` bodies and query strings: decoding into pairs ([`Form`]),
//! one named field, and encoding for links. Pure; the body is already bounded by `admin.max_body`.

/// A decoded form: its fields in order (a name may repeat: checkboxes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Form {
    pairs: Vec<(String, String)>,
}

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Form {
        Form { pairs: pairs(body) }
    }

    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first value of `name` exactly as sent (text areas), `None` when absent.
    pub(crate) fn raw(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Every `name=value` pair that decodes (pairs with a bad escape or invalid UTF-8 are dropped).
pub(crate) fn pairs(body: &[u8]) -> Vec<(String, String)> {
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .filter_map(|pair| {
            let (k, v) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

/// Pairs encoded as a query string (RFC 3986 unreserved characters kept, the rest %-escaped).
pub(crate) fn encode_pairs<K: AsRef<str>, V: AsRef<str>>(pairs: &[(K, V)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k.as_ref()), encode(v.as_ref())))
        .collect::<Vec<_>>()
        .join("&")
}

/// One value %-escaped for a query string or a path segment.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

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
pub(crate) fn decode(s: &[u8]) -> Option<String> {
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

#[cfg(test)]
mod pairs_tests {
    //! Query strings and forms: repeated names, blanks, and the encoder's round trip.
    use super::*;

    #[test]
    fn forms_keep_order_and_repeats_and_encode_back() {
        let f = Form::parse(b"id=1&id=2&q=+&note=a%26b%3Dc&csrf=x");
        assert_eq!(f.all("id"), vec!["1", "2"]);
        assert_eq!(f.get("q"), None);
        assert_eq!(f.raw("q"), Some(" "));
        assert_eq!(f.get("note"), Some("a&b=c"));
        let pairs = vec![("s", "<a b>&é"), ("t", "x/y?z")];
        assert_eq!(
            super::pairs(encode_pairs(&pairs).as_bytes()),
            vec![
                ("s".to_string(), "<a b>&é".to_string()),
                ("t".to_string(), "x/y?z".to_string())
            ]
        );
    }
}
