//! The MIME tree of a message (mail-parser): header fields, body texts, attachments and nested
//! messages, each handed on as text parts or to [`Walker::file`].
//!
//! mail-parser finds the parts and reads the header fields; it never transfer-decodes a body the
//! walker uses: base64 and quoted-printable bodies are decoded from their raw bytes by `transfer`,
//! leniently as mail clients do (a badly encoded body is an anomaly, not hidden text), and text
//! gets its charset afterwards. Bodies mail-parser could not decode are first rewritten by `repair`
//! so that it classifies the parts as in a well-formed message. Decoding attachments from their raw
//! bytes also keeps mail-parser's charset decoding from corrupting a binary file sent as
//! `text/plain`.

use std::borrow::Cow;

use mail_parser::{HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType};

use super::recode::{self, Renamed};
use super::repair::{self, Repaired};
use super::transfer::{Decoded, Encoding};
use super::walk::{Walker, join};
use super::{
    Anomaly, FileMeta, FileType, LimitKind, Location, Malformation, defuse, filetype, html,
    text::fingerprint,
};

/// How the bodies of one parse are read: through `recode`'s stand-ins, after `repair`, or as
/// parsed.
#[derive(Clone, Copy, Default)]
struct Source<'r> {
    renamed: Option<&'r Renamed>,
    repaired: Option<&'r Repaired>,
    /// Where `recode::rename_quoted_printable` wrote its stand-in, in the input.
    qp_at: &'r [usize],
}

/// Header fields whose text detection sees. Address fields contribute display names only: the
/// addresses themselves are the envelope's business (sender and recipient rules).
pub(super) const TEXT_HEADERS: &[&str] = &["Subject", "Comments", "Keywords"];
const ADDRESS_HEADERS: &[&str] = &["From", "Sender", "Reply-To", "To", "Cc", "Bcc"];

