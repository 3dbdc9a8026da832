//! Next hops: which hosts a message goes to (reflect, ordered host list, or MX), in which order, and
//! opening a [`client::Connection`] to the first that answers, with TLS as configured.
//!
//! Order rules (the seed's): a host list is always tried from the first entry; MX hosts by ascending
//! preference, rotating among equal preferences, a higher preference only when every lower one failed.
//! An address the shared [`status`] cache has marked down is skipped until its retry interval is over
//! (then one connection probes it); when every address is down they are all tried anyway, in order.

pub mod client;
pub mod route;
pub mod status;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;

use crate::config::{self, NextHop, Route, StartTls, TlsFailure};
use crate::dns;
use crate::message::Origin;
pub use client::Connection;

/// Why no next hop could be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no next hop reachable ({attempts} tried); last error: {last}")]
    Unreachable { attempts: usize, last: String },
    #[error("TLS to the next hop failed ({0})")]
    Tls(String),
    #[error("next hop lookup failed: {0}")]
    Dns(String),
    #[error("next hop refused the session: {0}")]
    Refused(crate::smtp::Reply),
}

/// One address to try, with the name its certificate must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    pub name: String,
}

pub struct Relay {
    cfg: config::Relay,
    /// Which next-hop addresses are down (shared with every other `Relay` of the process).
    status: Arc<status::HopStatus>,
    resolver: dns::Resolver,
    opts: client::Options,
    rotation: AtomicUsize,
    /// Idle next-hop connections kept after a session ended cleanly, per address and way of
    /// connecting: the next session to the same first-choice target skips connect, greeting and EHLO.
    pool: Mutex<HashMap<PoolKey, Vec<(Instant, Connection)>>>,
    /// Verifying client configurations for gateway destinations, per trust-anchor list (read
    /// once per `Relay`, that is per configuration set).
    anchored: Mutex<HashMap<Vec<PathBuf>, Arc<rustls::ClientConfig>>>,
}

/// A pooled connection's address and how it was made: a pooled connection is only reused for the
/// same TLS wish (`[relay]`), or the same TLS policy, trust anchors and source address (a gateway
/// destination), so a connection made under one policy never serves another.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolKey(pub SocketAddr, pub Profile);

/// How a connection was made (see [`PoolKey`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Profile {
    /// A `[relay]` next hop: TLS asked for (verified) or not.
    Relay { tls: bool },
    /// A gateway destination.
    Route {
        tls: crate::tls::policy::TlsPolicy,
        anchors: Vec<PathBuf>,
        source: Option<IpAddr>,
    },
}

/// How [`Relay::connect_over`] opens a connection to a target.
#[derive(Clone, Copy)]
enum Via<'a> {
    /// The `[relay]` way: STARTTLS as `relay.starttls` says, verified, `relay.tls_failure`.
    Relay { want_tls: bool },
    /// A gateway destination with its TLS policy.
    Way(&'a route::Way),
}

impl Via<'_> {
    fn profile(&self) -> Profile {
        match self {
            Via::Relay { want_tls } => Profile::Relay { tls: *want_tls },
            Via::Way(w) => w.profile(),
        }
    }
}

/// How long an idle pooled connection is kept (well under the RFC 5321 server timeout of 5 minutes).
pub const POOL_IDLE: Duration = Duration::from_secs(20);
/// Idle connections kept per next-hop address.
pub const POOL_PER_TARGET: usize = 64;

