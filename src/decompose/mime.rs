//! The MIME tree of a message (mail-parser): header fields, body texts, attachments and nested
//! messages, each handed on as text parts or to [`Walker::file`].
//!
//! Text attachments are re-decoded from their raw transfer encoding before sniffing, because
//! mail-parser's charset decoding would corrupt a binary file declared `text/plain`.

use std::borrow::Cow;

use mail_parser::{HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType};

use super::recode::{self, Renamed};
use super::walk::{Walker, join};
use super::{
    Anomaly, FileMeta, FileType, LimitKind, Location, Malformation, defuse, filetype, html,
    text::fingerprint, transfer,
};

/// Header fields whose text detection sees. Address fields contribute display names only: the
/// addresses themselves are the envelope's business (sender and recipient rules).
const TEXT_HEADERS: &[&str] = &["Subject", "Comments", "Keywords"];
const ADDRESS_HEADERS: &[&str] = &["From", "Sender", "Reply-To", "To", "Cc", "Bcc"];

impl Walker<'_> {
    /// Decomposes a message at nesting `depth`. `prefix` is its display path when nested
    /// (`None` for the message itself, whose parts get [`Location::Header`] and [`Location::Body`]).
    pub(super) fn message(&mut self, raw: &[u8], prefix: Option<&str>, depth: u32) {
        let path = prefix.unwrap_or("");
        if !self.in_time(path) {
            return;
        }
        let defused = defuse::defuse(raw);
        // Base64 and us-ascii bodies decoded here rather than by mail-parser, when that cannot
        // change the result (see `recode`).
        if self.recode
            && let Some(mut renamed) = recode::rename(&defused)
        {
            if !self.cut {
                renamed.uncut();
            }
            // First with the base64 bodies cut out, then (rarely) without cuts.
            loop {
                if let Some(mut msg) = MessageParser::default().parse(renamed.input())
                    && has_header(&msg)
                    && renamed.usable(&msg)
                {
                    self.tree(&mut msg, prefix, depth, Some(&renamed));
                    return;
                }
                if !renamed.is_cut() {
                    break;
                }
                renamed.uncut();
            }
        }
        match MessageParser::default().parse(defused.as_ref()) {
            Some(mut msg) if has_header(&msg) => self.tree(&mut msg, prefix, depth, None),
            _ => {
                // No header field with a value: the whole input is body text.
                self.anomaly(Anomaly::Malformed {
                    path: path.to_string(),
                    what: Malformation::Mime,
                });
                let text = filetype::decode_text(Cow::Borrowed(raw)).into_owned();
                self.push(body_location(prefix), text, None);
            }
        }
    }

    /// `renamed`: the message was parsed with `recode`'s stand-ins, so its renamed bodies are
    /// decoded here.
    fn tree(
        &mut self,
        msg: &mut Message<'_>,
        prefix: Option<&str>,
        depth: u32,
        renamed: Option<&Renamed>,
    ) {
        self.headers(msg, prefix);
        self.bodies(msg, prefix, renamed);
        let msg = &*msg;
        for (n, &id) in msg.attachments.iter().enumerate() {
            let path = prefix.unwrap_or("");
            if !self.in_time(path) {
                return;
            }
            self.parts_seen += 1;
            if self.parts_seen > self.limits.max_parts {
                self.limit(LimitKind::Parts, path);
                return;
            }
            let Some(part) = msg.parts.get(id as usize) else {
                continue;
            };
            self.attachment(msg, part, n, prefix, depth + 1, renamed);
        }
    }

    fn headers(&mut self, msg: &Message<'_>, prefix: Option<&str>) {
        for &name in TEXT_HEADERS {
            let text: Vec<&str> = msg
                .header_values(name)
                .filter_map(|v| v.as_text())
                .collect();
            if !text.is_empty() {
                self.push(header_location(prefix, name), text.join("\n"), None);
            }
        }
        for &name in ADDRESS_HEADERS {
            let names: Vec<&str> = msg
                .header_values(name)
                .filter_map(|v| v.as_address())
                .flat_map(|a| {
                    let groups = a
                        .as_group()
                        .unwrap_or_default()
                        .iter()
                        .filter_map(|g| g.name.as_deref());
                    a.iter()
                        .filter_map(|addr| addr.name())
                        .chain(groups)
                        .collect::<Vec<_>>()
                })
                .collect();
            if !names.is_empty() {
                self.push(header_location(prefix, name), names.join("\n"), None);
            }
        }
    }

    /// Body texts: the plain-text alternative, plus any HTML alternative whose text differs (a
    /// sender can hide content in the HTML part alone; alternatives with the same words are
    /// counted once). A decoded text nothing else refers to is moved out of `msg`, not copied.
    fn bodies(&mut self, msg: &mut Message<'_>, prefix: Option<&str>, renamed: Option<&Renamed>) {
        // References to each part: from the body lists and the attachment list.
        let mut refs = vec![0u8; msg.parts.len()];
        let mut ids: Vec<u32> = Vec::with_capacity(msg.text_body.len() + msg.html_body.len());
        for &id in &msg.text_body {
            if let Some(r) = refs.get_mut(id as usize) {
                *r = r.saturating_add(1);
            }
            ids.push(id);
        }
        let in_text = refs.clone();
        for &id in &msg.html_body {
            if in_text.get(id as usize).is_some_and(|&r| r > 0) {
                continue;
            }
            if let Some(r) = refs.get_mut(id as usize) {
                *r = r.saturating_add(1);
            }
            ids.push(id);
        }
        drop(in_text);
        for &id in &msg.attachments {
            if let Some(r) = refs.get_mut(id as usize) {
                *r = r.saturating_add(1);
            }
        }
        // Fingerprints only matter when there is more than one body.
        let compare = ids.len() > 1;
        let mut seen: Vec<[u8; 32]> = Vec::new();
        for id in ids {
            let only_here = refs.get(id as usize) == Some(&1);
            // A renamed base64 body: decoded here, then its charset applied.
            let recoded = match (renamed, msg.parts.get(id as usize)) {
                (Some(r), Some(part)) if r.is_base64(part) => {
                    Some(recode::text(r.base64_body(msg, part), r.charset(part)))
                }
                // A us-ascii body cut out of mail-parser's input.
                (Some(r), Some(part)) => r.cut_text(msg, part),
                _ => None,
            };
            let Some(part) = msg.parts.get_mut(id as usize) else {
                continue;
            };
            let text = match (&mut part.body, recoded) {
                (PartType::Text(_), Some(t)) => t,
                (PartType::Html(_), Some(t)) => html::to_text(&t),
                (PartType::Text(t), None) if only_here => std::mem::take(t).into_owned(),
                (PartType::Text(t), None) => t.to_string(),
                (PartType::Html(h), None) => html::to_text(h),
                _ => continue,
            };
            if compare {
                let key = fingerprint(&text);
                if seen.contains(&key) {
                    continue;
                }
                seen.push(key);
            }
            if part.is_encoding_problem {
                self.anomaly(Anomaly::Malformed {
                    path: body_location(prefix).to_string(),
                    what: Malformation::Encoding,
                });
            }
            self.push(body_location(prefix), text, None);
        }
    }

    fn attachment(
        &mut self,
        msg: &Message<'_>,
        part: &MessagePart<'_>,
        n: usize,
        prefix: Option<&str>,
        depth: u32,
        renamed: Option<&Renamed>,
    ) {
        let base64 = renamed.is_some_and(|r| r.is_base64(part));
        let declared = part.content_type().map(|ct| {
            defuse::restore(match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
                None => ct.ctype().to_ascii_lowercase(),
            })
        });
        let name = part.attachment_name().map(str::to_string);
        let default_name = if matches!(part.body, PartType::Message(_))
            || declared
                .as_deref()
                .is_some_and(|d| d.starts_with("message/"))
        {
            format!("message-{}.eml", n + 1)
        } else {
            format!("part-{}", n + 1)
        };
        let path = join(
            prefix.unwrap_or(""),
            name.as_deref().unwrap_or(&default_name),
        );
        if part.is_encoding_problem {
            self.anomaly(Anomaly::Malformed {
                path: path.clone(),
                what: Malformation::Encoding,
            });
        }
        match &part.body {
            PartType::Text(text) | PartType::Html(text) => {
                // A us-ascii body cut out of mail-parser's input: its text is its bytes.
                let cut = renamed.and_then(|r| r.cut_text(msg, part));
                let text = cut.as_deref().unwrap_or(text);
                let raw = match renamed {
                    Some(r) if base64 => r.base64_body(msg, part),
                    _ if cut.is_some() => text.as_bytes().to_vec(),
                    _ => raw_body(msg, part),
                };
                let size = raw.len() as u64;
                let true_type = filetype::sniff(&raw);
                // After a transfer-encoding error mail-parser keeps the encoded text; the lenient
                // decode is better then.
                if !part.is_encoding_problem
                    && matches!(true_type, FileType::Text | FileType::Html | FileType::Empty)
                {
                    // Text as mail-parser decoded it (charset applied).
                    let is_html =
                        matches!(part.body, PartType::Html(_)) || true_type == FileType::Html;
                    let out = match renamed {
                        Some(r) if base64 => {
                            let text = recode::text(raw, r.charset(part));
                            if is_html { html::to_text(&text) } else { text }
                        }
                        _ if is_html => html::to_text(text),
                        _ => text.to_string(),
                    };
                    let meta = FileMeta {
                        name,
                        declared_type: declared,
                        true_type: if is_html { FileType::Html } else { true_type },
                        size,
                        encrypted: false,
                    };
                    self.push(Location::Attachment(path), out, Some(meta));
                } else {
                    self.file(Cow::Owned(raw), name, declared, &path, depth);
                }
            }
            PartType::Binary(data) | PartType::InlineBinary(data) => {
                let data: Cow<'_, [u8]> = match renamed {
                    Some(r) if base64 => Cow::Owned(r.base64_body(msg, part)),
                    _ => Cow::Borrowed(data),
                };
                if declared
                    .as_deref()
                    .is_some_and(|d| d.starts_with("message/"))
                    && filetype::looks_like_text(&data)
                {
                    // A nested message mail-parser did not parse (encoded past its own depth).
                    self.nested(&data, None, name, declared, &path, depth);
                } else {
                    self.file(data, name, declared, &path, depth);
                }
            }
            PartType::Message(inner) => {
                self.nested(
                    inner.raw_message(),
                    Some(inner),
                    name,
                    declared,
                    &path,
                    depth,
                );
            }
            PartType::Multipart(_) => {}
        }
    }

    /// A nested message at `depth`: its own part, then its content under `path`.
    fn nested(
        &mut self,
        raw: &[u8],
        parsed: Option<&Message<'_>>,
        name: Option<String>,
        declared: Option<String>,
        path: &str,
        depth: u32,
    ) {
        let meta = FileMeta {
            name,
            declared_type: declared,
            true_type: FileType::Message,
            size: raw.len() as u64,
            encrypted: false,
        };
        self.push(
            Location::Attachment(path.to_string()),
            String::new(),
            Some(meta),
        );
        if depth >= self.limits.max_depth {
            self.limit(LimitKind::Depth, path);
            return;
        }
        match parsed {
            // Rare: `defuse` keeps mail-parser from building nested messages.
            Some(msg) => self.tree(&mut msg.clone(), Some(path), depth, None),
            None => self.message(raw, Some(path), depth),
        }
    }
}

