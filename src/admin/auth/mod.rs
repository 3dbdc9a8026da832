//! Who is signed in, and how they got there: sessions (`session`: the `__Host-sluice` cookie, idle
//! and absolute timeouts), CSRF tokens (`csrf`), sign-in throttling (`throttle`), the one-time
//! set-up link of a fresh install (`setup`), and the sign-in, sign-out and refusal records every
//! handler writes through the service ([`sign_in`], [`logged_on`], [`logged_off`], [`denied`]): each is an
//! audit entry whose event (`admin.logon.succeeded`, `admin.logon.failed`, `admin.logoff`,
//! `admin.access_denied`, and `admin.logon.throttled` as an alert) is written with it.
//!
//! Security: a password is passed to the service and dropped; it is never logged, audited or put
//! in an event. A failed sign-in names the account only when it exists (a password typed into the
//! name field must not end up in the audit log); every failure gets the same answer.

pub mod csrf;
pub mod session;
pub mod setup;
pub mod throttle;

use std::net::IpAddr;

use crate::config::Auth as Settings;
use crate::service::{AuditEntry, Caller, Error, Role, Service};
use crate::store::audit::{DENIED, LOGOFF, LOGON};

pub use session::{Session, Sessions};
pub use setup::Setup;
pub use throttle::Throttle;

/// What the audit log names a sign-in attempt with a name that has no account.
pub const UNKNOWN_USER: &str = "(unknown)";

/// The process's sign-in state: sessions, throttle, pending set-up.
pub struct Auth {
    pub sessions: Sessions,
    pub throttle: Throttle,
    pub setup: Setup,
}

impl Auth {
    pub fn new(settings: &Settings, setup: Setup) -> Auth {
        Auth {
            sessions: Sessions::new(settings.into()),
            throttle: Throttle::new(settings.into()),
            setup,
        }
    }
}

/// Why a sign-in did not succeed (the page says the first two the same way, but for the time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures of this account or from this client: try again after `until`.
    Locked { until: u64 },
    /// Wrong name or password, or a disabled account.
    Wrong,
    /// The store could not be used.
    Unavailable(String),
}

/// One sign-in: refused without checking while the account or client is locked out; otherwise
/// the password is checked (`Service::authenticate`) and the outcome counted and recorded. Returns
/// the account's name (as it was made) and role.
pub fn sign_in(
    service: &Service,
    throttle: &Throttle,
    name: &str,
    password: &str,
    ip: IpAddr,
    now: u64,
) -> Result<(String, Role), Refusal> {
    let name = name.trim();
    if let Some(until) = throttle.locked(name, ip, now) {
        return Err(Refusal::Locked { until });
    }
    match service.authenticate(name, password, now) {
        Ok(role) => {
            throttle.succeeded(name, ip);
            let canonical = service
                .user_name(name)
                .ok()
                .flatten()
                .unwrap_or_else(|| name.to_string());
            record(
                service,
                Caller::web(&canonical, ip).entry(now, LOGON, &canonical),
            );
            Ok((canonical, role))
        }
        Err(Error::Invalid(why)) => {
            let f = throttle.failed(name, ip, now);
            let actor = service
                .user_name(name)
                .ok()
                .flatten()
                .unwrap_or_else(|| UNKNOWN_USER.into());
            let mut entry = Caller::web(&actor, ip).entry(now, LOGON, &actor);
            entry.outcome = format!("failed: {why}");
            if let Err(e) = service.audit_logon_failure(entry, f.alert.then_some(f.run)) {
                tracing::warn!(error = %e, "failed sign-in not recorded");
            }
            Err(match f.locked_until {
                Some(until) => Refusal::Locked { until },
                None => Refusal::Wrong,
            })
        }
        Err(e) => Err(Refusal::Unavailable(e.to_string())),
    }
}

/// Records a sign-in (`admin.logon.succeeded`): [`sign_in`] does, and the set-up page for the
/// account it makes.
pub fn logged_on(service: &Service, user: &str, ip: IpAddr, now: u64) {
    record(service, Caller::web(user, ip).entry(now, LOGON, user));
}

/// Records a sign-out (`admin.logoff`).
pub fn logged_off(service: &Service, user: &str, ip: IpAddr, now: u64) {
    record(service, Caller::web(user, ip).entry(now, LOGOFF, user));
}

/// Records a request refused for the account's role (`admin.access_denied`): `what` names the
/// page or action (`GET /users`).
pub fn denied(service: &Service, user: &str, ip: IpAddr, what: &str, now: u64) {
    let mut entry = Caller::web(user, ip).entry(now, "access", what);
    entry.outcome = DENIED.into();
    record(service, entry);
}

/// Records a change made from the UI or the API (`admin.change`): `action` dotted
/// (`settings.certificate`, `policy.update`), `object` what it was done to, and for settings and
/// policies the text before and after.
pub(crate) fn changed(
    service: &Service,
    call: &super::call::Call,
    action: &str,
    object: &str,
    before: Option<String>,
    after: Option<String>,
) {
    let mut entry = Caller::web(call.actor(), call.peer).entry(call.now, action, object);
    entry.before = before;
    entry.after = after;
    record(service, entry);
}

fn record(service: &Service, entry: AuditEntry) {
    if let Err(e) = service.audit(entry) {
        tracing::warn!(error = %e, "audit entry not written");
    }
}

#[cfg(test)]
mod tests;
