//! Backup and restore while Sluice serves. A backup is LMDB's consistent, compacted copy of one read
//! snapshot (readers never block the writer), wrapped in a checked envelope; a restore verifies the
//! whole file first and replaces every database's contents with the backup's in ONE write
//! transaction, so the serving process sees either the old store or the restored one, never a mix,
//! and a failed restore changes nothing.
//!
//! File format (version 1): `SLUICEBK` (8 bytes) | format version (u32 BE) | 0 (u32) | content
//! length (u64 BE) | BLAKE3 of the 24 header bytes before it and the content (32 bytes) | content
//! (the LMDB copy). A restore reads the header, copies the content to a temporary file beside the
//! store while hashing it, and only when length and hash match does it check the copy's structure
//! (`check`, by reading), open it with LMDB, and decode every record into its type before the
//! commit. A backup made by an earlier Sluice (a bare LMDB copy, no checksum) is refused with a
//! message saying so.
//!
//! Ids: a restore never moves an id counter back (each `next:` counter becomes the larger of the
//! store's and the backup's, then at least the id high-water mark kept outside `data.mdb`, see
//! `marks`), so an id handed out before the restore is never handed out again, even when the
//! store was lost and re-created empty; the store's secrets (release-mark key) are kept.
//!
//! Security: a backup file is untrusted input until verified; [`verify_bytes`] is the fuzz target.

mod decode;

use std::io::{Read, Write};
use std::path::Path;

use heed::types::Bytes;
use heed::{CompactionOption, EnvFlags, EnvOpenOptions};

use super::kv::{Order, ReadTxn, Table, WriteTxn};
use super::marks::MarkFile;
use super::{DATABASES, Result, Store, StoreError, check, schema};

/// The first bytes of a backup file.
pub const MAGIC: &[u8; 8] = b"SLUICEBK";
/// The format version this Sluice writes and reads.
pub const FORMAT: u32 = 1;
/// Bytes before the content.
pub const HEADER: usize = 56;
/// What the start of a bare LMDB file looks like (the meta magic after the page header).
const LMDB_MAGIC: [u8; 4] = 0xBEEF_C0DEu32.to_le_bytes();

/// The fields of a backup header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub length: u64,
    pub hash: [u8; 32],
}

fn header_prefix(length: u64) -> [u8; 24] {
    let mut h = [0u8; 24];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&FORMAT.to_be_bytes());
    h[16..24].copy_from_slice(&length.to_be_bytes());
    h
}

fn not_backup(why: impl std::fmt::Display) -> StoreError {
    StoreError::Backup(why.to_string())
}

/// Parses a header; `file_len` is the whole file's length.
pub fn parse_header(head: &[u8], file_len: u64) -> Result<Header> {
    if head.len() >= 20 && head[16..20] == LMDB_MAGIC && &head[..8] != MAGIC {
        return Err(not_backup(
            "this is a bare LMDB copy, as an earlier Sluice wrote backups: it has no checksum and \
             cannot be verified, so it is not restored; make a new backup with this version, or, \
             if the store it came from is lost, stop the server and put the copy in place as \
             <data_dir>/store/data.mdb: it is checked and migrated when the store opens",
        ));
    }
    if head.len() < HEADER || &head[..8] != MAGIC {
        return Err(not_backup("not a Sluice backup (no SLUICEBK header)"));
    }
    let version = u32::from_be_bytes([head[8], head[9], head[10], head[11]]);
    if version != FORMAT || head[12..16] != [0; 4] {
        return Err(not_backup(format!(
            "backup format {version} is not supported (this Sluice reads format {FORMAT})"
        )));
    }
    let mut length = [0u8; 8];
    length.copy_from_slice(&head[16..24]);
    let length = u64::from_be_bytes(length);
    let have = file_len.saturating_sub(HEADER as u64);
    if length != have {
        return Err(not_backup(format!(
            "truncated or extended: the header says {length} bytes of content, the file has {have}"
        )));
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&head[24..HEADER]);
    Ok(Header { length, hash })
}

fn hasher(length: u64) -> blake3::Hasher {
    let mut h = blake3::Hasher::new();
    h.update(&header_prefix(length));
    h
}