impl Relay {
    pub fn new(
        cfg: config::Relay,
        resolver: dns::Resolver,
        tls: Arc<rustls::ClientConfig>,
        status: Arc<status::HopStatus>,
    ) -> Relay {
        let opts = client::Options {
            helo_name: cfg.helo_name.clone(),
            source: cfg.source_address,
            connect_timeout: cfg.connect_timeout,
            command_timeout: cfg.command_timeout,
            data_timeout: cfg.data_timeout,
            tls,
            max_reply_line: cfg.max_reply_line,
            max_reply_lines: cfg.max_reply_lines,
        };
        Relay {
            cfg,
            status,
            resolver,
            opts,
            rotation: AtomicUsize::new(0),
            pool: Mutex::new(HashMap::new()),
            anchored: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this message's connection must use TLS, given how the upstream connected.
    fn wants_tls(&self, origin: &Origin) -> bool {
        match self.cfg.starttls {
            StartTls::Mirror => origin.tls,
            StartTls::Always => true,
            StartTls::Never => false,
        }
    }

    /// Opens a connection to the first next hop that accepts one, trying them in the configured order
    /// and skipping addresses the status cache has marked down (all of them tried if all are down).
    pub async fn connect(&self, origin: &Origin) -> Result<Connection, Error> {
        let want_tls = self.wants_tls(origin);
        let groups = self.candidates(origin).await;
        self.connect_over(groups, Via::Relay { want_tls }).await
    }

    /// The first target of `groups` (in order) that accepts a connection made `via`; addresses
    /// the status cache has marked down are skipped (all tried if all are down).
    async fn connect_over(
        &self,
        groups: Vec<Result<Vec<Target>, String>>,
        via: Via<'_>,
    ) -> Result<Connection, Error> {
        let mut tried = Tried::default();
        let mut skipped = Vec::new();
        for group in groups {
            let targets = match group {
                Ok(t) => t,
                Err(e) => {
                    tried.dns_errors.push(e);
                    continue;
                }
            };
            for target in targets {
                let admit = self.status.admit(target.addr);
                if admit == status::Admit::Skip {
                    skipped.push(target);
                    continue;
                }
                // Held from here, so a probe whose caller goes away is released.
                let guard = self.guard(target.addr, admit == status::Admit::Probe);
                if let Some(c) = self.take_pooled(PoolKey(target.addr, via.profile())).await {
                    guard.finish();
                    self.status.up(target.addr);
                    return Ok(c);
                }
                if let Some(c) = self.try_target(&target, via, &mut tried, guard).await {
                    return Ok(c);
                }
            }
        }
        if tried.attempts == 0 {
            for target in skipped {
                let guard = self.guard(target.addr, false);
                if let Some(c) = self.try_target(&target, via, &mut tried, guard).await {
                    return Ok(c);
                }
            }
        }
        if let Some(t) = tried.tls_error {
            return Err(Error::Tls(t));
        }
        if tried.attempts == 0 && !tried.dns_errors.is_empty() {
            return Err(Error::Dns(tried.dns_errors.join("; ")));
        }
        Err(Error::Unreachable {
            attempts: tried.attempts,
            last: tried.last,
        })
    }

    /// One connection attempt, its result told to the status cache.
    async fn try_target(
        &self,
        target: &Target,
        via: Via<'_>,
        tried: &mut Tried,
        guard: ProbeGuard<'_>,
    ) -> Option<Connection> {
        tried.attempts += 1;
        let result = match via {
            Via::Relay { want_tls } => self.open(target, want_tls).await,
            Via::Way(way) => self.open_way(target, way).await,
        };
        guard.finish();
        match result {
            Ok(c) => {
                self.status.up(target.addr);
                Some(c)
            }
            Err(e) => {
                tracing::info!(next_hop = %target.addr, error = %e, "next hop failed");
                self.status.down(target.addr, &e.to_string());
                if e.is_tls() {
                    tried.tls_error = Some(format!("{}: {e}", target.addr));
                }
                tried.last = format!("{}: {e}", target.addr);
                None
            }
        }
    }

    /// A guard that releases the probe of `addr` if dropped unfinished; inert unless `probe`.
    fn guard(&self, addr: SocketAddr, probe: bool) -> ProbeGuard<'_> {
        ProbeGuard {
            status: &self.status,
            addr,
            done: !probe,
        }
    }

    /// The configured next hops' addresses in trying order, for the monitor's probe: none in
    /// reflecting mode (there the next hop is each client); a failed lookup is an `Err` naming
    /// the host.
    pub async fn configured_targets(&self) -> Vec<Result<Vec<Target>, String>> {
        if self.cfg.route == Route::Reflect {
            return Vec::new();
        }
        let origin = Origin {
            peer: SocketAddr::from(([0, 0, 0, 0], 0)),
            helo: String::new(),
            tls: false,
        };
        self.candidates(&origin).await
    }

    /// The addresses of these fixed hosts (the gateway's route destinations and smart host), for
    /// the monitor's probe; a failed lookup is an `Err` naming the host.
    pub async fn hosts_targets(&self, hosts: &[NextHop]) -> Vec<Result<Vec<Target>, String>> {
        let mut out = Vec::new();
        for hop in hosts {
            out.push(self.resolve_host(hop).await);
        }
        out
    }

    /// Every next-hop address known to the status cache, with its state.
    pub fn status(&self) -> &Arc<status::HopStatus> {
        &self.status
    }

    /// A live idle connection to exactly this target, if one is pooled.
    async fn take_pooled(&self, key: PoolKey) -> Option<Connection> {
        loop {
            let (since, mut conn) = {
                let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
                pool.get_mut(&key)?.pop()?
            };
            if since.elapsed() < POOL_IDLE && conn.is_idle_and_open().await {
                return Some(conn);
            }
        }
    }

    /// Keeps an idle connection (no open transaction) for the next session. Every connection past
    /// [`POOL_IDLE`], for any target, is closed here, and the oldest beyond the per-target limit.
    pub fn give_back(&self, conn: Connection) {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        pool.retain(|_, list| {
            list.retain(|(since, _)| since.elapsed() < POOL_IDLE);
            !list.is_empty()
        });
        let list = pool.entry(conn.key.clone()).or_default();
        if list.len() >= POOL_PER_TARGET {
            list.remove(0);
        }
        list.push((Instant::now(), conn));
    }

    async fn open(&self, target: &Target, want_tls: bool) -> Result<Connection, client::Error> {
        let name = server_name(&target.name, target.addr.ip());
        match Connection::open(target.addr, name.clone(), &self.opts, want_tls).await {
            Err(e) if e.is_tls() && self.cfg.tls_failure == TlsFailure::Plaintext => {
                tracing::warn!(next_hop = %target.addr, error = %e, "TLS to next hop failed; sending in clear as configured (relay.tls_failure = \"plaintext\")");
                Connection::open(target.addr, name, &self.opts, false).await
            }
            other => other,
        }
    }

    /// Groups of targets in trying order; each group is the result of one lookup.
    async fn candidates(&self, origin: &Origin) -> Vec<Result<Vec<Target>, String>> {
        let port = self.cfg.port;
        match &self.cfg.route {
            Route::Reflect => {
                let ip = origin.peer.ip();
                vec![Ok(vec![Target {
                    addr: SocketAddr::new(ip, port),
                    name: ip.to_string(),
                }])]
            }
            Route::Hosts(hosts) => {
                let mut out = Vec::new();
                for h in hosts {
                    out.push(self.resolve_host(h).await);
                }
                out
            }
            Route::Mx(domains) => {
                let mut out = Vec::new();
                for d in domains {
                    match self.mx_groups(d, port).await {
                        Ok(groups) => out.extend(groups),
                        Err(MxError::NullMx) => {
                            out.push(Err(format!("{d}: null MX, domain accepts no mail")))
                        }
                        Err(MxError::Dns(e)) => out.push(Err(format!("{d}: {e}"))),
                    }
                }
                out
            }
        }
    }

    /// The targets of domain `d`'s MX hosts, a group per host in trying order; the domain itself
    /// when it has no MX (RFC 5321 5.1: the implicit MX).
    async fn mx_groups(
        &self,
        d: &str,
        port: u16,
    ) -> Result<Vec<Result<Vec<Target>, String>>, MxError> {
        let records = self.resolver.mx(d).await.map_err(MxError::Dns)?;
        if records.len() == 1 && records[0].exchange.is_empty() {
            return Err(MxError::NullMx);
        }
        if records.is_empty() {
            let hop = NextHop {
                host: d.to_string(),
                port,
            };
            return Ok(vec![self.resolve_host(&hop).await]);
        }
        let spin = self.rotation.fetch_add(1, Ordering::Relaxed);
        let mut out = Vec::new();
        for exchange in mx_order(records, spin) {
            let hop = NextHop {
                host: exchange,
                port,
            };
            out.push(self.resolve_host(&hop).await);
        }
        Ok(out)
    }

    async fn resolve_host(&self, hop: &NextHop) -> Result<Vec<Target>, String> {
        if let Ok(ip) = hop.host.parse::<IpAddr>() {
            return Ok(vec![Target {
                addr: SocketAddr::new(ip, hop.port),
                name: hop.host.clone(),
            }]);
        }
        let ips = self
            .resolver
            .ips(&hop.host)
            .await
            .map_err(|e| format!("{}: {e}", hop.host))?;
        Ok(ips
            .into_iter()
            .map(|ip| Target {
                addr: SocketAddr::new(ip, hop.port),
                name: hop.host.clone(),
            })
            .collect())
    }
}

/// Why a domain has no MX targets.
enum MxError {
    /// RFC 7505: the domain accepts no mail.
    NullMx,
    Dns(dns::Error),
}

/// What the attempts of one [`Relay::connect`] found.
struct Tried {
    attempts: usize,
    last: String,
    tls_error: Option<String>,
    dns_errors: Vec<String>,
}

impl Default for Tried {
    fn default() -> Tried {
        Tried {
            attempts: 0,
            last: String::from("no address"),
            tls_error: None,
            dns_errors: Vec::new(),
        }
    }
}

/// Releases a probe whose connection attempt was dropped before it ended (the session went away),
/// so the next caller probes instead of the address staying skipped.
struct ProbeGuard<'a> {
    status: &'a status::HopStatus,
    addr: SocketAddr,
    done: bool,
}

