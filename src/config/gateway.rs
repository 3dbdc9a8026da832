//! The `[gateway]` section and the `[[route]]` routing list of the store-and-forward gateway
//! (issue 14): the default route (`smart_host`; empty: MX delivery), who may relay
//! (`relay_clients`: addresses, networks, host names), and the local domains with their
//! destinations (`gateway::router::Routes`), and how mail is delivered by route (TLS policy,
//! trust anchors, concurrency per destination, source address; per `[[route]]` or the
//! `[gateway]` default). Checked here with the place of each mistake; the gateway listeners and
//! the delivery queue use them as they come.

use std::net::IpAddr;
use std::path::PathBuf;

use toml::Spanned;

use super::raw;
use super::value::{Ctx, Error, Loc};
use crate::gateway::router::{self, Destination, Routes};
use crate::tls::policy::TlsPolicy;

/// Who may relay through the gateway (seed 004, 6.1: a source is local when it matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayClient {
    /// An address or network (`192.0.2.7`, `10.0.0.0/8`).
    Net(ipnet::IpNet),
    /// A host name, matched by the client's forward-confirmed PTR name; `.corp.example` matches
    /// every name below it.
    Host(String),
}

/// What a listener does with a message (`listener.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListenerMode {
    /// The in-line proxy: the upstream's final reply comes after the next hop answered.
    #[default]
    Inline,
    /// Store and forward: 250 once the message is in the durable queue; inspected and delivered
    /// from there.
    Gateway,
}

impl ListenerMode {
    pub fn name(self) -> &'static str {
        match self {
            ListenerMode::Inline => "inline",
            ListenerMode::Gateway => "gateway",
        }
    }
}

/// A listener's name: 1 to 32 of `a-z`, `0-9` and `-` (it labels logs, events and metrics).
pub(super) fn listener_name(v: super::value::Loc<'_, String>) -> Result<String, Error> {
    v.parse_with(|s| {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(s.clone())
        } else {
            Err(format!(
                "{s:?} is not a listener name: 1 to 32 of a-z, 0-9 and -"
            ))
        }
    })
}

/// `[gateway]` and `[[route]]`.
#[derive(Debug, Clone, Default)]
pub struct Gateway {
    pub routes: Routes,
    pub relay_clients: Vec<RelayClient>,
    /// The SMTP-time checks: blocked characters, rate limits, recipient verification.
    pub checks: super::gate::Checks,
    /// Custody and inspection from the queue (`inline_verdict`, `late_block`, `inspect_retry`,
    /// `inspect_attempts`).
    pub custody: Custody,
    /// Delivery defaults for the smart host, MX delivery and routes that set none.
    pub delivery: Defaults,
}

/// What happens to a message a policy blocks after the gateway accepted it (`gateway.late_block`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LateBlock {
    /// An RFC 3464 failure report to the sender (never to the null sender).
    #[default]
    Bounce,
    /// Dropped without a word to the sender (its incident is still recorded).
    Drop,
}

/// How the gateway inspects the messages in its custody.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Custody {
    /// How long the client waits, after the commit, for an inline verdict (zero: never inline).
    pub inline_verdict: std::time::Duration,
    pub late_block: LateBlock,
    /// When a failed inspection (panic, time) is tried again.
    pub inspect_retry: std::time::Duration,
    /// Attempts before the message goes to the suspect hold.
    pub inspect_attempts: u32,
}

/// `[gateway]`'s delivery keys: what a `[[route]]` without its own value, the smart host and MX
/// delivery use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    pub tls: TlsPolicy,
    /// Empty: the system's CA bundle.
    pub trust_anchors: Vec<PathBuf>,
    pub destination_concurrency: usize,
    pub source_address: Option<IpAddr>,
    /// The port of MX delivery (25; another only for tests or a network that redirects).
    pub mx_port: u16,
}

impl Default for Defaults {
    /// Only for `Gateway::default()` (tests); the real defaults come from `assets/sluice.toml`.
    fn default() -> Defaults {
        Defaults {
            tls: TlsPolicy::May,
            trust_anchors: Vec::new(),
            destination_concurrency: 20,
            source_address: None,
            mx_port: 25,
        }
    }
}

fn tls_policy(v: Loc<'_, String>) -> Result<TlsPolicy, Error> {
    v.parse_with(|s| TlsPolicy::parse(s))
}

fn source_address(v: Loc<'_, String>) -> Result<Option<IpAddr>, Error> {
    v.parse_with(|s| match s.trim() {
        "" => Ok(None),
        s => s
            .parse::<IpAddr>()
            .map(Some)
            .map_err(|_| format!("{s:?} is not an IP address")),
    })
}

