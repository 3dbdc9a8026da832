//! Body decoding that skips mail-parser's slow paths: base64 bodies and `us-ascii` text.
//!
//! mail-parser decodes base64 a byte at a time (about 500 MB/s) and runs `us-ascii` text through
//! a byte-by-byte charset table, even for bytes that are plain ASCII. Before parsing, [`rename`]
//! replaces, in header fields only, the value `base64` of `Content-Transfer-Encoding` and the
//! `charset` parameter `us-ascii` of `Content-Type` with same-length stand-ins mail-parser does not
//! know. mail-parser then only finds the part boundaries and hands over the raw bytes; the walker
//! decodes them here, with the `base64` crate (the lenient `transfer` decoder for anything but the
//! usual shape), and applies the real charset. The results are the same as those of the plain
//! parse, where the walker decodes every body with `transfer` too (tests compare them).
//!
//! A stand-in is only trusted at a position [`rename`] wrote it ([`Renamed::base64_at`]), so a
//! stand-in already in the input means what it means to mail-parser (an unknown encoding or
//! charset). A renamed parse is only used when it cannot differ from the plain one
//! ([`Renamed::usable`]): no part has an encoding problem (a quoted-printable body mail-parser gave
//! up on; the plain parse repairs those), every renamed `us-ascii` text is ASCII, and there is no
//! nested message (whose bytes the
//! walker would parse again without knowing the positions). Otherwise the walker parses the input
//! as it came.
//!
//! A header-like line inside a body (a quoted header, say) is renamed too; the renamed parse is
//! then not used, since that body would read `x-sl64` for `base64`.
//!
//! The bodies after renamed header blocks are also *cut* out of what mail-parser reads
//! ([`Renamed::input`]), so it neither searches them byte by byte for the next boundary nor reads
//! `us-ascii` text as lossy UTF-8: a cut runs from the body's start to the last line break before
//! the first `--` after it (found with `memmem`), and no boundary can hide in bytes without `--`,
//! so mail-parser finds every part where it would have. The parse of the cut input is used only
//! when every cut starts the body of a renamed base64 part or of a renamed `us-ascii` text part
//! without a transfer encoding, as [`Renamed::usable`] checks; their bytes are read from the uncut
//! copy ([`Renamed::region`], [`Renamed::cut_text`]). Otherwise the uncut input is parsed.
use std::cell::RefCell;

use base64::Engine as _;
use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

use super::transfer::{self, B64, Decoded};

/// Stand-in for the transfer encoding `base64` (same length).
pub(crate) const BASE64_STAND_IN: &[u8] = b"x-sl64";
/// Stand-in for the transfer encoding `quoted-printable` (same length), written by
/// [`rename_quoted_printable`] before every parse.
pub(crate) const QP_STAND_IN: &[u8] = b"x-sl-quoted-prnt";
/// Stand-in for the charset `us-ascii` (same length).
pub(crate) const US_ASCII_STAND_IN: &[u8] = b"x-slasci";
/// Whitespace (folding included) looked at between a field name and its colon, or after the
/// colon, before giving up on a field: real headers have a space or two.
const MAX_SPACE: usize = 64;
/// Longest `Content-Type` field searched for a `charset` parameter (RFC 5322 line limit).
const MAX_CONTENT_TYPE: usize = 998;

/// A message with stand-ins written in, and where.
#[derive(Debug)]
pub(crate) struct Renamed {
    pub(crate) bytes: Vec<u8>,
    /// Offsets of the `base64` values replaced.
    base64_at: Vec<usize>,
    /// Offsets of the `us-ascii` values replaced.
    ascii_at: Vec<usize>,
    /// Renamed base64 bodies decoded while checking them, by body offset, until the walker takes
    /// them.
    decoded: RefCell<Vec<(u32, Decoded)>>,
    /// `bytes` without the bodies in `cuts` (empty when there is no cut).
    compact: Vec<u8>,
    /// Bodies cut out of `compact`, in order.
    cuts: Vec<Cut>,
}

/// The start of a body (up to its last line break before any `--`) cut out of
/// [`Renamed::input`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cut {
    /// Where the body was, in the cut input.
    at: usize,
    /// The body in [`Renamed::bytes`].
    from: usize,
    to: usize,
}

