//! Inline keyword lists of policies: whole words, case-insensitive (Unicode lower-casing), a phrase
//! matching across any run of whitespace. Matching runs over a normalised copy of the text, so hit
//! offsets point into that copy.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::{Confidence, Hit};

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
    terms: Vec<String>,
}

impl Keywords {
    pub fn new(words: &[String]) -> Result<Keywords, String> {
        let lowered: Vec<String> = words.iter().map(|w| normalize(w.trim())).collect();
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&lowered)
            .map_err(|e| format!("keyword list: {e}"))?;
        Ok(Keywords {
            automaton,
            terms: lowered,
        })
    }

    /// Whether a keyword occurs as whole words in `text`, which must come from [`normalize`].
    pub fn found_in(&self, text: &str) -> bool {
        self.matches(text).next().is_some()
    }

    /// Every whole-word occurrence in `text` (from [`normalize`]), as hits named `label`. The evidence
    /// is the configured term: policy configuration, not message content.
    pub fn hits(&self, text: &str, label: &str, out: &mut Vec<Hit>) {
        for (start, end, term) in self.matches(text) {
            out.push(Hit {
                detector: label.to_string(),
                start,
                end,
                confidence: Confidence::High,
                redacted: self.terms[term].clone(),
            });
        }
    }

    fn matches<'a>(&'a self, hay: &'a str) -> impl Iterator<Item = (usize, usize, usize)> + 'a {
        self.automaton
            .find_overlapping_iter(hay)
            .filter_map(move |m| {
                let before = hay[..m.start()].chars().next_back();
                let after = hay[m.end()..].chars().next();
                (!before.is_some_and(char::is_alphanumeric)
                    && !after.is_some_and(char::is_alphanumeric))
                .then(|| (m.start(), m.end(), m.pattern().as_usize()))
            })
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
    fn hits_name_the_configured_term() {
        let k = Keywords::new(&["secret".into(), "Project  Falcon".into()]).unwrap();
        let mut out = Vec::new();
        k.hits(
            &normalize("Secret: PROJECT\n falcon, secret"),
            "keywords",
            &mut out,
        );
        let terms: Vec<&str> = out.iter().map(|h| h.redacted.as_str()).collect();
        assert_eq!(terms, ["secret", "project falcon", "secret"]);
    }
}
