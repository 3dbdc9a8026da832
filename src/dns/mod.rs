//! Async DNS stub resolver on smol (MX, A/AAAA and PTR lookups with a TTL cache); hickory-proto is used only for the wire format.
//!
//! A [`Resolver`] asks the configured recursive servers in order, `attempts` rounds over the
//! list, each exchange bounded by `timeout`: UDP from a fresh ephemeral socket (random id from
//! a CSPRNG, random source port from the kernel), TCP when the reply is truncated. SERVFAIL,
//! REFUSED and other error rcodes, I/O errors, malformed replies and timeouts move on to the
//! next server; NOERROR and NXDOMAIN are final. Outcomes are cached per (name, type): positive
//! answers for their smallest TTL (at most 1 h), NXDOMAIN/NODATA for the SOA minimum (at most
//! 5 min, RFC 2308) or 60 s without an SOA.
//!
//! Files: `conf.rs` parses resolv.conf, `transport.rs` does one UDP/TCP exchange,
//! `cache.rs` holds the bounded cache.

mod cache;
mod conf;
mod transport;

#[cfg(test)]
mod tests;

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use hickory_proto::op::{Message, Query};
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};
use tracing::debug;

use cache::{Cache, Key, Outcome};
pub use conf::ResolvConf;
pub use hickory_proto::op::ResponseCode;

/// Longest CNAME chain followed inside one answer.
const MAX_CNAME_HOPS: usize = 16;
/// Cap on how long a positive answer is cached.
const MAX_POSITIVE_TTL: u32 = 3600;
/// Cap on how long NXDOMAIN/NODATA is cached when the reply carries an SOA.
const MAX_NEGATIVE_TTL: u32 = 300;
/// How long NXDOMAIN/NODATA is cached when the reply carries no SOA.
const DEFAULT_NEGATIVE_TTL: u32 = 60;

/// Where and how to ask: built from the `[dns]` section of the configuration (servers from
/// [`ResolvConf`] when it names none), or by hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolverConfig {
    /// Recursive servers, asked in this order.
    pub servers: Vec<SocketAddr>,
    /// Limit for one exchange with one server (UDP, and again for a TCP retry).
    pub timeout: Duration,
    /// Rounds over the server list; 0 is treated as 1.
    pub attempts: u32,
    /// Bound on cached (name, type) outcomes; 0 disables the cache.
    pub cache_entries: usize,
}

/// One mail exchanger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mx {
    pub preference: u16,
    /// Host name, lowercase ASCII (IDNs in `xn--` form), no trailing dot. Empty for a null MX.
    pub exchange: String,
}

impl Mx {
    /// Whether this is the RFC 7505 null MX ("this domain accepts no mail").
    pub fn is_null(&self) -> bool {
        self.exchange.is_empty()
    }
}

/// Why a lookup failed. Only [`Error::NxDomain`] and [`Error::InvalidName`] are permanent.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The name does not exist (authoritative NXDOMAIN).
    #[error("DNS: {0} does not exist (NXDOMAIN)")]
    NxDomain(String),
    /// No server answered in time.
    #[error("DNS: lookup of {0} timed out")]
    Timeout(String),
    /// The servers answered with an error rcode such as SERVFAIL or REFUSED.
    #[error("DNS: lookup of {0} failed: server answered {1}")]
    ServFail(String, ResponseCode),
    /// Socket-level failure (unreachable server, connection refused, no servers configured).
    #[error("DNS: I/O error: {0}")]
    Io(#[from] io::Error),
    /// A reply could not be decoded or did not match the query.
    #[error("DNS: malformed reply: {0}")]
    Malformed(String),
    /// The name cannot be put in a DNS query (empty, label over 63 octets, name over 255).
    #[error("DNS: invalid domain name {0:?}: {1}")]
    InvalidName(String, String),
}

impl Error {
    /// Whether retrying later may succeed. NXDOMAIN and invalid names are permanent;
    /// timeouts, server failures, I/O errors and malformed replies are temporary.
    pub fn is_temporary(&self) -> bool {
        !matches!(self, Error::NxDomain(_) | Error::InvalidName(..))
    }
}

/// Async stub resolver; cheap to clone (clones share the cache).
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<Inner>,
}

