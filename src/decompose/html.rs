//! HTML to text: tags dropped, `<script>`/`<style>`/comments skipped, entities decoded, block
//! elements turned into line breaks so the text keeps its line structure.
//!
//! A small hand-written scanner, linear in the input and allocation-bounded by it: it never builds a
//! DOM, so malformed or hostile markup cannot make it slow. Hidden text (`display:none`) is kept on
//! purpose: DLP must see what a sender tried to hide.

use super::text::whitespace_at;

/// Elements whose content is not text.
const SKIP_CONTENT: &[&str] = &["script", "style", "template", "svg", "object"];

/// Elements that start or end a line.
const BLOCK: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "title",
    "tr",
    "ul",
    "caption",
    "thead",
    "tbody",
    "tfoot",
];

/// Elements separated by a tab (table cells).
const CELL: &[&str] = &["td", "th"];

/// What an element does to the text.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Its content is not text ([`SKIP_CONTENT`]).
    Skip,
    /// `<br>`.
    Br,
    /// `<pre>` (also a block element).
    Pre,
    /// Starts or ends a line ([`BLOCK`]).
    Block,
    /// A table cell ([`CELL`]).
    Cell,
    Inline,
}

/// Longest element name in [`SKIP_CONTENT`], [`BLOCK`] and [`CELL`].
const MAX_KNOWN_NAME: usize = 10;

/// The kind of the element `name` (any case), without allocating.
fn kind(name: &str) -> Kind {
    if name.len() > MAX_KNOWN_NAME {
        return Kind::Inline;
    }
    let mut buf = [0u8; MAX_KNOWN_NAME];
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name.as_bytes());
    lower.make_ascii_lowercase();
    // `name` is ASCII-lowercased UTF-8: still UTF-8.
    let lower = std::str::from_utf8(lower).unwrap_or_default();
    if lower == "br" {
        Kind::Br
    } else if lower == "pre" {
        Kind::Pre
    } else if SKIP_CONTENT.contains(&lower) {
        Kind::Skip
    } else if BLOCK.contains(&lower) {
        Kind::Block
    } else if CELL.contains(&lower) {
        Kind::Cell
    } else {
        Kind::Inline
    }
}

/// Converts an HTML document or fragment into text.
pub fn to_text(html: &str) -> String {
    let mut out = Out::with_capacity(html.len() / 2);
    let bytes = html.as_bytes();
    let mut i = 0;
    let mut pre = 0u32;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'<' {
            if bytes[i..].starts_with(b"<!--") {
                i = match memchr::memmem::find(&bytes[i + 4..], b"-->") {
                    Some(end) => i + 4 + end + 3,
                    None => bytes.len(),
                };
                continue;
            }
            let Some(tag) = parse_tag(&html[i..]) else {
                out.text("<", pre > 0);
                i += 1;
                continue;
            };
            i += tag.len;
            let kind = kind(tag.name);
            if !tag.closing && kind == Kind::Skip && !tag.self_closing {
                i = skip_until_close(html, i, tag.name);
                continue;
            }
            match kind {
                Kind::Br => out.line_break(),
                Kind::Pre => {
                    if tag.closing {
                        pre = pre.saturating_sub(1);
                    } else {
                        pre += 1;
                    }
                    out.newline();
                }
                Kind::Block => out.newline(),
                Kind::Cell if !tag.closing => out.tab(),
                _ => {}
            }
        } else if b == b'&' {
            let (decoded, used) = entity(&html[i..]);
            out.text(decoded.as_str(&mut [0; 4]), pre > 0);
            i += used;
        } else {
            let next = memchr::memchr2(b'<', b'&', &bytes[i..]).map_or(bytes.len(), |n| i + n);
            out.text(&html[i..next], pre > 0);
            i = next;
        }
    }
    out.finish()
}

/// Byte classes for [`Out::text`]: part of a word, ASCII whitespace, or a byte that may start a
/// non-ASCII whitespace character (U+0085, U+00A0, U+1680, U+2000-U+205F, U+3000 start with
/// `C2`, `E1`, `E2` or `E3`). Other non-ASCII bytes are always part of a word.
const WORD: u8 = 0;
const SPACE: u8 = 1;
const MAYBE_SPACE: u8 = 2;
const CLASS: [u8; 256] = {
    let mut t = [WORD; 256];
    t[b' ' as usize] = SPACE;
    t[b'\t' as usize] = SPACE;
    t[b'\n' as usize] = SPACE;
    t[0x0b] = SPACE;
    t[0x0c] = SPACE;
    t[b'\r' as usize] = SPACE;
    t[0xc2] = MAYBE_SPACE;
    t[0xe1] = MAYBE_SPACE;
    t[0xe2] = MAYBE_SPACE;
    t[0xe3] = MAYBE_SPACE;
    t
};

