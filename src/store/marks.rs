//! Id high-water marks kept outside `data.mdb`, so that ids (held messages, incidents, approvals,
//! queue entries, events: the `next:*` counters) are never handed out twice, even when `data.mdb`
//! is lost and an older backup restored.
//!
//! The file `<store>/ids.highwater` (beside `store.marker`) says, per counter, a mark: every id
//! this store ever handed out is below it. Ids are reserved in blocks of [`BLOCK`]: when
//! `keys::next_id` would hand out an id at or past the mark the store knows (`mark:<counter>` in
//! `meta`, in the same transaction), [`reserve`] first raises the mark in the file (synced: temporary
//! file, fsync, rename, directory fsync) and then in `meta`, all before the transaction commits. So
//! the file is written once per block, never per id, and never lags an id that a committed
//! transaction used. Writes are serialised by LMDB's write lock (also across processes: the
//! server and a CLI command), and the file is only read and written inside a write transaction.
//!
//! [`settle`] runs on every open and in every restore: a counter whose `mark:` in `meta` is below the
//! file's mark belongs to a store that did not make the latest reservation (restored from a backup,
//! re-created after a loss, an old data file put back), so the counter is raised to the file's mark.
//! A store that made the latest reservation itself keeps its counter (no ids skipped on a restart).
//! A `mark:` above the file's (the file was removed or is older) rewrites the file.
//!
//! A damaged file (not this format, an unknown version, a bad line, a checksum that does not match)
//! is an error, never ignored: the store is not opened and no id is handed out until an
//! administrator moves the file aside. A missing file while the store knows marks is rebuilt from
//! the store with a warning (ids stay unique as long as `data.mdb` is intact).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::keys::id_of;
use super::kv::{Order, ReadTxn, Table, WriteTxn};
use super::{Result, StoreError};

/// The mark file beside `data.mdb`.
pub const FILE: &str = "ids.highwater";
/// Largest mark file read (a few lines per counter; anything longer is not ours).
const MAX_FILE: u64 = 64 << 10;

/// Ids reserved per write of the mark file.
pub const BLOCK: u64 = 1024;

/// The first line: what the file is and its format version.
const HEADER: &str = "sluice id high-water marks 1";

/// Counter name -> mark (every id handed out is below it).
pub(crate) type Marks = BTreeMap<String, u64>;

/// Where the store's mark file is; cheap to clone.
#[derive(Clone, Debug)]
pub struct MarkFile(Arc<(PathBuf, AtomicU64)>);

impl MarkFile {
    pub(crate) fn new(dir: &Path) -> MarkFile {
        MarkFile(Arc::new((dir.join(FILE), AtomicU64::new(0))))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0.0
    }

    /// How often this process wrote the file.
    #[cfg(test)]
    pub(crate) fn saves(&self) -> u64 {
        self.0.1.load(Ordering::Relaxed)
    }

    /// The marks in the file; `None` if there is no file.
    pub(crate) fn load(&self) -> Result<Option<Marks>> {
        match crate::file::read(self.path(), MAX_FILE) {
            Ok(bytes) => parse(&bytes)
                .map(Some)
                .map_err(|e| damaged(self.path(), &e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(damaged(self.path(), &format!("cannot be read: {e}"))),
        }
    }

    /// Replaces the file with `marks`, durably, before returning.
    pub(crate) fn save(&self, marks: &Marks) -> Result<()> {
        let path = self.path();
        let dir = path.parent().unwrap_or(Path::new("."));
        let tmp = dir.join(format!("{FILE}.tmp"));
        // ENOSPC and the like are a full store (452), as for LMDB's own writes.
        let io = |e: std::io::Error| match super::classify(heed::Error::Io(e), true) {
            StoreError::Io(s) => StoreError::Io(format!("writing {}: {s}", path.display())),
            other => other,
        };
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&render(marks))
            .and_then(|()| f.sync_all())
            .map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(io)?;
        self.0.1.fetch_add(1, Ordering::Relaxed);
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io)
    }
}

/// How the error for a damaged mark file starts (`StoreError::Corrupt::what`).
pub(crate) const DAMAGED: &str = "id high-water mark file";

fn damaged(path: &Path, detail: &str) -> StoreError {
    StoreError::Corrupt {
        what: format!("{DAMAGED} {}", path.display()),
        detail: format!(
            "{detail}. Sluice hands out no ids without it. If data.mdb is intact, move the file \
             aside: it is rebuilt from the store. If data.mdb was lost too, ids handed out after \
             the backup you restore may be handed out again"
        ),
    }
}

/// The file's text: the header, a comment, `counter mark` lines, and a BLAKE3 of all before it.
pub(crate) fn render(marks: &Marks) -> Vec<u8> {
    let mut s = format!(
        "{HEADER}\n# Every id a counter of this store handed out is below its mark; Sluice never\n\
         # hands one out again, even after data.mdb is lost and a backup restored. Do not edit.\n"
    );
    for (name, mark) in marks {
        s.push_str(&format!("{name} {mark}\n"));
    }
    let sum = blake3::hash(s.as_bytes());
    s.push_str(&format!("blake3 {}\n", sum.to_hex()));
    s.into_bytes()
}

