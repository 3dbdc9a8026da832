//! Helpers for `benches/load.rs`: the load generator, the processes under test (smtp-sink, Sluice, a
//! private Postfix relay, smtp-source) and small measurement utilities (/proc, percentiles, rlimits).
#![allow(dead_code)]

pub mod amavis;
pub mod burst;
pub mod client;
/// Base64 and zip builders shared with the integration tests.
#[path = "../../tests/support/mime.rs"]
pub mod mime;
/// The private Postfix instance of the integration tests, reused here for the plain-relay baseline.
#[path = "../../tests/support/postfix.rs"]
pub mod postfix;
pub mod procs;
pub mod timing;

pub use postfix::{free_port, tool};

use std::path::Path;
use std::time::Duration;

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Raises the soft RLIMIT_NOFILE to the hard limit (1,000 idle sessions need ~1,000 descriptors here and
/// in Sluice, which inherits the limit). Returns the new soft limit.
pub fn raise_nofile() -> libc::rlim_t {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a valid, owned struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) == 0 && rl.rlim_cur < rl.rlim_max {
            let want = libc::rlimit {
                rlim_cur: rl.rlim_max,
                rlim_max: rl.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                rl = want;
            }
        }
    }
    rl.rlim_cur
}

/// CPU time consumed so far by the children this process has waited for (user + system).
pub fn children_cpu() -> Duration {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: valid out-pointer.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// One field ("VmRSS", "VmHWM", "Threads", ...) of /proc/<pid>/status, as its number (kB for memory).
pub fn proc_status(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines().find_map(|l| {
        let rest = l.strip_prefix(field)?.strip_prefix(':')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// Context switches (voluntary + involuntary) of all live threads of a process so far.
pub fn proc_ctx_switches(pid: u32) -> u64 {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    let mut n = 0;
    for e in dir.flatten() {
        if let Ok(text) = std::fs::read_to_string(e.path().join("status")) {
            for l in text.lines() {
                if let Some(v) = l
                    .strip_prefix("voluntary_ctxt_switches:")
                    .or_else(|| l.strip_prefix("nonvoluntary_ctxt_switches:"))
                {
                    n += v.trim().parse::<u64>().unwrap_or(0);
                }
            }
        }
    }
    n
}

/// Total CPU time (user + system, all threads) of a process so far, from /proc/<pid>/stat.
pub fn proc_cpu(pid: u32) -> Option<Duration> {
    stat_cpu(Path::new(&format!("/proc/{pid}/stat")))
}

/// Total CPU time of this process (the load generator) so far.
pub fn self_cpu() -> Duration {
    stat_cpu(Path::new("/proc/self/stat")).unwrap_or_default()
}

fn stat_cpu(path: &Path) -> Option<Duration> {
    let text = std::fs::read_to_string(path).ok()?;
    let after = text.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    // After the command: state(0) ppid(1) ... utime(11) stime(12).
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_micros(ticks * 1_000_000 / hz))
}

/// Percentile `q` (0..=1) of a sorted slice of microseconds, nearest-rank.
pub fn percentile(sorted: &[u32], q: f64) -> Option<u32> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if s.is_empty() {
        0.0
    } else if s.len() % 2 == 1 {
        s[s.len() / 2]
    } else {
        (s[s.len() / 2 - 1] + s[s.len() / 2]) / 2.0
    }
}

fn cpu_times() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let v: Vec<u64> = text
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4)?;
    Some((total, idle))
}

/// How busy the machine is right now (all cores, sampled over `window`), the load average, and any
/// compiler running: measurements on a busy 2-core box lie.
pub fn machine_noise_over(window: Duration) -> String {
    let a = cpu_times();
    std::thread::sleep(window);
    let b = cpu_times();
    let busy = match (a, b) {
        (Some((t0, i0)), Some((t1, i1))) if t1 > t0 => format!(
            "{:.0}%",
            100.0 * ((t1 - t0) - (i1 - i0)) as f64 / (t1 - t0) as f64
        ),
        _ => "?".into(),
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    let mut busy_procs = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) {
                let comm = comm.trim();
                if matches!(
                    comm,
                    "rustc" | "cc1" | "ld" | "lld" | "ld.lld" | "clippy-driver" | "rustdoc"
                ) {
                    busy_procs.push(comm.to_string());
                }
            }
        }
    }
    busy_procs.sort();
    busy_procs.dedup();
    let mut s = format!(
        "machine {busy} busy over {} ms, loadavg {}",
        window.as_millis(),
        load.join(" ")
    );
    if !busy_procs.is_empty() {
        s.push_str(&format!(
            "; COMPILING NOW: {} (numbers will be disturbed)",
            busy_procs.join(", ")
        ));
    }
    s
}

pub fn machine_noise() -> String {
    machine_noise_over(Duration::from_millis(500))
}
