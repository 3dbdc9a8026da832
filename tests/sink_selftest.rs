//! Self-tests for the SMTP sink test helper (`tests/support/sink.rs`), driven
//! with a raw `TcpStream` and a rustls client.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use support::sink::*;

const WAIT: Duration = Duration::from_secs(10);

enum Io {
    /// Placeholder while swapping the plain stream for a TLS one.
    Gone,
    Plain(TcpStream),
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Read for Io {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Io::Gone => Err(std::io::ErrorKind::NotConnected.into()),
            Io::Plain(s) => s.read(buf),
            Io::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Io {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Io::Gone => Err(std::io::ErrorKind::NotConnected.into()),
            Io::Plain(s) => s.write(buf),
            Io::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Io::Gone => Ok(()),
            Io::Plain(s) => s.flush(),
            Io::Tls(s) => s.flush(),
        }
    }
}

/// Minimal raw SMTP client.
struct Client {
    r: BufReader<Io>,
}

impl Client {
    fn connect(sink: &Sink) -> Client {
        let s = TcpStream::connect(sink.addr).expect("connect to sink");
        s.set_read_timeout(Some(WAIT)).unwrap();
        Client {
            r: BufReader::new(Io::Plain(s)),
        }
    }

    fn send(&mut self, raw: &str) {
        self.send_bytes(raw.as_bytes());
    }

    fn send_bytes(&mut self, raw: &[u8]) {
        let w = self.r.get_mut();
        w.write_all(raw).unwrap();
        w.flush().unwrap();
    }

    /// Reads one (possibly multiline) reply: (code, text lines).
    fn reply(&mut self) -> (u16, Vec<String>) {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            let n = self.r.read_line(&mut line).expect("read reply");
            assert!(n > 0, "connection closed while waiting for a reply");
            assert!(line.ends_with("\r\n"), "reply line not CRLF: {line:?}");
            let line = line.trim_end().to_string();
            let code: u16 = line[..3].parse().expect("reply code");
            let more = line.as_bytes().get(3) == Some(&b'-');
            lines.push(line[4.min(line.len())..].to_string());
            if !more {
                return (code, lines);
            }
        }
    }

    fn cmd(&mut self, line: &str) -> (u16, Vec<String>) {
        self.send(&format!("{line}\r\n"));
        self.reply()
    }

    fn expect(&mut self, line: &str, code: u16) -> Vec<String> {
        let (c, text) = self.cmd(line);
        assert_eq!(c, code, "{line:?} -> {c} {text:?}");
        text
    }

    fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 1];
        matches!(self.r.read(&mut buf), Ok(0) | Err(_))
    }

    /// Sends STARTTLS, expects 220 and performs a TLS handshake trusting
    /// `ca_pem`, verifying the server as `server_name`.
    fn starttls(&mut self, ca_pem: &str, server_name: &str) {
        self.expect("STARTTLS", 220);
        assert!(self.r.buffer().is_empty(), "data after STARTTLS reply");
        let Io::Plain(tcp) = std::mem::replace(&mut self.r, BufReader::new(Io::Gone)).into_inner()
        else {
            panic!("already in TLS");
        };
        let conn = ClientConnection::new(
            client_config(ca_pem),
            ServerName::try_from(server_name.to_string()).unwrap(),
        )
        .unwrap();
        let mut tls = StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn
                .complete_io(&mut tls.sock)
                .expect("TLS handshake with sink");
        }
        self.r = BufReader::new(Io::Tls(Box::new(tls)));
    }
}

fn client_config(ca_pem: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap())
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

fn greet(sink: &Sink) -> Client {
    let mut c = Client::connect(sink);
    let (code, text) = c.reply();
    assert_eq!(code, 220);
    assert_eq!(text, vec!["sink ESMTP".to_string()]);
    c
}