fn check_hash(h: &blake3::Hasher, header: &Header) -> Result<()> {
    // blake3's Hash compares in constant time; not that it matters for a checksum.
    if h.finalize() != blake3::Hash::from_bytes(header.hash) {
        return Err(not_backup(
            "the checksum does not match: the file is damaged",
        ));
    }
    Ok(())
}

/// Verifies a whole backup in memory: header, length, checksum, then the structure of the LMDB copy.
pub fn verify_bytes(data: &[u8]) -> Result<check::Summary> {
    let header = parse_header(data, data.len() as u64)?;
    let content = &data[HEADER..];
    let mut h = hasher(header.length);
    h.update(content);
    check_hash(&h, &header)?;
    check::check(content).map_err(|d| not_backup(format!("the LMDB copy is damaged: {d}")))
}

/// The fuzz target over backup files: never panics, whatever the bytes. The checksum stops most
/// inputs early, so the structural check also runs on the bytes as if they were the content.
pub fn fuzz(data: &[u8]) {
    let _ = verify_bytes(data);
    let _ = check::check(data);
    if data.len() > HEADER {
        let _ = check::check(&data[HEADER..]);
    }
}

/// Writes a backup of the store to `to`, atomically (temporary files + rename); returns its size.
pub fn backup(store: &Store, to: &Path) -> Result<u64> {
    let raw = to.with_extension("partial.mdb");
    let tmp = to.with_extension("partial");
    let result = write_backup(store, &raw, &tmp, to);
    let _ = std::fs::remove_file(&raw);
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

fn write_backup(store: &Store, raw: &Path, tmp: &Path, to: &Path) -> Result<u64> {
    let io = |what: &str, p: &Path, e: &dyn std::fmt::Display| {
        StoreError::Io(format!("{what} {}: {e}", p.display()))
    };
    let _ = std::fs::remove_file(raw);
    let copy = store
        .lmdb()?
        .env
        .copy_to_path(raw, CompactionOption::Enabled)
        .map_err(|e| io("writing", raw, &e))?;
    drop(copy);
    let length = std::fs::metadata(raw)
        .map_err(|e| io("reading", raw, &e))?
        .len();
    let mut h = hasher(length);
    let mut src = std::fs::File::open(raw).map_err(|e| io("reading", raw, &e))?;
    std::io::copy(&mut src, &mut h).map_err(|e| io("reading", raw, &e))?;
    let mut out = std::fs::File::create(tmp).map_err(|e| io("writing", tmp, &e))?;
    out.write_all(&header_prefix(length))
        .and_then(|()| out.write_all(h.finalize().as_bytes()))
        .map_err(|e| io("writing", tmp, &e))?;
    let mut src = std::fs::File::open(raw).map_err(|e| io("reading", raw, &e))?;
    std::io::copy(&mut src, &mut out).map_err(|e| io("writing", tmp, &e))?;
    out.sync_all().map_err(|e| io("syncing", tmp, &e))?;
    drop(out);
    std::fs::rename(tmp, to).map_err(|e| io("renaming to", to, &e))?;
    Ok(length + HEADER as u64)
}

/// What a restore brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    pub schema: u32,
    pub records: u64,
}

/// Replaces the store's contents with the backup at `from` in one transaction, after verifying it
/// whole (see the module documentation).
pub fn restore(store: &Store, from: &Path) -> Result<Restored> {
    if !from.is_file() {
        return Err(StoreError::NotFound(format!("backup {}", from.display())));
    }
    let copy = store.lmdb()?.path.join("restore.partial");
    let _ = std::fs::remove_file(&copy);
    let result = unwrap_into(from, &copy).and_then(|()| restore_copy(store, &copy));
    let _ = std::fs::remove_file(&copy);
    result
}

/// Verifies `from`'s header and checksum while copying its content to `copy`, then checks the
/// copy's structure; nothing is mapped yet.
fn unwrap_into(from: &Path, copy: &Path) -> Result<()> {
    let io = |p: &Path, e: std::io::Error| StoreError::Io(format!("{}: {e}", p.display()));
    let mut file = std::fs::File::open(from).map_err(|e| io(from, e))?;
    let len = file.metadata().map_err(|e| io(from, e))?.len();
    let mut head = vec![0u8; HEADER.min(len as usize)];
    file.read_exact(&mut head).map_err(|e| io(from, e))?;
    let header = parse_header(&head, len)?;
    let mut h = hasher(header.length);
    let mut out = std::fs::File::create(copy).map_err(|e| io(copy, e))?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| io(from, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| io(copy, e))?;
    }
    check_hash(&h, &header)?;
    out.flush().map_err(|e| io(copy, e))?;
    drop(out);
    let out = std::fs::File::open(copy).map_err(|e| io(copy, e))?;
    check::check(&out).map_err(|d| not_backup(format!("the LMDB copy is damaged: {d}")))?;
    Ok(())
}

