//! RTF to text: control words skipped, `\'hh` decoded in the document's code page, `\uN` decoded
//! (with its `\ucN` fallback characters dropped), non-text destinations (font tables, pictures,
//! embedded object data, field instructions) skipped.
//!
//! Linear in the input; group nesting deeper than [`MAX_GROUPS`] is counted, not stored.

use mail_parser::decoders::charsets::map::charset_decoder;

/// Deepest group nesting whose state is kept (deeper groups inherit the innermost kept state).
const MAX_GROUPS: usize = 256;

/// Destinations whose content is not document text.
const SKIP_DESTINATIONS: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "pict",
    "objdata",
    "themedata",
    "datastore",
    "latentstyles",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "mmathPr",
    "fldinst",
    "filetbl",
    "revtbl",
    "bkmkstart",
    "bkmkend",
    "colorschememapping",
    "pgdsctbl",
    "wgrffmtfilter",
];

#[derive(Clone, Copy)]
struct Group {
    skip: bool,
    uc: u32,
}

/// Converts an RTF document into text.
pub fn to_text(rtf: &[u8]) -> String {
    let mut p = Parser {
        out: String::with_capacity(rtf.len() / 4),
        pending: Vec::new(),
        decode: decoder_for(1252),
        group: Group { skip: false, uc: 1 },
        stack: Vec::new(),
        overflow: 0,
        fallback: 0,
    };
    let mut i = 0;
    while i < rtf.len() {
        let b = rtf[i];
        i += 1;
        match b {
            b'{' => p.open(),
            b'}' => p.close(),
            b'\\' => i = p.control(rtf, i),
            b'\r' | b'\n' => {}
            _ => p.byte(b),
        }
    }
    p.flush();
    let end = p.out.trim_end().len();
    p.out.truncate(end);
    p.out
}

struct Parser {
    out: String,
    /// Code-page bytes waiting to be decoded together (double-byte code pages need pairs).
    pending: Vec<u8>,
    decode: fn(&[u8]) -> String,
    group: Group,
    stack: Vec<Group>,
    overflow: usize,
    /// Fallback characters still to drop after a `\uN`.
    fallback: u32,
}

impl Parser {
    fn open(&mut self) {
        self.flush();
        if self.stack.len() < MAX_GROUPS {
            self.stack.push(self.group);
        } else {
            self.overflow += 1;
        }
    }

    fn close(&mut self) {
        self.flush();
        if self.overflow > 0 {
            self.overflow -= 1;
        } else if let Some(g) = self.stack.pop() {
            self.group = g;
        }
    }

    fn byte(&mut self, b: u8) {
        if self.fallback > 0 {
            self.fallback -= 1;
            return;
        }
        if !self.group.skip {
            self.pending.push(b);
        }
    }

    fn flush(&mut self) {
        if !self.pending.is_empty() {
            let s = (self.decode)(&self.pending);
            self.out.push_str(&s);
            self.pending.clear();
        }
    }

    fn emit(&mut self, s: &str) {
        if !self.group.skip {
            self.flush();
            self.out.push_str(s);
        }
    }

