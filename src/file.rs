//! Bounded reads of the files Sluice is told to load: every one goes through [`read`] with a
//! limit, so that a wrong path (`/dev/zero`, a log file, a disk image) is a clear error instead of
//! an allocation that aborts the process.
//!
//! The limits, in one table (fixed: none of these files is anywhere near them when it is right):
//!
//! | file | limit |
//! |---|---|
//! | the configuration file (`--config`) | [`MAX_CONFIG`] (4 MiB) |
//! | PEM: `tls.cert_file`, `tls.key_file`, `relay.trust_anchors` | [`MAX_PEM`] (16 MiB) |
//! | `approval.managers_file` | [`MAX_MANAGERS`] (64 MiB) |
//! | `[[route]] recipients_file` | `config::gate::MAX_RECIPIENTS_FILE` (64 MiB) |
//! | `dns.resolv_conf` | [`MAX_RESOLV_CONF`] (1 MiB) |
//! | the store's id marks (`ids.highwater`) | `store::marks` (64 KiB) |
//! | an EDM index | `detect::edm::file::MAX_INDEX_FILE_BYTES` (16 GiB; regular files only) |
//!
//! Pipes and devices are read up to the limit too (`--config <(...)` works); whatever is longer
//! is refused, never truncated.
//!
//! Secrets generated on the machine (the approval-link key, the SIEM subject-hash key) are written
//! by [`write_secret`]: mode 0600, whole under a temporary name, synced, then renamed.

use std::io::Read;
use std::path::Path;

/// Largest configuration file read.
pub const MAX_CONFIG: u64 = 4 << 20;
/// Largest PEM file read (a certificate chain, a key, a CA bundle).
pub const MAX_PEM: u64 = 16 << 20;
/// Largest managers file read (`sender,manager` lines).
pub const MAX_MANAGERS: u64 = 64 << 20;
/// Largest resolv.conf read.
pub const MAX_RESOLV_CONF: u64 = 1 << 20;

/// Reads the whole file at `path` if it has at most `max` bytes; a longer one is an error of kind
/// `InvalidData` saying so (regular files are refused from their size, before any read).
pub fn read(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "is a directory, not a file",
        ));
    }
    if meta.is_file() && meta.len() > max {
        return Err(too_large(max));
    }
    let expected = if meta.is_file() { meta.len() } else { 0 };
    let mut bytes = Vec::with_capacity(expected.min(max) as usize);
    file.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(too_large(max));
    }
    Ok(bytes)
}

fn too_large(max: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("larger than {max} bytes, the limit for this file"),
    )
}

/// Writes a secret generated on the machine to `path`: mode 0600, atomically ([`write_atomic`]), so
/// a crash leaves the old file or the new one, never a torn key.
pub fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic(path, bytes, 0o600)
}

/// Replaces `path` with `bytes` atomically: written whole to a temporary file beside it (created
/// 0600, then given `mode`), synced, renamed over it, and the directory synced; on failure the
/// temporary file is removed and `path` is as it was.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_refuses_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345").unwrap();
        assert_eq!(read(&path, 5).unwrap(), b"12345");
        let e = read(&path, 4).unwrap_err();
        assert!(e.to_string().contains("larger than 4 bytes"), "{e}");
        // An endless device is refused after the limit, not read to exhaustion.
        let e = read(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData, "{e}");
        assert!(read(dir.path(), 10).is_err());
        assert!(read(&dir.path().join("missing"), 10).is_err());
    }

    #[test]
    fn atomic_writes_replace_whole_with_the_mode_and_leave_no_temporary_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        write_atomic(&path, b"one", 0o644).unwrap();
        write_atomic(&path, b"two", 0o640).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        write_secret(&path, b"key").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "a temporary file was left behind");
        assert!(write_atomic(&dir.path().join("no/such/dir/f"), b"x", 0o600).is_err());
    }
}
