//! One SIEM destination's drain loop, and the set of them the server runs ([`Exporter`]).
//!
//! A destination reads the store's event outbox from its own cursor (`store::events::since`),
//! skips what its filter does not take (below `min_severity`, other categories: their place is
//! passed all the same), renders the rest in its format, writes them as one batch, and only after
//! the write succeeded moves its cursor past the batch (`store::events::set_cursor`): delivery is
//! at least once and in order; a failed or cut-off write sends the same events again on a new
//! connection (after a backoff from `backoff_min`, doubling to `backoff_max`). It looks for new
//! events every `poll_interval` while idle (a poll, not a wake-up: appends come from every part of
//! the server, and a second of delay is nothing to a SIEM). Nothing in the mail path awaits a
//! destination: the loop runs in the app's task group and only reads the outbox.
//!
//! A destination failing without a break for `down_after` raises `system.siem.down` (once) and a
//! warning; its recovery is logged.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_lite::FutureExt;

use super::render::{self, Style, SubjectMode};
use super::transport::{self, Connection, Target};
use crate::clock::Clock;
use crate::config::siem::{Siem, Start};
use crate::events::{Event, Field, Fields, Kind};
use crate::store::{self, Store, StoreError};

/// The outbox as a destination sees it (the store; a test double in the tests).
pub trait Outbox: Send + Sync + 'static {
    /// The newest event's seq (0: none yet).
    fn head(&self) -> store::Result<u64>;
    fn cursor(&self, destination: &str) -> store::Result<Option<u64>>;
    /// Events after `cursor`, oldest first, at most `max`.
    fn since(&self, cursor: u64, max: usize) -> store::Result<Vec<Event>>;
    fn set_cursor(
        &self,
        destination: &str,
        seq: u64,
    ) -> impl Future<Output = store::Result<()>> + Send;
    fn forget_cursor(&self, destination: &str) -> impl Future<Output = store::Result<()>> + Send;
    fn cursors(&self) -> store::Result<Vec<(String, u64)>>;
    /// Appends an event (`system.siem.down`).
    fn append(
        &self,
        at: u64,
        kind: Kind,
        fields: Fields,
    ) -> impl Future<Output = store::Result<u64>> + Send;
}

impl Outbox for Store {
    fn head(&self) -> store::Result<u64> {
        self.read(store::events::head)
    }
    fn cursor(&self, destination: &str) -> store::Result<Option<u64>> {
        self.read(|t| store::events::cursor(t, destination))
    }
    fn since(&self, cursor: u64, max: usize) -> store::Result<Vec<Event>> {
        self.read(|t| store::events::since(t, cursor, max))
    }
    fn set_cursor(
        &self,
        destination: &str,
        seq: u64,
    ) -> impl Future<Output = store::Result<()>> + Send {
        let name = destination.to_string();
        self.write(move |t| store::events::set_cursor(t, &name, seq))
    }
    fn forget_cursor(&self, destination: &str) -> impl Future<Output = store::Result<()>> + Send {
        let name = destination.to_string();
        self.write(move |t| store::events::forget_cursor(t, &name))
    }
    fn cursors(&self) -> store::Result<Vec<(String, u64)>> {
        self.read(store::events::cursors)
    }
    fn append(
        &self,
        at: u64,
        kind: Kind,
        fields: Fields,
    ) -> impl Future<Output = store::Result<u64>> + Send {
        self.write(move |t| store::events::append(t, at, kind, fields))
    }
}

/// Turns an event into its message: `render::render`, or a stand-in in tests.
pub type Renderer = fn(&Event, &Style) -> String;

/// A configured destination with its TLS material loaded.
#[derive(Clone)]
pub struct Destination {
    pub settings: Siem,
    pub target: Target,
}

impl Destination {
    /// Reads what `settings` names (TLS anchors, client certificate).
    pub fn load(settings: &Siem) -> anyhow::Result<Destination> {
        Ok(Destination {
            settings: settings.clone(),
            target: Target::load(settings)?,
        })
    }

    /// Every destination of `config`, loaded (`serve` at start and reload, and `check-config`).
    pub fn load_all(config: &crate::config::Config) -> anyhow::Result<Vec<Destination>> {
        config.siem.iter().map(Destination::load).collect()
    }
}

/// How a destination's messages look, from its settings and the server's.
pub fn style(s: &Siem, hostname: &str, subject_key: [u8; 32]) -> Style {
    Style {
        format: s.format,
        hostname: hostname.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        facility: s.facility,
        subject: s.subject,
        subject_key,
        leef: s.leef_version,
    }
}

