//! A `sluice serve` on a data dir that outlives it (restarts, `kill -9`), with a shiftable clock
//! (`SLUICE_CLOCK_OFFSET_FILE`), and entries put into the delivery queue of its store while it is
//! stopped (as the remediation or custody code would queue them). For `tests/queue.rs` and
//! `support::gateway_queue`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice::store::records::{QueueId, Queued};
use sluice::store::{Store, queue};

use super::sluice::binary;

/// A running `sluice serve` on `dir/data`, with `dir/sluice.toml` and `dir/clock-offset`.
pub struct Instance {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    dir: PathBuf,
}

impl Instance {
    /// Starts it and waits for its delivery worker.
    pub fn start(dir: &Path, config: &str) -> Instance {
        let config_path = dir.join("sluice.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut child = Command::new(binary())
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .env("SLUICE_LOG", "info")
            .env("SLUICE_CLOCK_OFFSET_FILE", dir.join("clock-offset"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sluice");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        let me = Instance {
            child,
            logs,
            dir: dir.to_path_buf(),
        };
        assert!(
            me.wait_log("queue: delivery worker started", 1, Duration::from_secs(20)),
            "sluice did not start its queue worker:\n{}",
            me.logs().join("\n")
        );
        me
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Log lines holding every `&`-separated needle.
    pub fn lines(&self, needles: &str) -> Vec<String> {
        self.logs()
            .into_iter()
            .filter(|l| needles.split('&').all(|x| l.contains(x)))
            .collect()
    }

    pub fn count(&self, needles: &str) -> usize {
        self.lines(needles).len()
    }

    /// Waits until `n` log lines hold every `&`-separated needle.
    pub fn wait_log(&self, needles: &str, n: usize, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.count(needles) >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Moves Sluice's clock forward by `secs` from real time.
    pub fn shift_clock(&self, secs: u64) {
        std::fs::write(self.dir.join("clock-offset"), format!("{secs}\n")).unwrap();
    }

    /// Kills it with SIGKILL and reaps it.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The store of the instance in `dir` (stopped, or running: LMDB lets both write), opened with
/// the shipped options.
pub fn open_store(dir: &Path) -> Store {
    let options = sluice::config::Config::embedded()
        .unwrap()
        .store
        .store_options();
    Store::open(&dir.join("data/store"), &options).unwrap()
}

/// Puts entries with `content` into the queue of the instance in `dir`; their ids.
pub fn enqueue(dir: &Path, entries: Vec<Queued>, content: &'static [u8]) -> Vec<QueueId> {
    let store = open_store(dir);
    let ids = store
        .write_blocking(move |txn| {
            let mut ids = Vec::new();
            for e in entries {
                ids.push(queue::insert(txn, e, content)?);
            }
            Ok(ids)
        })
        .unwrap();
    store.close();
    ids
}

/// Entries in the queue of the instance in `dir`.
pub fn queue_len(dir: &Path) -> u64 {
    let store = open_store(dir);
    let n = store.read(queue::len).unwrap();
    store.close();
    n
}
