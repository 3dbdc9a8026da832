//! The inspection pool: a fixed number of OS threads (one per core by default) that run CPU-bound
//! inspection off the session event loop. Bounded, unlike a general blocking pool: under load,
//! messages wait in the queue instead of adding threads that would only compete for the same cores.

use std::sync::Arc;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Why a job produced no result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// The job panicked (the worker survives) or the pool is shutting down.
    Lost,
}

#[derive(Clone)]
pub struct Pool {
    jobs: smol::channel::Sender<Job>,
    threads: Arc<usize>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("threads", &self.threads)
            .finish()
    }
}

impl Pool {
    /// Starts `threads` workers (at least one). They end when the last `Pool` handle is dropped.
    pub fn new(threads: usize) -> std::io::Result<Pool> {
        let threads = threads.max(1);
        let (tx, rx) = smol::channel::unbounded::<Job>();
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("sluice-inspect-{i}"))
                .spawn(move || {
                    while let Ok(job) = rx.recv_blocking() {
                        // A panic is contained to its job: the caller sees `PoolError::Lost`.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })?;
        }
        Ok(Pool {
            jobs: tx,
            threads: Arc::new(threads),
        })
    }

    pub fn threads(&self) -> usize {
        *self.threads
    }

    /// Runs `f` on a worker and waits for its result without blocking the caller's thread.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let (tx, rx) = smol::channel::bounded(1);
        let job: Job = Box::new(move || {
            let _ = tx.try_send(f());
        });
        self.jobs.send(job).await.map_err(|_| PoolError::Lost)?;
        rx.recv().await.map_err(|_| PoolError::Lost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_jobs_on_its_workers_and_survives_a_panic() {
        let pool = Pool::new(2).unwrap();
        smol::block_on(async {
            let name = pool
                .run(|| std::thread::current().name().map(str::to_string))
                .await
                .unwrap();
            assert!(name.unwrap().starts_with("sluice-inspect-"));
            assert_eq!(
                pool.run(|| panic!("boom")).await,
                Err::<(), _>(PoolError::Lost)
            );
            let mut results = Vec::new();
            for i in 0..10 {
                results.push(pool.run(move || i * 2).await.unwrap());
            }
            assert_eq!(results, (0..10).map(|i| i * 2).collect::<Vec<_>>());
        });
    }
}
