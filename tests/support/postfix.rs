//! A private, throw-away Postfix instance for integration tests: its own config directory, queue and
//! data directories under a temp dir, listening only on loopback ports, with every message it would
//! send out going to a relay host (the test's sink) and mail received on its main listener passed
//! through a content filter (Sluice in reflecting mode).
//!
//! The layout is the seed's "second SMTP listener" architecture (Postfix FILTER_README, advanced
//! content filter):
//!
//! ```text
//! client -> 127.0.0.1:smtp (smtpd, content_filter=smtp:[127.0.0.1]:<sluice>)
//!        -> queue -> smtp client -> Sluice (reflect) -> 127.0.0.1:resubmit (smtpd, content_filter=)
//!        -> queue -> smtp client -> relayhost [127.0.0.1]:<sink>
//! ```
//!
//! Recipe (needs root and the Debian package `postfix`, installed with
//! `DEBIAN_FRONTEND=noninteractive apt-get install -y postfix`, i.e. debconf "No configuration";
//! nothing in /etc/postfix is read or changed):
//! - a temp dir (mode 0755 so the unprivileged daemons can traverse it) holding `conf/main.cf`,
//!   `conf/master.cf`, `queue/`, `data/` and `maillog`;
//! - `postfix -c conf start`: postfix-script runs `post-install create-missing`, which creates the
//!   queue and data directories with the right owners (root, `postfix`, `postdrop`), checks the
//!   queue, and starts a detached master that writes its pid to `queue/pid/master.pid`;
//!   as root, `-c` needs no `alternate_config_directories` entry in the default main.cf;
//! - master.cf is written here, not copied: only the services this instance needs, chroot off
//!   everywhere (a chroot would need a copy of /etc files in the queue directory), and `postlog` so
//!   that `maillog_file` works without syslog;
//! - `postfix -c conf stop` on drop (also while unwinding from a panic), then `kill -9` of the
//!   master's process group from the pid file if it is still there; the temp dir goes after that;
//! - instances left behind by a test process killed without unwinding (SIGKILL, CI timeout) are
//!   stopped and removed by the next test process that starts one (the temp dir records its owner pid).
//!
//! Ports are picked below the kernel's ephemeral range (so no outgoing connection's source port and
//! no `bind(0)` of another test can take them between the pick and Postfix's bind) and are never
//! handed out twice by one test process.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a test instance connects to.
#[derive(Debug, Clone)]
pub struct PostfixConfig {
    /// Where mail received on the main listener is sent for inspection (`content_filter`);
    /// `None`: no content filter (plain relay to the sink).
    pub content_filter: Option<SocketAddr>,
    /// Where every outgoing message goes (`relayhost`), normally the test's sink.
    pub relayhost: SocketAddr,
    /// The main listener's port (0: pick one).
    pub smtp_port: u16,
    /// The resubmission listener's port (the reflecting MTA's second listener; 0: pick one).
    pub resubmit_port: u16,
    /// Extra `main.cf` lines (`name = value`), appended last so they override the defaults here.
    pub main_extra: Vec<String>,
    /// Extra `-o name=value` options (no blanks) for the resubmission listener only; values may
    /// name files given in `files` as `$config_directory/<name>`.
    pub resubmit_options: Vec<String>,
    /// Files written into the config directory before start, as (name, content): lookup tables
    /// such as `texthash:$config_directory/<name>`.
    pub files: Vec<(String, String)>,
    /// Processes delivering to the content filter at once (a dedicated `filter` transport with
    /// this maxproc, as amavisd-new's README.postfix asks: no more than its `$max_servers`);
    /// `None`: the filter is reached through the `smtp` transport's default limits.
    pub filter_maxproc: Option<u32>,
}

impl PostfixConfig {
    pub fn new(
        content_filter: SocketAddr,
        relayhost: SocketAddr,
        resubmit_port: u16,
    ) -> PostfixConfig {
        PostfixConfig {
            content_filter: Some(content_filter),
            relayhost,
            smtp_port: 0,
            resubmit_port,
            main_extra: Vec::new(),
            resubmit_options: Vec::new(),
            files: Vec::new(),
            filter_maxproc: None,
        }
    }
}