/// Parses the file; any deviation is an error (a damaged file must not lower a mark silently).
pub(crate) fn parse(bytes: &[u8]) -> std::result::Result<Marks, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "it is not text".to_string())?;
    let body_end = text
        .trim_end_matches('\n')
        .rfind('\n')
        .map(|i| i + 1)
        .ok_or("it is not an id high-water mark file")?;
    let (body, last) = text.split_at(body_end);
    let mut lines = body.lines();
    if lines.next() != Some(HEADER) {
        return Err(match body.lines().next() {
            Some(l) if l.starts_with("sluice id high-water marks ") => {
                format!("it has a format this Sluice does not read ({l:?})")
            }
            _ => "it is not an id high-water mark file".into(),
        });
    }
    let sum = last
        .strip_suffix('\n')
        .and_then(|l| l.strip_prefix("blake3 "))
        .ok_or("its checksum line is missing (truncated?)")?;
    if sum != blake3::hash(body.as_bytes()).to_hex().as_str() {
        return Err("its checksum does not match its content".into());
    }
    let mut marks = Marks::new();
    for (n, line) in lines.enumerate() {
        if line.starts_with('#') {
            continue;
        }
        let bad = || format!("line {} is not `counter mark`", n + 2);
        let (name, mark) = line.split_once(' ').ok_or_else(bad)?;
        let named = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        let mark: u64 = mark.parse().map_err(|_| bad())?;
        if !named || marks.insert(name.to_string(), mark).is_some() {
            return Err(bad());
        }
    }
    Ok(marks)
}

fn mark_key(counter: &str) -> String {
    format!("mark:{counter}")
}

fn get_u64(txn: &dyn ReadTxn, key: &str) -> Result<Option<u64>> {
    match txn.get(Table::Meta, key.as_bytes())? {
        None => Ok(None),
        Some(b) => id_of(b)
            .filter(|_| b.len() == 8)
            .map(Some)
            .ok_or_else(|| StoreError::Corrupt {
                what: key.to_string(),
                detail: "not 8 bytes".into(),
            }),
    }
}

/// Every `prefix`-keyed u64 in `meta`, by the name after the prefix.
fn scan(txn: &dyn ReadTxn, prefix: &str) -> Result<Marks> {
    let mut out = Marks::new();
    for e in txn.prefix(Table::Meta, prefix.as_bytes(), Order::Forward)? {
        let (k, v) = e?;
        let name = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
        let n = id_of(v)
            .filter(|_| v.len() == 8)
            .ok_or_else(|| StoreError::Corrupt {
                what: String::from_utf8_lossy(k).into_owned(),
                detail: "not 8 bytes".into(),
            })?;
        out.insert(name, n);
    }
    Ok(out)
}

/// Makes sure `id` of `counter` is below the recorded mark before the transaction may commit;
/// at a block boundary raises the mark in the file (synced) and in `meta`. Costs one `meta`
/// lookup otherwise.
pub(crate) fn reserve(
    txn: &mut dyn WriteTxn,
    file: &MarkFile,
    counter: &str,
    id: u64,
) -> Result<()> {
    let key = mark_key(counter);
    if id < get_u64(txn, &key)?.unwrap_or(0) {
        return Ok(());
    }
    let known = scan(txn, "mark:")?;
    let mut marks = match file.load()? {
        Some(m) => m,
        None => {
            if !known.is_empty() {
                tracing::warn!(file = %file.path().display(), "store: the id high-water mark file is gone; writing it again from the store");
            }
            Marks::new()
        }
    };
    for (name, m) in &known {
        let e = marks.entry(name.clone()).or_insert(0);
        *e = (*e).max(*m);
    }
    let e = marks.entry(counter.to_string()).or_insert(0);
    *e = (*e).max(id.saturating_add(BLOCK));
    let new = *e;
    file.save(&marks)?;
    txn.put(Table::Meta, key.as_bytes(), &new.to_be_bytes())?;
    Ok(())
}

/// Brings the store and the file into line (on open and in a restore, in the caller's write
/// transaction): a counter of a store that did not make the file's latest reservation is raised to
/// the file's mark; a file below the store's marks is rewritten.
pub(crate) fn settle(txn: &mut dyn WriteTxn, file: &MarkFile) -> Result<()> {
    let known = scan(txn, "mark:")?;
    let (mut marks, missing) = match file.load()? {
        Some(m) => (m, false),
        None => (Marks::new(), true),
    };
    let mut rewrite = false;
    for (name, &m) in &known {
        let f = marks.entry(name.clone()).or_insert(0);
        if m > *f {
            *f = m;
            rewrite = true;
        }
    }
    if rewrite {
        if missing {
            tracing::warn!(file = %file.path().display(), "store: the id high-water mark file is missing; writing it again from the store");
        } else {
            tracing::warn!(file = %file.path().display(), "store: the id high-water mark file is behind the store; raising it");
        }
        file.save(&marks)?;
    }
    for (name, &f) in &marks {
        if known.get(name).copied().unwrap_or(0) >= f {
            continue;
        }
        let next_key = format!("next:{name}");
        let next = get_u64(txn, &next_key)?.unwrap_or(1);
        if next < f {
            tracing::warn!(
                counter = %name,
                from = next,
                to = f,
                "store: id counter raised to its high-water mark (this data file did not make the latest reservation: restored, re-created, an older file, or a reservation rolled back)"
            );
            txn.put(Table::Meta, next_key.as_bytes(), &f.to_be_bytes())?;
        }
        txn.put(Table::Meta, mark_key(name).as_bytes(), &f.to_be_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
