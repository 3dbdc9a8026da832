//! Administrators' accounts: add, change the password or role, disable and enable, remove, list;
//! sign-in ([`Service::authenticate`]); and the audit log every change writes to
//! ([`Service::audit`], [`Service::audit_page`]).
//!
//! Passwords: 12 to 128 characters, not the account's name; kept only as an argon2id hash (PHC
//! string) with the parameters of [`PARAMS`] (OWASP's recommendation for argon2id: 19 MiB of
//! memory, 2 passes, 1 lane; 16 random bytes of salt; 32 bytes of output). The hash's own
//! parameters are used to verify it, so raising them later leaves old hashes valid. Verifying
//! compares in constant time, and a sign-in with a name that has no account (or a disabled one)
//! still costs one hash, so the time taken does not tell whether an account exists.
//!
//! Rules kept here, not by the callers: names are 1 to 64 of `A-Z a-z 0-9 . _ @ -` (unique without
//! regard to case); the last enabled administrator cannot be removed, disabled or demoted. Every
//! change writes an audit entry in the same transaction (`store::audit::append`, which writes its
//! event too); what a password is never reaches the audit log, an event or a log line.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::Serialize;

use crate::events::{Field, Fields, Kind};
use crate::store::audit::{self, AuditEntry, Filter};
use crate::store::users::{self, User};
use crate::store::{ReadTxn, WriteTxn};

use super::{Error, Result, Role, Service};

/// Shortest password (characters).
pub const MIN_PASSWORD: usize = 12;
/// Longest password (characters).
pub const MAX_PASSWORD: usize = 128;
/// Longest account name.
pub const MAX_NAME: usize = 64;

/// argon2id's cost: memory in KiB, passes, lanes, output bytes (OWASP's argon2id settings).
pub const PARAMS: (u32, u32, u32, usize) = (19 * 1024, 2, 1, 32);

/// The same answer for a wrong password, an unknown name and a disabled account.
const WRONG: &str = "wrong user name or password";

/// Who asks for a change and from where, as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    /// The account (UI, API) or the operator's login name (CLI).
    pub actor: String,
    /// The client's IP address, or `cli`.
    pub source: String,
}

impl Caller {
    /// The command line, as the operator `actor`.
    pub fn cli(actor: &str) -> Caller {
        Caller {
            actor: actor.to_string(),
            source: "cli".into(),
        }
    }

    /// A signed-in account, from `ip`.
    pub fn web(actor: &str, ip: std::net::IpAddr) -> Caller {
        Caller {
            actor: actor.to_string(),
            source: ip.to_string(),
        }
    }

    /// An audit entry of this caller (outcome `ok`).
    pub fn entry(&self, at: u64, action: &str, object: &str) -> AuditEntry {
        AuditEntry {
            seq: 0,
            at,
            actor: self.actor.clone(),
            source: self.source.clone(),
            action: action.into(),
            object: object.into(),
            before: None,
            after: None,
            outcome: audit::OK.into(),
        }
    }
}

/// An account as lists show it (no hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created: u64,
    pub changed: u64,
    pub last_logon: Option<u64>,
    /// A digest of the password's hash: new with every password set. A session remembers the one
    /// it began with and ends when it differs (a password changed anywhere, even by another
    /// process, signs the account out).
    #[serde(skip)]
    pub stamp: String,
}

fn view(u: &User) -> Result<UserView> {
    Ok(UserView {
        name: u.name.clone(),
        role: role_of(u)?,
        disabled: u.disabled,
        created: u.created,
        changed: u.changed,
        last_logon: u.last_logon,
        stamp: crate::secret::digest(u.hash.as_bytes())[..16].to_string(),
    })
}

/// A checked account name.
pub fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "a user name is 1 to {MAX_NAME} of A-Z a-z 0-9 . _ @ -"
        )))
    }
}

/// A password the rules accept for the account `name`.
pub fn check_password(name: &str, password: &str) -> Result<()> {
    let n = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        return Err(Error::Invalid(format!(
            "a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters"
        )));
    }
    if password.eq_ignore_ascii_case(name) {
        return Err(Error::Invalid(
            "the password must not be the user name".into(),
        ));
    }
    Ok(())
}

