//! The routing list (pure): which recipient domains are the organisation's own ("local": mail
//! for them is accepted from anyone and delivered inside) and where their mail goes — a fixed
//! destination `host:port`, or the domain's MX when the entry names none (seed 004, 4.1). A domain
//! on no entry is not local: its mail goes to the smart host, or to its MX on the Internet.
//!
//! Entries are `corp.example` (that name exactly, a domain or a host) or `.corp.example` (every
//! name below it, not itself). An exact entry wins over a subdomain entry; of subdomain entries,
//! the longest (most specific) wins. Names compare without case and without a trailing dot.
//!
//! An entry also carries how its mail is delivered (`Options`: TLS policy, trust anchors,
//! concurrency, source address), each unset value taking the `[gateway]` default.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

use crate::tls::policy::TlsPolicy;

/// Where mail goes: a host (name or address) and port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub host: String,
    pub port: u16,
}

impl Destination {
    /// `host`, `host:port`, `192.0.2.1:2525` or `[2001:db8::1]:25` (port 25 when none is given).
    pub fn parse(s: &str) -> Result<Destination, String> {
        let s = s.trim();
        let bad = |why: &str| {
            format!("{s:?} is not a destination ({why}): use host, host:port or [IPv6]:port")
        };
        let (host, port) = if let Some(rest) = s.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or_else(|| bad("no closing ]"))?;
            h.parse::<std::net::Ipv6Addr>()
                .map_err(|_| bad("not an IPv6 address"))?;
            match after {
                "" => (h, None),
                p => (
                    h,
                    Some(p.strip_prefix(':').ok_or_else(|| bad("junk after ]"))?),
                ),
            }
        } else {
            match s.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h, Some(p)),
                Some(_) => return Err(bad("an IPv6 address goes in brackets")),
                None => (s, None),
            }
        };
        let port = match port {
            None => 25,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| bad("the port is 1 to 65535"))?,
        };
        if host.is_empty() || !(host.parse::<std::net::IpAddr>().is_ok() || is_name(host)) {
            return Err(bad("not a host name or address"));
        }
        Ok(Destination {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.host.contains(':') {
            true => write!(f, "[{}]:{}", self.host, self.port),
            false => write!(f, "{}:{}", self.host, self.port),
        }
    }
}

/// How the mail of one entry is delivered (`[[route]]` keys); `None` or empty: the `[gateway]`
/// default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    pub tls: Option<TlsPolicy>,
    /// PEM files of the anchors `verify` checks against; empty: `gateway.trust_anchors`.
    pub trust_anchors: Vec<PathBuf>,
    /// Deliveries in flight at once to this entry's destination.
    pub concurrency: Option<usize>,
    /// The local address connections to it are made from.
    pub source_address: Option<IpAddr>,
}

/// One entry of the routing list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The name as configured, lowercased (`.corp.example` for subdomains).
    pub domain: String,
    /// `None`: the domain's MX.
    pub destination: Option<Destination>,
    pub options: Options,
}

/// Where the mail for one recipient domain goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next<'a> {
    /// A local domain with a fixed destination.
    Local(&'a Destination),
    /// A local domain delivered to its MX.
    LocalMx,
    /// Not local: the smart host.
    SmartHost(&'a Destination),
    /// Not local, no smart host: the domain's MX on the Internet.
    Mx,
}

impl Next<'_> {
    pub fn is_local(&self) -> bool {
        matches!(self, Next::Local(_) | Next::LocalMx)
    }
}

/// The routing list, indexed for lookups.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    list: Vec<Route>,
    exact: HashMap<String, usize>,
    /// (suffix with its leading dot, index), longest first.
    below: Vec<(String, usize)>,
    smart_host: Option<Destination>,
}

/// A host or domain name: dot-separated labels of letters, digits and inner hyphens.
fn is_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

fn normal(domain: &str) -> String {
    domain.trim().trim_end_matches('.').to_ascii_lowercase()
}