/// A running private Postfix instance; stopped on drop.
pub struct Postfix {
    /// The main listener (mail submitted here is content-filtered).
    pub smtp: SocketAddr,
    /// The resubmission listener (no content filter; where a reflecting Sluice sends mail back).
    pub resubmit: SocketAddr,
    pub conf_dir: PathBuf,
    pub queue_dir: PathBuf,
    pub maillog: PathBuf,
    running: bool,
    dir: tempfile::TempDir,
}

static HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());

/// A loopback TCP port that is free now, below the ephemeral range, and not handed out before by this
/// process.
pub fn free_port() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|p| p.parse::<u16>().ok())
        })
        .unwrap_or(32768);
    let (start, end) = if low > 12000 {
        (10000u32, u32::from(low) - 1)
    } else {
        (61000u32, 65000u32)
    };
    let span = end - start;
    // Different test processes start at different places, so they rarely even try the same port.
    let seed = std::process::id().wrapping_mul(2_654_435_761) ^ now_nanos();
    let mut handed = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    for i in 0..span {
        let port = (start + (seed.wrapping_add(i.wrapping_mul(7919))) % span) as u16;
        if handed.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            handed.push(port);
            return port;
        }
    }
    panic!("no free loopback port in {start}..{end}");
}

fn now_nanos() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ d.as_secs() as u32)
        .unwrap_or(0)
}

/// A Postfix program: from PATH, else the Debian locations (a non-root PATH lacks /usr/sbin).
pub fn tool(name: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin", "/sbin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Why a private Postfix cannot run here, or `None` if it can.
pub fn unavailable() -> Option<String> {
    if !tool("postfix").is_file() || !tool("postconf").is_file() || !tool("postqueue").is_file() {
        return Some("Postfix is not installed (install it with `DEBIAN_FRONTEND=noninteractive apt-get install -y postfix`)".into());
    }
    match std::fs::metadata("/proc/self") {
        Ok(m) if m.uid() == 0 => {}
        Ok(m) => {
            return Some(format!(
                "a private Postfix instance must be started as root (running as uid {})",
                m.uid()
            ));
        }
        Err(e) => {
            return Some(format!(
                "cannot tell the effective user id (/proc/self: {e})"
            ));
        }
    }
    for (what, args) in [
        ("user postfix", ["passwd", "postfix"]),
        ("group postdrop", ["group", "postdrop"]),
    ] {
        match Command::new("getent").args(args).output() {
            Ok(o) if o.status.success() => {}
            _ => {
                return Some(format!(
                    "the {what} does not exist (the postfix package creates it)"
                ));
            }
        }
    }
    None
}

/// How long one Postfix command may take. They take milliseconds; a wedged instance (e.g. every
/// process blocked on a full postlog socket) must fail the test, not hang it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

fn run(program: &Path, args: &[&str]) -> Output {
    run_for(program, args, COMMAND_TIMEOUT)
        .unwrap_or_else(|e| panic!("{} {}: {e}", program.display(), args.join(" ")))
}

/// Runs a command to completion within `timeout` (killed after it), collecting its output.
fn run_for(program: &Path, args: &[&str], timeout: Duration) -> Result<Output, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run it: {e}"))?;
    // Drain both pipes on threads so that a chatty command cannot block on a full pipe.
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut b);
        b
    });
    let err_t = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut b);
        b
    });
    let end = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("did not finish within {timeout:?} (killed)"));
            }
        }
    };
    // A daemon it started may keep the pipes open: do not wait for EOF forever.
    let join = |t: std::thread::JoinHandle<Vec<u8>>| {
        let end = Instant::now() + Duration::from_secs(2);
        while !t.is_finished() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        if t.is_finished() {
            t.join().unwrap_or_default()
        } else {
            Vec::new()
        }
    };
    Ok(Output {
        status,
        stdout: join(out_t),
        stderr: join(err_t),
    })
}

fn text(o: &Output) -> String {
    format!(
        "status {}; stdout: {}; stderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout).trim(),
        String::from_utf8_lossy(&o.stderr).trim()
    )
}

