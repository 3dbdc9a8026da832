//! Decomposition limits (every one with a documented default) and the time budget the caller passes in.
//!
//! Going past a limit never fails decomposition: the walker stops that branch and records
//! [`super::Anomaly::LimitExceeded`], which policies can act on ("container limit exceeded").

/// Default nesting depth: containers and nested messages inside each other (an attachment of the
/// message itself is at depth 1, an entry of a zip attached to it at depth 2, ...).
pub const DEFAULT_MAX_DEPTH: u32 = 8;
/// Default number of entries read from one container (zip, tar, gzip member, office package).
pub const DEFAULT_MAX_ENTRIES_PER_CONTAINER: u32 = 1_000;
/// Default number of container entries read in the whole message.
pub const DEFAULT_MAX_ENTRIES_TOTAL: u32 = 10_000;
/// Default number of bytes decompressed out of containers in the whole message (64 MiB).
pub const DEFAULT_MAX_EXTRACTED_BYTES: u64 = 64 << 20;
/// Default largest compression ratio (uncompressed / compressed) of one entry, declared or actual.
pub const DEFAULT_MAX_RATIO: u64 = 100;
/// Default size below which an entry is never judged by its ratio (1 MiB): small files of
/// repeated characters compress far better than 100:1 and are harmless.
pub const DEFAULT_RATIO_FLOOR: u64 = 1 << 20;
/// Default number of MIME parts looked at, nested messages included.
pub const DEFAULT_MAX_PARTS: u32 = 1_000;
/// Default amount of text handed to detection, all parts together (32 MiB).
pub const DEFAULT_MAX_TEXT_BYTES: u64 = 32 << 20;
/// Most anomalies recorded for one message; a hostile archive cannot make the list unbounded.
pub(crate) const MAX_ANOMALIES: usize = 256;

/// What decomposition may spend on one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// See [`DEFAULT_MAX_DEPTH`].
    pub max_depth: u32,
    /// See [`DEFAULT_MAX_ENTRIES_PER_CONTAINER`].
    pub max_entries_per_container: u32,
    /// See [`DEFAULT_MAX_ENTRIES_TOTAL`].
    pub max_entries_total: u32,
    /// See [`DEFAULT_MAX_EXTRACTED_BYTES`].
    pub max_extracted_bytes: u64,
    /// See [`DEFAULT_MAX_RATIO`].
    pub max_ratio: u64,
    /// See [`DEFAULT_RATIO_FLOOR`].
    pub ratio_floor: u64,
    /// See [`DEFAULT_MAX_PARTS`].
    pub max_parts: u32,
    /// See [`DEFAULT_MAX_TEXT_BYTES`].
    pub max_text_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            max_entries_per_container: DEFAULT_MAX_ENTRIES_PER_CONTAINER,
            max_entries_total: DEFAULT_MAX_ENTRIES_TOTAL,
            max_extracted_bytes: DEFAULT_MAX_EXTRACTED_BYTES,
            max_ratio: DEFAULT_MAX_RATIO,
            ratio_floor: DEFAULT_RATIO_FLOOR,
            max_parts: DEFAULT_MAX_PARTS,
            max_text_bytes: DEFAULT_MAX_TEXT_BYTES,
        }
    }
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
