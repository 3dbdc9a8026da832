//! The MIME structure of a message as rewriting needs it: every part's byte ranges in the message
//! (mail-parser's offsets, over the input with nested-message types and quoted-printable
//! renamed in place exactly as `decompose` does, so no nested message is ever parsed, no body
//! decoded by mail-parser, and offsets stay those of the input),
//! its type, charset, transfer encoding, disposition and name; and header fields as byte ranges.

use std::ops::Range;

use mail_parser::{HeaderValue, MessageParser, MimeHeaders, PartType};

/// One MIME part.
#[derive(Debug, Clone)]
pub(super) struct Node {
    /// Its header block, blank line included (`offset_header..offset_body`).
    pub header: Range<usize>,
    /// Its body: from `offset_body` to the line break before the next delimiter (or the end).
    pub body: Range<usize>,
    /// `type/subtype`, lowercase; `text/plain` when not given.
    pub ctype: String,
    pub charset: Option<String>,
    /// The transfer encoding as written, lowercase and trimmed.
    pub cte: Option<String>,
    /// `Content-Disposition: attachment`.
    pub attachment: bool,
    /// Children, for a multipart.
    pub children: Vec<usize>,
    pub parent: Option<usize>,
}

impl Node {
    pub fn is_multipart(&self) -> bool {
        self.ctype.starts_with("multipart/")
    }

    /// The range of the whole part, header and body.
    pub fn whole(&self) -> Range<usize> {
        self.header.start..self.body.end
    }
}

/// The parts of a message, root first (mail-parser's part order), with the attachments of the
/// message itself as `decompose` names them.
#[derive(Debug)]
pub(super) struct Tree {
    pub nodes: Vec<Node>,
    /// The message's line ending (`\r\n` unless its first line ends with a bare `\n`).
    pub eol: &'static [u8],
    /// (part index, display name as in `decompose`'s locations), in mail-parser's attachment
    /// order; parts that are also body texts are left out.
    pub attachments: Vec<(usize, String)>,
}

/// Parses the structure; `None` when the input has no header to speak of.
pub(super) fn parse(raw: &[u8]) -> Option<Tree> {
    let mut defused = crate::decompose::defuse(raw);
    // mail-parser never decodes quoted-printable here (its decoder can panic on bad input).
    crate::decompose::rename_quoted_printable(&mut defused);
    let msg = MessageParser::default().parse(defused.as_ref())?;
    let has_header = msg.parts.first().is_some_and(|p| {
        p.headers
            .iter()
            .any(|h| !matches!(h.value, HeaderValue::Empty))
    });
    if !has_header {
        return None;
    }
    let len = raw.len();
    let clamp = |x: u32| (x as usize).min(len);
    let mut nodes: Vec<Node> = msg
        .parts
        .iter()
        .map(|p| {
            let ctype = p.content_type().map_or_else(
                || "text/plain".to_string(),
                |ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
                    None => ct.ctype().to_ascii_lowercase(),
                },
            );
            let start = clamp(p.offset_header);
            let body = clamp(p.offset_body).max(start);
            Node {
                header: start..body,
                body: body..clamp(p.offset_end).max(body),
                ctype,
                charset: p
                    .content_type()
                    .and_then(|ct| ct.attribute("charset"))
                    .map(|c| c.trim().to_ascii_lowercase()),
                cte: p.content_transfer_encoding().map(|c| {
                    if c.as_bytes() == crate::decompose::QP_STAND_IN {
                        "quoted-printable".to_string()
                    } else {
                        c.trim().to_ascii_lowercase()
                    }
                }),
                attachment: p.content_disposition().is_some_and(|d| d.is_attachment()),
                children: match &p.body {
                    PartType::Multipart(ids) => ids
                        .iter()
                        .map(|&i| i as usize)
                        .filter(|&i| i < msg.parts.len())
                        .collect(),
                    _ => Vec::new(),
                },
                parent: None,
            }
        })
        .collect();
    // Parents, and children that come after their parent only (a tree, whatever the input).
    for i in 0..nodes.len() {
        let kids = std::mem::take(&mut nodes[i].children);
        let mut kept = Vec::with_capacity(kids.len());
        for k in kids {
            if k > i && nodes[k].parent.is_none() {
                nodes[k].parent = Some(i);
                kept.push(k);
            }
        }
        nodes[i].children = kept;
    }
    let bodies: Vec<u32> = msg
        .text_body
        .iter()
        .chain(&msg.html_body)
        .copied()
        .collect();
    let attachments = msg
        .attachments
        .iter()
        .enumerate()
        .filter(|(_, id)| !bodies.contains(id))
        .filter_map(|(n, &id)| {
            let part = msg.parts.get(id as usize)?;
            let message = matches!(part.body, PartType::Message(_))
                || nodes[id as usize].ctype.starts_with("message/");
            let name = match part.attachment_name() {
                Some(name) => name.to_string(),
                None if message => format!("message-{}.eml", n + 1),
                None => format!("part-{}", n + 1),
            };
            Some((id as usize, crate::decompose::segment(&name)))
        })
        .collect();
    let eol: &'static [u8] = match memchr::memchr(b'\n', raw) {
        Some(i) if i == 0 || raw[i - 1] != b'\r' => b"\n",
        _ => b"\r\n",
    };
    Some(Tree {
        nodes,
        eol,
        attachments,
    })
}

/// A header field: its whole range (folded lines and line break included) and name.
pub(super) struct FieldAt {
    pub range: Range<usize>,
    pub name: Range<usize>,
    pub value: Range<usize>,
}

/// The fields of a header block `raw[range]` (which ends at, or includes, the blank line).
pub(super) fn fields(raw: &[u8], range: Range<usize>) -> Vec<FieldAt> {
    let mut out: Vec<FieldAt> = Vec::new();
    let mut at = range.start;
    while at < range.end {
        let line_end = memchr::memchr(b'\n', &raw[at..range.end]).map_or(range.end, |i| at + i + 1);
        let line = &raw[at..line_end];
        let blank = line.iter().all(|&b| b == b'\r' || b == b'\n');
        if blank {
            break;
        }
        if matches!(line[0], b' ' | b'\t') {
            if let Some(last) = out.last_mut() {
                last.range.end = line_end;
                last.value.end = line_end;
            }
        } else if let Some(colon) = memchr::memchr(b':', line) {
            out.push(FieldAt {
                range: at..line_end,
                name: at..at + colon,
                value: at + colon + 1..line_end,
            });
        }
        at = line_end;
    }
    out
}

/// Whether the field's name is `name` (case-insensitive, spaces before the colon allowed).
pub(super) fn is_named(raw: &[u8], f: &FieldAt, name: &str) -> bool {
    raw[f.name.clone()]
        .trim_ascii_end()
        .eq_ignore_ascii_case(name.as_bytes())
}

/// A field's unfolded, trimmed value as text.
pub(super) fn value(raw: &[u8], f: &FieldAt) -> String {
    let v: Vec<u8> = raw[f.value.clone()]
        .iter()
        .copied()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    String::from_utf8_lossy(v.trim_ascii()).into_owned()
}

/// Whether a MIME-level field (`Content-*`): these describe the body and move with it.
pub(super) fn is_content_field(raw: &[u8], f: &FieldAt) -> bool {
    let name = raw[f.name.clone()].trim_ascii_end();
    name.len() > 8 && name[..8].eq_ignore_ascii_case(b"content-")
}
