//! A small blocking SMTP client for tests: raw commands, whole transactions, STARTTLS with a rustls
//! client that trusts a given certificate.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

trait Io: Read + Write + Send {}
impl<T: Read + Write + Send> Io for T {}

pub struct Client {
    reader: BufReader<Box<dyn Io>>,
    pub greeting: String,
    /// A handle on the TCP socket underneath (also after STARTTLS), for timeouts and shutdown.
    tcp: Option<TcpStream>,
}

/// One reply: the code and the full text of all lines joined by "\n".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.code, self.text)
    }
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let tcp = TcpStream::connect(addr).expect("connect");
        Client::over(tcp)
    }

    /// Like [`Client::connect`] but from a chosen local source address (e.g. 127.0.0.9: Linux routes
    /// all of 127/8 to the loopback interface).
    pub fn connect_from(src: IpAddr, addr: SocketAddr) -> Client {
        Client::over(connect_from(src, addr).expect("connect from source address"))
    }

    /// Wraps a connected socket and reads the greeting.
    pub fn over(tcp: TcpStream) -> Client {
        tcp.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let handle = tcp.try_clone().ok();
        let mut c = Client {
            reader: BufReader::new(Box::new(tcp)),
            greeting: String::new(),
            tcp: handle,
        };
        let g = c.read_reply();
        c.greeting = g.to_string();
        c
    }

    /// Changes the read timeout of the underlying socket (works after STARTTLS too).
    pub fn set_read_timeout(&self, timeout: Duration) {
        if let Some(t) = &self.tcp {
            t.set_read_timeout(Some(timeout)).expect("set_read_timeout");
        }
    }

    /// Reads one raw line (with its line ending); `None` on EOF or error (e.g. timeout).
    pub fn read_line(&mut self) -> Option<String> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line),
        }
    }

    /// The TCP socket underneath, for a test that does its own TLS after STARTTLS (nothing may be
    /// buffered unread).
    pub fn into_tcp(self) -> TcpStream {
        self.tcp.expect("a TCP connection")
    }

    /// Closes the connection abruptly without reading anything more.
    pub fn hang_up(self) {
        if let Some(t) = &self.tcp {
            let _ = t.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).expect("write");
        self.reader.get_mut().flush().expect("flush");
    }

    pub fn read_reply(&mut self) -> Reply {
        let mut text = Vec::new();
        loop {
            let mut line = String::new();
            let n = self.reader.read_line(&mut line).expect("read reply");
            assert!(n > 0, "connection closed while waiting for a reply");
            let line = line.trim_end_matches(['\r', '\n']).to_string();
            let code: u16 = line
                .get(..3)
                .and_then(|c| c.parse().ok())
                .unwrap_or_else(|| panic!("bad reply line {line:?}"));
            let last = line.as_bytes().get(3) != Some(&b'-');
            text.push(line.get(4..).unwrap_or("").to_string());
            if last {
                return Reply {
                    code,
                    text: text.join("\n"),
                };
            }
        }
    }

    /// Whether the server closed the connection (reads EOF within the timeout).
    pub fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 1];
        matches!(self.reader.read(&mut buf), Ok(0) | Err(_))
    }

    pub fn cmd(&mut self, line: &str) -> Reply {
        self.send_raw(format!("{line}\r\n").as_bytes());
        self.read_reply()
    }

    pub fn ehlo(&mut self) -> Reply {
        let r = self.cmd("EHLO client.test");
        assert_eq!(r.code, 250, "EHLO: {r}");
        r
    }

    /// DATA with the message (CRLF lines, not yet dot-stuffed) and returns the final reply.
    pub fn data(&mut self, message: &str) -> Reply {
        let r = self.cmd("DATA");
        if r.code != 354 {
            return r;
        }
        self.data_after_354(message)
    }

    /// The message (dot-stuffed here) and the terminator, after the server said 354; the final reply.
    pub fn data_after_354(&mut self, message: &str) -> Reply {
        let mut wire = String::new();
        for line in message.split_inclusive("\r\n") {
            if line.starts_with('.') {
                wire.push('.');
            }
            wire.push_str(line);
        }
        if !wire.ends_with("\r\n") {
            wire.push_str("\r\n");
        }
        wire.push_str(".\r\n");
        self.send_raw(wire.as_bytes());
        self.read_reply()
    }

    /// A whole transaction: MAIL, RCPTs (each must be accepted), DATA. Returns the final reply.
    pub fn send(&mut self, from: &str, to: &[&str], message: &str) -> Reply {
        let r = self.cmd(&format!("MAIL FROM:<{from}>"));
        if r.code != 250 {
            return r;
        }
        for t in to {
            let r = self.cmd(&format!("RCPT TO:<{t}>"));
            if r.code != 250 {
                return r;
            }
        }
        self.data(message)
    }

    pub fn quit(mut self) {
        let r = self.cmd("QUIT");
        assert_eq!(r.code, 221, "QUIT: {r}");
    }

    /// STARTTLS, trusting `ca_pem` for `server_name`; then the session must EHLO again.
    pub fn starttls(self, ca_pem: &str, server_name: &str) -> Client {
        self.starttls_pipelined("", ca_pem, server_name)
    }

    /// STARTTLS with `injected` plaintext sent in the same write right after it (the CVE-2011-0411
    /// command-injection pattern), then the TLS handshake as in [`Client::starttls`].
    pub fn starttls_pipelined(self, injected: &str, ca_pem: &str, server_name: &str) -> Client {
        let mut me = self;
        me.send_raw(format!("STARTTLS\r\n{injected}").as_bytes());
        let r = me.read_reply();
        assert_eq!(r.code, 220, "STARTTLS: {r}");
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(cert.expect("pem")).expect("add root");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name =
            rustls::pki_types::ServerName::try_from(server_name.to_string()).expect("server name");
        let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("tls client");
        let inner = me.reader.into_inner();
        let tls = rustls::StreamOwned::new(conn, inner);
        Client {
            reader: BufReader::new(Box::new(tls)),
            greeting: me.greeting,
            tcp: me.tcp,
        }
    }
}

use rustls::pki_types::pem::PemObject;

/// A TCP connection to `addr` from the local address `src` (any port).
pub fn connect_from(src: IpAddr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.bind(&SocketAddr::new(src, 0).into())?;
    socket.connect_timeout(&addr.into(), Duration::from_secs(5))?;
    Ok(socket.into())
}

/// A simple RFC 5322 message with CRLF line ends.
pub fn message(subject: &str, body: &str) -> String {
    format!(
        "From: sender@corp.example\r\nTo: rcpt@partner.example\r\nSubject: {subject}\r\nMessage-ID: <{}@test>\r\n\r\n{}\r\n",
        subject.len(),
        body.replace('\n', "\r\n")
    )
}

/// One message from a@corp.example to b@partner.example on a session of its own: the final reply.
pub fn send_one(addr: SocketAddr, message: &str) -> Reply {
    let mut c = Client::connect(addr);
    c.ehlo();
    let r = c.send("a@corp.example", &["b@partner.example"], message);
    c.quit();
    r
}
