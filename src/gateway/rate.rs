//! Per-client rate limits (pure), as Postfix's anvil keeps them: connections and messages (MAIL
//! commands) each client made in the current window. The time is passed in.
//!
//! A client is an IPv4 address or an IPv6 /64 (`clients::client_of`), so one host cannot dodge
//! the limit by hopping addresses in its own /64. Each client's window is fixed: it opens at the
//! client's first attempt and lasts `window`; every attempt counts, refused or not (as anvil
//! counts them), so a client that keeps hammering stays refused until its window ends. Memory is
//! bounded: windows that ended are pruned once per window, and at most [`MAX_CLIENTS`] clients
//! are tracked; past that, a new client is let through uncounted (logged once a window by the
//! caller) rather than evicting a client that is being limited.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Clients tracked at once (each entry is a few dozen bytes).
pub const MAX_CLIENTS: usize = 100_000;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Connection,
    Message,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    connections: u64,
    messages: u64,
}

/// The limits and the counts.
#[derive(Debug)]
pub struct Anvil {
    /// Most connections a client may open per window; 0: no limit.
    max_connections: u64,
    /// Most MAIL commands a client may give per window; 0: no limit.
    max_messages: u64,
    window: Duration,
    clients: HashMap<IpAddr, Window>,
    last_prune: Option<Instant>,
}

/// The answer to one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit: refuse.
    Limited,
    /// The table is full: let through, not counted.
    Untracked,
}

impl Anvil {
    pub fn new(max_connections: u64, max_messages: u64, window: Duration) -> Anvil {
        Anvil {
            max_connections,
            max_messages,
            window,
            clients: HashMap::new(),
            last_prune: None,
        }
    }

    /// Whether any limit is on (else nothing needs counting).
    pub fn is_on(&self) -> bool {
        self.max_connections > 0 || self.max_messages > 0
    }

    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// One attempt of `what` by `ip` at `now`: counted, and judged against its limit.
    pub fn hit(&mut self, ip: IpAddr, what: Count, now: Instant) -> Verdict {
        let max = match what {
            Count::Connection => self.max_connections,
            Count::Message => self.max_messages,
        };
        if max == 0 {
            return Verdict::Allowed;
        }
        self.prune(now);
        let key = crate::clients::client_of(ip);
        if !self.clients.contains_key(&key) && self.clients.len() >= MAX_CLIENTS {
            return Verdict::Untracked;
        }
        let window = self.window;
        let w = self.clients.entry(key).or_insert(Window {
            start: now,
            connections: 0,
            messages: 0,
        });
        if now.saturating_duration_since(w.start) >= window {
            *w = Window {
                start: now,
                connections: 0,
                messages: 0,
            };
        }
        let n = match what {
            Count::Connection => &mut w.connections,
            Count::Message => &mut w.messages,
        };
        *n += 1;
        if *n > max {
            Verdict::Limited
        } else {
            Verdict::Allowed
        }
    }

    /// Drops the windows that ended, at most once per window.
    fn prune(&mut self, now: Instant) {
        match self.last_prune {
            Some(at) if now.saturating_duration_since(at) < self.window => return,
            _ => {}
        }
        self.last_prune = Some(now);
        let window = self.window;
        self.clients
            .retain(|_, w| now.saturating_duration_since(w.start) < window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn over_the_limit_is_refused_until_the_window_ends() {
        let t = Instant::now();
        let mut a = Anvil::new(2, 0, MIN);
        let c = ip("192.0.2.1");
        assert_eq!(a.hit(c, Count::Connection, t), Verdict::Allowed);
        assert_eq!(a.hit(c, Count::Connection, t), Verdict::Allowed);
        assert_eq!(a.hit(c, Count::Connection, t), Verdict::Limited);
        // Refused attempts count too: still limited later in the same window.
        assert_eq!(a.hit(c, Count::Connection, t + MIN / 2), Verdict::Limited);
        // Another client has its own count; messages are not limited (0).
        assert_eq!(
            a.hit(ip("192.0.2.2"), Count::Connection, t),
            Verdict::Allowed
        );
        for _ in 0..10 {
            assert_eq!(a.hit(c, Count::Message, t), Verdict::Allowed);
        }
        // A new window.
        assert_eq!(a.hit(c, Count::Connection, t + MIN), Verdict::Allowed);
    }

    #[test]
    fn messages_count_apart_from_connections() {
        let t = Instant::now();
        let mut a = Anvil::new(0, 3, MIN);
        let c = ip("198.51.100.9");
        for _ in 0..3 {
            assert_eq!(a.hit(c, Count::Message, t), Verdict::Allowed);
        }
        assert_eq!(a.hit(c, Count::Message, t), Verdict::Limited);
        assert_eq!(a.hit(c, Count::Connection, t), Verdict::Allowed);
        assert!(a.is_on());
        assert!(!Anvil::new(0, 0, MIN).is_on());
    }

    #[test]
    fn an_ipv6_64_is_one_client() {
        let t = Instant::now();
        let mut a = Anvil::new(1, 0, MIN);
        assert_eq!(
            a.hit(ip("2001:db8:1:2::1"), Count::Connection, t),
            Verdict::Allowed
        );
        assert_eq!(
            a.hit(ip("2001:db8:1:2:ffff::9"), Count::Connection, t),
            Verdict::Limited
        );
        assert_eq!(
            a.hit(ip("2001:db8:1:3::1"), Count::Connection, t),
            Verdict::Allowed
        );
    }

    #[test]
    fn memory_is_bounded_and_pruned_by_window() {
        let t = Instant::now();
        let mut a = Anvil::new(1, 0, MIN);
        for i in 0..MAX_CLIENTS as u32 {
            let c = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert_eq!(a.hit(c, Count::Connection, t), Verdict::Allowed);
        }
        assert_eq!(a.len(), MAX_CLIENTS);
        let late = ip("203.0.113.1");
        assert_eq!(a.hit(late, Count::Connection, t), Verdict::Untracked);
        // Once the window has passed, the ended windows go and the new client is counted.
        assert_eq!(a.hit(late, Count::Connection, t + MIN), Verdict::Allowed);
        assert_eq!(a.len(), 1);
    }
}
