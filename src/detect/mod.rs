//! Sans-I/O detection: data identifiers with validators, keyword dictionaries, regexes, exact data
//! matching and file rules, each turning decomposed text into [`Hit`]s with redacted evidence only.
//!
//! Nothing here does I/O or reads the clock; definitions arrive as values and are compiled once at
//! load. The policy layer combines hits into verdicts.

pub mod dictionary;
pub mod edm;
mod engine;
pub mod identifier;
pub mod pattern;
mod redact;
mod registry;

pub use engine::{ContextScope, Engine, Library, regex};
pub use registry::{Breadth, Detector, DetectorId, Findings, Found, Registry};

/// How sure a detector is that a hit is what it says (Google DLP's likelihood scale, shortened).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    Low,
    Medium,
    High,
}

/// One match of one detector in one piece of text.
///
/// `start..end` are byte offsets into the text that was scanned. `redacted` is what may be shown,
/// logged or stored (for example `4111 **** **** 1111`); the matched value itself never leaves the
/// detector except through the offsets, which only the caller that owns the text can resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Stable detector name: an identifier type in upper snake case (`CREDIT_CARD`, `US_SSN`, ...),
    /// `dictionary:<name>`, `regex:<name>` or `edm:<name>`.
    pub detector: String,
    pub start: usize,
    pub end: usize,
    pub confidence: Confidence,
    pub redacted: String,
}

/// The data identifier types the embedded definitions provide.
pub fn identifier_names() -> Vec<String> {
    identifier::Identifiers::embedded()
        .names()
        .map(str::to_string)
        .collect()
}

/// The keyword dictionaries the embedded definitions provide.
pub fn dictionary_names() -> Vec<String> {
    dictionary::Definitions::embedded()
        .map(|d| d.dictionaries.into_iter().map(|d| d.name).collect())
        .unwrap_or_default()
}

/// The named regexes the embedded definitions provide (`{ pattern = "NAME" }` conditions).
pub fn pattern_names() -> Vec<String> {
    dictionary::Definitions::embedded()
        .map(|d| d.regexes.into_iter().map(|r| r.name).collect())
        .unwrap_or_default()
}

/// The true file types decomposition recognises (by magic bytes), as written in file rules.
pub fn file_type_names() -> Vec<&'static str> {
    crate::decompose::ALL_FILE_TYPES
        .iter()
        .map(|t| t.name())
        .collect()
}

/// Evidence that may be shown for a matched value: its first and last two characters at most, every
/// other character as `*` (all of them for short values), so the value cannot be read back.
pub fn redact(value: &str) -> String {
    let n = value.chars().count();
    let keep = if n >= 12 {
        2
    } else if n >= 8 {
        1
    } else {
        0
    };
    redact::mask(value, keep, keep, redact::Shown::Dashes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn redaction_hides_the_middle_and_short_values_entirely() {
        assert_eq!(super::redact("EMP-123456"), "E**-*****6");
        assert_eq!(super::redact("abc"), "***");
        assert_eq!(super::redact("4111 1111 1111 1111"), "41** **** **** **11");
    }
}