impl Routes {
    /// The list from `(domain, destination)` entries as configured, and the default route; an
    /// entry that is not a name, or names what an earlier entry names, is refused with the reason.
    pub fn new(
        entries: &[(&str, Option<&str>)],
        smart_host: Option<&str>,
    ) -> Result<Routes, String> {
        let mut r = Routes::to(smart_host)?;
        for (domain, destination) in entries {
            r.add(domain, *destination, Options::default())?;
        }
        Ok(r)
    }

    /// An empty list with its default route (`None`: MX delivery).
    pub fn to(smart_host: Option<&str>) -> Result<Routes, String> {
        Ok(Routes {
            smart_host: smart_host.map(Destination::parse).transpose()?,
            ..Routes::default()
        })
    }

    /// Adds one entry, checked against those already there (one lookup, so a list of n entries is
    /// built in O(n log n)); refused with the reason when it is not a name or repeats an entry.
    pub fn add(
        &mut self,
        domain: &str,
        destination: Option<&str>,
        options: Options,
    ) -> Result<(), String> {
        let domain = normal(domain);
        let name = domain.strip_prefix('.').unwrap_or(&domain);
        if !is_name(name) {
            return Err(format!(
                "{domain:?} is not a domain: use corp.example or .corp.example"
            ));
        }
        let destination = destination.map(Destination::parse).transpose()?;
        let i = self.list.len();
        if domain.starts_with('.') {
            // Longest first; `below` stays sorted by a binary search on the length.
            let at = self.below.partition_point(|(d, _)| d.len() > domain.len());
            if self.below[at..]
                .iter()
                .take_while(|(d, _)| d.len() == domain.len())
                .any(|(d, _)| *d == domain)
            {
                return Err(format!("{domain:?} is on the routing list twice"));
            }
            self.below.insert(at, (domain.clone(), i));
        } else {
            if self.exact.contains_key(&domain) {
                return Err(format!("{domain:?} is on the routing list twice"));
            }
            self.exact.insert(domain.clone(), i);
        }
        self.list.push(Route {
            domain,
            destination,
            options,
        });
        Ok(())
    }

    /// The default route for domains on no entry (`None`: their MX).
    pub fn smart_host(&self) -> Option<&Destination> {
        self.smart_host.as_ref()
    }

    /// The entry that covers `domain`, if it is local.
    pub fn lookup(&self, domain: &str) -> Option<&Route> {
        let d = normal(domain);
        if let Some(&i) = self.exact.get(&d) {
            return Some(&self.list[i]);
        }
        self.below
            .iter()
            .find(|(suffix, _)| d.ends_with(suffix.as_str()) && d.len() > suffix.len())
            .map(|&(_, i)| &self.list[i])
    }

