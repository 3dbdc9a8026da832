//! Integration tests of `sluice::dns::Resolver` against the loopback `support::dns::TestDns` server.

mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use sluice::dns::{Error, Mx, Resolver, ResolverConfig};
use support::dns::{Record, TestDns};

fn config(servers: Vec<SocketAddr>) -> ResolverConfig {
    ResolverConfig {
        servers,
        timeout: Duration::from_secs(2),
        attempts: 1,
        cache_entries: 128,
    }
}

fn resolver(dns: &TestDns) -> Resolver {
    Resolver::new(config(vec![dns.addr]))
}

fn mx(name: &str, preference: u16, exchange: &str) -> Record {
    Record::Mx {
        name: name.into(),
        preference,
        exchange: exchange.into(),
    }
}

fn a(name: &str, ip: [u8; 4]) -> Record {
    Record::A {
        name: name.into(),
        ip: Ipv4Addr::from(ip),
    }
}

fn aaaa(name: &str, ip: &str) -> Record {
    Record::Aaaa {
        name: name.into(),
        ip: ip.parse().unwrap(),
    }
}

fn cname(name: &str, target: &str) -> Record {
    Record::Cname {
        name: name.into(),
        target: target.into(),
    }
}

fn mxs(list: &[(u16, &str)]) -> Vec<Mx> {
    list.iter()
        .map(|&(preference, exchange)| Mx {
            preference,
            exchange: exchange.to_owned(),
        })
        .collect()
}

/// A small zone used by most tests.
fn zone() -> Vec<Record> {
    vec![
        mx("example.test", 20, "mx2.example.test"),
        mx("example.test", 10, "MX1.example.test."),
        mx("example.test", 30, "relay.other.test"),
        a("mx1.example.test", [192, 0, 2, 1]),
        aaaa("mx1.example.test", "2001:db8::1"),
        a("mx1.example.test", [192, 0, 2, 2]),
        cname("mail.example.test", "mx1.example.test"),
        mx("nomail.test", 0, "."),
        a("web.example.test", [192, 0, 2, 80]),
    ]
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|ip| ip.parse().unwrap()).collect()
}

#[test]
fn mx_sorted_and_cached() {
    let dns = TestDns::start(zone());
    let resolver = resolver(&dns);
    let want = mxs(&[
        (10, "mx1.example.test"),
        (20, "mx2.example.test"),
        (30, "relay.other.test"),
    ]);
    assert_eq!(smol::block_on(resolver.mx("example.test")).unwrap(), want);
    assert_eq!(smol::block_on(resolver.mx("EXAMPLE.test.")).unwrap(), want);
    assert_eq!(dns.query_counts(), (1, 0));
}

#[test]
fn ips_a_first_then_aaaa_following_cname() {
    let dns = TestDns::start(zone());
    let resolver = resolver(&dns);
    let want = ips(&["192.0.2.1", "192.0.2.2", "2001:db8::1"]);
    assert_eq!(
        smol::block_on(resolver.ips("mx1.example.test")).unwrap(),
        want
    );
    assert_eq!(
        smol::block_on(resolver.ips("mail.example.test")).unwrap(),
        want
    );
    // One A and one AAAA query per name.
    assert_eq!(dns.query_counts(), (4, 0));
}

#[test]
fn nxdomain_nodata_and_null_mx() {
    let dns = TestDns::start(zone());
    let resolver = resolver(&dns);
    let err = smol::block_on(resolver.mx("missing.example.test")).unwrap_err();
    assert!(
        matches!(&err, Error::NxDomain(n) if n == "missing.example.test"),
        "{err}"
    );
    assert!(!err.is_temporary());
    let err = smol::block_on(resolver.ips("missing.example.test")).unwrap_err();
    assert!(matches!(err, Error::NxDomain(_)), "{err}");

    // web.example.test exists (A only): NODATA for MX, and only an IPv4 address.
    assert_eq!(
        smol::block_on(resolver.mx("web.example.test")).unwrap(),
        vec![]
    );
    assert_eq!(
        smol::block_on(resolver.ips("web.example.test")).unwrap(),
        ips(&["192.0.2.80"])
    );

    let null = smol::block_on(resolver.mx("nomail.test")).unwrap();
    assert_eq!(null, mxs(&[(0, "")]));
    assert!(null[0].is_null());
}

#[test]
fn literal_addresses_are_not_looked_up() {
    let dns = TestDns::start(zone());
    let resolver = resolver(&dns);
    assert_eq!(
        smol::block_on(resolver.ips("198.51.100.4")).unwrap(),
        vec![IpAddr::V4(Ipv4Addr::new(198, 51, 100, 4))]
    );
    assert_eq!(
        smol::block_on(resolver.ips("2001:db8::7")).unwrap(),
        vec![IpAddr::V6("2001:db8::7".parse::<Ipv6Addr>().unwrap())]
    );
    assert_eq!(dns.query_counts(), (0, 0));
}

#[test]
fn truncating_server_forces_tcp() {
    let dns = TestDns::start_truncating(zone());
    let resolver = resolver(&dns);
    assert_eq!(
        smol::block_on(resolver.mx("example.test")).unwrap()[0],
        mxs(&[(10, "mx1.example.test")])[0]
    );
    assert_eq!(dns.query_counts(), (1, 1));
    assert_eq!(
        smol::block_on(resolver.ips("mail.example.test")).unwrap(),
        ips(&["192.0.2.1", "192.0.2.2", "2001:db8::1"])
    );
    assert_eq!(dns.query_counts(), (3, 3));
    let err = smol::block_on(resolver.mx("missing.example.test")).unwrap_err();
    assert!(matches!(err, Error::NxDomain(_)), "{err}");
    assert_eq!(dns.query_counts(), (4, 4));
}

#[test]
fn dead_first_server_fails_over_to_the_next() {
    let dead = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dns = TestDns::start(zone());
    let resolver = Resolver::new(config(vec![dead, dns.addr]));
    let started = Instant::now();
    let got = smol::block_on(resolver.mx("example.test")).unwrap();
    assert_eq!(got.len(), 3);
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn stopped_server_gives_a_temporary_error() {
    let dns = TestDns::start(zone());
    let mut config = config(vec![dns.addr]);
    config.timeout = Duration::from_millis(300);
    let resolver = Resolver::new(config);
    drop(dns);
    let err = smol::block_on(resolver.mx("example.test")).unwrap_err();
    assert!(err.is_temporary(), "{err}");
    assert!(matches!(err, Error::Io(_) | Error::Timeout(_)), "{err}");
}

#[test]
fn clones_share_one_cache_across_threads() {
    let dns = TestDns::start(zone());
    let resolver = resolver(&dns);
    smol::block_on(resolver.mx("example.test")).unwrap();
    let clone = resolver.clone();
    let got = std::thread::spawn(move || smol::block_on(clone.mx("example.test")))
        .join()
        .unwrap()
        .unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(dns.query_counts(), (1, 0));
}
