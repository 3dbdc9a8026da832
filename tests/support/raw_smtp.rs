//! A bare SMTP client for tests where the server may die mid-conversation (killed, aborted): one
//! message per connection, and `None` instead of a panic when the connection breaks. For
//! `tests/crash.rs`, `tests/crash_gateway.rs` and `tests/gateway_hold.rs`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// Reads one reply (the last line of a multi-line one); its code, or `None` when the connection
/// broke.
pub fn reply(r: &mut BufReader<TcpStream>) -> Option<u16> {
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let code = line.get(..3)?.parse().ok()?;
        if line.as_bytes().get(3) != Some(&b'-') {
            return Some(code);
        }
    }
}

/// Sends `message` (header and body, CRLF lines, no final dot) from `from` to `to` on a fresh
/// connection: the final reply's code, a refused command's code, or `None` when the server went
/// away before answering.
pub fn send(addr: SocketAddr, from: &str, to: &str, message: &str) -> Option<u16> {
    let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut w = tcp.try_clone().ok()?;
    let mut r = BufReader::new(tcp);
    reply(&mut r)?;
    for cmd in [
        "EHLO client.test".to_string(),
        format!("MAIL FROM:<{from}>"),
        format!("RCPT TO:<{to}>"),
        "DATA".to_string(),
    ] {
        w.write_all(format!("{cmd}\r\n").as_bytes()).ok()?;
        let code = reply(&mut r)?;
        if code >= 400 {
            return Some(code);
        }
    }
    w.write_all(format!("{message}.\r\n").as_bytes()).ok()?;
    let code = reply(&mut r);
    let _ = w.write_all(b"QUIT\r\n");
    code
}

/// The crash tests' message `id`: its Message-ID, subject `crash <id>`, a body quarantined by the
/// tests' "Falcon" policy when `held`, and 2,000 bytes of padding.
pub fn crash_message(id: &str, held: bool) -> String {
    let body = if held {
        "the falcon plan"
    } else {
        "nothing to see"
    };
    format!(
        "Message-ID: <{id}>\r\nSubject: crash {id}\r\n\r\n{body}\r\n{}\r\n",
        "x".repeat(2000)
    )
}
