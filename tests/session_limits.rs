//! End-to-end tests of the bounds that keep a few clients from taking the listener away from the rest
//! (issue 9): whole-command and DATA-rate deadlines against trickling clients (slowloris), and the
//! per-client session limit.

mod support;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::time::Duration;

use support::client::Client;
use support::sink::Sink;
use support::sluice::{Sluice, config, hosts_relay};

const WAIT: Duration = Duration::from_secs(5);

fn start(listener_extra: &str) -> (Sink, Sluice) {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&config(listener_extra, &hosts_relay(&[sink.addr]), ""));
    (sink, sluice)
}

/// Sends `prefix` at once, then `trickle` one byte at a time every 50 ms, watching for replies after
/// each byte. Returns everything the server said after `prefix`, and whether it closed the
/// connection before the whole trickle was sent.
fn trickle(stream: &mut TcpStream, prefix: &[u8], trickle: &[u8]) -> (String, bool) {
    stream.write_all(prefix).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut heard = Vec::new();
    let mut buf = [0u8; 512];
    for b in trickle {
        if stream.write_all(&[*b]).is_err() {
            return (String::from_utf8_lossy(&heard).into_owned(), true);
        }
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&heard).into_owned(), true),
            Ok(n) => heard.extend_from_slice(&buf[..n]),
            Err(_) => {}
        }
    }
    (String::from_utf8_lossy(&heard).into_owned(), false)
}

fn greeted(sluice: &Sluice) -> TcpStream {
    let mut s = TcpStream::connect(sluice.addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 512];
    let n = s.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"220 "), "{:?}", &buf[..n]);
    s
}

#[test]
fn a_client_trickling_a_command_is_cut_off_at_the_command_deadline_although_it_keeps_sending() {
    let (_sink, sluice) = start("command_timeout = \"1s\"");
    let mut s = greeted(&sluice);
    // 400 bytes at 20 bytes/s: 20 s of sending, a byte every 50 ms (each read used to re-arm 1 s).
    let line = format!("NOOP {}\r\n", "x".repeat(400));
    let (heard, closed) = trickle(&mut s, b"", line.as_bytes());
    // No EHLO yet, so no enhanced status code.
    assert!(
        heard.starts_with("421 ") && heard.contains("Timeout exceeded"),
        "{heard:?}"
    );
    assert!(closed, "cut off before the line was complete");
    assert!(sluice.wait_log("command timeout", WAIT));
}

#[test]
fn a_client_trickling_data_below_the_minimum_rate_is_cut_off_and_nothing_is_relayed() {
    let (sink, sluice) = start("data_timeout = \"1s\"\ndata_min_rate = 100");
    let mut s = greeted(&sluice);
    let mut c_lines = String::new();
    for cmd in [
        "EHLO c",
        "MAIL FROM:<a@corp.example>",
        "RCPT TO:<b@partner.example>",
    ] {
        s.write_all(format!("{cmd}\r\n").as_bytes()).unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).unwrap();
        c_lines.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    s.write_all(b"DATA\r\n").unwrap();
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"354 "), "{c_lines}{:?}", &buf[..n]);
    // 20 bytes/s, a fifth of data_min_rate, never idle for as long as data_timeout.
    let body = "Subject: slow\r\n\r\n".to_string() + &"y".repeat(400) + "\r\n.\r\n";
    let (heard, _) = trickle(&mut s, b"", body.as_bytes());
    assert!(heard.starts_with("421 4.4.2 "), "{heard:?}");
    assert!(sluice.wait_log("DATA timeout", WAIT));
    assert!(sink.messages().is_empty());
}

#[test]
fn sessions_over_max_sessions_per_client_get_421_4_7_0_and_other_clients_still_get_in() {
    let (_sink, sluice) = start("max_sessions = 10\nmax_sessions_per_client = 2");
    let mut one = Client::connect(sluice.addr);
    let two = Client::connect(sluice.addr);
    let mut three = Client::connect(sluice.addr);
    assert!(
        three.greeting.starts_with("421 4.7.0 "),
        "{}",
        three.greeting
    );
    assert!(three.is_closed());
    // Another address (all of 127/8 is loopback) is another client.
    let other = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7));
    let elsewhere = Client::connect_from(other, sluice.addr);
    assert!(
        elsewhere.greeting.starts_with("220 "),
        "{}",
        elsewhere.greeting
    );
    one.ehlo();
    one.quit();
    // The slot comes back when the session ends.
    let end = std::time::Instant::now() + WAIT;
    loop {
        let c = Client::connect(sluice.addr);
        if c.greeting.starts_with("220 ") {
            c.quit();
            break;
        }
        assert!(std::time::Instant::now() < end, "{}", c.greeting);
        std::thread::sleep(Duration::from_millis(20));
    }
    two.quit();
    elsewhere.quit();
}

