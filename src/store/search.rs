//! Filtered, paged search over held messages and incidents: newest first, driven by the most selective
//! index the filter names, every other condition checked on the decoded record. Work per page is
//! bounded ([`Budget`]: index entries examined, records decoded), so that any search answers well
//! under 100 ms over a million records; a page cut short says so and carries a cursor to continue
//! from.

use std::ops::Bound;

use super::Result;
use super::keys::{self, Field, Indexed};
use super::kv::{Order, ReadTxn, Table};

/// Index entries examined for one page at most.
pub const MAX_SCAN: usize = 100_000;
/// Records decoded for one page at most (a condition no index answers, such as a subject's
/// substring, is checked on the decoded record: the dearer step).
pub const MAX_LOAD: usize = 20_000;

/// The work one page may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    pub scan: usize,
    pub load: usize,
}

impl Budget {
    pub(crate) const DEFAULT: Budget = Budget {
        scan: MAX_SCAN,
        load: MAX_LOAD,
    };
}

/// Default and largest page sizes.
pub const DEFAULT_PAGE: usize = 50;
pub const MAX_PAGE: usize = 1000;

/// What to look for; every set field must match. Addresses match whole (`a@b.org`) or by domain
/// (`@b.org`), case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub status: Option<String>,
    pub sender: Option<String>,
    pub recipient: Option<String>,
    pub policy: Option<u64>,
    pub severity: Option<String>,
    pub direction: Option<String>,
    pub guid: Option<String>,
    /// Unix seconds, inclusive.
    pub since: Option<u64>,
    /// Unix seconds, inclusive.
    pub until: Option<u64>,
    /// Case-insensitive substring of the subject.
    pub subject: Option<String>,
}

/// Which page: at most `limit` records older than `before` (a cursor from the previous page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: usize,
    pub before: Option<(u64, u64)>,
}