/// Renames `base64` transfer encodings and `us-ascii` charsets in header fields; `None` when there
/// is none.
pub(crate) fn rename(raw: &[u8]) -> Option<Renamed> {
    let mut out: Option<Renamed> = None;
    // No colon appears in base64, so this skips through encoded bodies quickly.
    for colon in memchr::memchr_iter(b':', raw) {
        let Some(name) = field_name(raw, colon) else {
            continue;
        };
        if name.eq_ignore_ascii_case(b"content-transfer-encoding") {
            let at = skip_space(raw, colon + 1);
            if value_is(raw, at, b"base64", |c| {
                matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(')
            }) {
                let r = out.get_or_insert_with(|| Renamed::of(raw));
                r.bytes[at..at + BASE64_STAND_IN.len()].copy_from_slice(BASE64_STAND_IN);
                r.base64_at.push(at);
            }
        } else if name.eq_ignore_ascii_case(b"content-type")
            && let Some(at) = us_ascii_charset(raw, colon + 1)
        {
            let r = out.get_or_insert_with(|| Renamed::of(raw));
            r.bytes[at..at + US_ASCII_STAND_IN.len()].copy_from_slice(US_ASCII_STAND_IN);
            r.ascii_at.push(at);
        }
    }
    if let Some(r) = &mut out {
        r.cut_bodies();
    }
    out
}

/// Renames every `quoted-printable` transfer encoding in a header field to [`QP_STAND_IN`] and
/// returns where. mail-parser then hands those bodies over raw and never runs its own
/// quoted-printable decoder, which reads `= x` and `==` differently from mail clients, and
/// underflows (a panic in debug builds) on a soft line break right before a boundary; the walker
/// decodes them with `transfer`. Like the base64 stand-in, it is trusted only where written here.
pub(crate) fn rename_quoted_printable(raw: &mut std::borrow::Cow<'_, [u8]>) -> Vec<usize> {
    let mut at_list = Vec::new();
    for colon in memchr::memchr_iter(b':', raw) {
        let Some(name) = field_name(raw, colon) else {
            continue;
        };
        if !name.eq_ignore_ascii_case(b"content-transfer-encoding") {
            continue;
        }
        let at = skip_space(raw, colon + 1);
        if value_is(raw, at, b"quoted-printable", |c| {
            matches!(c, b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(')
        }) {
            at_list.push(at);
        }
    }
    if !at_list.is_empty() {
        let bytes = raw.to_mut();
        for &at in &at_list {
            bytes[at..at + QP_STAND_IN.len()].copy_from_slice(QP_STAND_IN);
        }
    }
    at_list
}

impl Renamed {
    fn of(raw: &[u8]) -> Renamed {
        Renamed {
            bytes: raw.to_vec(),
            base64_at: Vec::new(),
            ascii_at: Vec::new(),
            decoded: RefCell::new(Vec::new()),
            compact: Vec::new(),
            cuts: Vec::new(),
        }
    }

    /// What mail-parser should parse: the message with renamed base64 bodies cut out, or, after
    /// [`Renamed::uncut`], the whole renamed message.
    pub(crate) fn input(&self) -> &[u8] {
        if self.cuts.is_empty() {
            &self.bytes
        } else {
            &self.compact
        }
    }

    /// Whether [`Renamed::input`] has bodies cut out.
    pub(crate) fn is_cut(&self) -> bool {
        !self.cuts.is_empty()
    }

    /// Puts the cut bodies back: [`Renamed::input`] is then the whole renamed message.
    pub(crate) fn uncut(&mut self) {
        self.cuts.clear();
        self.compact = Vec::new();
        self.decoded.get_mut().clear();
    }

    /// Finds the body after each renamed header block and builds the input without them.
    fn cut_bodies(&mut self) {
        let raw = &self.bytes;
        let mut renamed: Vec<usize> = self
            .base64_at
            .iter()
            .chain(&self.ascii_at)
            .copied()
            .collect();
        renamed.sort_unstable();
        let mut cuts = Vec::new();
        let mut after = 0; // where the last body looked at ends, in `raw`
        let mut removed = 0;
        for at in renamed {
            if at < after {
                continue; // the same header block, or inside a body already cut
            }
            let Some(from) = body_start(raw, at) else {
                break; // no blank line after this header: none after the later ones either
            };
            let dashes = memchr::memmem::find(&raw[from..], b"--").map(|i| from + i);
            let to = match dashes {
                // To the last line break before the dashes: mail-parser ends a body there when
                // they start a boundary, and otherwise reads on from the same state.
                Some(d) => match memchr::memrchr(b'\n', &raw[from..d]) {
                    Some(i) if i > 0 && raw[from + i - 1] == b'\r' => from + i - 1,
                    Some(i) => from + i,
                    None => from,
                },
                // No boundary after: the body runs to the end of the input.
                None => raw.len(),
            };
            if to > from {
                cuts.push(Cut {
                    at: from - removed,
                    from,
                    to,
                });
                removed += to - from;
            }
            after = dashes.unwrap_or(raw.len());
        }
        if cuts.is_empty() {
            return;
        }
        let mut compact = Vec::with_capacity(raw.len() - removed);
        let mut last = 0;
        for c in &cuts {
            compact.extend_from_slice(&raw[last..c.from]);
            last = c.to;
        }
        compact.extend_from_slice(&raw[last..]);
        self.compact = compact;
        self.cuts = cuts;
    }

    /// The cut at the start of this part's body.
    fn cut_of(&self, part: &MessagePart<'_>) -> Option<&Cut> {
        let start = part.raw_body_offset() as usize;
        let i = self.cuts.binary_search_by_key(&start, |c| c.at).ok()?;
        self.cuts.get(i)
    }

    /// An offset into [`Renamed::input`] as an offset into [`Renamed::bytes`] (a cut's own
    /// position maps to the start of its body).
    fn original(&self, at: usize) -> usize {
        let before = self.cuts.partition_point(|c| c.at < at);
        at + self.cuts[..before]
            .iter()
            .map(|c| c.to - c.from)
            .sum::<usize>()
    }

    /// The raw body bytes of a part, uncut.
    pub(crate) fn region<'m>(&'m self, msg: &'m Message<'_>, part: &MessagePart<'_>) -> &'m [u8] {
        let Some(c) = self.cut_of(part) else {
            return raw_region(msg, part);
        };
        let end = part.raw_end_offset() as usize;
        // An empty body in the cut input ends where its cut does.
        let to = if end <= c.at {
            c.to
        } else {
            self.original(end)
        };
        self.bytes.get(c.from..to).unwrap_or_default()
    }

    /// The text of a renamed `us-ascii` part whose body was cut (checked ASCII by
    /// [`Renamed::usable`]); `None` for any other part.
    pub(crate) fn cut_text(&self, msg: &Message<'_>, part: &MessagePart<'_>) -> Option<String> {
        if self.cut_of(part).is_none() || self.is_base64(part) {
            return None;
        }
        String::from_utf8(self.region(msg, part).to_vec()).ok()
    }

    /// Whether the parse of [`Renamed::bytes`] decomposes exactly as the plain parse would (see the
    /// module documentation).
    pub(crate) fn usable(&self, msg: &Message<'_>) -> bool {
        // Every cut must start the body of a renamed part, else the cut changed the parse.
        let mut claimed = 0;
        let usable = msg.parts.iter().all(|part| {
            if part.is_encoding_problem {
                // A quoted-printable body mail-parser gave up on changes how it classifies the
                // part; the plain parse repairs that (see `repair`).
                return false;
            }
            let nested = matches!(part.body, PartType::Message(_))
                || part.content_type().is_some_and(|ct| {
                    ct.ctype().eq_ignore_ascii_case("message")
                        || (ct.ctype().eq_ignore_ascii_case("multipart")
                            && ct.subtype().is_some_and(|s| s.starts_with("x-sl")))
                });
            if nested {
                return false;
            }
            let b64 = self.is_base64(part);
            // A multipart labelled base64: mail-parser reads its body by content, and differently
            // with a known encoding than with a stand-in.
            let multipart = matches!(part.body, PartType::Multipart(_))
                || part
                    .content_type()
                    .is_some_and(|ct| ct.ctype().eq_ignore_ascii_case("multipart"));
            if b64 && multipart {
                return false;
            }
            let cut = self.cut_of(part).is_some();
            if cut {
                // Cut text must be the raw bytes mail-parser would have read as its text.
                let raw_text = !b64
                    && !multipart
                    && self.is_us_ascii(part)
                    && matches!(part.body, PartType::Text(_) | PartType::Html(_))
                    && part.content_transfer_encoding().is_none_or(|e| {
                        !e.eq_ignore_ascii_case("base64")
                            && !e.eq_ignore_ascii_case("quoted-printable")
                            && e.as_bytes() != QP_STAND_IN
                    });
                if !b64 && !raw_text {
                    return false;
                }
                claimed += 1;
            }
            if b64 {
                // Decoded leniently, as the plain parse's bodies are: no base64 content makes the
                // renamed parse unusable.
                let bytes = decode_base64(self.region(msg, part));
                self.decoded.borrow_mut().push((part.offset_body, bytes));
            }
            if !b64 && cut {
                return self.region(msg, part).is_ascii();
            }
            if !b64 && self.is_us_ascii(part) {
                // mail-parser's text is its UTF-8 reading of the bytes: ASCII exactly when they are.
                return match &part.body {
                    PartType::Text(t) | PartType::Html(t) => t.is_ascii(),
                    _ => true,
                };
            }
            true
        });
        usable && claimed == self.cuts.len() && self.all_in_headers(msg)
    }

    /// Whether every stand-in was written in a header block of the parse (not in a body, which
    /// would then read differently).
    fn all_in_headers(&self, msg: &Message<'_>) -> bool {
        let mut headers: Vec<(usize, usize)> = msg
            .parts
            .iter()
            .map(|p| {
                (
                    self.original(p.offset_header as usize),
                    self.original(p.raw_body_offset() as usize),
                )
            })
            .collect();
        headers.sort_unstable();
        self.base64_at.iter().chain(&self.ascii_at).all(|&at| {
            let i = headers.partition_point(|&(start, _)| start <= at);
            i > 0 && at < headers[i - 1].1
        })
    }

    /// The part's transfer encoding is a `base64` renamed here.
    pub(crate) fn is_base64(&self, part: &MessagePart<'_>) -> bool {
        part.content_transfer_encoding()
            .is_some_and(|e| e.as_bytes() == BASE64_STAND_IN)
            && self.in_header(&self.base64_at, part)
    }

    /// The decoded body of a part for which [`Renamed::is_base64`] holds (and that
    /// [`Renamed::usable`] accepted).
    pub(crate) fn base64_body(&self, msg: &Message<'_>, part: &MessagePart<'_>) -> Decoded {
        let mut decoded = self.decoded.borrow_mut();
        match decoded.iter().position(|(at, _)| *at == part.offset_body) {
            Some(i) => decoded.swap_remove(i).1,
            // Asked for twice (a part both body and attachment): decoded again.
            None => decode_base64(self.region(msg, part)),
        }
    }

    /// The part's charset is a `us-ascii` renamed here.
    pub(crate) fn is_us_ascii(&self, part: &MessagePart<'_>) -> bool {
        part.content_type()
            .and_then(|ct| ct.attribute("charset"))
            .is_some_and(|c| c.as_bytes() == US_ASCII_STAND_IN)
            && self.in_header(&self.ascii_at, part)
    }

    /// Whether one of the offsets `at` (into the input before renaming) is in the part's header.
    pub(crate) fn in_header(&self, at: &[usize], part: &MessagePart<'_>) -> bool {
        let header = self.original(part.offset_header as usize)
            ..self.original(part.raw_body_offset() as usize);
        at.iter().any(|p| header.contains(p))
    }

    /// The part's charset as sent.
    pub(crate) fn charset<'p>(&self, part: &'p MessagePart<'_>) -> Option<&'p str> {
        if self.is_us_ascii(part) {
            return Some("us-ascii");
        }
        part.content_type().and_then(|ct| ct.attribute("charset"))
    }
}

/// Where the body of the header block holding offset `at` starts: after its first empty line.
fn body_start(raw: &[u8], at: usize) -> Option<usize> {
    memchr::memchr_iter(b'\n', raw.get(at..)?).find_map(|i| {
        let next = at + i + 1;
        match raw.get(next..) {
            Some([b'\n', ..]) => Some(next + 1),
            Some([b'\r', b'\n', ..]) => Some(next + 2),
            _ => None,
        }
    })
}

/// The raw body bytes of a part in the parsed buffer.
pub(crate) fn raw_region<'m>(msg: &'m Message<'_>, part: &MessagePart<'_>) -> &'m [u8] {
    let start = part.raw_body_offset() as usize;
    let end = part.raw_end_offset() as usize;
    msg.raw_message
        .get(start..end.max(start))
        .unwrap_or_default()
}

/// The field name ending before the colon at `colon` (spaces between allowed), when it starts a
/// line.
fn field_name(raw: &[u8], colon: usize) -> Option<&[u8]> {
    let mut end = colon;
    while end > 0 && colon - end < MAX_SPACE && matches!(raw[end - 1], b' ' | b'\t') {
        end -= 1;
    }
    // The longest name looked for; a longer run of name bytes cannot be one of them.
    const LONGEST: usize = "content-transfer-encoding".len();
    let mut start = end;
    while start > 0 && end - start <= LONGEST && raw[start - 1] != b'\n' {
        start -= 1;
    }
    (start == 0 || raw[start - 1] == b'\n').then(|| &raw[start..end])
}

/// The first offset from `at` past spaces, tabs and folding line breaks (bounded).
fn skip_space(raw: &[u8], mut at: usize) -> usize {
    let from = at;
    while at < raw.len() && at - from < MAX_SPACE && matches!(raw[at], b' ' | b'\t' | b'\r' | b'\n')
    {
        at += 1;
    }
    at
}

/// `raw[at..]` starts with `word` (any case) followed by the end or a byte `ends` accepts.
fn value_is(raw: &[u8], at: usize, word: &[u8], ends: impl Fn(u8) -> bool) -> bool {
    raw.get(at..at + word.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(word))
        && raw.get(at + word.len()).is_none_or(|&c| ends(c))
}

/// The offset of a `us-ascii` value of the `charset` parameter in the Content-Type field whose
/// value starts at `from`.
fn us_ascii_charset(raw: &[u8], from: usize) -> Option<usize> {
    // The field ends at a line break not followed by a space or tab (bounded).
    let limit = raw.len().min(from.saturating_add(MAX_CONTENT_TYPE));
    let mut end = from;
    while end < limit {
        if raw[end] == b'\n' && !matches!(raw.get(end + 1), Some(b' ' | b'\t')) {
            break;
        }
        end += 1;
    }
    let field = &raw[from..end];
    let mut i = 0;
    while let Some(p) = memchr::memchr(b'=', &field[i..]) {
        let eq = i + p;
        i = eq + 1;
        let name_end = field[..eq].trim_ascii_end().len();
        if name_end < 7 || !field[name_end - 7..name_end].eq_ignore_ascii_case(b"charset") {
            continue;
        }
        let mut at = from + eq + 1;
        while at < end && matches!(raw[at], b' ' | b'\t') {
            at += 1;
        }
        if raw.get(at) == Some(&b'"') {
            at += 1;
        }
        if at + US_ASCII_STAND_IN.len() <= end
            && value_is(raw, at, b"us-ascii", |c| {
                matches!(c, b'"' | b';' | b' ' | b'\t' | b'\r' | b'\n')
            })
        {
            return Some(at);
        }
        return None;
    }
    None
}

/// Decodes a base64 body: the usual shape with the `base64` crate, anything else with the lenient
/// decoder (which gives the same bytes for the usual shape).
pub(crate) fn decode_base64(body: &[u8]) -> Decoded {
    match decode_lines(body) {
        Some(bytes) => Decoded { bytes, clean: true },
        None => transfer::base64(body),
    }
}

/// The usual shape, fast: lines of whole quanta of the alphabet, padding only on the last one,
/// joined and decoded in one call (a call per 76-byte line spends much of its time on the line's
/// end). `None` for anything else (the byte-wise rules then decide).
fn decode_lines(body: &[u8]) -> Option<Vec<u8>> {
    let mut joined = Vec::with_capacity(body.len());
    let mut padded = false;
    let mut rest = body;
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if padded || line.len() % 4 != 0 {
            return None;
        }
        padded = line.ends_with(b"=");
        joined.extend_from_slice(line);
    }
    B64.decode(&joined).ok()
}

/// Text of transfer-decoded bytes in `charset`, as mail-parser makes it (its charset tables;
/// UTF-8, lossy, when it knows no such charset). ASCII needs no table.
pub(crate) fn text(bytes: Vec<u8>, charset: Option<&str>) -> String {
    let decoder =
        charset.and_then(|c| mail_parser::decoders::charsets::map::charset_decoder(c.as_bytes()));
    match decoder {
        Some(_) if ascii_compatible(charset) && bytes.is_ascii() => {
            String::from_utf8(bytes).unwrap_or_default()
        }
        Some(decode) => decode(&bytes),
        None => String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Charsets whose mail-parser table maps every ASCII byte to itself (and which are common).
fn ascii_compatible(charset: Option<&str>) -> bool {
    charset.is_some_and(|c| {
        ["us-ascii", "ascii", "utf-8", "utf8"]
            .iter()
            .any(|a| c.eq_ignore_ascii_case(a))
    })
}

/// The standard engine, for tests that build base64 bodies.
#[cfg(test)]
pub(crate) fn encode(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

#[cfg(test)]
mod tests;
