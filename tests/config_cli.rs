//! `sluice check-config` and `sluice serve` on bad configurations, through the real binary: both
//! refuse the same things (they share one load function), every file is read bounded, and errors
//! name the file (and `line:col` where there is one). Issue 9, item 11.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::sluice::binary;

/// Loopback ports only, and a data dir of the test's own, so that a `serve` that did start
/// would be harmless (and is stopped by [`serve`]).
fn base(dir: &Path) -> String {
    format!(
        "[server]\nhostname = \"sluice.test\"\ndata_dir = \"{}\"\n\n[listener]\naddress = \"127.0.0.1:0\"\n\n[admin]\naddress = \"127.0.0.1:0\"\n",
        dir.join("data").display()
    )
}

fn write(dir: &Path, name: &str, text: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn check_config(config: &str) -> Output {
    Command::new(binary())
        .args(["check-config", "--config", config])
        .output()
        .expect("run sluice check-config")
}

/// Runs `sluice serve`; a server that starts is stopped after 30 s (then the test fails on its
/// exit code, not on time).
fn serve(config: &str) -> (Option<i32>, String) {
    let mut child = Command::new(binary())
        .args(["serve", "--config", config])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sluice serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// check-config and serve both exit 2 with an error that names the config file and `needle`.
fn both_refuse(config: &str, needle: &str) {
    let out = check_config(config);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "check-config: {stderr}");
    assert!(
        stderr.starts_with(config) && stderr.contains(needle),
        "check-config: {stderr}"
    );
    let (code, stderr) = serve(config);
    assert_eq!(code, Some(2), "serve: {stderr}");
    assert!(stderr.contains(needle), "serve: {stderr}");
}

#[test]
fn check_config_refuses_what_serve_cannot_load() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let b = base(dir);

    let edm = format!(
        "{b}\n[[policy]]\nid = 1\naction = \"block\"\n[[policy.rule]]\nconditions = [{{ edm = \"customers\" }}]\n"
    );
    both_refuse(
        &write(dir, "edm.toml", edm.as_bytes()),
        "EDM index \"customers\"",
    );

    let missing = dir.join("nope.csv");
    let managers = format!(
        "{b}\n[approval]\nmanagers_file = \"{}\"\n",
        missing.display()
    );
    both_refuse(
        &write(dir, "managers.toml", managers.as_bytes()),
        "approval.managers_file",
    );

    let cert = format!(
        "{b}\n[tls]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
        dir.join("cert.pem").display(),
        dir.join("key.pem").display()
    );
    both_refuse(&write(dir, "cert.toml", cert.as_bytes()), "cert.pem");

    let anchors = format!(
        "{b}\n[relay]\ntrust_anchors = [\"{}\"]\n",
        dir.join("ca.pem").display()
    );
    both_refuse(
        &write(dir, "anchors.toml", anchors.as_bytes()),
        "relay.trust_anchors",
    );

    // The same base passes both (serve is stopped by the helper once it is up).
    let ok = write(dir, "ok.toml", b.as_bytes());
    let out = check_config(&ok);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn endless_and_huge_files_are_refused_not_read_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let b = base(dir);
    // Before: serve aborted on a 2 GiB allocation.
    let zero = format!("{b}\n[tls]\ncert_file = \"/dev/zero\"\nkey_file = \"/dev/zero\"\n");
    both_refuse(&write(dir, "zero.toml", zero.as_bytes()), "larger than");
    let managers = format!("{b}\n[approval]\nmanagers_file = \"/dev/zero\"\n");
    both_refuse(
        &write(dir, "zero-managers.toml", managers.as_bytes()),
        "larger than",
    );
    let out = check_config("/dev/zero");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("/dev/zero: ") && stderr.contains("larger than"),
        "{stderr}"
    );
}

#[test]
fn config_errors_point_into_the_users_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cases: [(&str, &[u8], &str); 7] = [
        // Before: accepted, and the next hop read the rest as a second command (issue 9, item 7).
        (
            "crlf-host.toml",
            b"[server]\nhostname = \"mx.test\\r\\nRSET\"\n",
            ":2:12: ",
        ),
        (
            "crlf-helo.toml",
            b"[relay]\nhelo_name = \"mx.test\\r\\nRSET\"\n",
            ":2:13: ",
        ),
        // Every message would match.
        (
            "empty-regex.toml",
            b"[[policy]]\nid = 1\naction = \"block\"\nregexes = [\"\"]\n",
            ":4:12: ",
        ),
        (
            "star-regex.toml",
            b"[[policy]]\nid = 1\naction = \"block\"\nregexes = [\"x*\"]\n",
            ":4:12: ",
        ),
        // Before: `<embedded defaults>:177:8`.
        (
            "host.toml",
            b"[server]\nhostname = \"bad host\"\n",
            ":2:12: ",
        ),
        // Before: accepted.
        (
            "long-host.toml",
            format!("[server]\nhostname = \"{}\"\n", "a".repeat(100_000))
                .leak()
                .as_bytes(),
            ":2:12: ",
        ),
        // Before: no position at all.
        (
            "latin1.toml",
            b"[server]\n# caf\xe9\nhostname = \"x\"\n",
            ":2:6: ",
        ),
    ];
    for (name, text, at) in cases {
        let path = write(dir, name, text);
        let out = check_config(&path);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.starts_with(&format!("{path}{at}")),
            "{name}: {stderr}"
        );
        assert!(
            stderr.len() < 1000,
            "{name}: {} bytes of error",
            stderr.len()
        );
    }
}
