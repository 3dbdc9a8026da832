//! Who is a relay client (seed 004, 6.1): the client's address in one of `gateway.relay_clients`'
//! networks, or one of its host names matching a name entry (`mail.corp.example` exactly,
//! `.corp.example` every name below). Matching is pure; [`host_names`] is the shell part that
//! finds the names: the client's PTR names through Sluice's own resolver, each kept only when its
//! forward lookup (A/AAAA) includes the client's address ("forward-confirmed", as Postfix's
//! `reject_unknown_client_hostname` requires), since anyone controlling the reverse zone of their
//! addresses can claim any name.
//!
//! A DNS failure (timeout, SERVFAIL, no PTR) means the client has no confirmed name: it is then
//! simply not a relay client by name (it may still be one by address). Nothing here fails.

use std::net::IpAddr;

use crate::config::gateway::RelayClient;

/// PTR names looked at per client (a reverse zone may list many; the rest are ignored).
const MAX_PTR_NAMES: usize = 5;

/// The `relay_clients` entries, split by kind.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    nets: Vec<ipnet::IpNet>,
    /// Lowercase, without trailing dot; `.corp.example` for the names below.
    hosts: Vec<String>,
}

impl Matcher {
    pub fn new(entries: &[RelayClient]) -> Matcher {
        let mut m = Matcher::default();
        for e in entries {
            match e {
                RelayClient::Net(n) => m.nets.push(*n),
                RelayClient::Host(h) => m.hosts.push(normal(h)),
            }
        }
        m
    }

    /// Whether `ip` is in one of the networks (an IPv4-mapped IPv6 address as its IPv4 address).
    pub fn by_address(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// Whether there are name entries (else no PTR lookup is needed).
    pub fn has_names(&self) -> bool {
        !self.hosts.is_empty()
    }

    /// Whether the (confirmed) host name `name` matches a name entry.
    pub fn by_name(&self, name: &str) -> bool {
        let name = normal(name);
        self.hosts.iter().any(|h| match h.strip_prefix('.') {
            Some(_) => name.len() > h.len() && name.ends_with(h.as_str()),
            None => *h == name,
        })
    }
}

fn normal(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The client's forward-confirmed host names: its PTR names whose A/AAAA records include `ip`.
/// Empty when the lookups fail (logged at debug): the client then has no name.
pub async fn host_names(resolver: &crate::dns::Resolver, ip: IpAddr) -> Vec<String> {
    let want = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    let names = match resolver.ptr(want).await {
        Ok(names) => names,
        Err(e) => {
            tracing::debug!(%ip, error = %e, "no PTR name for the client: not a relay client by name");
            return Vec::new();
        }
    };
    let mut confirmed = Vec::new();
    for name in names.into_iter().take(MAX_PTR_NAMES) {
        match resolver.ips(&name).await {
            Ok(ips) if ips.contains(&want) => confirmed.push(name),
            Ok(_) => {
                tracing::debug!(%ip, name, "PTR name does not resolve back to the client: ignored")
            }
            Err(e) => {
                tracing::debug!(%ip, name, error = %e, "PTR name could not be confirmed: ignored")
            }
        }
    }
    confirmed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(entries: &[&str]) -> Matcher {
        let list: Vec<RelayClient> = entries
            .iter()
            .map(|e| match e.parse::<ipnet::IpNet>() {
                Ok(n) => RelayClient::Net(n),
                Err(_) => RelayClient::Host(e.to_string()),
            })
            .collect();
        Matcher::new(&list)
    }

    #[test]
    fn addresses_and_networks() {
        let m = matcher(&["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
        assert!(m.by_address("10.1.2.3".parse().unwrap()));
        assert!(m.by_address("192.0.2.7".parse().unwrap()));
        assert!(!m.by_address("192.0.2.8".parse().unwrap()));
        assert!(m.by_address("::ffff:10.9.9.9".parse().unwrap()));
        assert!(m.by_address("2001:db8:5::1".parse().unwrap()));
        assert!(!m.has_names());
        assert!(!Matcher::default().by_address("10.0.0.1".parse().unwrap()));
    }

    #[test]
    fn names_exact_and_below() {
        let m = matcher(&["mail.corp.example", ".branch.example"]);
        assert!(m.has_names());
        assert!(m.by_name("mail.corp.example"));
        assert!(m.by_name("MAIL.Corp.Example."));
        assert!(!m.by_name("x.mail.corp.example"));
        assert!(!m.by_name("corp.example"));
        assert!(m.by_name("mx1.branch.example"));
        assert!(m.by_name("a.b.branch.example"));
        assert!(!m.by_name("branch.example"));
        assert!(!m.by_name("evilbranch.example"));
    }
}
