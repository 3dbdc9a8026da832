//! RFC 3464 delivery status notifications: [`delay`] (the message is still being retried) and
//! [`failure`] (the queue gave up). Each is a multipart/report (RFC 6522) with a human-readable
//! part, a `message/delivery-status` part, and the returned content: the original's headers
//! (`text/rfc822-headers`), or the whole message when the sender asked for RET=FULL.
//!
//! The caller sends the result with the null sender (`MAIL FROM:<>`); nothing is produced for a
//! message whose sender is already null, or when no recipient's NOTIFY asks for this report.
//!
//! Security: reply texts and addresses come from other servers and from the sender; every
//! delivery-status field is one line of printable US-ASCII of bounded length.

use mail_builder::MessageBuilder;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::mime::{BodyPart, MimePart};

use super::build::{Attach, crlf, mailbox, original_part, unix};
use super::facts::date;
use super::template::single_line;
use crate::message::{Envelope, Recipient, Ret};

/// Longest delivery-status field value, in characters (a field line stays well within 998).
pub const MAX_FIELD_CHARS: usize = 900;

/// Display name of the DSN sender, `MAILER-DAEMON@hostname`.
pub const FROM_NAME: &str = "Mail Delivery System";

/// What happened to one recipient on the last attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// The envelope recipient with its NOTIFY and ORCPT parameters.
    pub recipient: Recipient,
    /// The host that gave the last reply, if one was reached.
    pub remote_mta: Option<String>,
    /// The last SMTP reply, e.g. `550 5.1.1 <bob@example.com>: user unknown`; `None` when no
    /// server answered (connection refused, timeout, no MX).
    pub reply: Option<String>,
    /// When the last attempt was made (Unix seconds).
    pub last_attempt: Option<u64>,
}

/// The facts of one report.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The report's own id: Message-ID `<id@hostname>` and the MIME boundaries.
    pub id: uuid::Uuid,
    /// This gateway (Reporting-MTA).
    pub hostname: &'a str,
    /// The report's Date (Unix seconds).
    pub now: u64,
    /// The original envelope: its sender gets the report; ENVID and RET come from it.
    pub envelope: &'a Envelope,
    /// When the original message arrived (Unix seconds).
    pub arrival: u64,
    /// The recipients this report is about.
    pub attempts: &'a [Attempt],
    /// The original message.
    pub original: &'a [u8],
}

/// The Action of a per-recipient block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Delayed,
    Failed,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Delayed => "delayed",
            Action::Failed => "failed",
        }
    }
}

/// A delay notice: the message is queued and retried until `will_retry_until` (Unix seconds).
/// Returns only the headers of the original (RET applies to failure reports). `None` when
/// the sender is null or no recipient's NOTIFY asks for delay reports.
pub fn delay(r: &Report<'_>, will_retry_until: u64) -> Option<Vec<u8>> {
    write(r, Action::Delayed, Some(will_retry_until))
}

/// A failure report (a bounce). Returns the original's headers, or the whole message when the
/// sender asked for RET=FULL. `None` when the sender is null or no recipient's NOTIFY asks for
/// failure reports.
pub fn failure(r: &Report<'_>) -> Option<Vec<u8>> {
    write(r, Action::Failed, None)
}

/// Whether a recipient's NOTIFY asks for this report. Without NOTIFY both are sent
/// (RFC 3461 4.1 lets the server choose FAILURE or FAILURE,DELAY; the seed sends delay notices).
pub fn wanted(rcpt: &Recipient, action: Action) -> bool {
    let n = rcpt.notify;
    if n.never {
        return false;
    }
    if !n.is_set() {
        return true;
    }
    match action {
        Action::Delayed => n.delay,
        Action::Failed => n.failure,
    }
}

