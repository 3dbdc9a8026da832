//! The monitor (shell): periodic checks in the background and the health they give `/readyz` and
//! `/metrics`. Each round (`monitor.interval`, default 30 s): an empty write through the store's
//! writer (is the store writable?), a probe of the next hop (`probe`: TCP connect and SMTP
//! greeting), the store's and the disk's space, the queues by stage (`store::backlog`: growing
//! stages, messages on hold), the certificate's expiry
//! (`cert`). The first round, at start, only probes the store and reads the certificate: the next
//! hop is first probed and conditions first reported one interval later, so a start costs the
//! next hop nothing and a short-lived process raises nothing. `assess` (pure) turns what
//! was seen into `system.*` events, written to the outbox in one store write, and mails to the
//! administrators through the existing `hold::Alerts`, each rate limited.
//!
//! [`Health`] is what the admin server asks: [`Health::readiness`] (not draining, the store's last
//! probe write succeeded, some next-hop address answered the last probe) and [`Health::metrics`]
//! (the text exposition, with the store, disk and queue read at scrape time).
//!
//! The detection definitions are embedded and carry no date, so there is no staleness check;
//! `sluice_definitions_loaded_timestamp_seconds` says when they and the policies were loaded.

pub mod assess;
pub mod cert;
pub mod probe;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_lite::FutureExt;

use crate::clock::Clock;
use crate::metrics::{Hop, Snapshot};
use crate::runtime::Swap;
use crate::shutdown::Shutdown;
use crate::store::Store;
use assess::{Observation, State};

/// What the monitor saw last, and what `/readyz` and `/metrics` read.
pub struct Health {
    shutdown: Arc<Shutdown>,
    store: Option<Store>,
    data_dir: PathBuf,
    clock: Arc<Clock>,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    /// The last probe write's result (`None`: none yet).
    store_write: Option<Result<(), String>>,
    /// The last next-hop probe (empty: none yet, or nothing to probe).
    hops: Vec<Hop>,
    certificates: Vec<(String, u64)>,
}

impl Health {
    pub fn new(
        shutdown: Arc<Shutdown>,
        store: Option<Store>,
        data_dir: PathBuf,
        clock: Arc<Clock>,
    ) -> Health {
        Health {
            shutdown,
            store,
            data_dir,
            clock,
            seen: Mutex::new(Seen::default()),
        }
    }

    fn seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `Ok` when ready for traffic, else a short reason for the 503.
    pub fn readiness(&self) -> Result<(), &'static str> {
        if self.shutdown.is_draining() {
            return Err("draining");
        }
        if self.store.is_none() {
            return Err("store unavailable");
        }
        let seen = self.seen();
        if matches!(seen.store_write, Some(Err(_))) {
            return Err("store not writable");
        }
        if !seen.hops.is_empty() && !seen.hops.iter().any(|h| h.up) {
            return Err("next hop unreachable");
        }
        Ok(())
    }

    /// What the dashboard shows of the system (the values `/metrics` reports); reads the store
    /// (call it off the async threads).
    pub fn status(&self) -> Snapshot {
        self.snapshot()
    }

    /// The metrics' text exposition; reads the store (call it off the async threads).
    pub fn metrics(&self) -> String {
        crate::metrics::global().render(&self.snapshot())
    }

    fn snapshot(&self) -> Snapshot {
        let now = self.clock.now();
        let mut s = Snapshot {
            now,
            ready: self.readiness().is_ok(),
            ..Snapshot::default()
        };
        {
            let seen = self.seen();
            s.hops = seen.hops.clone();
            s.certificates = seen.certificates.clone();
        }
        if let Some((free, size)) = disk_space(&self.data_dir) {
            (s.disk_free, s.disk_size) = (free, size);
        }
        let Some(store) = &self.store else {
            return s;
        };
        if let Some((used, max)) = store.usage() {
            (s.store_used, s.store_max) = (used, max);
        }
        s.store_file = store.disk_size();
        let read = store.read(|txn| {
            use crate::store::{backlog, events, held};
            let queues = backlog::read(txn)?;
            let (bytes, count) = held::totals(txn)?;
            let head = events::head(txn)?;
            let lag = events::cursors(txn)?
                .into_iter()
                .map(|(d, c)| (d, head.saturating_sub(c)))
                .collect();
            let (n, b) = events::size(txn)?;
            Ok((queues, bytes, count, lag, n, b, events::dropped(txn)?))
        });
        match read {
            Ok((queues, bytes, count, lag, n, b, dropped)) => {
                s.queues = stages(&queues, now);
                (s.held_bytes, s.held_messages) = (bytes, count);
                s.outbox_lag = lag;
                (s.outbox_events, s.outbox_bytes, s.events_dropped) = (n, b, dropped);
            }
            Err(e) => tracing::warn!(error = %e, "metrics: the store could not be read"),
        }
        s
    }
}

/// The queues by stage as `/metrics` and the dashboard show them at `now`.
pub fn stages(b: &crate::store::backlog::Backlog, now: u64) -> Vec<crate::metrics::Queue> {
    b.stages()
        .map(|(stage, load)| crate::metrics::Queue {
            stage: stage.name(),
            messages: load.messages,
            bytes: load.bytes,
            oldest_age: load.oldest_age(now),
        })
        .collect()
}

