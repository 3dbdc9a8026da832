//! Recipient verification by callout (`[[route]] verify = "callout"`): an SMTP probe to the
//! route's destination (its fixed host, else the recipient domain's MX) — EHLO, `MAIL
//! FROM:<gateway.callout_sender>`, `RCPT TO:<address>`, QUIT, never DATA — whose RCPT answer says
//! whether the address exists, as Postfix's `reject_unverified_recipient` asks.
//!
//! [`Cache`] (pure, the time passed in) keeps the answers: an existing address for
//! `gateway.callout_ttl`, an unknown one for `gateway.callout_negative_ttl`; a probe that could
//! not tell (4xx, timeout, unreachable, refused MAIL) is not kept. At most `gateway.callout_cache`
//! entries, the least recently used dropped first. [`Prober`] is the shell: it runs probes
//! bounded by `gateway.callout_timeout` over `relay::client::Connection`, connecting as delivery
//! to that destination does ([`Connect`]: the route's TLS policy with its trust anchors and `may`'s
//! fallback to clear, its source address), and concurrent probes for the same address share one.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures_lite::FutureExt;

use crate::gateway::router::Destination;
use crate::relay::client::{Connection, Options};
use crate::relay::{PoolKey, Profile};
use crate::tls::policy::TlsPolicy;

/// How a connection to a destination is made: its route's `tls`, `trust_anchors` and
/// `source_address`, else the `[gateway]` defaults. Delivery (`delivery::route`) and callouts
/// both take it from here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Connect {
    pub tls: TlsPolicy,
    /// The anchors `verify` checks against; empty: the system's CA bundle.
    pub anchors: Vec<PathBuf>,
    pub source: Option<IpAddr>,
}

impl Connect {
    pub fn of(
        options: &crate::gateway::router::Options,
        defaults: &crate::config::gateway::Defaults,
    ) -> Connect {
        Connect {
            tls: options.tls.unwrap_or(defaults.tls),
            anchors: match options.trust_anchors.is_empty() {
                true => defaults.trust_anchors.clone(),
                false => options.trust_anchors.clone(),
            },
            source: options.source_address.or(defaults.source_address),
        }
    }
}

/// What a probe found out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The destination took the address (2xx at RCPT).
    Exists,
    /// The destination refused it for good (5xx at RCPT).
    Unknown,
    /// No answer to go by (4xx, timeout, unreachable, MAIL refused): ask the client to retry.
    Deferred,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Exists => "exists",
            Outcome::Unknown => "unknown",
            Outcome::Deferred => "deferred",
        }
    }

    /// The outcome of the destination's answer to RCPT.
    pub fn of_code(code: u16) -> Outcome {
        match code {
            200..=399 => Outcome::Exists,
            500..=599 => Outcome::Unknown,
            _ => Outcome::Deferred,
        }
    }
}

#[derive(Debug)]
struct Entry {
    outcome: Outcome,
    expires: Instant,
    /// Last use, for the LRU order.
    used: u64,
}

/// Probe answers by address (lowercase), bounded, least recently used evicted first.
#[derive(Debug)]
pub struct Cache {
    capacity: usize,
    ttl: Duration,
    negative_ttl: Duration,
    map: HashMap<String, Entry>,
    by_use: BTreeMap<u64, String>,
    tick: u64,
}