/// Trust anchors files, each read and checked now (PEM certificates usable as anchors): a
/// missing or bad file is refused with the configuration, at its place in the file, not found at
/// the first delivery that needs it.
fn anchors(items: Vec<Loc<'_, String>>) -> Result<Vec<PathBuf>, Error> {
    items
        .into_iter()
        .map(|i| {
            i.parse_with(|s| {
                let path = PathBuf::from(s);
                crate::tls::client_config(std::slice::from_ref(&path))
                    .map(|_| path.clone())
                    .map_err(|e| format!("trust anchors: {e:#}"))
            })
        })
        .collect()
}

/// The delivery keys of `[gateway]`.
fn defaults(cx: &Ctx<'_>, u: &mut raw::Gateway, d: &mut raw::Gateway) -> Result<Defaults, Error> {
    Ok(Defaults {
        tls: tls_policy(cx.pick(u.tls.take(), d.tls.take(), "gateway.tls")?)?,
        trust_anchors: anchors(
            cx.pick(
                u.trust_anchors.take(),
                d.trust_anchors.take(),
                "gateway.trust_anchors",
            )?
            .items(),
        )?,
        destination_concurrency: cx
            .pick(
                u.destination_concurrency.take(),
                d.destination_concurrency.take(),
                "gateway.destination_concurrency",
            )?
            .range(1, 10_000)? as usize,
        source_address: source_address(cx.pick(
            u.source_address.take(),
            d.source_address.take(),
            "gateway.source_address",
        )?)?,
        mx_port: cx
            .pick(u.mx_port.take(), d.mx_port.take(), "gateway.mx_port")?
            .range(1, 65_535)? as u16,
    })
}

/// The delivery keys of one `[[route]]`.
fn options(cx: &Ctx<'_>, t: &mut raw::Route) -> Result<router::Options, Error> {
    Ok(router::Options {
        tls: t.tls.take().map(|v| tls_policy(cx.user(v))).transpose()?,
        trust_anchors: t
            .trust_anchors
            .take()
            .map(|v| anchors(cx.user(v).items()))
            .transpose()?
            .unwrap_or_default(),
        concurrency: t
            .concurrency
            .take()
            .map(|v| cx.user(v).range(1, 10_000).map(|n| n as usize))
            .transpose()?,
        source_address: match t.source_address.take() {
            Some(v) => source_address(cx.user(v))?,
            None => None,
        },
    })
}

pub(super) fn build(
    cx: &Ctx<'_>,
    mut u: raw::Gateway,
    mut d: raw::Gateway,
    routes: Option<Vec<Spanned<raw::Route>>>,
) -> Result<Gateway, Error> {
    let delivery = defaults(cx, &mut u, &mut d)?;
    let checks = super::gate::build(cx, &u, &d, routes.as_deref().unwrap_or_default())?;
    let smart = cx.pick(u.smart_host, d.smart_host, "gateway.smart_host")?;
    let smart_host = Some(smart.value().trim().to_string()).filter(|s| !s.is_empty());
    let mut list = Routes::to(smart_host.as_deref()).map_err(|m| smart.error(&m))?;
    let mut relay_clients = Vec::new();
    for item in cx
        .pick(u.relay_clients, d.relay_clients, "gateway.relay_clients")?
        .items()
    {
        relay_clients.push(item.parse_with(|s| relay_client(s))?);
    }
    for table in routes.unwrap_or_default() {
        let whole = cx.user(table);
        let mut t = whole.value().clone();
        let options = options(cx, &mut t)?;
        let domain = t.domain.ok_or_else(|| {
            whole.error(
                "a route needs `domain` (corp.example, or .corp.example for the names below it)",
            )
        })?;
        let domain = cx.user(domain);
        let destination = t.destination.map(|d| cx.user(d));
        if let Some(dest) = &destination {
            Destination::parse(dest.value()).map_err(|m| dest.error(&m))?;
        }
        list.add(
            domain.value(),
            destination.as_ref().map(|d| d.value().as_str()),
            options,
        )
        .map_err(|m| domain.error(&m))?;
    }
    let retry = cx.pick(u.inspect_retry, d.inspect_retry, "gateway.inspect_retry")?;
    let short = retry.error("gateway.inspect_retry must be at least 1s");
    let inspect_retry = retry.duration()?;
    if inspect_retry < std::time::Duration::from_secs(1) {
        return Err(short);
    }
    let custody = Custody {
        // "0s" is allowed: never inline.
        inline_verdict: cx
            .pick(u.inline_verdict, d.inline_verdict, "gateway.inline_verdict")?
            .parse_with(|s| crate::units::duration::parse(s))?,
        late_block: cx
            .pick(u.late_block, d.late_block, "gateway.late_block")?
            .choice(&[("bounce", LateBlock::Bounce), ("drop", LateBlock::Drop)])?,
        inspect_retry,
        inspect_attempts: cx
            .pick(
                u.inspect_attempts,
                d.inspect_attempts,
                "gateway.inspect_attempts",
            )?
            .range(1, 100)? as u32,
    };
    Ok(Gateway {
        routes: list,
        relay_clients,
        checks,
        custody,
        delivery,
    })
}

