//! End-to-end tests of the process around the sessions: quiet probes, graceful shutdown on SIGTERM,
//! and the command line (check-config, serve with a bad file, version, help).

mod support;

use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::client::{Client, message};
use support::sink::Sink;
use support::sluice::{Sluice, binary, config, forward_config, hosts_relay};

const WAIT: Duration = Duration::from_secs(5);
const FROM: &str = "a@corp.example";
const TO: &str = "b@partner.example";

/// Log messages of a session's end (exactly one per session).
const SESSION_ENDS: [&str; 4] = [
    "connection closed without a command (probe)",
    "session ended by QUIT",
    "peer closed the connection",
    "session closed",
];

fn ended_sessions(sluice: &Sluice) -> usize {
    sluice
        .logs()
        .iter()
        .filter(|l| SESSION_ENDS.iter().any(|e| l.contains(e)))
        .count()
}

#[test]
fn probes_and_quit_without_reading_log_no_warnings_or_errors() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    for _ in 0..20 {
        drop(TcpStream::connect(sluice.addr).expect("probe connect"));
    }
    // Probes that reset the connection instead of closing it.
    for _ in 0..5 {
        let probe = TcpStream::connect(sluice.addr).expect("probe connect");
        socket2::SockRef::from(&probe)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(probe);
    }
    let mut quitter = TcpStream::connect(sluice.addr).expect("connect");
    quitter.write_all(b"QUIT\r\n").unwrap();
    drop(quitter);
    let mut ehlo_quitter = TcpStream::connect(sluice.addr).expect("connect");
    ehlo_quitter
        .write_all(b"EHLO client.test\r\nQUIT\r\n")
        .unwrap();
    drop(ehlo_quitter);
    // A real session too, so the next-hop side (QUIT to the sink) is exercised as well.
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    assert_eq!(c.send(FROM, &[TO], &message("m", "x")).code, 250);
    c.send_raw(b"QUIT\r\n");
    c.hang_up();

    let end = Instant::now() + WAIT;
    while ended_sessions(&sluice) < 28 && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        ended_sessions(&sluice),
        28,
        "every session must have ended: {:#?}",
        sluice.logs()
    );
    assert_eq!(sluice.error_lines(), Vec::<String>::new());
}

/// Waits for the "shutting down" log line that follows SIGTERM.
fn terminate_async(sluice: &Sluice) {
    sluice.signal_term();
    assert!(
        sluice.wait_log("shutting down", WAIT),
        "no shutdown log line: {:#?}",
        sluice.logs()
    );
}

#[test]
fn open_transaction_finishes_after_sigterm_and_the_process_exits_zero() {
    let sink = Sink::start_default();
    let mut sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.set_read_timeout(WAIT);
    c.ehlo();
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<b@partner.example>").code, 250);
    terminate_async(&sluice);

    let r = c.data(&message("in flight", "x"));
    assert_eq!(
        r.code, 250,
        "a transaction open at SIGTERM may finish within the grace period: {r}"
    );
    assert_eq!(
        sink.wait_for(1, WAIT)[0].header("Subject").as_deref(),
        Some("in flight")
    );
    let r = c.read_reply();
    assert_eq!((r.code, r.text.get(..5)), (421, Some("4.3.2")), "{r}");
    let status = sluice
        .wait_exit(WAIT)
        .expect("sluice did not exit after its last session");
    assert!(status.success(), "exit status {status:?}");
}

