//! Starts the real `sluice` binary on a loopback port with a config written by the test, collects its
//! log lines, and stops it (SIGTERM) when dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct Sluice {
    child: Option<Child>,
    pub addr: SocketAddr,
    /// The admin HTTPS address, from the "admin UI serving" line (`None` when `[admin]` is off).
    pub admin: Option<SocketAddr>,
    logs: Arc<Mutex<Vec<String>>>,
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
}

/// The path of the binary under test (built by cargo for integration tests).
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sluice"))
}

/// A config forwarding to these next hops on an ephemeral loopback listener, plus `extra` TOML
/// (top-level tables such as `[[policy]]`, `[inspection]`, `[server]`).
pub fn forward_config(hops: &[SocketAddr], extra: &str) -> String {
    let hosts: Vec<String> = hops.iter().map(|h| format!("\"{h}\"")).collect();
    format!(
        "[listener]\naddress = \"127.0.0.1:0\"\ncommand_timeout = \"30s\"\ndata_timeout = \"30s\"\nshutdown_grace = \"5s\"\n\n[relay]\nmode = \"forward\"\nhosts = [{}]\nconnect_timeout = \"2s\"\ncommand_timeout = \"10s\"\ndata_timeout = \"10s\"\n\n{extra}\n",
        hosts.join(", ")
    )
}

/// A sink and a Sluice forwarding to it with these policies.
pub fn start_forwarding(policies: &str) -> (super::sink::Sink, Sluice) {
    let sink = super::sink::Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], policies));
    (sink, sluice)
}

/// A config with extra `[listener]` keys (`listener_extra`), the `[relay]` keys in `relay` (mode and
/// where to), and `extra` top-level tables. Same timeouts as [`forward_config`] unless `listener_extra`
/// or `relay` sets them.
pub fn config(listener_extra: &str, relay: &str, extra: &str) -> String {
    let mut listener = String::from("[listener]\naddress = \"127.0.0.1:0\"\n");
    with_defaults(
        &mut listener,
        listener_extra,
        &[
            ("command_timeout", "\"30s\""),
            ("data_timeout", "\"30s\""),
            ("shutdown_grace", "\"5s\""),
        ],
    );
    format!(
        "{listener}{listener_extra}\n\n{}\n\n{extra}\n",
        relay_table(relay)
    )
}

/// Whether the TOML `text` sets `key`.
fn sets(text: &str, key: &str) -> bool {
    text.lines()
        .any(|l| l.split('=').next().is_some_and(|k| k.trim() == key))
}

/// Appends each `key = value` of `defaults` that `keys` does not set.
fn with_defaults(out: &mut String, keys: &str, defaults: &[(&str, &str)]) {
    for (k, v) in defaults {
        if !sets(keys, k) {
            out.push_str(&format!("{k} = {v}\n"));
        }
    }
}

/// The `[relay]` table: the keys in `relay`, with the tests' short timeouts unless it sets them.
fn relay_table(relay: &str) -> String {
    let mut table = String::from("[relay]\n");
    with_defaults(
        &mut table,
        relay,
        &[
            ("connect_timeout", "\"2s\""),
            ("command_timeout", "\"10s\""),
            ("data_timeout", "\"10s\""),
        ],
    );
    table.push_str(relay);
    table
}

/// A config with one `[[listener]]` table per `(name, keys)` (each on `127.0.0.1:0` unless its keys
/// set `address`; the first with `shutdown_grace = "5s"` unless set; the same timeouts as
/// [`config`]), the `[relay]` keys in `relay` and `extra` top-level tables. Find each listener's
/// port with [`Sluice::listener`].
pub fn listeners_config(listeners: &[(&str, &str)], relay: &str, extra: &str) -> String {
    let mut out = String::new();
    for (i, (name, keys)) in listeners.iter().enumerate() {
        out.push_str(&format!("[[listener]]\nname = \"{name}\"\n"));
        let mut defaults = vec![
            ("address", "\"127.0.0.1:0\""),
            ("command_timeout", "\"30s\""),
            ("data_timeout", "\"30s\""),
        ];
        if i == 0 {
            defaults.push(("shutdown_grace", "\"5s\""));
        }
        with_defaults(&mut out, keys, &defaults);
        out.push_str(keys);
        out.push_str("\n\n");
    }
    format!("{out}{}\n\n{extra}\n", relay_table(relay))
}