impl ProbeGuard<'_> {
    fn finish(mut self) {
        self.done = true;
    }
}

impl Drop for ProbeGuard<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.status.abandon(self.addr);
        }
    }
}

fn server_name(name: &str, ip: IpAddr) -> ServerName<'static> {
    ServerName::try_from(name.to_string()).unwrap_or(ServerName::IpAddress(ip.into()))
}

/// MX exchanges in trying order: ascending preference; within one preference rotated by `spin`.
pub fn mx_order(mut records: Vec<dns::Mx>, spin: usize) -> Vec<String> {
    records.sort_by_key(|r| r.preference);
    let mut out = Vec::with_capacity(records.len());
    let mut i = 0;
    while i < records.len() {
        let pref = records[i].preference;
        let j = records[i..]
            .iter()
            .position(|r| r.preference != pref)
            .map_or(records.len(), |k| i + k);
        let group = &records[i..j];
        let n = group.len();
        for k in 0..n {
            out.push(group[(k + spin) % n].exchange.clone());
        }
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mx(p: u16, e: &str) -> dns::Mx {
        dns::Mx {
            preference: p,
            exchange: e.to_string(),
        }
    }

    #[test]
    fn a_probe_dropped_unfinished_is_released_and_a_plain_attempt_never_releases_one() {
        let clock = Arc::new(crate::clock::Clock::fixed(100));
        let status = status::HopStatus::new(clock.clone(), 10);
        let a: SocketAddr = "127.0.0.1:25".parse().unwrap();
        status.down(a, "refused");
        clock.set(110);
        assert_eq!(status.admit(a), status::Admit::Probe);
        drop(ProbeGuard {
            status: &status,
            addr: a,
            done: true,
        });
        assert_eq!(status.admit(a), status::Admit::Skip, "inert guard");
        drop(ProbeGuard {
            status: &status,
            addr: a,
            done: false,
        });
        assert_eq!(status.admit(a), status::Admit::Probe, "released");
    }

    #[test]
    fn mx_order_is_by_preference_and_rotates_equal_ones() {
        let recs = vec![
            mx(40, "smtp4"),
            mx(10, "smtp1"),
            mx(10, "smtp2"),
            mx(10, "smtp3"),
        ];
        assert_eq!(
            mx_order(recs.clone(), 0),
            ["smtp1", "smtp2", "smtp3", "smtp4"]
        );
        assert_eq!(
            mx_order(recs.clone(), 1),
            ["smtp2", "smtp3", "smtp1", "smtp4"]
        );
        assert_eq!(mx_order(recs, 2), ["smtp3", "smtp1", "smtp2", "smtp4"]);
    }
}