/// Why a round failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("outbox: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Wire(#[from] transport::Error),
}

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Round {
    /// Nothing after the cursor.
    Idle,
    /// The cursor moved past `read` events, `sent` of which were written in `bytes` bytes.
    Moved {
        read: usize,
        sent: usize,
        bytes: u64,
    },
}

/// How a loop was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Restarted with new settings (or the server stopping): the cursor stays.
    Keep,
    /// Removed from the configuration: the cursor goes.
    Forget,
}

/// One destination's loop state.
pub struct Drain<O: Outbox> {
    settings: Siem,
    target: Target,
    style: Style,
    render: Renderer,
    outbox: Arc<O>,
    clock: Arc<Clock>,
    conn: Option<Connection>,
    cursor: Option<u64>,
    /// Since when the destination fails without a success in between, and whether that was
    /// reported.
    failing: Option<(Instant, bool)>,
    backoff: Duration,
}

impl<O: Outbox> Drain<O> {
    pub fn new(
        dest: Destination,
        style: Style,
        render: Renderer,
        outbox: Arc<O>,
        clock: Arc<Clock>,
    ) -> Drain<O> {
        let backoff = dest.settings.backoff_min;
        Drain {
            settings: dest.settings,
            target: dest.target,
            style,
            render,
            outbox,
            clock,
            conn: None,
            cursor: None,
            failing: None,
            backoff,
        }
    }

    /// The cursor: the stored one, else (a new destination) the outbox's head (`start = "end"`)
    /// or 0 (`"oldest"`), stored at once so that a restart resumes from it.
    async fn cursor(&mut self) -> Result<u64, Failure> {
        if let Some(c) = self.cursor {
            return Ok(c);
        }
        let name = &self.settings.name;
        let c = match self.outbox.cursor(name)? {
            Some(c) => c,
            None => {
                let c = match self.settings.start {
                    Start::End => self.outbox.head()?,
                    Start::Oldest => 0,
                };
                self.outbox.set_cursor(name, c).await?;
                c
            }
        };
        self.cursor = Some(c);
        Ok(c)
    }

