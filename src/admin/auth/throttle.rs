//! Sign-in throttling, per account name and per client (an IPv4 address or an IPv6 /64), in
//! memory. After `admin.logon_max_failures` failures in a row the account or client is locked
//! out for `admin.logon_lockout`; each further lock-out doubles it, up to [`MAX_LOCKOUT`]. While
//! locked, a sign-in is refused before the password is checked (no hash is spent on it). A success
//! clears the account's and the client's counts. From the [`ALERT_FROM`]th failure in a row of an
//! account or a client the failure is also an alert (`admin.logon.throttled`). Counts with neither
//! a failure nor a lock-out for [`FORGET_AFTER`] are forgotten; at most [`MAX_TRACKED`] names and clients are kept
//! (the least recently failed go first). Pure: time comes in as a value.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;

use crate::config::Auth;

/// The longest lock-out (seconds).
pub const MAX_LOCKOUT: u64 = 86_400;
/// Failures in a row from which each one is an alert (the issue: "an alert event from the third
/// failure").
pub const ALERT_FROM: u32 = 3;
/// A count with no failure for this long (seconds) is forgotten, unless locked.
pub const FORGET_AFTER: u64 = 86_400;
/// Names and clients tracked at most, each.
pub const MAX_TRACKED: usize = 10_000;

/// `[admin] logon_max_failures` and `logon_lockout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub max_failures: u32,
    /// Seconds.
    pub lockout: u64,
}

