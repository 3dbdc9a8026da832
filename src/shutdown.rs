//! Graceful shutdown as a value every task can watch: running (0) -> draining (stop accepting, let open
//! transactions finish) -> aborting (answer the rest 421 and close).

use std::sync::atomic::{AtomicU8, Ordering};

use event_listener::{Event, Listener};

const DRAINING: u8 = 1;
const ABORTING: u8 = 2;

#[derive(Debug, Default)]
pub struct Shutdown {
    state: AtomicU8,
    changed: Event,
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Stop accepting; sessions close when they are between transactions.
    pub fn drain(&self) {
        self.state.fetch_max(DRAINING, Ordering::SeqCst);
        self.changed.notify(usize::MAX);
    }

    /// Every session answers 421 at its next opportunity and closes.
    pub fn abort(&self) {
        self.state.fetch_max(ABORTING, Ordering::SeqCst);
        self.changed.notify(usize::MAX);
    }

    pub fn is_draining(&self) -> bool {
        self.state.load(Ordering::SeqCst) >= DRAINING
    }

    pub fn is_aborting(&self) -> bool {
        self.state.load(Ordering::SeqCst) >= ABORTING
    }

    async fn reached(&self, level: u8) {
        loop {
            if self.state.load(Ordering::SeqCst) >= level {
                return;
            }
            let listener = self.changed.listen();
            if self.state.load(Ordering::SeqCst) >= level {
                return;
            }
            listener.await;
        }
    }

    /// Resolves once draining (or aborting) has begun.
    pub async fn draining(&self) {
        self.reached(DRAINING).await
    }

    /// Resolves once aborting has begun.
    pub async fn aborting(&self) {
        self.reached(ABORTING).await
    }

    /// Blocks the calling thread until draining begins (for non-async waiters).
    pub fn wait_draining_blocking(&self) {
        while !self.is_draining() {
            let l = self.changed.listen();
            if self.is_draining() {
                break;
            }
            l.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_wake_in_order() {
        let s = std::sync::Arc::new(Shutdown::new());
        let s2 = s.clone();
        let t = std::thread::spawn(move || {
            smol::block_on(async {
                s2.draining().await;
                s2.is_aborting()
            })
        });
        std::thread::sleep(std::time::Duration::from_millis(20));
        s.drain();
        assert!(!t.join().unwrap());
        s.abort();
        smol::block_on(s.aborting());
        assert!(s.is_draining());
    }
}
