//! Matchers used by policy conditions: whole-word keyword sets (Aho-Corasick), bounded regexes, and
//! `*`/`?` address patterns. All case-insensitive.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// Compiled size limit for one policy regex (keeps a hostile or careless pattern from eating memory).
const REGEX_SIZE_LIMIT: usize = 4 << 20;

pub fn regex(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            format!(
                "invalid regex: {}",
                e.to_string().lines().last().unwrap_or("syntax error")
            )
        })
}

pub fn check_regex(pattern: &str) -> Result<(), String> {
    regex(pattern).map(|_| ())
}

/// A plausible mailbox: `local@domain`, no spaces or angle brackets.
pub fn check_address(address: &str) -> Result<(), String> {
    let ok = address.len() <= 254
        && address.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && !d.is_empty() && d.contains('.') | d.eq_ignore_ascii_case("localhost")
        })
        && !address
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'<' || b == b'>' || b.is_ascii_control());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{address:?} is not an email address like review@example.com"
        ))
    }
}

/// The form keywords are matched in: lower case, every run of whitespace (line breaks included) one
/// space, so a phrase wrapped by a mail client or spaced out still matches.
pub fn normalize(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut space = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            // Fast path: ASCII is handled byte by byte, without char decoding.
            i += 1;
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
                space = true;
                continue;
            }
            if space && !out.is_empty() {
                out.push(b' ');
            }
            space = false;
            out.push(b.to_ascii_lowercase());
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        i += c.len_utf8();
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() {
            out.push(b' ');
        }
        space = false;
        let mut buf = [0u8; 4];
        for l in c.to_lowercase() {
            out.extend_from_slice(l.encode_utf8(&mut buf).as_bytes());
        }
    }
    // Only whole UTF-8 sequences were copied or encoded above, so this cannot fail.
    String::from_utf8(out).unwrap_or_default()
}

/// A set of keywords matched as whole words, case-insensitively (Unicode lower-casing).
#[derive(Debug, Clone)]
pub struct Keywords {
    automaton: AhoCorasick,
}

impl Keywords {
    pub fn new(words: &[String]) -> Result<Keywords, String> {
        let lowered: Vec<String> = words.iter().map(|w| normalize(w.trim())).collect();
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&lowered)
            .map_err(|e| format!("keyword list: {e}"))?;
        Ok(Keywords { automaton })
    }

    /// Whether a keyword occurs as whole words in `text`, which must come from [`normalize`].
    pub fn found_in(&self, text: &str) -> bool {
        let hay = text;
        self.automaton.find_overlapping_iter(hay).any(|m| {
            let before = hay[..m.start()].chars().next_back();
            let after = hay[m.end()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    }
}

/// An address pattern with `*` (any run) and `?` (one character), case-insensitive.
#[derive(Debug, Clone)]
pub struct Glob(Vec<char>);

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        Glob(pattern.trim().to_lowercase().chars().collect())
    }

    pub fn matches(&self, text: &str) -> bool {
        let t: Vec<char> = text.to_lowercase().chars().collect();
        let p = &self.0;
        // Iterative wildcard match with single backtrack point: linear-ish, no recursion.
        let (mut pi, mut ti) = (0usize, 0usize);
        let (mut star, mut mark) = (None::<usize>, 0usize);
        while ti < t.len() {
            if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
                pi += 1;
                ti += 1;
            } else if pi < p.len() && p[pi] == '*' {
                star = Some(pi);
                mark = ti;
                pi += 1;
            } else if let Some(s) = star {
                pi = s + 1;
                mark += 1;
                ti = mark;
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_match_whole_words_only_any_case() {
        let k = Keywords::new(&["secret".into(), "Project  Falcon".into()]).unwrap();
        let found = |t: &str| k.found_in(&normalize(t));
        assert!(found("This is SECRET."));
        assert!(found("about project falcon today"));
        assert!(found("about PROJECT\r\n  falcon today"));
        assert!(!found("projectfalcon"));
        assert!(!found("secretary"));
        assert!(!found("topsecret"));
        assert!(found("secret"));
        assert!(!found(""));
        assert_eq!(
            normalize("  Größe\u{2003}DER\tÄnderung \r\n"),
            "größe der änderung"
        );
    }

    #[test]
    fn globs() {
        let g = Glob::new("*@Example.com");
        assert!(g.matches("alice@example.COM"));
        assert!(!g.matches("alice@example.com.evil"));
        assert!(Glob::new("a?c@*").matches("abc@x"));
        assert!(Glob::new("*").matches(""));
        assert!(!Glob::new("a*b*c").matches("aXbY"));
    }

    #[test]
    fn addresses_and_regexes_are_checked() {
        assert!(check_address("review@example.com").is_ok());
        assert!(check_address("review").is_err());
        assert!(check_address("a b@example.com").is_err());
        assert!(check_regex(r"\d{3}-\d{2}").is_ok());
        assert!(
            check_regex(r"(unclosed")
                .unwrap_err()
                .contains("invalid regex")
        );
    }
}
