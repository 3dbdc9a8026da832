//! Editing the configuration through `sluice::config::edit` against the real binary: a server
//! started without --config gets `<data_dir>/sluice.toml` on the first save, the save is applied
//! by a live reload, and a restart without --config reads that file; a save the server refuses to
//! reload puts the previous file back.

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sluice::config::edit::{self, EditError, Target};
use sluice::runtime::{Changes, Digest, Report};
use sluice::service::Actor;
use support::client::{Client, message};
use support::sink::Sink;
use support::sluice::{Sluice, binary, forward_config};

const MARKER: &str = "zzmarkerzz";

/// `sluice serve --data-dir DATA` without --config, in `cwd`; stopped (SIGTERM) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(cwd: &Path, data: &Path) -> Server {
        let mut child = Command::new(binary())
            .arg("serve")
            .arg("--data-dir")
            .arg(data)
            .current_dir(cwd)
            .env("SLUICE_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sluice");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening")
                    && let Some(addr) = line
                        .split("addr=")
                        .nth(1)
                        .and_then(|r| r.split_whitespace().next())
                        .and_then(|a| a.parse::<SocketAddr>().ok())
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                panic!("sluice did not report its listening address");
            }
        };
        Server { child, addr }
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `sluice ARGS --data-dir DATA`: (exit code, stdout, stderr).
fn cli(data: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(binary())
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .expect("run sluice");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What the UI's reload does, here through `sluice reload` on the server's control socket.
fn reload(data: &Path) -> Result<Report, String> {
    let (code, out, err) = cli(data, &["reload"]);
    if code != 0 {
        return Err(format!("{out}{err}"));
    }
    let digest = Digest {
        config: String::new(),
        policies: String::new(),
    };
    Ok(Report {
        previous: digest.clone(),
        digest,
        policies: Vec::new(),
        changes: Changes::default(),
    })
}

fn status(data: &Path) -> serde_json::Value {
    let (code, out, err) = cli(data, &["status", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    serde_json::from_str(&out).expect("status JSON")
}

fn policy(id: u32) -> String {
    format!(
        "[[policy]]\nid = {id}\nname = \"marker\"\nkeywords = [\"{MARKER}\"]\naction = \"block\"\nreply = \"Blocked by the UI\"\n"
    )
}

/// A marker message is blocked with the policy's reply.
fn blocked(addr: SocketAddr) -> bool {
    let mut c = Client::connect(addr);
    c.ehlo();
    let r = c.send(
        "a@corp.example",
        &["b@partner.example"],
        &message("m", MARKER),
    );
    r.code == 550 && r.text.contains("Blocked by the UI")
}

#[test]
fn no_config_start_then_a_saved_change_is_reloaded_and_kept_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data: PathBuf = dir.path().join("data");
    let sink = Sink::start_default();
    let first = Server::start(dir.path(), &data);
    assert_eq!(first.addr.port(), 10025, "the embedded defaults run");
    let s = status(&data);
    assert!(s["config_file"].is_null(), "{s}");

    let target = Target {
        path: data.join("sluice.toml"),
        data_dir: data.clone(),
        keep: 100,
    };
    let snap = edit::read(&target).unwrap();
    assert!(!snap.exists);
    let by = Actor::new("alice").unwrap();
    let applied = edit::apply(
        &target,
        &snap.digest,
        |doc| {
            let hosts = toml_edit::Array::from_iter([sink.addr.to_string()]);
            doc.set_all([
                ("listener.address", "127.0.0.1:0".into()),
                ("relay.mode", "forward".into()),
                ("relay.hosts", hosts.into()),
            ])?;
            doc.put_policy("", &policy(42))
        },
        &by,
        1_800_000_000,
        || reload(&data),
    )
    .expect("applied");
    assert_eq!(applied.version, Some(1));
    let text = std::fs::read_to_string(&target.path).unwrap();
    // The embedded defaults' comments are all there.
    assert!(text.starts_with("# Sluice configuration.\n"), "{text}");
    assert!(text.contains("# Upstream clients allowed to connect (CIDR)."));

    // In force now: the server reads the data dir's file, the policy blocks on the new address.
    let s = status(&data);
    assert_eq!(s["config_file"], target.path.display().to_string(), "{s}");
    assert!(
        s["policies"].as_array().unwrap().iter().any(|p| p == "42"),
        "{s}"
    );
    let moved: SocketAddr = s["listeners"]["smtp"].as_str().unwrap().parse().unwrap();
    assert_ne!(moved.port(), 10025);
    assert!(blocked(moved));
    let h = edit::history::History::at(&data);
    let v = h.version(1).unwrap();
    assert_eq!(v.meta.by, "alice");
    assert_eq!(h.text(1).unwrap(), text);

    // Restarted without --config: the data dir's file, not the defaults.
    first.stop();
    let second = Server::start(dir.path(), &data);
    assert_ne!(second.addr.port(), 10025);
    let s = status(&data);
    assert_eq!(s["config_file"], target.path.display().to_string(), "{s}");
    assert!(blocked(second.addr));
    let (code, out, err) = cli(&data, &["check-config"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with(&format!("{}: OK", target.path.display())),
        "{out}"
    );
    second.stop();
}

#[test]
fn a_save_the_server_refuses_to_reload_leaves_the_previous_file() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], &policy(1)));
    let data = sluice.dir.path().join("data");
    let target = Target {
        path: sluice.config_path.clone(),
        data_dir: data.clone(),
        keep: 100,
    };
    let snap = edit::read(&target).unwrap();
    let by = Actor::new("bob").unwrap();
    // Valid as text, but the certificate files are not there: the reload refuses.
    let e = edit::apply(
        &target,
        &snap.digest,
        |doc| {
            doc.set_all([
                ("tls.cert_file", "/nonexistent/cert.pem".into()),
                ("tls.key_file", "/nonexistent/key.pem".into()),
            ])
        },
        &by,
        1,
        || reload(&data),
    )
    .unwrap_err();
    assert!(
        matches!(&e, EditError::ReloadRefused(m) if m.contains("/nonexistent/cert.pem")),
        "{e:?}"
    );
    assert_eq!(std::fs::read_to_string(&target.path).unwrap(), snap.text);
    assert!(edit::history::History::at(&data).list().unwrap().is_empty());
    // The running set still blocks; a good edit after it goes through.
    assert!(blocked(sluice.addr));
    let applied = edit::apply(
        &target,
        &snap.digest,
        |doc| doc.set_policy_enabled("marker", false),
        &by,
        2,
        || reload(&data),
    )
    .unwrap();
    assert_eq!(applied.version, Some(1));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(
        "a@corp.example",
        &["b@partner.example"],
        &message("m2", MARKER),
    );
    assert_eq!(r.code, 250, "{r}");
}