fn hasher() -> Result<Argon2<'static>> {
    let (m, t, p, out) = PARAMS;
    let params = Params::new(m, t, p, Some(out))
        .map_err(|e| Error::Internal(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// The argon2id hash of `password` with a fresh random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::Internal(format!("random: {e}")))?;
    let hash = hasher()?
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| Error::Internal(format!("hashing the password: {e}")))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `hash` (its own parameters; constant-time compare).
fn verify(password: &str, hash: &str) -> bool {
    hasher().is_ok_and(|h| h.verify_password(password.as_bytes(), hash).is_ok())
}

/// A hash nothing matches, verified against when there is no account to verify against, so that
/// every sign-in costs one hash.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let random = crate::secret::random(32).unwrap_or_default();
        hash_password(&random).unwrap_or_default()
    })
}

fn role_of(u: &User) -> Result<Role> {
    Role::parse(&u.role).ok_or_else(|| {
        Error::Internal(format!(
            "account {:?} has an unknown role {:?}",
            u.name, u.role
        ))
    })
}

fn must_get(txn: &dyn ReadTxn, name: &str) -> crate::store::Result<User> {
    users::get(txn, name)?
        .ok_or_else(|| crate::store::StoreError::NotFound(format!("user {name:?}")))
}

/// Refuses a change that would leave no enabled administrator: `name` stops being one.
fn keep_an_administrator(txn: &dyn ReadTxn, name: &str) -> crate::store::Result<()> {
    let others = users::list(txn)?.into_iter().any(|u| {
        !u.name.eq_ignore_ascii_case(name) && !u.disabled && u.role == Role::Administrator.name()
    });
    if others {
        Ok(())
    } else {
        Err(crate::store::StoreError::Refused(format!(
            "{name} is the last enabled administrator"
        )))
    }
}

impl Service {
    /// Runs `change` on the account `name` and writes the audit entry it returns, in one write.
    fn change_user(
        &self,
        name: &str,
        change: impl FnOnce(&mut dyn WriteTxn, User) -> crate::store::Result<AuditEntry>
        + Send
        + 'static,
    ) -> Result<()> {
        let name = name.to_string();
        self.store.write_blocking(move |txn| {
            let user = must_get(txn, &name)?;
            let entry = change(txn, user)?;
            audit::append(txn, &entry)?;
            Ok(())
        })?;
        Ok(())
    }

    /// Adds an account (name, role and password checked).
    pub fn add_user(&self, name: &str, role: Role, password: &str, caller: &Caller) -> Result<()> {
        check_name(name)?;
        check_password(name, password)?;
        let hash = hash_password(password)?;
        let now = self.now();
        let user = User {
            name: name.to_string(),
            role: role.name().into(),
            hash,
            created: now,
            changed: now,
            disabled: false,
            last_logon: None,
        };
        let mut entry = caller.entry(now, "user.add", name);
        entry.after = Some(role.name().into());
        self.store.write_blocking(move |txn| {
            if users::get(txn, &user.name)?.is_some() {
                return Err(crate::store::StoreError::Refused(format!(
                    "user {:?} exists",
                    user.name
                )));
            }
            users::put(txn, &user)?;
            audit::append(txn, &entry)?;
            Ok(())
        })?;
        Ok(())
    }

    /// Sets a new password (the caller ends the account's sessions).
    pub fn set_password(&self, name: &str, password: &str, caller: &Caller) -> Result<()> {
        check_password(name, password)?;
        let hash = hash_password(password)?;
        let now = self.now();
        let entry = caller.entry(now, "user.password", name);
        self.change_user(name, move |txn, mut u| {
            u.hash = hash;
            u.changed = now;
            users::put(txn, &u)?;
            Ok(entry)
        })
    }

    /// Changes the role; the last enabled administrator keeps theirs.
    pub fn set_role(&self, name: &str, role: Role, caller: &Caller) -> Result<()> {
        let now = self.now();
        let mut entry = caller.entry(now, "user.role", name);
        self.change_user(name, move |txn, mut u| {
            if u.role == Role::Administrator.name() && role != Role::Administrator && !u.disabled {
                keep_an_administrator(txn, &u.name)?;
            }
            entry.before = Some(std::mem::replace(&mut u.role, role.name().into()));
            entry.after = Some(u.role.clone());
            u.changed = now;
            users::put(txn, &u)?;
            Ok(entry)
        })
    }

