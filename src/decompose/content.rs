//! The flat view the proxy pipeline's keyword policies use: subject and decoded body text.
//!
//! MIME parsing is mail-parser's; this bounds what is extracted and never fails: a message that
//! cannot be parsed still yields its raw text as content, with the anomaly recorded. The full
//! decomposition (headers, attachments, archives, documents) is [`super::decompose`].

/// What detection looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Content {
    pub subject: String,
    /// Decoded text of the body parts (HTML turned into text), joined with newlines.
    pub text: String,
    /// True when the text was cut at the scan limit.
    pub truncated: bool,
    /// True when the message could not be parsed as MIME and raw bytes were used instead.
    pub unparsed: bool,
}

/// Extracts the inspectable text of a raw message, at most `max_bytes` of body text.
pub fn content(raw: &[u8], max_bytes: usize) -> Content {
    let parser = mail_parser::MessageParser::default();
    // Nested messages stay opaque: mail-parser does not bound their depth (see `defuse`).
    let defused = super::defuse::defuse(raw);
    let Some(msg) = parser.parse(defused.as_ref()) else {
        let end = crate::message::header::header_end(raw);
        let body = &raw[end.min(raw.len())..];
        let take = body.len().min(max_bytes);
        return Content {
            subject: crate::message::header::first(raw, "subject").unwrap_or_default(),
            text: String::from_utf8_lossy(&body[..take]).into_owned(),
            truncated: take < body.len(),
            unparsed: true,
        };
    };
    let subject = msg.subject().unwrap_or_default().to_string();
    let mut text = String::new();
    let mut truncated = false;
    let mut i = 0;
    while let Some(part) = msg.body_text(i) {
        i += 1;
        if text.len() + part.len() > max_bytes {
            let room = max_bytes.saturating_sub(text.len());
            let cut = floor_char_boundary(&part, room);
            text.push_str(&part[..cut]);
            truncated = true;
            break;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&part);
    }
    Content {
        subject,
        text,
        truncated,
        unparsed: false,
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_subject_and_quoted_printable_and_html() {
        let raw = b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nthe pro=\r\nject is secret\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>the <b>project</b> is secret</p>\r\n--b--\r\n";
        let c = content(raw, 1 << 20);
        assert_eq!(c.subject, "Grüße");
        assert!(c.text.contains("the project is secret"), "{:?}", c.text);
        assert!(!c.truncated);
    }

    #[test]
    fn base64_body_is_decoded_and_limit_applies() {
        let raw = b"Subject: x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nc2VjcmV0IHBsYW5z\r\n";
        let c = content(raw, 1 << 20);
        assert!(c.text.contains("secret plans"));
        let c = content(raw, 6);
        assert_eq!(c.text, "secret");
        assert!(c.truncated);
    }

    #[test]
    fn deeply_nested_messages_do_not_overflow_the_stack() {
        let mut raw = b"Content-Type: message/rfc822\r\n\r\n".repeat(200_000);
        raw.extend_from_slice(b"Subject: bottom\r\n\r\nbottom text\r\n");
        let c = content(&raw, 1 << 20);
        assert!(!c.text.contains("bottom text"));
    }

    #[test]
    fn never_fails_on_garbage() {
        for raw in [
            &b""[..],
            b"\xff\xfe\x00",
            b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n",
        ] {
            let _ = content(raw, 100);
        }
    }
}