/// Skips, eight bytes at a time, bytes that [`Out::text`] would copy one by one: ASCII word
/// bytes, non-ASCII bytes that cannot start a whitespace character, and single spaces followed by
/// such a byte. Returns the first position that needs the byte-wise rules (at most `bytes.len()`).
/// Never skips a space whose next byte is not known to be a word byte.
fn skip_plain(bytes: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    /// 0x80 in every byte of `y` that is zero, exactly (no carries between bytes).
    fn zero_bytes(y: u64) -> u64 {
        !(((y & !HIGH).wrapping_add(!HIGH)) | y | !HIGH)
    }
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        // Control characters (all ASCII whitespace but the space is among them).
        let control = zero_bytes(x & (0xe0 * ONES));
        // Bytes that may start a non-ASCII whitespace character.
        let maybe = zero_bytes(x ^ (0xc2 * ONES))
            | zero_bytes(x ^ (0xe1 * ONES))
            | zero_bytes(x ^ (0xe2 * ONES))
            | zero_bytes(x ^ (0xe3 * ONES));
        let space = zero_bytes(x ^ (0x20 * ONES));
        let stop = control | maybe;
        // A space stops when the next byte is not a word byte, or is in the next chunk.
        let flags = stop | (space & ((stop | space) >> 8)) | (space & (0x80 << 56));
        if flags == 0 {
            i += 8;
        } else {
            return i + (flags.trailing_zeros() / 8) as usize;
        }
    }
    i
}

/// Text accumulator: collapses runs of spaces, keeps at most one blank line.
struct Out {
    s: String,
    space: bool,
}

impl Out {
    fn with_capacity(n: usize) -> Self {
        Self {
            s: String::with_capacity(n),
            space: false,
        }
    }

    /// Appends `t`: inside `<pre>` as is (CR as LF), elsewhere with every whitespace run as one
    /// space (none at the start of a line or after a tab). Spans of words separated by single
    /// spaces are copied at once.
    fn text(&mut self, t: &str, pre: bool) {
        if pre {
            for (k, piece) in t.split('\r').enumerate() {
                if k > 0 {
                    self.s.push('\n');
                }
                self.s.push_str(piece);
            }
            return;
        }
        let bytes = t.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let (space, n) = whitespace_at(t, i);
            if space {
                self.space = true;
                i += n;
                continue;
            }
            let start = i;
            i += n;
            // Up to the next whitespace that is not a single space between two words.
            while i < bytes.len() {
                i = skip_plain(bytes, i);
                let Some(&b) = bytes.get(i) else {
                    break;
                };
                match CLASS[usize::from(b)] {
                    WORD => i += 1,
                    SPACE => {
                        if bytes[i] == b' '
                            && bytes
                                .get(i + 1)
                                .is_some_and(|&b| CLASS[usize::from(b)] == WORD)
                        {
                            i += 2;
                        } else {
                            break;
                        }
                    }
                    _ => {
                        let (space, n) = whitespace_at(t, i);
                        if space {
                            break;
                        }
                        i += n;
                    }
                }
            }
            if self.space && !self.s.is_empty() && !self.s.ends_with(['\n', '\t']) {
                self.s.push(' ');
            }
            self.space = false;
            self.s.push_str(&t[start..i]);
        }
    }

    /// Ends the current line, if any (block elements).
    fn newline(&mut self) {
        self.space = false;
        if !self.s.is_empty() && !self.s.ends_with('\n') {
            self.s.push('\n');
        }
    }

    /// A `<br>`: always a line break, at most one blank line in a row.
    fn line_break(&mut self) {
        self.space = false;
        if !self.s.ends_with("\n\n") {
            self.s.push('\n');
        }
    }

    fn tab(&mut self) {
        self.space = false;
        if !self.s.is_empty() && !self.s.ends_with(['\n', '\t']) {
            self.s.push('\t');
        }
    }

    fn finish(mut self) -> String {
        let end = self.s.trim_end().len();
        self.s.truncate(end);
        self.s
    }
}

struct Tag<'a> {
    name: &'a str,
    closing: bool,
    self_closing: bool,
    /// Bytes from `<` to just after `>`.
    len: usize,
}