    /// Disables (`true`) or enables an account; the last enabled administrator stays enabled.
    pub fn set_disabled(&self, name: &str, disabled: bool, caller: &Caller) -> Result<()> {
        let now = self.now();
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        let entry = caller.entry(now, action, name);
        self.change_user(name, move |txn, mut u| {
            if disabled && !u.disabled && u.role == Role::Administrator.name() {
                keep_an_administrator(txn, &u.name)?;
            }
            u.disabled = disabled;
            u.changed = now;
            users::put(txn, &u)?;
            Ok(entry)
        })
    }

    /// Removes an account and its API tokens; the last enabled administrator stays.
    pub fn remove_user(&self, name: &str, caller: &Caller) -> Result<()> {
        let now = self.now();
        let mut entry = caller.entry(now, "user.remove", name);
        self.change_user(name, move |txn, u| {
            if !u.disabled && u.role == Role::Administrator.name() {
                keep_an_administrator(txn, &u.name)?;
            }
            users::delete(txn, &u.name)?;
            entry.before = Some(u.role);
            Ok(entry)
        })
    }

    /// Every account, by name.
    pub fn list_users(&self) -> Result<Vec<UserView>> {
        let all = self.store.read(users::list)?;
        all.iter().map(view).collect()
    }

    /// The account called `name` (any case), if there is one.
    pub fn user(&self, name: &str) -> Result<Option<UserView>> {
        if check_name(name).is_err() {
            return Ok(None);
        }
        self.store
            .read(|txn| users::get(txn, name))?
            .as_ref()
            .map(view)
            .transpose()
    }

    /// Whether any account exists (the set-up link is made only when none does).
    pub fn has_users(&self) -> Result<bool> {
        Ok(!self.store.read(users::list)?.is_empty())
    }

    /// Checks a sign-in: the account's role when `password` is right and the account enabled;
    /// otherwise [`Error::Invalid`] with one message for every reason. Records the last logon.
    /// Writes no audit entry: the caller does, with the throttle's verdict (`admin::auth`).
    pub fn authenticate(&self, name: &str, password: &str, now: u64) -> Result<Role> {
        let user = if check_name(name).is_ok() {
            self.store.read(|txn| users::get(txn, name))?
        } else {
            None
        };
        let Some(user) = user else {
            verify(password, decoy());
            return Err(Error::Invalid(WRONG.into()));
        };
        if !verify(password, &user.hash) || user.disabled {
            return Err(Error::Invalid(WRONG.into()));
        }
        let role = role_of(&user)?;
        let name = user.name.clone();
        self.store.write_blocking(move |txn| {
            if let Some(mut u) = users::get(txn, &name)? {
                u.last_logon = Some(now);
                users::put(txn, &u)?;
            }
            Ok(())
        })?;
        Ok(role)
    }

    /// The account's name as it was made (`None`: no such account); sign-in events name it so.
    pub fn user_name(&self, name: &str) -> Result<Option<String>> {
        if check_name(name).is_err() {
            return Ok(None);
        }
        Ok(self
            .store
            .read(|txn| users::get(txn, name))?
            .map(|u| u.name))
    }

    /// Appends an entry to the audit log (with its event); returns its sequence number.
    pub fn audit(&self, entry: AuditEntry) -> Result<u64> {
        Ok(self
            .store
            .write_blocking(move |txn| audit::append(txn, &entry))?)
    }

    /// Records a failed sign-in (its audit entry, whose event is `admin.logon.failed`) and, when
    /// the throttle says so, an `admin.logon.throttled` alert carrying the failures in a row, in
    /// one write.
    pub fn audit_logon_failure(&self, entry: AuditEntry, alert: Option<u32>) -> Result<()> {
        self.store.write_blocking(move |txn| {
            audit::append(txn, &entry)?;
            if let Some(run) = alert {
                let mut fields = Fields::new()
                    .with(Field::UserName, &entry.actor)
                    .with(Field::Count, run)
                    .with(Field::EventReason, "failed sign-ins in a row");
                if let Ok(ip) = entry.source.parse::<std::net::IpAddr>() {
                    fields.push(Field::SourceIp, ip);
                }
                crate::store::events::append(txn, entry.at, Kind::AdminLogonThrottled, fields)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// A page of the audit log, newest first: entries older than `before` matching `filter`, at
    /// most `limit`, and where the next page starts.
    pub fn audit_page(
        &self,
        filter: &Filter,
        before: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<AuditEntry>, Option<u64>)> {
        Ok(self
            .store
            .read(|txn| audit::page(txn, filter, before, limit))?)
    }
}

#[cfg(test)]
#[path = "users_tests.rs"]
mod tests;
