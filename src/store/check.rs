//! The structural check of an LMDB data file, made by reading it (`pread`), never by mapping it: LMDB
//! trusts every page number, offset and length it finds in its map, so a damaged file (truncated,
//! flipped bits, zeroed pages) makes it read past the map or the file and the process dies (SIGSEGV,
//! SIGBUS). Every opener of a store (`Store::open`, for the server and the CLI alike) and every
//! restore (on the backup's content) runs this first, so a damaged file is refused with an error.
//!
//! What is checked, from LMDB 0.9/mdb.master's on-disk format (64-bit, little endian): both meta
//! pages (magic `0xBEEFC0DE`, data version 1, page size, last page within the file), then every tree
//! reachable from the meta LMDB would pick (the free-page tree, the main tree and each named
//! database): each page's own number, its kind, the bounds of its node table and of every node, key
//! and value, overflow runs, tree depth and the entry and page counts the trees record; finally that
//! every page up to the last one is used exactly once (by a tree or the free list), which is LMDB's
//! own audit invariant. Only the layout Sluice writes is accepted: no duplicate-sorted databases.
//!
//! Security: the input is untrusted bytes. Every read is bounds-checked, recursion is bounded by the
//! recorded depth (at most [`MAX_DEPTH`]), memory by one bit per page of the file.

use std::os::unix::fs::FileExt;

/// Deepest B-tree accepted (LMDB's own cursor stack is 32 deep).
pub const MAX_DEPTH: u16 = 32;

/// Pages past the end of the file a sound store may count (allocated and freed in a transaction
/// without ever being written; only the free list may name them).
const UNWRITTEN: u64 = 1 << 16;

const MAGIC: u32 = 0xBEEF_C0DE;
const DATA_VERSION: u32 = 1;
const HEADER: usize = 16;
const NODE: usize = 8;
const DB_BYTES: usize = 48;
const INVALID: u64 = u64::MAX;

const P_BRANCH: u16 = 0x01;
const P_LEAF: u16 = 0x02;
const P_OVERFLOW: u16 = 0x04;
const P_META: u16 = 0x08;
const F_BIGDATA: u16 = 0x01;
const F_SUBDATA: u16 = 0x02;

/// Where pages come from: a file (pread) or bytes in memory (fuzzing, tests).
pub trait Source {
    /// Total bytes.
    fn size(&self) -> u64;
    /// Fills `buf` from `offset`; an error when the source is shorter.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()>;
}

impl Source for std::fs::File {
    fn size(&self) -> u64 {
        self.metadata().map(|m| m.len()).unwrap_or(0)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        self.read_exact_at(buf, offset)
    }
}

impl Source for [u8] {
    fn size(&self) -> u64 {
        <[u8]>::len(self) as u64
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| short())?;
        let end = start.checked_add(buf.len()).ok_or_else(short)?;
        buf.copy_from_slice(self.get(start..end).ok_or_else(short)?);
        Ok(())
    }
}

fn short() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::UnexpectedEof)
}

/// Why a file is refused: a sentence for the administrator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Damage(pub String);

fn damage(msg: impl Into<String>) -> Damage {
    Damage(msg.into())
}

/// What a sound file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub page_size: usize,
    /// Pages in use (meta pages included).
    pub pages: u64,
    /// The transaction that committed the snapshot checked.
    pub txnid: u64,
}

/// The meta fields the walk needs.
#[derive(Debug, Clone, Copy)]
struct Meta {
    psize: usize,
    free: Db,
    main: Db,
    last: u64,
    txnid: u64,
}