/// Parses a tag at the start of `s` (which starts with `<`); `None` when it is not a tag (a lone
/// `<` in text, as in "a < b").
fn parse_tag(s: &str) -> Option<Tag<'_>> {
    let bytes = s.as_bytes();
    let closing = bytes.get(1) == Some(&b'/');
    let body_at = if closing { 2 } else { 1 };
    let first = *bytes.get(body_at)?;
    if !(first.is_ascii_alphabetic() || first == b'!' || first == b'?') {
        return None;
    }
    let name_len = bytes[body_at..]
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'-' | b':' | b'!' | b'?')))
        .unwrap_or(bytes.len() - body_at);
    // The name is ASCII, so its ends are char boundaries.
    let name = &s[body_at..body_at + name_len];
    let end = tag_end(bytes)?;
    let self_closing = end > 0 && bytes[end - 1] == b'/';
    Some(Tag {
        name,
        closing,
        self_closing,
        len: end + 1,
    })
}

/// Longest tag looked at; past it a `<` is text. Keeps the scan linear on input like `<a <a <a`.
const MAX_TAG_BYTES: usize = 1024;

/// Index of the `>` that closes the tag at the start of `s`, skipping quoted attribute values.
/// (Quotes and `>` are ASCII, so scanning bytes finds what scanning characters would.)
fn tag_end(s: &[u8]) -> Option<usize> {
    let mut quote = None;
    for (i, &c) in s.iter().enumerate().skip(1) {
        if i > MAX_TAG_BYTES {
            return None;
        }
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') => quote = Some(c),
            (None, b'>') => return Some(i),
            _ => {}
        }
    }
    None
}

/// Index just past `</name ...>` (case-insensitive) from `from`, or the end of input.
fn skip_until_close(html: &str, from: usize, name: &str) -> usize {
    let bytes = html.as_bytes();
    let mut i = from;
    while let Some(off) = memchr::memmem::find(&bytes[i..], b"</") {
        let at = i + off;
        let after = at + 2;
        let candidate = bytes.get(after..after + name.len());
        if candidate.is_some_and(|c| c.eq_ignore_ascii_case(name.as_bytes())) {
            return match memchr::memchr(b'>', &bytes[after..]) {
                Some(gt) => after + gt + 1,
                None => bytes.len(),
            };
        }
        i = after;
    }
    bytes.len()
}

/// Named entities decoded; others stay as written.
const ENTITIES: &[(&str, &str)] = &[
    ("amp", "&"),
    ("lt", "<"),
    ("gt", ">"),
    ("quot", "\""),
    ("apos", "'"),
    ("nbsp", " "),
    ("ensp", " "),
    ("emsp", " "),
    ("thinsp", " "),
    ("shy", ""),
    ("zwj", ""),
    ("zwnj", ""),
    ("ndash", "–"),
    ("mdash", "—"),
    ("hellip", "…"),
    ("lsquo", "‘"),
    ("rsquo", "’"),
    ("ldquo", "“"),
    ("rdquo", "”"),
    ("laquo", "«"),
    ("raquo", "»"),
    ("bull", "•"),
    ("middot", "·"),
    ("copy", "©"),
    ("reg", "®"),
    ("trade", "™"),
    ("euro", "€"),
    ("pound", "£"),
    ("yen", "¥"),
    ("cent", "¢"),
    ("sect", "§"),
    ("deg", "°"),
    ("times", "×"),
    ("divide", "÷"),
    ("auml", "ä"),
    ("ouml", "ö"),
    ("uuml", "ü"),
    ("Auml", "Ä"),
    ("Ouml", "Ö"),
    ("Uuml", "Ü"),
    ("szlig", "ß"),
    ("eacute", "é"),
    ("egrave", "è"),
    ("Eacute", "É"),
    ("agrave", "à"),
    ("aacute", "á"),
    ("ccedil", "ç"),
    ("ntilde", "ñ"),
    ("iacute", "í"),
    ("oacute", "ó"),
    ("uacute", "ú"),
];

/// The text an entity stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decoded {
    Str(&'static str),
    Char(char),
}

impl Decoded {
    /// The text, encoded into `buf` when it is a single character.
    pub(crate) fn as_str(self, buf: &mut [u8; 4]) -> &str {
        match self {
            Self::Str(s) => s,
            Self::Char(c) => c.encode_utf8(buf),
        }
    }
}

