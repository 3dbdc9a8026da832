//! The admin HTTPS server through the real binary: HTTPS with the certificate Sluice generated in its
//! data dir, /healthz, 404/405/413, security headers on every response, approval links (bad ones,
//! and a genuine one while no store is wired: 503), the slow-client timeout and the connection limits
//! (in all and per client, with idle connections closed after the header timeout), HEAD answered as
//! GET without a body, and the start-up warning when `admin.public_url` is left to its default.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sluice::link::token::{self, Claims, Decision, Key};
use support::https::{connect, get, post, read_reply, request};
use support::sluice::{Sluice, config};

const WAIT: Duration = Duration::from_secs(10);

/// Sluice with these `[admin]` keys (on an ephemeral loopback port) and a next hop nobody uses.
fn start(admin: &str) -> Sluice {
    Sluice::start(&config(
        "",
        "mode = \"forward\"\nhosts = [\"127.0.0.1:9\"]",
        &format!("[admin]\naddress = \"127.0.0.1:0\"\n{admin}\n"),
    ))
}

fn admin_addr(s: &Sluice) -> SocketAddr {
    s.admin.expect("the admin server reported its address")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn serves_health_errors_and_approval_pages_with_security_headers() {
    let s = start("max_body = 1024");
    let r = get(&s, "/healthz");
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    r.assert_security_headers();
    // The handler's time, for benchmarks and the browser's network panel.
    let timing = r.header("server-timing").expect("server-timing");
    assert!(
        timing.starts_with("app;dur=") && timing[8..].parse::<f64>().is_ok(),
        "{timing}"
    );

    let r = get(&s, "/nope");
    assert_eq!(r.status, 404);
    r.assert_security_headers();

    let r = post(&s, "/healthz", "");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, HEAD"));
    r.assert_security_headers();

    // Too large by Content-Length (refused before reading) and by a chunked body.
    let r = post(&s, "/approval/x", &"a".repeat(1025));
    assert_eq!(r.status, 413);
    r.assert_security_headers();
    let chunk = "b".repeat(800);
    let r = request(
        &s,
        &format!(
            "POST /approval/x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n{len:x}\r\n{chunk}\r\n{len:x}\r\n{chunk}\r\n0\r\n\r\n",
            len = chunk.len()
        ),
    );
    assert_eq!(r.status, 413);

    // A head larger than the server buffers (8 KiB) is refused by hyper itself.
    let r = request(
        &s,
        &format!(
            "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Filler: {}\r\n\r\n",
            "x".repeat(9000)
        ),
    );
    assert_eq!(r.status, 431);
    r.assert_security_headers();
    // So does a request hyper cannot parse: its own 400 carries our headers too.
    let r = request(
        &s,
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n",
    );
    assert_eq!(r.status, 400);
    r.assert_security_headers();

    // A forged link and a garbage one: the same page.
    let forged = token::sign(
        &Key::from_bytes([1; 32]),
        &Claims {
            approval: 9,
            approver: 1,
            decision: Decision::Approve,
            expires: now() + 3600,
            message: token::message_tag("no-such-message"),
        },
    );
    let a = get(&s, &format!("/approval/{forged}"));
    let b = get(&s, "/approval/not-a-token");
    assert_eq!((a.status, b.status), (400, 400));
    assert_eq!(a.body, b.body);
    assert!(a.body.contains("This link is not valid"), "{}", a.body);
    a.assert_security_headers();

    // A genuine link (signed with the key Sluice generated in its data dir) to an approval the
    // store does not have: "not found", and nothing happens.
    let key: [u8; 32] = std::fs::read(s.dir.path().join("data/approval.key"))
        .expect("approval.key in the data dir")
        .try_into()
        .expect("a 32-byte key");
    let genuine = token::sign(
        &Key::from_bytes(key),
        &Claims {
            approval: 9,
            approver: 1,
            decision: Decision::Approve,
            expires: now() + 3600,
            message: token::message_tag("no-such-message"),
        },
    );
    let r = get(&s, &format!("/approval/{genuine}"));
    assert_eq!(r.status, 404, "{}", r.body);
    assert!(r.body.contains("Message not found"));
    let r = post(&s, &format!("/approval/{genuine}"), "decision=approve");
    assert_eq!(r.status, 404);
    // Tokens never reach the log; the approval id does (the log is read as the server writes it).
    assert!(
        s.wait_log("approval=9", std::time::Duration::from_secs(5)),
        "{:#?}",
        s.logs()
    );
    let logs = s.logs().join("\n");
    assert!(
        !logs.contains(&genuine) && !logs.contains(&forged),
        "a token was logged"
    );
    assert!(logs.contains("approval=9"), "{logs}");
}

#[test]
fn slow_clients_get_408_within_the_request_timeout() {
    let s = start("request_timeout = \"1s\"");
    // A head that never completes.
    let started = Instant::now();
    let mut tls = connect(&s).unwrap();
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: loc")
        .unwrap();
    tls.flush().unwrap();
    let r = read_reply(&mut tls);
    assert_eq!(r.status, 408, "{}", r.body);
    r.assert_security_headers();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );

    // A body that never completes.
    let started = Instant::now();
    let mut tls = connect(&s).unwrap();
    tls.write_all(
        b"POST /approval/x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 20\r\n\r\ndecis",
    )
    .unwrap();
    tls.flush().unwrap();
    let r = read_reply(&mut tls);
    assert_eq!(r.status, 408, "{}", r.body);
    assert!(started.elapsed() < Duration::from_secs(5));

    // A client that never starts TLS is disconnected.
    let mut tcp = TcpStream::connect(admin_addr(&s)).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let n = tcp.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0);
    assert!(started.elapsed() < Duration::from_secs(5));

    // A prompt client is still served.
    assert_eq!(get(&s, "/healthz").status, 200);
}