    /// Handles the control sequence after a backslash at `i`; returns the index after it.
    fn control(&mut self, rtf: &[u8], mut i: usize) -> usize {
        let Some(&c) = rtf.get(i) else {
            return i;
        };
        if !c.is_ascii_alphabetic() {
            i += 1;
            match c {
                b'\'' => {
                    let hex = rtf.get(i..i + 2).and_then(|h| std::str::from_utf8(h).ok());
                    if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        self.byte(v);
                        return i + 2;
                    }
                }
                b'*' => self.group.skip = true,
                b'~' => self.emit(" "),
                b'_' => self.emit("-"),
                b'\r' | b'\n' => self.emit("\n"),
                b'\\' | b'{' | b'}' => self.byte(c),
                _ => {}
            }
            return i;
        }
        let start = i;
        while i < rtf.len() && rtf[i].is_ascii_alphabetic() && i - start < 32 {
            i += 1;
        }
        // Letters only, so this is valid UTF-8.
        let word = std::str::from_utf8(&rtf[start..i]).unwrap_or_default();
        let num_start = i;
        if rtf.get(i) == Some(&b'-') {
            i += 1;
        }
        while i < rtf.len() && rtf[i].is_ascii_digit() && i - num_start < 11 {
            i += 1;
        }
        let param = std::str::from_utf8(&rtf[num_start..i])
            .ok()
            .and_then(|n| n.parse::<i64>().ok());
        if rtf.get(i) == Some(&b' ') {
            i += 1;
        }
        match word {
            "par" | "line" | "row" | "sect" | "page" => self.emit("\n"),
            "tab" | "cell" => self.emit("\t"),
            "u" => {
                if let Some(n) = param {
                    let code = if n < 0 { n + 65536 } else { n };
                    let c = u32::try_from(code)
                        .ok()
                        .and_then(char::from_u32)
                        .unwrap_or('\u{fffd}');
                    self.emit(c.encode_utf8(&mut [0; 4]));
                    self.fallback = self.group.uc;
                }
                return i;
            }
            "uc" => {
                self.group.uc = param
                    .and_then(|n| u32::try_from(n).ok())
                    .unwrap_or(1)
                    .min(8)
            }
            "bin" => {
                let n = param.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
                return i.saturating_add(n).min(rtf.len());
            }
            "ansicpg" => {
                self.flush();
                self.decode = decoder_for(param.unwrap_or(1252));
            }
            w if SKIP_DESTINATIONS.contains(&w) => self.group.skip = true,
            _ => {}
        }
        self.fallback = 0;
        i
    }
}

fn decoder_for(codepage: i64) -> fn(&[u8]) -> String {
    let name = match codepage {
        1250..=1258 | 874 => format!("windows-{codepage}"),
        932 => "shift_jis".into(),
        936 => "gbk".into(),
        949 => "euc-kr".into(),
        950 => "big5".into(),
        65001 => "utf-8".into(),
        _ => "windows-1252".into(),
    };
    charset_decoder(name.as_bytes())
        .or_else(|| charset_decoder(b"windows-1252"))
        .unwrap_or(lossy)
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paragraphs() {
        let rtf =
            br"{\rtf1\ansi\deff0{\fonttbl{\f0 Times New Roman;}}{\colortbl;\red0\green0\blue0;}
\pard\plain Hello \b world\b0 .\par Second line\tab end.}";
        assert_eq!(to_text(rtf), "Hello world.\nSecond line\tend.");
    }

    #[test]
    fn hex_escapes_use_the_code_page() {
        assert_eq!(to_text(br"{\rtf1\ansi\ansicpg1252 caf\'e9}"), "café");
        assert_eq!(to_text(br"{\rtf1\ansi\ansicpg1251 \'cf\'f0\'e8}"), "При");
    }

    #[test]
    fn unicode_escapes_drop_their_fallback() {
        assert_eq!(
            to_text(br"{\rtf1 \u8364?100 and \uc2\u-3913 ab x}"),
            "€100 and \u{f0b7} x"
        );
    }

    #[test]
    fn skips_ignorable_destinations_and_binary() {
        let rtf = br"{\rtf1{\*\generator Riched20;}{\*\unknowndest junk}{\pict\pngblip 89504e47}{\field{\*\fldinst HYPERLINK x}{\fldrslt link}} text\bin3 {}} more}";
        assert_eq!(to_text(rtf), "link text more");
    }

    #[test]
    fn escaped_braces_and_garbage() {
        assert_eq!(to_text(br"{\rtf1 a\{b\}c\\d}"), r"a{b}c\d");
        let _ = to_text(b"\\");
        let _ = to_text(br"{\rtf1 \'");
        let _ = to_text(br"}}}}{{{");
        let deep = "{".repeat(10_000) + "deep" + &"}".repeat(10_000);
        assert_eq!(to_text(deep.as_bytes()), "deep");
    }
}
