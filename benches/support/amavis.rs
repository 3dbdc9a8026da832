//! A private amavisd-new for `benches/gateway.rs`: the classic after-queue content filter (the
//! stack Proxmox Mail Gateway builds on) between a private Postfix and its reinjection listener.
//!
//! Debian's `amavisd-new` package, run as `amavisd -c <conf> foreground` by root (it drops to the
//! `amavis` user): the config file lives in a root-owned directory (amavisd refuses a config in a
//! directory its user can write), its home (temp files, pid, log) in an `amavis`-owned one. Nothing
//! under /etc/amavis is read. Virus and spam checks are bypassed (no scanner or SpamAssassin in this
//! comparison): what runs is amavisd's MIME decoding, banned-name and header checks and the SMTP
//! relay in and out, i.e. the content-filter plumbing every amavis deployment pays for.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Amavis {
    child: Child,
    pub addr: SocketAddr,
    _conf: tempfile::TempDir,
    _home: tempfile::TempDir,
}

/// Whether amavisd-new can run here (Debian's package and root), or why not.
pub fn unavailable() -> Option<String> {
    if !Path::new("/usr/sbin/amavisd").exists() {
        return Some("amavisd-new is not installed (apt-get install amavisd-new)".into());
    }
    if !super::is_root() {
        return Some("amavisd-new needs root to start (it drops to the amavis user)".into());
    }
    None
}

impl Amavis {
    /// Starts amavisd on `listen`, passing mail on to `forward` (Postfix's reinjection listener),
    /// with `servers` child processes.
    pub fn start(
        listen: SocketAddr,
        forward: SocketAddr,
        servers: usize,
    ) -> Result<Amavis, String> {
        let conf = tempfile::Builder::new()
            .prefix("sluice-amavis-conf-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let home = tempfile::Builder::new()
            .prefix("sluice-amavis-home-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        for d in ["tmp", "db", "var"] {
            std::fs::create_dir(home.path().join(d)).map_err(|e| e.to_string())?;
        }
        let chown = Command::new("chown")
            .args(["-R", "amavis:amavis"])
            .arg(home.path())
            .status()
            .map_err(|e| e.to_string())?;
        if !chown.success() {
            return Err("chown amavis:amavis failed (is the amavis user there?)".into());
        }
        set_mode(conf.path(), 0o755)?;
        set_mode(home.path(), 0o755)?;
        let file = conf.path().join("amavisd.conf");
        std::fs::write(&file, config(home.path(), listen, forward, servers))
            .map_err(|e| e.to_string())?;
        set_mode(&file, 0o644)?;
        let child = Command::new("/usr/sbin/amavisd")
            .arg("-c")
            .arg(&file)
            .arg("foreground")
            .current_dir("/tmp")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot run amavisd: {e}"))?;
        let mut a = Amavis {
            child,
            addr: listen,
            _conf: conf,
            _home: home,
        };
        let end = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&listen, Duration::from_millis(200)).is_err() {
            if Instant::now() > end || matches!(a.child.try_wait(), Ok(Some(_))) {
                let log = std::fs::read_to_string(a._home.path().join("var/amavis.log"))
                    .unwrap_or_default();
                a.stop();
                return Err(format!("amavisd did not start on {listen}:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(a)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the daemon and its children (the whole process group).
    pub fn stop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Amavis {
    fn drop(&mut self) {
        self.stop();
    }
}

fn set_mode(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| e.to_string())
}

fn config(home: &Path, listen: SocketAddr, forward: SocketAddr, servers: usize) -> String {
    format!(
        r#"use strict;
$MYHOME = '{home}';
$TEMPBASE = "$MYHOME/tmp";
$db_home = "$MYHOME/db";
$pid_file = "$MYHOME/var/amavisd.pid";
$lock_file = "$MYHOME/var/amavisd.lock";
$daemon_user = 'amavis';
$daemon_group = 'amavis';
$mydomain = 'bench.example';
$myhostname = 'amavis.bench.example';
$inet_socket_bind = '{ip}';
$inet_socket_port = {port};
@inet_acl = qw(127.0.0.1);
$forward_method = 'smtp:[{fip}]:{fport}';
$notify_method = $forward_method;
$max_servers = {servers};
$max_requests = 10000;
$DO_SYSLOG = 0;
$LOGFILE = "$MYHOME/var/amavis.log";
$log_level = 0;
$enable_db = 0;
$enable_global_cache = 0;
$QUARANTINEDIR = undef;
@bypass_virus_checks_maps = (1);
@bypass_spam_checks_maps = (1);
$enable_dkim_verification = 0;
$enable_dkim_signing = 0;
@av_scanners = ();
@av_scanners_backup = ();
1;
"#,
        home = home.display(),
        ip = listen.ip(),
        port = listen.port(),
        fip = forward.ip(),
        fport = forward.port(),
    )
}