#[test]
fn plain_transaction_is_recorded() {
    let sink = Sink::start_default();
    let mut c = greet(&sink);
    let ehlo = c.expect("EHLO client.example", 250);
    for ext in [
        "PIPELINING",
        "SIZE 104857600",
        "8BITMIME",
        "ENHANCEDSTATUSCODES",
        "DSN",
        "SMTPUTF8",
    ] {
        assert!(ehlo.iter().any(|l| l == ext), "missing {ext} in {ehlo:?}");
    }
    assert!(!ehlo.iter().any(|l| l == "STARTTLS"));
    c.expect("MAIL FROM:<alice@example.com> SIZE=100 RET=HDRS", 250);
    c.expect("RCPT TO:<bob@example.net> NOTIFY=NEVER", 250);
    c.expect("DATA", 354);
    c.send(
        "Subject: Hello\r\n\
         X-Folded: first\r\n\
         \tsecond\r\n\
         X-Multi: one\r\n\
         x-multi: two\r\n\
         \r\n\
         line 1\r\n\
         ..leading dot\r\n\
         .\r\n",
    );
    let (code, text) = c.reply();
    assert_eq!(code, 250);
    assert!(text[0].starts_with("2.0.0 Ok: queued as "), "{text:?}");
    c.expect("QUIT", 221);
    assert!(c.is_closed());

    let msgs = sink.wait_for(1, WAIT);
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m.helo, "client.example");
    assert_eq!(m.mail_from, "<alice@example.com> SIZE=100 RET=HDRS");
    assert_eq!(m.mail_from_addr(), "alice@example.com");
    assert_eq!(
        m.rcpt_to,
        vec!["<bob@example.net> NOTIFY=NEVER".to_string()]
    );
    assert_eq!(m.rcpt_addrs(), vec!["bob@example.net".to_string()]);
    assert!(!m.tls);
    assert!(m.peer.ip().is_loopback());
    assert_eq!(m.header("subject").as_deref(), Some("Hello"));
    assert_eq!(m.header("X-FOLDED").as_deref(), Some("first\tsecond"));
    assert_eq!(
        m.headers("x-multi"),
        vec!["one".to_string(), "two".to_string()]
    );
    assert_eq!(m.header("Missing"), None);
    assert_eq!(m.body(), b"line 1\r\n.leading dot\r\n");
    assert!(m.data.ends_with(b"line 1\r\n.leading dot\r\n"));
    assert_eq!(sink.connections(), 1);
}

#[test]
fn pipelined_transaction_with_rcpt_override() {
    let sink = Sink::start(SinkConfig {
        rcpt_reply: Arc::new(|addr: &str| {
            (addr == "nobody@example.net").then(|| "550 5.1.1 No such user".to_string())
        }),
        ..Default::default()
    });
    let mut c = greet(&sink);
    c.expect("EHLO pipe.example", 250);
    // Everything up to DATA in one write.
    c.send(
        "MAIL FROM:<a@example.com>\r\n\
         RCPT TO:<x@example.net>\r\n\
         RCPT TO:<nobody@example.net>\r\n\
         RCPT TO:<y@example.net> NOTIFY=SUCCESS,FAILURE\r\n\
         DATA\r\n",
    );
    let codes: Vec<u16> = (0..5).map(|_| c.reply().0).collect();
    assert_eq!(codes, vec![250, 250, 550, 250, 354]);
    // Message, a second transaction and QUIT, all in one write.
    c.send(
        "Subject: one\r\n\r\nbody one\r\n.\r\n\
         MAIL FROM:<>\r\n\
         RCPT TO:<z@example.net>\r\n\
         DATA\r\n",
    );
    let codes: Vec<u16> = (0..4).map(|_| c.reply().0).collect();
    assert_eq!(codes, vec![250, 250, 250, 354]);
    c.send("Subject: two\r\n\r\nbody two\r\n.\r\nQUIT\r\n");
    assert_eq!(c.reply().0, 250);
    assert_eq!(c.reply().0, 221);

    let msgs = sink.wait_for(2, WAIT);
    assert_eq!(
        msgs[0].rcpt_addrs(),
        vec!["x@example.net".to_string(), "y@example.net".to_string()]
    );
    assert_eq!(msgs[0].rcpt_to[1], "<y@example.net> NOTIFY=SUCCESS,FAILURE");
    assert_eq!(msgs[0].body(), b"body one\r\n");
    assert_eq!(msgs[1].mail_from, "<>");
    assert_eq!(msgs[1].mail_from_addr(), "");
    assert_eq!(msgs[1].header("Subject").as_deref(), Some("two"));
}

