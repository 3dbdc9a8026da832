//! Adding a disclaimer: to the message's body texts (text/plain gets the text, text/html the HTML
//! before its last `</body>`; both alternatives of a multipart/alternative), or, when those cannot
//! take it (signed or encrypted mail, inline PGP, no body text, a charset the text has no bytes
//! in), as a part of its own: the message becomes a multipart/mixed whose first part is the
//! original body with its MIME header fields, untouched byte for byte, so a signature over it
//! still verifies. Attachments and nested messages are never touched.

use std::ops::Range;

use super::encode::{self, Cte};
use super::mime::{self, Tree};
use super::{Disclaimer, MARKER};

/// What adding one disclaimer came to.
pub(super) enum Added {
    /// The message as it was: already marked, or DKIM-signed.
    Unchanged,
    Message(Vec<u8>),
}

pub(super) fn add(raw: &[u8], tree: &Tree, d: &Disclaimer) -> Added {
    let root = &tree.nodes[0];
    let fields = mime::fields(raw, root.header.clone());
    let marked = fields.iter().any(|f| {
        mime::is_named(raw, f, MARKER) && mime::value(raw, f).eq_ignore_ascii_case(&d.name)
    });
    let signed = fields
        .iter()
        .any(|f| mime::is_named(raw, f, "DKIM-Signature"));
    if marked || d.skip_dkim_signed && signed {
        return Added::Unchanged;
    }
    let mut targets = Vec::new();
    let placed = collect(tree, 0, 0, &mut targets) && !targets.is_empty();
    let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
    let mut separate = !placed;
    if placed {
        for &id in &targets {
            match leaf(raw, tree, id, d) {
                // Already there (its marker removed on the way in: a gateway listener drops
                // the markers clients send): only the marker is added back.
                Leaf::Present => {
                    return Added::Message(marked_with(raw.to_vec(), &d.name, tree.eol));
                }
                Leaf::Separate => separate = true,
                Leaf::Edit(mut e) => edits.append(&mut e),
            }
        }
    }
    if separate && wrapped_before(raw, tree, d) {
        return Added::Message(marked_with(raw.to_vec(), &d.name, tree.eol));
    }
    let message = if separate {
        wrap(raw, tree, d)
    } else {
        splice(raw, edits)
    };
    Added::Message(marked_with(message, &d.name, tree.eol))
}

/// The body texts of part `id` that take the disclaimer; `false` when the part must not be
/// touched (signed, encrypted, a digest) or has no body text where one is looked for (or
/// lies deeper than [`MAX_DEPTH`]).
fn collect(tree: &Tree, id: usize, depth: usize, out: &mut Vec<usize>) -> bool {
    let n = &tree.nodes[id];
    if sealed(&n.ctype) || depth > MAX_DEPTH {
        return false;
    }
    if !n.is_multipart() {
        let text = matches!(n.ctype.as_str(), "text/plain" | "text/html");
        if text && !n.attachment {
            out.push(id);
        }
        return text && !n.attachment;
    }
    match n.ctype.as_str() {
        // A digest's parts are messages (the subtype is renamed by `decompose::defuse`).
        "multipart/x-sldg" | "multipart/digest" => false,
        "multipart/alternative" => {
            for &c in &n.children {
                let child = &tree.nodes[c];
                let body = child.is_multipart()
                    || matches!(child.ctype.as_str(), "text/plain" | "text/html");
                if body && !collect(tree, c, depth + 1, out) {
                    return false;
                }
            }
            true
        }
        // mixed, related, report and the rest: the body is the first part.
        _ => n
            .children
            .first()
            .is_some_and(|&c| collect(tree, c, depth + 1, out)),
    }
}

/// The deepest multipart nesting looked into for body texts (a message nested deeper gets the
/// disclaimer as a part of its own).
const MAX_DEPTH: usize = 16;