#[test]
fn new_connection_after_sigterm_is_refused() {
    let sink = Sink::start_default();
    let mut sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    // An open transaction keeps the process alive while the listener is gone.
    let mut c = Client::connect(sluice.addr);
    c.set_read_timeout(WAIT);
    c.ehlo();
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 250);
    terminate_async(&sluice);

    let end = Instant::now() + WAIT;
    let refused = loop {
        match TcpStream::connect(sluice.addr) {
            Err(e) if e.kind() == ErrorKind::ConnectionRefused => break true,
            _ if Instant::now() >= end => break false,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    assert!(refused, "connections must be refused once shutdown began");
    assert!(
        sluice.wait_exit(Duration::ZERO).is_none(),
        "the open transaction keeps the process running"
    );
    assert_eq!(c.cmd("RCPT TO:<b@partner.example>").code, 250);
    assert_eq!(c.data(&message("last", "x")).code, 250);
    assert!(sluice.wait_exit(WAIT).expect("exit").success());
}

#[test]
fn idle_session_gets_421_4_3_2_soon_after_sigterm() {
    let sink = Sink::start_default();
    let mut sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.set_read_timeout(WAIT);
    c.ehlo();
    let start = Instant::now();
    sluice.signal_term();
    let r = c.read_reply();
    assert_eq!((r.code, r.text.get(..5)), (421, Some("4.3.2")), "{r}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    assert!(c.is_closed());
    assert!(sluice.wait_exit(WAIT).expect("exit").success());
}

#[test]
fn transaction_still_open_after_the_grace_period_gets_421_4_3_2() {
    let sink = Sink::start_default();
    let mut sluice = Sluice::start(&config(
        "shutdown_grace = \"500ms\"",
        &hosts_relay(&[sink.addr]),
        "",
    ));
    let mut c = Client::connect(sluice.addr);
    c.set_read_timeout(WAIT);
    c.ehlo();
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<b@partner.example>").code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    c.send_raw(b"Subject: never finished\r\n\r\npartial");
    let start = Instant::now();
    sluice.signal_term();
    let r = c.read_reply();
    assert_eq!((r.code, r.text.get(..5)), (421, Some("4.3.2")), "{r}");
    assert!(
        start.elapsed() >= Duration::from_millis(400),
        "421 came before the grace period ended: {:?}",
        start.elapsed()
    );
    assert!(sluice.wait_exit(WAIT).expect("exit").success());
    assert!(
        sink.messages().is_empty(),
        "an unfinished message is never relayed"
    );
}

// ---- command line ----

fn run(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env("SLUICE_LOG", "info")
        .output()
        .expect("run sluice")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn write_config(dir: &tempfile::TempDir, name: &str, body: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, body).unwrap();
    path.display().to_string()
}

#[test]
fn check_config_reports_an_unknown_key_with_file_line_and_column_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(
        &dir,
        "bad.toml",
        "[listener]\naddress = \"127.0.0.1:2525\"\nmax_sesions = 10\n",
    );
    let out = run(&["check-config", "--config", &path]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("bad.toml:3:1:"), "{err}");
    assert!(err.contains("max_sesions"), "{err}");
}

#[test]
fn check_config_points_at_a_bad_regex() {
    let dir = tempfile::tempdir().unwrap();
    let body = "[relay]\nmode = \"forward\"\nhosts = [\"127.0.0.1:2525\"]\n\n[[policy]]\nid = 1\nregexes = ['\\d+', '(unclosed']\naction = \"log\"\n";
    let path = write_config(&dir, "bad.toml", body);
    let out = run(&["check-config", "--config", &path]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = text(&out.stderr);
    // Line 7, column 19: the second string of the `regexes` array.
    assert!(err.contains("bad.toml:7:19:"), "{err}");
    assert!(err.contains("regex"), "{err}");
}

#[test]
fn check_config_accepts_a_valid_file_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let body = "[listener]\naddress = \"127.0.0.1:2525\"\n\n[relay]\nmode = \"forward\"\nhosts = [\"127.0.0.1:2526\"]\n\n[[policy]]\nid = 1\nkeywords = [\"secret\"]\nregexes = ['\\b\\d{3}-\\d{2}-\\d{4}\\b']\naction = \"block\"\n";
    let path = write_config(&dir, "good.toml", body);
    let out = run(&["check-config", "--config", &path]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("OK"), "{out:?}");
    // The effective settings as an admin writes them, never Rust's Debug output.
    for want in [
        "[relay]",
        "route = forward to 127.0.0.1:2526",
        "address = 127.0.0.1:2525",
        "max_message_size = 50 MiB",
        "command_timeout = 5m",
        "policies: 1",
        "  1 \"policy 1\": block, severity",
    ] {
        assert!(stdout.contains(want), "{want:?} in\n{stdout}");
    }
    for debug in ["NextHop", "Hosts(", "{", "}", "Some(", "None"] {
        assert!(!stdout.contains(debug), "{debug:?} in\n{stdout}");
    }
}

#[test]
fn serve_with_a_bad_config_exits_nonzero_without_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(&dir, "bad.toml", "[relay]\nmode = \"sideways\"\n");
    let data = dir.path().join("data").display().to_string();
    let out = run(&["serve", "--config", &path, "--data-dir", &data]);
    assert!(!out.status.success(), "{out:?}");
    assert!(out.status.code().is_some(), "killed by a signal: {out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("bad.toml:2:8:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn serve_on_an_address_in_use_exits_nonzero_without_panicking() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "[listener]\naddress = \"{}\"\n\n[relay]\nmode = \"forward\"\nhosts = [\"127.0.0.1:2526\"]\n",
        taken.local_addr().unwrap()
    );
    let path = write_config(&dir, "busy.toml", &body);
    let data = dir.path().join("data").display().to_string();
    let out = run(&["serve", "--config", &path, "--data-dir", &data]);
    assert!(!out.status.success(), "{out:?}");
    assert!(out.status.code().is_some(), "killed by a signal: {out:?}");
    let err = text(&out.stderr);
    assert!(err.contains("listener.address"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn version_prints_the_crate_version() {
    let out = run(&["version"]);
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).trim(), "sluice 0.1.0");
}

#[test]
fn help_lists_the_subcommands() {
    for arg in ["help", "--help"] {
        let out = run(&[arg]);
        assert!(out.status.success(), "{arg}: {out:?}");
        let usage = text(&out.stdout);
        assert!(usage.contains("Usage: sluice"), "{arg}: {usage}");
        assert!(
            usage.contains("serve") && usage.contains("check-config") && usage.contains("version"),
            "{arg}: {usage}"
        );
    }
}

#[test]
fn check_config_rejects_a_fourth_added_header_at_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let body = "[relay]\nmode = \"forward\"\nhosts = [\"127.0.0.1:2525\"]\n\n[[policy]]\nid = 1\nkeywords = [\"x\"]\naction = \"modify\"\nheaders = [\"A: 1\", \"B: 2\", \"C: 3\", \"D: 4\"]\n";
    let path = write_config(&dir, "four.toml", body);
    let out = run(&["check-config", "--config", &path]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = text(&out.stderr);
    // Line 9, column 36: the fourth string of `headers`.
    assert!(err.contains("four.toml:9:36:"), "{err}");
}
