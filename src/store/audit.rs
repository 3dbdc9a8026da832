//! The audit log: every change an administrator makes (and every refusal), append-only, in the
//! `admin` table under `a:` and a big-endian sequence number. Who, when, from where, what, on what,
//! the value before and after (settings and policies) and the outcome. [`append`] writes the
//! matching event to the outbox in the same transaction (`admin.change`, `admin.access_denied`,
//! `admin.logon.*`, `admin.logoff`), with the who, where, what and outcome but never the values
//! before and after. [`page`] lists newest first; [`prune`] removes entries past
//! `[admin] audit_max_age`.

use std::net::IpAddr;
use std::ops::Bound;

use serde::{Deserialize, Serialize};

use super::kv::{Order, ReadTxn, Table, WriteTxn};
use super::{Result, StoreError, events, keys};
use crate::events::{Field, Fields, Kind};

const PREFIX: &[u8] = b"a:";
/// Entries looked at for one page at most: a filter that matches little still answers quickly,
/// with a `next` to go on from.
pub const MAX_SCAN: usize = 10_000;
/// Entries removed by one prune at most (the next run goes on).
const MAX_PRUNE: usize = 10_000;

/// The actions whose events are logons and logoffs rather than changes.
pub const LOGON: &str = "logon";
pub const LOGOFF: &str = "logoff";
/// The outcome of an action refused for the actor's role.
pub const DENIED: &str = "denied";
pub const OK: &str = "ok";

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Set by [`append`].
    pub seq: u64,
    /// Unix seconds.
    pub at: u64,
    /// The account that acted (`cli` actions: the operator's name).
    pub actor: String,
    /// The client's IP address, or `cli`.
    pub source: String,
    /// Dotted: `user.add`, `policy.update`, `settings.update`, `token.create`, `logon`.
    pub action: String,
    /// What it was done to: an account name, a policy, a setting, a token id.
    pub object: String,
    #[serde(default)]
    pub before: Option<String>,
    #[serde(default)]
    pub after: Option<String>,
    /// `ok`, `denied`, or `failed: <why>`.
    pub outcome: String,
}

/// Which entries a page shows (every condition optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// Exactly this actor (any case).
    pub actor: Option<String>,
    /// Actions starting with this (`user.` or `policy.update`).
    pub action: Option<String>,
    /// At or after (Unix seconds).
    pub since: Option<u64>,
    /// At or before (Unix seconds).
    pub until: Option<u64>,
}

impl Filter {
    fn matches(&self, e: &AuditEntry) -> bool {
        self.actor
            .as_deref()
            .is_none_or(|a| a.eq_ignore_ascii_case(&e.actor))
            && self
                .action
                .as_deref()
                .is_none_or(|a| e.action.starts_with(a))
            && self.since.is_none_or(|s| e.at >= s)
            && self.until.is_none_or(|u| e.at <= u)
    }
}

fn key(seq: u64) -> Vec<u8> {
    [PREFIX, &keys::id_key(seq)].concat()
}

/// The event kind an entry is reported as.
fn kind(e: &AuditEntry) -> Kind {
    match (e.action.as_str(), e.outcome.as_str()) {
        (_, DENIED) => Kind::AdminAccessDenied,
        (LOGON, OK) => Kind::AdminLogonSucceeded,
        (LOGON, _) => Kind::AdminLogonFailed,
        (LOGOFF, _) => Kind::AdminLogoff,
        _ => Kind::AdminChange,
    }
}

