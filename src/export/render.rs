//! One event in one format: the catalogue's [`Event`] in, one syslog message (unframed) out, for
//! RFC 5424, RFC 3164, CEF, LEEF and JSON (ECS); and the UDP datagram of a message (RFC 5426 cap,
//! the cut marked). Pure: no clock, no I/O; the destinations (transport, cursor) are elsewhere.
//!
//! What every format shares lives here: the subject mode, applied to `email.subject` before any
//! format sees it (privacy is decided once, not per format); the syslog header (facility from the
//! destination, severity from the kind, APP-NAME `sluice`, PROCID `-`, MSGID the kind's numeric id);
//! the RFC 5424 structured data and the RFC 3164 key=value text. CEF, LEEF and JSON are messages of
//! an RFC 5424 header, so every format reaches rsyslog and SIEM collectors as parseable syslog.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::{cef, json, leef, syslog};
use crate::events::{Event, Field, Kind};

/// The SD-ID of the one SD-ELEMENT a `rfc5424` message carries. 32473 is the enterprise number
/// RFC 5612 reserves for documentation and examples (Sluice has no IANA number of its own); the
/// reference (EVENTS.md) says so, and a receiver matches it as a plain string.
pub const SD_ID: &str = "sluice@32473";
/// APP-NAME (RFC 5424) and TAG (RFC 3164).
pub const APP_NAME: &str = "sluice";
/// CEF/LEEF device vendor and product, JSON `observer.vendor` / `observer.product`.
pub const VENDOR: &str = "Sluice";
pub const PRODUCT: &str = "Sluice";
/// What [`SubjectMode::Mask`] writes.
pub const MASK: &str = "[masked]";
/// What starts a [`SubjectMode::Hash`] value (then 32 hex digits: the first 16 bytes of the HMAC).
pub const HASH_PREFIX: &str = "hmac-sha256:";
/// What marks a message cut to fit a UDP datagram.
pub const CUT_MARK: &str = "...";

/// A destination's wire format (`format` in a `[[siem]]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Rfc5424,
    Rfc3164,
    Cef,
    Leef,
    Json,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Rfc5424,
        Format::Rfc3164,
        Format::Cef,
        Format::Leef,
        Format::Json,
    ];

    /// The name in configuration: `rfc5424`, `rfc3164`, `cef`, `leef`, `json`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Rfc5424 => "rfc5424",
            Format::Rfc3164 => "rfc3164",
            Format::Cef => "cef",
            Format::Leef => "leef",
            Format::Json => "json",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// What a destination gets of a subject (`subject` in a `[[siem]]` table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectMode {
    /// As the message had it.
    Clear,
    /// Replaced by a fixed mask (`[masked]`), its presence still visible.
    Mask,
    /// A keyed hash (same subject, same hash on this installation; not reversible by guessing).
    Hash,
    /// Left out.
    Omit,
}

impl SubjectMode {
    pub const ALL: [SubjectMode; 4] = [
        SubjectMode::Clear,
        SubjectMode::Mask,
        SubjectMode::Hash,
        SubjectMode::Omit,
    ];

    pub fn name(self) -> &'static str {
        match self {
            SubjectMode::Clear => "clear",
            SubjectMode::Mask => "mask",
            SubjectMode::Hash => "hash",
            SubjectMode::Omit => "omit",
        }
    }

    pub fn from_name(name: &str) -> Option<SubjectMode> {
        SubjectMode::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// The LEEF version a `leef` destination writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeefVersion {
    /// LEEF 1.0: attributes separated by TAB (which rsyslog escapes as `#011` unless told not to).
    V1,
    /// LEEF 2.0 with `^` as the attribute delimiter (the default).
    #[default]
    V2,
}

impl LeefVersion {
    /// The name in configuration: `1.0` or `2.0`.
    pub fn name(self) -> &'static str {
        match self {
            LeefVersion::V1 => "1.0",
            LeefVersion::V2 => "2.0",
        }
    }

    pub fn from_name(name: &str) -> Option<LeefVersion> {
        [LeefVersion::V1, LeefVersion::V2]
            .into_iter()
            .find(|v| v.name() == name)
    }
}

/// Everything about a destination that shapes its messages.
#[derive(Debug, Clone)]
pub struct Style {
    pub format: Format,
    /// The syslog HOSTNAME (`server.hostname`).
    pub hostname: String,
    /// Sluice's version (CEF/LEEF device version, JSON `observer.version`).
    pub version: String,
    /// Syslog facility 0..=23 (default 16, local0).
    pub facility: u8,
    pub subject: SubjectMode,
    /// The key of [`SubjectMode::Hash`] (generated on the machine, kept in the data directory).
    pub subject_key: [u8; 32],
    /// LEEF 1.0 or 2.0 (only `leef` destinations read it).
    pub leef: LeefVersion,
}

