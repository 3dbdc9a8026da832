//! Exact data matching (EDM): a customer or employee table turned into an index of keyed hashes of
//! normalised cells, and a matcher that finds rows of which at least k columns appear close together
//! in a text. No plaintext cell value is kept in the index, in memory or on disk.
//!
//! - [`build`]: CSV (header row = column names) -> [`Index`] + [`ImportSummary`] (pure: reads from
//!   any `Read`, the caller supplies the random key).
//! - [`format`]: the index file's bytes (version header, BLAKE3 checksum), encoded and decoded.
//! - [`matcher`]: text -> [`EdmHit`]s (row number, matched column names; never values).
//! - [`file`]: the only I/O: reading and atomically writing `<data_dir>/edm/<name>.edm`.
//!
//! Normalisation (both at import and in the text): text cells are case-folded and split into word
//! tokens (runs of letters and digits; punctuation and whitespace runs separate tokens), so
//! "John  SMITH" and "john smith" are the same value; number-like columns (digits and `-./()+ `
//! only) keep digits only, so "123-45-6789" and "123456789" match.
//!
//! Hashing: BLAKE3 in keyed mode with a random 256-bit key per index (the salt), truncated to 64
//! bits, with a domain byte for text and number values. The key is stored in the index file, since
//! matching needs it: whoever holds the file can test guesses of values (as with any EDM index), so
//! the file is written with mode 0600 and must be protected like the source table.
//!
//! Memory: about 14 bytes per non-empty cell (8-byte hash, 4-byte row, 1-byte column, plus a bucket
//! directory of ~1 byte per cell) and 8 bytes per distinct first word of a multi-word cell. A table
//! of 1,000,000 rows and 10 columns takes about 140 MB. The file holds 8 bytes per cell.

pub mod build;
pub mod file;
pub mod format;
pub mod matcher;
mod normalize;
#[cfg(test)]
mod tests;

pub use build::{ImportError, ImportSummary, build};
pub use format::FormatError;
pub use matcher::{EdmHit, MatchParams};

/// Most columns in one table.
pub const MAX_COLUMNS: usize = 64;
/// Most data rows in one table.
pub const MAX_ROWS: usize = 50_000_000;
/// Longest cell, in bytes; longer cells are skipped (counted in the summary).
pub const MAX_CELL_BYTES: usize = 1024;
/// Most word tokens in a text cell; cells with more are skipped (counted in the summary).
pub const MAX_CELL_TOKENS: usize = 8;
/// Longest column name, in bytes.
pub const MAX_COLUMN_NAME_BYTES: usize = 128;
/// Longest index name, in bytes.
pub const MAX_NAME_BYTES: usize = 64;
/// Size of the per-index key.
pub const KEY_BYTES: usize = 32;

/// How a column's cells are normalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Case-folded word tokens.
    Text,
    /// Digits only.
    Number,
}

/// A column of the table: its header name (metadata, shown in hits) and kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnKind,
}

/// A loaded EDM index: keyed hashes only, sorted for lookup.
#[derive(Clone, PartialEq, Eq)]
pub struct Index {
    name: String,
    key: [u8; KEY_BYTES],
    columns: Vec<Column>,
    rows: u32,
    /// Sorted hashes of first words of multi-word text cells.
    heads: Vec<u64>,
    /// Entries sorted by (hash, row, column), as three parallel arrays.
    hashes: Vec<u64>,
    entry_rows: Vec<u32>,
    entry_cols: Vec<u8>,
    /// `dir[b]` is the first entry whose hash's top `dir_bits` bits are >= b.
    dir: Vec<u32>,
    dir_bits: u32,
    /// Most tokens in any text cell (bounds the n-grams tried in the text).
    max_tokens: usize,
}

impl std::fmt::Debug for Index {
    // The key stays out of Debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("name", &self.name)
            .field("columns", &self.columns)
            .field("rows", &self.rows)
            .field("cells", &self.hashes.len())
            .finish_non_exhaustive()
    }
}