/// Free bytes (for an unprivileged user) and the size of the file system holding `dir`.
pub fn disk_space(dir: &std::path::Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `path` is a NUL-terminated string and `st` points at writable memory of the right
    // type, which statvfs fills when it returns 0.
    let rc = unsafe { libc::statvfs(path.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it initialised `st`.
    let st = unsafe { st.assume_init() };
    // u64 on 64-bit Linux (fsblkcnt_t, unsigned long), the only target.
    let frsize = st.f_frsize;
    Some((
        st.f_bavail.saturating_mul(frsize),
        st.f_blocks.saturating_mul(frsize),
    ))
}

/// The background checks; [`Monitor::run`] in the app's task group until draining begins.
pub struct Monitor {
    health: Arc<Health>,
    swap: Arc<Swap>,
    keeper: Arc<crate::hold::Keeper>,
}

impl Monitor {
    pub fn new(health: Arc<Health>, swap: Arc<Swap>, keeper: Arc<crate::hold::Keeper>) -> Monitor {
        Monitor {
            health,
            swap,
            keeper,
        }
    }

    /// Rounds every `monitor.interval` (read from the current configuration each time, so a
    /// reload applies) until shutdown begins.
    pub async fn run(self) {
        let mut state = State::default();
        let mut first = true;
        loop {
            let current = self.swap.current();
            self.round(&current, &mut state, !first).await;
            first = false;
            let wait = current.config.monitor.interval;
            drop(current);
            let shutdown = self.health.shutdown.clone();
            let stop = async {
                shutdown.draining().await;
                true
            }
            .or(async {
                smol::Timer::after(wait).await;
                false
            })
            .await;
            if stop {
                return;
            }
        }
    }

    /// One round; `full` is false for the first (at start), which only probes the store and
    /// reads the certificate: the next hop is not probed and nothing is reported until one
    /// interval has passed.
    async fn round(&self, current: &crate::runtime::Runtime, state: &mut State, full: bool) {
        let cfg = &current.config;
        let h = &self.health;
        if let Some(store) = &h.store {
            let wrote = store.write(|_| Ok(())).await.map_err(|e| e.to_string());
            if let Err(e) = &wrote {
                tracing::warn!(error = %e, "monitor: the store is not writable");
            }
            h.seen().store_write = Some(wrote);
        }
        let certificates = certificates(cfg);
        h.seen().certificates = certificates.clone();
        if !full {
            return;
        }
        let now = h.clock.now();
        let mut obs = Observation {
            certificates,
            ..Observation::default()
        };
        if cfg.monitor.probe_next_hop {
            let mut hops = probe_hops(&current.session.relay, &cfg.relay).await;
            // Gateway mode: the routes' fixed destinations and the smart host too.
            let more = probe::gateway_hops(&current.session.relay, cfg, &hops).await;
            hops.extend(more);
            let now = h.clock.now();
            h.seen().hops = hops
                .iter()
                .map(|(address, r)| Hop {
                    address: address.clone(),
                    up: r.is_ok(),
                    probed_at: now,
                })
                .collect();
            obs.hops = Some(hops);
        }
        if let Some(store) = &h.store {
            obs.store = store.usage();
            obs.queue = store.read(crate::store::backlog::read).ok();
        }
        obs.disk = disk_space(&h.data_dir);
        let reports = assess::assess(&obs, &cfg.monitor, state, now);
        self.report(reports, now).await;
    }

    /// Writes the events (one store write) and raises the mails.
    async fn report(&self, reports: Vec<assess::Report>, now: u64) {
        if reports.is_empty() {
            return;
        }
        for r in &reports {
            tracing::warn!(event = r.kind.name(), "monitor: {}", r.kind.summary());
            if let (Some((subject, text)), Some(alerts)) = (&r.mail, self.keeper.alerts()) {
                let anywhere = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
                alerts.raise(r.kind.name(), subject, text, now, anywhere);
            }
        }
        let Some(store) = &self.health.store else {
            return;
        };
        let events: Vec<_> = reports.into_iter().map(|r| (r.kind, r.fields)).collect();
        let written = store
            .write(move |txn| {
                for (kind, fields) in events {
                    crate::store::events::append(txn, now, kind, fields)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = written {
            tracing::warn!(error = %e, "monitor: events could not be written");
        }
    }
}

/// Probes every configured next-hop address (a failed lookup counts as a host that is down).
async fn probe_hops(
    relay: &crate::relay::Relay,
    cfg: &crate::config::Relay,
) -> Vec<(String, Result<(), String>)> {
    let mut out = Vec::new();
    for group in relay.configured_targets().await {
        match group {
            Ok(targets) => {
                for t in targets {
                    let r = probe::probe(t.addr, cfg.connect_timeout, cfg.command_timeout).await;
                    out.push((t.addr.to_string(), r));
                }
            }
            Err(e) => {
                let host = e.split(": ").next().unwrap_or_default().to_string();
                out.push((host, Err(e)));
            }
        }
    }
    out
}

/// The certificates Sluice presents (the `[tls]` one, which the admin port uses too) and their
/// notAfter; one that cannot be read is left out (start-up already checked it).
fn certificates(cfg: &crate::config::Config) -> Vec<(String, u64)> {
    let path = match &cfg.tls.cert_and_key {
        Some((cert, _)) => cert.clone(),
        None => crate::tls::generated_paths(&cfg.server.data_dir).0,
    };
    crate::file::read(&path, crate::file::MAX_PEM)
        .ok()
        .and_then(|pem| cert::not_after_pem(&pem))
        .map(|t| vec![("tls".to_string(), t)])
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