/// The address in a `listener bound name=<name> mode=<mode> addr=<addr>` log line, if it is one
/// for `name`.
fn bound_addr(line: &str, name: &str) -> Option<SocketAddr> {
    let rest = line.split("listener bound ").nth(1)?;
    let field = |key: &str| {
        rest.split_whitespace()
            .find_map(|f| f.strip_prefix(key))
            .map(|v| v.trim_matches('"').to_string())
    };
    (field("name=")? == name).then_some(())?;
    field("addr=")?.parse().ok()
}

/// The `[relay]` keys forwarding to these hosts in order.
pub fn hosts_relay(hops: &[SocketAddr]) -> String {
    let hosts: Vec<String> = hops.iter().map(|h| format!("\"{h}\"")).collect();
    format!("mode = \"forward\"\nhosts = [{}]", hosts.join(", "))
}

impl Sluice {
    /// Starts `sluice serve` with this config text; waits until it logs its bound address.
    pub fn start(config: &str) -> Sluice {
        Sluice::start_with_env(config, &[])
    }

    pub fn start_with_env(config: &str, env: &[(&str, &str)]) -> Sluice {
        Sluice::start_full(config, env, None)
    }

    /// Starts with `data_dir` (kept by the caller) as the data directory instead of a fresh one.
    pub fn start_with_data(config: &str, data_dir: &std::path::Path) -> Sluice {
        Sluice::start_full(config, &[], Some(data_dir.to_path_buf()))
    }

    pub fn start_full(config: &str, env: &[(&str, &str)], data_dir: Option<PathBuf>) -> Sluice {
        Sluice::start_custom(config, env, data_dir, |_| {})
    }