/// Decodes the entity at the start of `s` (which starts with `&`). Returns the text and the bytes
/// used; an unknown or unterminated entity is the literal `&`.
pub(crate) fn entity(s: &str) -> (Decoded, usize) {
    let literal = (Decoded::Str("&"), 1);
    let window = &s.as_bytes()[1..s.len().min(34)];
    let Some(semi) = memchr::memchr(b';', window) else {
        return literal;
    };
    // `semi` indexes an ASCII `;`, so it is a char boundary.
    let name = &s[1..1 + semi];
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse::<u32>().ok(),
        };
        // Windows-1252 codes in numeric references (`&#150;`) are common in mail from Outlook.
        let c = code.map(|c| match c {
            0x80..=0x9f => cp1252_high(c),
            0 => '\u{fffd}',
            c => char::from_u32(c).unwrap_or('\u{fffd}'),
        });
        return match c {
            Some(c) => (Decoded::Char(c), semi + 2),
            None => literal,
        };
    }
    match ENTITIES.iter().find(|(n, _)| *n == name) {
        Some((_, v)) => (Decoded::Str(v), semi + 2),
        None => literal,
    }
}

fn cp1252_high(c: u32) -> char {
    const TABLE: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    TABLE[(c - 0x80) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tags_scripts_styles_and_comments() {
        let html = "<html><head><title>T</title><style>p{color:red}</style>\
            <script>var card='4111111111111111';</script></head>\
            <body><p>Hello <b>world</b></p><!-- hidden comment --><div>next&nbsp;line</div></body></html>";
        assert_eq!(to_text(html), "T\nHello world\nnext line");
    }

    #[test]
    fn decodes_entities() {
        assert_eq!(
            to_text("a &lt; b &amp;&amp; c&#62;d &#x41;&euro;"),
            "a < b && c>d A€"
        );
        assert_eq!(to_text("AT&T &unknown; &"), "AT&T &unknown; &");
        assert_eq!(to_text("&#150;"), "–");
    }

    #[test]
    fn keeps_line_and_table_structure() {
        let html = "<table><tr><td>Name</td><td>SSN</td></tr><tr><td>Bob</td><td>078-05-1120</td></tr></table>line<br>break";
        assert_eq!(to_text(html), "Name\tSSN\nBob\t078-05-1120\nline\nbreak");
    }

    #[test]
    fn hidden_text_is_kept_and_words_are_not_glued() {
        let html = "<span style=\"display:none\">secret</span><span>plans</span> <i>a</i>b";
        assert_eq!(to_text(html), "secretplans ab");
        assert_eq!(to_text("one<p>two</p>three"), "one\ntwo\nthree");
    }

    #[test]
    fn unicode_whitespace_and_tag_names_in_any_case() {
        assert_eq!(
            to_text("a\u{a0}\u{3000} b<BR>c<SCRIPT>x</script>d<Td>e"),
            "a b\ncd\te"
        );
        // Zero width space is not whitespace; an unknown long name is an inline element.
        assert_eq!(to_text("x\u{200b}y<blockquotes>z"), "x\u{200b}yz");
        assert_eq!(to_text("<PRE>a\r\nb</PRE>c"), "a\n\nb\nc");
        assert_eq!(to_text("&#x1F600;&euro;&#0;"), "\u{1F600}€\u{fffd}");
    }

    #[test]
    fn text_without_markup_is_its_words_joined_by_single_spaces() {
        const PIECES: &[&str] = &[
            "a", "word", "\u{e9}", " ", "  ", "\t", "\n", "\r\n", "\u{b}", "\u{a0}", "\u{3000}",
            "\u{85}", "\u{2003}", "\u{200b}", "\u{1}", "\u{4e2d}", "\u{3042}", "\u{1680}",
            "1234567",
        ];
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..5000 {
            let mut t = String::new();
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for k in 0..(x % 40) {
                let r = x
                    .rotate_left(k as u32 * 5)
                    .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                    >> 40;
                t.push_str(PIECES[r as usize % PIECES.len()]);
            }
            let want = t.split_whitespace().collect::<Vec<_>>().join(" ");
            assert_eq!(to_text(&t), want, "{t:?}");
        }
    }

    #[test]
    fn tolerates_broken_markup() {
        assert_eq!(to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(to_text("<p title='x>y'>ok"), "ok");
        assert_eq!(to_text("<script>never closed"), "");
        assert_eq!(to_text("<p"), "<p");
        assert_eq!(to_text("<!-- open"), "");
        assert_eq!(to_text("<pre>  keep\n  this</pre>"), "  keep\n  this");
        // Many unterminated tags stay linear (the tag scan is bounded).
        let hostile = "<a ".repeat(20_000);
        assert_eq!(to_text(&hostile).len(), hostile.trim_end().len());
    }
}
