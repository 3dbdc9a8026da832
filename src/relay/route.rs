//! Connections to gateway destinations (issue 14): a [`Way`] says where a group of recipients
//! goes (a fixed host, or a domain's MX hosts) and how (TLS policy, trust anchors, source
//! address); [`Relay::connect_way`] opens a connection with the same trying order, status cache
//! and pool as the `[relay]` next hops.
//!
//! A fixed destination given as a name is that host: its A/AAAA records, never its MX (Postfix's
//! `[host]`; there is no `host` form that looks up MX). MX delivery orders the MX hosts by
//! preference (rotating equal ones), falls back to the domain's own A/AAAA when it has no MX
//! (RFC 5321 5.1), and refuses a null MX (RFC 7505) or a domain that does not exist as
//! [`Failed::Undeliverable`] (permanent), which the delivery queue bounces.
//!
//! TLS follows the way's policy (`tls::policy`): `verify` with a verifying configuration built
//! from the way's trust anchors (or the system bundle), `may` and `encrypt` with the unverified
//! one (`tls::unverified`); under `may` a refused STARTTLS or failed handshake is retried in
//! clear on a new connection, logged.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use super::{
    Connection, Error, MxError, PoolKey, Profile, Relay, Target, Via, client, server_name,
};

/// Why no connection to a way's destination was made.
#[derive(Debug, thiserror::Error)]
pub enum Failed {
    /// The recipient domain cannot receive mail at all (null MX, no such domain): its
    /// recipients fail now, with this reply text.
    #[error("{0}")]
    Undeliverable(String),
    /// Anything else: temporary.
    #[error(transparent)]
    Relay(#[from] Error),
}
use crate::config::NextHop;
use crate::gateway::router::Destination;
use crate::tls::policy::TlsPolicy;

/// Where a group of recipients goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aim {
    /// A fixed host (a `[[route]]` destination or the smart host).
    Host(Destination),
    /// The MX hosts of this recipient domain, on `port`.
    Mx { domain: String, port: u16 },
}

/// A destination and how to connect to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Way {
    pub aim: Aim,
    pub tls: TlsPolicy,
    /// For `verify`: PEM files of the anchors; empty: the system bundle.
    pub anchors: Vec<PathBuf>,
    pub source: Option<IpAddr>,
}

impl Way {
    /// The destination's key, for its concurrency cap, reordering and logs: `host:port`, or
    /// `mx:domain` for a domain's MX hosts.
    pub fn key(&self) -> String {
        match &self.aim {
            Aim::Host(d) => d.to_string(),
            Aim::Mx { domain, .. } => format!("mx:{domain}"),
        }
    }

    pub(super) fn profile(&self) -> Profile {
        Profile::Route {
            tls: self.tls,
            anchors: self.anchors.clone(),
            source: self.source,
        }
    }
}

impl Relay {
    /// Opens a connection to the way's destination: its addresses in trying order, the first
    /// that accepts a connection under the way's TLS policy.
    pub async fn connect_way(&self, way: &Way) -> Result<Connection, Failed> {
        let groups = match &way.aim {
            Aim::Host(d) => {
                let hop = NextHop {
                    host: d.host.clone(),
                    port: d.port,
                };
                vec![self.resolve_host(&hop).await]
            }
            Aim::Mx { domain, port } => match self.mx_groups(domain, *port).await {
                Ok(groups) => groups,
                Err(MxError::NullMx) => {
                    return Err(Failed::Undeliverable(format!(
                        "556 5.1.10 {domain} accepts no mail (null MX)"
                    )));
                }
                Err(MxError::Dns(e)) if !e.is_temporary() => {
                    return Err(Failed::Undeliverable(format!(
                        "550 5.1.2 {domain}: no such domain ({e})"
                    )));
                }
                Err(MxError::Dns(e)) => vec![Err(format!("{domain}: {e}"))],
            },
        };
        Ok(self.connect_over(groups, Via::Way(way)).await?)
    }

    /// One connection to `target` under the way's policy; `may` retries in clear when TLS failed.
    pub(super) async fn open_way(
        &self,
        target: &Target,
        way: &Way,
    ) -> Result<Connection, client::Error> {
        let name = server_name(&target.name, target.addr.ip());
        let key = PoolKey(target.addr, way.profile());
        let mut opts = self.opts.clone();
        opts.source = way.source;
        opts.tls = self.way_tls(way)?;
        match Connection::open_with_policy(key.clone(), name.clone(), &opts, way.tls).await {
            Err(e) if e.is_tls() && way.tls.falls_back_to_plaintext() => {
                tracing::warn!(next_hop = %target.addr, destination = %way.key(), error = %e, "TLS to the destination failed; sending in clear (tls = \"may\")");
                Connection::open_with_policy(key, name, &opts, TlsPolicy::None).await
            }
            other => other,
        }
    }

    /// The client configuration for the way's policy: verifying (its anchors, read once per
    /// `Relay`) for `verify`, else the unverified one.
    fn way_tls(&self, way: &Way) -> Result<Arc<rustls::ClientConfig>, client::Error> {
        if !way.tls.verifies() {
            return crate::tls::unverified::client_config().map_err(client::Error::TlsHandshake);
        }
        let mut cache = self.anchored.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.get(&way.anchors) {
            return Ok(c.clone());
        }
        let config = crate::tls::client_config(&way.anchors).map_err(|e| {
            client::Error::TlsHandshake(format!("trust anchors cannot be used: {e:#}"))
        })?;
        cache.insert(way.anchors.clone(), config.clone());
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_way_is_keyed_by_its_destination_and_pooled_by_how_it_connects() {
        let host = Way {
            aim: Aim::Host(Destination::parse("mail.corp.example:2525").unwrap()),
            tls: TlsPolicy::Verify,
            anchors: vec![PathBuf::from("/etc/ca.pem")],
            source: None,
        };
        assert_eq!(host.key(), "mail.corp.example:2525");
        let mx = Way {
            aim: Aim::Mx {
                domain: "example.org".into(),
                port: 25,
            },
            ..host.clone()
        };
        assert_eq!(mx.key(), "mx:example.org");
        let may = Way {
            tls: TlsPolicy::May,
            ..host.clone()
        };
        assert_eq!(may.key(), host.key(), "one destination, one cap");
        assert_ne!(may.profile(), host.profile(), "but never one pool");
        assert_ne!(
            host.profile(),
            Profile::Relay { tls: true },
            "nor the [relay]'s"
        );
    }
}