impl Default for Page {
    fn default() -> Page {
        Page {
            limit: DEFAULT_PAGE,
            before: None,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<T> {
    pub items: Vec<T>,
    /// Where the next page starts, if there may be more.
    pub next: Option<(u64, u64)>,
    /// The page's [`Budget`] ran out before the page was full (`next` continues).
    pub truncated: bool,
    /// Records that did not decode (reported, not fatal).
    pub corrupt: Vec<u64>,
}

/// What the search sees of a record: the indexed fields and the subject.
pub(crate) struct View<'a> {
    pub id: u64,
    /// Receipt or creation time (Unix seconds): the index's time order.
    pub time: u64,
    pub status: &'a str,
    pub sender: &'a str,
    pub recipients: Vec<&'a str>,
    pub policies: Vec<u64>,
    pub severity: &'a str,
    pub direction: &'a str,
    pub guid: &'a str,
    pub subject: &'a str,
}

/// A record the search can index and check.
pub(crate) trait Record {
    fn view(&self) -> View<'_>;
}

impl View<'_> {
    /// Whether the record passes every condition of the filter.
    pub(crate) fn matches(&self, f: &Filter) -> bool {
        f.status.as_deref().is_none_or(|s| self.status == s)
            && f.sender
                .as_deref()
                .is_none_or(|s| address_matches(self.sender, s))
            && f.recipient
                .as_deref()
                .is_none_or(|r| self.recipients.iter().any(|x| address_matches(x, r)))
            && f.policy.is_none_or(|p| self.policies.contains(&p))
            && f.severity.as_deref().is_none_or(|s| self.severity == s)
            && f.direction.as_deref().is_none_or(|d| self.direction == d)
            && f.guid
                .as_deref()
                .is_none_or(|g| self.guid.eq_ignore_ascii_case(g))
            && f.since.is_none_or(|t| self.time >= t)
            && f.until.is_none_or(|t| self.time <= t)
            && f.subject
                .as_deref()
                .is_none_or(|s| subject_matches(self.subject, s))
    }

    /// The record's index entries (sorted, without duplicates).
    pub(crate) fn index_keys(&self, table: Indexed) -> Vec<Vec<u8>> {
        let key = |field, value: &str| keys::index_key(table, field, value, self.time, self.id);
        let mut out = vec![
            key(Field::Time, ""),
            key(Field::Status, self.status),
            key(Field::Severity, self.severity),
            key(Field::Direction, self.direction),
            key(Field::Guid, self.guid),
        ];
        for v in keys::address_values(self.sender) {
            out.push(key(Field::Sender, &v));
        }
        for r in &self.recipients {
            for v in keys::address_values(r) {
                out.push(key(Field::Recipient, &v));
            }
        }
        for p in &self.policies {
            out.push(key(Field::Policy, &p.to_string()));
        }
        out.sort();
        out.dedup();
        out
    }
}

/// True when `address` matches a filter value (whole address or `@domain`).
pub(crate) fn address_matches(address: &str, want: &str) -> bool {
    if want.starts_with('@') {
        address
            .rfind('@')
            .is_some_and(|at| address[at..].eq_ignore_ascii_case(want))
    } else {
        address.eq_ignore_ascii_case(want)
    }
}

pub(crate) fn subject_matches(subject: &str, want: &str) -> bool {
    subject.to_lowercase().contains(&want.to_lowercase())
}

/// Every indexed condition of the filter, most selective first (the first one drives the walk).
fn indexed(filter: &Filter) -> Vec<(Field, String)> {
    let mut out = Vec::new();
    if let Some(g) = &filter.guid {
        out.push((Field::Guid, g.clone()));
    }
    if let Some(r) = &filter.recipient {
        out.push((Field::Recipient, r.clone()));
    }
    if let Some(s) = &filter.sender {
        out.push((Field::Sender, s.clone()));
    }
    if let Some(p) = filter.policy {
        out.push((Field::Policy, p.to_string()));
    }
    if let Some(s) = &filter.status {
        out.push((Field::Status, s.clone()));
    }
    if let Some(s) = &filter.severity {
        out.push((Field::Severity, s.clone()));
    }
    if let Some(d) = &filter.direction {
        out.push((Field::Direction, d.clone()));
    }
    out
}

/// Runs a search: `load` fetches and decodes a record by id (`Ok(None)` if gone).
pub(crate) fn run<T: Record>(
    txn: &dyn ReadTxn,
    table: Indexed,
    filter: &Filter,
    page: Page,
    load: impl FnMut(u64) -> Result<Option<T>>,
) -> Result<Found<T>> {
    let walk = Walk {
        table,
        conditions: indexed(filter),
        since: filter.since,
        until: filter.until,
        budget: Budget::DEFAULT,
    };
    walk.run(txn, page, load, |r: &T| r.view().matches(filter))
}

/// One search over an index: its indexed conditions, most selective first (the first drives the
/// walk; none: the time index, `Field::Time` with the empty value), and the time range.
pub(crate) struct Walk {
    pub table: Indexed,
    pub conditions: Vec<(Field, String)>,
    pub since: Option<u64>,
    pub until: Option<u64>,
    pub budget: Budget,
}

impl Walk {
    /// Walks the driving index newest first from the page's cursor (see [`Walk::walk`]).
    pub(crate) fn run<T>(
        &self,
        txn: &dyn ReadTxn,
        page: Page,
        load: impl FnMut(u64) -> Result<Option<T>>,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Found<T>> {
        let prefix = self.prefix();
        let mut low = prefix.clone();
        low.extend_from_slice(&self.since.unwrap_or(0).to_be_bytes());
        low.extend_from_slice(&0u64.to_be_bytes());
        let until = self.until.unwrap_or(u64::MAX);
        let upper = match page.before {
            Some((t, id)) if t <= until => Bound::Excluded(at_key(&prefix, t, id)),
            _ => Bound::Included(until_key(&prefix, until)),
        };
        let range = (Bound::Included(low), upper);
        self.walk(txn, page.limit, range, Order::Reverse, load, keep)
    }

    /// Like [`Walk::run`] but the other way: the (at most `limit`) records nearest `after` and
    /// newer than it, oldest first; `next` continues towards the newest. A page "before" one
    /// already shown is found this way, so it is the same page whatever arrived since.
    pub(crate) fn run_after<T>(
        &self,
        txn: &dyn ReadTxn,
        after: (u64, u64),
        limit: usize,
        load: impl FnMut(u64) -> Result<Option<T>>,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Found<T>> {
        let prefix = self.prefix();
        let since = self.since.unwrap_or(0);
        let low = match after {
            (t, id) if t >= since => Bound::Excluded(at_key(&prefix, t, id)),
            _ => Bound::Included(at_key(&prefix, since, 0)),
        };
        let upper = Bound::Included(until_key(&prefix, self.until.unwrap_or(u64::MAX)));
        self.walk(txn, limit, (low, upper), Order::Forward, load, keep)
    }

    /// The driving index's prefix: the first condition's, or the time index.
    fn prefix(&self) -> Vec<u8> {
        let (field, value) = self
            .conditions
            .first()
            .map_or((Field::Time, ""), |(f, v)| (*f, v.as_str()));
        keys::index_prefix(self.table, field, value)
    }

    /// Walks `range` of the driving index in `order`: the other indexed conditions are checked
    /// on the index itself (a key lookup), so records are decoded (`load`) only for candidates
    /// that pass them all, and kept when `keep` says so. Within the walk's [`Budget`].
    fn walk<T>(
        &self,
        txn: &dyn ReadTxn,
        limit: usize,
        range: (Bound<Vec<u8>>, Bound<Vec<u8>>),
        order: Order,
        mut load: impl FnMut(u64) -> Result<Option<T>>,
        keep: impl Fn(&T) -> bool,
    ) -> Result<Found<T>> {
        let limit = limit.clamp(1, MAX_PAGE);
        let table = self.table;
        let others: Vec<Vec<u8>> = self
            .conditions
            .iter()
            .skip(1)
            .map(|(f, v)| keys::index_prefix(table, *f, v))
            .collect();
        let mut probe = Vec::with_capacity(512);
        let range: (Bound<&[u8]>, Bound<&[u8]>) = (borrow(&range.0), borrow(&range.1));
        let mut found = Found {
            items: Vec::new(),
            next: None,
            truncated: false,
            corrupt: Vec::new(),
        };
        let (mut scanned, mut loaded) = (0usize, 0usize);
        for entry in txn.range(Table::Index, range, order)? {
            let (key, _) = entry?;
            scanned += 1;
            let Some((time, id)) = keys::index_time_id(key) else {
                continue;
            };
            let tail = &key[key.len() - 16..];
            let mut in_all = true;
            for other in &others {
                probe.clear();
                probe.extend_from_slice(other);
                probe.extend_from_slice(tail);
                if txn.get(Table::Index, &probe)?.is_none() {
                    in_all = false;
                    break;
                }
            }
            if in_all {
                loaded += 1;
                match load(id) {
                    Ok(Some(record)) if keep(&record) => {
                        found.items.push(record);
                        if found.items.len() >= limit {
                            found.next = Some((time, id));
                            return Ok(found);
                        }
                    }
                    Ok(_) => {}
                    Err(super::StoreError::Corrupt { .. }) => found.corrupt.push(id),
                    Err(e) => return Err(e),
                }
            }
            if scanned >= self.budget.scan || loaded >= self.budget.load {
                found.truncated = true;
                found.next = Some((time, id));
                return Ok(found);
            }
        }
        Ok(found)
    }
}

fn borrow(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// The index key of the record at (`time`, `id`) under `prefix`.
fn at_key(prefix: &[u8], time: u64, id: u64) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&time.to_be_bytes());
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn until_key(prefix: &[u8], until: u64) -> Vec<u8> {
    let mut k = prefix.to_vec();
    k.extend_from_slice(&until.to_be_bytes());
    k.extend_from_slice(&u64::MAX.to_be_bytes());
    k
}
