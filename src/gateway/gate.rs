//! The gateway's checks at SMTP time (issue 14, seed 004 section 6): who the client is (a relay
//! client or not, by address or forward-confirmed PTR name: `clients`), the per-client rate
//! limits (`rate`), blocked address characters and anti-relay (`control`), and recipient
//! verification for local domains (`verify` lists, `callout` probes), so that what the gateway
//! would bounce later is refused now. Each refusal is logged once, counted in
//! `sluice_gateway_rejected_total{listener,reason}`, and a rate limit also reported as an
//! `smtp.rate_limited` event through the [`Reporter`] the session set gives.
//!
//! The state (rate counts, callout cache, resolver) is one [`State`] per configuration, shared by
//! every gateway listener ([`Gate`] is a listener's view of it), so a client's rate and a cached
//! callout answer count across listeners. A reload keeps it when nothing it depends on changed
//! ([`Shelf`]), so rate windows and the cache survive unrelated reloads; a reload that changes
//! its settings starts it afresh, as Postfix's anvil does on `postfix reload`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use crate::config::Config;
use crate::gateway::callout::{self, Connect, Outcome, Prober};
use crate::gateway::clients::{self, Matcher};
use crate::gateway::control::{self, Reason};
use crate::gateway::rate::{Anvil, Count, Verdict};
use crate::gateway::router::Routes;
use crate::gateway::verify::Verify;
use crate::smtp::Reply;

/// Writes an event about a client the gate refused for its rate (`peer`, the reason's name).
pub type Reporter = Arc<dyn Fn(SocketAddr, &str) + Send + Sync>;

/// The SMTP-time checks as one listener runs them: the shared [`State`] and the listener's name.
pub struct Gate {
    /// `listener.name`, for logs and metrics.
    listener: String,
    state: Arc<State>,
}

/// The SMTP-time checks of one configuration, shared by its gateway listeners.
pub struct State {
    clients: Matcher,
    routes: Routes,
    resolver: crate::dns::Resolver,
    blocked_chars: String,
    /// `None` when no rate limit is on.
    anvil: Option<Mutex<Anvil>>,
    /// Each route's verification, by the route's domain as `Routes` holds it.
    verify: HashMap<String, Verify>,
    /// `None` when no route verifies by callout (or no TLS client configuration could be built).
    prober: Option<Prober>,
    /// `[gateway]`'s delivery defaults: a callout connects as delivery does (`callout::Connect`).
    delivery: crate::config::gateway::Defaults,
    report: OnceLock<Reporter>,
}

/// What the gate found out about a connected client (once per session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub ip: IpAddr,
    /// A relay client (`[gateway] relay_clients`): its mail is outbound or internal, and it may
    /// relay to any domain.
    pub local: bool,
    pub port: u16,
    /// Its forward-confirmed host names (looked up only when `relay_clients` names hosts and its
    /// address is not listed).
    pub names: Vec<String>,
}

impl Client {
    pub fn peer(&self) -> SocketAddr {
        SocketAddr::new(self.ip, self.port)
    }
}

impl Gate {
    /// A gate with a state of its own, for the first listener (tests; `app` shares one through a
    /// [`Shelf`]).
    pub fn new(config: &Config, resolver: crate::dns::Resolver) -> Gate {
        Gate::shared(
            &config.listener.name,
            Arc::new(State::new(config, resolver)),
        )
    }

    /// The gate of listener `listener` over the configuration's shared `state`.
    pub fn shared(listener: &str, state: Arc<State>) -> Gate {
        Gate {
            listener: listener.to_string(),
            state,
        }
    }

    /// Where rate-limit events go (once per state; later calls are ignored).
    pub fn set_reporter(&self, reporter: Reporter) {
        let _ = self.state.report.set(reporter);
    }
}

impl State {
    pub fn new(config: &Config, resolver: crate::dns::Resolver) -> State {
        let g = &config.gateway;
        let c = &g.checks;
        let anvil = (c.max_connection_rate > 0 || c.max_message_rate > 0).then(|| {
            Mutex::new(Anvil::new(
                c.max_connection_rate,
                c.max_message_rate,
                c.rate_window,
            ))
        });
        let verify: HashMap<String, Verify> = c.verify.iter().cloned().collect();
        let prober = verify
            .values()
            .any(|v| *v == Verify::Callout)
            .then(|| prober(config, resolver.clone()))
            .flatten();
        State {
            clients: Matcher::new(&g.relay_clients),
            routes: g.routes.clone(),
            resolver,
            blocked_chars: c.blocked_address_chars.clone(),
            anvil,
            verify,
            prober,
            delivery: g.delivery.clone(),
            report: OnceLock::new(),
        }
    }
}