impl From<&Auth> for Policy {
    fn from(a: &Auth) -> Policy {
        Policy {
            max_failures: a.logon_max_failures,
            lockout: a.logon_lockout.as_secs(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Count {
    /// Failures since the last lock-out (or success).
    failures: u32,
    /// Failures in a row (cleared only by a success).
    run: u32,
    /// Lock-outs so far in this run.
    lockouts: u32,
    /// Locked until (Unix seconds; 0: not locked).
    until: u64,
    /// The last failure.
    last: u64,
}

impl Count {
    /// No failure and no lock-out for [`FORGET_AFTER`].
    fn forgotten(&self, now: u64) -> bool {
        now >= self.last.max(self.until).saturating_add(FORGET_AFTER)
    }
}

/// What a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// Failures in a row of the account or the client, whichever has more.
    pub run: u32,
    /// This failure is an alert (`admin.logon.throttled`).
    pub alert: bool,
    /// The account or the client is now locked out until then.
    pub locked_until: Option<u64>,
}

/// The counts of one process.
pub struct Throttle {
    policy: Policy,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    users: HashMap<String, Count>,
    clients: HashMap<IpAddr, Count>,
}

fn user_key(name: &str) -> String {
    name.to_lowercase()
}

impl Throttle {
    pub fn new(policy: Policy) -> Throttle {
        Throttle {
            policy,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// When the account `user` or the client `ip` is locked out at `now`: until when.
    pub fn locked(&self, user: &str, ip: IpAddr, now: u64) -> Option<u64> {
        let st = self.lock();
        let u = st.users.get(&user_key(user)).map_or(0, |c| c.until);
        let c = st
            .clients
            .get(&crate::clients::client_of(ip))
            .map_or(0, |c| c.until);
        let until = u.max(c);
        (until > now).then_some(until)
    }

    /// Counts a failed sign-in of `user` from `ip`.
    pub fn failed(&self, user: &str, ip: IpAddr, now: u64) -> Failure {
        let p = self.policy;
        let mut st = self.lock();
        let u = bump(&mut st.users, user_key(user), now, p);
        let c = bump(&mut st.clients, crate::clients::client_of(ip), now, p);
        let run = u.run.max(c.run);
        let until = u.until.max(c.until);
        Failure {
            run,
            alert: run >= ALERT_FROM,
            locked_until: (until > now).then_some(until),
        }
    }

    /// A successful sign-in: the account's and the client's counts start again.
    pub fn succeeded(&self, user: &str, ip: IpAddr) {
        let mut st = self.lock();
        st.users.remove(&user_key(user));
        st.clients.remove(&crate::clients::client_of(ip));
    }
}

/// One more failure on `k`'s count; locks it at the policy's count. Returns the count after.
fn bump<K: Hash + Eq + Clone>(map: &mut HashMap<K, Count>, k: K, now: u64, p: Policy) -> Count {
    if !map.contains_key(&k) && map.len() >= MAX_TRACKED {
        map.retain(|_, c| !c.forgotten(now));
        if map.len() >= MAX_TRACKED
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, c)| c.last)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
    }
    let c = map.entry(k).or_default();
    if c.forgotten(now) {
        *c = Count::default();
    }
    c.failures += 1;
    c.run += 1;
    c.last = now;
    if c.failures >= p.max_failures {
        let factor = 1u64 << c.lockouts.min(20);
        c.until = now.saturating_add(p.lockout.saturating_mul(factor).min(MAX_LOCKOUT));
        c.lockouts += 1;
        c.failures = 0;
    }
    *c
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        max_failures: 5,
        lockout: 900,
    };

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_third_failure_alerts_and_the_fifth_locks_out() {
        let t = Throttle::new(POLICY);
        let a = ip("192.0.2.1");
        let runs: Vec<Failure> = (0..5).map(|i| t.failed("alice", a, 100 + i)).collect();
        assert_eq!(
            runs.iter().map(|f| f.alert).collect::<Vec<_>>(),
            [false, false, true, true, true]
        );
        assert!(runs[..4].iter().all(|f| f.locked_until.is_none()));
        assert_eq!(runs[4].locked_until, Some(104 + 900));
        // Locked: the account from anywhere, and the client for any account.
        assert_eq!(t.locked("ALICE", ip("198.51.100.9"), 200), Some(1004));
        assert_eq!(t.locked("bob", a, 200), Some(1004));
        assert_eq!(t.locked("bob", ip("198.51.100.9"), 200), None);
        assert_eq!(t.locked("alice", a, 1004), None);
    }

    #[test]
    fn each_lock_out_doubles_up_to_a_day() {
        let t = Throttle::new(POLICY);
        let mut now = 0;
        let mut lockouts = Vec::new();
        for _ in 0..10 {
            let mut last = None;
            for _ in 0..5 {
                now += 1;
                // A different client each time: only the account's count locks.
                let net = (0x2001_0db8u128 << 96) | (u128::from(now) << 64) | 1;
                let client = IpAddr::V6(std::net::Ipv6Addr::from_bits(net));
                last = t.failed("alice", client, now).locked_until;
            }
            let until = last.unwrap();
            lockouts.push(until - now);
            now = until;
        }
        assert_eq!(&lockouts[..4], [900, 1800, 3600, 7200]);
        assert_eq!(*lockouts.last().unwrap(), MAX_LOCKOUT);
    }

    #[test]
    fn success_clears_and_ipv6_counts_by_64() {
        let t = Throttle::new(POLICY);
        for i in 0..4 {
            t.failed(&format!("user{i}"), ip(&format!("2001:db8::{i}")), 10);
        }
        // Four names, one /64: the fifth failure locks the network out.
        let f = t.failed("user4", ip("2001:db8::ffff"), 11);
        assert_eq!(f.run, 5);
        assert!(t.locked("someone", ip("2001:db8::1234"), 12).is_some());
        assert!(t.locked("someone", ip("2001:db8:0:1::1"), 12).is_none());
        t.succeeded("user4", ip("2001:db8::1"));
        assert!(t.locked("someone", ip("2001:db8::1234"), 12).is_none());
        let again = t.failed("user0", ip("192.0.2.1"), 13);
        assert_eq!(again.run, 2, "user0's own run goes on");
        assert!(!again.alert);
    }

    #[test]
    fn old_failures_are_forgotten() {
        let t = Throttle::new(POLICY);
        let a = ip("192.0.2.1");
        for i in 0..4 {
            t.failed("alice", a, i);
        }
        let f = t.failed("alice", a, 3 + FORGET_AFTER);
        assert_eq!(f.run, 1);
        assert!(f.locked_until.is_none());
    }
}
