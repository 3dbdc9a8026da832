//! EDM import: a CSV table (header row = column names, RFC 4180 quoting) read from any `Read` and
//! turned into an [`Index`] of keyed hashes. Cell values are hashed as they are read and dropped;
//! the summary carries counts, column names and line numbers, never values.

use std::io::Read;

use super::normalize::{DOMAIN_NUMBER, DOMAIN_TEXT, number_form, number_like, text_form};
use super::{
    Column, ColumnKind, Index, KEY_BYTES, MAX_CELL_BYTES, MAX_CELL_TOKENS, MAX_COLUMN_NAME_BYTES,
    MAX_COLUMNS, MAX_NAME_BYTES, MAX_ROWS, keyed_hash,
};

/// Share of non-empty cells that must look like numbers for a column to be a number column.
pub const NUMBER_COLUMN_SHARE: f64 = 0.9;
/// Most skipped-row line numbers listed in a summary (all are counted).
pub const MAX_LISTED_SKIPS: usize = 100;

/// Why a row was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A different number of fields than the header.
    FieldCount { found: usize },
    /// Not valid UTF-8.
    Encoding,
    /// Every cell empty.
    Empty,
    /// A CSV syntax error.
    Syntax,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::FieldCount { found } => write!(f, "{found} fields"),
            SkipReason::Encoding => f.write_str("not UTF-8"),
            SkipReason::Empty => f.write_str("no values"),
            SkipReason::Syntax => f.write_str("CSV syntax error"),
        }
    }
}

/// What an import did, without any cell value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImportSummary {
    pub rows: u32,
    pub columns: Vec<Column>,
    /// Skipped rows as (line number in the file, reason), at most [`MAX_LISTED_SKIPS`].
    pub skipped: Vec<(u64, SkipReason)>,
    pub skipped_total: u64,
    /// Cells left out: longer than [`MAX_CELL_BYTES`] or [`MAX_CELL_TOKENS`] words.
    pub long_cells: u64,
    pub empty_cells: u64,
}

/// Why an import failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("index name {0:?} must be 1-{MAX_NAME_BYTES} characters of a-z, A-Z, 0-9, '_' or '-'")]
    Name(String),
    #[error("CSV header: {0}")]
    Header(String),
    #[error("more than {MAX_ROWS} rows")]
    TooManyRows,
    #[error("no usable rows")]
    NoRows,
    #[error("reading the CSV: {0}")]
    Io(#[from] std::io::Error),
}

/// Checks an index name (also the file name): 1-64 of `A-Za-z0-9_-`.
pub fn check_name(name: &str) -> Result<(), ImportError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ImportError::Name(name.to_owned()))
    }
}

/// Per-cell state while importing: both normal forms hashed, the kind chosen at the end.
#[derive(Clone, Copy, Default)]
struct Cell {
    text: u64,
    number: u64,
    /// Hash of the first word when the text form has several words.
    head: u64,
}

/// Reads a CSV table and builds its index with `key`. Bad rows are skipped and listed by line
/// number; the whole import fails only on a bad header, no usable row, or a read error.
pub fn build(
    name: &str,
    csv: impl Read,
    key: [u8; KEY_BYTES],
) -> Result<(Index, ImportSummary), ImportError> {
    check_name(name)?;
    let lines = std::rc::Rc::new(std::cell::RefCell::new(LineTracker::default()));
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(Counting {
            inner: csv,
            lines: lines.clone(),
        });
    let mut record = csv::ByteRecord::new();
    let header = read_header(&mut reader, &mut record)?;
    let width = header.len();
    let mut summary = ImportSummary::default();
    let mut cells: Vec<Cell> = Vec::new();
    // Per column: non-empty cells, and how many of them look like numbers.
    let mut filled = vec![0u64; width];
    let mut numeric = vec![0u64; width];
    let mut max_tokens = 1usize;
    let mut scratch = Vec::new();
    let skip = |summary: &mut ImportSummary, line: u64, why: SkipReason| {
        summary.skipped_total += 1;
        if summary.skipped.len() < MAX_LISTED_SKIPS {
            summary.skipped.push((line, why));
        }
    };
    loop {
        let at = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => match e.kind() {
                csv::ErrorKind::Io(_) => {
                    return Err(ImportError::Io(std::io::Error::other(
                        "read error while reading the CSV",
                    )));
                }
                _ => {
                    let at = e.position().map_or(at, csv::Position::byte);
                    let line = lines.borrow_mut().line_at(at);
                    skip(&mut summary, line, SkipReason::Syntax);
                    continue;
                }
            },
        }
        let at = record.position().map_or(at, csv::Position::byte);
        let line = lines.borrow_mut().line_at(at);
        if record.len() != width {
            // A lone empty line is not a row.
            if record.len() == 1 && record.get(0).is_some_and(<[u8]>::is_empty) {
                continue;
            }
            skip(
                &mut summary,
                line,
                SkipReason::FieldCount {
                    found: record.len(),
                },
            );
            continue;
        }
        let Ok(fields) = record
            .iter()
            .map(std::str::from_utf8)
            .collect::<Result<Vec<&str>, _>>()
        else {
            skip(&mut summary, line, SkipReason::Encoding);
            continue;
        };
        if fields.iter().all(|f| f.trim().is_empty()) {
            skip(&mut summary, line, SkipReason::Empty);
            continue;
        }
        if summary.rows as usize >= MAX_ROWS {
            return Err(ImportError::TooManyRows);
        }
        for (c, field) in fields.iter().enumerate() {
            let field = field.trim();
            let mut cell = Cell::default();
            if field.is_empty() {
                summary.empty_cells += 1;
            } else if field.len() > MAX_CELL_BYTES {
                summary.long_cells += 1;
            } else {
                filled[c] += 1;
                if number_like(field) {
                    numeric[c] += 1;
                }
                if let Some(d) = number_form(field) {
                    cell.number = keyed_hash(&key, DOMAIN_NUMBER, d.as_bytes(), &mut scratch);
                }
                match text_form(field) {
                    Some((_, n)) if n > MAX_CELL_TOKENS => summary.long_cells += 1,
                    Some((form, n)) => {
                        cell.text = keyed_hash(&key, DOMAIN_TEXT, form.as_bytes(), &mut scratch);
                        if n > 1 {
                            let first = form.split(' ').next().unwrap_or("");
                            cell.head =
                                keyed_hash(&key, DOMAIN_TEXT, first.as_bytes(), &mut scratch);
                            max_tokens = max_tokens.max(n);
                        }
                    }
                    None => {}
                }
            }
            cells.push(cell);
        }
        summary.rows += 1;
    }
    if summary.rows == 0 {
        return Err(ImportError::NoRows);
    }
    let columns: Vec<Column> = header
        .into_iter()
        .enumerate()
        .map(|(c, name)| {
            let number =
                filled[c] > 0 && numeric[c] as f64 >= NUMBER_COLUMN_SHARE * filled[c] as f64;
            Column {
                name,
                kind: if number {
                    ColumnKind::Number
                } else {
                    ColumnKind::Text
                },
            }
        })
        .collect();
    let mut heads = Vec::new();
    let hashes: Vec<u64> = cells
        .iter()
        .enumerate()
        .map(|(i, cell)| match columns[i % width].kind {
            ColumnKind::Number => cell.number,
            ColumnKind::Text => {
                if cell.head != 0 {
                    heads.push(cell.head);
                }
                cell.text
            }
        })
        .collect();
    drop(cells);
    summary.columns = columns.clone();
    let index = Index::from_cells(name.to_owned(), key, columns, &hashes, heads, max_tokens);
    Ok((index, summary))
}