impl Cache {
    pub fn new(capacity: usize, ttl: Duration, negative_ttl: Duration) -> Cache {
        Cache {
            capacity,
            ttl,
            negative_ttl,
            map: HashMap::new(),
            by_use: BTreeMap::new(),
            tick: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The live answer for `key`; an expired one is dropped.
    pub fn get(&mut self, key: &str, now: Instant) -> Option<Outcome> {
        let entry = self.map.get_mut(key)?;
        if entry.expires <= now {
            let used = entry.used;
            self.map.remove(key);
            self.by_use.remove(&used);
            return None;
        }
        self.tick += 1;
        self.by_use.remove(&entry.used);
        entry.used = self.tick;
        self.by_use.insert(self.tick, key.to_string());
        Some(entry.outcome)
    }

    /// Keeps `outcome` for its TTL (nothing for [`Outcome::Deferred`]), evicting the least
    /// recently used entry when full.
    pub fn insert(&mut self, key: &str, outcome: Outcome, now: Instant) {
        let ttl = match outcome {
            Outcome::Exists => self.ttl,
            Outcome::Unknown => self.negative_ttl,
            Outcome::Deferred => return,
        };
        if self.capacity == 0 {
            return;
        }
        let Some(expires) = now.checked_add(ttl) else {
            return;
        };
        if let Some(old) = self.map.remove(key) {
            self.by_use.remove(&old.used);
        }
        while self.map.len() >= self.capacity {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.map.remove(&oldest);
        }
        self.tick += 1;
        self.by_use.insert(self.tick, key.to_string());
        self.map.insert(
            key.to_string(),
            Entry {
                outcome,
                expires,
                used: self.tick,
            },
        );
    }
}

/// What the prober needs from the configuration.
#[derive(Clone)]
pub struct Settings {
    pub timeout: Duration,
    /// `MAIL FROM` of the probe; empty: the null sender `<>`.
    pub sender: String,
    pub options: Options,
}

/// Where a route's probe goes: its fixed destination, or the MX of the recipient's domain.
pub type Route = Option<Destination>;

/// Runs probes, caches their answers, and shares a probe between concurrent asks.
pub struct Prober {
    settings: Settings,
    resolver: crate::dns::Resolver,
    cache: Mutex<Cache>,
    running: Mutex<HashMap<String, Arc<smol::lock::OnceCell<Outcome>>>>,
    /// The verifying client configurations, by trust anchors (read once).
    anchored: Mutex<HashMap<Vec<PathBuf>, Arc<rustls::ClientConfig>>>,
}

impl Prober {
    pub fn new(settings: Settings, resolver: crate::dns::Resolver, cache: Cache) -> Prober {
        Prober {
            settings,
            resolver,
            cache: Mutex::new(cache),
            running: Mutex::new(HashMap::new()),
            anchored: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `address` exists at `route`, connecting as `connect` says (from the cache when it
    /// knows).
    pub async fn verify(&self, route: &Route, connect: &Connect, address: &str) -> Outcome {
        let key = address.trim().to_lowercase();
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key, Instant::now());
        if let Some(outcome) = cached {
            crate::metrics::global().callout("cached");
            return outcome;
        }
        let cell = self
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.clone())
            .or_default()
            .clone();
        // Takes the entry out of `running` when this ask ends, answered or dropped (a client
        // gone mid-probe), so the map holds only asks in progress.
        let _running = Running {
            map: &self.running,
            key: &key,
            cell: &cell,
        };
        *cell
            .get_or_init(|| async {
                let outcome = self.probe(route, connect, address).await;
                crate::metrics::global().callout(outcome.name());
                self.cache
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(&key, outcome, Instant::now());
                outcome
            })
            .await
    }

    /// One probe, bounded by the callout timeout.
    async fn probe(&self, route: &Route, connect: &Connect, address: &str) -> Outcome {
        let limit = self.settings.timeout;
        let outcome = async { Some(self.probe_unbounded(route, connect, address).await) }
            .or(async {
                smol::Timer::after(limit).await;
                None
            })
            .await;
        outcome.unwrap_or_else(|| {
            tracing::info!(route = %shown(route), "recipient callout timed out");
            Outcome::Deferred
        })
    }

    async fn probe_unbounded(&self, route: &Route, connect: &Connect, address: &str) -> Outcome {
        let targets = self.targets(route, address).await;
        if targets.is_empty() {
            tracing::info!(route = %shown(route), "recipient callout: no address to connect to");
            return Outcome::Deferred;
        }
        let mut opts = self.settings.options.clone();
        opts.source = connect.source;
        opts.tls = match self.tls_config(connect) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(route = %shown(route), error = %e, "recipient callout: no TLS client configuration");
                return Outcome::Deferred;
            }
        };
        for (host, addr) in targets {
            let mut conn = match open(&host, addr, &opts, connect).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::info!(%addr, error = %e, "recipient callout: connection failed");
                    continue;
                }
            };
            let outcome = self.ask(&mut conn, address).await;
            conn.quit().await;
            tracing::debug!(%addr, outcome = outcome.name(), "recipient callout");
            return outcome;
        }
        Outcome::Deferred
    }

    /// The client configuration for the policy: verifying against the anchors for `verify`
    /// (read once), else the unverified one.
    fn tls_config(&self, connect: &Connect) -> Result<Arc<rustls::ClientConfig>, String> {
        if !connect.tls.verifies() {
            return crate::tls::unverified::client_config();
        }
        let mut kept = self.anchored.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = kept.get(&connect.anchors) {
            return Ok(c.clone());
        }
        let config = crate::tls::client_config(&connect.anchors).map_err(|e| format!("{e:#}"))?;
        kept.insert(connect.anchors.clone(), config.clone());
        Ok(config)
    }

    /// MAIL and RCPT on an open connection.
    async fn ask(&self, conn: &mut Connection, address: &str) -> Outcome {
        let params = crate::message::MailParams::default();
        match conn.mail(&self.settings.sender, &params, None).await {
            Ok(r) if r.is_positive() => {}
            Ok(r) => {
                tracing::warn!(next_hop = %conn.label, reply = %r, "recipient callout: the destination refused the probe's sender (gateway.callout_sender)");
                return Outcome::Deferred;
            }
            Err(e) => {
                tracing::info!(next_hop = %conn.label, error = %e, "recipient callout failed at MAIL");
                return Outcome::Deferred;
            }
        }
        let rcpt = crate::message::Recipient::plain(address);
        match conn.rcpt(&rcpt).await {
            Ok(r) => Outcome::of_code(r.code),
            Err(e) => {
                tracing::info!(next_hop = %conn.label, error = %e, "recipient callout failed at RCPT");
                Outcome::Deferred
            }
        }
    }

    /// The addresses to try, in order: the fixed destination's, else those of the MX hosts of
    /// the recipient's domain by preference (the domain itself when it has no MX).
    async fn targets(&self, route: &Route, address: &str) -> Vec<(String, SocketAddr)> {
        let (hosts, port) = match route {
            Some(d) => (vec![d.host.clone()], d.port),
            None => {
                let domain = crate::gateway::control::domain_of(address).to_ascii_lowercase();
                match self.resolver.mx(&domain).await {
                    Ok(mx) if mx.iter().any(|m| m.is_null()) => return Vec::new(),
                    Ok(mx) if mx.is_empty() => (vec![domain], 25),
                    Ok(mx) => (mx.into_iter().map(|m| m.exchange).collect(), 25),
                    Err(e) => {
                        tracing::info!(domain, error = %e, "recipient callout: MX lookup failed");
                        return Vec::new();
                    }
                }
            }
        };
        let mut out = Vec::new();
        for host in hosts.iter().take(MAX_HOSTS) {
            match self.resolver.ips(host).await {
                Ok(ips) => out.extend(
                    ips.into_iter()
                        .map(|ip| (host.clone(), SocketAddr::new(ip, port))),
                ),
                Err(e) => {
                    tracing::info!(host, error = %e, "recipient callout: address lookup failed")
                }
            }
        }
        out.truncate(MAX_HOSTS);
        out
    }
}

