//! The processes of the benchmark: Postfix's `smtp-sink` (the final sink of every path, counting the
//! messages it receives), the `sluice` binary under test, a private Postfix instance configured as a
//! plain relay, and Postfix's `smtp-source` as a second load generator. Each is stopped on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{free_port, is_root, tool};

fn wait_greeting(addr: SocketAddr, timeout: Duration) -> Result<(), String> {
    let end = Instant::now() + timeout;
    loop {
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 512];
            if let Ok(n) = s.read(&mut buf)
                && buf[..n].starts_with(b"220")
            {
                let _ = s.write_all(b"QUIT\r\n");
                let _ = s.read(&mut buf);
                return Ok(());
            }
        }
        if Instant::now() > end {
            return Err(format!("nothing answers with 220 on {addr}"));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn terminate(child: &mut Child, timeout: Duration) {
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

// ---------------------------------------------------------------------------------------------------
// smtp-sink

/// `smtp-sink -c`: accepts everything, writes nothing to disk, and prints a running counter
/// ("sess=N quit=N mesg=N", CR-separated) that is parsed here to count the messages it received.
pub struct SmtpSink {
    child: Child,
    pub addr: SocketAddr,
    received: Arc<AtomicU64>,
    pub command: String,
}

impl SmtpSink {
    pub fn start() -> Result<SmtpSink, String> {
        let port = free_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let mut args: Vec<String> = Vec::new();
        if is_root() {
            // smtp-sink refuses to run as root without a user to switch to.
            args.extend(["-u".into(), "nobody".into()]);
        }
        // -c: counters on stdout; -m: concurrent sessions served (the rest wait in the backlog).
        args.extend([
            "-c".into(),
            "-m".into(),
            "2000".into(),
            format!("127.0.0.1:{port}"),
            "1024".into(),
        ]);
        let command = format!("smtp-sink {}", args.join(" "));
        let mut child = Command::new(tool("smtp-sink"))
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run smtp-sink (apt-get install postfix): {e}"))?;
        let received = Arc::new(AtomicU64::new(0));
        let mut out = child.stdout.take().expect("stdout");
        {
            let received = received.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let mut pending = Vec::new();
                while let Ok(n) = out.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    pending.extend_from_slice(&buf[..n]);
                    while let Some(pos) = pending.iter().position(|&b| b == b'\r' || b == b'\n') {
                        let rec: Vec<u8> = pending.drain(..=pos).collect();
                        let text = String::from_utf8_lossy(&rec);
                        if let Some(m) = text
                            .split("mesg=")
                            .nth(1)
                            .and_then(|r| r.split_whitespace().next())
                            .and_then(|v| v.parse::<u64>().ok())
                        {
                            received.fetch_max(m, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
        let sink = SmtpSink {
            child,
            addr,
            received,
            command,
        };
        wait_greeting(addr, Duration::from_secs(10))?;
        Ok(sink)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Messages received so far (ended with "." at the sink).
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Waits until the sink has received at least `n` messages; returns when that happened.
    pub fn wait_received(&self, n: u64, timeout: Duration) -> Option<Instant> {
        let end = Instant::now() + timeout;
        loop {
            if self.received() >= n {
                return Some(Instant::now());
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        terminate(&mut self.child, Duration::from_secs(5));
    }
}

// ---------------------------------------------------------------------------------------------------
// Sluice

pub struct Sluice {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub config: String,
    relayed: Arc<AtomicU64>,
    problems: Arc<Mutex<Vec<String>>>,
    problem_count: Arc<AtomicU64>,
    /// The first log lines (those that are not "message relayed").
    early: Arc<Mutex<Vec<String>>>,
}

/// Forwarding to the sink, the keyword policy on. `max_sessions` is raised above the default 1,000 only
/// so that the idle-session measurement (1,000 sessions) cannot collide with a straggler; the
/// per-client limit is lifted because every generator connection comes from one address.
pub fn sluice_config(
    listen: SocketAddr,
    sink: SocketAddr,
    max_sessions: usize,
    action: &str,
) -> String {
    if action == "none" {
        // Diagnostics only: no policy at all (inspection is skipped entirely).
        return format!(
            "[server]\nhostname = \"sluice.bench.example\"\n\n[listener]\naddress = \"{listen}\"\nmax_sessions = {max_sessions}\nmax_sessions_per_client = {max_sessions}\n\n[relay]\nmode = \"forward\"\nhosts = [\"{sink}\"]\n"
        );
    }
    format!(
        r#"[server]
hostname = "sluice.bench.example"

[listener]
address = "{listen}"
max_sessions = {max_sessions}
# Every generator connection comes from 127.0.0.1.
max_sessions_per_client = {max_sessions}

[relay]
mode = "forward"
hosts = ["{sink}"]

[[policy]]
id = 1
name = "Confidential keywords"
keywords = ["secret", "confidential", "project falcon"]
action = "{action}"
{extra}
"#,
        extra = if action == "modify" {
            "subject = { mode = \"prepend\", text = \"[DLP] \" }\n"
        } else {
            ""
        }
    )
}

impl Sluice {
    /// Starts `sluice serve` with this config (whose listener address is `addr`) and waits until it
    /// answers there with a greeting.
    pub fn start(
        binary: &Path,
        addr: SocketAddr,
        config: &str,
        log_level: &str,
    ) -> Result<Sluice, String> {
        Sluice::start_in(binary, addr, config, log_level, None)
    }

    /// [`Sluice::start`] with this data directory (prepared by the caller) instead of a fresh one.
    pub fn start_in(
        binary: &Path,
        addr: SocketAddr,
        config: &str,
        log_level: &str,
        data_dir: Option<&Path>,
    ) -> Result<Sluice, String> {
        let dir = tempfile::Builder::new()
            .prefix("sluice-bench-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let cfg_path = dir.path().join("sluice.toml");
        // The admin port on an ephemeral loopback port, so benches never clash on 8443 (and a
        // public_url: an unset one is a start-up WARN, which would count as a problem).
        let config = if config.contains("[admin]") {
            config.to_string()
        } else {
            format!(
                "{config}\n[admin]\naddress = \"127.0.0.1:0\"\npublic_url = \"https://localhost\"\n"
            )
        };
        std::fs::write(&cfg_path, &config).map_err(|e| e.to_string())?;
        let mut child = Command::new(binary)
            .arg("serve")
            .arg("--config")
            .arg(&cfg_path)
            .arg("--data-dir")
            .arg(data_dir.map_or_else(|| dir.path().join("data"), Path::to_path_buf))
            .env("SLUICE_LOG", log_level)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run {}: {e} (build it with `cargo build --release`)",
                    binary.display()
                )
            })?;
        let stderr = child.stderr.take().expect("stderr");
        let relayed = Arc::new(AtomicU64::new(0));
        let problems = Arc::new(Mutex::new(Vec::new()));
        let problem_count = Arc::new(AtomicU64::new(0));
        let early = Arc::new(Mutex::new(Vec::new()));
        {
            let (relayed, problems, problem_count, early) = (
                relayed.clone(),
                problems.clone(),
                problem_count.clone(),
                early.clone(),
            );
            std::thread::spawn(move || {
                // The log is drained (and counted) here so that Sluice never blocks on a full pipe.
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("message relayed") {
                        relayed.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    {
                        let mut e = early.lock().unwrap();
                        if e.len() < 50 {
                            e.push(line.clone());
                        }
                    }
                    if line.contains(" WARN ") || line.contains(" ERROR ") {
                        problem_count.fetch_add(1, Ordering::Relaxed);
                        let mut p = problems.lock().unwrap();
                        if p.len() < 10 {
                            p.push(line);
                        }
                    }
                }
            });
        }
        let end = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                std::thread::sleep(Duration::from_millis(100));
                return Err(format!(
                    "sluice exited ({status}) before listening:\n{}",
                    early.lock().unwrap().join("\n")
                ));
            }
            if wait_greeting(addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if Instant::now() > end {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "sluice does not answer on {addr} after 30 s:\n{}",
                    early.lock().unwrap().join("\n")
                ));
            }
        }
        Ok(Sluice {
            child: Some(child),
            addr,
            dir,
            config: config.to_string(),
            relayed,
            problems,
            problem_count,
            early,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// The first of the early log lines (start-up) that contains `needle`.
    pub fn early_line(&self, needle: &str) -> Option<String> {
        let lines = self.early.lock().unwrap();
        lines.iter().find(|l| l.contains(needle)).cloned()
    }

    /// "message relayed" log lines so far (0 when the log level hides them).
    pub fn relayed(&self) -> u64 {
        self.relayed.load(Ordering::Relaxed)
    }

    /// WARN/ERROR lines logged so far (count, first few).
    pub fn problems(&self) -> (u64, Vec<String>) {
        (
            self.problem_count.load(Ordering::Relaxed),
            self.problems.lock().unwrap().clone(),
        )
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            terminate(&mut c, Duration::from_secs(40));
        }
    }
}

impl Drop for Sluice {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Private Postfix relay

/// A throw-away Postfix instance (the integration tests' `tests/support/postfix.rs`) that relays
/// everything it receives to the sink, with no content filter. Needs root and Debian's postfix.
pub fn postfix_relay(sink: SocketAddr) -> Result<super::postfix::Postfix, String> {
    if let Some(why) = super::postfix::unavailable() {
        return Err(why);
    }
    let cfg = super::postfix::PostfixConfig {
        content_filter: None,
        relayhost: sink,
        smtp_port: 0,
        resubmit_port: 0,
        main_extra: Vec::new(),
        resubmit_options: Vec::new(),
        files: Vec::new(),
        filter_maxproc: None,
    };
    Ok(super::postfix::Postfix::start(&cfg))
}

// ---------------------------------------------------------------------------------------------------
// smtp-source

pub struct SourceRun {
    pub elapsed: Duration,
    pub ok: bool,
    pub output: String,
    /// CPU time of smtp-source itself.
    pub cpu: Duration,
    pub command: String,
}

/// Runs `smtp-source` to completion: `reuse` adds `-d` (one connection per session for all its
/// messages); without it every message gets its own connection.
pub fn smtp_source(
    addr: SocketAddr,
    sessions: usize,
    messages: usize,
    payload: usize,
    reuse: bool,
) -> SourceRun {
    let mut args: Vec<String> = Vec::new();
    if reuse {
        args.push("-d".into());
    }
    args.extend([
        "-s".into(),
        sessions.to_string(),
        "-m".into(),
        messages.to_string(),
        "-l".into(),
        payload.to_string(),
        "-M".into(),
        "loadgen.bench.example".into(),
        "-f".into(),
        "loadgen@bench.example".into(),
        "-t".into(),
        "rcpt@sink.example".into(),
        format!("127.0.0.1:{}", addr.port()),
    ]);
    let command = format!("smtp-source {}", args.join(" "));
    let cpu0 = super::children_cpu();
    let t = Instant::now();
    let out = Command::new(tool("smtp-source"))
        .args(&args)
        .stdin(Stdio::null())
        .output();
    let elapsed = t.elapsed();
    let cpu = super::children_cpu().saturating_sub(cpu0);
    match out {
        Ok(o) => SourceRun {
            elapsed,
            ok: o.status.success(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
            .trim()
            .to_string(),
            cpu,
            command,
        },
        Err(e) => SourceRun {
            elapsed,
            ok: false,
            output: format!("cannot run smtp-source: {e}"),
            cpu,
            command,
        },
    }
}

// ---------------------------------------------------------------------------------------------------
// A do-nothing TCP relay (diagnostic floor)

/// A byte-for-byte TCP relay inside the bench process (one thread per direction, blocking copies, no
/// SMTP processing at all): what any in-line proxy costs on this machine before doing any work.
/// It runs until the bench exits.
pub fn tcp_relay(target: SocketAddr) -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    std::thread::Builder::new()
        .name("tcp-relay".into())
        .spawn(move || {
            for conn in listener.incoming() {
                let Ok(up) = conn else { continue };
                let Ok(down) = TcpStream::connect(target) else {
                    continue;
                };
                let _ = up.set_nodelay(true);
                let _ = down.set_nodelay(true);
                let (Ok(up2), Ok(down2)) = (up.try_clone(), down.try_clone()) else {
                    continue;
                };
                for (mut from, mut to) in [(up, down), (down2, up2)] {
                    let _ = std::thread::Builder::new()
                        .stack_size(64 * 1024)
                        .spawn(move || {
                            let mut buf = vec![0u8; 64 * 1024];
                            loop {
                                match from.read(&mut buf) {
                                    Ok(0) | Err(_) => break,
                                    Ok(n) => {
                                        if to.write_all(&buf[..n]).is_err() {
                                            break;
                                        }
                                    }
                                }
                            }
                            let _ = to.shutdown(std::net::Shutdown::Write);
                        });
                }
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(addr)
}