#[test]
fn data_without_valid_recipients_is_refused() {
    let sink = Sink::start(SinkConfig::default().reject_rcpts(&["bad@x.test"], "550 5.1.1 Nope"));
    let mut c = greet(&sink);
    c.expect("HELO h.example", 250);
    c.expect("MAIL FROM:<a@x.test>", 250);
    let text = c.expect("RCPT TO:<BAD@x.test>", 550);
    assert_eq!(text, vec!["5.1.1 Nope".to_string()]);
    let text = c.expect("DATA", 554);
    assert_eq!(text, vec!["5.5.1 No valid recipients".to_string()]);
    c.expect("RSET", 250);
    c.expect("NOOP", 250);
    c.expect("QUIT", 221);
    assert!(sink.messages().is_empty());
}

#[test]
fn data_reply_override_is_not_recorded() {
    let sink = Sink::start(SinkConfig {
        data_reply: Some("451 4.3.0 Try later".into()),
        ..Default::default()
    });
    let mut c = greet(&sink);
    c.expect("EHLO h.example", 250);
    c.expect("MAIL FROM:<a@x.test>", 250);
    c.expect("RCPT TO:<b@x.test>", 250);
    c.expect("DATA", 354);
    c.send("Subject: x\r\n\r\nhi\r\n.\r\n");
    assert_eq!(c.reply(), (451, vec!["4.3.0 Try later".to_string()]));
    // Transaction was reset: a new MAIL is accepted.
    c.expect("MAIL FROM:<a@x.test>", 250);
    c.expect("QUIT", 221);
    assert!(sink.messages().is_empty());
}

#[test]
fn sequence_errors() {
    let sink = Sink::start_default();
    let mut c = greet(&sink);
    c.expect("MAIL FROM:<a@x.test>", 503);
    c.expect("EHLO", 501);
    c.expect("ehlo h.example", 250);
    c.expect("RCPT TO:<b@x.test>", 503);
    c.expect("DATA", 503);
    c.expect("MAIL TO:<a@x.test>", 501);
    c.expect("mail from: <a@x.test>", 250);
    c.expect("MAIL FROM:<a@x.test>", 503);
    c.expect("STARTTLS", 502);
    c.expect("BOGUS", 500);
    c.expect("QUIT", 221);
}

#[test]
fn starttls_required_and_verified() {
    let sink = Sink::start(SinkConfig {
        starttls: true,
        require_tls: true,
        ..Default::default()
    });
    let pem = sink.cert_pem();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));

    for name in ["localhost", "127.0.0.1"] {
        let mut c = greet(&sink);
        let ehlo = c.expect("EHLO tls.example", 250);
        assert!(ehlo.iter().any(|l| l == "STARTTLS"), "{ehlo:?}");
        assert_eq!(
            c.cmd("MAIL FROM:<a@x.test>"),
            (530, vec!["5.7.0 Must issue STARTTLS first".to_string()])
        );
        c.starttls(&pem, name);
        // Session was reset: EHLO required again.
        c.expect("MAIL FROM:<a@x.test>", 503);
        let ehlo = c.expect("EHLO tls2.example", 250);
        assert!(!ehlo.iter().any(|l| l == "STARTTLS"), "{ehlo:?}");
        c.expect("STARTTLS", 503);
        // Pipelined inside TLS too.
        c.send("MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n");
        assert_eq!(c.reply().0, 250);
        assert_eq!(c.reply().0, 250);
        assert_eq!(c.reply().0, 354);
        c.send(&format!("Subject: {name}\r\n\r\nsecret\r\n.\r\n"));
        assert_eq!(c.reply().0, 250);
        c.expect("QUIT", 221);
        assert!(c.is_closed());
    }

    let msgs = sink.wait_for(2, WAIT);
    assert!(msgs.iter().all(|m| m.tls));
    assert_eq!(msgs[0].helo, "tls2.example");
    assert_eq!(msgs[1].header("subject").as_deref(), Some("127.0.0.1"));
    assert_eq!(sink.connections(), 2);
}

#[test]
fn tls_handshake_fails_with_wrong_trust_anchor() {
    let sink = Sink::start(SinkConfig {
        starttls: true,
        ..Default::default()
    });
    let other = Sink::start_default();
    let mut c = greet(&sink);
    c.expect("EHLO h.example", 250);
    c.expect("STARTTLS", 220);
    let Io::Plain(tcp) = std::mem::replace(&mut c.r, BufReader::new(Io::Gone)).into_inner() else {
        unreachable!()
    };
    let conn = ClientConnection::new(
        client_config(&other.cert_pem()),
        ServerName::try_from("localhost").unwrap(),
    )
    .unwrap();
    let mut tls = StreamOwned::new(conn, tcp);
    let mut failed = false;
    while tls.conn.is_handshaking() {
        if tls.conn.complete_io(&mut tls.sock).is_err() {
            failed = true;
            break;
        }
    }
    assert!(
        failed,
        "handshake should fail against a foreign trust anchor"
    );
    drop(tls);
    // Sink must still be healthy.
    let mut c = greet(&sink);
    c.expect("QUIT", 221);
}

