//! Spooling large messages: past `listener.spool_threshold` a message being received is written to
//! a file in `<data_dir>/spool/` instead of growing in memory, and at the end of DATA the file is
//! mapped read-only for inspection and relay. The file is unlinked as soon as it is mapped, so
//! nothing is left behind when the message is done (or the process dies); files left by a crash
//! between creating and mapping are removed at start-up ([`Spool::open`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::message::Content;

/// The spool directory.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

/// A message being written to the spool.
#[derive(Debug)]
pub struct SpoolFile {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl Spool {
    /// Creates `<data_dir>/spool` if needed and removes what an earlier run left in it.
    pub fn open(data_dir: &Path) -> std::io::Result<(Spool, usize)> {
        let dir = data_dir.join("spool");
        std::fs::create_dir_all(&dir)?;
        let mut removed = 0;
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                std::fs::remove_file(entry.path())?;
                removed += 1;
            }
        }
        Ok((Spool { dir }, removed))
    }

    /// A new, empty spool file (readable by its owner only).
    pub fn create(&self) -> std::io::Result<SpoolFile> {
        use std::os::unix::fs::OpenOptionsExt;
        let name = format!("{}.eml", uuid::Uuid::new_v4().simple());
        let path = self.dir.join(name);
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        Ok(SpoolFile {
            path,
            file: Some(file),
        })
    }
}

impl SpoolFile {
    /// Appends bytes (on the blocking pool: a disk may be slow).
    pub async fn write(&mut self, bytes: Vec<u8>) -> std::io::Result<()> {
        let Some(mut file) = self.file.take() else {
            return Err(std::io::Error::other("spool file already failed"));
        };
        let (file, result) = smol::unblock(move || {
            let r = file.write_all(&bytes);
            (file, r)
        })
        .await;
        self.file = Some(file);
        result
    }

    /// Maps what was written read-only and unlinks the file (the mapping keeps the data).
    pub async fn map(mut self) -> std::io::Result<Content> {
        let Some(file) = self.file.take() else {
            return Err(std::io::Error::other("spool file already failed"));
        };
        let path = self.path.clone();
        smol::unblock(move || {
            // SAFETY: the file is private to this process (mode 0600, a fresh random name) and is
            // never written again once mapped; it is unlinked right after, so nobody else can
            // change it under the mapping.
            let map = unsafe { memmap2::Mmap::map(&file) };
            let _ = std::fs::remove_file(&path);
            map.map(Content::Mapped)
        })
        .await
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        // Not mapped (the message was refused or the session ended): the file goes now.
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spooled_bytes_come_back_mapped_and_no_file_is_left() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("spool")).unwrap();
        std::fs::write(dir.path().join("spool/left-over.eml"), b"x").unwrap();
        let (spool, removed) = Spool::open(dir.path()).unwrap();
        assert_eq!(removed, 1);
        let content = smol::block_on(async {
            let mut f = spool.create().unwrap();
            f.write(b"Subject: a\r\n\r\n".to_vec()).await.unwrap();
            f.write(b"body\r\n".to_vec()).await.unwrap();
            f.map().await.unwrap()
        });
        assert_eq!(&content[..], b"Subject: a\r\n\r\nbody\r\n");
        assert_eq!(
            std::fs::read_dir(dir.path().join("spool")).unwrap().count(),
            0
        );
        // A file never mapped is removed when dropped.
        drop(spool.create().unwrap());
        assert_eq!(
            std::fs::read_dir(dir.path().join("spool")).unwrap().count(),
            0
        );
    }
}