/// One database record (`MDB_db`).
#[derive(Debug, Clone, Copy)]
struct Db {
    flags: u16,
    depth: u16,
    branch: u64,
    leaf: u64,
    overflow: u64,
    entries: u64,
    root: u64,
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

fn db_at(b: &[u8], at: usize) -> Db {
    Db {
        flags: u16_at(b, at + 4),
        depth: u16_at(b, at + 6),
        branch: u64_at(b, at + 8),
        leaf: u64_at(b, at + 16),
        overflow: u64_at(b, at + 24),
        entries: u64_at(b, at + 32),
        root: u64_at(b, at + 40),
    }
}

/// Reads and checks the meta page at `offset` (page `n`).
fn meta_at<S: Source + ?Sized>(src: &S, n: u64, offset: u64) -> Result<Meta, Damage> {
    let mut b = [0u8; HEADER + 136];
    src.read_at(&mut b, offset)
        .map_err(|_| damage(format!("meta page {n} is missing (the file is too short)")))?;
    let (pgno, flags) = (u64_at(&b, 0), u16_at(&b, 10));
    let (magic, version) = (u32_at(&b, HEADER), u32_at(&b, HEADER + 4));
    if magic != MAGIC || flags & P_META == 0 || pgno != n {
        return Err(damage(format!("meta page {n} is not an LMDB meta page")));
    }
    if version != DATA_VERSION {
        return Err(damage(format!(
            "meta page {n} has LMDB data version {version}"
        )));
    }
    let free = db_at(&b, HEADER + 24);
    // The page size is the free database's `md_pad`.
    let psize = u32_at(&b, HEADER + 24) as usize;
    if !psize.is_power_of_two() || !(512..=65536).contains(&psize) {
        return Err(damage(format!("meta page {n} has page size {psize}")));
    }
    Ok(Meta {
        psize,
        free,
        main: db_at(&b, HEADER + 24 + DB_BYTES),
        last: u64_at(&b, HEADER + 24 + 2 * DB_BYTES),
        txnid: u64_at(&b, HEADER + 32 + 2 * DB_BYTES),
    })
}

/// Checks both meta pages and the file's length; returns the meta LMDB would use (the newer).
fn metas<S: Source + ?Sized>(src: &S) -> Result<Meta, Damage> {
    let m0 = meta_at(src, 0, 0)?;
    let m1 = meta_at(src, 1, m0.psize as u64)?;
    if m1.psize != m0.psize {
        return Err(damage("the meta pages disagree on the page size"));
    }
    let m = if m0.txnid < m1.txnid { m1 } else { m0 };
    // The file may end before `last` only by pages LMDB allocated and freed unwritten; every page
    // a tree uses must be inside it (checked page by page). The bound keeps the walk's memory
    // proportional to the file.
    let pages = src.size() / m.psize as u64;
    if m.last < 1 || m.last >= pages.saturating_add(UNWRITTEN) {
        return Err(damage(format!(
            "truncated or damaged: the meta page says the last page is {}, the file has {pages} pages",
            m.last
        )));
    }
    Ok(m)
}

/// Checks the meta pages only (cheap; before a file is mapped at all).
pub fn check_metas<S: Source + ?Sized>(src: &S) -> Result<u64, Damage> {
    metas(src).map(|m| m.txnid)
}

/// Checks the whole file; see the module documentation.
pub fn check<S: Source + ?Sized>(src: &S) -> Result<Summary, Damage> {
    let meta = metas(src)?;
    let mut walk = Walk {
        src,
        psize: meta.psize,
        size: src.size(),
        last: meta.last,
        seen: vec![0u64; (meta.last as usize) / 64 + 1],
        page: vec![0u8; meta.psize],
        free_pages: Vec::new(),
    };
    walk.mark(0, "meta")?;
    walk.mark(1, "meta")?;
    walk.tree("the free-page database", meta.free, Kind::Free)?;
    walk.tree("the main database", meta.main, Kind::Main)?;
    for p in std::mem::take(&mut walk.free_pages) {
        walk.mark(p, "free list")?;
    }
    let used: u64 = walk.seen.iter().map(|w| u64::from(w.count_ones())).sum();
    if used != meta.last + 1 {
        return Err(damage(format!(
            "{} of {} pages are neither in use nor free",
            meta.last + 1 - used,
            meta.last + 1
        )));
    }
    Ok(Summary {
        page_size: meta.psize,
        pages: meta.last + 1,
        txnid: meta.txnid,
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Values are free-page lists.
    Free,
    /// Values are named databases.
    Main,
    /// Values are opaque bytes.
    Named,
}

struct Walk<'a, S: Source + ?Sized> {
    src: &'a S,
    psize: usize,
    /// Bytes in the source.
    size: u64,
    last: u64,
    seen: Vec<u64>,
    page: Vec<u8>,
    free_pages: Vec<u64>,
}

/// What one tree held, to compare with its record.
#[derive(Default)]
struct Counts {
    branch: u64,
    leaf: u64,
    overflow: u64,
    entries: u64,
}

impl<S: Source + ?Sized> Walk<'_, S> {
    /// Records that page `p` is used; a page used twice is damage.
    fn mark(&mut self, p: u64, by: &str) -> Result<(), Damage> {
        if p > self.last {
            return Err(damage(format!(
                "{by} refers to page {p}, past the last page {}",
                self.last
            )));
        }
        let (w, bit) = ((p / 64) as usize, 1u64 << (p % 64));
        if self.seen[w] & bit != 0 {
            return Err(damage(format!("page {p} is used twice ({by})")));
        }
        self.seen[w] |= bit;
        Ok(())
    }

    /// Fails when pages `p..p + n` are not all inside the file.
    fn inside(&self, p: u64, n: u64) -> Result<(), Damage> {
        let end = (p + n).saturating_mul(self.psize as u64);
        let size = self.size;
        if end > size {
            return Err(damage(format!(
                "truncated: {size} bytes, but page {} in use ends at {end}",
                p + n - 1
            )));
        }
        Ok(())
    }

    fn read(&mut self, p: u64) -> Result<Vec<u8>, Damage> {
        self.inside(p, 1)?;
        let mut buf = std::mem::take(&mut self.page);
        buf.resize(self.psize, 0);
        let r = self.src.read_at(&mut buf, p * self.psize as u64);
        if r.is_err() {
            return Err(damage(format!("page {p} cannot be read")));
        }
        if u64_at(&buf, 0) != p {
            return Err(damage(format!("page {p} is not where its header says")));
        }
        Ok(buf)
    }

    fn tree(&mut self, name: &str, db: Db, kind: Kind) -> Result<(), Damage> {
        if db.root == INVALID {
            return match (db.depth, db.entries, db.branch + db.leaf + db.overflow) {
                (0, 0, 0) => Ok(()),
                _ => Err(damage(format!("{name} is empty but records contents"))),
            };
        }
        if db.flags != 0 && kind == Kind::Named {
            return Err(damage(format!("{name} has flags {:#x}", db.flags)));
        }
        if db.depth == 0 || db.depth > MAX_DEPTH {
            return Err(damage(format!("{name} has depth {}", db.depth)));
        }
        let mut counts = Counts::default();
        self.node_page(name, db.root, db.depth, kind, &mut counts)?;
        let found = (counts.branch, counts.leaf, counts.overflow, counts.entries);
        if found != (db.branch, db.leaf, db.overflow, db.entries) {
            return Err(damage(format!(
                "{name} records {} entries in {} pages but holds {} in {}",
                db.entries,
                db.branch + db.leaf + db.overflow,
                counts.entries,
                counts.branch + counts.leaf + counts.overflow
            )));
        }
        Ok(())
    }

    /// Checks page `p`, `level` levels above the leaves (1 = a leaf), and everything below it.
    fn node_page(
        &mut self,
        name: &str,
        p: u64,
        level: u16,
        kind: Kind,
        counts: &mut Counts,
    ) -> Result<(), Damage> {
        if p < 2 {
            return Err(damage(format!("{name} refers to meta page {p}")));
        }
        self.mark(p, name)?;
        let page = self.read(p)?;
        let result = self.nodes(name, p, &page, level, kind, counts);
        self.page = page;
        result
    }

    fn nodes(
        &mut self,
        name: &str,
        p: u64,
        page: &[u8],
        level: u16,
        kind: Kind,
        counts: &mut Counts,
    ) -> Result<(), Damage> {
        let bad = |what: &str| damage(format!("{name}: page {p}: {what}"));
        let flags = u16_at(page, 10);
        let (lower, upper) = (u16_at(page, 12) as usize, u16_at(page, 14) as usize);
        let branch = match (flags, level) {
            (P_BRANCH, 2..) => true,
            (P_LEAF, 1) => false,
            _ => return Err(bad(&format!("flags {flags:#x} at level {level}"))),
        };
        if lower < HEADER
            || lower > upper
            || upper > self.psize
            || !(lower - HEADER).is_multiple_of(2)
        {
            return Err(bad("bad free-space bounds"));
        }
        let n = (lower - HEADER) / 2;
        if branch && n == 0 {
            return Err(bad("an empty branch page"));
        }
        if branch {
            counts.branch += 1;
        } else {
            counts.leaf += 1;
        }
        // Copied out: `page` is this walk's buffer, and children reuse it.
        let page = page.to_vec();
        for i in 0..n {
            let off = u16_at(&page, HEADER + 2 * i) as usize;
            if off < upper || !off.is_multiple_of(2) || off + NODE > self.psize {
                return Err(bad(&format!("node {i} at offset {off}")));
            }
            let (lo, hi, nflags) = (
                u16_at(&page, off),
                u16_at(&page, off + 2),
                u16_at(&page, off + 4),
            );
            let ksize = u16_at(&page, off + 6) as usize;
            let data = off + NODE + ksize;
            if data > self.psize {
                return Err(bad(&format!("node {i}: key of {ksize} bytes")));
            }
            if branch {
                let child = u64::from(lo) | u64::from(hi) << 16 | u64::from(nflags) << 32;
                self.node_page(name, child, level - 1, kind, counts)?;
                continue;
            }
            counts.entries += 1;
            let size = usize::from(lo) | usize::from(hi) << 16;
            self.leaf_value(name, p, &page[data..], nflags, size, kind, counts)?;
        }
        Ok(())
    }

    /// Checks one leaf value (`rest` is the page from the value's start).
    #[allow(clippy::too_many_arguments)]
    fn leaf_value(
        &mut self,
        name: &str,
        p: u64,
        rest: &[u8],
        flags: u16,
        size: usize,
        kind: Kind,
        counts: &mut Counts,
    ) -> Result<(), Damage> {
        let bad = |what: String| damage(format!("{name}: page {p}: {what}"));
        match (flags, kind) {
            (0, Kind::Free | Kind::Named) => {
                let value = rest
                    .get(..size)
                    .ok_or_else(|| bad(format!("a value of {size} bytes overruns the page")))?;
                if kind == Kind::Free {
                    self.free_list(name, value)?;
                }
                Ok(())
            }
            (F_BIGDATA, Kind::Free | Kind::Named) => {
                let at = rest
                    .get(..8)
                    .map(|b| u64_at(b, 0))
                    .ok_or_else(|| bad("an overflow reference overruns the page".into()))?;
                let value = self.overflow(name, at, size, kind == Kind::Free, counts)?;
                if let Some(v) = value {
                    self.free_list(name, &v)?;
                }
                Ok(())
            }
            (F_SUBDATA, Kind::Main) => {
                let rec = rest
                    .get(..DB_BYTES)
                    .filter(|_| size == DB_BYTES)
                    .ok_or_else(|| bad(format!("a database record of {size} bytes")))?;
                let db = db_at(rec, 0);
                self.tree(&format!("a named database in {name}"), db, Kind::Named)
            }
            _ => Err(bad(format!("a node with flags {flags:#x}"))),
        }
    }

    /// Checks the overflow run at `at` holding `size` bytes; returns its bytes when `want`.
    fn overflow(
        &mut self,
        name: &str,
        at: u64,
        size: usize,
        want: bool,
        counts: &mut Counts,
    ) -> Result<Option<Vec<u8>>, Damage> {
        let bad = |what: String| damage(format!("{name}: overflow page {at}: {what}"));
        if at < 2 || at > self.last {
            return Err(bad(format!("past the last page {}", self.last)));
        }
        let head = self.read(at)?;
        let (flags, pages) = (u16_at(&head, 10), u64::from(u32_at(&head, 12)));
        self.page = head;
        let expected = ((HEADER - 1 + size) / self.psize + 1) as u64;
        if flags != P_OVERFLOW || pages != expected || at + pages - 1 > self.last {
            return Err(bad(format!(
                "{pages} pages for {size} bytes, flags {flags:#x}"
            )));
        }
        self.inside(at, pages)?;
        for q in at..at + pages {
            self.mark(q, name)?;
        }
        counts.overflow += pages;
        if !want {
            return Ok(None);
        }
        let mut value = vec![0u8; size];
        self.src
            .read_at(&mut value, at * self.psize as u64 + HEADER as u64)
            .map_err(|_| bad("cannot be read".into()))?;
        Ok(Some(value))
    }

    /// A free-page list: a count, then that many page numbers.
    fn free_list(&mut self, name: &str, value: &[u8]) -> Result<(), Damage> {
        if value.len() < 8
            || !value.len().is_multiple_of(8)
            || u64_at(value, 0) != (value.len() / 8 - 1) as u64
        {
            return Err(damage(format!(
                "{name}: a free list of {} bytes",
                value.len()
            )));
        }
        for i in 1..value.len() / 8 {
            let p = u64_at(value, 8 * i);
            if p < 2 || p > self.last {
                return Err(damage(format!("{name}: free page {p} is out of range")));
            }
            self.free_pages.push(p);
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests;
