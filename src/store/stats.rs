//! Statistics: per-day counters by name (messages quarantined, released, delivered, bounced, ...),
//! kept in the same transactions as the changes they count.

use super::kv::{Order, ReadTxn, Table, WriteTxn};

use super::Result;
use super::keys;

fn key(day: u64, name: &str) -> Vec<u8> {
    let mut k = day.to_be_bytes().to_vec();
    k.extend_from_slice(name.as_bytes());
    k
}

/// Adds `n` to counter `name` for the day containing Unix time `at`.
pub fn bump(txn: &mut dyn WriteTxn, at: u64, name: &str, n: u64) -> Result<()> {
    let k = key(at / 86_400, name);
    let now = txn
        .get(Table::Stats, &k)?
        .and_then(keys::id_of)
        .unwrap_or(0);
    txn.put(Table::Stats, &k, &(now + n).to_be_bytes())?;
    Ok(())
}

/// Counter `name` summed over the days from `from` to `to` (Unix times, inclusive).
pub fn sum(txn: &dyn ReadTxn, name: &str, from: u64, to: u64) -> Result<u64> {
    let mut total = 0;
    for day in from / 86_400..=to / 86_400 {
        total += txn
            .get(Table::Stats, &key(day, name))?
            .and_then(keys::id_of)
            .unwrap_or(0);
    }
    Ok(total)
}

/// Counter `name` summed over every day kept (what a status command shows as "all time").
pub fn total(txn: &dyn ReadTxn, name: &str) -> Result<u64> {
    let mut total = 0;
    for entry in txn.all(Table::Stats, Order::Forward)? {
        let (k, v) = entry?;
        if k.len() > 8 && &k[8..] == name.as_bytes() {
            total += keys::id_of(v).unwrap_or(0);
        }
    }
    Ok(total)
}
