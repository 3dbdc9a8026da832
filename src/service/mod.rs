//! The service layer: one typed API for everything an administrator does with the quarantine and
//! the incidents — search ([`Query`], [`Listing`]), show ([`HeldView`], [`IncidentView`]),
//! [`Stats`], release (optionally with a [`Tag`]), forward, delete, rescan, resolve, dismiss and note
//! ([`Op`]) on ids or on everything a query matches, backup and restore; and the administrators'
//! accounts, sign-in and API tokens (`users`, `tokens`, with the [`Role`]s and [`Permission`]s of
//! `access`) with the audit log every change writes to; message tracking ([`TrackQuery`],
//! [`MessageTrail`]) and the reports ([`SummaryReport`], [`DetailReport`], [`Series`] for the
//! dashboard); the gateway's queue (`queue`: [`QueueFilter`], [`QueueRow`], [`QueueAction`] on
//! [`QueueRef`]s). The CLI (`console`) calls
//! it today; the admin UI and its JSON API call it next, so every page gets its data here.
//!
//! Requests are typed values; results are serde-serialisable values; a failure is one [`Error`]
//! whose [`ErrorKind`] a caller maps to an exit code or an HTTP status. Every change names its
//! [`Actor`] (the CLI's operator, later the UI's user), and the store's history records it. The
//! service prints nothing and reads no flags: parsing and rendering are the caller's. The writes
//! themselves are `remediate`'s (one store write each); the approval desk decides through the same
//! release write (`remediate::release_txn`), inside its own decision's transaction.

mod access;
mod act;
mod error;
mod events;
mod query;
mod queue;
mod report;
mod switches;
mod tokens;
mod tracking;
mod users;
mod view;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::clock::Clock;
use crate::config::Config;
use crate::store::{Mode, Options, Store, StoreError};

pub use crate::remediate::{Bulk, Item, Outcome, Progress, Target, Totals};
pub use crate::report::{DetailReport, SummaryReport};
pub use crate::store::audit::{AuditEntry, Filter as AuditFilter};
pub use crate::store::records::{HeldId, IncidentId};
pub use access::{Permission, Role};
pub use act::{Op, Prepared, Restored, Tag};
pub use error::{Error, ErrorKind, Result};
pub use events::DEFAULT_EVENTS;
pub use query::{Cursor, DEFAULT_LIST, DIRECTIONS, Listing, Paged, Query, SEVERITIES};
pub use queue::{
    QueueAction, QueueEntryView, QueueFilter, QueueListing, QueueOutcome, QueueRef, QueueRow,
    QueueStage, RecipientState,
};
pub use report::{Series, whole_days};
pub use tokens::{ID_CHARS as TOKEN_ID_CHARS, TokenView};
pub use tracking::{MAX_TRAIL, MessageTrail, TrackPage, TrackQuery, TrackRow};
pub use users::{Caller, MAX_PASSWORD, MIN_PASSWORD, UserView, check_name, check_password};
pub use view::{COUNTERS, Counter, HeldView, IncidentEntry, IncidentView, Stats, Summary};

/// The store's directory under the data directory: `<data_dir>/store`.
pub const STORE_DIR: &str = "store";

/// Longest actor name (characters).
pub const MAX_ACTOR: usize = 64;

/// The store directory of a data directory.
pub fn store_dir(data_dir: &Path) -> PathBuf {
    data_dir.join(STORE_DIR)
}

/// Who asks for a change, as the history records it: 1 to [`MAX_ACTOR`] printable characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Actor(String);

impl Actor {
    /// A checked actor name (trimmed).
    pub fn new(name: &str) -> Result<Actor> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > MAX_ACTOR || name.chars().any(char::is_control)
        {
            return Err(Error::Invalid(format!(
                "an actor name has 1 to {MAX_ACTOR} printable characters"
            )));
        }
        Ok(Actor(name.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The service over one open store, judging with one configuration.
pub struct Service {
    store: Store,
    config: Arc<Config>,
    clock: Clock,
}

impl Service {
    /// The service over an open store.
    pub fn new(store: Store, config: Arc<Config>, clock: Clock) -> Service {
        Service {
            store,
            config,
            clock,
        }
    }

    /// Opens `<server.data_dir>/store` through the server's own open path (`Store::open_as`: the
    /// same marker, structure and schema checks), sized by `store.max_size`. `mode` says whether a
    /// missing store may be created (only for a restore). A missing store is [`Error::NotFound`]
    /// (`no store at DIR`); any other failure names the directory.
    pub fn open(config: Arc<Config>, mode: Mode, clock: Clock) -> Result<Service> {
        let dir = store_dir(&config.server.data_dir);
        let options = Options {
            max_size: config.store.max_size,
        };
        let store = match Store::open_as(&dir, &options, mode) {
            Ok(s) => s,
            Err(StoreError::NotFound(_)) => {
                return Err(Error::NotFound(format!("no store at {}", dir.display())));
            }
            Err(e) => {
                let kind = Error::from(e.clone());
                let text = format!("{}: {e}", dir.display());
                return Err(match kind {
                    Error::Invalid(_) => Error::Invalid(text),
                    Error::Internal(_) => Error::Internal(text),
                    _ => Error::Unavailable(text),
                });
            }
        };
        Ok(Service::new(store, config, clock))
    }

    /// Closes the store (waits for its writer).
    pub fn close(self) {
        self.store.close();
    }

    /// The configuration the service judges with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The time now (Unix seconds), as the service records it.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }
}