#[test]
fn connections_beyond_the_limit_are_closed_until_one_ends() {
    let s = start("max_connections = 2\nrequest_timeout = \"30s\"");
    // Two idle connections hold both slots (no TLS yet: the server waits for the handshake).
    let first = TcpStream::connect(admin_addr(&s)).unwrap();
    let _second = TcpStream::connect(admin_addr(&s)).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(connect(&s).is_err(), "a third connection was served");
    drop(first);
    // Once a slot is free, requests are served again.
    let end = Instant::now() + WAIT;
    loop {
        if let Ok(mut tls) = connect(&s) {
            tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .unwrap();
            assert_eq!(read_reply(&mut tls).status, 200);
            break;
        }
        assert!(Instant::now() < end, "the freed slot was never reused");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A TCP connection to the admin port from this loopback source address (a second "client").
fn tcp_from(source: &str, to: SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    let from = SocketAddr::new(source.parse().unwrap(), 0);
    socket.bind(&from.into()).unwrap();
    socket.connect(&to.into()).unwrap();
    let tcp: TcpStream = socket.into();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    tcp.set_write_timeout(Some(WAIT)).unwrap();
    tcp
}

/// `GET /healthz` over TLS from this loopback source address.
fn health_from(s: &Sluice, source: &str) -> std::io::Result<u16> {
    use rustls::pki_types::ServerName;
    let tcp = tcp_from(source, admin_addr(s));
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(support::https::client_config(s), name)
        .map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
    tls.flush()?;
    Ok(read_reply(&mut tls).status)
}

#[test]
fn idle_connections_from_one_client_do_not_lock_out_the_others() {
    // Issue 9: 80 connections that sent nothing made /healthz fail for seconds.
    let s = start("header_timeout = \"3s\"");
    let addr = admin_addr(&s);
    let mut idle: Vec<TcpStream> = (0..80).map(|_| tcp_from("127.0.0.2", addr)).collect();
    // Give the server time to take them all (it accepts in a tight loop).
    std::thread::sleep(Duration::from_millis(500));
    // Another client is served while they are open.
    let r = get(&s, "/healthz");
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    // Every idle connection is closed: those past the per-client limit at once, the others when
    // the header timeout ends (each read waits at most WAIT).
    for tcp in &mut idle {
        let mut buf = [0u8; 1];
        match tcp.read(&mut buf) {
            Ok(0) => {}
            Ok(_) => panic!("a connection that sent nothing was sent data before TLS"),
            Err(e) => assert!(
                !matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ),
                "an idle connection was still open after {WAIT:?}: {e}"
            ),
        }
    }
    drop(idle);
    // With its idle connections gone, that client is served again.
    let end = Instant::now() + WAIT;
    loop {
        match health_from(&s, "127.0.0.2") {
            Ok(status) => {
                assert_eq!(status, 200);
                break;
            }
            Err(e) => assert!(Instant::now() < end, "127.0.0.2 never served again: {e}"),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn disabled_admin_serves_nothing() {
    let s = start("enabled = false");
    assert_eq!(s.admin, None);
    assert!(!s.logs().iter().any(|l| l.contains("admin UI serving")));
}

/// Load balancers probe with HEAD: the GET answer's status and headers, and no body.
#[test]
fn head_healthz_answers_as_get_without_a_body() {
    let s = start("");
    let got = get(&s, "/healthz");
    let head = request(&s, "HEAD /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
    assert_eq!(head.status, 200, "{:?}", head.headers);
    assert_eq!(head.body, "");
    head.assert_security_headers();
    // Date and the handler's time differ from one request to the next.
    let without_date = |r: &support::https::Reply| -> Vec<(String, String)> {
        let mut h: Vec<_> = r
            .headers
            .iter()
            .filter(|(n, _)| n != "date" && n != "server-timing")
            .cloned()
            .collect();
        h.sort();
        h
    };
    assert_eq!(without_date(&head), without_date(&got));
    assert_eq!(head.header("content-length"), Some("2"));
}

/// Approval links are built from `admin.public_url`; left unset, they point at
/// `https://<hostname>:<port>`, which approvers may not reach: say so once at start.
#[test]
fn warns_at_start_when_public_url_is_not_set() {
    let needle = "admin.public_url is not set";
    let unset = start("");
    let lines: Vec<String> = unset
        .logs()
        .into_iter()
        .filter(|l| l.contains(needle))
        .collect();
    assert_eq!(lines.len(), 1, "{:#?}", unset.logs());
    assert!(lines[0].contains(" WARN "), "{}", lines[0]);
    assert!(lines[0].contains("set admin.public_url"), "{}", lines[0]);

    let set = start("public_url = \"https://approve.example.com\"");
    assert!(
        !set.logs().iter().any(|l| l.contains(needle)),
        "{:#?}",
        set.logs()
    );
}
