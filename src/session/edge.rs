//! Events about SMTP clients rather than messages: a connection refused by the listener's limits
//! (`smtp.connection.refused`), a client disconnected for protocol errors
//! (`smtp.protocol_violation`), a failed STARTTLS handshake (`smtp.tls.failed`), a client over a
//! gateway listener's rate limit (`smtp.rate_limited`, reported by the gate through [`rate_limited`]).
//!
//! A flood must not fill the outbox: at most one event per client (an IPv4 address or an IPv6 /64,
//! as the per-client limit counts them) and kind a minute, carrying in `sluice.count` how many
//! happened since the last one written (this one included). At most [`MAX_CLIENTS`] clients are
//! remembered; past that, a new client's events are only logged until old entries age out.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock, Mutex};

use crate::events::{Field, Fields, Kind};

use super::Shared;

/// Seconds between two events of one kind about one client.
pub const WINDOW: u64 = 60;

/// Clients remembered at once.
pub const MAX_CLIENTS: usize = 1_000;

/// What happened at the connection level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Edge {
    Refused,
    ProtocolViolation,
    TlsFailed,
    RateLimited,
}

impl Edge {
    pub fn kind(self) -> Kind {
        match self {
            Edge::Refused => Kind::SmtpConnectionRefused,
            Edge::ProtocolViolation => Kind::SmtpProtocolViolation,
            Edge::TlsFailed => Kind::SmtpTlsFailed,
            Edge::RateLimited => Kind::SmtpRateLimited,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Seen {
    /// When the last event was written (Unix seconds).
    last: u64,
    /// Occurrences since then that wrote no event.
    held_back: u64,
}

/// The per-client rate limit of these events. Pure: the time is passed in.
#[derive(Debug, Default)]
pub struct Throttle {
    seen: HashMap<(IpAddr, Edge), Seen>,
}

impl Throttle {
    /// `what` happened with `client` at `now`: `Some(count)` when an event is due (count: this
    /// occurrence and those held back since the last event), `None` when it is held back.
    pub fn hit(&mut self, client: IpAddr, what: Edge, now: u64) -> Option<u64> {
        let key = (crate::clients::client_of(client), what);
        if let Some(s) = self.seen.get_mut(&key) {
            if now.saturating_sub(s.last) < WINDOW {
                s.held_back += 1;
                return None;
            }
            let count = s.held_back + 1;
            *s = Seen {
                last: now,
                held_back: 0,
            };
            return Some(count);
        }
        if self.seen.len() >= MAX_CLIENTS {
            self.seen.retain(|_, s| now.saturating_sub(s.last) < WINDOW);
            if self.seen.len() >= MAX_CLIENTS {
                return None;
            }
        }
        self.seen.insert(
            key,
            Seen {
                last: now,
                held_back: 0,
            },
        );
        Some(1)
    }
}

/// The process's throttle (connection events from every listener and session).
static THROTTLE: LazyLock<Mutex<Throttle>> = LazyLock::new(Mutex::default);

/// Writes the event for `what` from `peer` in the background, unless the throttle holds it back.
pub fn report(shared: &Shared, what: Edge, peer: SocketAddr, reason: &str) {
    report_with(&shared.keeper, &shared.tasks, what, peer, reason);
}

/// [`report`] with the keeper and task group given.
pub fn report_with(
    keeper: &crate::hold::Keeper,
    tasks: &crate::task::Group,
    what: Edge,
    peer: SocketAddr,
    reason: &str,
) {
    let now = keeper.clock().now();
    let due = THROTTLE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .hit(peer.ip(), what, now);
    let Some(count) = due else {
        return;
    };
    let fields = Fields::new()
        .with(Field::SourceIp, peer.ip())
        .with(Field::SourcePort, peer.port())
        .with(Field::EventReason, reason)
        .with(Field::Count, count);
    if let Some(work) = keeper.event(what.kind(), fields) {
        tasks.spawn(work);
    }
}

/// The gateway gate's reporter: an `smtp.rate_limited` event per rate-limited client, throttled
/// like the others (the reason is `connection_rate` or `message_rate`).
pub fn rate_limited(
    keeper: Arc<crate::hold::Keeper>,
    tasks: crate::task::Group,
) -> crate::gateway::gate::Reporter {
    Arc::new(move |peer, reason| report_with(&keeper, &tasks, Edge::RateLimited, peer, reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_per_client_and_kind_a_minute_with_the_count() {
        let mut t = Throttle::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(t.hit(a, Edge::Refused, 100), Some(1));
        for s in 101..150 {
            assert_eq!(t.hit(a, Edge::Refused, s), None);
        }
        assert_eq!(t.hit(a, Edge::TlsFailed, 120), Some(1));
        assert_eq!(t.hit(b, Edge::Refused, 120), Some(1));
        // A minute after the last event: the 49 held back and this one.
        assert_eq!(t.hit(a, Edge::Refused, 160), Some(50));
        assert_eq!(t.hit(a, Edge::Refused, 161), None);
    }

    #[test]
    fn an_ipv6_64_is_one_client_and_the_map_is_bounded() {
        let mut t = Throttle::default();
        let x: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let y: IpAddr = "2001:db8:1:2::ffff".parse().unwrap();
        assert_eq!(t.hit(x, Edge::Refused, 0), Some(1));
        assert_eq!(t.hit(y, Edge::Refused, 1), None);
        let mut t = Throttle::default();
        for i in 0..MAX_CLIENTS as u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert_eq!(t.hit(ip, Edge::Refused, 0), Some(1));
        }
        let late: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(t.hit(late, Edge::Refused, 30), None);
        // Once the old entries are a minute old, room is made.
        assert_eq!(t.hit(late, Edge::Refused, 61), Some(1));
        assert!(t.seen.len() <= MAX_CLIENTS);
    }
}
