//! Connections per client, for the SMTP listener (`listener.max_sessions_per_client`, Postfix's anvil
//! count) and the admin listener (`admin.max_connections_per_client`): one slot per open connection,
//! at most `max` per client, where a client is an IPv4 address or an IPv6 /64 (one host usually has a whole /64).
//! Checking and taking a slot is one step under one lock.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Open connections per client.
pub struct Clients {
    /// Changed by a reload ([`Clients::set_max`]); open connections keep their slots.
    max: AtomicUsize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`Clients`], given back when dropped.
pub struct ClientSlot {
    clients: Arc<Clients>,
    client: IpAddr,
}

impl Clients {
    pub fn new(max: usize) -> Arc<Clients> {
        Arc::new(Clients {
            max: AtomicUsize::new(max),
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for a connection from `ip`, unless its client already has `max` open.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<ClientSlot> {
        let client = client_of(ip);
        let mut open = self.lock();
        let n = open.entry(client).or_insert(0);
        if *n >= self.max() {
            return None;
        }
        *n += 1;
        Some(ClientSlot {
            clients: self.clone(),
            client,
        })
    }

    /// The most connections one client may have open.
    pub fn max(&self) -> usize {
        self.max.load(Ordering::Acquire)
    }

    /// A new most per client (a reload): counts of open connections carry over.
    pub fn set_max(&self, max: usize) {
        self.max.store(max, Ordering::Release);
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        // The map holds plain counts: a panic elsewhere cannot leave it inconsistent.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut open = self.clients.lock();
        if let Some(n) = open.get_mut(&self.client) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.client);
            }
        }
    }
}

/// The client an address belongs to: IPv4 (mapped IPv6 included) as it is, IPv6 by its /64.
pub(crate) fn client_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !0u128 >> 64 << 64)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_client_and_gives_slots_back() {
        let clients = Clients::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let first = clients.try_acquire(a).unwrap();
        let _second = clients.try_acquire(a).unwrap();
        assert!(clients.try_acquire(a).is_none());
        // The same client written as a mapped IPv6 address.
        assert!(
            clients
                .try_acquire("::ffff:192.0.2.1".parse().unwrap())
                .is_none()
        );
        let _other = clients.try_acquire(b).unwrap();
        drop(first);
        assert!(clients.try_acquire(a).is_some());
        // One IPv6 /64 is one client; the next /64 is another.
        let _x = clients.try_acquire("2001:db8::1".parse().unwrap()).unwrap();
        let _y = clients
            .try_acquire("2001:db8::ffff:2".parse().unwrap())
            .unwrap();
        assert!(
            clients
                .try_acquire("2001:db8::3".parse().unwrap())
                .is_none()
        );
        assert!(
            clients
                .try_acquire("2001:db8:0:1::1".parse().unwrap())
                .is_some()
        );
    }
}
