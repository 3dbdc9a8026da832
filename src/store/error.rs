//! What can go wrong in the store ([`StoreError`]) and how LMDB's failures are classified into it:
//! a full disk or map is [`StoreError::Full`] (452 4.3.1 to SMTP), everything else its own kind.

/// Why a store operation failed. Every variant maps to a temporary SMTP reply (in `pipeline::Failure`).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum StoreError {
    /// The map size cap or the disk is full.
    #[error("store is full ({0})")]
    Full(String),
    /// The file was written by a newer Sluice.
    #[error(
        "store schema {found} is newer than this Sluice supports ({supported}); refusing to open it"
    )]
    NewerSchema { found: u32, supported: u32 },
    /// A record that does not decode.
    #[error("corrupt record {what}: {detail}")]
    Corrupt { what: String, detail: String },
    /// The store was created here once, but its data file is now missing or empty (the text says
    /// what to do: restore a backup, or remove the marker on purpose).
    #[error("store lost: {0}")]
    Lost(String),
    /// A backup file that is not one, or is damaged (nothing was restored).
    #[error("backup refused: {0}")]
    Backup(String),
    /// The thing asked for does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request conflicts with the record's state (e.g. already released).
    #[error("{0}")]
    Refused(String),
    /// LMDB or file-system failure.
    #[error("store error: {0}")]
    Io(String),
    /// The writer thread is gone (shutting down) or the store could not be opened.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// True when retrying later may succeed (everything except refusals and missing records).
    pub fn is_temporary(&self) -> bool {
        !matches!(
            self,
            StoreError::NotFound(_) | StoreError::Refused(_) | StoreError::Backup(_)
        )
    }
}

impl From<heed::Error> for StoreError {
    fn from(e: heed::Error) -> StoreError {
        classify(e, false)
    }
}

/// Errnos that mean the disk (or the space the process may use) is full.
const FULL_ERRNOS: [i32; 3] = [libc::ENOSPC, libc::EDQUOT, libc::EFBIG];

/// Turns a heed error into a [`StoreError`]. `writing` is true for the commit of a write
/// transaction: LMDB reports a short write of pages as `EIO` ("which error code?" in mdb.c), which
/// is what a disk filling up mid-write (or a file-size limit) looks like, so there it is a full
/// store too (452 4.3.1), as are ENOSPC, EDQUOT, EFBIG and the map cap everywhere.
pub(crate) fn classify(e: heed::Error, writing: bool) -> StoreError {
    let errno = match &e {
        heed::Error::Io(io) => io.raw_os_error(),
        heed::Error::Mdb(heed::MdbError::Other(code)) => Some(*code),
        _ => None,
    };
    match (e, errno) {
        (heed::Error::Mdb(heed::MdbError::MapFull), _) => {
            StoreError::Full("store.max_size reached".into())
        }
        (_, Some(code)) if FULL_ERRNOS.contains(&code) => StoreError::Full(format!(
            "disk full: {}",
            std::io::Error::from_raw_os_error(code)
        )),
        (_, Some(code)) if writing && code == libc::EIO => {
            StoreError::Full("disk full: a short write (EIO) while committing".into())
        }
        (e @ heed::Error::Mdb(heed::MdbError::Corrupted | heed::MdbError::PageNotFound), _) => {
            StoreError::Corrupt {
                what: "database page".into(),
                detail: e.to_string(),
            }
        }
        (other, _) => StoreError::Io(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno(code: i32) -> heed::Error {
        heed::Error::Mdb(heed::MdbError::Other(code))
    }

    #[test]
    fn a_full_disk_is_a_full_store_however_lmdb_reports_it() {
        let full = |e: &StoreError| matches!(e, StoreError::Full(_));
        assert!(full(&classify(
            heed::Error::Mdb(heed::MdbError::MapFull),
            false
        )));
        for code in [libc::ENOSPC, libc::EDQUOT, libc::EFBIG] {
            assert!(full(&classify(errno(code), false)), "{code}");
            assert!(full(&classify(errno(code), true)), "{code}");
            let io = heed::Error::Io(std::io::Error::from_raw_os_error(code));
            assert!(full(&classify(io, false)), "{code}");
        }
        // LMDB's short write during a commit.
        assert!(full(&classify(errno(libc::EIO), true)));
        let io = heed::Error::Io(std::io::Error::from_raw_os_error(libc::EIO));
        assert!(full(&classify(io, true)));
        // EIO outside a commit is a plain I/O failure (451), as is anything else.
        assert!(matches!(
            classify(errno(libc::EIO), false),
            StoreError::Io(_)
        ));
        assert!(matches!(
            classify(errno(libc::EACCES), true),
            StoreError::Io(_)
        ));
        assert!(matches!(
            classify(heed::Error::Mdb(heed::MdbError::Corrupted), true),
            StoreError::Corrupt { .. }
        ));
    }
}