/// One `relay_clients` entry: an address, a network, or a host name (`.` first: the names below).
fn relay_client(s: &str) -> Result<RelayClient, String> {
    let s = s.trim();
    if let Some(net) = ipv4_wildcard(s) {
        return Ok(RelayClient::Net(net));
    }
    // The seed's `*.corp.example`: every name below, as `.corp.example`.
    let s = s
        .strip_prefix('*')
        .filter(|r| r.starts_with('.'))
        .unwrap_or(s);
    if s.parse::<std::net::IpAddr>().is_ok() || s.contains('/') {
        return super::syntax::parse_cidr(s).map(RelayClient::Net);
    }
    let name = s.strip_prefix('.').unwrap_or(s);
    match Destination::parse(name) {
        Ok(d) if d.port == 25 && !name.contains(':') => {
            Ok(RelayClient::Host(s.to_ascii_lowercase()))
        }
        _ => Err(format!(
            "{s:?} is not a relay client: use an address (192.0.2.7), a network (10.0.0.0/8) or a host name (mail.corp.example, .corp.example)"
        )),
    }
}

/// The seed's IPv4 wildcards, `1.2.3.*`, `1.2.*`, `1.*` (whole last octets), as networks.
fn ipv4_wildcard(s: &str) -> Option<ipnet::IpNet> {
    let fixed = s.strip_suffix(".*")?;
    let fixed: Vec<&str> = fixed.split('.').take_while(|p| *p != "*").collect();
    let rest = s.strip_suffix(".*")?.split('.').skip(fixed.len());
    if fixed.is_empty() || fixed.len() > 3 || rest.clone().any(|p| p != "*") {
        return None;
    }
    let mut octets = [0u8; 4];
    for (i, p) in fixed.iter().enumerate() {
        octets[i] = p.parse().ok()?;
    }
    let len = u8::try_from(fixed.len() * 8).ok()?;
    ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(octets), len)
        .ok()
        .map(ipnet::IpNet::V4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::gateway::router::Next;

    fn load(text: &str) -> Result<Config, String> {
        Config::parse(text, "sluice.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn route_delivery_keys_load_and_unset_ones_stay_unset_for_the_gateway_default() {
        let anchor = crate::testing::anchor_file();
        let text = "[gateway]\ntls = \"encrypt\"\ndestination_concurrency = 5\nsource_address = \"127.0.0.1\"\ntrust_anchors = [\"/etc/ca.pem\"]\nmx_port = 2525\n\n[[route]]\ndomain = \"corp.example\"\ndestination = \"10.0.0.5\"\ntls = \"verify\"\ntrust_anchors = [\"/etc/corp-ca.pem\"]\nconcurrency = 2\nsource_address = \"::1\"\n\n[[route]]\ndomain = \".corp.example\"\n";
        let c = load(
            &text
                .replace("/etc/ca.pem", &format!("{}", anchor.display()))
                .replace("/etc/corp-ca.pem", &format!("{}", anchor.display())),
        )
        .unwrap();
        let g = &c.gateway;
        assert_eq!(g.delivery.tls, TlsPolicy::Encrypt);
        assert_eq!(g.delivery.destination_concurrency, 5);
        assert_eq!(
            g.delivery.source_address,
            Some("127.0.0.1".parse().unwrap())
        );
        assert_eq!(g.delivery.trust_anchors, std::slice::from_ref(&anchor));
        assert_eq!(g.delivery.mx_port, 2525);
        let o = &g.routes.lookup("corp.example").unwrap().options;
        assert_eq!(o.tls, Some(TlsPolicy::Verify));
        assert_eq!(o.concurrency, Some(2));
        assert_eq!(o.source_address, Some("::1".parse().unwrap()));
        assert_eq!(o.trust_anchors, std::slice::from_ref(&anchor));
        let o = &g.routes.lookup("a.corp.example").unwrap().options;
        assert_eq!(o, &router::Options::default());
    }

    #[test]
    fn trust_anchors_files_are_checked_at_load_and_a_bad_one_says_where() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        for (text, line) in [
            (
                format!("[gateway]\ntrust_anchors = [\"{}\"]\n", missing.display()),
                2,
            ),
            (
                format!(
                    "[[route]]\ndomain = \"corp.example\"\ntls = \"verify\"\ntrust_anchors = [\"{}\"]\n",
                    junk.display()
                ),
                4,
            ),
        ] {
            let e = load(&text).unwrap_err();
            assert!(e.starts_with(&format!("sluice.toml:{line}:")), "{e}");
            assert!(e.contains("trust anchors"), "{e}");
        }
    }

    #[test]
    fn routes_smart_host_and_relay_clients_load_and_mistakes_say_where() {
        let c = load(
            "[gateway]\nsmart_host = \"relay.isp.example:587\"\nrelay_clients = [\"10.0.0.0/8\", \"192.0.2.7\", \"mail.corp.example\", \".corp.example\"]\n\n[[route]]\ndomain = \"corp.example\"\ndestination = \"10.0.0.5:25\"\n\n[[route]]\ndomain = \".corp.example\"\n",
        )
        .unwrap();
        let g = &c.gateway;
        assert!(matches!(g.routes.next("corp.example"), Next::Local(d) if d.port == 25));
        assert_eq!(g.routes.next("x.corp.example"), Next::LocalMx);
        assert!(matches!(g.routes.next("gmail.example"), Next::SmartHost(d) if d.port == 587));
        assert_eq!(g.relay_clients.len(), 4);
        let w = load(
            "[gateway]\nrelay_clients = [\"192.0.2.*\", \"10.*.*.*\", \"*.branch.example\"]\n",
        )
        .unwrap()
        .gateway
        .relay_clients;
        assert_eq!(w[0], RelayClient::Net("192.0.2.0/24".parse().unwrap()));
        assert_eq!(w[1], RelayClient::Net("10.0.0.0/8".parse().unwrap()));
        assert_eq!(w[2], RelayClient::Host(".branch.example".into()));
        for bad in ["1.2.*.4", "*.*", "300.*", "a.*"] {
            assert!(ipv4_wildcard(bad).is_none(), "{bad}");
        }
        assert_eq!(
            g.relay_clients[3],
            RelayClient::Host(".corp.example".into())
        );
        // The defaults: no route, MX delivery, nobody may relay.
        let d = load("").unwrap();
        assert_eq!(
            d.gateway.delivery,
            Defaults {
                tls: TlsPolicy::May,
                trust_anchors: Vec::new(),
                destination_concurrency: 20,
                source_address: None,
                mx_port: 25,
            }
        );
        assert!(d.gateway.routes.entries().is_empty() && d.gateway.relay_clients.is_empty());
        assert_eq!(d.gateway.routes.next("corp.example"), Next::Mx);
        for (text, says) in [
            (
                "[[route]]\ndomain = \"corp.example\"\n[[route]]\ndomain = \"Corp.Example\"\n",
                "twice",
            ),
            ("[[route]]\ndestination = \"10.0.0.5\"\n", "needs `domain`"),
            (
                "[[route]]\ndomain = \"corp.example\"\ndestination = \"10.0.0.5:0\"\n",
                "port",
            ),
            ("[gateway]\nsmart_host = \"relay:99999\"\n", "port"),
            (
                "[gateway]\nrelay_clients = [\"not a host\"]\n",
                "not a relay client",
            ),
            (
                "[[route]]\ndomain = \"corp.example\"\nport = 25\n",
                "unknown field",
            ),
            ("[gateway]\ntls = \"dane\"\n", "not a TLS policy"),
            (
                "[[route]]\ndomain = \"corp.example\"\ntls = \"secure\"\n",
                "not a TLS policy",
            ),
            (
                "[[route]]\ndomain = \"corp.example\"\nconcurrency = 0\n",
                "sluice.toml:3",
            ),
            (
                "[[route]]\ndomain = \"corp.example\"\nsource_address = \"10.0.0\"\n",
                "not an IP address",
            ),
            ("[gateway]\ndestination_concurrency = 0\n", "sluice.toml:2"),
        ] {
            let e = load(text).unwrap_err();
            assert!(
                e.contains(says) && e.contains("sluice.toml:"),
                "{text}: {e}"
            );
        }
    }

    #[test]
    fn custody_keys_have_their_defaults_and_bad_values_say_where() {
        let d = load("").unwrap().gateway.custody;
        assert_eq!(d.inline_verdict, std::time::Duration::from_secs(5));
        assert_eq!(d.late_block, LateBlock::Bounce);
        assert_eq!(d.inspect_retry, std::time::Duration::from_secs(60));
        assert_eq!(d.inspect_attempts, 3);
        let c = load("[gateway]\ninline_verdict = \"0s\"\nlate_block = \"drop\"\n").unwrap();
        assert!(
            c.gateway.custody.inline_verdict.is_zero(),
            "0s: never inline"
        );
        assert_eq!(c.gateway.custody.late_block, LateBlock::Drop);
        for (text, says) in [
            ("[gateway]\ninspect_retry = \"0s\"\n", "greater than zero"),
            ("[gateway]\nlate_block = \"reject\"\n", "unknown value"),
            ("[gateway]\ninspect_attempts = 0\n", "out of range"),
        ] {
            let e = load(text).unwrap_err();
            assert!(e.contains(says) && e.contains(":2:"), "{text}: {e}");
        }
    }
}