/// Opens the verified copy and restores it in one write.
fn restore_copy(store: &Store, copy: &Path) -> Result<Restored> {
    let mut opts = EnvOpenOptions::new().read_txn_without_tls();
    opts.max_dbs(DATABASES);
    // SAFETY: the copy was verified page by page and is opened read-only, once, without a lock
    // file; nothing else opens it (it is this restore's own temporary file).
    let backup = unsafe {
        opts.flags(EnvFlags::NO_SUB_DIR | EnvFlags::READ_ONLY | EnvFlags::NO_LOCK)
            .open(copy)
    }
    .map_err(|e| not_backup(format!("the LMDB copy does not open: {e}")))?;
    let found = {
        let rtxn = backup.read_txn()?;
        let meta = backup
            .open_database::<Bytes, Bytes>(&rtxn, Some("meta"))?
            .ok_or_else(|| not_backup("no meta database"))?;
        match meta.get(&rtxn, b"schema")? {
            Some(b) => <[u8; 4]>::try_from(b)
                .map(u32::from_be_bytes)
                .map_err(|_| not_backup(format!("a schema version of {} bytes", b.len())))?,
            None => return Err(not_backup("no schema version")),
        }
    };
    if found > schema::CURRENT {
        return Err(StoreError::NewerSchema {
            found,
            supported: schema::CURRENT,
        });
    }
    let marks = store.lmdb()?.dbs.marks.clone();
    store.write_blocking(move |txn| {
        let kept = kept(txn)?;
        let rtxn = backup.read_txn()?;
        for table in Table::ALL {
            txn.clear(table)?;
            let Some(src) = backup.open_database::<Bytes, Bytes>(&rtxn, Some(table.name()))? else {
                continue;
            };
            for e in src.iter(&rtxn)? {
                let (k, v) = e?;
                txn.put(table, k, v)?;
            }
        }
        drop(rtxn);
        schema::stamp(txn, found)?;
        schema::migrate(txn, schema::CURRENT, schema::MIGRATIONS)?;
        put_back(txn, kept, &marks)?;
        let records = decode::all(txn)?;
        Ok(Restored {
            schema: found,
            records,
        })
    })
}

/// Meta entries of the live store that a restore keeps: id counters (to keep the larger), the
/// marks this store reserved (`marks`), and secrets.
fn kept(txn: &dyn ReadTxn) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    for e in txn.all(Table::Meta, Order::Forward)? {
        let (k, v) = e?;
        if k.starts_with(b"next:") || k.starts_with(b"mark:") || k.starts_with(b"secret:") {
            out.push((k.to_vec(), v.to_vec()));
        }
    }
    Ok(out)
}

/// Puts the kept entries back over the backup's: the larger counter, the live store's marks only
/// (the backup's say what the store had reserved then, not what was handed out since), the
/// secrets; then raises the counters to the mark file (`marks::settle`).
fn put_back(txn: &mut dyn WriteTxn, kept: Vec<(Vec<u8>, Vec<u8>)>, marks: &MarkFile) -> Result<()> {
    let mut stale = Vec::new();
    for e in txn.prefix(Table::Meta, b"mark:", Order::Forward)? {
        stale.push(e?.0.to_vec());
    }
    for k in stale {
        txn.delete(Table::Meta, &k)?;
    }
    for (k, v) in kept {
        if k.starts_with(b"next:") {
            let restored = txn.get(Table::Meta, &k)?.and_then(super::keys::id_of);
            let live = super::keys::id_of(&v).unwrap_or(0);
            if restored.is_some_and(|r| r >= live) {
                continue;
            }
        }
        txn.put(Table::Meta, &k, &v)?;
    }
    super::marks::settle(txn, marks)
}

#[cfg(test)]
mod tests;
