//! The next-hop status cache (Postfix's dead-host back-off): a next-hop address that failed (no
//! connection, a refused or timed-out greeting or EHLO, a failed TLS handshake) is skipped for
//! `relay.dead_host_retry`, then probed again by one connection at a time while the others keep
//! skipping it. State changes (up -> down, down -> up) are logged once each, never per message.
//!
//! [`Table`] is the pure state machine (the time comes in as Unix seconds); [`HopStatus`] is the
//! shell's one shared instance over it, reading the injected [`Clock`]. The proxy's sessions, the
//! delivery queue and the notice sender share one instance (owned by `app::serve`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::clock::Clock;

/// Addresses remembered at most; past it, addresses that are up are forgotten first (they carry no
/// back-off), then the longest-known ones.
pub const MAX_HOSTS: usize = 4096;

/// Longest text of a last error kept per address.
const MAX_ERROR: usize = 300;

/// Whether a next-hop address accepts connections, as last seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Up,
    Down,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Up => "up",
            State::Down => "down",
        }
    }
}

/// What a connection attempt may do with an address now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Up, or never tried: connect.
    Try,
    /// Down and its retry interval is over: this caller is the one probe (report the result).
    Probe,
    /// Down (or being probed by another connection): skip it while another address can be tried.
    Skip,
}

/// A state change worth one log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// It failed; skipped until `next_probe`.
    WentDown { next_probe: u64 },
    /// It answered again after being down since `since`.
    CameBack { down_since: u64 },
}

/// One address as the status command and the dashboard show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub host: SocketAddr,
    pub state: State,
    /// Unix seconds of the last state change (first seen, for an address that was always up).
    pub since: u64,
    pub last_error: Option<String>,
    /// When a down address is tried again (Unix seconds); none while up.
    pub next_probe: Option<u64>,
    /// A probe is under way.
    pub probing: bool,
}

#[derive(Debug, Clone)]
struct Entry {
    state: State,
    since: u64,
    last_error: Option<String>,
    next_probe: u64,
    probing: bool,
}

/// The pure state machine: addresses and their state; every method takes `now` (Unix seconds).
#[derive(Debug, Default)]
pub struct Table {
    /// Seconds a failed address is skipped before it is probed; 0 disables skipping.
    retry: u64,
    hosts: HashMap<SocketAddr, Entry>,
}

impl Table {
    pub fn new(retry: u64) -> Table {
        Table {
            retry,
            hosts: HashMap::new(),
        }
    }

    /// Whether `host` may be connected to at `now`; [`Admit::Probe`] marks the probe as taken.
    pub fn admit(&mut self, host: SocketAddr, now: u64) -> Admit {
        let Some(e) = self.hosts.get_mut(&host) else {
            return Admit::Try;
        };
        match e.state {
            State::Up => Admit::Try,
            State::Down if self.retry == 0 => Admit::Try,
            State::Down if e.probing || now < e.next_probe => Admit::Skip,
            State::Down => {
                e.probing = true;
                Admit::Probe
            }
        }
    }

    /// `host` accepted a connection at `now`.
    pub fn up(&mut self, host: SocketAddr, now: u64) -> Option<Change> {
        self.make_room(host);
        let e = self.hosts.entry(host).or_insert_with(|| Entry {
            state: State::Up,
            since: now,
            last_error: None,
            next_probe: 0,
            probing: false,
        });
        e.probing = false;
        if e.state == State::Up {
            return None;
        }
        let down_since = e.since;
        e.state = State::Up;
        e.since = now;
        Some(Change::CameBack { down_since })
    }

    /// `host` failed at `now` with `error` (a probe that failed, or a first failure).
    pub fn down(&mut self, host: SocketAddr, error: &str, now: u64) -> Option<Change> {
        self.make_room(host);
        let next_probe = now.saturating_add(self.retry);
        let e = self.hosts.entry(host).or_insert_with(|| Entry {
            state: State::Up,
            since: now,
            last_error: None,
            next_probe,
            probing: false,
        });
        e.probing = false;
        e.next_probe = next_probe;
        e.last_error = Some(error.chars().take(MAX_ERROR).collect());
        if e.state == State::Down {
            return None;
        }
        e.state = State::Down;
        e.since = now;
        Some(Change::WentDown { next_probe })
    }