    /// One batch: read, filter, render, write, then move the cursor.
    pub async fn round(&mut self) -> Result<Round, Failure> {
        let from = self.cursor().await?;
        let events = self.outbox.since(from, self.settings.batch)?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(Round::Idle);
        };
        let messages: Vec<String> = events
            .iter()
            .filter(|e| self.takes(e))
            .map(|e| (self.render)(e, &self.style))
            .collect();
        let mut bytes = 0;
        if !messages.is_empty() {
            bytes = self.write(&messages).await?;
        }
        self.outbox.set_cursor(&self.settings.name, last).await?;
        self.cursor = Some(last);
        Ok(Round::Moved {
            read: events.len(),
            sent: messages.len(),
            bytes,
        })
    }

    /// Whether the filter takes `e`.
    fn takes(&self, e: &Event) -> bool {
        e.kind.severity() >= self.settings.min_severity
            && self.settings.categories.contains(&e.kind.category())
    }

    /// Writes on the open connection (a fresh one if there is none or the receiver closed it);
    /// a receiver that closed right after the write fails it, so the batch goes again.
    async fn write(&mut self, messages: &[String]) -> Result<u64, Failure> {
        if let Some(c) = &mut self.conn
            && c.closed_by_peer().await
        {
            self.conn = None;
        }
        let conn = match &mut self.conn {
            Some(c) => c,
            None => self.conn.insert(Connection::open(&self.target).await?),
        };
        let result = conn.send(messages).await;
        let result = match result {
            Ok(_) if conn.closed_by_peer().await => Err(transport::Error::Closed),
            other => other,
        };
        if result.is_err() {
            self.conn = None;
        }
        Ok(result?)
    }

    /// Runs rounds until it is stopped: a message on `stop` (the destination was removed: its
    /// cursor is forgotten as the loop ends) or `stop` closed (it restarts with new settings:
    /// the cursor stays) end it at once, even in the middle of a round (nothing acknowledged is
    /// lost: the cursor moves only after a write). When draining begins, what is pending is sent
    /// in a last pass (until the outbox is empty or a round fails) and the loop ends.
    pub async fn run(
        mut self,
        stop: smol::channel::Receiver<()>,
        shutdown: Arc<crate::shutdown::Shutdown>,
    ) {
        let name = self.settings.name.clone();
        let stopped = || async {
            match stop.recv().await {
                Ok(()) => Stop::Forget,
                Err(_) => Stop::Keep,
            }
        };
        let end = loop {
            let last_pass = shutdown.is_draining();
            let round = async { Ok(self.round().await) }
                .or(async { Err(stopped().await) })
                .await;
            let wait = match round {
                Err(end) => break end,
                Ok(Ok(Round::Moved { read, sent, bytes })) => {
                    self.succeeded(sent, bytes);
                    tracing::debug!(destination = %name, read, sent, bytes, "siem events written");
                    continue;
                }
                Ok(Ok(Round::Idle)) => self.settings.poll_interval,
                Ok(Err(e)) => {
                    self.failed(&e).await;
                    let wait = self.backoff;
                    self.backoff = (self.backoff * 2).min(self.settings.backoff_max);
                    wait
                }
            };
            if last_pass {
                break Stop::Keep;
            }
            let waited = async {
                smol::Timer::after(wait).await;
                None
            }
            .or(async { Some(stopped().await) })
            .or(async {
                shutdown.draining().await;
                None
            })
            .await;
            if let Some(end) = waited {
                break end;
            }
        };
        if end == Stop::Forget {
            match self.outbox.forget_cursor(&name).await {
                Ok(()) => {
                    tracing::info!(destination = %name, "siem destination removed; its outbox cursor is forgotten")
                }
                Err(e) => {
                    tracing::warn!(destination = %name, error = %e, "cannot forget the siem cursor")
                }
            }
        }
        tracing::debug!(destination = %name, "siem destination stopped");
    }

    fn succeeded(&mut self, sent: usize, bytes: u64) {
        if sent > 0 {
            crate::metrics::global().siem_sent(&self.settings.name, sent as u64, bytes);
        }
        self.backoff = self.settings.backoff_min;
        if let Some((since, _)) = self.failing.take() {
            tracing::info!(destination = %self.settings.name, address = %self.settings.address, down_for = ?since.elapsed(), "siem destination reachable again");
        }
    }

    async fn failed(&mut self, e: &Failure) {
        crate::metrics::global().siem_error(&self.settings.name);
        let (name, address) = (&self.settings.name, &self.settings.address);
        let (since, reported) = match self.failing {
            None => {
                tracing::warn!(destination = %name, address = %address, error = %e, "siem destination failed; retrying with backoff (events wait in the outbox)");
                (Instant::now(), false)
            }
            Some(f) => {
                tracing::debug!(destination = %name, error = %e, "siem destination still failing");
                f
            }
        };
        let mut reported = reported;
        if !reported && since.elapsed() >= self.settings.down_after {
            tracing::warn!(destination = %name, address = %address, error = %e, down_for = ?since.elapsed(), "siem destination down");
            let fields = Fields::new()
                .with(Field::Destination, name)
                .with(Field::DestinationAddress, address)
                .with(Field::ErrorMessage, e);
            match self
                .outbox
                .append(self.clock.now(), Kind::SystemSiemDown, fields)
                .await
            {
                Ok(_) => reported = true,
                Err(e) => {
                    tracing::warn!(destination = %name, error = %e, "cannot record system.siem.down")
                }
            }
        }
        self.failing = Some((since, reported));
    }
}

/// The destinations the server runs: started at `serve`, changed by reloads, stopped at shutdown
/// (each loop is a task of the app's group and ends when draining begins, after a last pass).
pub struct Exporter<O: Outbox = Store> {
    outbox: Arc<O>,
    clock: Arc<Clock>,
    tasks: crate::task::Group,
    shutdown: Arc<crate::shutdown::Shutdown>,
    /// Where the subject-hashing key is kept; it is read (or made) when a destination with
    /// `subject = "hash"` starts.
    data_dir: std::path::PathBuf,
    subject_key: Mutex<Option<[u8; 32]>>,
    render: Renderer,
    running: Mutex<Vec<Running>>,
}

struct Running {
    settings: Siem,
    hostname: String,
    /// A message: the destination was removed; dropped (closing the channel): it restarts.
    stop: smol::channel::Sender<()>,
}

impl<O: Outbox> Exporter<O> {
    pub fn new(
        outbox: Arc<O>,
        clock: Arc<Clock>,
        tasks: crate::task::Group,
        shutdown: Arc<crate::shutdown::Shutdown>,
        data_dir: std::path::PathBuf,
    ) -> Exporter<O> {
        Exporter {
            outbox,
            clock,
            tasks,
            shutdown,
            data_dir,
            subject_key: Mutex::new(None),
            render: render::render,
            running: Mutex::new(Vec::new()),
        }
    }

    /// The same, rendering with `render` (tests).
    pub fn with_renderer(mut self, render: Renderer) -> Exporter<O> {
        self.render = render;
        self
    }

