//! Bounded TTL cache of DNS lookup outcomes (positive and negative), keyed by name and record type.
//!
//! Entries expire after the TTL given at insertion. When the cache is full, expired entries are
//! dropped first (earliest expiry first), then the oldest inserted entries. Every operation is
//! O(log n): two ordered indexes shadow the map, one by expiry time and one by insertion order.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use hickory_proto::rr::{RData, RecordType};

/// What one (name, type) lookup resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Records of the asked type (after following CNAMEs); never empty.
    Records(Vec<RData>),
    /// The name exists but has no record of the asked type.
    NoData,
    /// The name does not exist.
    NxDomain,
}

/// Cache key: the lowercase ASCII name without trailing dot, and the record type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Key {
    name: String,
    rtype: RecordType,
}

impl Key {
    pub(super) fn new(name: &str, rtype: RecordType) -> Key {
        Key {
            name: name.trim_end_matches('.').to_ascii_lowercase(),
            rtype,
        }
    }
}

#[derive(Debug)]
struct Entry {
    outcome: Outcome,
    expires: Instant,
    seq: u64,
}

/// The cache itself; not synchronised (the resolver wraps it in a mutex).
#[derive(Debug)]
pub(super) struct Cache {
    capacity: usize,
    map: HashMap<Key, Entry>,
    by_expiry: BTreeMap<(Instant, u64), Key>,
    by_age: BTreeMap<u64, Key>,
    next_seq: u64,
}

impl Cache {
    /// A cache holding at most `capacity` entries; 0 disables caching.
    pub(super) fn new(capacity: usize) -> Cache {
        Cache {
            capacity,
            map: HashMap::new(),
            by_expiry: BTreeMap::new(),
            by_age: BTreeMap::new(),
            next_seq: 0,
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    /// The live outcome for `key`, if any. An expired entry is removed and reported as a miss.
    pub(super) fn get(&mut self, key: &Key, now: Instant) -> Option<Outcome> {
        let expires = self.map.get(key)?.expires;
        if expires <= now {
            self.remove(key);
            return None;
        }
        self.map.get(key).map(|entry| entry.outcome.clone())
    }

    /// Store `outcome` for `ttl` from `now`, replacing any previous entry for `key`.
    /// A zero TTL (or a zero-capacity cache) stores nothing.
    pub(super) fn insert(&mut self, key: Key, outcome: Outcome, ttl: Duration, now: Instant) {
        if self.capacity == 0 || ttl.is_zero() {
            return;
        }
        let Some(expires) = now.checked_add(ttl) else {
            return;
        };
        self.remove(&key);
        if self.map.len() >= self.capacity {
            self.purge_expired(now);
        }
        while self.map.len() >= self.capacity {
            let Some((_, oldest)) = self.by_age.pop_first() else {
                break;
            };
            self.remove(&oldest);
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.by_expiry.insert((expires, seq), key.clone());
        self.by_age.insert(seq, key.clone());
        self.map.insert(
            key,
            Entry {
                outcome,
                expires,
                seq,
            },
        );
    }

    /// Drop every entry whose expiry is at or before `now`.
    fn purge_expired(&mut self, now: Instant) {
        while let Some(entry) = self.by_expiry.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            self.remove(&key);
        }
    }

    fn remove(&mut self, key: &Key) {
        if let Some(entry) = self.map.remove(key) {
            self.by_expiry.remove(&(entry.expires, entry.seq));
            self.by_age.remove(&entry.seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Key {
        Key::new(name, RecordType::MX)
    }

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn hit_until_expiry_then_miss() {
        let mut cache = Cache::new(4);
        let now = Instant::now();
        cache.insert(key("a.example"), Outcome::NoData, MIN, now);
        assert_eq!(cache.get(&key("A.Example."), now), Some(Outcome::NoData));
        assert_eq!(
            cache.get(&key("a.example"), now + MIN - Duration::from_millis(1)),
            Some(Outcome::NoData)
        );
        assert_eq!(cache.get(&key("a.example"), now + MIN), None);
        assert_eq!(cache.len(), 0);
    }

    #[test]
    fn type_is_part_of_the_key() {
        let mut cache = Cache::new(4);
        let now = Instant::now();
        cache.insert(key("a.example"), Outcome::NxDomain, MIN, now);
        assert_eq!(cache.get(&Key::new("a.example", RecordType::A), now), None);
    }

    #[test]
    fn zero_capacity_or_ttl_stores_nothing() {
        let now = Instant::now();
        let mut off = Cache::new(0);
        off.insert(key("a"), Outcome::NoData, MIN, now);
        assert_eq!(off.len(), 0);
        let mut on = Cache::new(2);
        on.insert(key("a"), Outcome::NoData, Duration::ZERO, now);
        assert_eq!(on.len(), 0);
    }

    #[test]
    fn full_cache_evicts_expired_first_then_oldest() {
        let mut cache = Cache::new(3);
        let now = Instant::now();
        cache.insert(key("old"), Outcome::NoData, MIN * 10, now);
        cache.insert(key("short"), Outcome::NoData, MIN, now);
        cache.insert(key("mid"), Outcome::NoData, MIN * 10, now);
        let later = now + MIN * 2;
        // "short" has expired: it goes, "old" survives.
        cache.insert(key("new1"), Outcome::NoData, MIN, later);
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&key("old"), later).is_some());
        // Nothing expired now: the oldest insertion ("old") is evicted.
        cache.insert(key("new2"), Outcome::NoData, MIN, later);
        assert_eq!(cache.len(), 3);
        assert!(cache.get(&key("old"), later).is_none());
        assert!(cache.get(&key("mid"), later).is_some());
        assert!(cache.get(&key("new1"), later).is_some());
        assert!(cache.get(&key("new2"), later).is_some());
    }

    #[test]
    fn replacing_an_entry_does_not_evict_others() {
        let mut cache = Cache::new(2);
        let now = Instant::now();
        cache.insert(key("a"), Outcome::NoData, MIN, now);
        cache.insert(key("b"), Outcome::NoData, MIN, now);
        cache.insert(key("a"), Outcome::NxDomain, MIN, now);
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&key("a"), now), Some(Outcome::NxDomain));
        assert_eq!(cache.get(&key("b"), now), Some(Outcome::NoData));
        assert_eq!(cache.by_age.len(), 2);
        assert_eq!(cache.by_expiry.len(), 2);
    }
}