impl Walker<'_> {
    /// Decomposes a message at nesting `depth`. `prefix` is its display path when nested
    /// (`None` for the message itself, whose parts get [`Location::Header`] and [`Location::Body`]).
    pub(super) fn message(&mut self, raw: &[u8], prefix: Option<&str>, depth: u32) {
        let path = prefix.unwrap_or("");
        if !self.in_time(path) {
            return;
        }
        let mut defused = defuse::defuse(raw);
        let qp_at = recode::rename_quoted_printable(&mut defused);
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
                    let src = Source {
                        renamed: Some(&renamed),
                        repaired: None,
                        qp_at: &qp_at,
                    };
                    self.tree(&mut msg, prefix, depth, src);
                    return;
                }
                if !renamed.is_cut() {
                    break;
                }
                renamed.uncut();
            }
        }
        match MessageParser::default().parse(defused.as_ref()) {
            Some(mut msg) if has_header(&msg) => {
                // Bodies mail-parser could not decode: rewritten, and the message parsed again.
                if let Some(fixed) = repair::repair(&msg)
                    && let Some(mut again) = MessageParser::default().parse(fixed.bytes.as_slice())
                    && has_header(&again)
                {
                    let src = Source {
                        renamed: None,
                        repaired: Some(&fixed),
                        qp_at: &qp_at,
                    };
                    self.tree(&mut again, prefix, depth, src);
                    return;
                }
                let src = Source {
                    qp_at: &qp_at,
                    ..Source::default()
                };
                self.tree(&mut msg, prefix, depth, src);
            }
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

    fn tree(&mut self, msg: &mut Message<'_>, prefix: Option<&str>, depth: u32, src: Source<'_>) {
        self.headers(msg, prefix);
        self.bodies(msg, prefix, src);
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
            self.attachment(msg, part, n, prefix, depth + 1, src);
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
    fn bodies(&mut self, msg: &mut Message<'_>, prefix: Option<&str>, src: Source<'_>) {
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
            // A transfer-encoded body: decoded here, then its charset applied.
            let (recoded, unclean) = match msg.parts.get(id as usize) {
                Some(part) => match decoded(msg, part, src) {
                    Some(d) => (Some(recode::text(d.bytes, charset(part, src))), !d.clean),
                    // A us-ascii body cut out of mail-parser's input.
                    None => (src.renamed.and_then(|r| r.cut_text(msg, part)), false),
                },
                None => (None, false),
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
            if part.is_encoding_problem || unclean {
                self.anomaly(Anomaly::Malformed {
                    path: body_path(prefix),
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
        src: Source<'_>,
    ) {
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
        let decoded = decoded(msg, part, src);
        if part.is_encoding_problem || decoded.as_ref().is_some_and(|d| !d.clean) {
            self.anomaly(Anomaly::Malformed {
                path: path.clone(),
                what: Malformation::Encoding,
            });
        }
        match &part.body {
            PartType::Text(text) | PartType::Html(text) => {
                // A us-ascii body cut out of mail-parser's input: its text is its bytes.
                let cut = src.renamed.and_then(|r| r.cut_text(msg, part));
                let encoded = decoded.is_some();
                let raw = match decoded {
                    Some(d) => d.bytes,
                    None => match &cut {
                        Some(c) => c.as_bytes().to_vec(),
                        None => recode::raw_region(msg, part).to_vec(),
                    },
                };
                let text = cut.as_deref().unwrap_or(text);
                let size = raw.len() as u64;
                let true_type = filetype::sniff(&raw);
                // After an encoding problem in a body that is not transfer-encoded mail-parser
                // keeps its own reading; the file path reads the bytes then.
                if (encoded || !part.is_encoding_problem)
                    && matches!(true_type, FileType::Text | FileType::Html | FileType::Empty)
                {
                    // Text with its charset applied.
                    let is_html =
                        matches!(part.body, PartType::Html(_)) || true_type == FileType::Html;
                    let out = if encoded {
                        let text = recode::text(raw, charset(part, src));
                        if is_html { html::to_text(&text) } else { text }
                    } else if is_html {
                        html::to_text(text)
                    } else {
                        text.to_string()
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
                let data: Cow<'_, [u8]> = match decoded {
                    Some(d) => Cow::Owned(d.bytes),
                    None => Cow::Borrowed(data),
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
            Some(msg) => self.tree(&mut msg.clone(), Some(path), depth, Source::default()),
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

/// A part's body decoded from its transfer encoding here (never by mail-parser), from the raw
/// bytes of the parse; `None` when it has no encoding decoded here.
fn decoded(msg: &Message<'_>, part: &MessagePart<'_>, src: Source<'_>) -> Option<Decoded> {
    if let Some(r) = src.renamed
        && r.is_base64(part)
    {
        return Some(r.base64_body(msg, part));
    }
    // The header, not `part.encoding`: mail-parser resets that to none when decoding failed.
    let value = part.content_transfer_encoding()?;
    let encoding = if value.as_bytes() == recode::QP_STAND_IN {
        is_renamed_qp(part, src).then_some(Encoding::QuotedPrintable)?
    } else {
        Encoding::of(value)?
    };
    let raw = match src.renamed {
        Some(r) => r.region(msg, part),
        None => recode::raw_region(msg, part),
    };
    let mut d = encoding.decode(raw);
    if let Some(clean) = src.repaired.and_then(|r| r.clean_at(part.offset_body)) {
        d.clean = clean;
    }
    Some(d)
}

/// Whether the quoted-printable stand-in in the part's header was written by
/// `recode::rename_quoted_printable` (one already in the input means an unknown encoding).
fn is_renamed_qp(part: &MessagePart<'_>, src: Source<'_>) -> bool {
    if let Some(r) = src.renamed {
        return r.in_header(src.qp_at, part);
    }
    let original = |at: u32| match src.repaired {
        Some(r) => r.original(at as usize),
        None => at as usize,
    };
    let header = original(part.offset_header)..original(part.raw_body_offset());
    src.qp_at.iter().any(|at| header.contains(at))
}

/// The part's charset as sent.
fn charset<'p>(part: &'p MessagePart<'_>, src: Source<'_>) -> Option<&'p str> {
    match src.renamed {
        Some(r) => r.charset(part),
        None => part.content_type().and_then(|ct| ct.attribute("charset")),
    }
}

fn header_location(prefix: Option<&str>, name: &str) -> Location {
    match prefix {
        None => Location::Header(name.to_string()),
        Some(p) => Location::Attachment(format!("{p}/[{name}]")),
    }
}

/// The display path of a body in anomalies: `body`, or `fwd.eml/[body]` in a nested message.
fn body_path(prefix: Option<&str>) -> String {
    match prefix {
        None => "body".to_string(),
        Some(p) => format!("{p}/[body]"),
    }
}

fn body_location(prefix: Option<&str>) -> Location {
    match prefix {
        None => Location::Body,
        Some(p) => Location::Attachment(format!("{p}/[body]")),
    }
}