    /// A probe ended without a result (its caller went away): the next caller probes.
    pub fn abandon(&mut self, host: SocketAddr) {
        if let Some(e) = self.hosts.get_mut(&host) {
            e.probing = false;
        }
    }

    /// Every known address, sorted by address.
    pub fn snapshot(&self) -> Vec<Snapshot> {
        let mut out: Vec<Snapshot> = self
            .hosts
            .iter()
            .map(|(host, e)| Snapshot {
                host: *host,
                state: e.state,
                since: e.since,
                last_error: e.last_error.clone(),
                next_probe: (e.state == State::Down).then_some(e.next_probe),
                probing: e.probing,
            })
            .collect();
        out.sort_by_key(|s| s.host);
        out
    }

    /// Keeps the table under [`MAX_HOSTS`] before `host` is added.
    fn make_room(&mut self, host: SocketAddr) {
        if self.hosts.len() < MAX_HOSTS || self.hosts.contains_key(&host) {
            return;
        }
        self.hosts.retain(|_, e| e.state == State::Down);
        while self.hosts.len() >= MAX_HOSTS {
            let Some(oldest) = self
                .hosts
                .iter()
                .min_by_key(|(_, e)| e.since)
                .map(|(h, _)| *h)
            else {
                break;
            };
            self.hosts.remove(&oldest);
        }
    }
}

/// The shared cache: the [`Table`] behind a lock, with the injected clock and the log lines.
pub struct HopStatus {
    clock: Arc<Clock>,
    table: Mutex<Table>,
}

