//! Gateway delivery without a gateway listener: `QueueKind::Gateway` entries put into the store
//! of a stopped instance (as the custody path would queue them), then `sluice serve` started on
//! that data dir with a shiftable clock, delivering them by route. For `tests/gateway_*.rs`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sluice::store::records::{QueueKind, Queued, QueuedRecipient, RcptState};
use sluice::store::{Store, queue};

use super::sluice::{binary, closed_addr};

pub const CONTENT: &[u8] = b"From: alice@partner.example\r\nTo: bob@corp.example\r\nSubject: routed\r\nMessage-ID: <r1@partner.example>\r\n\r\nThe body stays private.\r\n";

/// A config for gateway delivery: `[relay]` toward a closed port (gateway entries never use
/// it), short retries and lease, no admin server, DNS from `dns` when given, and `extra`
/// (`[gateway]`, `[[route]]`, more `[queue]` keys via `queue_extra`).
pub fn config(dns: Option<SocketAddr>, queue_extra: &str, extra: &str) -> String {
    let relay = closed_addr(IpAddr::V4(Ipv4Addr::LOCALHOST));
    let dns = dns.map_or(String::new(), |d| {
        format!("[dns]\nservers = [\"{d}\"]\ntimeout = \"2s\"\n")
    });
    super::sluice::config(
        "",
        &super::sluice::hosts_relay(&[relay]),
        &format!(
            "[admin]\nenabled = false\n\n[queue]\nretry = [\"1s\"]\nlease = \"10s\"\n{queue_extra}\n\n{dns}\n{extra}\n"
        ),
    )
}

/// A `sluice serve` on a data dir that outlives it, with a shiftable clock.
pub struct Instance {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
    dir: std::path::PathBuf,
}

impl Instance {
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

/// A gateway entry (accepted by listener "inbound") from `sender` to `rcpts`, due now.
pub fn entry(sender: &str, rcpts: &[&str]) -> Queued {
    Queued {
        id: sluice::store::records::QueueId(0),
        kind: QueueKind::Gateway {
            guid: "0192a4b6-0000-7000-8000-000000000001".into(),
            direction: sluice::policy::Direction::Inbound,
            listener: "inbound".into(),
            received: Some(now()),
        },
        created: now(),
        sender: sender.into(),
        envid: None,
        ret_full: false,
        recipients: rcpts
            .iter()
            .map(|a| QueuedRecipient {
                address: a.to_string(),
                notify: Default::default(),
                orcpt: None,
                state: RcptState::Pending,
                last_reply: None,
            })
            .collect(),
        peer: "192.0.2.10".into(),
        attempts: 0,
        next_attempt: now(),
        give_up_at: 0,
        delay_notice_sent: false,
    }
}

fn open_store(dir: &Path) -> Store {
    let options = sluice::config::Config::embedded()
        .unwrap()
        .store
        .store_options();
    Store::open(&dir.join("data/store"), &options).unwrap()
}

/// Puts entries (with [`CONTENT`]) into the store of a stopped instance.
pub fn enqueue(dir: &Path, entries: Vec<Queued>) {
    let store = open_store(dir);
    store
        .write_blocking(move |txn| {
            for e in entries {
                queue::insert(txn, e, CONTENT)?;
            }
            Ok(())
        })
        .unwrap();
    store.close();
}

pub fn queue_len(dir: &Path) -> u64 {
    let store = open_store(dir);
    let n = store.read(queue::len).unwrap();
    store.close();
    n
}

/// A port free on every one of these loopback addresses (MX delivery uses one port for all).
pub fn common_port(ips: &[Ipv4Addr]) -> u16 {
    'next: for _ in 0..50 {
        let first = std::net::TcpListener::bind((ips[0], 0)).unwrap();
        let port = first.local_addr().unwrap().port();
        for ip in &ips[1..] {
            if std::net::TcpListener::bind((*ip, port)).is_err() {
                continue 'next;
            }
        }
        return port;
    }
    panic!("no common free port on {ips:?}");
}