/// Content whose bytes a signature or an encryption covers.
fn sealed(ctype: &str) -> bool {
    matches!(
        ctype,
        "multipart/signed"
            | "multipart/encrypted"
            | "application/pkcs7-mime"
            | "application/x-pkcs7-mime"
            | "application/pkcs7-signature"
            | "application/x-pkcs7-signature"
            | "application/pgp-encrypted"
            | "application/pgp-signature"
    )
}

enum Leaf {
    /// The part already ends with (or holds) the disclaimer.
    Present,
    /// The text cannot go into this part (charset, inline PGP).
    Separate,
    Edit(Vec<(Range<usize>, Vec<u8>)>),
}

fn leaf(raw: &[u8], tree: &Tree, id: usize, d: &Disclaimer) -> Leaf {
    let n = &tree.nodes[id];
    let cte = Cte::of(n.cte.as_deref());
    let decoded = cte.decode(&raw[n.body.clone()]);
    // The text's own line ending (a base64 body may have its own), else the message's.
    let eol: &[u8] = match memchr::memchr(b'\n', &decoded) {
        Some(i) if i > 0 && decoded[i - 1] == b'\r' => b"\r\n",
        Some(_) => b"\n",
        None => tree.eol,
    };
    if memchr::memmem::find(&decoded, b"-----BEGIN PGP").is_some() {
        return Leaf::Separate;
    }
    let charset = n.charset.as_deref();
    let html = n.ctype == "text/html";
    let mut to_utf8 = false;
    let addition = if html {
        let h = d.html_or_text();
        if encode::is_utf8(charset) {
            h.into_bytes()
        } else if encode::ascii_compatible(charset) {
            encode::html_references(&h).into_bytes()
        } else {
            return Leaf::Separate;
        }
    } else {
        match encode::in_charset(&d.text, charset) {
            Some(b) => b,
            None if encode::is_ascii_charset(charset) && decoded.is_ascii() => {
                to_utf8 = true;
                d.text.as_bytes().to_vec()
            }
            None => return Leaf::Separate,
        }
    };
    let addition = encode::bytes_with_eol(&addition, eol);
    if present(&decoded, &addition, html) {
        return Leaf::Present;
    }
    let new = if html {
        insert_html(&decoded, &addition, eol)
    } else {
        append_text(&decoded, &addition, eol)
    };
    let eol = tree.eol;
    let (body, new_cte) = match cte.encode(&new, eol) {
        Some(b) => (b, None),
        None => (
            encode::quoted_printable(&new, eol),
            Some("quoted-printable"),
        ),
    };
    let mut body = body;
    if cte == Cte::Base64 && raw[n.body.clone()].ends_with(b"\n") {
        body.extend_from_slice(eol);
    }
    let mut edits = vec![(n.body.clone(), body)];
    if to_utf8 || new_cte.is_some() {
        let change = Change {
            to_utf8,
            cte: new_cte,
            version: id == 0,
        };
        edits.push((
            n.header.clone(),
            header_with(raw, n.header.clone(), change, eol),
        ));
    }
    Leaf::Edit(edits)
}

/// Whether the text already ends with the addition (white space and line endings aside), or
/// the HTML already holds it.
fn present(decoded: &[u8], addition: &[u8], html: bool) -> bool {
    let norm = |b: &[u8]| -> Vec<u8> { b.iter().copied().filter(|&c| c != b'\r').collect() };
    let (d, a) = (norm(decoded), norm(addition));
    let a = a.trim_ascii();
    if a.is_empty() {
        return true;
    }
    if html {
        memchr::memmem::find(&d, a).is_some()
    } else {
        d.trim_ascii_end().ends_with(a)
    }
}

/// The text, a blank line, the disclaimer; the text's final line break kept last.
fn append_text(decoded: &[u8], addition: &[u8], eol: &[u8]) -> Vec<u8> {
    let (content, tail) = match decoded.strip_suffix(b"\n") {
        Some(c) => (c.strip_suffix(b"\r").unwrap_or(c), eol),
        None => (decoded, &b""[..]),
    };
    let mut out = Vec::with_capacity(decoded.len() + addition.len() + 8);
    out.extend_from_slice(content);
    if !content.is_empty() {
        out.extend_from_slice(eol);
        out.extend_from_slice(eol);
    }
    out.extend_from_slice(addition);
    out.extend_from_slice(tail);
    out
}

