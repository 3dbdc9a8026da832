//! The app's background tasks: work that outlives what started it (the incidents of a relayed
//! message, an alert to the administrators, the retention purge, the approval expiry sweep), run on
//! the app's executor as one [`Group`] that shutdown waits for ([`Group::join`]): what is in flight
//! finishes, or is cancelled at the deadline and dropped before the process exits. Nothing here
//! knows what the tasks do. Sessions, admin connections and deliveries are not in the group: they
//! have their own gauges, which shutdown watches first.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_lite::FutureExt;
use smol::{Executor, Task};

/// Background tasks on one executor; cheap to clone (every clone is the same group).
#[derive(Clone)]
pub struct Group {
    inner: Arc<Inner>,
}

struct Inner {
    ex: Arc<Executor<'static>>,
    tasks: Mutex<Vec<Task<()>>>,
}

/// What [`Group::join`] found: tasks that ran to their end, and tasks cancelled at the deadline.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Joined {
    pub finished: usize,
    pub cancelled: usize,
}

impl Group {
    /// A group whose tasks run on `ex` (the app's executor; they run while it is run).
    pub fn new(ex: Arc<Executor<'static>>) -> Group {
        Group {
            inner: Arc::new(Inner {
                ex,
                tasks: Mutex::new(Vec::new()),
            }),
        }
    }

    fn tasks(&self) -> std::sync::MutexGuard<'_, Vec<Task<()>>> {
        self.inner.tasks.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts `work` on the app's executor; the group keeps its handle until it is joined.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        let task = self.inner.ex.spawn(work);
        let mut tasks = self.tasks();
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    /// Tasks started and not yet finished.
    pub fn running(&self) -> usize {
        self.tasks().iter().filter(|t| !t.is_finished()).count()
    }

    /// Waits for every task until `deadline`, then cancels the rest and waits until each is
    /// dropped. Tasks started while joining (by a task being joined) are waited for too.
    pub async fn join(&self, deadline: Instant) -> Joined {
        let mut joined = Joined::default();
        loop {
            let batch = std::mem::take(&mut *self.tasks());
            if batch.is_empty() {
                return joined;
            }
            for mut task in batch {
                let done = async {
                    (&mut task).await;
                    true
                }
                .or(async {
                    smol::Timer::at(deadline).await;
                    false
                })
                .await;
                if done {
                    joined.finished += 1;
                } else {
                    task.cancel().await;
                    joined.cancelled += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    #[test]
    fn join_waits_for_work_in_flight() {
        let ex = Arc::new(Executor::new());
        let group = Group::new(ex.clone());
        let (tx, rx) = smol::channel::bounded::<()>(1);
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        group.spawn(async move {
            let _ = rx.recv().await;
            d.store(true, Ordering::SeqCst);
        });
        assert_eq!(group.running(), 1);
        let far = Instant::now() + Duration::from_secs(3600);
        let joined = smol::block_on(ex.run(async {
            // The work is still waiting when the join begins; it is released during the join.
            let join = group.join(far);
            let release = async {
                let _ = tx.send(()).await;
                Joined::default()
            };
            futures_lite::future::zip(join, release).await.0
        }));
        assert!(done.load(Ordering::SeqCst));
        assert_eq!(
            joined,
            Joined {
                finished: 1,
                cancelled: 0
            }
        );
        assert_eq!(group.running(), 0);
    }

    #[test]
    fn join_cancels_what_is_left_at_the_deadline() {
        let ex = Arc::new(Executor::new());
        let group = Group::new(ex.clone());
        // Dropped when the task is cancelled: the join returns only after that.
        struct Flag(Arc<AtomicBool>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = Flag(dropped.clone());
        group.spawn(async move {
            let _flag = flag;
            futures_lite::future::pending::<()>().await;
        });
        let joined = smol::block_on(ex.run(group.join(Instant::now())));
        assert_eq!(
            joined,
            Joined {
                finished: 0,
                cancelled: 1
            }
        );
        assert!(dropped.load(Ordering::SeqCst));
    }
}
