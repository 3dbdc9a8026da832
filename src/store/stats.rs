//! Statistics, kept in the same transactions as the changes they count: per-day counters by name
//! (messages quarantined, released, delivered, bounced, ...), the same counters per hour (for the
//! dashboard's 24 h / 7 d / 30 d charts: [`series`]), and per-day top-N counters by family
//! (senders, recipients, policies, detectors, ...: [`top`]) for the summary report. What a message
//! event and a recorded incident count is [`message`] and [`incident`] (called by `events::append`
//! and `incidents::record`, so relayed mail's group-committed writes count it in the same write).
//!
//! Keys in the `stats` table (the leading byte keeps the kinds apart; a day number's first byte is 0):
//! - `day(8) | name`: a day's counter (kept for ever: a few dozen names a day);
//! - `'h' | hour(8) | name`: an hour's counter;
//! - `'n' | day(8) | family | 0 | key`: a day's count of one key of a family;
//! - `'k' | day(8) | family`: how many distinct keys the family has that day, so a day keeps at
//!   most [`MAX_KEYS`] per family (the rest is counted under [`OTHER`]).
//!
//! Hourly and top-N entries older than `[reports] keep_days` are removed by [`prune`].

use std::collections::HashMap;
use std::ops::Bound;

use super::kv::{Order, ReadTxn, Table, WriteTxn};

use super::Result;
use super::keys;
use crate::events::{Category, Event, Field};
use crate::store::records::Incident;

/// Distinct keys a top-N family keeps per day; past it, counts go to [`OTHER`].
pub const MAX_KEYS: u64 = 10_000;
/// The key counting what did not fit in a day's [`MAX_KEYS`].
pub const OTHER: &str = "(other)";
/// Hours [`series`] reads at most (400 days).
const MAX_HOURS: u64 = 400 * 24;

const HOUR: u8 = b'h';
const TOP: u8 = b'n';
const DISTINCT: u8 = b'k';

/// Counter names and top-N families written by [`message`] and [`incident`].
pub mod name {
    /// Every message's final disposition (`message.*` events).
    pub const MESSAGES: &str = "messages";
    /// Bytes of the messages (their `sluice.message.size`).
    pub const MESSAGE_BYTES: &str = "messages.bytes";
    /// Incidents created (not copies reconciled into one).
    pub const INCIDENTS: &str = "incidents.created";
    /// `messages.<outcome>` (`messages.relayed`, ...).
    pub fn outcome(outcome: &str) -> String {
        format!("messages.{outcome}")
    }
    /// `incidents.<severity>`.
    pub fn severity(severity: &str) -> String {
        format!("incidents.{severity}")
    }
    /// Family: messages by `"<outcome> <direction>"` (`none` when the direction is unknown).
    pub const MESSAGE: &str = "message";
    /// Family: message senders (lower case; `<>` for the null sender).
    pub const SENDER: &str = "sender";
    /// Family: message recipients (lower case).
    pub const RECIPIENT: &str = "recipient";
    /// Family: incidents by `"<policy id> <policy name>"`.
    pub const POLICY: &str = "policy";
    /// Family: incidents by severity.
    pub const SEVERITY: &str = "severity";
    /// Family: incidents by detector (what each finding line names).
    pub const DETECTOR: &str = "detector";
}

fn day_key(day: u64, name: &str) -> Vec<u8> {
    let mut k = day.to_be_bytes().to_vec();
    k.extend_from_slice(name.as_bytes());
    k
}

fn hour_key(hour: u64, name: &str) -> Vec<u8> {
    let mut k = vec![HOUR];
    k.extend_from_slice(&hour.to_be_bytes());
    k.extend_from_slice(name.as_bytes());
    k
}

fn top_prefix(day: u64, family: &str) -> Vec<u8> {
    let mut k = vec![TOP];
    k.extend_from_slice(&day.to_be_bytes());
    k.extend_from_slice(family.as_bytes());
    k.push(0);
    k
}

fn distinct_key(day: u64, family: &str) -> Vec<u8> {
    let mut k = vec![DISTINCT];
    k.extend_from_slice(&day.to_be_bytes());
    k.extend_from_slice(family.as_bytes());
    k
}

fn get(txn: &dyn ReadTxn, key: &[u8]) -> Result<u64> {
    Ok(txn
        .get(Table::Stats, key)?
        .and_then(keys::id_of)
        .unwrap_or(0))
}

fn add(txn: &mut dyn WriteTxn, key: &[u8], n: u64) -> Result<u64> {
    let now = get(txn, key)?.saturating_add(n);
    txn.put(Table::Stats, key, &now.to_be_bytes())?;
    Ok(now)
}

/// Adds `n` to counter `name` for the day and the hour containing Unix time `at`.
pub fn bump(txn: &mut dyn WriteTxn, at: u64, name: &str, n: u64) -> Result<()> {
    add(txn, &day_key(at / 86_400, name), n)?;
    add(txn, &hour_key(at / 3600, name), n)?;
    Ok(())
}