/// A reader that remembers where lines start, because the CSV parser's own line numbers skip
/// line breaks inside quoted fields. Keeps only the chunks not yet passed by the parser.
struct Counting<R> {
    inner: R,
    lines: std::rc::Rc<std::cell::RefCell<LineTracker>>,
}

#[derive(Default)]
struct LineTracker {
    /// (first byte offset, line breaks before it, bytes) of chunks read and not yet passed.
    chunks: std::collections::VecDeque<(u64, u64, Vec<u8>)>,
    total: u64,
    breaks: u64,
}

impl LineTracker {
    /// The 1-based line where the record at byte offset `at` starts; offsets must not decrease
    /// between calls. The parser reports a record's start just after the previous record's first
    /// terminator byte, so line breaks right at `at` (a CRLF's LF, blank lines) are stepped over.
    fn line_at(&mut self, at: u64) -> u64 {
        while self.chunks.len() > 1 && self.chunks.get(1).is_some_and(|c| c.0 <= at) {
            self.chunks.pop_front();
        }
        let Some((start, before, bytes)) = self.chunks.front() else {
            return self.breaks + 1;
        };
        let skip = (at.saturating_sub(*start) as usize).min(bytes.len());
        let mut line = before + memchr::memchr_iter(b'\n', &bytes[..skip]).count() as u64 + 1;
        let mut first = true;
        for (_, _, chunk) in &self.chunks {
            let from = if first { skip } else { 0 };
            first = false;
            for &b in &chunk[from..] {
                match b {
                    b'\n' => line += 1,
                    b'\r' => {}
                    _ => return line,
                }
            }
        }
        line
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut t = self.lines.borrow_mut();
        let (start, before) = (t.total, t.breaks);
        t.chunks.push_back((start, before, buf[..n].to_vec()));
        t.total += n as u64;
        t.breaks += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        Ok(n)
    }
}

fn read_header<R: Read>(
    reader: &mut csv::Reader<R>,
    record: &mut csv::ByteRecord,
) -> Result<Vec<String>, ImportError> {
    let bad = |s: &str| ImportError::Header(s.to_owned());
    match reader.read_byte_record(record) {
        Ok(true) => {}
        Ok(false) => return Err(bad("the file is empty")),
        Err(_) => return Err(bad("not valid CSV")),
    }
    if record.len() > MAX_COLUMNS {
        return Err(bad(&format!("more than {MAX_COLUMNS} columns")));
    }
    let mut names: Vec<String> = Vec::with_capacity(record.len());
    for (i, f) in record.iter().enumerate() {
        let f = std::str::from_utf8(f).map_err(|_| bad("not UTF-8"))?;
        // A UTF-8 byte order mark before the first name is dropped.
        let f = if i == 0 {
            f.trim_start_matches('\u{feff}')
        } else {
            f
        };
        let name = f.trim();
        if name.is_empty() {
            return Err(bad(&format!("column {} has no name", i + 1)));
        }
        if name.len() > MAX_COLUMN_NAME_BYTES || name.chars().any(char::is_control) {
            return Err(bad(&format!(
                "column {} name is longer than {MAX_COLUMN_NAME_BYTES} bytes or has control characters",
                i + 1
            )));
        }
        if names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            return Err(bad(&format!("column {name:?} appears twice")));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}
