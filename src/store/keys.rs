//! Key encodings: big-endian ids (so LMDB's byte order is numeric order), id counters, and the search
//! index, whose keys are `table | field | value | 0 | time | id` so that one prefix scan in reverse
//! yields one field value's records newest first, and a time range is a key range.

use super::kv::{ReadTxn, Table, WriteTxn};
use super::{Result, StoreError};

/// Longest indexed value; longer values are cut (the record itself is checked after the index).
const MAX_VALUE: usize = 200;

/// Which records an index entry points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Indexed {
    Held = b'h',
    Incident = b'i',
    /// A message's final disposition: its `message.*` event (id = the event's seq).
    Message = b'm',
    /// Every event about one message (it carries `email.local_id`), by GUID only, in seq order
    /// (time 0 in the key: the outbox's order is the order things happened).
    Trail = b'e',
}

/// Which field an index entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Field {
    /// Every record, by time only.
    Time = b't',
    Status = b's',
    /// Full sender address and `@domain`.
    Sender = b'f',
    /// Full recipient address and `@domain`, one entry each.
    Recipient = b'r',
    Policy = b'p',
    Severity = b'v',
    Direction = b'd',
    /// The message GUID.
    Guid = b'g',
    /// The SMTP client's address (message events).
    ClientIp = b'c',
    /// The Message-ID header, without its angle brackets (message events).
    MessageId = b'm',
}

pub(crate) fn id_key(id: u64) -> [u8; 8] {
    id.to_be_bytes()
}

pub(crate) fn id_of(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(..8)?.try_into().ok()?))
}

/// Allocates the next id of a counter (ids start at 1), after the backend reserved it
/// (`WriteTxn::reserve`; LMDB: the high-water mark file, written once per block of ids, before the
/// commit).
pub(crate) fn next_id(txn: &mut dyn WriteTxn, counter: &str) -> Result<u64> {
    let key = format!("next:{counter}");
    let next = match txn.get(Table::Meta, key.as_bytes())? {
        Some(b) => id_of(b).ok_or_else(|| StoreError::Corrupt {
            what: key.clone(),
            detail: "counter is not 8 bytes".into(),
        })?,
        None => 1,
    };
    txn.reserve(counter, next)?;
    txn.put(Table::Meta, key.as_bytes(), &(next + 1).to_be_bytes())?;
    Ok(next)
}

/// Adds `delta` to a signed meta total (e.g. bytes held).
pub(crate) fn add_total(txn: &mut dyn WriteTxn, name: &str, delta: i64) -> Result<u64> {
    let key = format!("total:{name}");
    let now = total(txn, name)?;
    let new = now.saturating_add_signed(delta);
    txn.put(Table::Meta, key.as_bytes(), &new.to_be_bytes())?;
    Ok(new)
}

pub(crate) fn total(txn: &dyn ReadTxn, name: &str) -> Result<u64> {
    let key = format!("total:{name}");
    Ok(txn
        .get(Table::Meta, key.as_bytes())?
        .and_then(id_of)
        .unwrap_or(0))
}

/// Normalises a value for the index: lower case, no NUL, at most [`MAX_VALUE`] bytes.
pub(crate) fn norm(value: &str) -> Vec<u8> {
    let mut v: Vec<u8> = value
        .to_lowercase()
        .into_bytes()
        .into_iter()
        .filter(|&b| b != 0)
        .collect();
    v.truncate(MAX_VALUE);
    v
}

/// The prefix of every entry of one field value.
pub(crate) fn index_prefix(table: Indexed, field: Field, value: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(3 + value.len() + 16);
    k.push(table as u8);
    k.push(field as u8);
    k.extend_from_slice(&norm(value));
    k.push(0);
    k
}

pub(crate) fn index_key(table: Indexed, field: Field, value: &str, time: u64, id: u64) -> Vec<u8> {
    let mut k = index_prefix(table, field, value);
    k.extend_from_slice(&time.to_be_bytes());
    k.extend_from_slice(&id.to_be_bytes());
    k
}

/// The record id at the end of an index key.
pub(crate) fn index_id(key: &[u8]) -> Option<u64> {
    let at = key.len().checked_sub(8)?;
    id_of(&key[at..])
}

/// The (time, id) at the end of an index key.
pub(crate) fn index_time_id(key: &[u8]) -> Option<(u64, u64)> {
    let at = key.len().checked_sub(16)?;
    Some((id_of(&key[at..])?, id_of(&key[at + 8..])?))
}

/// Index entries for an address: the address itself and its `@domain`.
pub(crate) fn address_values(address: &str) -> Vec<String> {
    let mut v = vec![address.to_string()];
    if let Some(at) = address.rfind('@') {
        v.push(address[at..].to_string());
    }
    v
}

pub(crate) fn put_index(txn: &mut dyn WriteTxn, keys: &[Vec<u8>]) -> Result<()> {
    for k in keys {
        txn.put(Table::Index, k, &[])?;
    }
    Ok(())
}

pub(crate) fn delete_index(txn: &mut dyn WriteTxn, keys: &[Vec<u8>]) -> Result<()> {
    for k in keys {
        txn.delete(Table::Index, k)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_keys_sort_by_time_then_id_within_a_value() {
        let a = index_key(Indexed::Held, Field::Sender, "A@x.org", 5, 9);
        let b = index_key(Indexed::Held, Field::Sender, "a@x.org", 6, 1);
        assert!(a < b);
        assert!(a.starts_with(&index_prefix(Indexed::Held, Field::Sender, "a@X.org")));
        assert_eq!(index_time_id(&a), Some((5, 9)));
        assert_eq!(index_id(&b), Some(1));
    }

    #[test]
    fn a_value_is_not_a_prefix_of_a_longer_value() {
        let short = index_prefix(Indexed::Held, Field::Sender, "a@x.org");
        let long = index_key(Indexed::Held, Field::Sender, "a@x.org.evil", 1, 1);
        assert!(!long.starts_with(&short));
    }

    #[test]
    fn addresses_index_their_domain() {
        assert_eq!(
            address_values("u@Example.com"),
            vec!["u@Example.com", "@Example.com"]
        );
        assert_eq!(address_values(""), vec![""]);
    }
}