/// The HTML before the last `</body`, else at the end.
fn insert_html(decoded: &[u8], addition: &[u8], eol: &[u8]) -> Vec<u8> {
    let lower = decoded.to_ascii_lowercase();
    let mut out = Vec::with_capacity(decoded.len() + addition.len() + 8);
    match memchr::memmem::rfind(&lower, b"</body") {
        Some(at) => {
            out.extend_from_slice(&decoded[..at]);
            out.extend_from_slice(addition);
            out.extend_from_slice(eol);
            out.extend_from_slice(&decoded[at..]);
        }
        None => {
            out.extend_from_slice(decoded);
            if !decoded.is_empty() && !decoded.ends_with(b"\n") {
                out.extend_from_slice(eol);
            }
            out.extend_from_slice(addition);
            out.extend_from_slice(eol);
        }
    }
    out
}

/// How a part's header block changes.
struct Change {
    /// Its charset becomes UTF-8.
    to_utf8: bool,
    /// Its new transfer encoding.
    cte: Option<&'static str>,
    /// It is the message's own header: MIME-Version is added when missing.
    version: bool,
}

/// A part's header block with its charset set to UTF-8 and/or a new transfer encoding.
fn header_with(raw: &[u8], range: Range<usize>, change: Change, eol: &[u8]) -> Vec<u8> {
    let Change {
        to_utf8,
        cte,
        version,
    } = change;
    let fields = mime::fields(raw, range.clone());
    let mut out = Vec::with_capacity(range.len() + 64);
    let mut typed = false;
    let first = fields.first().map_or(range.start, |f| f.range.start);
    out.extend_from_slice(&raw[range.start..first]);
    for f in &fields {
        if cte.is_some() && mime::is_named(raw, f, "Content-Transfer-Encoding") {
            continue;
        }
        if to_utf8 && mime::is_named(raw, f, "Content-Type") {
            typed = true;
            let v = with_utf8(&mime::value(raw, f));
            out.extend_from_slice(format!("Content-Type: {v}").as_bytes());
            out.extend_from_slice(eol);
            continue;
        }
        out.extend_from_slice(&raw[f.range.clone()]);
    }
    if version
        && !fields
            .iter()
            .any(|f| mime::is_named(raw, f, "MIME-Version"))
    {
        out.extend_from_slice(b"MIME-Version: 1.0");
        out.extend_from_slice(eol);
    }
    if to_utf8 && !typed {
        out.extend_from_slice(b"Content-Type: text/plain; charset=utf-8");
        out.extend_from_slice(eol);
    }
    if let Some(c) = cte {
        out.extend_from_slice(format!("Content-Transfer-Encoding: {c}").as_bytes());
        out.extend_from_slice(eol);
    }
    let last = fields.last().map_or(first, |f| f.range.end);
    out.extend_from_slice(&raw[last..range.end]);
    out
}

/// A Content-Type value with its charset parameter set to utf-8.
fn with_utf8(value: &str) -> String {
    let lower = value.to_ascii_lowercase();
    let Some(at) = lower.find("charset") else {
        return format!("{value}; charset=utf-8");
    };
    let rest = &value[at + "charset".len()..];
    let Some(eq) = rest.find('=') else {
        return format!("{value}; charset=utf-8");
    };
    let after = rest[eq + 1..].trim_start();
    let skipped = rest.len() - after.len();
    let len = if let Some(q) = after.strip_prefix('"') {
        q.find('"').map_or(after.len(), |i| i + 2)
    } else {
        after.find([';', ' ', '\t']).unwrap_or(after.len())
    };
    let end = at + "charset".len() + skipped + len;
    format!("{}charset=utf-8{}", &value[..at], &value[end..])
}

