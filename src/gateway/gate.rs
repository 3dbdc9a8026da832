//! The gateway's checks at SMTP time (issue 14, seed 004 section 6): who the client is (a relay
//! client or not, by address or forward-confirmed PTR name: `clients`), the per-client rate
//! limits (`rate`), blocked address characters and anti-relay (`control`), and recipient
//! verification for local domains (`verify` lists, `callout` probes), so that what the gateway
//! would bounce later is refused now. Each refusal is logged once, counted in
//! `sluice_gateway_rejected_total{listener,reason}`, and a rate limit also reported as an
//! `smtp.rate_limited` event through the [`Reporter`] the session set gives.
//!
//! The state (rate counts, callout cache) lives with the gate, so a reload starts it afresh, as
//! Postfix's anvil does on `postfix reload`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use crate::config::Config;
use crate::gateway::callout::{self, Outcome, Prober};
use crate::gateway::clients::{self, Matcher};
use crate::gateway::control::{self, Reason};
use crate::gateway::rate::{Anvil, Count, Verdict};
use crate::gateway::router::Routes;
use crate::gateway::verify::Verify;
use crate::smtp::Reply;

/// Writes an event about a client the gate refused for its rate (`peer`, the reason's name).
pub type Reporter = Arc<dyn Fn(SocketAddr, &str) + Send + Sync>;

/// The SMTP-time checks of one configuration set.
pub struct Gate {
    /// `listener.name`, for logs and metrics.
    listener: String,
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
    pub fn new(config: &Config, resolver: crate::dns::Resolver) -> Gate {
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
        Gate {
            listener: config.listener.name.clone(),
            clients: Matcher::new(&g.relay_clients),
            routes: g.routes.clone(),
            resolver,
            blocked_chars: c.blocked_address_chars.clone(),
            anvil,
            verify,
            prober,
            report: OnceLock::new(),
        }
    }

    /// Where rate-limit events go (once; later calls are ignored).
    pub fn set_reporter(&self, reporter: Reporter) {
        let _ = self.report.set(reporter);
    }

    /// A new connection: who the client is, or the reply that refuses it.
    pub async fn connect(&self, peer: SocketAddr) -> Result<Client, Reply> {
        let ip = peer.ip();
        let mut client = Client {
            ip,
            local: self.clients.by_address(ip),
            port: peer.port(),
            names: Vec::new(),
        };
        if !client.local && self.clients.has_names() {
            client.names = clients::host_names(&self.resolver, ip).await;
            client.local = client.names.iter().any(|n| self.clients.by_name(n));
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
        if control::blocked_char(sender, &self.blocked_chars).is_some() {
            return Some(self.refuse(client, Reason::SenderChar, sender));
        }
        None
    }

    /// RCPT TO: `None` takes the recipient, `Some` refuses it with that reply.
    pub async fn rcpt(&self, client: &Client, _sender: &str, rcpt: &str) -> Option<Reply> {
        if control::blocked_char(rcpt, &self.blocked_chars).is_some() {
            return Some(self.refuse(client, Reason::RecipientChar, rcpt));
        }
        let route = self.routes.lookup(control::domain_of(rcpt));
        if !control::relay_allowed(client.local, route.is_some()) {
            return Some(self.refuse(client, Reason::RelayDenied, rcpt));
        }
        let route = route?;
        let known = match self.verify.get(&route.domain) {
            None | Some(Verify::Off) => return None,
            Some(Verify::List(list)) => match list.knows(rcpt) {
                true => Outcome::Exists,
                false => Outcome::Unknown,
            },
            Some(Verify::Callout) => match &self.prober {
                Some(p) => p.verify(&route.destination, rcpt).await,
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
        let Some(anvil) = &self.anvil else {
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
            && let Some(report) = self.report.get()
        {
            report(peer, reason.name());
        }
        reply
    }
}

/// The callout prober for `config`, or `None` (logged) when no TLS client configuration can be
/// built (callouts then answer 450).
fn prober(config: &Config, resolver: crate::dns::Resolver) -> Option<Prober> {
    let c = &config.gateway.checks;
    let tls = match crate::tls::client_config(&config.relay.trust_anchors) {
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