    /// [`Sluice::start_full`] with a last say over the command (e.g. a `pre_exec` setting rlimits).
    pub fn start_custom(
        config: &str,
        env: &[(&str, &str)],
        data_dir: Option<PathBuf>,
        customize: impl FnOnce(&mut Command),
    ) -> Sluice {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("sluice.toml");
        // The admin server defaults to 0.0.0.0:8443; tests run many instances at once, so each gets
        // an ephemeral loopback port unless the test configures [admin] itself (and a public_url, so
        // that the start-up warning about an unset one does not count as a problem).
        let config = if config.lines().any(|l| l.trim() == "[admin]") {
            config.to_string()
        } else {
            format!(
                "{config}\n[admin]\naddress = \"127.0.0.1:0\"\npublic_url = \"https://localhost\"\n"
            )
        };
        std::fs::write(&config_path, config).expect("write config");
        let mut cmd = Command::new(binary());
        cmd.arg("serve")
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(data_dir.unwrap_or_else(|| dir.path().join("data")));
        cmd.env("SLUICE_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        customize(&mut cmd);
        let mut child = cmd.spawn().expect("spawn sluice");
        let stderr = child.stderr.take().expect("stderr");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let logs = logs.clone();
            std::thread::spawn(move || {
                let mut tx = Some(tx);
                // Logged before the "listening" line, so known by the time that one is read.
                let mut admin = None;
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if line.contains("admin UI serving") {
                        admin = line
                            .split("admin_addr=")
                            .nth(1)
                            .and_then(|r| r.split_whitespace().next())
                            .and_then(|a| a.parse::<SocketAddr>().ok());
                    }
                    if line.contains("listening")
                        && let Some(a) = line
                            .split("addr=")
                            .nth(1)
                            .and_then(|r| r.split_whitespace().next())
                        && let Ok(addr) = a.parse::<SocketAddr>()
                        && let Some(tx) = tx.take()
                    {
                        let _ = tx.send((addr, admin));
                    }
                    logs.lock().unwrap().push(line);
                }
            });
        }
        let (addr, admin) = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "sluice did not report its listening address; logs:\n{}",
                    logs.lock().unwrap().join("\n")
                );
            }
        };
        Sluice {
            child: Some(child),
            addr,
            admin,
            logs,
            dir,
            config_path,
        }
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Waits until a log line contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.logs().iter().any(|l| l.contains(needle)) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Sends SIGTERM and waits for the exit status (with a timeout).
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let end = Instant::now() + Duration::from_secs(20);
        while Instant::now() < end {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        None
    }

    /// Sends SIGTERM and returns at once (see [`Sluice::wait_exit`]).
    pub fn signal_term(&self) {
        if let Some(child) = self.child.as_ref() {
            let status = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status()
                .expect("run kill");
            assert!(status.success(), "kill -TERM failed");
        }
    }

    /// Waits up to `timeout` for the process to exit; `None` if it is still running (or already reaped).
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// How many log lines contain `needle`.
    pub fn count_logs(&self, needle: &str) -> usize {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    /// Waits until at least `n` log lines contain `needle`.
    pub fn wait_log_count(&self, needle: &str, n: usize, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.count_logs(needle) >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// The first log line containing `needle`, if any.
    pub fn log_line(&self, needle: &str) -> Option<String> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .find(|l| l.contains(needle))
            .cloned()
    }

    /// The address the listener `name` accepts on now (the last `listener bound` line for it: a
    /// reload that adds or moves it logs a new one); waits up to 20 s for it.
    pub fn listener(&self, name: &str) -> SocketAddr {
        let end = Instant::now() + Duration::from_secs(20);
        loop {
            let found = self.logs().iter().rev().find_map(|l| bound_addr(l, name));
            if let Some(addr) = found {
                return addr;
            }
            assert!(
                Instant::now() < end,
                "no `listener bound name={name}` line; logs:\n{}",
                self.logs().join("\n")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// How many `listener bound` lines name `name` (a reload that adds or moves it logs one more).
    pub fn listener_binds(&self, name: &str) -> usize {
        self.logs()
            .iter()
            .filter(|l| bound_addr(l, name).is_some())
            .count()
    }

    /// The STARTTLS certificate Sluice generated in its data dir (`<dir>/data/tls/cert.pem`).
    pub fn cert_pem(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("data/tls/cert.pem"))
            .expect("generated cert.pem")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Runs a `sluice` command on this server's config and data dir: (exit code, stdout, stderr).
    pub fn cli(&self, args: &[&str]) -> (i32, String, String) {
        let config = self.config_path.to_string_lossy().into_owned();
        let mut all = args.to_vec();
        all.extend(["--config", config.as_str()]);
        self.control(&all)
    }

    /// Runs a `sluice` command with this server's data dir only (`status` and `reload`, which talk
    /// to the running server through its control socket, take no `--config`).
    pub fn control(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(binary())
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .output()
            .expect("run sluice");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// Error- and warning-level lines logged while serving, after the "listening" line (used to
    /// show that probes and QUIT hang-ups are not errors; start-up advice about the configuration,
    /// such as the monitor-mode notice, comes before it).
    pub fn error_lines(&self) -> Vec<String> {
        self.logs()
            .into_iter()
            .skip_while(|l| !l.contains(" listening addr="))
            .filter(|l| l.contains(" ERROR ") || l.contains(" WARN "))
            .collect()
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

/// An address on `ip` where nothing listens (a listener was bound there and dropped): connecting is
/// refused at once. Use a distinct 127/8 address per test so a later rebind of the same port is safe.
pub fn closed_addr(ip: std::net::IpAddr) -> SocketAddr {
    let l = std::net::TcpListener::bind(SocketAddr::new(ip, 0)).expect("bind for a closed port");
    let addr = l.local_addr().expect("local_addr");
    drop(l);
    addr
}