impl Index {
    /// Builds the lookup structures from row-major cell hashes (`rows * columns.len()` values, 0 =
    /// empty) and the first-word hashes of multi-word cells.
    pub(crate) fn from_cells(
        name: String,
        key: [u8; KEY_BYTES],
        columns: Vec<Column>,
        cells: &[u64],
        mut heads: Vec<u64>,
        max_tokens: usize,
    ) -> Index {
        let width = columns.len().max(1);
        let rows = (cells.len() / width) as u32;
        let mut entries: Vec<(u64, u32, u8)> = cells
            .chunks_exact(width)
            .enumerate()
            .flat_map(|(r, row)| {
                row.iter()
                    .enumerate()
                    .filter(|(_, h)| **h != 0)
                    .map(move |(c, &h)| (h, r as u32, c as u8))
            })
            .collect();
        entries.sort_unstable();
        heads.sort_unstable();
        heads.dedup();
        // About four entries per bucket.
        let dir_bits = (usize::BITS - (entries.len() / 4).max(1).leading_zeros()).clamp(1, 28);
        let buckets = 1usize << dir_bits;
        let mut dir = Vec::with_capacity(buckets + 1);
        let mut at = 0usize;
        for b in 0..buckets {
            while at < entries.len() && bucket(entries[at].0, dir_bits) < b {
                at += 1;
            }
            dir.push(at as u32);
        }
        dir.push(entries.len() as u32);
        Index {
            name,
            key,
            columns,
            rows,
            heads,
            hashes: entries.iter().map(|e| e.0).collect(),
            entry_rows: entries.iter().map(|e| e.1).collect(),
            entry_cols: entries.iter().map(|e| e.2).collect(),
            dir,
            dir_bits,
            max_tokens,
        }
    }

    /// The index name (`edm:<name>` in hits).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The columns, in table order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Number of data rows.
    pub fn rows(&self) -> u32 {
        self.rows
    }

    /// Number of indexed (non-empty) cells.
    pub fn cells(&self) -> usize {
        self.hashes.len()
    }

    /// Approximate memory held by the index, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.hashes.len() * 13 + self.dir.len() * 4 + self.heads.len() * 8
    }

    /// The entries with exactly this hash (a range into the entry arrays).
    pub(crate) fn lookup(&self, hash: u64) -> std::ops::Range<usize> {
        let b = bucket(hash, self.dir_bits);
        let lo = self.dir.get(b).copied().unwrap_or(0) as usize;
        let hi = self.dir.get(b + 1).copied().unwrap_or(0) as usize;
        let slice = &self.hashes[lo..hi.max(lo)];
        let s = slice.partition_point(|&h| h < hash);
        let e = slice.partition_point(|&h| h <= hash);
        lo + s..lo + e
    }

    pub(crate) fn is_head(&self, hash: u64) -> bool {
        self.heads.binary_search(&hash).is_ok()
    }

    pub(crate) fn hash(&self, domain: u8, value: &[u8], scratch: &mut Vec<u8>) -> u64 {
        keyed_hash(&self.key, domain, value, scratch)
    }
}

fn bucket(hash: u64, bits: u32) -> usize {
    (hash >> (64 - bits)) as usize
}

/// BLAKE3 keyed hash of `domain || value`, truncated to 64 bits; never 0 (0 marks an empty cell).
pub(crate) fn keyed_hash(
    key: &[u8; KEY_BYTES],
    domain: u8,
    value: &[u8],
    scratch: &mut Vec<u8>,
) -> u64 {
    scratch.clear();
    scratch.push(domain);
    scratch.extend_from_slice(value);
    let out = blake3::keyed_hash(key, scratch);
    let mut first = [0u8; 8];
    first.copy_from_slice(&out.as_bytes()[..8]);
    u64::from_le_bytes(first).max(1)
}
