//! The single writer: one thread applies every write, batching what is queued into one transaction
//! (group commit), each write in its own nested transaction so that one failing write is rolled back
//! alone. Callers are answered only after the batch committed (a synced commit).

use heed::{Env, WithoutTls};
use smol::channel::{Receiver, Sender};

use super::kv::WriteTxn;
use super::lmdb::{Dbs, Write};
use super::{Result, StoreError};

/// Most writes committed together; bounds one transaction's dirty pages and every caller's wait.
pub const MAX_BATCH: usize = 256;

/// Writes waiting for the writer; a full queue makes callers wait (back-pressure).
const QUEUE: usize = 4096;

/// The answer to one write, delivered after the commit.
type Done = Box<dyn FnOnce(Result<()>) + Send>;
type Run = Box<dyn FnOnce(&mut dyn WriteTxn) -> (bool, Done) + Send>;
/// One write: applied in a nested transaction; `(true, done)` commits it, `(false, done)` rolls it
/// back alone. `fail` answers the caller when the write could not even be started.
struct Job {
    run: Run,
    fail: Box<dyn FnOnce(StoreError) + Send>,
}

/// A handle on the writer thread; the thread ends when every handle is dropped.
#[derive(Clone)]
pub struct Writer {
    jobs: Sender<Job>,
}

impl Writer {
    pub(super) fn start(env: Env<WithoutTls>, dbs: Dbs) -> Result<Writer> {
        let (jobs, rx) = smol::channel::bounded::<Job>(QUEUE);
        std::thread::Builder::new()
            .name("sluice-store".into())
            .spawn(move || run(env, dbs, rx))
            .map_err(|e| StoreError::Io(format!("starting the store writer: {e}")))?;
        Ok(Writer { jobs })
    }

    /// Queues `f` and waits for its committed result.
    pub(super) async fn submit<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn WriteTxn) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = smol::channel::bounded::<Result<T>>(1);
        let failed = tx.clone();
        let run = Box::new(move |txn: &mut dyn WriteTxn| -> (bool, Done) {
            match f(txn) {
                Ok(value) => (
                    true,
                    Box::new(move |commit: Result<()>| {
                        let _ = tx.try_send(commit.map(|()| value));
                    }),
                ),
                Err(e) => (
                    false,
                    Box::new(move |_commit: Result<()>| {
                        let _ = tx.try_send(Err(e));
                    }),
                ),
            }
        });
        let job = Job {
            run,
            fail: Box::new(move |e| {
                let _ = failed.try_send(Err(e));
            }),
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| StoreError::Unavailable("the store writer has stopped".into()))?;
        rx.recv().await.map_err(|_| {
            StoreError::Unavailable("the store writer stopped before answering".into())
        })?
    }
}

fn run(env: Env<WithoutTls>, dbs: Dbs, rx: Receiver<Job>) {
    while let Ok(first) = rx.recv_blocking() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&env, &dbs, batch);
    }
}

fn commit_batch(env: &Env<WithoutTls>, dbs: &Dbs, batch: Vec<Job>) {
    let mut parent = match env.write_txn() {
        Ok(t) => t,
        Err(e) => {
            let err = StoreError::from(e);
            tracing::error!(error = %err, "store: cannot begin a write transaction");
            for job in batch {
                // The job is not run; its caller gets the error.
                fail_unrun(job, err.clone());
            }
            return;
        }
    };
    let mut answers: Vec<Done> = Vec::with_capacity(batch.len());
    let mut rolled_back: Vec<(Done, StoreError)> = Vec::new();
    for job in batch {
        let mut nested = match env.nested_write_txn(&mut parent) {
            Ok(t) => t,
            Err(e) => {
                let err = StoreError::from(e);
                fail_unrun(job, err.clone());
                continue;
            }
        };
        let (ok, done) = (job.run)(&mut Write {
            txn: &mut nested,
            dbs,
        });
        if ok {
            match nested.commit() {
                Ok(()) => answers.push(done),
                Err(e) => rolled_back.push((done, super::classify(e, true))),
            }
        } else {
            nested.abort();
            // The job's own error is already inside `done`.
            answers.push(done);
        }
    }
    let commit = parent.commit().map_err(|e| super::classify(e, true));
    if let Err(e) = &commit {
        tracing::error!(error = %e, writes = answers.len(), "store: commit failed; nothing of this batch was stored");
    }
    for done in answers {
        done(commit.clone());
    }
    for (done, e) in rolled_back {
        done(Err(e));
    }
}

/// Answers a job that never ran with `err`.
fn fail_unrun(job: Job, err: StoreError) {
    tracing::warn!(error = %err, "store: write not applied");
    (job.fail)(err);
}