#[test]
fn banner_421_closes() {
    let sink = Sink::start(SinkConfig {
        banner_code: 421,
        ..Default::default()
    });
    let mut c = Client::connect(&sink);
    assert_eq!(c.reply().0, 421);
    assert!(c.is_closed());
}

#[test]
fn banner_554_waits_for_quit() {
    let sink = Sink::start(SinkConfig {
        banner_code: 554,
        ..Default::default()
    });
    let mut c = Client::connect(&sink);
    assert_eq!(c.reply().0, 554);
    c.expect("EHLO h.example", 503);
    c.expect("QUIT", 221);
    assert!(c.is_closed());
}

#[test]
fn delay_and_clear_and_counts() {
    let sink = Sink::start(SinkConfig {
        delay: Some(Duration::from_millis(300)),
        ..Default::default()
    });
    for i in 0..2 {
        let mut c = greet(&sink);
        c.expect("EHLO h.example", 250);
        c.expect("MAIL FROM:<a@x.test>", 250);
        c.expect(&format!("RCPT TO:<r{i}@x.test>"), 250);
        c.expect("DATA", 354);
        let start = Instant::now();
        c.send("\r\nbody only\r\n.\r\n");
        assert_eq!(c.reply().0, 250);
        assert!(start.elapsed() >= Duration::from_millis(300));
        // Closing without QUIT is fine.
    }
    let msgs = sink.messages();
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].header("Subject"), None);
    assert_eq!(msgs[0].body(), b"body only\r\n");
    assert_eq!(sink.connections(), 2);
    sink.clear();
    assert!(sink.messages().is_empty());
    assert_eq!(sink.connections(), 2);
}

#[test]
fn max_messages_refuses_further_mail() {
    let sink = Sink::start(SinkConfig {
        max_messages: Some(1),
        ..Default::default()
    });
    let mut c = greet(&sink);
    c.expect("EHLO h.example", 250);
    c.expect("MAIL FROM:<a@x.test>", 250);
    c.expect("RCPT TO:<b@x.test>", 250);
    c.expect("DATA", 354);
    c.send("\r\nx\r\n.\r\n");
    assert_eq!(c.reply().0, 250);
    c.expect("MAIL FROM:<a@x.test>", 452);
}

#[test]
#[should_panic(expected = "timed out")]
fn wait_for_panics_on_timeout() {
    let sink = Sink::start_default();
    sink.wait_for(1, Duration::from_millis(100));
}

#[test]
fn drop_with_idle_connections_is_prompt() {
    let sink = Sink::start(SinkConfig {
        starttls: true,
        ..Default::default()
    });
    let mut idle = greet(&sink);
    idle.expect("EHLO h.example", 250);
    // A connection that is mid-DATA.
    let mut mid = greet(&sink);
    mid.expect("EHLO h.example", 250);
    mid.expect("MAIL FROM:<a@x.test>", 250);
    mid.expect("RCPT TO:<b@x.test>", 250);
    mid.expect("DATA", 354);
    mid.send("partial line without end");
    // A connection that never even read the banner.
    let _raw = TcpStream::connect(sink.addr).unwrap();
    let start = Instant::now();
    drop(sink);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "drop took {:?}",
        start.elapsed()
    );
    assert!(idle.is_closed());
    assert!(mid.is_closed());
}

#[test]
fn bind_on_unspecified_address() {
    let sink = Sink::start(SinkConfig {
        bind: "0.0.0.0:0".parse().unwrap(),
        starttls: true,
        ..Default::default()
    });
    let addr = std::net::SocketAddr::new("127.0.0.1".parse().unwrap(), sink.addr.port());
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut c = Client {
        r: BufReader::new(Io::Plain(s)),
    };
    assert_eq!(c.reply().0, 220);
    c.expect("EHLO h.example", 250);
    c.starttls(&sink.cert_pem(), "localhost");
    c.expect("EHLO h.example", 250);
    c.expect("QUIT", 221);
}