impl Postfix {
    /// Configures and starts the instance; waits until both listeners answer. Panics with the reason
    /// (and Postfix's own output and log) when Postfix cannot run.
    pub fn start(cfg: &PostfixConfig) -> Postfix {
        if let Some(why) = unavailable() {
            panic!("cannot run the Postfix integration tests: {why}");
        }
        reap_stale_instances();
        let dir = tempfile::Builder::new()
            .prefix(PREFIX)
            .tempdir()
            .expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod temp dir");
        std::fs::write(dir.path().join("owner"), std::process::id().to_string())
            .expect("write owner");
        let root = dir.path().to_path_buf();
        let conf_dir = root.join("conf");
        let queue_dir = root.join("queue");
        let data_dir = root.join("data");
        let maillog = root.join("maillog");
        std::fs::create_dir(&conf_dir).expect("mkdir conf");
        // `postfix` changes into the queue directory before anything else; post-install creates the rest.
        std::fs::create_dir(&queue_dir).expect("mkdir queue");
        for (name, content) in &cfg.files {
            std::fs::write(conf_dir.join(name), content).expect("write a config file");
        }
        let smtp_port = if cfg.smtp_port == 0 {
            free_port()
        } else {
            cfg.smtp_port
        };
        let resubmit_port = if cfg.resubmit_port == 0 {
            free_port()
        } else {
            cfg.resubmit_port
        };
        std::fs::write(
            conf_dir.join("main.cf"),
            main_cf(cfg, &root, &queue_dir, &data_dir, &maillog),
        )
        .expect("write main.cf");
        std::fs::write(
            conf_dir.join("master.cf"),
            master_cf(cfg, smtp_port, resubmit_port),
        )
        .expect("write master.cf");
        let mut pf = Postfix {
            smtp: SocketAddr::from(([127, 0, 0, 1], smtp_port)),
            resubmit: SocketAddr::from(([127, 0, 0, 1], resubmit_port)),
            conf_dir,
            queue_dir,
            maillog,
            running: false,
            dir,
        };
        let out = pf.postfix(&["start"]);
        // Set before checking, so a half-started master is still stopped on drop.
        pf.running = true;
        if !out.status.success() {
            panic!(
                "`postfix -c {} start` failed: {}\nmaillog:\n{}",
                pf.conf_dir.display(),
                text(&out),
                pf.log()
            );
        }
        // `master -w` returns once the listeners are bound; check without connecting (a probe would
        // only add log lines while postlogd may still be starting).
        for addr in [pf.smtp, pf.resubmit] {
            if !listening(addr) {
                panic!(
                    "Postfix started but does not listen on {addr}\nmaillog:\n{}",
                    pf.log()
                );
            }
        }
        // Make sure postlogd has started and logs to the file before the test loads the instance:
        // while initialising, postlogd itself logs to the postlog socket, so a warning from it at
        // that moment with the socket queue full (net.unix.max_dgram_qlen, 10 without systemd)
        // would wedge every process of the instance.
        let marker = format!("sluice-test-ready-{}", std::process::id());
        let conf = pf.conf_arg();
        let _ = run(
            &tool("postlog"),
            &["-c", &conf, "-t", "postfix/sluice-test", &marker],
        );
        if !pf.wait_log(&marker, Duration::from_secs(20)) {
            panic!(
                "Postfix's postlogd did not write the start-up marker to {}; maillog:\n{}",
                pf.maillog.display(),
                pf.log()
            );
        }
        assert!(
            !pf.log().contains("overriding earlier entry"),
            "main.cf names a parameter twice:\n{}",
            pf.log()
        );
        pf
    }

