//! The gateway's checks at SMTP time (issue 14, seed 004 section 6): who the client is (a relay
//! client or not), and whether a sender or a recipient is taken, so that what the gateway would
//! bounce later is refused now. Skeleton: relay control by address only; host names (PTR),
//! address characters, recipient verification and rate limits follow.

use std::net::{IpAddr, SocketAddr};

use crate::config::Config;
use crate::config::gateway::RelayClient;
use crate::gateway::router::Routes;
use crate::smtp::Reply;

/// The SMTP-time checks of one configuration set.
pub struct Gate {
    relay_clients: Vec<RelayClient>,
    routes: Routes,
}

/// What the gate found out about a connected client (once per session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub ip: IpAddr,
    /// A relay client (`[gateway] relay_clients`): its mail is outbound or internal, and it may
    /// relay to any domain.
    pub local: bool,
}

impl Gate {
    pub fn new(config: &Config, _resolver: crate::dns::Resolver) -> Gate {
        Gate {
            relay_clients: config.gateway.relay_clients.clone(),
            routes: config.gateway.routes.clone(),
        }
    }

    /// A new connection: who the client is, or the reply that refuses it.
    pub async fn connect(&self, peer: SocketAddr) -> Result<Client, Reply> {
        let ip = peer.ip();
        let local = self
            .relay_clients
            .iter()
            .any(|c| matches!(c, RelayClient::Net(n) if n.contains(&ip)));
        Ok(Client { ip, local })
    }

    /// MAIL FROM: `None` takes the sender, `Some` refuses it with that reply.
    pub async fn mail(&self, _client: &Client, _sender: &str) -> Option<Reply> {
        None
    }

    /// RCPT TO: `None` takes the recipient, `Some` refuses it with that reply.
    pub async fn rcpt(&self, client: &Client, _sender: &str, rcpt: &str) -> Option<Reply> {
        let domain = rcpt.rsplit_once('@').map_or("", |(_, d)| d);
        if client.local || self.routes.is_local(domain) {
            return None;
        }
        Some(Reply::new(550, Some([5, 7, 1]), "Relaying denied"))
    }
}
