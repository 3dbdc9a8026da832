//! Raw header-block edits: find the header/body boundary, count and read fields, prepend fields,
//! rewrite the Subject. Works on bytes; never re-encodes the body.

/// Offset of the blank line that ends the header block (the index of its CRLF), or the message
/// length when there is no body.
pub fn header_end(message: &[u8]) -> usize {
    if message.starts_with(b"\r\n") {
        return 0;
    }
    match memchr::memmem::find(message, b"\r\n\r\n") {
        Some(pos) => pos + 2,
        None => message.len(),
    }
}

/// Iterates over header fields as (name, raw value including folded continuation lines).
pub fn fields(message: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let block = &message[..header_end(message)];
    FieldIter { block, pos: 0 }
}

struct FieldIter<'a> {
    block: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for FieldIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        while self.pos < self.block.len() {
            let start = self.pos;
            // The field ends at a CRLF not followed by whitespace.
            let mut end = start;
            loop {
                match memchr::memchr(b'\n', &self.block[end..]) {
                    Some(p) => {
                        end += p + 1;
                        if end < self.block.len()
                            && (self.block[end] == b' ' || self.block[end] == b'\t')
                        {
                            continue;
                        }
                    }
                    None => end = self.block.len(),
                }
                break;
            }
            self.pos = end;
            let field = &self.block[start..end];
            if let Some(colon) = memchr::memchr(b':', field) {
                let name = trim(&field[..colon]);
                let value = &field[colon + 1..];
                return Some((name, value));
            }
        }
        None
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |p| p + 1);
    &b[s..e]
}

/// How many `Received:` fields the message carries (loop detection).
pub fn count(message: &[u8], name: &str) -> usize {
    fields(message)
        .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .count()
}

/// The first value of a field, unfolded and trimmed (lossy UTF-8).
pub fn first(message: &[u8], name: &str) -> Option<String> {
    fields(message)
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| unfold(v))
}

/// The message's Subject as a reader sees it: unfolded, RFC 2047 encoded words decoded (by
/// mail-parser, which also knows the charsets), trimmed; empty when there is none.
pub fn subject(message: &[u8]) -> String {
    let Some(raw) = first(message, "subject") else {
        return String::new();
    };
    if !raw.contains("=?") {
        return raw;
    }
    let field = format!("Subject: {raw}\r\n\r\n");
    mail_parser::MessageParser::default()
        .parse_headers(field.as_bytes())
        .and_then(|m| m.subject().map(|s| s.trim().to_string()))
        .unwrap_or(raw)
}

pub fn unfold(value: &[u8]) -> String {
    let s = String::from_utf8_lossy(value);
    s.split(['\r', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Removes every field whose name is in `names` (case-insensitive), folded lines included.
pub fn remove(message: Vec<u8>, names: &[&str]) -> Vec<u8> {
    let end = header_end(&message);
    let block = &message[..end];
    let mut cut: Vec<(usize, usize)> = Vec::new();
    for (name, value) in (FieldIter { block, pos: 0 }) {
        if names
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n.as_bytes()))
        {
            let start = name.as_ptr() as usize - block.as_ptr() as usize;
            let stop = value.as_ptr() as usize - block.as_ptr() as usize + value.len();
            cut.push((start, stop));
        }
    }
    // In place, last cut first: a large message is never copied whole.
    let mut message = message;
    for (s, e) in cut.into_iter().rev() {
        message.drain(s..e);
    }
    message
}

/// Longest value of a [`Field`] Sluice adds, in bytes.
pub const MAX_FIELD_VALUE: usize = 900;

/// A header field Sluice adds to a message. Only [`Field::new`] makes one, and it admits a name of
/// printable ASCII without `:` and a value on one line (no CR, LF, NUL or other control character
/// but tab, at most [`MAX_FIELD_VALUE`] bytes): so a field can never end the header block early or
/// smuggle in a second field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    name: String,
    value: String,
}

