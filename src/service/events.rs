//! The event outbox as an administrator reads it (`sluice events list`): events after a sequence
//! number, oldest first. Read-only.

use crate::events::Event;
use crate::store::events;

use super::{Result, Service};

/// Events listed when no limit is given.
pub const DEFAULT_EVENTS: usize = 100;

impl Service {
    /// The outbox's events after `after` (a sequence number; 0: from the oldest kept), oldest
    /// first, at most `limit`.
    pub fn events(&self, after: u64, limit: usize) -> Result<Vec<Event>> {
        Ok(self.store.read(|txn| events::since(txn, after, limit))?)
    }
}