    /// Where the mail for a recipient at `domain` goes.
    pub fn next(&self, domain: &str) -> Next<'_> {
        match (self.lookup(domain), &self.smart_host) {
            (
                Some(Route {
                    destination: Some(d),
                    ..
                }),
                _,
            ) => Next::Local(d),
            (Some(_), _) => Next::LocalMx,
            (None, Some(s)) => Next::SmartHost(s),
            (None, None) => Next::Mx,
        }
    }

    pub fn is_local(&self, domain: &str) -> bool {
        self.lookup(domain).is_some()
    }

    pub fn entries(&self) -> &[Route] {
        &self.list
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(h: &str, p: u16) -> Destination {
        Destination {
            host: h.into(),
            port: p,
        }
    }

    #[test]
    fn destinations_parse_with_their_default_port_and_bad_ones_say_why() {
        assert_eq!(
            Destination::parse("MX1.corp.example").unwrap(),
            dest("mx1.corp.example", 25)
        );
        assert_eq!(
            Destination::parse("10.0.0.5:2525").unwrap(),
            dest("10.0.0.5", 2525)
        );
        assert_eq!(
            Destination::parse("[2001:db8::1]:26").unwrap(),
            dest("2001:db8::1", 26)
        );
        assert_eq!(
            Destination::parse("[2001:db8::1]").unwrap().to_string(),
            "[2001:db8::1]:25"
        );
        for bad in [
            "",
            "host:0",
            "host:99999",
            "2001:db8::1",
            "[nope]:25",
            "bad_name:25",
            "-x.example",
            "[::1]x",
        ] {
            let e = Destination::parse(bad).unwrap_err();
            assert!(e.contains("not a destination"), "{bad}: {e}");
        }
    }

    #[test]
    fn exact_names_win_then_the_longest_subdomain_entry() {
        let r = Routes::new(
            &[
                ("corp.example", Some("10.0.0.5:25")),
                (".corp.example", None),
                (".eu.corp.example", Some("10.0.1.5")),
                ("Branch.Example.", Some("[2001:db8::5]:2525")),
            ],
            None,
        )
        .unwrap();
        assert_eq!(r.next("CORP.example"), Next::Local(&dest("10.0.0.5", 25)));
        assert_eq!(r.next("sales.corp.example"), Next::LocalMx);
        assert_eq!(
            r.next("paris.eu.corp.example"),
            Next::Local(&dest("10.0.1.5", 25))
        );
        assert_eq!(
            r.next("eu.corp.example"),
            Next::LocalMx,
            "'.eu.corp.example' is only below it"
        );
        assert_eq!(
            r.next("branch.example"),
            Next::Local(&dest("2001:db8::5", 2525))
        );
        assert_eq!(
            r.next("notcorp.example"),
            Next::Mx,
            "a suffix must start at a label"
        );
        assert!(!r.is_local("example") && !r.is_local("corp.example.evil"));
        assert_eq!(r.entries().len(), 4);
    }

    #[test]
    fn mail_for_other_domains_goes_to_the_smart_host_or_the_mx() {
        let r = Routes::new(&[("corp.example", None)], Some("relay.isp.example:587")).unwrap();
        assert_eq!(
            r.next("gmail.example"),
            Next::SmartHost(&dest("relay.isp.example", 587))
        );
        assert!(r.next("corp.example").is_local());
        assert!(!r.next("gmail.example").is_local());
        let r = Routes::new(&[], None).unwrap();
        assert_eq!(r.next("gmail.example"), Next::Mx);
    }

    #[test]
    fn entries_added_one_at_a_time_keep_the_longest_subdomain_first() {
        let mut r = Routes::to(None).unwrap();
        let o = Options {
            tls: Some(TlsPolicy::Verify),
            concurrency: Some(3),
            ..Options::default()
        };
        r.add(".example", None, Options::default()).unwrap();
        r.add(".eu.corp.example", Some("10.0.1.5"), o.clone())
            .unwrap();
        r.add(".corp.example", None, Options::default()).unwrap();
        assert_eq!(
            r.next("a.eu.corp.example"),
            Next::Local(&dest("10.0.1.5", 25))
        );
        assert_eq!(r.lookup("a.eu.corp.example").unwrap().options, o);
        assert_eq!(r.lookup("a.corp.example").unwrap().domain, ".corp.example");
        assert_eq!(r.lookup("corp.example").unwrap().domain, ".example");
        let e = r
            .add(".Corp.Example", None, Options::default())
            .unwrap_err();
        assert!(e.contains("twice"), "{e}");
        assert_eq!(r.entries().len(), 3, "a refused entry is not added");
        assert_eq!(r.smart_host(), None);
    }

    #[test]
    fn bad_or_repeated_entries_are_refused_with_the_reason() {
        let e = Routes::new(&[("corp.example", None), ("CORP.example.", None)], None).unwrap_err();
        assert!(e.contains("twice"), "{e}");
        let e = Routes::new(&[("bad domain", None)], None).unwrap_err();
        assert!(e.contains("not a domain"), "{e}");
        let e = Routes::new(&[("..corp.example", None)], None).unwrap_err();
        assert!(e.contains("not a domain"), "{e}");
        let e = Routes::new(&[("corp.example", Some("host:0"))], None).unwrap_err();
        assert!(e.contains("port"), "{e}");
        assert!(Routes::new(&[], Some("::1")).is_err());
        assert!(Routes::new(&[("corp.example", None), (".corp.example", None)], None).is_ok());
    }
}