/// Counter `name` summed over the days from `from` to `to` (Unix times, inclusive).
pub fn sum(txn: &dyn ReadTxn, name: &str, from: u64, to: u64) -> Result<u64> {
    let mut total = 0;
    for day in from / 86_400..=to / 86_400 {
        total += get(txn, &day_key(day, name))?;
    }
    Ok(total)
}

/// Counter `name` summed over every day kept (what a status command shows as "all time").
pub fn total(txn: &dyn ReadTxn, name: &str) -> Result<u64> {
    let mut total = 0;
    // Day keys only: their first byte is 0 (the hourly and top-N keys start with a letter).
    let range: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Unbounded, Bound::Excluded(&[1]));
    for entry in txn.range(Table::Stats, range, Order::Forward)? {
        let (k, v) = entry?;
        if k.len() > 8 && &k[8..] == name.as_bytes() {
            total += keys::id_of(v).unwrap_or(0);
        }
    }
    Ok(total)
}

/// Counter `name` in buckets of `step` seconds (at least an hour, whole hours) from `from` to `to`:
/// `(bucket start, count)`, oldest first, buckets aligned to multiples of `step` (UTC), empty
/// buckets included. Reads the hourly counters (at most 400 days of them).
pub fn series(
    txn: &dyn ReadTxn,
    name: &str,
    from: u64,
    to: u64,
    step: u64,
) -> Result<Vec<(u64, u64)>> {
    let step = step.max(3600) / 3600 * 3600;
    let start = from / step * step;
    let to = to.max(start).min(start.saturating_add(MAX_HOURS * 3600));
    let mut out: Vec<(u64, u64)> = (0..=(to - start) / step)
        .map(|i| (start + i * step, 0))
        .collect();
    for hour in start / 3600..=to / 3600 {
        let n = get(txn, &hour_key(hour, name))?;
        if n > 0 {
            let i = ((hour * 3600 - start) / step) as usize;
            if let Some(b) = out.get_mut(i) {
                b.1 += n;
            }
        }
    }
    Ok(out)
}

/// Adds `n` to `key` of top-N `family` for the day containing `at`; a day keeps at most
/// [`MAX_KEYS`] keys per family, and counts the rest under [`OTHER`].
pub fn bump_top(txn: &mut dyn WriteTxn, at: u64, family: &str, key: &str, n: u64) -> Result<()> {
    let day = at / 86_400;
    let mut k = top_prefix(day, family);
    let at_key = k.len();
    k.extend_from_slice(clean(key).as_bytes());
    if txn.get(Table::Stats, &k)?.is_none() {
        let distinct = distinct_key(day, family);
        if get(txn, &distinct)? >= MAX_KEYS {
            k.truncate(at_key);
            k.extend_from_slice(OTHER.as_bytes());
        } else {
            add(txn, &distinct, 1)?;
        }
    }
    add(txn, &k, n)?;
    Ok(())
}

/// A top-N key as stored: no NUL, at most 200 bytes (cut on a character boundary).
fn clean(key: &str) -> String {
    let mut out = String::with_capacity(key.len().min(200));
    for c in key.chars().filter(|&c| c != '\0') {
        if out.len() + c.len_utf8() > 200 {
            break;
        }
        out.push(c);
    }
    out
}

/// The `n` largest keys of `family` summed over the days from `from` to `to` (inclusive), largest
/// first (ties by key).
pub fn top(
    txn: &dyn ReadTxn,
    family: &str,
    from: u64,
    to: u64,
    n: usize,
) -> Result<Vec<(String, u64)>> {
    let mut sums: HashMap<Vec<u8>, u64> = HashMap::new();
    for day in from / 86_400..=to / 86_400 {
        let prefix = top_prefix(day, family);
        for entry in txn.prefix(Table::Stats, &prefix, Order::Forward)? {
            let (k, v) = entry?;
            *sums.entry(k[prefix.len()..].to_vec()).or_default() += keys::id_of(v).unwrap_or(0);
        }
    }
    let mut out: Vec<(String, u64)> = sums
        .into_iter()
        .map(|(k, v)| (String::from_utf8_lossy(&k).into_owned(), v))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out.truncate(n);
    Ok(out)
}

/// Counts a `message.*` event: every message, its outcome, bytes, and the top-N of its outcome
/// and direction, its sender and its recipients. Other events count nothing.
pub fn message(txn: &mut dyn WriteTxn, e: &Event) -> Result<()> {
    if e.kind.category() != Category::Message {
        return Ok(());
    }
    let outcome = crate::store::tracking::outcome(e.kind);
    bump(txn, e.at, name::MESSAGES, 1)?;
    bump(txn, e.at, &name::outcome(outcome), 1)?;
    if let Some(size) = e.get(Field::Size).and_then(|s| s.parse().ok()) {
        bump(txn, e.at, name::MESSAGE_BYTES, size)?;
    }
    let direction = e.get(Field::EmailDirection).unwrap_or("none");
    bump_top(
        txn,
        e.at,
        name::MESSAGE,
        &format!("{outcome} {direction}"),
        1,
    )?;
    let sender = e.get(Field::EmailFromAddress).unwrap_or("<>");
    bump_top(txn, e.at, name::SENDER, &sender.to_lowercase(), 1)?;
    for r in e.all(Field::EmailToAddress) {
        bump_top(txn, e.at, name::RECIPIENT, &r.to_lowercase(), 1)?;
    }
    Ok(())
}

