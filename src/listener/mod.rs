//! Accepting connections: the allowed-client gate (554 at connect), the per-client session limit
//! (421 4.7.0), the session limit (421 4.3.2), and one task per session on the shared executor. Stops
//! accepting when shutdown begins.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use futures_lite::{AsyncWriteExt, FutureExt};
use ipnet::IpNet;

use crate::session::{self, Shared};
use crate::smtp::Reply;

/// Counts live sessions; the guard gives its slot back when the session task ends.
#[derive(Debug, Default)]
pub struct Gauge(AtomicUsize);

pub struct Slot(Arc<Gauge>);

impl Gauge {
    /// Takes a slot if fewer than `max` are taken (one atomic step: no check-then-increment race).
    pub fn try_acquire(self: &Arc<Self>, max: usize) -> Option<Slot> {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(self.clone()))
    }

    pub fn current(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Live sessions per client (Postfix's anvil connection count): an IPv4 address, or an IPv6 /64 (one
/// host usually owns a whole /64).
#[derive(Debug, Default)]
pub struct PerClient(Mutex<HashMap<IpAddr, usize>>);

pub struct ClientSlot {
    clients: Arc<PerClient>,
    key: IpAddr,
}

impl PerClient {
    /// Takes a slot for `ip` if it has fewer than `max` (check and count under one lock).
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<ClientSlot> {
        let key = client_key(ip);
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(key).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            clients: self.clone(),
            key,
        })
    }

    /// Sessions now open from `ip`'s client key.
    pub fn current(&self, ip: IpAddr) -> usize {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(&client_key(ip)).copied().unwrap_or(0)
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = self.clients.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

/// What a client is counted as: its IPv4 address (also when v4-mapped), or its IPv6 /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match unmap(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

pub struct Listener {
    pub tcp: smol::net::TcpListener,
    pub allowed: Vec<IpNet>,
    pub max_sessions: usize,
    pub sessions: Arc<Gauge>,
    /// `listener.max_sessions_per_client`.
    pub max_per_client: usize,
    pub clients: Arc<PerClient>,
}

pub fn is_allowed(allowed: &[IpNet], ip: IpAddr) -> bool {
    let ip = unmap(ip);
    allowed.iter().any(|net| net.contains(&ip))
}

impl Listener {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// Accepts until shutdown begins; each session runs on `ex`.
    pub async fn serve(self, shared: Arc<Shared>, ex: Arc<smol::Executor<'static>>) {
        loop {
            let shutdown = shared.shutdown.clone();
            let accepted = async { Some(self.tcp.accept().await) }
                .or(async move {
                    shutdown.draining().await;
                    None
                })
                .await;
            let (tcp, peer) = match accepted {
                None => return,
                Some(Ok(pair)) => pair,
                Some(Err(e)) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    smol::Timer::after(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            if !is_allowed(&self.allowed, peer.ip()) {
                tracing::warn!(%peer, "connection from a client outside listener.allowed_clients refused");
                ex.spawn(refuse(tcp, Reply::not_allowed_client())).detach();
                continue;
            }
            let Some(client_slot) = self.clients.try_acquire(peer.ip(), self.max_per_client) else {
                tracing::warn!(%peer, max = self.max_per_client, "per-client session limit reached; connection refused");
                ex.spawn(refuse(tcp, Reply::too_many_sessions_from_client()))
                    .detach();
                continue;
            };
            let Some(slot) = self.sessions.try_acquire(self.max_sessions) else {
                tracing::warn!(%peer, max = self.max_sessions, "session limit reached; connection refused");
                ex.spawn(refuse(tcp, Reply::too_many_sessions())).detach();
                continue;
            };
            let shared = shared.clone();
            ex.spawn(async move {
                let _slots = (slot, client_slot);
                // A bug must cost one connection, never the process: nothing was acknowledged that
                // the next hop had not accepted, and the client sees the connection drop.
                let run = std::panic::AssertUnwindSafe(session::run(tcp, peer, shared));
                if run.catch_unwind().await.is_err() {
                    tracing::error!(%peer, "session task panicked; connection dropped");
                }
            })
            .detach();
        }
    }
}

async fn refuse(mut tcp: smol::net::TcpStream, reply: Reply) {
    let _ = tcp.write_all(&reply.to_bytes(true)).await;
    let _ = tcp.flush().await;
    let _ = tcp.close().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_matches_cidrs_and_mapped_v4() {
        let nets: Vec<IpNet> = vec![
            "127.0.0.0/8".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        assert!(is_allowed(&nets, "127.0.0.1".parse().unwrap()));
        assert!(is_allowed(&nets, "::ffff:10.1.2.3".parse().unwrap()));
        assert!(!is_allowed(&nets, "192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn per_client_slots_are_counted_per_address_and_ipv6_slash_64() {
        let c = Arc::new(PerClient::default());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let s1 = c.try_acquire(a, 2).unwrap();
        let _s2 = c
            .try_acquire("::ffff:192.0.2.1".parse().unwrap(), 2)
            .unwrap();
        assert!(
            c.try_acquire(a, 2).is_none(),
            "a v4-mapped address is the same client"
        );
        assert!(c.try_acquire("192.0.2.2".parse().unwrap(), 2).is_some());
        drop(s1);
        assert_eq!(c.current(a), 1);
        assert!(c.try_acquire(a, 2).is_some());
        let _v6 = c.try_acquire("2001:db8::1".parse().unwrap(), 1).unwrap();
        assert!(
            c.try_acquire("2001:db8::ffff:2".parse().unwrap(), 1)
                .is_none()
        );
        assert!(
            c.try_acquire("2001:db8:0:1::1".parse().unwrap(), 1)
                .is_some()
        );
        drop(_v6);
        assert!(c.0.lock().unwrap().len() <= 3, "empty entries are removed");
    }

    #[test]
    fn gauge_never_exceeds_max() {
        let g = Arc::new(Gauge::default());
        let a = g.try_acquire(2).unwrap();
        let _b = g.try_acquire(2).unwrap();
        assert!(g.try_acquire(2).is_none());
        drop(a);
        assert!(g.try_acquire(2).is_some());
    }
}
