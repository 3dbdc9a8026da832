//! The EDM index file on disk: the only I/O of the EDM detector (used by `sluice edm import` and at
//! start-up). Writes are atomic: a temporary file in the same directory, synced, then renamed over
//! `<data_dir>/edm/<name>.edm`, and the directory synced; the file is created with mode 0600.
//! Also the source of the per-index random key (the operating system's generator).

use std::io::Write;
use std::path::{Path, PathBuf};

use super::{Index, KEY_BYTES, format};

/// Largest index file read, in bytes (16 GiB).
pub const MAX_INDEX_FILE_BYTES: u64 = 16 << 30;

/// Where the index named `name` lives under a data directory.
pub fn index_path(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join("edm").join(format!("{name}.edm"))
}

/// A fresh random key from the operating system.
pub fn random_key() -> std::io::Result<[u8; KEY_BYTES]> {
    let mut key = [0u8; KEY_BYTES];
    getrandom::fill(&mut key).map_err(|e| std::io::Error::other(format!("random key: {e}")))?;
    Ok(key)
}

/// Writes an index atomically; returns the final path and the file size.
pub fn write(data_dir: &Path, index: &Index) -> std::io::Result<(PathBuf, u64)> {
    let dir = data_dir.join("edm");
    std::fs::create_dir_all(&dir)?;
    let path = index_path(data_dir, index.name());
    let tmp = dir.join(format!(".{}.edm.tmp.{}", index.name(), std::process::id()));
    let bytes = format::encode(index);
    let result = (|| {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| (path, bytes.len() as u64))
}

/// Why an index file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: larger than {MAX_INDEX_FILE_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("{path}: {source}")]
    Format {
        path: PathBuf,
        source: format::FormatError,
    },
}

/// Reads and decodes an index file.
pub fn read(path: &Path) -> Result<Index, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    // Only a regular file: an index is always one `write` made, and a device such as /dev/zero
    // would otherwise be read up to the (large) limit.
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )));
    }
    if meta.len() > MAX_INDEX_FILE_BYTES {
        return Err(LoadError::TooLarge {
            path: path.to_owned(),
        });
    }
    let bytes = crate::file::read(path, MAX_INDEX_FILE_BYTES).map_err(io)?;
    format::decode(&bytes).map_err(|source| LoadError::Format {
        path: path.to_owned(),
        source,
    })
}