/// Appends `entry` (its `seq` is assigned) and its event, in the caller's transaction; returns the
/// sequence number.
pub fn append(txn: &mut dyn WriteTxn, entry: &AuditEntry) -> Result<u64> {
    let seq = keys::next_id(txn, "audit")?;
    let entry = AuditEntry {
        seq,
        ..entry.clone()
    };
    super::put_json(txn, Table::Admin, &key(seq), &entry)?;
    let mut fields = Fields::new()
        .with(Field::UserName, &entry.actor)
        .with(Field::AdminAction, &entry.action)
        .with(Field::AdminObject, &entry.object);
    if let Ok(ip) = entry.source.parse::<IpAddr>() {
        fields.push(Field::SourceIp, ip);
    }
    let ok = entry.outcome == OK;
    fields.push(Field::EventOutcome, if ok { "success" } else { "failure" });
    if let Some(why) = entry.outcome.strip_prefix("failed: ") {
        fields.push(Field::EventReason, why);
    }
    events::append(txn, entry.at, kind(&entry), fields)?;
    Ok(seq)
}

/// Entries matching `filter`, newest first, older than `before` (a sequence number; `None`: from
/// the newest), at most `limit`; and where the next page starts (`None`: nothing older matches).
pub fn page(
    txn: &dyn ReadTxn,
    filter: &Filter,
    before: Option<u64>,
    limit: usize,
) -> Result<(Vec<AuditEntry>, Option<u64>)> {
    // Exclusive: `before` itself is not shown; without it, everything under the prefix.
    let upper = match before {
        Some(b) => key(b),
        None => super::kv::prefix_end(PREFIX).unwrap_or_default(),
    };
    let range = (Bound::Included(PREFIX), Bound::Excluded(upper.as_slice()));
    let mut out = Vec::new();
    let mut scanned = 0;
    for e in txn.range(Table::Admin, range, Order::Reverse)? {
        let (k, v) = e?;
        let entry: AuditEntry = serde_json::from_slice(v).map_err(|e| corrupt(k, e))?;
        if filter.since.is_some_and(|s| entry.at < s) {
            return Ok((out, None));
        }
        let seq = entry.seq;
        if filter.matches(&entry) {
            if out.len() == limit {
                // One more matches: the next page starts below the last one shown.
                let next = out.last().map_or(entry.seq + 1, |l: &AuditEntry| l.seq);
                return Ok((out, Some(next)));
            }
            out.push(entry);
        }
        scanned += 1;
        if scanned >= MAX_SCAN {
            return Ok((out, Some(seq)));
        }
    }
    Ok((out, None))
}

fn corrupt(k: &[u8], e: serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        what: format!("audit entry {:?}", k.get(2..).and_then(keys::id_of)),
        detail: e.to_string(),
    }
}

/// Removes the entries older than `max_age` seconds before `now` (at most [`MAX_PRUNE`] per run);
/// returns how many.
pub fn prune(txn: &mut dyn WriteTxn, now: u64, max_age: u64) -> Result<u64> {
    let cutoff = now.saturating_sub(max_age);
    let mut old = Vec::new();
    for e in txn.prefix(Table::Admin, PREFIX, Order::Forward)? {
        let (k, v) = e?;
        let entry: AuditEntry = serde_json::from_slice(v).map_err(|e| corrupt(k, e))?;
        if entry.at >= cutoff || old.len() >= MAX_PRUNE {
            break;
        }
        old.push(k.to_vec());
    }
    for k in &old {
        txn.delete(Table::Admin, k)?;
    }
    Ok(old.len() as u64)
}

/// Whether a key of the `admin` table is an audit entry's, and if so whether it decodes (backup
/// checks).
pub(crate) fn decode(k: &[u8], v: &[u8]) -> Option<std::result::Result<(), String>> {
    if !k.starts_with(PREFIX) {
        return None;
    }
    Some(match (k.len(), serde_json::from_slice::<AuditEntry>(v)) {
        (10, Ok(e)) if keys::id_of(&k[2..]) == Some(e.seq) => Ok(()),
        (10, Ok(e)) => Err(format!("the record says seq {}", e.seq)),
        (_, Ok(_)) => Err(format!("a key of {} bytes", k.len())),
        (_, Err(e)) => Err(e.to_string()),
    })
}

#[cfg(test)]
mod tests;