/// The message for `event` in `style`, without transport framing.
pub fn render(event: &Event, style: &Style) -> String {
    let values = values(event, style);
    let id = event.kind.id().to_string();
    let head = header(event, style, &id);
    match style.format {
        Format::Rfc5424 => rfc5424(event, &values, &head),
        Format::Rfc3164 => syslog::rfc3164(&head, &key_values(event, &values)),
        Format::Cef => syslog::rfc5424(&head, &[], Some(&cef::event(event, &values, style))),
        Format::Leef => syslog::rfc5424(&head, &[], Some(&leef::event(event, &values, style))),
        Format::Json => syslog::rfc5424(&head, &[], Some(&json::event(event, &values, style))),
    }
}

/// An event's values as a destination gets them: in order, the subject after the subject mode
/// (left out by [`SubjectMode::Omit`]).
pub(super) fn values<'a>(event: &'a Event, style: &Style) -> Vec<(Field, Cow<'a, str>)> {
    event
        .fields
        .iter()
        .filter_map(|(f, v)| match f {
            Field::EmailSubject => subject(v, style.subject, &style.subject_key).map(|s| (*f, s)),
            _ => Some((*f, Cow::Borrowed(v.as_str()))),
        })
        .collect()
}

/// A subject in `mode`: as is, `[masked]`, `hmac-sha256:` and the first 16 bytes of
/// HMAC-SHA256(`key`, subject) in hex, or nothing.
pub fn subject<'a>(value: &'a str, mode: SubjectMode, key: &[u8; 32]) -> Option<Cow<'a, str>> {
    match mode {
        SubjectMode::Clear => Some(Cow::Borrowed(value)),
        SubjectMode::Mask => Some(Cow::Borrowed(MASK)),
        SubjectMode::Hash => Some(Cow::Owned(hash(value, key))),
        SubjectMode::Omit => None,
    }
}