/// The status code of a block: the enhanced code of the last reply when it has one, else its
/// class (`4.0.0` / `5.0.0`); with no reply at all, 4.4.1 (no answer from host) for a delay and
/// 4.4.7 (delivery time expired) for a failure (RFC 3463).
pub fn status(reply: Option<&str>, action: Action) -> String {
    let Some(reply) = reply else {
        return match action {
            Action::Delayed => "4.4.1".to_string(),
            Action::Failed => "4.4.7".to_string(),
        };
    };
    let mut words = reply.split([' ', '-']).filter(|w| !w.is_empty());
    let code = words.next().unwrap_or("");
    let class = code.chars().next().filter(|c| matches!(c, '2' | '4' | '5'));
    if let (Some(class), Some(enhanced)) = (class, words.next())
        && is_enhanced(enhanced, class)
    {
        return enhanced.to_string();
    }
    match class {
        Some('5') => "5.0.0".to_string(),
        Some('2') => "2.0.0".to_string(),
        _ => "4.0.0".to_string(),
    }
}

/// `class.subject.detail` with the reply's class (RFC 3463: 1-3 and 1-3 digits).
fn is_enhanced(s: &str, class: char) -> bool {
    let mut parts = s.split('.');
    let ok = |p: Option<&str>, max: usize| {
        p.is_some_and(|p| !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit()))
    };
    let first = parts.next();
    first == Some(class.encode_utf8(&mut [0; 4]))
        && ok(parts.next(), 3)
        && ok(parts.next(), 3)
        && parts.next().is_none()
}

