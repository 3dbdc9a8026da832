//! The structural check on real store files, whole and damaged (truncated, flipped bits at fixed
//! seeds, zeroed pages). A damaged file must be refused or, when the damage only touched value
//! bytes, pass; the check itself must never panic, and LMDB must never see a file it refused.

use super::*;
use crate::store::Table;
use crate::store::tests::held;
use crate::store::{Store, held as held_db};

/// A store with small and large (overflow) records, branch pages and free pages; returns the
/// bytes of its data file.
pub(crate) fn sample_store(dir: &std::path::Path) -> Vec<u8> {
    let store = Store::open(dir, &crate::testing::options()).unwrap();
    for i in 0..120u64 {
        let h = held("a@b.example", &["c@d.example"], i + 1);
        let body = if i % 10 == 0 {
            vec![b'x'; 20_000]
        } else {
            format!("body {i}").into_bytes()
        };
        store
            .write_blocking(move |txn| held_db::insert(txn, h, &body, crate::testing::caps()))
            .unwrap();
    }
    // Some pages freed (a rewritten counter, cleared stats): the free list is not empty.
    store
        .write_blocking(|txn| {
            txn.clear(Table::Stats)?;
            txn.put(Table::Meta, b"scratch", &[0u8; 9000])?;
            Ok(())
        })
        .unwrap();
    store
        .write_blocking(|txn| {
            txn.delete(Table::Meta, b"scratch")?;
            Ok(())
        })
        .unwrap();
    store.close();
    std::fs::read(dir.join("data.mdb")).unwrap()
}

/// A small deterministic generator (xorshift64*), so failures replay.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn a_sound_store_passes_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample_store(dir.path());
    let s = check(bytes.as_slice()).unwrap();
    assert!(s.pages > 20, "{s:?}");
    assert_eq!(s.pages * s.page_size as u64, bytes.len() as u64);
    // The file through pread gives the same answer.
    let file = std::fs::File::open(dir.path().join("data.mdb")).unwrap();
    assert_eq!(check(&file).unwrap(), s);
}

#[test]
fn truncated_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample_store(dir.path());
    // (The last page may be a free one: a file may end before free pages LMDB never wrote.)
    for len in [0, 100, 4096, 8192, bytes.len() / 2] {
        let err = check(&bytes[..len]).unwrap_err();
        assert!(!err.0.is_empty(), "{len}");
    }
    assert!(
        check(&bytes[..bytes.len() / 2])
            .unwrap_err()
            .0
            .contains("truncated")
    );
}

#[test]
fn zeroed_pages_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample_store(dir.path());
    let psize = check(bytes.as_slice()).unwrap().page_size;
    for page in 0..bytes.len() / psize {
        let mut b = bytes.clone();
        b[page * psize..(page + 1) * psize].fill(0);
        // A zeroed page is either used (refused) or free (its content does not matter).
        if let Ok(s) = check(b.as_slice()) {
            assert!(page >= 2, "zeroed meta page {page} passed: {s:?}");
        }
    }
    // Both meta pages zeroed, or one: refused.
    let mut b = bytes.clone();
    b[..psize].fill(0);
    assert!(check(b.as_slice()).unwrap_err().0.contains("meta page 0"));
    let mut b = bytes.clone();
    b[psize..2 * psize].fill(0);
    assert!(check(b.as_slice()).unwrap_err().0.contains("meta page 1"));
}

#[test]
fn page_headers_and_random_flips_never_pass_as_structure() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample_store(dir.path());
    let psize = check(bytes.as_slice()).unwrap().page_size;
    let pages = bytes.len() / psize;
    let mut rng = Rng(0x5EED_0001);
    let mut refused = 0;
    for _ in 0..400 {
        let mut b = bytes.clone();
        // A random byte of a random page header, or of anywhere.
        let page = (rng.next() as usize) % pages;
        let at = if rng.next().is_multiple_of(2) {
            page * psize + (rng.next() as usize) % HEADER
        } else {
            (rng.next() as usize) % b.len()
        };
        b[at] ^= 1 << (rng.next() % 8);
        if check(b.as_slice()).is_err() {
            refused += 1;
        }
    }
    // Most of the file is message content (overflow pages), where a flip is not structural.
    assert!(refused > 50, "only {refused} of 400 damaged files refused");
}

#[test]
fn a_meta_page_claiming_more_pages_than_the_file_has_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sample_store(dir.path());
    let m = metas(bytes.as_slice()).unwrap();
    // Both meta pages say one page more than the file has.
    let mut b = bytes.clone();
    for meta in 0..2 {
        let at = meta * m.psize + HEADER + 24 + 2 * DB_BYTES;
        let last = u64_at(&b, at);
        b[at..at + 8].copy_from_slice(&(last + 1).to_le_bytes());
    }
    assert!(check(b.as_slice()).is_err());
}