impl HopStatus {
    /// A cache skipping failed addresses for `retry` seconds (0: never skip).
    pub fn new(clock: Arc<Clock>, retry: u64) -> HopStatus {
        HopStatus {
            clock,
            table: Mutex::new(Table::new(retry)),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn admit(&self, host: SocketAddr) -> Admit {
        let now = self.clock.now();
        self.table().admit(host, now)
    }

    /// `host` accepted a connection; logs its coming back once.
    pub fn up(&self, host: SocketAddr) {
        let now = self.clock.now();
        if let Some(Change::CameBack { down_since }) = self.table().up(host, now) {
            tracing::info!(
                next_hop = %host,
                down_for = now.saturating_sub(down_since),
                "next hop is up again"
            );
        }
    }

    /// `host` failed with `error`; logs it going down once (a failed probe only at debug level).
    pub fn down(&self, host: SocketAddr, error: &str) {
        let now = self.clock.now();
        match self.table().down(host, error, now) {
            Some(Change::WentDown { next_probe }) => tracing::warn!(
                next_hop = %host,
                error,
                retry_in = next_probe.saturating_sub(now),
                "next hop is down; skipped until it is probed again"
            ),
            _ => tracing::debug!(next_hop = %host, error, "next hop still down"),
        }
    }

    /// A probe ended without a result.
    pub fn abandon(&self, host: SocketAddr) {
        self.table().abandon(host);
    }

    /// Every known next-hop address with its state (for the status command and the dashboard).
    pub fn snapshot(&self) -> Vec<Snapshot> {
        self.table().snapshot()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn a_failed_host_is_skipped_until_its_retry_then_probed_once() {
        let mut t = Table::new(60);
        let a = addr(1);
        assert_eq!(t.admit(a, 1_000), Admit::Try, "unknown: try it");
        assert_eq!(
            t.down(a, "connection refused", 1_000),
            Some(Change::WentDown { next_probe: 1_060 })
        );
        assert_eq!(t.admit(a, 1_001), Admit::Skip);
        assert_eq!(t.admit(a, 1_059), Admit::Skip);
        assert_eq!(t.admit(a, 1_060), Admit::Probe, "the interval is over");
        assert_eq!(t.admit(a, 1_060), Admit::Skip, "one probe at a time");
        assert_eq!(t.down(a, "refused again", 1_061), None, "no second change");
        assert_eq!(t.admit(a, 1_100), Admit::Skip, "interval restarts");
        assert_eq!(t.admit(a, 1_121), Admit::Probe);
        assert_eq!(t.up(a, 1_122), Some(Change::CameBack { down_since: 1_000 }));
        assert_eq!(t.admit(a, 1_123), Admit::Try);
        assert_eq!(t.up(a, 1_124), None, "up once is logged once");
    }

    #[test]
    fn the_snapshot_shows_state_since_error_and_next_probe() {
        let mut t = Table::new(30);
        t.up(addr(2), 500);
        t.down(addr(1), "TLS handshake failed", 700);
        assert_eq!(t.admit(addr(1), 730), Admit::Probe);
        let s = t.snapshot();
        assert_eq!(
            s,
            vec![
                Snapshot {
                    host: addr(1),
                    state: State::Down,
                    since: 700,
                    last_error: Some("TLS handshake failed".into()),
                    next_probe: Some(730),
                    probing: true,
                },
                Snapshot {
                    host: addr(2),
                    state: State::Up,
                    since: 500,
                    last_error: None,
                    next_probe: None,
                    probing: false,
                },
            ]
        );
        assert_eq!(s[0].state.name(), "down");
    }

    #[test]
    fn an_abandoned_probe_lets_the_next_caller_probe() {
        let mut t = Table::new(10);
        let a = addr(3);
        t.down(a, "timeout", 0);
        assert_eq!(t.admit(a, 10), Admit::Probe);
        t.abandon(a);
        assert_eq!(t.admit(a, 10), Admit::Probe);
    }

    #[test]
    fn zero_retry_never_skips() {
        let mut t = Table::new(0);
        let a = addr(4);
        t.down(a, "refused", 0);
        assert_eq!(t.admit(a, 0), Admit::Try);
    }

    #[test]
    fn the_table_stays_bounded_and_keeps_down_hosts() {
        let mut t = Table::new(60);
        t.down(addr(0), "refused", 0);
        for p in 1..(MAX_HOSTS as u16 + 10) {
            t.up(addr(p), u64::from(p));
        }
        assert!(t.hosts.len() <= MAX_HOSTS);
        assert_eq!(t.admit(addr(0), 1), Admit::Skip, "the down host is kept");
    }

    #[test]
    fn the_shared_cache_follows_the_injected_clock() {
        let clock = Arc::new(Clock::fixed(10_000));
        let s = HopStatus::new(clock.clone(), 60);
        let (a, b) = (addr(5), addr(6));
        s.down(a, "connection refused");
        s.up(b);
        assert_eq!(s.admit(a), Admit::Skip);
        assert_eq!(s.admit(b), Admit::Try);
        clock.set(10_059);
        assert_eq!(s.admit(a), Admit::Skip, "not yet");
        clock.set(10_060);
        assert_eq!(s.admit(a), Admit::Probe);
        assert_eq!(
            s.admit(a),
            Admit::Skip,
            "the others skip it during the probe"
        );
        s.down(a, "still refused");
        let snap = s.snapshot();
        assert_eq!(snap[0].host, a);
        assert_eq!(snap[0].since, 10_000, "down since the first failure");
        assert_eq!(snap[0].next_probe, Some(10_120));
        assert_eq!(snap[0].last_error.as_deref(), Some("still refused"));
        clock.set(10_120);
        assert_eq!(s.admit(a), Admit::Probe);
        s.up(a);
        assert_eq!(s.admit(a), Admit::Try);
        assert_eq!(s.snapshot()[0].state, State::Up);
        assert_eq!(s.snapshot()[0].since, 10_120);
    }
}