// ---- the budget of message bytes in flight (issue 9, item 4) ----

const MIB: usize = 1024 * 1024;

/// A field of /proc/<pid>/status in kB ("VmRSS", "VmHWM").
fn status_kb(pid: u32, field: &str) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// A message of about `size` bytes in 1000-byte lines, its subject `subject`.
fn large_message(subject: &str, size: usize) -> String {
    let mut m =
        format!("From: a@corp.example\r\nTo: b@partner.example\r\nSubject: {subject}\r\n\r\n");
    let line = format!("{}\r\n", "z".repeat(998));
    while m.len() + line.len() <= size {
        m.push_str(&line);
    }
    m
}

/// One client's transaction in the burst: MAIL (with SIZE when `declare`), RCPT, then DATA when
/// every client is ready, the body when every client has its answer to DATA. Returns the reply
/// that ended the transaction: 452 at DATA, or the reply to the end of DATA.
fn burst_client(
    sluice: std::net::SocketAddr,
    body: &str,
    declare: bool,
    at_data: &std::sync::Barrier,
    at_body: &std::sync::Barrier,
) -> u16 {
    let mut c = Client::connect(sluice);
    c.set_read_timeout(Duration::from_secs(60));
    c.ehlo();
    let size = if declare {
        format!(" SIZE={}", body.len())
    } else {
        String::new()
    };
    assert_eq!(
        c.cmd(&format!("MAIL FROM:<a@corp.example>{size}")).code,
        250
    );
    assert_eq!(c.cmd("RCPT TO:<b@partner.example>").code, 250);
    at_data.wait();
    let r = c.cmd("DATA");
    at_body.wait();
    if r.code != 354 {
        assert!(r.code == 452 && r.text.starts_with("4.3.1 "), "{r}");
        c.quit();
        return r.code;
    }
    let r = c.data_after_354(body);
    assert!(
        r.code == 250 || (r.code == 452 && r.text.starts_with("4.3.1 ")),
        "{r}"
    );
    c.quit();
    r.code
}

