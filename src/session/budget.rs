//! The global budget of message bytes held in memory by all sessions at once
//! (`listener.max_bytes_in_flight`). A session reserves before it holds: at DATA (the declared SIZE,
//! or a first chunk), then more as bytes arrive. What cannot be reserved is answered `452 4.3.1`, at
//! DATA or at the end of DATA: the client keeps the message and tries again later; nothing accepted
//! is lost. Reserving is one atomic step (no check-then-add race).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Reserved on top of what a message needs, for the header fields added before it is passed on (so
/// they are inserted in place, without a second copy of the message).
pub const HEADROOM: usize = 8 * 1024;

/// The least a reservation grows by.
const CHUNK: usize = 64 * 1024;

#[derive(Debug)]
pub struct Budget {
    used: AtomicUsize,
    /// Changed by a reload ([`Budget::set_max`]); what is reserved stays reserved.
    max: AtomicUsize,
}

/// Bytes held against the budget; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<Budget>,
    held: usize,
}

impl Budget {
    pub fn new(max: usize) -> Arc<Budget> {
        Arc::new(Budget {
            used: AtomicUsize::new(0),
            max: AtomicUsize::new(max),
        })
    }

    /// Bytes reserved now by all sessions.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }

    /// A new cap (a reload): later reservations are checked against it.
    pub fn set_max(&self, max: usize) {
        self.max.store(max, Ordering::Release);
    }

    fn take(&self, n: usize) -> bool {
        let max = self.max.load(Ordering::Acquire);
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                u.checked_add(n).filter(|&t| t <= max)
            })
            .is_ok()
    }

    /// Reserves room for a message of `expected` bytes (0 when no SIZE was declared), or `None`.
    pub fn reserve(self: &Arc<Self>, expected: usize) -> Option<Reservation> {
        let n = expected.max(CHUNK).saturating_add(HEADROOM);
        self.take(n).then(|| Reservation {
            budget: self.clone(),
            held: n,
        })
    }
}

impl Reservation {
    /// Makes sure `len` message bytes (plus the headroom) are covered, reserving more if needed:
    /// double what is held when that fits, else just enough. False when the budget cannot cover it.
    pub fn cover(&mut self, len: usize) -> bool {
        let need = len.saturating_add(HEADROOM);
        if need <= self.held {
            return true;
        }
        let generous = need.max(self.held.saturating_mul(2)) - self.held;
        let exact = need.max(self.held + CHUNK) - self.held;
        for more in [generous, exact] {
            if self.budget.take(more) {
                self.held += more;
                return true;
            }
        }
        false
    }

    /// Bytes held by this reservation.
    pub fn held(&self) -> usize {
        self.held
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.held, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_never_exceed_the_budget_and_are_given_back() {
        let b = Budget::new(1 << 20);
        let mut a = b.reserve(0).unwrap();
        assert_eq!(a.held(), CHUNK + HEADROOM);
        assert!(
            b.reserve(1 << 20).is_none(),
            "a declared size over what is left"
        );
        assert!(a.cover(600 * 1024));
        assert!(a.held() >= 600 * 1024 + HEADROOM);
        let mut c = b.reserve(0).unwrap();
        assert!(!c.cover(1 << 20), "more than the whole budget");
        assert!(b.used() <= 1 << 20);
        drop(a);
        assert!(c.cover(600 * 1024));
        drop(c);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn growing_falls_back_to_just_enough_near_the_limit() {
        let b = Budget::new(200 * 1024);
        let mut a = b.reserve(100 * 1024).unwrap();
        let held = a.held();
        // Doubling would pass the budget; the exact amount still fits.
        assert!(a.cover(150 * 1024));
        assert!(a.held() < 2 * held);
        assert!(b.used() <= 200 * 1024);
    }
}
