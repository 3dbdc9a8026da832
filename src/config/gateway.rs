//! The `[gateway]` section and the `[[route]]` routing list of the store-and-forward gateway
//! (issue 14): the default route (`smart_host`; empty: MX delivery), who may relay
//! (`relay_clients`: addresses, networks, host names), and the local domains with their
//! destinations (`gateway::router::Routes`). Checked here with the place of each mistake; the
//! gateway listeners use them as they come.

use toml::Spanned;

use super::raw;
use super::value::{Ctx, Error};
use crate::gateway::router::{Destination, Routes};

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
    /// Custody and inspection from the queue (`inline_verdict`, `late_block`, `inspect_retry`,
    /// `inspect_attempts`).
    pub custody: Custody,
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

pub(super) fn build(
    cx: &Ctx<'_>,
    u: raw::Gateway,
    d: raw::Gateway,
    routes: Option<Vec<Spanned<raw::Route>>>,
) -> Result<Gateway, Error> {
    let smart = cx.pick(u.smart_host, d.smart_host, "gateway.smart_host")?;
    let smart_host = Some(smart.value().trim().to_string()).filter(|s| !s.is_empty());
    if let Some(s) = &smart_host {
        Destination::parse(s).map_err(|m| smart.error(&m))?;
    }
    let mut relay_clients = Vec::new();
    for item in cx
        .pick(u.relay_clients, d.relay_clients, "gateway.relay_clients")?
        .items()
    {
        relay_clients.push(item.parse_with(|s| relay_client(s))?);
    }
    let mut entries: Vec<(String, Option<String>)> = Vec::new();
    for table in routes.unwrap_or_default() {
        let whole = cx.user(table);
        let t = whole.value().clone();
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
        entries.push((domain.value().clone(), destination.map(|d| d.take())));
        let list: Vec<(&str, Option<&str>)> = entries
            .iter()
            .map(|(d, t)| (d.as_str(), t.as_deref()))
            .collect();
        Routes::new(&list, None).map_err(|m| domain.error(&m))?;
    }
    let list: Vec<(&str, Option<&str>)> = entries
        .iter()
        .map(|(d, t)| (d.as_str(), t.as_deref()))
        .collect();
    let routes = Routes::new(&list, smart_host.as_deref()).map_err(|m| smart.error(&m))?;
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
        routes,
        relay_clients,
        custody,
    })
}

/// One `relay_clients` entry: an address, a network, or a host name (`.` first: the names below).
fn relay_client(s: &str) -> Result<RelayClient, String> {
    let s = s.trim();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::gateway::router::Next;

    fn load(text: &str) -> Result<Config, String> {
        Config::parse(text, "sluice.toml").map_err(|e| e.to_string())
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
        assert_eq!(
            g.relay_clients[3],
            RelayClient::Host(".corp.example".into())
        );
        // The defaults: no route, MX delivery, nobody may relay.
        let d = load("").unwrap();
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
