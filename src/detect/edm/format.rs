//! The EDM index file format (version 1), encoded to and decoded from bytes (no I/O here).
//!
//! ```text
//! magic    8 bytes  "SLUICEDM"
//! version  u16 LE   1
//! flags    u16 LE   0
//! length   u64 LE   the whole file's length, checksum included
//! key      32 bytes the per-index BLAKE3 key (salt)
//! name     u16 LE length + UTF-8
//! columns  u16 LE count, then per column: kind u8 (0 text, 1 number), u16 LE length + UTF-8 name
//! rows     u32 LE
//! tokens   u8       most words in a text cell
//! heads    u32 LE count + u64 LE each: keyed hashes of first words of multi-word cells
//! cells    rows * columns u64 LE, row-major: keyed hashes, 0 = empty cell
//! checksum 32 bytes BLAKE3 of everything before it
//! ```
//!
//! Decoding checks the checksum before parsing and every length against the bytes left, so a
//! truncated, corrupt or foreign file gives a clear [`FormatError`], never a panic.

use super::{Column, ColumnKind, Index, KEY_BYTES, MAX_CELL_TOKENS, MAX_COLUMNS, MAX_ROWS};

const MAGIC: &[u8; 8] = b"SLUICEDM";
/// The format version written and read.
pub const FORMAT_VERSION: u16 = 1;
const CHECKSUM_BYTES: usize = 32;
const LENGTH_AT: usize = 12;
const HEADER_BYTES: usize = LENGTH_AT + 8;

/// Why index bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("not a Sluice EDM index (bad magic)")]
    Magic,
    #[error(
        "EDM index format version {0} is not supported (this build reads version {FORMAT_VERSION})"
    )]
    Version(u16),
    #[error("EDM index is truncated")]
    Truncated,
    #[error("EDM index checksum mismatch: the file is corrupt")]
    Checksum,
    #[error("EDM index is invalid: {0}")]
    Invalid(&'static str),
}

/// Encodes an index as file bytes (cells back in row-major order).
pub fn encode(index: &Index) -> Vec<u8> {
    let width = index.columns.len();
    let mut cells = vec![0u64; index.rows as usize * width];
    for i in 0..index.hashes.len() {
        let at = index.entry_rows[i] as usize * width + index.entry_cols[i] as usize;
        if let Some(c) = cells.get_mut(at) {
            *c = index.hashes[i];
        }
    }
    let mut out = Vec::with_capacity(128 + cells.len() * 8 + index.heads.len() * 8);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u64.to_le_bytes()); // length, patched below
    out.extend_from_slice(&index.key);
    put_str(&mut out, &index.name);
    out.extend_from_slice(&(width as u16).to_le_bytes());
    for c in &index.columns {
        out.push(match c.kind {
            ColumnKind::Text => 0,
            ColumnKind::Number => 1,
        });
        put_str(&mut out, &c.name);
    }
    out.extend_from_slice(&index.rows.to_le_bytes());
    out.push(index.max_tokens as u8);
    out.extend_from_slice(&(index.heads.len() as u32).to_le_bytes());
    for h in &index.heads {
        out.extend_from_slice(&h.to_le_bytes());
    }
    for h in &cells {
        out.extend_from_slice(&h.to_le_bytes());
    }
    let total = (out.len() + CHECKSUM_BYTES) as u64;
    out[LENGTH_AT..LENGTH_AT + 8].copy_from_slice(&total.to_le_bytes());
    let sum = blake3::hash(&out);
    out.extend_from_slice(sum.as_bytes());
    out
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    // Names are bounded (MAX_NAME_BYTES, MAX_COLUMN_NAME_BYTES) far below u16::MAX.
    out.extend_from_slice(&(s.len() as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Decodes file bytes into an index.
pub fn decode(bytes: &[u8]) -> Result<Index, FormatError> {
    if bytes.len() < MAGIC.len() + 2 {
        return Err(if MAGIC.starts_with(bytes) {
            FormatError::Truncated
        } else {
            FormatError::Magic
        });
    }
    if &bytes[..8] != MAGIC {
        return Err(FormatError::Magic);
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != FORMAT_VERSION {
        return Err(FormatError::Version(version));
    }
    if bytes.len() < HEADER_BYTES + KEY_BYTES + CHECKSUM_BYTES {
        return Err(FormatError::Truncated);
    }
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[LENGTH_AT..HEADER_BYTES]);
    let expected = u64::from_le_bytes(len);
    if (bytes.len() as u64) < expected {
        return Err(FormatError::Truncated);
    }
    if bytes.len() as u64 > expected {
        return Err(FormatError::Invalid("trailing bytes after the checksum"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - CHECKSUM_BYTES);
    if blake3::hash(body).as_bytes() != sum {
        return Err(FormatError::Checksum);
    }
    let mut r = Reader {
        bytes: body,
        at: HEADER_BYTES,
    };
    let mut key = [0u8; KEY_BYTES];
    key.copy_from_slice(r.take(KEY_BYTES)?);
    let name = r.string()?;
    let width = r.u16()? as usize;
    if width == 0 || width > MAX_COLUMNS {
        return Err(FormatError::Invalid("column count"));
    }
    let mut columns = Vec::with_capacity(width);
    for _ in 0..width {
        let kind = match r.take(1)?[0] {
            0 => ColumnKind::Text,
            1 => ColumnKind::Number,
            _ => return Err(FormatError::Invalid("column kind")),
        };
        columns.push(Column {
            name: r.string()?,
            kind,
        });
    }
    let rows = r.u32()? as usize;
    if rows > MAX_ROWS {
        return Err(FormatError::Invalid("row count"));
    }
    let max_tokens = r.take(1)?[0] as usize;
    if max_tokens == 0 || max_tokens > MAX_CELL_TOKENS {
        return Err(FormatError::Invalid("token count"));
    }
    let n_heads = r.u32()? as usize;
    let heads = r.u64s(n_heads)?;
    let cells = r.u64s(rows * width)?;
    if r.at != body.len() {
        return Err(FormatError::Invalid("trailing bytes"));
    }
    Ok(Index::from_cells(
        name, key, columns, &cells, heads, max_tokens,
    ))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        let end = self.at.checked_add(n).ok_or(FormatError::Truncated)?;
        let s = self.bytes.get(self.at..end).ok_or(FormatError::Truncated)?;
        self.at = end;
        Ok(s)
    }
    fn u16(&mut self) -> Result<u16, FormatError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, FormatError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64s(&mut self, n: usize) -> Result<Vec<u64>, FormatError> {
        let len = n.checked_mul(8).ok_or(FormatError::Truncated)?;
        let b = self.take(len)?;
        Ok(b.chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                u64::from_le_bytes(a)
            })
            .collect())
    }
    fn string(&mut self) -> Result<String, FormatError> {
        let n = self.u16()? as usize;
        let b = self.take(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| FormatError::Invalid("name is not UTF-8"))
    }
}