/// The [`State`] of the configuration in force, kept from one session-set build to the next while
/// what it depends on stays the same (`[gateway]` and `[[route]]`, the `[relay]` keys a callout
/// uses, the resolver's settings); built anew when that changed.
#[derive(Default)]
pub struct Shelf(Mutex<Option<(u64, Arc<State>)>>);

impl Shelf {
    /// The state for `config`: the one kept when its settings are the same, else a new one over
    /// the resolver `resolver` builds (kept from now on).
    pub fn state(
        &self,
        config: &Config,
        dns: &crate::dns::ResolverConfig,
        resolver: impl FnOnce() -> crate::dns::Resolver,
    ) -> Arc<State> {
        let key = fingerprint(config, dns);
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((k, state)) = kept.as_ref()
            && *k == key
        {
            return state.clone();
        }
        let state = Arc::new(State::new(config, resolver()));
        *kept = Some((key, state.clone()));
        state
    }
}

/// A hash of everything a [`State`] is built from (its settings' debug form, hashed as written:
/// a long recipient list is never copied).
fn fingerprint(config: &Config, dns: &crate::dns::ResolverConfig) -> u64 {
    use std::hash::Hasher;
    struct Hashing(std::collections::hash_map::DefaultHasher);
    impl std::fmt::Write for Hashing {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.write(s.as_bytes());
            Ok(())
        }
    }
    let g = &config.gateway;
    let r = &config.relay;
    let mut h = Hashing(Default::default());
    let parts = (
        (&g.relay_clients, &g.routes, &g.checks, &g.delivery),
        (
            &r.trust_anchors,
            &r.helo_name,
            r.max_reply_line,
            r.max_reply_lines,
        ),
        dns,
    );
    let _ = std::fmt::Write::write_fmt(&mut h, format_args!("{parts:?}"));
    h.0.finish()
}

impl Gate {
    /// A new connection: who the client is, or the reply that refuses it.
    pub async fn connect(&self, peer: SocketAddr) -> Result<Client, Reply> {
        let ip = peer.ip();
        let mut client = Client {
            ip,
            local: self.state.clients.by_address(ip),
            port: peer.port(),
            names: Vec::new(),
        };
        if !client.local && self.state.clients.has_names() {
            client.names = clients::host_names(&self.state.resolver, ip).await;
            client.local = client.names.iter().any(|n| self.state.clients.by_name(n));
        }
        if !client.local && self.over_rate(ip, Count::Connection) {
            return Err(self.refuse(&client, Reason::ConnectionRate, ""));
        }
        Ok(client)
    }

    /// MAIL FROM: `None` takes the sender, `Some` refuses it with that reply.
    pub async fn mail(&self, client: &Client, sender: &str) -> Option<Reply> {
        if !client.local && self.over_rate(client.ip, Count::Message) {
            return Some(self.refuse(client, Reason::MessageRate, sender));
        }
        if control::blocked_char(sender, &self.state.blocked_chars).is_some() {
            return Some(self.refuse(client, Reason::SenderChar, sender));
        }
        None
    }

    /// RCPT TO: `None` takes the recipient, `Some` refuses it with that reply.
    pub async fn rcpt(&self, client: &Client, _sender: &str, rcpt: &str) -> Option<Reply> {
        if control::blocked_char(rcpt, &self.state.blocked_chars).is_some() {
            return Some(self.refuse(client, Reason::RecipientChar, rcpt));
        }
        let route = self.state.routes.lookup(control::domain_of(rcpt));
        if !control::relay_allowed(client.local, route.is_some()) {
            return Some(self.refuse(client, Reason::RelayDenied, rcpt));
        }
        let route = route?;
        let known = match self.state.verify.get(&route.domain) {
            None | Some(Verify::Off) => return None,
            Some(Verify::List(list)) => match list.knows(rcpt) {
                true => Outcome::Exists,
                false => Outcome::Unknown,
            },
            Some(Verify::Callout) => match &self.state.prober {
                Some(p) => {
                    let connect = Connect::of(&route.options, &self.state.delivery);
                    p.verify(&route.destination, &connect, rcpt).await
                }
                None => Outcome::Deferred,
            },
        };
        match known {
            Outcome::Exists => None,
            Outcome::Unknown => Some(self.refuse(client, Reason::UnknownUser, rcpt)),
            Outcome::Deferred => Some(self.refuse(client, Reason::VerifyDeferred, rcpt)),
        }
    }

    /// Counts one attempt; whether it is over its limit.
    fn over_rate(&self, ip: IpAddr, what: Count) -> bool {
        let Some(anvil) = &self.state.anvil else {
            return false;
        };
        let verdict =
            anvil
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .hit(ip, what, Instant::now());
        if verdict == Verdict::Untracked {
            tracing::debug!(%ip, "rate limit table full: client not counted");
        }
        verdict == Verdict::Limited
    }