/// The message with `edits` (disjoint ranges) made.
pub(super) fn splice(raw: &[u8], mut edits: Vec<(Range<usize>, Vec<u8>)>) -> Vec<u8> {
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = Vec::with_capacity(raw.len() + 1024);
    let mut at = 0;
    for (r, bytes) in edits {
        if r.start < at {
            continue;
        }
        out.extend_from_slice(&raw[at..r.start]);
        out.extend_from_slice(&bytes);
        at = r.end;
    }
    out.extend_from_slice(&raw[at..]);
    out
}

/// Whether the message is already one [`wrap`] made (a multipart/mixed whose last part is a
/// text/plain part ending with the disclaimer): mail that passes the gateway twice, its marker
/// removed on the way in, is not wrapped again.
fn wrapped_before(raw: &[u8], tree: &Tree, d: &Disclaimer) -> bool {
    let root = &tree.nodes[0];
    if root.ctype != "multipart/mixed" || root.children.len() < 2 {
        return false;
    }
    let Some(last) = root.children.last().map(|&c| &tree.nodes[c]) else {
        return false;
    };
    if last.ctype != "text/plain" {
        return false;
    }
    let decoded = Cte::of(last.cte.as_deref()).decode(&raw[last.body.clone()]);
    present(&decoded, d.text.as_bytes(), false)
}

/// The whole message as the first part of a new multipart/mixed (its `Content-*` fields moved
/// into that part), the disclaimer as the second.
fn wrap(raw: &[u8], tree: &Tree, d: &Disclaimer) -> Vec<u8> {
    let eol = tree.eol;
    let root = &tree.nodes[0];
    let fields = mime::fields(raw, root.header.clone());
    let boundary = boundary(raw);
    let mut head = Vec::new();
    let mut inner = Vec::new();
    let mut versioned = false;
    for f in &fields {
        if mime::is_content_field(raw, f) {
            inner.extend_from_slice(&raw[f.range.clone()]);
        } else {
            versioned |= mime::is_named(raw, f, "MIME-Version");
            head.extend_from_slice(&raw[f.range.clone()]);
        }
    }
    let line = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(s.as_bytes());
        out.extend_from_slice(eol);
    };
    let mut out = Vec::with_capacity(raw.len() + 1024);
    out.extend_from_slice(&head);
    if !versioned {
        line(&mut out, "MIME-Version: 1.0");
    }
    line(
        &mut out,
        &format!("Content-Type: multipart/mixed; boundary=\"{boundary}\""),
    );
    out.extend_from_slice(eol);
    line(&mut out, &format!("--{boundary}"));
    out.extend_from_slice(&inner);
    out.extend_from_slice(eol);
    let body = &raw[root.body.start.min(raw.len())..];
    out.extend_from_slice(body);
    if !body.ends_with(b"\n") {
        out.extend_from_slice(eol);
    }
    line(&mut out, &format!("--{boundary}"));
    out.extend_from_slice(&encode::text_part(
        "plain",
        &d.text,
        eol,
        &["Content-Disposition: inline"],
    ));
    out.extend_from_slice(eol);
    line(&mut out, &format!("--{boundary}--"));
    out
}

/// A boundary that occurs nowhere in the message.
pub(super) fn boundary(raw: &[u8]) -> String {
    let hex = blake3::hash(raw).to_hex();
    let mut b = format!("=_sluice_{}", &hex[..24]);
    let mut n = 0u32;
    while memchr::memmem::find(raw, b.as_bytes()).is_some() {
        n += 1;
        b = format!("=_sluice_{}_{n}", &hex[..24]);
    }
    b
}

/// The message with the marker field first.
fn marked_with(message: Vec<u8>, name: &str, eol: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 64);
    out.extend_from_slice(format!("{MARKER}: {name}").as_bytes());
    out.extend_from_slice(eol);
    out.extend_from_slice(&message);
    out
}