    /// Makes exactly `dests` run: new ones start, changed ones restart (their cursor kept),
    /// unchanged ones go on with their connection (and TLS material), and removed ones stop and
    /// have their cursor forgotten (as have, at start, the cursors of destinations removed while
    /// the server was stopped).
    pub fn apply(&self, dests: Vec<Destination>, hostname: &str) {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        // A destination removed now forgets its own cursor as its loop ends.
        let mut keep: Vec<String> = running.iter().map(|r| r.settings.name.clone()).collect();
        running.retain(|r| {
            let same = dests
                .iter()
                .any(|d| d.settings == r.settings && r.hostname == hostname);
            if !dests.iter().any(|d| d.settings.name == r.settings.name) {
                // Removed: the loop forgets its cursor as it ends (after any write it had begun).
                let _ = r.stop.try_send(());
            }
            same
        });
        for d in dests {
            if running.iter().any(|r| r.settings == d.settings) {
                continue;
            }
            let key = match d.settings.subject {
                SubjectMode::Hash => match self.subject_key() {
                    Ok(k) => k,
                    Err(e) => {
                        tracing::error!(destination = %d.settings.name, error = %e, "siem destination not started: no key for subject = \"hash\"");
                        continue;
                    }
                },
                _ => [0; 32],
            };
            let (tx, rx) = smol::channel::bounded::<()>(1);
            let style = style(&d.settings, hostname, key);
            running.push(Running {
                settings: d.settings.clone(),
                hostname: hostname.to_string(),
                stop: tx,
            });
            tracing::info!(destination = %d.settings.name, format = d.settings.format.name(), transport = d.settings.transport.name(), address = %d.settings.address, "siem destination started");
            let drain = Drain::new(
                d,
                style,
                self.render,
                self.outbox.clone(),
                self.clock.clone(),
            );
            let shutdown = self.shutdown.clone();
            self.tasks.spawn(drain.run(rx, shutdown));
        }
        keep.extend(running.iter().map(|r| r.settings.name.clone()));
        drop(running);
        self.forget_others(keep);
    }

    /// The names of the destinations running, in order.
    pub fn names(&self) -> Vec<String> {
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running.iter().map(|r| r.settings.name.clone()).collect()
    }

    fn subject_key(&self) -> anyhow::Result<[u8; 32]> {
        let mut key = self.subject_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = *key {
            return Ok(k);
        }
        let k = subject_key(&self.data_dir)?;
        *key = Some(k);
        Ok(k)
    }

    fn forget_others(&self, keep: Vec<String>) {
        let stale: Vec<String> = match self.outbox.cursors() {
            Ok(c) => c
                .into_iter()
                .map(|(n, _)| n)
                .filter(|n| !keep.contains(n))
                .collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot list the siem cursors");
                return;
            }
        };
        if stale.is_empty() {
            return;
        }
        let outbox = self.outbox.clone();
        self.tasks.spawn(async move {
            for name in stale {
                match outbox.forget_cursor(&name).await {
                    Ok(()) => tracing::info!(destination = %name, "siem destination removed; its outbox cursor is forgotten"),
                    Err(e) => tracing::warn!(destination = %name, error = %e, "cannot forget the siem cursor"),
                }
            }
        });
    }
}

/// Where the key of `subject = "hash"` is kept (32 raw bytes, mode 0600).
pub const SUBJECT_KEY_FILE: &str = "siem-subject.key";

/// The subject-hashing key in the data dir: read, or generated and written on first use.
pub fn subject_key(data_dir: &std::path::Path) -> anyhow::Result<[u8; 32]> {
    use anyhow::Context;
    if let Some(k) = read_subject_key(data_dir)? {
        return Ok(k);
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key)
        .map_err(|e| anyhow::anyhow!("siem subject key: no randomness: {e}"))?;
    let path = data_dir.join(SUBJECT_KEY_FILE);
    crate::file::write_secret(&path, &key)
        .with_context(|| format!("creating {}", path.display()))?;
    Ok(key)
}

/// The subject-hashing key if the data dir has one; a file of the wrong size is an error.
pub fn read_subject_key(data_dir: &std::path::Path) -> anyhow::Result<Option<[u8; 32]>> {
    let path = data_dir.join(SUBJECT_KEY_FILE);
    match crate::file::read(&path, 32) {
        Ok(bytes) => bytes.try_into().map(Some).map_err(|b: Vec<u8>| {
            anyhow::anyhow!("{}: {} bytes, expected 32", path.display(), b.len())
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(anyhow::anyhow!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests;