impl Field {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Result<Field, String> {
        let (name, value) = (name.into(), value.into());
        if name.is_empty() || !name.bytes().all(|b| (33..=126).contains(&b) && b != b':') {
            return Err(format!(
                "{name:?} is not a valid header field name (printable ASCII, no spaces or colons)"
            ));
        }
        if value.chars().any(|c| c.is_control() && c != '\t') || value.len() > MAX_FIELD_VALUE {
            return Err(format!(
                "a header value must be one line of at most {MAX_FIELD_VALUE} bytes, without control characters"
            ));
        }
        Ok(Field { name, value })
    }

    /// `Received: by Sluice`: the least a trace field can say, a constant that `new` admits (tested),
    /// for when a fuller one could not be built.
    pub fn received_by_sluice() -> Field {
        Field {
            name: "Received".to_string(),
            value: "by Sluice".to_string(),
        }
    }

    /// A field whose value may be folded (RFC 5322 2.2.3): `CRLF` only where the next line starts
    /// with a space or tab, each line without other control characters and at most 998 bytes.
    /// For the trace fields Sluice writes itself (`Received:`), never for configured values.
    pub fn folded(name: impl Into<String>, value: impl Into<String>) -> Result<Field, String> {
        let (name, value) = (name.into(), value.into());
        let first = Field::new(name, "")?;
        let mut lines = value.split("\r\n");
        let head = lines.next().unwrap_or_default();
        let ok_line = |l: &str| l.len() <= 998 && !l.chars().any(|c| c.is_control() && c != '\t');
        let folds_ok = lines.all(|l| l.starts_with([' ', '\t']) && ok_line(l));
        if !ok_line(head) || !folds_ok || value.len() > 4 * MAX_FIELD_VALUE {
            return Err("a folded header value must be lines of at most 998 bytes, each continuation starting with a space or tab, without control characters".into());
        }
        Ok(Field {
            name: first.name,
            value,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn value(&self) -> &str {
        &self.value
    }
}

/// Prepends header fields to the message.
pub fn prepend(message: Vec<u8>, fields: &[Field]) -> Vec<u8> {
    if fields.is_empty() {
        return message;
    }
    let mut head = Vec::with_capacity(
        fields
            .iter()
            .map(|f| f.name.len() + f.value.len() + 4)
            .sum(),
    );
    for f in fields {
        head.extend_from_slice(f.name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(f.value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    // In place: the message moves up within its own buffer (the session leaves headroom for this),
    // so a large message is not copied into a second one.
    let mut message = message;
    message.splice(0..0, head);
    message
}

/// Replaces the (first) Subject field with `subject`, or adds one when there is none.
/// The new subject is written RFC 2047-encoded when it is not plain ASCII.
pub fn set_subject(message: Vec<u8>, subject: &str) -> Vec<u8> {
    let end = header_end(&message);
    let encoded = encode_word(subject);
    let block = &message[..end];
    let mut found: Option<(usize, usize)> = None;
    for (name, value) in (FieldIter { block, pos: 0 }) {
        let name_start = name.as_ptr() as usize - block.as_ptr() as usize;
        let value_end = value.as_ptr() as usize - block.as_ptr() as usize + value.len();
        if name.eq_ignore_ascii_case(b"subject") {
            found = Some((name_start, value_end));
            break;
        }
    }
    let mut out = Vec::with_capacity(message.len() + encoded.len() + 16);
    match found {
        Some((s, e)) => {
            out.extend_from_slice(&message[..s]);
            out.extend_from_slice(b"Subject: ");
            out.extend_from_slice(encoded.as_bytes());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&message[e..]);
        }
        None => {
            out.extend_from_slice(&message[..end]);
            out.extend_from_slice(b"Subject: ");
            out.extend_from_slice(encoded.as_bytes());
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&message[end..]);
        }
    }
    out
}

/// RFC 2047 B-encoding when needed, split in encoded words of at most 75 characters.
fn encode_word(text: &str) -> String {
    if text.bytes().all(|b| (32..127).contains(&b)) {
        return text.to_string();
    }
    use base64::Engine as _;
    use std::fmt::Write;
    let mut out = String::new();
    let mut chunk = String::new();
    let flush = |chunk: &mut String, out: &mut String| {
        if !chunk.is_empty() {
            if !out.is_empty() {
                out.push_str("\r\n ");
            }
            let _ = write!(
                out,
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(chunk.as_bytes())
            );
            chunk.clear();
        }
    };
    for c in text.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            flush(&mut chunk, &mut out);
        }
        chunk.push(c);
    }
    flush(&mut chunk, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_constant_received_field_is_one_new_admits() {
        assert_eq!(
            Field::new("Received", "by Sluice").unwrap(),
            Field::received_by_sluice()
        );
    }

    #[test]
    fn the_subject_is_decoded_as_a_reader_sees_it() {
        let m = b"Subject: Q3 =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\n =?ISO-8859-1?B?5A==?=\r\n\r\nbody";
        assert_eq!(subject(m), "Q3 Grüßeä");
        assert_eq!(subject(b"Subject:  plain text \r\n\r\n"), "plain text");
        assert_eq!(subject(b"To: a@b\r\n\r\nSubject: body"), "");
        // A malformed encoded word stays as written.
        assert_eq!(subject(b"Subject: =?bogus\r\n\r\n"), "=?bogus");
    }

    const MSG: &[u8] = b"Received: from a\r\nReceived: from b\r\n\tfolded\r\nSubject: Hello\r\n there\r\nTo: x@y\r\n\r\nbody\r\nSubject: not a header\r\n";

    #[test]
    fn counts_and_reads_folded_fields() {
        assert_eq!(count(MSG, "received"), 2);
        assert_eq!(first(MSG, "Subject").as_deref(), Some("Hello there"));
        assert_eq!(first(MSG, "X-None"), None);
    }

    #[test]
    fn replaces_subject_in_place_and_keeps_body() {
        let out = set_subject(MSG.to_vec(), "[DLP] Hello there");
        assert_eq!(first(&out, "subject").as_deref(), Some("[DLP] Hello there"));
        assert_eq!(count(&out, "subject"), 1);
        assert!(out.ends_with(b"\r\n\r\nbody\r\nSubject: not a header\r\n"));
        assert!(
            out.starts_with(b"Received: from a\r\nReceived: from b\r\n\tfolded\r\nSubject: [DLP]")
        );
    }

    #[test]
    fn adds_subject_when_missing_and_encodes_non_ascii() {
        let out = set_subject(b"To: a@b\r\n\r\nx\r\n".to_vec(), "Vertraulich: Größe");
        let s = String::from_utf8(out).unwrap();
        assert!(s.starts_with("To: a@b\r\nSubject: =?UTF-8?B?"), "{s}");
        assert!(s.ends_with("\r\n\r\nx\r\n"));
    }

    #[test]
    fn removes_fields_with_their_folded_lines() {
        let out = remove(MSG.to_vec(), &["received", "X-None"]);
        assert!(out.starts_with(b"Subject: Hello\r\n there\r\nTo: x@y\r\n\r\nbody"));
        assert_eq!(remove(MSG.to_vec(), &["x-none"]), MSG);
    }

    #[test]
    fn prepends_lines() {
        let out = prepend(
            b"A: 1\r\n\r\n".to_vec(),
            &[Field::new("X-CFilter", "Encrypt").unwrap()],
        );
        assert_eq!(out, b"X-CFilter: Encrypt\r\nA: 1\r\n\r\n");
    }

    #[test]
    fn a_field_cannot_carry_a_line_break() {
        for (n, v) in [
            ("X-A", "1\r\nBcc: victim@example.com"),
            ("X-A", "1\n"),
            ("X-A", "1\r"),
            ("X-A", "1\0"),
            ("X-A\r\nBcc", "1"),
            ("X A", "1"),
            ("X:A", "1"),
            ("", "1"),
        ] {
            assert!(Field::new(n, v).is_err(), "{n:?}: {v:?}");
        }
        assert!(Field::new("X-A", "x".repeat(MAX_FIELD_VALUE + 1)).is_err());
        assert_eq!(Field::new("X-A", "a\tb").unwrap().value(), "a\tb");
    }

    #[test]
    fn headerless_message_has_header_end_zero() {
        assert_eq!(header_end(b"\r\nbody"), 0);
        assert_eq!(header_end(b"A: b\r\n"), 6);
    }
}
