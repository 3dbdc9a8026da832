//! The two operator switches of the gateway, kept in the store so that they survive restarts and
//! can be set from another process (the CLI, the admin UI): `paused` (the delivery worker leases
//! nothing) and `rejecting` (gateway listeners answer 421 at connect). Each is one `meta` key,
//! present when the switch is on. [`Watch`] reads them for hot paths at most once a second.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use super::kv::{ReadTxn, Table, WriteTxn};
use super::{Result, Store};

/// One switch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    /// Delivery from the queue is paused.
    Paused,
    /// Gateway listeners refuse new connections (421 at connect).
    Rejecting,
}

impl Switch {
    fn key(self) -> &'static [u8] {
        match self {
            Switch::Paused => b"switch:paused",
            Switch::Rejecting => b"switch:rejecting",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Switch::Paused => "paused",
            Switch::Rejecting => "rejecting",
        }
    }
}

/// Both switches as stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Switches {
    pub paused: bool,
    pub rejecting: bool,
}

impl Switches {
    fn bits(self) -> u8 {
        u8::from(self.paused) | (u8::from(self.rejecting) << 1)
    }

    fn from_bits(b: u8) -> Switches {
        Switches {
            paused: b & 1 != 0,
            rejecting: b & 2 != 0,
        }
    }
}

/// Both switches in one read.
pub fn read(txn: &dyn ReadTxn) -> Result<Switches> {
    Ok(Switches {
        paused: txn.get(Table::Meta, Switch::Paused.key())?.is_some(),
        rejecting: txn.get(Table::Meta, Switch::Rejecting.key())?.is_some(),
    })
}

/// Turns `switch` on or off in the caller's transaction; says whether that changed it.
pub fn set(txn: &mut dyn WriteTxn, switch: Switch, on: bool) -> Result<bool> {
    let was = txn.get(Table::Meta, switch.key())?.is_some();
    if on {
        txn.put(Table::Meta, switch.key(), b"1")?;
    } else {
        txn.delete(Table::Meta, switch.key())?;
    }
    Ok(was != on)
}

/// Whether delivery is paused, read now (a failed read counts as not paused, logged: mail keeps
/// moving as it did before the switch existed).
pub fn read_paused(store: &Store) -> bool {
    match store.read(read) {
        Ok(s) => s.paused,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the pause switch; delivering");
            false
        }
    }
}

/// How long [`Watch`] trusts what it read.
pub const REFRESH: Duration = Duration::from_secs(1);

/// The switches for hot paths (each connection, each lease round): read from the store at most
/// once per [`REFRESH`]. A failed read keeps the last state (both off at first) and is logged.
pub struct Watch {
    store: Option<Store>,
    state: AtomicU8,
    read_at: Mutex<Option<Instant>>,
}

impl Watch {
    /// `None`: no store (both switches stay off).
    pub fn new(store: Option<Store>) -> Watch {
        Watch {
            store,
            state: AtomicU8::new(0),
            read_at: Mutex::new(None),
        }
    }

    /// The switches as of at most [`REFRESH`] ago.
    pub fn get(&self) -> Switches {
        let Some(store) = &self.store else {
            return Switches::default();
        };
        let now = Instant::now();
        let stale = {
            let mut at = self.read_at.lock().unwrap_or_else(|e| e.into_inner());
            let stale = at.is_none_or(|t| now.duration_since(t) >= REFRESH);
            if stale {
                *at = Some(now);
            }
            stale
        };
        if stale {
            match store.read(read) {
                Ok(s) => self.state.store(s.bits(), Ordering::Release),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the queue switches; keeping the last state")
                }
            }
        }
        Switches::from_bits(self.state.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_are_off_until_set_and_say_when_they_change() {
        let store = Store::memory().unwrap();
        assert_eq!(store.read(read).unwrap(), Switches::default());
        let changed = store
            .write_blocking(|txn| set(txn, Switch::Paused, true))
            .unwrap();
        assert!(changed);
        let again = store
            .write_blocking(|txn| set(txn, Switch::Paused, true))
            .unwrap();
        assert!(!again);
        let s = store.read(read).unwrap();
        assert_eq!((s.paused, s.rejecting), (true, false));
        store
            .write_blocking(|txn| set(txn, Switch::Rejecting, true))
            .unwrap();
        assert!(Watch::new(Some(store.clone())).get().rejecting);
        store
            .write_blocking(|txn| set(txn, Switch::Paused, false))
            .unwrap();
        assert_eq!(
            store.read(read).unwrap(),
            Switches {
                paused: false,
                rejecting: true
            }
        );
        assert_eq!(Watch::new(None).get(), Switches::default());
    }
}
