//! The one-time set-up link of a fresh install: no account, no default password. On a start
//! with no account, [`Setup::start`] makes a token of 32 random bytes, writes the link
//! `<public_url>/setup/<token>` to `<data_dir>/setup-link` (mode 0600, `file::write_secret`) and
//! says it in one log line; the set-up page accepts that token once ([`Setup::take`]: the file is
//! removed), and never when an account exists (a start with accounts removes a stale file and
//! accepts nothing). Comparisons take the same time wherever the tokens differ.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The file in the data directory that holds the link.
pub const FILE: &str = "setup-link";
/// The path under which the set-up page is served.
pub const PATH: &str = "/setup/";
/// Bytes of randomness in the token.
pub const TOKEN_BYTES: usize = 32;

/// The pending set-up, if any.
pub struct Setup {
    token: Mutex<Option<String>>,
    file: PathBuf,
}

impl Setup {
    /// At start: with `has_users`, no set-up (a stale link file is removed); otherwise a fresh
    /// token, its link written to `<data_dir>/setup-link` and logged. `public_url` is the admin
    /// UI's base (`https://host:port`).
    pub fn start(data_dir: &Path, has_users: bool, public_url: &str) -> std::io::Result<Setup> {
        let file = data_dir.join(FILE);
        if has_users {
            match std::fs::remove_file(&file) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            return Ok(Setup {
                token: Mutex::new(None),
                file,
            });
        }
        let token = crate::secret::random(TOKEN_BYTES).map_err(std::io::Error::other)?;
        let link = link(public_url, &token);
        crate::file::write_secret(&file, format!("{link}\n").as_bytes())?;
        // Info, not a warning: a fresh install is expected to have no account.
        tracing::info!(
            link = %link,
            file = %file.display(),
            "no administrator account yet: open the set-up link once to create one"
        );
        Ok(Setup {
            token: Mutex::new(Some(token)),
            file,
        })
    }

    /// A set-up that accepts nothing (tests, a server without a data dir to write to).
    pub fn none() -> Setup {
        Setup {
            token: Mutex::new(None),
            file: PathBuf::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.token.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether `token` is the pending set-up's (the page may be shown).
    pub fn check(&self, token: &str) -> bool {
        self.lock()
            .as_deref()
            .is_some_and(|t| crate::secret::same(t.as_bytes(), token.as_bytes()))
    }

    /// Uses the set-up up: true (once) when `token` is the pending one; the link file is removed.
    pub fn take(&self, token: &str) -> bool {
        let mut pending = self.lock();
        if !pending
            .as_deref()
            .is_some_and(|t| crate::secret::same(t.as_bytes(), token.as_bytes()))
        {
            return false;
        }
        *pending = None;
        if !self.file.as_os_str().is_empty()
            && let Err(e) = std::fs::remove_file(&self.file)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file = %self.file.display(), error = %e, "set-up link file not removed");
        }
        true
    }

    /// Whether a set-up is still pending.
    pub fn pending(&self) -> bool {
        self.lock().is_some()
    }
}

/// The link: `<public_url>/setup/<token>`.
pub fn link(public_url: &str, token: &str) -> String {
    format!("{}{PATH}{token}", public_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_link_is_written_private_and_works_once() {
        let dir = tempfile::tempdir().unwrap();
        let s = Setup::start(dir.path(), false, "https://gw.example:8443/").unwrap();
        let file = dir.path().join(FILE);
        let text = std::fs::read_to_string(&file).unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let token = text
            .trim_end()
            .strip_prefix("https://gw.example:8443/setup/")
            .unwrap()
            .to_string();
        assert_eq!(token.len(), 43);
        assert!(s.pending());
        assert!(s.check(&token));
        assert!(!s.check("wrong"));
        assert!(!s.take(&token[1..]));
        assert!(s.take(&token));
        assert!(!file.exists());
        assert!(!s.pending());
        assert!(!s.check(&token));
        assert!(!s.take(&token));
    }

    #[test]
    fn no_link_when_an_account_exists() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE);
        std::fs::write(&file, "https://old/setup/x\n").unwrap();
        let s = Setup::start(dir.path(), true, "https://gw.example:8443").unwrap();
        assert!(!file.exists());
        assert!(!s.pending());
        assert!(!s.check(""));
        assert!(!s.take("x"));
        assert!(!Setup::none().take(""));
    }
}