    /// The reply for `reason`, logged (the address only at debug level), counted, and for a
    /// rate limit reported.
    fn refuse(&self, client: &Client, reason: Reason, address: &str) -> Reply {
        let reply = reason.reply(address, client.ip);
        let peer = client.peer();
        crate::metrics::global().gateway_rejected(&self.listener, reason.name());
        if tracing::enabled!(tracing::Level::DEBUG) && !address.is_empty() {
            tracing::debug!(listener = %self.listener, %peer, reason = reason.name(), address, code = reply.code, "gateway refused");
        } else {
            tracing::info!(listener = %self.listener, %peer, reason = reason.name(), code = reply.code, "gateway refused");
        }
        if matches!(reason, Reason::ConnectionRate | Reason::MessageRate)
            && let Some(report) = self.state.report.get()
        {
            report(peer, reason.name());
        }
        reply
    }
}

/// The callout prober for `config`, or `None` (logged) when no TLS client configuration can be
/// built (callouts then answer 450). Each probe takes its destination's TLS configuration.
fn prober(config: &Config, resolver: crate::dns::Resolver) -> Option<Prober> {
    let c = &config.gateway.checks;
    let tls = match crate::tls::unverified::client_config() {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "recipient callouts off: no TLS client configuration");
            return None;
        }
    };
    let options = crate::relay::client::Options {
        helo_name: config.relay.helo_name.clone(),
        source: None,
        connect_timeout: c.callout_timeout,
        command_timeout: c.callout_timeout,
        data_timeout: c.callout_timeout,
        tls,
        max_reply_line: config.relay.max_reply_line,
        max_reply_lines: config.relay.max_reply_lines,
    };
    let settings = callout::Settings {
        timeout: c.callout_timeout,
        sender: c.callout_sender.clone(),
        options,
    };
    let cache = callout::Cache::new(c.callout_cache, c.callout_ttl, c.callout_negative_ttl);
    Some(Prober::new(settings, resolver, cache))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A resolver with no servers: every lookup fails, as DNS down would.
    fn no_dns() -> crate::dns::Resolver {
        crate::dns::Resolver::new(crate::dns::ResolverConfig {
            servers: Vec::new(),
            timeout: Duration::from_secs(1),
            attempts: 1,
            cache_entries: 0,
        })
    }

    fn gate(text: &str) -> Gate {
        let config = Config::parse(text, "sluice.toml").unwrap();
        Gate::new(&config, no_dns())
    }

    fn peer(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 40000)
    }

    const ROUTES: &str = "[gateway]\nrelay_clients = [\"10.0.0.0/8\", \"mail.corp.example\"]\n\n[[route]]\ndomain = \"corp.example\"\nverify = \"list\"\nrecipients = [\"alice@corp.example\", \"@team.corp.example\"]\n\n[[route]]\ndomain = \".corp.example\"\n";

    #[test]
    fn relay_needs_a_relay_client_or_a_local_domain_and_dns_failure_is_not_local() {
        smol::block_on(async {
            let g = gate(ROUTES);
            // 192.0.2.1: not listed, and its PTR lookup fails (no DNS): not a relay client.
            let outside = g.connect(peer("192.0.2.1")).await.unwrap();
            assert!(!outside.local && outside.names.is_empty());
            let r = g.rcpt(&outside, "x@y.example", "bob@gmail.example").await;
            assert_eq!(
                r.map(|r| (r.code, r.enhanced)),
                Some((550, Some([5, 7, 1])))
            );
            assert_eq!(g.rcpt(&outside, "", "alice@corp.example").await, None);
            assert_eq!(g.rcpt(&outside, "", "any@x.corp.example").await, None);
            let inside = g.connect(peer("10.1.2.3")).await.unwrap();
            assert!(inside.local);
            assert_eq!(g.rcpt(&inside, "", "bob@gmail.example").await, None);
        });
    }

    #[test]
    fn blocked_characters_in_sender_and_recipients() {
        smol::block_on(async {
            let g = gate(ROUTES);
            let c = g.connect(peer("10.0.0.1")).await.unwrap();
            let r = g.mail(&c, "a!b@corp.example").await.unwrap();
            assert_eq!((r.code, r.enhanced), (553, Some([5, 1, 7])));
            assert_eq!(g.mail(&c, "").await, None);
            assert_eq!(g.mail(&c, "ab@corp.example").await, None);
            let r = g
                .rcpt(&c, "", "user%gmail.example@corp.example")
                .await
                .unwrap();
            assert_eq!((r.code, r.enhanced), (553, Some([5, 1, 3])));
            // "" turns the check off.
            let g =
                gate("[gateway]\nblocked_address_chars = \"\"\nrelay_clients = [\"10.0.0.0/8\"]\n");
            let c = g.connect(peer("10.0.0.1")).await.unwrap();
            assert_eq!(g.rcpt(&c, "", "user%x@gmail.example").await, None);
        });
    }

    #[test]
    fn listed_recipients_only_for_a_route_that_verifies_by_list() {
        smol::block_on(async {
            let g = gate(ROUTES);
            let c = g.connect(peer("192.0.2.1")).await.unwrap();
            assert_eq!(g.rcpt(&c, "", "Alice@Corp.Example").await, None);
            assert_eq!(g.rcpt(&c, "", "anyone@team.corp.example").await, None);
            let r = g.rcpt(&c, "", "eve@corp.example").await.unwrap();
            assert_eq!((r.code, r.enhanced), (550, Some([5, 1, 1])));
            assert!(
                r.lines[0].contains("<eve@corp.example>: Recipient address rejected: User unknown")
            );
            // Relay clients are verified too.
            let inside = g.connect(peer("10.0.0.1")).await.unwrap();
            assert!(g.rcpt(&inside, "", "eve@corp.example").await.is_some());
        });
    }

    #[test]
    fn rate_limits_refuse_over_the_limit_and_exempt_relay_clients() {
        smol::block_on(async {
            let g = gate(
                "[gateway]\nmax_connection_rate = 2\nmax_message_rate = 1\nrate_window = \"1h\"\nrelay_clients = [\"10.0.0.0/8\"]\n",
            );
            let a = g.connect(peer("192.0.2.1")).await.unwrap();
            g.connect(peer("192.0.2.1")).await.unwrap();
            let r = g.connect(peer("192.0.2.1")).await.unwrap_err();
            assert_eq!((r.code, r.enhanced), (421, Some([4, 7, 0])));
            assert_eq!(r.lines[0], "Error: too many connections from 192.0.2.1");
            assert_eq!(g.mail(&a, "s@x.example").await, None);
            let r = g.mail(&a, "s@x.example").await.unwrap();
            assert_eq!((r.code, r.enhanced), (450, Some([4, 7, 1])));
            for _ in 0..5 {
                let inside = g.connect(peer("10.0.0.9")).await.unwrap();
                assert_eq!(g.mail(&inside, "s@corp.example").await, None);
            }
            // The reporter hears of each refusal (the event throttle is the edge's).
            let heard = Arc::new(Mutex::new(Vec::new()));
            let h = heard.clone();
            g.set_reporter(Arc::new(move |p, why| {
                h.lock().unwrap().push((p, why.to_string()))
            }));
            assert!(g.connect(peer("192.0.2.1")).await.is_err());
            assert_eq!(
                *heard.lock().unwrap(),
                [(peer("192.0.2.1"), "connection_rate".to_string())]
            );
        });
    }

    #[test]
    fn one_state_per_configuration_kept_while_its_settings_stay() {
        let shelf = Shelf::default();
        let dns = crate::dns::ResolverConfig {
            servers: Vec::new(),
            timeout: Duration::from_secs(1),
            attempts: 1,
            cache_entries: 0,
        };
        let parse = |text: &str| Config::parse(text, "sluice.toml").unwrap();
        let rates = "[gateway]\nmax_connection_rate = 1\nrate_window = \"1h\"\n";
        let a = shelf.state(&parse(rates), &dns, no_dns);
        // Two listeners' gates over it count one client together.
        let (one, two) = (
            Gate::shared("one", a.clone()),
            Gate::shared("two", a.clone()),
        );
        smol::block_on(async {
            one.connect(peer("192.0.2.1")).await.unwrap();
            assert!(two.connect(peer("192.0.2.1")).await.is_err());
        });
        // An unrelated change keeps it; a change to the gateway's settings does not.
        let other = format!("{rates}\n[listener]\ndata_timeout = \"31s\"\n");
        assert!(Arc::ptr_eq(&a, &shelf.state(&parse(&other), &dns, no_dns)));
        let faster = "[gateway]\nmax_connection_rate = 2\nrate_window = \"1h\"\n";
        let b = shelf.state(&parse(faster), &dns, no_dns);
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&b, &shelf.state(&parse(faster), &dns, no_dns)));
    }

    #[test]
    fn a_callout_route_without_an_answer_defers() {
        smol::block_on(async {
            // No DNS: the MX of the domain cannot be found, so the probe cannot tell: 450.
            let g = gate(
                "[gateway]\ncallout_timeout = \"2s\"\n\n[[route]]\ndomain = \"corp.example\"\nverify = \"callout\"\n",
            );
            let c = g.connect(peer("192.0.2.1")).await.unwrap();
            let r = g.rcpt(&c, "", "bob@corp.example").await.unwrap();
            assert_eq!((r.code, r.enhanced), (450, Some([4, 1, 1])));
        });
    }
}