    /// The temp dir that holds everything of this instance.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn conf_arg(&self) -> String {
        self.conf_dir.to_string_lossy().into_owned()
    }

    /// Runs `postfix -c <conf> <args>`.
    pub fn postfix(&self, args: &[&str]) -> Output {
        let conf = self.conf_arg();
        let mut all = vec!["-c", conf.as_str()];
        all.extend_from_slice(args);
        run(&tool("postfix"), &all)
    }

    /// Runs `postqueue -c <conf> <args>`.
    pub fn postqueue(&self, args: &[&str]) -> Output {
        let conf = self.conf_arg();
        let mut all = vec!["-c", conf.as_str()];
        all.extend_from_slice(args);
        run(&tool("postqueue"), &all)
    }

    /// The queue listing (`postqueue -p`), for messages.
    pub fn queue_listing(&self) -> String {
        // Also called from `drop` while unwinding: never panics.
        let conf = self.conf_arg();
        match run_for(&tool("postqueue"), &["-c", &conf, "-p"], COMMAND_TIMEOUT) {
            Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
            Err(e) => format!("(postqueue -p: {e})"),
        }
    }

    /// Queue ids of every message in the queue (`postqueue -j`).
    pub fn queue_ids(&self) -> Vec<String> {
        let out = self.postqueue(&["-j"]);
        assert!(out.status.success(), "postqueue -j: {}", text(&out));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let rest = l.split("\"queue_id\":").nth(1)?;
                let v = rest.trim_start().strip_prefix('"')?;
                Some(v[..v.find('"')?].to_string())
            })
            .collect()
    }

    /// `postqueue -f`: attempt delivery of everything queued now.
    pub fn flush(&self) {
        let out = self.postqueue(&["-f"]);
        assert!(
            out.status.success(),
            "postqueue -f: {}\nmaillog:\n{}",
            text(&out),
            self.log()
        );
    }

    /// Waits until the queue is empty; false on timeout.
    pub fn wait_queue_empty(&self, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if self.queue_ids().is_empty() {
                return true;
            }
            if Instant::now() > end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `n` messages are queued; false on timeout.
    pub fn wait_queued(&self, n: usize, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if self.queue_ids().len() >= n {
                return true;
            }
            if Instant::now() > end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The instance's log so far (`maillog_file`, written by postlogd).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.maillog).unwrap_or_default()
    }

    /// Waits until a log line contains `needle`.
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.log().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Stops the instance (`postfix stop`, then SIGKILL to the master's process group if needed).
    pub fn stop(&mut self) {
        if !self.running {
            return;
        }
        self.running = false;
        stop_instance(&self.conf_dir, &self.queue_dir);
    }
}

/// `postfix -c <conf> stop`, then SIGKILL to the master's process group if it is still there.
fn stop_instance(conf_dir: &Path, queue_dir: &Path) {
    let pid = std::fs::read_to_string(queue_dir.join("pid/master.pid"))
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok());
    let conf = conf_dir.to_string_lossy().into_owned();
    // `postfix stop` logs too, so it can hang on a wedged instance: bounded, then SIGKILL below.
    let _ = run_for(
        &tool("postfix"),
        &["-c", &conf, "stop"],
        Duration::from_secs(15),
    );
    if let Some(pid) = pid {
        let end = Instant::now() + Duration::from_secs(10);
        while is_master(pid) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(50));
        }
        if is_master(pid) {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .status();
        }
    }
}

/// Whether `pid` is a live (not zombie) Postfix master process.
fn is_master(pid: i32) -> bool {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    comm.trim() == "master" && !is_zombie(pid)
}

/// Stops and removes instances left behind by test processes that died without unwinding (SIGKILL,
/// a CI timeout): temp dirs named like ours whose `owner` pid is gone. Runs once per process.
fn reap_stale_instances() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            let named_like_ours = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(PREFIX));
            if !named_like_ours {
                continue;
            }
            let owner = std::fs::read_to_string(path.join("owner"))
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok());
            let Some(owner) = owner else { continue };
            if owner == std::process::id() || Path::new(&format!("/proc/{owner}")).exists() {
                continue;
            }
            stop_instance(&path.join("conf"), &path.join("queue"));
            let _ = std::fs::remove_dir_all(&path);
        }
    });
}

const PREFIX: &str = "sluice-postfix-";

/// Whether a TCP socket listens on `addr` (an IPv4 address), from /proc/net/tcp.
fn listening(addr: SocketAddr) -> bool {
    let SocketAddr::V4(v4) = addr else {
        return false;
    };
    let want = format!(
        "{:08X}:{:04X}",
        u32::from_le_bytes(v4.ip().octets()),
        v4.port()
    );
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap_or_default()
        .lines()
        .any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.len() > 3 && f[1] == want && f[3] == "0A"
        })
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}

impl Drop for Postfix {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "---- Postfix log ({}) ----\n{}\n---- queue ----\n{}",
                self.maillog.display(),
                self.log(),
                self.queue_listing()
            );
        }
        self.stop();
    }
}