/// One connection to `addr` (of `host`) under the policy, as delivery makes it: `may` tries
/// again in clear when STARTTLS failed.
async fn open(
    host: &str,
    addr: SocketAddr,
    opts: &Options,
    connect: &Connect,
) -> Result<Connection, crate::relay::client::Error> {
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .unwrap_or(rustls::pki_types::ServerName::IpAddress(addr.ip().into()));
    let key = PoolKey(
        addr,
        Profile::Route {
            tls: connect.tls,
            anchors: connect.anchors.clone(),
            source: connect.source,
        },
    );
    match Connection::open_with_policy(key.clone(), name.clone(), opts, connect.tls).await {
        Err(e) if e.is_tls() && connect.tls.falls_back_to_plaintext() => {
            tracing::info!(%addr, error = %e, "recipient callout: TLS failed; asking in clear (tls = \"may\")");
            Connection::open_with_policy(key, name, opts, TlsPolicy::None).await
        }
        other => other,
    }
}

/// An ask in progress: its `running` entry goes when it ends (unless a newer ask replaced it).
struct Running<'a> {
    map: &'a Mutex<HashMap<String, Arc<smol::lock::OnceCell<Outcome>>>>,
    key: &'a str,
    cell: &'a Arc<smol::lock::OnceCell<Outcome>>,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.get(self.key).is_some_and(|c| Arc::ptr_eq(c, self.cell)) {
            map.remove(self.key);
        }
    }
}

