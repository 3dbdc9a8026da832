//! Named regex detectors: patterns from the definitions compiled once (Rust `regex`, linear time,
//! bounded program and cache sizes) and run over text, with counts, byte offsets and masked evidence.
//! Proximity between regexes and dictionaries uses [`crate::detect::dictionary::proximity::within`].
//!
//! Does not: support look-around or backreferences (the `regex` crate has neither, which is what
//! keeps matching linear in the text), or return the matched text (only offsets and masked evidence).

use regex::{Regex, RegexBuilder};

use crate::detect::dictionary::definitions::{DefinitionError, RegexDef, check_name};
use crate::detect::dictionary::text::mask;
use crate::detect::{Confidence, Hit};

/// Compiled program size limit for one regex.
pub const REGEX_SIZE_LIMIT: usize = 4 << 20;
/// Lazy-DFA cache limit for one regex.
pub const REGEX_DFA_SIZE_LIMIT: usize = 8 << 20;
/// Longest pattern source, in bytes.
pub const MAX_PATTERN_BYTES: usize = crate::detect::dictionary::definitions::MAX_PATTERN_BYTES;
/// Most match offsets kept per regex per scan (the count stops there too; `truncated` is set).
pub const MAX_MATCHES: usize = 65_536;

/// Compiles one pattern with Sluice's limits; the error is one clear line.
pub(crate) fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(format!("pattern longer than {MAX_PATTERN_BYTES} bytes"));
    }
    if pattern.is_empty() {
        return Err("empty pattern".to_owned());
    }
    let re = RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(n) => {
                format!("compiled pattern exceeds the size limit of {n} bytes")
            }
            other => format!(
                "invalid regex: {}",
                other
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("syntax error")
                    .trim()
            ),
        })?;
    if re.is_match("") {
        return Err("pattern matches the empty string".to_owned());
    }
    Ok(re)
}

/// A compiled set of named regexes.
#[derive(Debug, Clone)]
pub struct Patterns {
    names: Vec<String>,
    regexes: Vec<Regex>,
}

/// A regex in a compiled set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PatternId(u32);

/// Matches of one regex in one text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatternScan {
    /// Byte spans, in order, at most [`MAX_MATCHES`].
    pub spans: Vec<(usize, usize)>,
    /// More matches than [`MAX_MATCHES`] existed.
    pub truncated: bool,
}

impl Patterns {
    /// Compiles checked definitions.
    pub fn new(defs: &[RegexDef]) -> Result<Patterns, DefinitionError> {
        let mut names = Vec::with_capacity(defs.len());
        let mut regexes = Vec::with_capacity(defs.len());
        for d in defs {
            check_name("regex", &d.name)?;
            if names.contains(&d.name) {
                return Err(DefinitionError::Duplicate {
                    kind: "regex",
                    name: d.name.clone(),
                });
            }
            let re = compile(&d.pattern).map_err(|reason| DefinitionError::Regex {
                name: d.name.clone(),
                reason,
            })?;
            names.push(d.name.clone());
            regexes.push(re);
        }
        Ok(Patterns { names, regexes })
    }

    /// The regex with this name.
    pub fn id(&self, name: &str) -> Option<PatternId> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| PatternId(i as u32))
    }

    /// The name of a regex.
    pub fn name(&self, id: PatternId) -> &str {
        self.names.get(id.0 as usize).map_or("", String::as_str)
    }

    /// All regexes, in definition order.
    pub fn ids(&self) -> impl Iterator<Item = PatternId> + use<> {
        (0..self.names.len() as u32).map(PatternId)
    }

    /// Runs one regex over `text`.
    pub fn scan(&self, id: PatternId, text: &str) -> PatternScan {
        let mut out = PatternScan::default();
        let Some(re) = self.regexes.get(id.0 as usize) else {
            return out;
        };
        for m in re.find_iter(text) {
            if out.spans.len() == MAX_MATCHES {
                out.truncated = true;
                break;
            }
            out.spans.push((m.start(), m.end()));
        }
        out
    }

    /// Shared [`Hit`]s for one regex's matches: detector `regex:<name>`, masked evidence.
    pub fn hits(&self, id: PatternId, text: &str, scan: &PatternScan) -> Vec<Hit> {
        scan.spans
            .iter()
            .map(|&(start, end)| Hit {
                detector: format!("regex:{}", self.name(id)),
                start,
                end,
                confidence: Confidence::Medium,
                redacted: mask(text.get(start..end).unwrap_or("")),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::dictionary::proximity::within;

    fn set(defs: &[(&str, &str)]) -> Result<Patterns, DefinitionError> {
        Patterns::new(
            &defs
                .iter()
                .map(|(n, p)| RegexDef {
                    name: (*n).into(),
                    description: String::new(),
                    pattern: (*p).into(),
                })
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn counts_offsets_and_masked_evidence() {
        let p = set(&[("ticket", r"\bTCK-\d{6}\b")]).unwrap();
        let id = p.id("ticket").unwrap();
        let t = "see TCK-123456 and TCK-654321, not TCK-12345 or XTCK-123456";
        let s = p.scan(id, t);
        assert_eq!(s.spans, vec![(4, 14), (19, 29)]);
        let hits = p.hits(id, t, &s);
        assert_eq!(hits[0].detector, "regex:ticket");
        assert_eq!(hits[0].redacted, "T********6");
        assert!(!format!("{hits:?}").contains("123456"));
    }

    #[test]
    fn limits_and_errors_are_clear() {
        let e = set(&[("bad", "(unclosed")]).unwrap_err().to_string();
        assert!(
            e.contains("regex \"bad\"") && e.contains("invalid regex"),
            "{e}"
        );
        let e = set(&[("empty", "a*")]).unwrap_err().to_string();
        assert!(e.contains("empty string"), "{e}");
        let e = set(&[("huge", r"\w{1000}\w{1000}\w{1000}")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("size limit"), "{e}");
        let long = "a".repeat(MAX_PATTERN_BYTES + 1);
        assert!(set(&[("long", &long)]).is_err());
        assert!(set(&[("Bad Name", "x")]).is_err());
        assert!(set(&[("a", "x"), ("a", "y")]).is_err());
        // Backreferences and look-around are not linear-time: rejected.
        assert!(set(&[("backref", r"(a)\1")]).is_err());
        assert!(set(&[("look", r"a(?=b)")]).is_err());
    }

    #[test]
    fn match_count_is_capped() {
        let p = set(&[("x", "x")]).unwrap();
        let t = "x".repeat(MAX_MATCHES + 5);
        let s = p.scan(p.id("x").unwrap(), &t);
        assert_eq!(s.spans.len(), MAX_MATCHES);
        assert!(s.truncated);
    }

    #[test]
    fn proximity_with_regex_spans() {
        let p = set(&[("amount", r"\$\d+"), ("acct", r"\bacct\b")]).unwrap();
        let t = "acct 1 2 3 $500 and later 4 5 6 7 8 $9";
        let a = p.scan(p.id("acct").unwrap(), t).spans;
        let b = p.scan(p.id("amount").unwrap(), t).spans;
        assert!(within(t, &a, &b[..1], 4).is_some());
        assert!(within(t, &a, &b[..1], 3).is_none());
        assert!(within(t, &a, &b[1..], 5).is_none());
    }
}
