//! Sans-I/O detection: data identifiers with validators, keyword dictionaries, regexes, exact data
//! matching and file rules, each turning decomposed text into [`Hit`]s with redacted evidence only.
//!
//! Nothing here does I/O or reads the clock; definitions arrive as values and are compiled once at
//! load. The policy layer combines hits into verdicts.

pub mod identifier;

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
