//! Writes a notice as an RFC 5322 / MIME message with mail-builder: From, To, Subject, Date,
//! Message-ID, `Auto-Submitted: auto-generated` (RFC 3834), a text body, a text + HTML
//! multipart/alternative when there is HTML, and optionally the original message attached.
//!
//! The output uses CRLF, keeps every line within 998 octets (bodies are quoted-printable or
//! base64 when needed, headers folded) and encodes non-ASCII header text per RFC 2047. MIME
//! boundaries are derived from the notice id, so the same input always gives the same bytes.

use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::{BodyPart, MimePart};

use super::Rendered;
use super::template::single_line;
use crate::message::header;

/// Longest line (without CRLF) a message may carry (RFC 5322 2.1.1).
pub const MAX_LINE_OCTETS: usize = 998;

/// Longest address written in a header; a longer one is cut (SMTP paths are at most 256).
const MAX_ADDRESS_CHARS: usize = 512;

/// How much of the original message a notice carries (`notifications.attach_original`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attach {
    /// Nothing.
    None,
    /// Its header block, as `text/rfc822-headers` (RFC 6522): enough to identify it.
    Headers,
    /// The whole message, as `message/rfc822`. A message that cannot be carried unencoded
    /// (a line over 998 octets, a bare CR or LF, a NUL) is reduced to its headers, because
    /// RFC 2046 forbids encoding a message/rfc822 part.
    Full,
}

/// One notice to write.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The notice's own id: Message-ID `<id@hostname>` and the MIME boundaries.
    pub id: uuid::Uuid,
    pub hostname: &'a str,
    /// The Date header (Unix seconds).
    pub date: u64,
    /// Display name of the sender (empty: none).
    pub from_name: &'a str,
    pub from: &'a str,
    pub to: &'a [String],
    /// Written as `X-Sluice-Notice: <kind>` so the gateway can recognise its own notices.
    pub kind: &'a str,
    pub rendered: &'a Rendered,
    pub original: Option<&'a [u8]>,
    pub attach: Attach,
}

/// The notice as message bytes (CRLF line endings).
pub fn message(o: &Outgoing<'_>) -> Vec<u8> {
    let boundary = |n: u8| format!("sluice-{}-{n}", o.id.simple());
    let text = MimePart::new("text/plain", crlf(&o.rendered.text));
    let body = match &o.rendered.html {
        Some(html) => multipart(
            "multipart/alternative",
            boundary(1),
            vec![text, MimePart::new("text/html", crlf(html))],
        ),
        None => text,
    };
    let body = match o.original.and_then(|m| original_part(m, o.attach, true)) {
        Some(part) => multipart("multipart/mixed", boundary(2), vec![body, part]),
        None => body,
    };
    let mut b = MessageBuilder::new().from(mailbox(o.from_name, o.from));
    // With no header recipients (an envelope-only notice) the To field is left out (RFC 5322
    // 3.6 makes it optional) rather than written empty.
    if !o.to.is_empty() {
        b = b.to(Address::new_list(
            o.to.iter().map(|a| mailbox("", a)).collect(),
        ));
    }
    b = b
        .subject(single_line(
            &o.rendered.subject,
            super::template::MAX_SUBJECT_CHARS,
        ))
        .date(mail_builder::headers::date::Date::new(unix(o.date)))
        .message_id(MessageId::new(format!("{}@{}", o.id, o.hostname)))
        .header("Auto-Submitted", Raw::new("auto-generated"));
    if !o.kind.is_empty() {
        b = b.header("X-Sluice-Notice", Raw::new(single_line(o.kind, 64)));
    }
    // Writing into a Vec cannot fail (mail-builder's Vec writer has no error path).
    b.body(body).write_to_vec().unwrap_or_default()
}

/// A multipart with a fixed boundary.
pub(crate) fn multipart<'x>(
    ctype: &'x str,
    boundary: String,
    parts: Vec<MimePart<'x>>,
) -> MimePart<'x> {
    MimePart::new(
        ContentType::new(ctype).attribute("boundary", boundary),
        BodyPart::Multipart(parts),
    )
}

/// `name <address>` for a header, with CR, LF and other control characters removed.
pub(crate) fn mailbox<'x>(name: &str, address: &str) -> Address<'x> {
    let address = single_line(address, MAX_ADDRESS_CHARS).replace(' ', "");
    let name = single_line(name, MAX_ADDRESS_CHARS);
    Address::new_address((!name.is_empty()).then_some(name), address)
}

/// The original message as a part: `message/rfc822` (whole, unencoded) or
/// `text/rfc822-headers`. `None` for [`Attach::None`] or an empty message.
pub(crate) fn original_part<'x>(
    message: &'x [u8],
    attach: Attach,
    as_attachment: bool,
) -> Option<MimePart<'x>> {
    if message.is_empty() {
        return None;
    }
    match attach {
        Attach::None => None,
        Attach::Full if carriable(message) => {
            let cte = if message.is_ascii() { "7bit" } else { "8bit" };
            let part = MimePart::new("message/rfc822", BodyPart::Binary(message.into()))
                .transfer_encoding(cte);
            Some(if as_attachment {
                part.attachment("original.eml")
            } else {
                part
            })
        }
        Attach::Full | Attach::Headers => {
            let end = header::header_end(message);
            let headers = String::from_utf8_lossy(&message[..end]).into_owned();
            let part = MimePart::new("text/rfc822-headers", BodyPart::Text(headers.into()));
            Some(if as_attachment {
                part.attachment("original-headers.txt")
            } else {
                part
            })
        }
    }
}

/// Whether a message can be carried as message/rfc822 without encoding: CRLF line endings
/// only, no line over [`MAX_LINE_OCTETS`], no NUL.
pub(crate) fn carriable(message: &[u8]) -> bool {
    let mut line = 0usize;
    let mut prev = 0u8;
    for &b in message {
        match b {
            0 => return false,
            b'\n' if prev != b'\r' => return false,
            b'\n' => line = 0,
            b'\r' if prev == b'\r' => return false,
            b'\r' => {}
            _ if prev == b'\r' => return false,
            _ => {
                line += 1;
                if line > MAX_LINE_OCTETS {
                    return false;
                }
            }
        }
        prev = b;
    }
    prev != b'\r'
}

/// Text with every line break as CRLF (rendered templates use LF).
pub(crate) fn crlf(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 32);
    let mut prev = '\0';
    for c in s.chars() {
        if c == '\n' && prev != '\r' {
            out.push('\r');
        }
        if prev == '\r' && c != '\n' {
            out.push('\n');
        }
        out.push(c);
        prev = c;
    }
    if prev == '\r' {
        out.push('\n');
    }
    out
}

/// Unix seconds for mail-builder's `Date` (which takes i64).
pub(crate) fn unix(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}
