//! Accepting connections on one listener: the allowed-client gate (554 at connect), on a gateway
//! listener the `rejecting` switch (421 4.3.2 at connect), the per-client session limit (421 4.7.0),
//! the listener's session limit (421 4.3.2), and one task per session on the shared executor. Stops
//! accepting when shutdown begins or the listener is retired.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_lite::{AsyncWriteExt, FutureExt};
use ipnet::IpNet;

use crate::clients::Clients;

use crate::session::edge::{self, Edge};
use crate::session::{self, Current};
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

fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// One bound address. The gate's settings (allowed clients, session limits) come from the current
/// set at each accept, so a reload changes them for new connections; a reload that moves the
/// address binds a new `Listener` and retires this one (`stop`): open sessions go on.
pub struct Listener {
    pub tcp: smol::net::TcpListener,
    /// This listener's sessions (`max_sessions` applies to them).
    pub sessions: Arc<Gauge>,
    /// Every listener's sessions together (what shutdown waits for).
    pub total: Arc<Gauge>,
    /// The queue switches (`rejecting` closes gateway listeners at connect).
    pub switches: Arc<crate::store::switches::Watch>,
    /// `listener.max_sessions_per_client` (its maximum set again by a reload).
    pub clients: Arc<Clients>,
    /// Closed (or sent to) when a reload retires this address.
    pub stop: smol::channel::Receiver<()>,
}

pub fn is_allowed(allowed: &[IpNet], ip: IpAddr) -> bool {
    let ip = unmap(ip);
    allowed.iter().any(|net| net.contains(&ip))
}

impl Listener {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// Accepts until shutdown begins or the listener is retired; each session runs on `ex` with
    /// the set current when it connected, each refusal in the app's task group.
    pub async fn serve(self, current: Arc<dyn Current>, ex: Arc<smol::Executor<'static>>) {
        loop {
            let shutdown = current.shared().shutdown.clone();
            let stop = self.stop.clone();
            let accepted = async { Some(self.tcp.accept().await) }
                .or(async move {
                    shutdown.draining().await;
                    None
                })
                .or(async move {
                    let _ = stop.recv().await;
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
            let shared = current.shared();
            if !is_allowed(&shared.allowed_clients, peer.ip()) {
                tracing::warn!(%peer, "connection from a client outside listener.allowed_clients refused");
                refused(&shared, peer, "client not in listener.allowed_clients");
                shared.tasks.spawn(refuse(tcp, Reply::not_allowed_client()));
                continue;
            }
            if shared.mode == crate::config::gateway::ListenerMode::Gateway
                && self.switches.get().rejecting
            {
                tracing::info!(%peer, listener = %shared.listener, "incoming mail is refused (sluice queue reject); connection refused");
                refused(
                    &shared,
                    peer,
                    "rejecting incoming mail (sluice queue reject)",
                );
                let reply = Reply::not_accepting(&shared.settings.hostname);
                shared.tasks.spawn(refuse(tcp, reply));
                continue;
            }
            let Some(client_slot) = self.clients.try_acquire(peer.ip()) else {
                tracing::warn!(%peer, max = self.clients.max(), "per-client session limit reached; connection refused");
                refused(&shared, peer, "listener.max_sessions_per_client reached");
                shared
                    .tasks
                    .spawn(refuse(tcp, Reply::too_many_sessions_from_client()));
                continue;
            };
            let Some(slot) = self.sessions.try_acquire(shared.max_sessions) else {
                tracing::warn!(%peer, max = shared.max_sessions, "session limit reached; connection refused");
                refused(&shared, peer, "listener.max_sessions reached");
                shared.tasks.spawn(refuse(tcp, Reply::too_many_sessions()));
                continue;
            };
            // Never full: the process-wide count only tells shutdown how many are left.
            let total = self.total.try_acquire(usize::MAX);
            crate::metrics::global().smtp_connection(false);
            let current = current.clone();
            ex.spawn(async move {
                let _slots = (slot, client_slot, total);
                // A bug must cost one connection, never the process: nothing was acknowledged that
                // the next hop had not accepted, and the client sees the connection drop.
                let run = std::panic::AssertUnwindSafe(session::run(tcp, peer, shared, current));
                if run.catch_unwind().await.is_err() {
                    tracing::error!(%peer, "session task panicked; connection dropped");
                }
            })
            .detach();
        }
    }
}

/// Counts a refused connection and reports it (`smtp.connection.refused`, rate-limited per client).
fn refused(shared: &session::Shared, peer: SocketAddr, reason: &str) {
    crate::metrics::global().smtp_connection(true);
    edge::report(shared, Edge::Refused, peer, reason);
}

async fn refuse(mut tcp: smol::net::TcpStream, reply: Reply) {
    let _ = tcp.write_all(&reply.at_connect()).await;
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
    fn gauge_never_exceeds_max() {
        let g = Arc::new(Gauge::default());
        let a = g.try_acquire(2).unwrap();
        let _b = g.try_acquire(2).unwrap();
        assert!(g.try_acquire(2).is_none());
        drop(a);
        assert!(g.try_acquire(2).is_some());
    }
}