struct Inner {
    config: ResolverConfig,
    cache: Mutex<Cache>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolver")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    pub fn new(config: ResolverConfig) -> Resolver {
        let cache = Mutex::new(Cache::new(config.cache_entries));
        Resolver {
            inner: Arc::new(Inner { config, cache }),
        }
    }

    /// The configuration this resolver was built with.
    pub fn config(&self) -> &ResolverConfig {
        &self.inner.config
    }

    /// MX records sorted by preference ascending; Ok(empty) when the domain exists but has no
    /// MX (NODATA). Null MX (RFC 7505: single MX "." pref 0) => return
    /// Ok(vec![Mx{preference:0, exchange:String::new()}]) so callers can detect it.
    ///
    /// Equal preferences keep the server's order; duplicates are removed; a root exchange mixed
    /// with real ones is dropped (it cannot be connected to).
    pub async fn mx(&self, domain: &str) -> Result<Vec<Mx>, Error> {
        let target = Target::parse(domain)?;
        let rdata = self.lookup(&target, RecordType::MX).await?;
        Ok(mx_list(&rdata))
    }

    /// A then AAAA addresses (A first). Literal IPs are returned as-is without a query.
    /// Follow CNAMEs present in the answer.
    ///
    /// Both queries run concurrently. If either yields addresses they are returned even when
    /// the other failed; with no addresses, NXDOMAIN wins, then the first error, else Ok(empty).
    pub async fn ips(&self, host: &str) -> Result<Vec<IpAddr>, Error> {
        if let Ok(ip) = host.trim().parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let target = Target::parse(host)?;
        let (v4, v6) = futures_lite::future::zip(
            self.lookup(&target, RecordType::A),
            self.lookup(&target, RecordType::AAAA),
        )
        .await;
        let mut ips: Vec<IpAddr> = Vec::new();
        for rdata in [&v4, &v6].into_iter().flatten().flatten() {
            let ip = match rdata {
                RData::A(a) => IpAddr::V4(a.0),
                RData::AAAA(aaaa) => IpAddr::V6(aaaa.0),
                _ => continue,
            };
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        if !ips.is_empty() {
            for err in [&v4, &v6].into_iter().filter_map(|r| r.as_ref().err()) {
                debug!(host = target.shown, %err, "partial address lookup");
            }
            return Ok(ips);
        }
        match (v4, v6) {
            (Err(err @ Error::NxDomain(_)), _) | (_, Err(err @ Error::NxDomain(_))) => Err(err),
            (Err(err), _) | (_, Err(err)) => Err(err),
            (Ok(_), Ok(_)) => Ok(ips),
        }
    }

    /// The PTR names of `ip` (its `in-addr.arpa` or `ip6.arpa` name), lowercase ASCII without
    /// the trailing dot, in the server's order, duplicates removed. `Ok(empty)` when the reverse
    /// name exists without PTR records; NXDOMAIN when it does not exist. An IPv4-mapped IPv6
    /// address is looked up as the IPv4 address it carries. Cached like every other answer.
    ///
    /// The names are only what the owner of the address space claims: a caller that trusts one
    /// confirms it with a forward lookup ([`Resolver::ips`]) first.
    pub async fn ptr(&self, ip: IpAddr) -> Result<Vec<String>, Error> {
        let target = Target::parse(&reverse_name(ip))?;
        let rdata = self.lookup(&target, RecordType::PTR).await?;
        let mut names: Vec<String> = Vec::new();
        for data in &rdata {
            let RData::PTR(ptr) = data else { continue };
            let name = ascii_name(&ptr.0);
            if !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn cache(&self) -> MutexGuard<'_, Cache> {
        // Cache methods never panic on their own; should one ever, the worst left behind is a
        // stale or unindexed entry, harmless for a cache, so a poisoned lock is taken over.
        self.inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Records of `rtype` for `target` (CNAMEs followed), from the cache or the servers.
    /// `Ok(empty)` is NODATA.
    async fn lookup(&self, target: &Target, rtype: RecordType) -> Result<Vec<RData>, Error> {
        let key = Key::new(&target.key, rtype);
        let cached = self.cache().get(&key, Instant::now());
        let outcome = match cached {
            Some(outcome) => {
                debug!(name = target.shown, %rtype, "DNS cache hit");
                outcome
            }
            None => {
                let reply = self.query(target, rtype).await?;
                let (outcome, ttl) = interpret(&reply, &target.name, rtype);
                debug!(name = target.shown, %rtype, ?outcome, ttl, "DNS answer");
                let ttl = Duration::from_secs(u64::from(ttl));
                self.cache()
                    .insert(key, outcome.clone(), ttl, Instant::now());
                outcome
            }
        };
        match outcome {
            Outcome::Records(records) => Ok(records),
            Outcome::NoData => Ok(Vec::new()),
            Outcome::NxDomain => Err(Error::NxDomain(target.shown.clone())),
        }
    }

    /// Ask the servers until one gives a NOERROR or NXDOMAIN reply.
    async fn query(&self, target: &Target, rtype: RecordType) -> Result<Message, Error> {
        let config = &self.inner.config;
        if config.servers.is_empty() {
            return Err(Error::Io(io::Error::new(
                io::ErrorKind::NotFound,
                "no DNS servers configured",
            )));
        }
        let mut query = Query::query(target.name.clone(), rtype);
        query.query_class = DNSClass::IN;
        let mut last = Error::Timeout(target.shown.clone());
        for round in 0..config.attempts.max(1) {
            for &server in &config.servers {
                let (id, wire) = transport::encode_query(&query)
                    .map_err(|err| Error::InvalidName(target.shown.clone(), err.to_string()))?;
                debug!(%server, round, id, name = target.shown, %rtype, "DNS query");
                let result =
                    transport::exchange(server, id, &wire, &query, config.timeout, &target.shown)
                        .await;
                match result {
                    Ok(reply) => match reply.metadata.response_code {
                        ResponseCode::NoError | ResponseCode::NXDomain => return Ok(reply),
                        rcode => {
                            debug!(%server, %rcode, name = target.shown, "DNS error rcode");
                            last = Error::ServFail(target.shown.clone(), rcode);
                        }
                    },
                    Err(err) => {
                        debug!(%server, %err, "DNS exchange failed");
                        last = err;
                    }
                }
            }
        }
        Err(last)
    }
}

/// A name to look up, in the three forms the resolver needs.
struct Target {
    /// Wire form, fully qualified.
    name: Name,
    /// Cache key: lowercase ASCII without trailing dot.
    key: String,
    /// The caller's spelling (trimmed, without trailing dot), for errors and traces.
    shown: String,
}

impl Target {
    fn parse(input: &str) -> Result<Target, Error> {
        let trimmed = input.trim();
        let shown = trimmed.strip_suffix('.').unwrap_or(trimmed).to_owned();
        let invalid = |why: String| Error::InvalidName(shown.clone(), why);
        if shown.is_empty() {
            return Err(invalid("empty name".into()));
        }
        let mut name =
            Name::from_str_relaxed(format!("{shown}.")).map_err(|err| invalid(err.to_string()))?;
        name.set_fqdn(true);
        if name.is_root() {
            return Err(invalid("empty name".into()));
        }
        let key = ascii_name(&name);
        Ok(Target { name, key, shown })
    }
}

/// Lowercase ASCII form of `name` without the trailing dot ("" for the root).
fn ascii_name(name: &Name) -> String {
    let ascii = name.to_ascii();
    ascii
        .strip_suffix('.')
        .unwrap_or(&ascii)
        .to_ascii_lowercase()
}

/// Turn a NOERROR/NXDOMAIN reply into an outcome and its cache TTL in seconds, following
/// the CNAME chain from `qname` through the answer section.
fn interpret(reply: &Message, qname: &Name, rtype: RecordType) -> (Outcome, u32) {
    if reply.metadata.response_code == ResponseCode::NXDomain {
        return (Outcome::NxDomain, negative_ttl(reply));
    }
    let mut owner = qname;
    let mut ttl = u32::MAX;
    for _ in 0..MAX_CNAME_HOPS {
        let in_class = |r: &&hickory_proto::rr::Record| {
            r.dns_class == DNSClass::IN && r.name.eq_ignore_root(owner)
        };
        let records: Vec<_> = reply
            .answers
            .iter()
            .filter(in_class)
            .filter(|r| r.record_type() == rtype)
            .collect();
        if !records.is_empty() {
            for record in &records {
                ttl = ttl.min(record.ttl);
            }
            let data = records.into_iter().map(|r| r.data.clone()).collect();
            return (Outcome::Records(data), ttl.min(MAX_POSITIVE_TTL));
        }
        let cname = reply
            .answers
            .iter()
            .filter(in_class)
            .find_map(|r| match &r.data {
                RData::CNAME(target) => Some((&target.0, r.ttl)),
                _ => None,
            });
        match cname {
            Some((target, cname_ttl)) => {
                ttl = ttl.min(cname_ttl);
                owner = target;
            }
            None => break,
        }
    }
    (Outcome::NoData, negative_ttl(reply))
}

/// RFC 2308: the smaller of the SOA's TTL and its MINIMUM field, capped; 60 s without an SOA.
fn negative_ttl(reply: &Message) -> u32 {
    reply
        .authorities
        .iter()
        .find_map(|r| match &r.data {
            RData::SOA(soa) => Some(soa.minimum.min(r.ttl).min(MAX_NEGATIVE_TTL)),
            _ => None,
        })
        .unwrap_or(DEFAULT_NEGATIVE_TTL)
}

/// The reverse-lookup name of `ip`: `4.3.2.1.in-addr.arpa` for 1.2.3.4, 32 nibbles then
/// `ip6.arpa` for IPv6 (RFC 3596 2.5); an IPv4-mapped IPv6 address gives its IPv4 name.
pub fn reverse_name(ip: IpAddr) -> String {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                out.push_str(&format!("{:x}.{:x}.", byte & 0x0f, byte >> 4));
            }
            out.push_str("ip6.arpa");
            out
        }
    }
}

/// MX rdata to the public list: sorted, deduplicated, null MX detected.
fn mx_list(rdata: &[RData]) -> Vec<Mx> {
    let mut list: Vec<Mx> = Vec::new();
    let mut saw_null = false;
    for data in rdata {
        let RData::MX(mx) = data else { continue };
        if mx.exchange.is_root() {
            saw_null = true;
            continue;
        }
        let entry = Mx {
            preference: mx.preference,
            exchange: ascii_name(&mx.exchange),
        };
        if !list.contains(&entry) {
            list.push(entry);
        }
    }
    if list.is_empty() && saw_null {
        return vec![Mx {
            preference: 0,
            exchange: String::new(),
        }];
    }
    list.sort_by_key(|mx| mx.preference);
    list
}