/// Decodes RFC 3461 xtext (`+HH` escapes); `None` when it is not valid xtext.
pub fn xtext_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                let hex = s.get(i + 1..i + 3)?;
                if !hex
                    .bytes()
                    .all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c))
                {
                    return None;
                }
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            c @ 33..=126 if c != b'=' => {
                out.push(c);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

fn write(r: &Report<'_>, action: Action, retry_until: Option<u64>) -> Option<Vec<u8>> {
    if r.envelope.sender.is_empty() {
        return None;
    }
    let attempts: Vec<&Attempt> = r
        .attempts
        .iter()
        .filter(|a| wanted(&a.recipient, action))
        .collect();
    if attempts.is_empty() {
        return None;
    }
    let returned = match (action, r.envelope.params.ret) {
        (Action::Failed, Some(Ret::Full)) => Attach::Full,
        _ => Attach::Headers,
    };
    let boundary = format!("sluice-{}-report", r.id.simple());
    let mut parts = vec![
        MimePart::new(
            "text/plain",
            crlf(&human(r, action, retry_until, &attempts, returned)),
        ),
        MimePart::new(
            "message/delivery-status",
            BodyPart::Binary(delivery_status(r, action, retry_until, &attempts).into()),
        )
        .transfer_encoding("7bit"),
    ];
    parts.extend(original_part(r.original, returned, false));
    let body = MimePart::new(
        ContentType::new("multipart/report")
            .attribute("report-type", "delivery-status")
            .attribute("boundary", boundary),
        BodyPart::Multipart(parts),
    );
    let subject = match action {
        Action::Delayed => "Delivery Status Notification (Delay)",
        Action::Failed => "Delivery Status Notification (Failure)",
    };
    let from = format!("MAILER-DAEMON@{}", r.hostname);
    MessageBuilder::new()
        .from(mailbox(FROM_NAME, &from))
        .to(mailbox("", &r.envelope.sender))
        .subject(subject)
        .date(Date::new(unix(r.now)))
        .message_id(MessageId::new(format!("{}@{}", r.id, r.hostname)))
        // RFC 3834 5: a report about a message is a reply to it.
        .header("Auto-Submitted", Raw::new("auto-replied"))
        .body(body)
        .write_to_vec()
        .ok()
}

/// The human-readable first part.
fn human(
    r: &Report<'_>,
    action: Action,
    retry_until: Option<u64>,
    attempts: &[&Attempt],
    returned: Attach,
) -> String {
    let mut t = format!("This is the mail delivery system at {}.\n\n", r.hostname);
    match (action, retry_until) {
        (Action::Delayed, Some(until)) => t.push_str(&format!(
            "Your message has not been delivered yet to the recipients below. Delivery will\n\
             be attempted again until {}; you do not need to send it again.\n\n",
            date(until)
        )),
        (Action::Delayed, None) => t.push_str(
            "Your message has not been delivered yet to the recipients below. Delivery will\n\
             be attempted again; you do not need to send it again.\n\n",
        ),
        (Action::Failed, _) => t.push_str(
            "Your message could not be delivered to the recipients below, and no further\n\
             attempts will be made.\n\n",
        ),
    }
    for a in attempts {
        let why = match (&a.reply, &a.remote_mta) {
            (Some(reply), Some(host)) => format!("{host} said: {}", single_line(reply, 400)),
            (Some(reply), None) => single_line(reply, 400),
            (None, Some(host)) => format!("no answer from {host}"),
            (None, None) => "no server could be reached".to_string(),
        };
        t.push_str(&format!(
            "  <{}>: {why}\n",
            single_line(&a.recipient.address, 300)
        ));
    }
    t.push_str(match returned {
        Attach::Full => "\nYour message is attached.\n",
        Attach::Headers | Attach::None => "\nThe headers of your message are attached.\n",
    });
    t
}

/// The `message/delivery-status` body (RFC 3464 2.1), CRLF line endings.
fn delivery_status(
    r: &Report<'_>,
    action: Action,
    retry_until: Option<u64>,
    attempts: &[&Attempt],
) -> Vec<u8> {
    fn field(s: &mut String, name: &str, value: &str) {
        s.push_str(name);
        s.push_str(": ");
        s.push_str(&ascii_field(value));
        s.push_str("\r\n");
    }
    let mut s = String::new();
    if let Some(envid) = &r.envelope.params.envid {
        let id = xtext_decode(envid).unwrap_or_else(|| envid.clone());
        field(&mut s, "Original-Envelope-Id", &id);
    }
    field(&mut s, "Reporting-MTA", &format!("dns; {}", r.hostname));
    field(&mut s, "Arrival-Date", &date(r.arrival));
    for a in attempts {
        s.push_str("\r\n");
        if let Some(orcpt) = &a.recipient.orcpt {
            field(&mut s, "Original-Recipient", &original_recipient(orcpt));
        }
        field(
            &mut s,
            "Final-Recipient",
            &address_field(&a.recipient.address),
        );
        field(&mut s, "Action", action.name());
        field(&mut s, "Status", &status(a.reply.as_deref(), action));
        if let Some(host) = &a.remote_mta {
            field(&mut s, "Remote-MTA", &format!("dns; {host}"));
        }
        if let Some(reply) = &a.reply {
            field(&mut s, "Diagnostic-Code", &format!("smtp; {reply}"));
        }
        if let Some(t) = a.last_attempt {
            field(&mut s, "Last-Attempt-Date", &date(t));
        }
        if let Some(t) = retry_until {
            field(&mut s, "Will-Retry-Until", &date(t));
        }
    }
    s.into_bytes()
}

/// `addr-type; address` from a raw ORCPT (`rfc822;bob+2Bx@example.com`), xtext decoded.
fn original_recipient(orcpt: &str) -> String {
    match orcpt.split_once(';') {
        Some((kind, xtext)) => {
            let kind = kind.trim();
            match xtext_decode(xtext.trim()) {
                Some(addr) if kind.eq_ignore_ascii_case("rfc822") => address_field(&addr),
                Some(addr) => format!("{kind}; {addr}"),
                None => format!("{kind}; {}", xtext.trim()),
            }
        }
        None => format!("rfc822; {orcpt}"),
    }
}

/// `rfc822; address`, or for an internationalised address RFC 6533's `utf-8; ` form with each
/// non-ASCII character written `\x{HEX}`, so the field stays US-ASCII.
fn address_field(address: &str) -> String {
    if address.is_ascii() {
        return format!("rfc822; {address}");
    }
    let mut s = String::from("utf-8; ");
    for c in address.chars() {
        if c.is_ascii() {
            s.push(c);
        } else {
            s.push_str(&format!("\\x{{{:X}}}", u32::from(c)));
        }
    }
    s
}

/// One line of printable US-ASCII (anything else becomes `?`), at most [`MAX_FIELD_CHARS`].
fn ascii_field(v: &str) -> String {
    single_line(v, MAX_FIELD_CHARS)
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
