//! Decomposition limits (every one with a documented default) and the time budget the caller passes in.
//!
//! Going past a limit never fails decomposition: the walker stops that branch and records
//! [`super::Anomaly::LimitExceeded`], which policies can act on ("container limit exceeded").

/// Most anomalies recorded for one message; a hostile archive cannot make the list unbounded.
pub(crate) const MAX_ANOMALIES: usize = 256;

/// What decomposition may spend on one message: the `[decomposition]` section of the configuration
/// (defaults and ranges in `assets/sluice.toml`), text bytes from `inspection.max_scan_bytes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Nesting depth: containers and nested messages inside each other (an attachment of the
    /// message itself is at depth 1, an entry of a zip attached to it at depth 2, ...).
    pub max_depth: u32,
    /// Entries read from one container (zip, tar, gzip member, office package).
    pub max_entries_per_container: u32,
    /// Container entries read in the whole message.
    pub max_entries_total: u32,
    /// Bytes decompressed out of containers in the whole message.
    pub max_extracted_bytes: u64,
    /// Largest compression ratio (uncompressed / compressed) of one entry, declared or actual.
    pub max_ratio: u64,
    /// Size below which an entry is never judged by its ratio: small files of repeated
    /// characters compress far better than 100:1 and are harmless.
    pub ratio_floor: u64,
    /// MIME parts looked at, nested messages included.
    pub max_parts: u32,
    /// Text handed to detection, all parts together.
    pub max_text_bytes: u64,
}

/// Which limit was exceeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitKind {
    /// [`Limits::max_depth`].
    Depth,
    /// [`Limits::max_entries_per_container`].
    Entries,
    /// [`Limits::max_entries_total`].
    TotalEntries,
    /// [`Limits::max_extracted_bytes`].
    ExtractedBytes,
    /// [`Limits::max_ratio`] (a zip bomb), declared or seen while inflating.
    Ratio,
    /// [`Limits::max_parts`].
    Parts,
    /// [`Limits::max_text_bytes`]: text past it was not handed to detection.
    TextBytes,
    /// The caller's [`Budget`] expired: the rest of the message was not looked at.
    Time,
}

impl LimitKind {
    /// Stable lower-case name for findings and configuration.
    pub fn name(self) -> &'static str {
        match self {
            Self::Depth => "depth",
            Self::Entries => "entries",
            Self::TotalEntries => "total_entries",
            Self::ExtractedBytes => "extracted_bytes",
            Self::Ratio => "compression_ratio",
            Self::Parts => "parts",
            Self::TextBytes => "text_bytes",
            Self::Time => "time",
        }
    }
}

/// The time budget. The core cannot read the clock, so the caller says when time is up; it is
/// checked between parts and entries and while inflating.
pub trait Budget {
    /// True once decomposition must stop.
    fn expired(&self) -> bool;
}

/// A budget that never expires (offline scans, tests).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBudget;

impl Budget for NoBudget {
    fn expired(&self) -> bool {
        false
    }
}
