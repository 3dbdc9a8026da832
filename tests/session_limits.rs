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
