//! A flat view of a message: its subject and decoded body text, as the full decomposition
//! ([`super::decompose`]) reads them (every transfer encoding decoded leniently, HTML as text), at
//! most a given amount. It never fails: a message that cannot be parsed yields its raw text.

use super::{Anomaly, Limits, Location, Malformation, NoBudget, NoPdf, decompose};

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

/// Extracts the inspectable text of a raw message within `limits`, at most `max_bytes` of body text.
pub fn content(raw: &[u8], limits: &Limits, max_bytes: usize) -> Content {
    let d = decompose(raw, limits, &NoPdf, &NoBudget);
    let unparsed = d.anomalies.iter().any(|a| {
        matches!(
            a,
            Anomaly::Malformed {
                what: Malformation::Mime,
                ..
            }
        )
    });
    let mut subject = String::new();
    let mut text = String::new();
    let mut truncated = false;
    for part in d.parts {
        match part.location {
            Location::Header(name) if subject.is_empty() && name == "Subject" => {
                subject = part.text;
            }
            Location::Body if !truncated => {
                let sep = usize::from(!text.is_empty());
                if text.len() + sep + part.text.len() > max_bytes {
                    let room = max_bytes.saturating_sub(text.len() + sep);
                    if room > 0 {
                        text.push_str(&"\n"[..sep]);
                    }
                    let cut = floor_char_boundary(&part.text, room);
                    text.push_str(&part.text[..cut]);
                    truncated = true;
                } else {
                    text.push_str(&"\n"[..sep]);
                    text.push_str(&part.text);
                }
            }
            _ => {}
        }
    }
    Content {
        subject,
        text,
        truncated,
        unparsed,
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
        let c = content(
            raw,
            &crate::config::Config::embedded().unwrap().decomposition,
            1 << 20,
        );
        assert_eq!(c.subject, "Grüße");
        assert!(c.text.contains("the project is secret"), "{:?}", c.text);
        assert!(!c.truncated);
    }

    #[test]
    fn base64_body_is_decoded_and_limit_applies() {
        let raw = b"Subject: x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nc2VjcmV0IHBsYW5z\r\n";
        let c = content(
            raw,
            &crate::config::Config::embedded().unwrap().decomposition,
            1 << 20,
        );
        assert!(c.text.contains("secret plans"));
        let c = content(
            raw,
            &crate::config::Config::embedded().unwrap().decomposition,
            6,
        );
        assert_eq!(c.text, "secret");
        assert!(c.truncated);
    }

    #[test]
    fn deeply_nested_messages_do_not_overflow_the_stack() {
        let mut raw = b"Content-Type: message/rfc822\r\n\r\n".repeat(200_000);
        raw.extend_from_slice(b"Subject: bottom\r\n\r\nbottom text\r\n");
        let c = content(
            &raw,
            &crate::config::Config::embedded().unwrap().decomposition,
            1 << 20,
        );
        assert!(!c.text.contains("bottom text"));
    }

    #[test]
    fn never_fails_on_garbage() {
        for raw in [
            &b""[..],
            b"\xff\xfe\x00",
            b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n--\r\n",
        ] {
            let _ = content(
                raw,
                &crate::config::Config::embedded().unwrap().decomposition,
                100,
            );
        }
    }
}
