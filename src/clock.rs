//! The shell's one source of wall-clock time (Unix seconds), injectable so tests can move it.
//!
//! The pure core never reads the clock: the shell asks a [`Clock`] and passes the time in as a value.
//! [`Clock::system`] reads the real time. For tests (expiry of approvals, queue retries, retention) the
//! binary honours `SLUICE_CLOCK_OFFSET_FILE`: when set, the file holds a signed number of seconds added
//! to the real time, re-read at most once a second, so a test can jump two days without waiting.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The environment variable naming the test clock-offset file.
pub const OFFSET_FILE_ENV: &str = "SLUICE_CLOCK_OFFSET_FILE";

/// How long a read offset is trusted before the file is read again.
const OFFSET_REFRESH: Duration = Duration::from_secs(1);

/// Wall-clock time in Unix seconds.
pub struct Clock {
    offset: Option<Offset>,
    /// A fake clock for unit tests: this time, moved only by [`Clock::set`].
    #[cfg(test)]
    fixed: Option<std::sync::atomic::AtomicU64>,
}

struct Offset {
    path: PathBuf,
    cached: Mutex<(Instant, i64)>,
}

impl Clock {
    /// The real clock, shifted by the offset file if `SLUICE_CLOCK_OFFSET_FILE` is set.
    pub fn system() -> Clock {
        let offset = std::env::var_os(OFFSET_FILE_ENV).map(|p| {
            let path = PathBuf::from(p);
            let now = read_offset(&path);
            Offset {
                path,
                cached: Mutex::new((Instant::now(), now)),
            }
        });
        Clock {
            offset,
            #[cfg(test)]
            fixed: None,
        }
    }

    /// A clock that always reads the real time (ignores the environment).
    pub fn real() -> Clock {
        Clock {
            offset: None,
            #[cfg(test)]
            fixed: None,
        }
    }

    /// A fake clock for unit tests, standing at `now` until [`Clock::set`] moves it.
    #[cfg(test)]
    pub fn fixed(now: u64) -> Clock {
        Clock {
            offset: None,
            fixed: Some(std::sync::atomic::AtomicU64::new(now)),
        }
    }

    /// Moves a [`Clock::fixed`] to `now` (no effect on a real clock).
    #[cfg(test)]
    pub fn set(&self, now: u64) {
        if let Some(f) = &self.fixed {
            f.store(now, std::sync::atomic::Ordering::SeqCst);
        }
    }

    /// Now, in Unix seconds.
    pub fn now(&self) -> u64 {
        #[cfg(test)]
        if let Some(f) = &self.fixed {
            return f.load(std::sync::atomic::Ordering::SeqCst);
        }
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let Some(offset) = &self.offset else {
            return real;
        };
        let shift = {
            let mut cached = offset
                .cached
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if cached.0.elapsed() >= OFFSET_REFRESH {
                *cached = (Instant::now(), read_offset(&offset.path));
            }
            cached.1
        };
        real.saturating_add_signed(shift)
    }
}

/// The offset in the file; a missing or unreadable file means no shift.
fn read_offset(path: &std::path::Path) -> i64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_file_shifts_the_clock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("offset");
        std::fs::write(&path, "172800\n").unwrap();
        let clock = Clock {
            offset: Some(Offset {
                path: path.clone(),
                cached: Mutex::new((Instant::now(), read_offset(&path))),
            }),
            fixed: None,
        };
        let real = Clock::real().now();
        let shifted = clock.now();
        assert!(shifted.abs_diff(real + 172_800) <= 2, "{shifted} vs {real}");
    }

    #[test]
    fn unreadable_offset_is_no_shift() {
        assert_eq!(read_offset(std::path::Path::new("/nonexistent/offset")), 0);
    }
}