/// Hosts (and addresses) a probe tries at most.
const MAX_HOSTS: usize = 3;

fn shown(route: &Route) -> String {
    route.as_ref().map_or("MX".to_string(), |d| d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn answers_kept_for_their_ttl_and_deferred_not_kept() {
        let t = Instant::now();
        let mut c = Cache::new(10, HOUR * 24, HOUR);
        c.insert("a@x", Outcome::Exists, t);
        c.insert("b@x", Outcome::Unknown, t);
        c.insert("c@x", Outcome::Deferred, t);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("a@x", t + HOUR * 2), Some(Outcome::Exists));
        assert_eq!(c.get("b@x", t + HOUR / 2), Some(Outcome::Unknown));
        assert_eq!(c.get("b@x", t + HOUR), None);
        assert_eq!(c.get("c@x", t), None);
        assert_eq!(c.get("a@x", t + HOUR * 24), None);
        assert!(c.is_empty());
    }

    #[test]
    fn full_cache_drops_the_least_recently_used() {
        let t = Instant::now();
        let mut c = Cache::new(2, HOUR, HOUR);
        c.insert("a", Outcome::Exists, t);
        c.insert("b", Outcome::Exists, t);
        // "a" is used, so "b" is the least recently used when "c" comes.
        assert_eq!(c.get("a", t), Some(Outcome::Exists));
        c.insert("c", Outcome::Unknown, t);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("b", t), None);
        assert_eq!(c.get("a", t), Some(Outcome::Exists));
        assert_eq!(c.get("c", t), Some(Outcome::Unknown));
        // Replacing an entry takes no room of another.
        c.insert("c", Outcome::Exists, t);
        assert_eq!(c.len(), 2);
        assert_eq!(c.by_use.len(), 2);
        let mut off = Cache::new(0, HOUR, HOUR);
        off.insert("a", Outcome::Exists, t);
        assert!(off.is_empty());
    }

    /// A one-thread SMTP responder on loopback answering RCPT with `rcpt`; counts connections.
    fn responder(rcpt: &'static str) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut out) = stream else { return };
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut lines = BufReader::new(out.try_clone().unwrap()).lines();
                let _ = out.write_all(b"220 test ESMTP\r\n");
                while let Some(Ok(line)) = lines.next() {
                    let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                    let reply = match verb.as_str() {
                        "EHLO" => "250 test".to_string(),
                        "RCPT" => rcpt.to_string(),
                        "QUIT" => "221 bye".to_string(),
                        _ => "250 ok".to_string(),
                    };
                    let _ = out.write_all(format!("{reply}\r\n").as_bytes());
                    if verb == "QUIT" {
                        break;
                    }
                }
            }
        });
        (addr, count)
    }

    fn prober() -> Prober {
        let options = Options {
            helo_name: crate::smtp::HostName::localhost(),
            source: None,
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(5),
            data_timeout: Duration::from_secs(5),
            tls: crate::tls::client_config(&[]).unwrap(),
            max_reply_line: 4096,
            max_reply_lines: 100,
        };
        let settings = Settings {
            timeout: Duration::from_secs(10),
            sender: String::new(),
            options,
        };
        let resolver = crate::dns::Resolver::new(crate::dns::ResolverConfig {
            servers: Vec::new(),
            timeout: Duration::from_secs(1),
            attempts: 1,
            cache_entries: 0,
        });
        Prober::new(settings, resolver, Cache::new(10, HOUR, HOUR))
    }

    #[test]
    fn concurrent_asks_share_one_probe_and_the_answer_is_cached() {
        let (addr, connections) = responder("550 5.1.1 no such user");
        let p = prober();
        let route: Route = Some(Destination::parse(&addr.to_string()).unwrap());
        let (a, b) = smol::block_on(futures_lite::future::zip(
            p.verify(&route, &Connect::default(), "nobody@corp.example"),
            p.verify(&route, &Connect::default(), "Nobody@Corp.Example"),
        ));
        assert_eq!((a, b), (Outcome::Unknown, Outcome::Unknown));
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
        let c = smol::block_on(p.verify(&route, &Connect::default(), "nobody@corp.example"));
        assert_eq!(c, Outcome::Unknown);
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(p.running.lock().unwrap().is_empty());
    }

    #[test]
    fn an_ask_dropped_mid_probe_leaves_no_entry() {
        let (addr, _) = responder("250 ok");
        let p = prober();
        let route: Route = Some(Destination::parse(&addr.to_string()).unwrap());
        let polled = smol::block_on(futures_lite::future::poll_once(p.verify(
            &route,
            &Connect::default(),
            "bob@corp.example",
        )));
        assert_eq!(polled, None);
        assert!(p.running.lock().unwrap().is_empty());
        assert_eq!(
            smol::block_on(p.verify(&route, &Connect::default(), "bob@corp.example")),
            Outcome::Exists
        );
    }

    #[test]
    fn a_tempfail_is_deferred_and_asked_again() {
        let (addr, connections) = responder("451 4.3.0 later");
        let p = prober();
        let route: Route = Some(Destination::parse(&addr.to_string()).unwrap());
        for _ in 0..2 {
            assert_eq!(
                smol::block_on(p.verify(&route, &Connect::default(), "bob@corp.example")),
                Outcome::Deferred
            );
        }
        assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn a_probe_connects_from_the_destinations_source_address() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let peer = std::thread::spawn(move || {
            use std::io::Write;
            let (mut s, peer) = listener.accept().unwrap();
            let _ = s.write_all(b"421 not now\r\n");
            peer.ip()
        });
        let p = prober();
        let route: Route = Some(Destination::parse(&addr.to_string()).unwrap());
        let connect = Connect {
            tls: TlsPolicy::None,
            anchors: Vec::new(),
            source: Some("127.0.0.9".parse().unwrap()),
        };
        let outcome = smol::block_on(p.verify(&route, &connect, "bob@corp.example"));
        assert_eq!(outcome, Outcome::Deferred);
        assert_eq!(peer.join().unwrap(), "127.0.0.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn the_routes_settings_else_the_defaults() {
        let defaults = crate::config::gateway::Defaults {
            source_address: Some("192.0.2.9".parse().unwrap()),
            ..Default::default()
        };
        let mut options = crate::gateway::router::Options::default();
        let c = Connect::of(&options, &defaults);
        assert_eq!((c.tls, c.source), (TlsPolicy::May, defaults.source_address));
        options.tls = Some(TlsPolicy::Verify);
        options.trust_anchors = vec![PathBuf::from("/etc/corp.pem")];
        options.source_address = Some("192.0.2.1".parse().unwrap());
        let c = Connect::of(&options, &defaults);
        assert_eq!(
            c,
            Connect {
                tls: TlsPolicy::Verify,
                anchors: options.trust_anchors.clone(),
                source: options.source_address,
            }
        );
    }

    #[test]
    fn rcpt_codes_map_to_outcomes() {
        assert_eq!(Outcome::of_code(250), Outcome::Exists);
        assert_eq!(Outcome::of_code(251), Outcome::Exists);
        assert_eq!(Outcome::of_code(550), Outcome::Unknown);
        assert_eq!(Outcome::of_code(553), Outcome::Unknown);
        assert_eq!(Outcome::of_code(450), Outcome::Deferred);
        assert_eq!(Outcome::of_code(421), Outcome::Deferred);
    }
}