fn hash(value: &str, key: &[u8; 32]) -> String {
    use aws_lc_rs::hmac;
    // `hmac::Key::new` panics only if aws-lc cannot allocate an HMAC context.
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&key, value.as_bytes());
    let mut out = String::from(HASH_PREFIX);
    for b in tag.as_ref().iter().take(16) {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The values with repeated fields joined by commas, each field once at its first place (CEF and
/// LEEF: a key may appear only once in a line).
pub(super) fn grouped(values: &[(Field, Cow<'_, str>)]) -> Vec<(Field, String)> {
    let mut out: Vec<(Field, String)> = Vec::new();
    for (f, v) in values {
        match out.iter_mut().find(|(g, _)| g == f) {
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(v);
            }
            None => out.push((*f, v.to_string())),
        }
    }
    out
}

/// A field's name in camelCase (`sluice.held.id` -> `sluiceHeldId`, `email.message_id` ->
/// `emailMessageId`): the custom CEF and LEEF key of a field neither spec has a key for.
pub fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if matches!(c, '.' | '_') {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `sluice.<category>`: ECS `event.dataset`, and the same key in every format.
pub(super) fn dataset(kind: Kind) -> String {
    format!("sluice.{}", kind.category().name())
}

/// The syslog header of `event`: facility from the destination, severity from the kind, MSGID the
/// kind's numeric id, PROCID left out (NILVALUE).
fn header<'a>(event: &Event, style: &'a Style, msgid: &'a str) -> syslog::Header<'a> {
    syslog::Header {
        facility: style.facility,
        severity: severity(event.kind),
        time_ms: event.at.saturating_mul(1000),
        hostname: &style.hostname,
        app_name: APP_NAME,
        procid: "",
        msgid,
    }
}

fn severity(kind: Kind) -> syslog::Severity {
    use syslog::Severity::*;
    match kind.syslog_severity() {
        0 => Emergency,
        1 => Alert,
        2 => Critical,
        3 => Error,
        4 => Warning,
        5 => Notice,
        6 => Informational,
        _ => Debug,
    }
}

/// `rfc5424`: one SD-ELEMENT [`SD_ID`] with `event.action`, `event.dataset`, `event.severity`,
/// `event.sequence` and then every field as a PARAM named by its field name (a repeated field
/// repeats its PARAM); MSG the kind's summary.
fn rfc5424(event: &Event, values: &[(Field, Cow<'_, str>)], head: &syslog::Header<'_>) -> String {
    let dataset = dataset(event.kind);
    let severity = event.kind.severity().to_string();
    let seq = event.seq.to_string();
    let mut params: Vec<(&str, &str)> = vec![
        ("event.action", event.kind.name()),
        ("event.dataset", &dataset),
        ("event.severity", &severity),
        ("event.sequence", &seq),
    ];
    params.extend(values.iter().map(|(f, v)| (f.name(), v.as_ref())));
    let sd = [syslog::Element {
        id: SD_ID,
        params: &params,
    }];
    syslog::rfc5424(head, &sd, Some(event.kind.summary()))
}

/// `rfc3164`'s message: `event.code=205 event.action=... event.dataset=... event.severity=...
/// event.sequence=...` and then `name=value` per field (a repeated field repeats its key). A value
/// that is empty or holds a space, `"`, `\`, `=` or a control character is written in double
/// quotes with `"` and `\` escaped by a backslash and line breaks and tabs as `\n`, `\r`, `\t`.
fn key_values(event: &Event, values: &[(Field, Cow<'_, str>)]) -> String {
    let k = event.kind;
    let mut out = format!(
        "event.code={} event.action={} event.dataset={} event.severity={} event.sequence={}",
        k.id(),
        k.name(),
        dataset(k),
        k.severity(),
        event.seq
    );
    for (f, v) in values {
        out.push(' ');
        out.push_str(f.name());
        out.push('=');
        quoted(v, &mut out);
    }
    out
}

fn quoted(v: &str, out: &mut String) {
    let plain = !v.is_empty()
        && v.chars()
            .all(|c| !c.is_control() && !matches!(c, ' ' | '"' | '\\' | '='));
    if plain {
        out.push_str(v);
        return;
    }
    out.push('"');
    for c in v.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One UDP datagram of at most `cap` bytes (RFC 5426): a longer message is cut on a character
/// boundary and the cut marked with [`CUT_MARK`] (`...`) at its end. An RFC 5424 message cut in its
/// structured data stays well formed: a PARAM-VALUE cut short ends in `..."]`, a cut elsewhere in
/// the element drops the partial parameter and closes the element, then ` ...` as MSG. A trailing
/// unpaired backslash (half an escape) is dropped before the mark.
pub fn udp_datagram(message: &str, cap: usize) -> Vec<u8> {
    if message.len() <= cap {
        return message.as_bytes().to_vec();
    }
    if cap < CUT_MARK.len() + 2 {
        return floor(message, cap).as_bytes().to_vec();
    }
    if let Some(sd) = sd_start(message).filter(|&s| s < cap - CUT_MARK.len() - 2) {
        // Two more bytes of room for the closing `"]` or `] `.
        let kept = floor(message, cap - CUT_MARK.len() - 2);
        if let Some(out) = close_sd(kept, sd) {
            return out.into_bytes();
        }
    }
    let mut out = unescaped_end(floor(message, cap - CUT_MARK.len())).to_string();
    out.push_str(CUT_MARK);
    out.into_bytes()
}

/// `s` cut to at most `max` bytes on a character boundary.
fn floor(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// `s` without a trailing backslash that would escape what follows (an odd run of them).
fn unescaped_end(s: &str) -> &str {
    let run = s.len() - s.trim_end_matches('\\').len();
    if run % 2 == 1 { &s[..s.len() - 1] } else { s }
}

/// Where the structured data of an RFC 5424 message starts (`<PRI>1 TS HOST APP PROCID MSGID SD`),
/// if `message` is one and its structured data is not NILVALUE.
fn sd_start(message: &str) -> Option<usize> {
    let rest = message.strip_prefix('<')?;
    let close = rest.find('>')?;
    if !rest[..close].bytes().all(|b| b.is_ascii_digit()) || !rest[close + 1..].starts_with("1 ") {
        return None;
    }
    let (mut at, mut spaces) = (0, 0);
    for (i, b) in message.bytes().enumerate() {
        if b == b' ' {
            spaces += 1;
            if spaces == 6 {
                at = i + 1;
                break;
            }
        }
    }
    (spaces == 6 && message[at..].starts_with('[')).then_some(at)
}

/// `kept` (a prefix of an RFC 5424 message whose SD starts at `sd`) closed and marked, or `None`
/// when the cut lies past the structured data (in MSG), where a plain mark does.
fn close_sd(kept: &str, sd: usize) -> Option<String> {
    #[derive(PartialEq)]
    enum At {
        Between,
        Element,
        Value,
    }
    let (mut at, mut escaped) = (At::Between, false);
    // Where the current element started, and the last place it could end (after its SD-ID or
    // after a complete PARAM).
    let (mut element, mut clean) = (sd, None);
    for (i, c) in kept[sd..].char_indices() {
        let i = sd + i;
        match at {
            At::Between if c == '[' => {
                at = At::Element;
                (element, clean) = (i, None);
            }
            At::Between => return None,
            At::Element if c == '"' => at = At::Value,
            At::Element if c == ']' => at = At::Between,
            At::Element if c == ' ' => clean = Some(i),
            At::Element => {}
            At::Value if escaped => escaped = false,
            At::Value if c == '\\' => escaped = true,
            At::Value if c == '"' => {
                at = At::Element;
                clean = Some(i + 1);
            }
            At::Value => {}
        }
    }
    Some(match (at, clean) {
        (At::Value, _) => format!("{}{CUT_MARK}\"]", unescaped_end(kept)),
        (At::Element, Some(end)) => format!("{}] {CUT_MARK}", &kept[..end]),
        // The SD-ID itself was cut: the element goes (the first one: the SD is NILVALUE).
        (At::Element, None) if element == sd => format!("{}- {CUT_MARK}", &kept[..sd]),
        (At::Element, None) => format!("{} {CUT_MARK}", &kept[..element]),
        (At::Between, _) => format!("{kept} {CUT_MARK}"),
    })
}

#[cfg(test)]
mod tests;
