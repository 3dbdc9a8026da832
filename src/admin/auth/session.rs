//! Signed-in sessions, in memory (a restart signs everyone out): a session id of 32 random bytes
//! in the `__Host-sluice` cookie, the account and role it is for, its CSRF token, the account's
//! password stamp, and its clock.
//! A session ends after `admin.session_idle` without a request, `admin.session_max` after sign-in
//! in any case, at sign-out, and when its account's password or role changes or the account is
//! removed ([`Sessions::end_user`]). At most `admin.session_limit` are kept: a new one beyond that
//! ends the least recently used. Pure: time comes in as a value.
//!
//! The map is keyed by the BLAKE3 digest of the id, so a lookup's timing tells nothing about the
//! ids that exist.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::config::Auth;
use crate::service::Role;

/// The cookie's name: `__Host-` makes browsers insist on Secure, Path=/ and no Domain.
pub const COOKIE: &str = "__Host-sluice";
/// Bytes of randomness in a session id and in a CSRF token.
pub const SECRET_BYTES: usize = 32;

/// One signed-in session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub role: Role,
    /// The token every form of this session carries (`csrf::check`).
    pub csrf: String,
    /// The account's password stamp at sign-in (`service::UserView::stamp`).
    pub stamp: String,
    /// Sign-in (Unix seconds).
    pub created: u64,
    /// The last request (Unix seconds).
    pub seen: u64,
}

/// Timeouts and the bound, from `[admin]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub idle: u64,
    pub max: u64,
    pub count: usize,
}

impl From<&Auth> for Limits {
    fn from(a: &Auth) -> Limits {
        Limits {
            idle: a.session_idle.as_secs(),
            max: a.session_max.as_secs(),
            count: a.session_limit,
        }
    }
}

type Key = [u8; 32];

fn key(id: &str) -> Key {
    *blake3::hash(id.as_bytes()).as_bytes()
}

/// Every session of this process.
pub struct Sessions {
    limits: Limits,
    map: Mutex<HashMap<Key, Session>>,
}

impl Sessions {
    pub fn new(limits: Limits) -> Sessions {
        Sessions {
            limits,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Session>> {
        // A panic while holding the lock leaves a consistent map (every change is one call).
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn live(&self, s: &Session, now: u64) -> bool {
        now < s.seen.saturating_add(self.limits.idle)
            && now < s.created.saturating_add(self.limits.max)
    }

    /// Starts a session for `user` (with the account's password `stamp`); returns its id (the
    /// cookie's value) and its CSRF token.
    pub fn create(
        &self,
        user: &str,
        role: Role,
        stamp: &str,
        now: u64,
    ) -> Result<(String, String), String> {
        let id = crate::secret::random(SECRET_BYTES)?;
        let csrf = crate::secret::random(SECRET_BYTES)?;
        let mut map = self.lock();
        map.retain(|_, s| self.live(s, now));
        while map.len() >= self.limits.count {
            let Some(oldest) = map.iter().min_by_key(|(_, s)| s.seen).map(|(k, _)| *k) else {
                break;
            };
            map.remove(&oldest);
        }
        map.insert(
            key(&id),
            Session {
                user: user.to_string(),
                role,
                csrf: csrf.clone(),
                stamp: stamp.to_string(),
                created: now,
                seen: now,
            },
        );
        Ok((id, csrf))
    }

    /// The live session with this id, its clock moved to `now`; an expired one is ended.
    pub fn get(&self, id: &str, now: u64) -> Option<Session> {
        let k = key(id);
        let mut map = self.lock();
        let s = map.get_mut(&k)?;
        if !self.live(s, now) {
            map.remove(&k);
            return None;
        }
        s.seen = now;
        Some(s.clone())
    }

    /// Ends the session (sign-out); returns it if it was there.
    pub fn end(&self, id: &str) -> Option<Session> {
        self.lock().remove(&key(id))
    }

    /// Ends every session of the account `name` (any case); returns how many.
    pub fn end_user(&self, name: &str) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, s| !s.user.eq_ignore_ascii_case(name));
        before - map.len()
    }

    /// Sessions kept now (expired ones included until the next `create`).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The `Set-Cookie` value that gives the browser the session `id`.
pub fn cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Secure; HttpOnly; SameSite=Strict; Path=/")
}

/// The `Set-Cookie` value that removes the session cookie (sign-out).
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Secure; HttpOnly; SameSite=Strict; Path=/; Max-Age=0")
}

/// The session id in a `Cookie` request header, if it carries ours.
pub fn from_cookie_header(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE && !value.is_empty()).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        idle: 1800,
        max: 12 * 3600,
        count: 3,
    };

    #[test]
    fn an_idle_session_ends() {
        let s = Sessions::new(LIMITS);
        let (id, csrf) = s.create("alice", Role::Auditor, "", 1000).unwrap();
        assert_ne!(id, csrf);
        assert_eq!(id.len(), 43);
        // Each request moves the idle clock on.
        assert!(s.get(&id, 1000 + 1799).is_some());
        assert!(s.get(&id, 1000 + 1799 + 1799).is_some());
        let got = s.get(&id, 1000 + 1799 * 2 + 1800);
        assert_eq!(got, None);
        // Gone, not just hidden.
        assert!(s.get(&id, 1000).is_none());
    }

    #[test]
    fn a_used_session_ends_at_its_maximum_age() {
        let s = Sessions::new(LIMITS);
        let (id, _) = s.create("alice", Role::Auditor, "", 0).unwrap();
        let mut t = 0;
        while t + 1000 < 12 * 3600 {
            t += 1000;
            assert!(s.get(&id, t).is_some(), "{t}");
        }
        assert!(s.get(&id, 12 * 3600).is_none());
    }

    #[test]
    fn sessions_end_by_id_by_user_and_at_the_bound() {
        let s = Sessions::new(LIMITS);
        let (a, _) = s.create("alice", Role::Administrator, "", 10).unwrap();
        let (b, _) = s.create("Bob", Role::Auditor, "", 11).unwrap();
        let (b2, _) = s.create("bob", Role::Auditor, "", 12).unwrap();
        assert_eq!(s.get(&a, 13).unwrap().role, Role::Administrator);
        // A fourth ends the least recently used (b, seen at 11).
        let (c, _) = s.create("carol", Role::Remediator, "", 14).unwrap();
        assert_eq!(s.len(), 3);
        assert!(s.get(&b, 15).is_none());
        assert_eq!(s.end_user("BOB"), 1);
        assert!(s.get(&b2, 15).is_none());
        assert_eq!(s.end(&c).map(|x| x.user).as_deref(), Some("carol"));
        assert!(s.get(&c, 15).is_none());
        assert!(s.get(&a, 15).is_some());
        assert!(s.get("not-an-id", 15).is_none());
    }

    #[test]
    fn the_cookie_is_host_only_secure_and_strict() {
        let c = cookie("abc");
        assert_eq!(
            c,
            "__Host-sluice=abc; Secure; HttpOnly; SameSite=Strict; Path=/"
        );
        assert!(clear_cookie().contains("Max-Age=0"));
        assert_eq!(
            from_cookie_header("theme=dark; __Host-sluice=abc; x=y"),
            Some("abc")
        );
        assert_eq!(from_cookie_header("__Host-sluice="), None);
        assert_eq!(from_cookie_header("sluice=abc"), None);
    }
}