/// Counts an incident just created (a copy reconciled into an existing one counts nothing): in
/// all, by severity, and the top-N of its policy, severity and detectors.
pub fn incident(txn: &mut dyn WriteTxn, i: &Incident) -> Result<()> {
    let at = i.created;
    let severity = i.policy.severity.name();
    bump(txn, at, name::INCIDENTS, 1)?;
    bump(txn, at, &name::severity(severity), 1)?;
    let policy = format!("{} {}", i.policy.id, i.policy.name);
    bump_top(txn, at, name::POLICY, &policy, 1)?;
    bump_top(txn, at, name::SEVERITY, severity, 1)?;
    let mut seen = Vec::new();
    for line in &i.findings {
        for d in detectors(line) {
            if !seen.contains(&d) {
                bump_top(txn, at, name::DETECTOR, d, 1)?;
                seen.push(d);
            }
        }
    }
    Ok(())
}

/// The detectors a finding line names (`policy 100 rule "cards": CREDIT_CARD x3 in body (4111
/// **** 1111); sender held` gives `CREDIT_CARD` and `sender`): the text before ` x<count> in ` of
/// each piece, or before ` held`. Never the redacted samples.
pub fn detectors(line: &str) -> Vec<&str> {
    let Some((_, pieces)) = line.split_once("\": ") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for piece in pieces.split("; ") {
        let name = if let Some(name) = piece.strip_suffix(" held") {
            name
        } else {
            match piece.find(" x") {
                Some(at)
                    if piece[at + 2..]
                        .split_once(' ')
                        .is_some_and(|(n, _)| n.bytes().all(|b| b.is_ascii_digit())) =>
                {
                    &piece[..at]
                }
                _ => continue,
            }
        };
        if !name.is_empty() && name != "conditions" {
            out.push(name);
        }
    }
    out
}

/// Removes hourly and top-N entries of days before `now - keep_days` (at most `max` entries a
/// call, so a lowered `keep_days` is reached over several calls); returns how many it removed.
pub fn prune(txn: &mut dyn WriteTxn, now: u64, keep_days: u64, max: usize) -> Result<usize> {
    let cutoff_day = (now / 86_400).saturating_sub(keep_days);
    let mut doomed = Vec::new();
    for (lead, end) in [
        (HOUR, cutoff_day.saturating_mul(24)),
        (TOP, cutoff_day),
        (DISTINCT, cutoff_day),
    ] {
        let mut upper = vec![lead];
        upper.extend_from_slice(&end.to_be_bytes());
        let lower = [lead];
        let range: (Bound<&[u8]>, Bound<&[u8]>) =
            (Bound::Included(&lower), Bound::Excluded(&upper));
        for entry in txn.range(Table::Stats, range, Order::Forward)? {
            if doomed.len() >= max {
                break;
            }
            doomed.push(entry?.0.to_vec());
        }
    }
    for k in &doomed {
        txn.delete(Table::Stats, k)?;
    }
    Ok(doomed.len())
}

fn last_run_key(schedule: &str) -> Vec<u8> {
    format!("report:last:{schedule}").into_bytes()
}

/// When a scheduled report last ran: the due time of the run that was sent (`None`: never).
pub fn last_run(txn: &dyn ReadTxn, schedule: &str) -> Result<Option<u64>> {
    Ok(txn
        .get(Table::Meta, &last_run_key(schedule))?
        .and_then(keys::id_of))
}

/// Records a scheduled report's run (in the write that queues its mail).
pub fn set_last_run(txn: &mut dyn WriteTxn, schedule: &str, due: u64) -> Result<()> {
    txn.put(Table::Meta, &last_run_key(schedule), &due.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detectors_are_read_from_finding_lines_without_samples() {
        assert_eq!(
            detectors(
                "policy 100 rule \"cards\": Credit card number x3 in body, attachment:a.zip/b.txt (4111 **** 1111); sender held"
            ),
            vec!["Credit card number", "sender"]
        );
        assert_eq!(
            detectors(
                "policy 160 rule \"odd\": uninspectable x1 in odd.zip/plan.txt (unsupported)"
            ),
            vec!["uninspectable"]
        );
        assert!(detectors("policy 1 rule \"r\": conditions held").is_empty());
        assert!(detectors("garbage").is_empty());
    }
}