/// True when the message has at least one header field with a value (mail-parser turns a first
/// line of garbage into a header field with no value).
fn has_header(msg: &Message<'_>) -> bool {
    msg.parts.first().is_some_and(|p| {
        p.headers
            .iter()
            .any(|h| !matches!(h.value, HeaderValue::Empty))
    })
}

/// The raw body of a part, transfer-decoded but not charset-decoded.
fn raw_body(msg: &Message<'_>, part: &MessagePart<'_>) -> Vec<u8> {
    let start = part.raw_body_offset() as usize;
    let end = part.raw_end_offset() as usize;
    // Offsets are into the `raw_message` field (for a nested unencoded message, the outermost
    // raw message), not into the slice `raw_message()` returns.
    let raw = msg
        .raw_message
        .get(start..end.max(start))
        .unwrap_or_default();
    // The header, not `part.encoding`: mail-parser resets that to none when decoding failed.
    match part.content_transfer_encoding() {
        Some(e) if e.eq_ignore_ascii_case("base64") => transfer::base64(raw),
        Some(e) if e.eq_ignore_ascii_case("quoted-printable") => transfer::quoted_printable(raw),
        _ => raw.to_vec(),
    }
}

fn header_location(prefix: Option<&str>, name: &str) -> Location {
    match prefix {
        None => Location::Header(name.to_string()),
        Some(p) => Location::Attachment(format!("{p}/[{name}]")),
    }
}

fn body_location(prefix: Option<&str>) -> Location {
    match prefix {
        None => Location::Body,
        Some(p) => Location::Attachment(format!("{p}/[body]")),
    }
}