#[test]
fn a_burst_of_large_messages_stays_within_max_bytes_in_flight_and_the_rest_is_deferred_not_lost() {
    const CLIENTS: usize = 12;
    const SIZE: usize = 8 * MIB;
    const BUDGET: usize = 20 * MIB;
    let (sink, sluice) = start(&format!(
        "max_message_size = {}\nmax_bytes_in_flight = {BUDGET}",
        10 * MIB
    ));
    let pid = sluice.pid().unwrap();
    let bodies: Vec<String> = (0..CLIENTS)
        .map(|i| large_message(&format!("burst {i}"), SIZE))
        .collect();
    // Twelve clients at once, each with its large message; the codes they got at the end.
    let burst = |declare: bool| -> Vec<u16> {
        let at_data = std::sync::Barrier::new(CLIENTS);
        let at_body = std::sync::Barrier::new(CLIENTS);
        std::thread::scope(|s| {
            let handles: Vec<_> = bodies
                .iter()
                .map(|b| {
                    let (at_data, at_body) = (&at_data, &at_body);
                    s.spawn(move || burst_client(sluice.addr, b, declare, at_data, at_body))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    };
    // One burst first, so that what such a burst starts once (the inspection pool's threads, the
    // store's writer with its events, the allocator's segments for large buffers) is in "before":
    // what is checked below is that a burst gives its memory back, not that nothing ever starts.
    let warm = burst(true).iter().filter(|&&c| c == 250).count();
    assert_eq!(warm, 2);
    sink.wait_for(warm, WAIT);
    let before = status_kb(pid, "VmRSS");
    let anon_before = status_kb(pid, "RssAnon");
    let mut deferred = Vec::new();
    // Round 1 declares SIZE: exactly two 8 MiB reservations fit in 20 MiB, so two clients get 354
    // and ten get 452 at DATA. Round 2 declares nothing: reservations grow as bytes arrive and
    // whoever cannot be covered gets 452 at the end of DATA.
    for declare in [true, false] {
        let codes = burst(declare);
        if declare {
            assert_eq!(codes.iter().filter(|&&c| c == 250).count(), 2, "{codes:?}");
        }
        deferred.extend(
            codes
                .iter()
                .enumerate()
                .filter(|(_, c)| **c == 452)
                .map(|(i, _)| i),
        );
        assert!(codes.contains(&250), "{codes:?}");
    }
    let hwm = status_kb(pid, "VmHWM");
    // Nothing lost: every 250 reached the next hop, and every deferred message goes through when
    // sent again alone.
    let delivered_first = sink.messages().len();
    assert_eq!(delivered_first, warm + 2 * CLIENTS - deferred.len());
    for &i in &deferred {
        let mut c = Client::connect(sluice.addr);
        c.set_read_timeout(Duration::from_secs(60));
        c.ehlo();
        let r = c.send("a@corp.example", &["b@partner.example"], &bodies[i]);
        assert_eq!(r.code, 250, "{r}");
        c.quit();
    }
    sink.wait_for(warm + 2 * CLIENTS, WAIT);
    // The peak stayed within a bound set by the budget: each message is held once (past the
    // default 1 MiB spool threshold in a mapped spool file, relayed as the edited header block then
    // the body, stuffed in pieces); a buffer growing by doubling briefly holds its old copy too.
    // (Without the budget the same burst peaked near 280 MB.)
    let budget_kb = BUDGET / 1024;
    eprintln!("VmRSS before {before} kB, VmHWM {hwm} kB, budget {budget_kb} kB");
    assert!(
        hwm <= before + 3 * budget_kb,
        "VmHWM {hwm} kB; VmRSS before the burst {before} kB; budget {budget_kb} kB"
    );
    // And memory went back after the peak (collected at the end of each large message; without
    // that, about 25 MB more stayed resident here). Anonymous memory only: the store's map pages
    // that the messages' events touched are file pages the kernel reclaims, not held memory.
    let after = status_kb(pid, "RssAnon");
    eprintln!("RssAnon after {after} kB; before {anon_before} kB");
    assert!(
        after <= anon_before + budget_kb / 2,
        "RssAnon after {after} kB; before {anon_before} kB"
    );
}

#[test]
fn large_messages_go_through_the_spool_intact_inspected_and_leave_no_file() {
    let data = tempfile::tempdir().unwrap();
    let spool = data.path().join("spool");
    std::fs::create_dir_all(&spool).unwrap();
    std::fs::write(spool.join("crashed.eml"), b"left by an earlier run").unwrap();
    let sink = Sink::start_default();
    let sluice = Sluice::start_with_data(
        &config(
            "spool_threshold = 65536",
            &hosts_relay(&[sink.addr]),
            "[[policy]]\nid = 1\nname = \"No falcons\"\nkeywords = [\"project falcon\"]\naction = \"block\"",
        ),
        data.path(),
    );
    assert!(
        std::fs::read_dir(&spool).unwrap().next().is_none(),
        "files left in the spool are removed at start"
    );
    let mut c = Client::connect(sluice.addr);
    c.set_read_timeout(Duration::from_secs(60));
    c.ehlo();
    let clean = large_message("spooled", 3 * MIB);
    let r = c.send("a@corp.example", &["b@partner.example"], &clean);
    assert_eq!(r.code, 250, "{r}");
    // Inspection reads the mapped file: a keyword at the very end is found.
    let blocked = format!(
        "{}project falcon\r\n",
        large_message("spooled too", 3 * MIB)
    );
    let r = c.send("a@corp.example", &["b@partner.example"], &blocked);
    assert_eq!(r.code, 550, "{r}");
    c.quit();
    assert_eq!(sluice.count_logs("receiving it into the spool"), 2);
    let got = sink.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    // Byte for byte, after Sluice's own trace field on top.
    let relayed = got[0].data_str();
    assert!(relayed.starts_with("Received: "), "{}", &relayed[..200]);
    assert!(relayed.ends_with(&clean[clean.find("From: ").unwrap()..]));
    assert_eq!(
        got[0].body().len(),
        clean.len() - clean.find("\r\n\r\n").unwrap() - 4
    );
    assert!(
        std::fs::read_dir(&spool).unwrap().next().is_none(),
        "no spool file left"
    );
}
