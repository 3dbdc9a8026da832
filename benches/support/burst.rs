//! The large-message burst of `benches/load.rs`: N sessions each send one message of S bytes at once,
//! while Sluice's resident memory is sampled, to show `listener.max_bytes_in_flight` bounding the peak
//! and the memory going back afterwards.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use super::client::{self, LoadSpec};
use super::proc_status;

/// What one burst did to Sluice's memory (kB) and how the messages ended.
#[derive(Debug, Default)]
pub struct Burst {
    pub sessions: usize,
    pub size: usize,
    /// VmRSS before the burst.
    pub before: Option<u64>,
    /// The highest VmRSS sampled (every 10 ms) during the burst.
    pub peak: u64,
    /// VmRSS one second after the last session ended.
    pub after: Option<u64>,
    /// VmHWM after the burst (the process's peak since start).
    pub hwm: Option<u64>,
    /// Messages acknowledged with 250, and refused (452 at DATA or at its end: retried by a real MTA).
    pub ok: usize,
    pub deferred: usize,
    pub errors: Vec<String>,
}

/// Runs the burst against Sluice at `addr` (process `pid`).
pub fn run(addr: SocketAddr, pid: u32, sessions: usize, size: usize) -> Burst {
    let (_msg, wire) = client::make_message(size, "us-ascii");
    let before = proc_status(pid, "VmRSS");
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(before.unwrap_or(0)));
    let sampler = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(rss) = proc_status(pid, "VmRSS") {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let r = client::run(&LoadSpec {
        addr,
        sessions,
        messages: sessions,
        wire: Arc::new(wire),
        size,
        rate: None,
        from: "burst@bench.example".into(),
        to: "rcpt@sink.example".into(),
        stamp: None,
    });
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    std::thread::sleep(Duration::from_secs(1));
    Burst {
        sessions,
        size,
        before,
        peak: peak.load(Ordering::Relaxed),
        after: proc_status(pid, "VmRSS"),
        hwm: proc_status(pid, "VmHWM"),
        ok: r.ok,
        deferred: r.failed,
        errors: r.errors,
    }
}

impl Burst {
    /// The report lines.
    pub fn print(&self) {
        let mb = |k: Option<u64>| k.map_or("-".into(), |k| format!("{:.1} MB", k as f64 / 1024.0));
        println!(
            "  burst of {} messages of {:.1} MB at once: VmRSS before {}, peak during {}, 1 s after {}; VmHWM {}",
            self.sessions,
            self.size as f64 / 1e6,
            mb(self.before),
            mb(Some(self.peak)),
            mb(self.after),
            mb(self.hwm)
        );
        println!(
            "    {} relayed, {} deferred with 4xx (listener.max_bytes_in_flight){}",
            self.ok,
            self.deferred,
            if self.errors.is_empty() {
                String::new()
            } else {
                format!(
                    "; first replies: {:?}",
                    &self.errors[..self.errors.len().min(3)]
                )
            }
        );
    }
}