fn main_cf(cfg: &PostfixConfig, root: &Path, queue: &Path, data: &Path, maillog: &Path) -> String {
    let mut s = format!(
        "# Private test instance written by tests/support/postfix.rs.
compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.test
mydomain = test
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relayhost = [{relay_ip}]:{relay_port}
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions =
smtpd_peername_lookup = no
# No TLS unless a test asks for it: with STARTTLS from Postfix, a mirroring Sluice must use verified
# TLS to the resubmission listener too (see the STARTTLS tests).
smtp_tls_security_level = none
smtpd_tls_security_level = none
smtp_address_preference = ipv4
content_filter =
maillog_file = {maillog}
maillog_file_prefixes = /var, /dev/stdout, {root}
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
smtp_connect_timeout = 2s
delay_warning_time = 0
# Keep sessions to the filter (and the sink) for reuse, as a loaded MTA does (by default Postfix
# caches only under backlog): Sluice then sees several transactions, RSETs and refusals per session.
smtp_connection_cache_destinations = 127.0.0.1
smtp_connection_cache_time_limit = 10s
",
        queue = queue.display(),
        data = data.display(),
        maillog = maillog.display(),
        root = root.display(),
        relay_ip = cfg.relayhost.ip(),
        relay_port = cfg.relayhost.port(),
    );
    // An extra setting replaces the default in place: a parameter given twice makes every Postfix
    // process log "overriding earlier entry" at start-up, postlogd included (see `Postfix::start`).
    for line in &cfg.main_extra {
        let name = line.split('=').next().unwrap_or("").trim();
        let mut replaced = false;
        let lines: Vec<String> = s
            .lines()
            .map(|l| {
                if !replaced && !name.is_empty() && l.split('=').next().unwrap_or("").trim() == name
                {
                    replaced = true;
                    line.clone()
                } else {
                    l.to_string()
                }
            })
            .collect();
        s = lines.join("\n") + "\n";
        if !replaced {
            s.push_str(line);
            s.push('\n');
        }
    }
    s
}

fn master_cf(cfg: &PostfixConfig, smtp_port: u16, resubmit_port: u16) -> String {
    let transport = if cfg.filter_maxproc.is_some() {
        "filter"
    } else {
        "smtp"
    };
    let filter = match cfg.content_filter {
        Some(a) => format!("{transport}:[{}]:{}", a.ip(), a.port()),
        None => String::new(),
    };
    let filter_service = cfg.filter_maxproc.map_or(String::new(), |n| {
        format!("filter    unix  -       -       n       -       {n}       smtp\n  -o smtp_send_xforward_command=yes\n  -o disable_dns_lookups=yes\n")
    });
    let resubmit_extra: String = cfg
        .resubmit_options
        .iter()
        .map(|o| format!("  -o {o}\n"))
        .collect();
    format!(
        "# service type  private unpriv  chroot  wakeup  maxproc command + args
# The main listener: everything received here goes to the content filter (Sluice).
127.0.0.1:{smtp_port} inet n - n - - smtpd
  -o content_filter={filter}
# The resubmission listener (the reflecting MTA's second listener): no filter, so no loop.
127.0.0.1:{resubmit_port} inet n - n - - smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks
  -o smtpd_authorized_xforward_hosts=127.0.0.0/8
  -o mynetworks=127.0.0.0/8
{resubmit_extra}{filter_service}pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
"
    )
}

/// A Sluice config for reflecting mode: listening on `listen` (e.g. "127.0.0.1:0"), sending every
/// message back to the connecting MTA's `resubmit_port`, plus `extra` TOML (e.g. `[[policy]]` tables).
pub fn reflect_config(listen: &str, resubmit_port: u16, extra: &str) -> String {
    reflect_config_with(listen, resubmit_port, "", extra)
}

/// [`reflect_config`] with extra keys for the `[relay]` table (e.g. `trust_anchors = [...]`).
pub fn reflect_config_with(
    listen: &str,
    resubmit_port: u16,
    relay_extra: &str,
    extra: &str,
) -> String {
    format!(
        "[server]\nhostname = \"sluice.test\"\n\n[listener]\naddress = \"{listen}\"\ncommand_timeout = \"30s\"\ndata_timeout = \"30s\"\nshutdown_grace = \"2s\"\n\n[relay]\nmode = \"reflect\"\nport = {resubmit_port}\nconnect_timeout = \"2s\"\ncommand_timeout = \"10s\"\ndata_timeout = \"10s\"\n{relay_extra}\n\n{extra}\n"
    )
}

/// A self-signed certificate and key (PEM) for these names (IP addresses become IP SANs).
pub fn self_signed(names: &[&str]) -> (String, String) {
    let ck =
        rcgen::generate_simple_self_signed(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("generate a certificate");
    (ck.cert.pem(), ck.signing_key.serialize_pem())
}
