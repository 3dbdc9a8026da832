//! A real, blocking SMTP server used as the next-hop ("sink") peer in
//! Sluice's integration tests.
//!
//! The sink runs on plain std threads: one accept thread plus one thread per
//! connection.  It speaks enough ESMTP to act as a realistic downstream MTA:
//! `EHLO`/`HELO`, `MAIL`, `RCPT`, `DATA`, `RSET`, `NOOP`, `VRFY`, `QUIT` and
//! (optionally) `STARTTLS` using a freshly generated self-signed certificate.
//! Pipelined commands are handled naturally: commands are read line by line
//! from a buffered reader and each one is answered in order.
//!
//! Messages whose `DATA` was answered with a 2xx reply are recorded as
//! [`Received`] values and can be inspected with [`Sink::messages`] or
//! awaited with [`Sink::wait_for`].
//!
//! ```ignore
//! let sink = Sink::start(SinkConfig { starttls: true, ..Default::default() });
//! // ... point the code under test at sink.addr, trust sink.cert_pem() ...
//! let msgs = sink.wait_for(1, Duration::from_secs(5));
//! assert_eq!(msgs[0].rcpt_addrs(), vec!["bob@example.com"]);
//! ```
//!
//! Dropping a [`Sink`] stops the accept loop, shuts down any open
//! connections and joins every thread it spawned.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

/// Socket read/write timeout so that nothing in a test can hang forever.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Name the sink uses for itself in the greeting and EHLO reply.
const HOSTNAME: &str = "sink";

// ---------------------------------------------------------------------------
// Received message
// ---------------------------------------------------------------------------

/// One message accepted by the sink (its `DATA` was answered with 2xx).
#[derive(Clone, Debug)]
pub struct Received {
    /// Argument of the most recent `EHLO`/`HELO` of the session.
    pub helo: String,
    /// Full `MAIL FROM:` argument text, e.g. `"<a@b> SIZE=10 RET=HDRS"`.
    pub mail_from: String,
    /// Full `RCPT TO:` argument text of every *accepted* recipient, e.g.
    /// `"<x@y> NOTIFY=NEVER"`.
    pub rcpt_to: Vec<String>,
    /// Message content after dot-unstuffing, with line endings exactly as
    /// received (CRLF for well-behaved clients), without the final `.\r\n`.
    pub data: Vec<u8>,
    /// Whether the transaction happened after a successful STARTTLS.
    pub tls: bool,
    /// Address of the connecting client.
    pub peer: SocketAddr,
}

impl Received {
    /// The envelope sender address without angle brackets and parameters.
    pub fn mail_from_addr(&self) -> String {
        arg_address(&self.mail_from)
    }

    /// Accepted recipient addresses without angle brackets and parameters.
    pub fn rcpt_addrs(&self) -> Vec<String> {
        self.rcpt_to.iter().map(|a| arg_address(a)).collect()
    }

    /// First value of header `name` (case-insensitive), unfolded and trimmed.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers(name).into_iter().next()
    }

    /// All values of header `name` (case-insensitive) in message order,
    /// unfolded and trimmed.
    pub fn headers(&self, name: &str) -> Vec<String> {
        let (head, _) = split_message(&self.data);
        let mut fields: Vec<String> = Vec::new();
        for line in head.split_inclusive(|&b| b == b'\n') {
            let line = strip_eol(line);
            let text = String::from_utf8_lossy(line);
            if (line.first() == Some(&b' ') || line.first() == Some(&b'\t')) && !fields.is_empty() {
                // Continuation line: unfolding removes only the line break.
                fields.last_mut().unwrap().push_str(&text);
            } else {
                fields.push(text.into_owned());
            }
        }
        fields
            .iter()
            .filter_map(|f| {
                let (n, v) = f.split_once(':')?;
                n.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
            .collect()
    }

    /// The header section (everything before the first empty line), raw.
    pub fn header_bytes(&self) -> &[u8] {
        split_message(&self.data).0
    }

    /// The body: everything after the first empty line (empty if the message
    /// has no empty line).
    pub fn body(&self) -> &[u8] {
        split_message(&self.data).1
    }

    /// The whole message as (lossy) UTF-8 text.
    pub fn data_str(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The body as (lossy) UTF-8 text.
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(self.body()).into_owned()
    }
}

fn strip_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Splits raw message data into (header section, body).  The separating empty
/// line belongs to neither.
fn split_message(data: &[u8]) -> (&[u8], &[u8]) {
    let mut pos = 0;
    while pos < data.len() {
        let Some(nl) = data[pos..].iter().position(|&b| b == b'\n') else {
            break;
        };
        let line = &data[pos..pos + nl + 1];
        if line == b"\r\n" || line == b"\n" {
            return (&data[..pos], &data[pos + line.len()..]);
        }
        pos += nl + 1;
    }
    (data, &[])
}

/// Extracts the bare address from a MAIL FROM / RCPT TO argument:
/// `"<a@b> SIZE=1"` -> `"a@b"`, `"a@b X=y"` -> `"a@b"`.
fn arg_address(arg: &str) -> String {
    let arg = arg.trim();
    if let Some(rest) = arg.strip_prefix('<') {
        match rest.find('>') {
            Some(end) => rest[..end].to_string(),
            None => rest.split_whitespace().next().unwrap_or("").to_string(),
        }
    } else {
        arg.split_whitespace().next().unwrap_or("").to_string()
    }
}

// ---------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------

/// Decides the reply to `RCPT TO`: given the bare address, `Some(reply)`
/// (e.g. `"550 5.1.1 No such user"`) overrides the default `250 2.1.5 Ok`.
pub type RcptReply = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// Behaviour of a [`Sink`].
#[derive(Clone)]
pub struct SinkConfig {
    /// Address to bind; default `127.0.0.1:0`.
    pub bind: SocketAddr,
    /// Greeting code; default 220.  With any other code the greeting is
    /// `"<code> sink Service not available"`; a 4xx code then closes the
    /// connection, a 5xx code answers every command except QUIT with 503.
    pub banner_code: u16,
    /// Per-recipient reply override (default: accept everyone).  A recipient
    /// counts as accepted when the reply starts with `2`.
    pub rcpt_reply: RcptReply,
    /// Overrides the final reply to the end of DATA (e.g.
    /// `"451 4.3.0 Try later"`); default `250 2.0.0 Ok: queued as <n>`.
    /// The message is recorded only if the reply starts with `2`.
    pub data_reply: Option<String>,
    /// Advertise and support STARTTLS.
    pub starttls: bool,
    /// Refuse MAIL with `530 5.7.0 Must issue STARTTLS first` until TLS.
    pub require_tls: bool,
    /// Sleep this long before replying to the end of DATA.
    pub delay: Option<Duration>,
    /// If set, once this many messages are stored, further MAIL commands are
    /// refused with `452 4.3.1 Too many messages`.
    pub max_messages: Option<usize>,
    /// Advertise PIPELINING (default). Without it, a command that arrives while another one's reply
    /// is still owed gets `503 5.5.0 Improper use of SMTP command pipelining`, as Postfix's
    /// `reject_unauth_pipelining` answers.
    pub pipelining: bool,
    /// Close the connection without a reply at the first this-many DATA commands (across all
    /// connections), as a next hop that crashes or times out would.
    pub drop_at_data: usize,
}

impl Default for SinkConfig {
    fn default() -> Self {
        SinkConfig {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            banner_code: 220,
            rcpt_reply: Arc::new(|_| None),
            data_reply: None,
            starttls: false,
            require_tls: false,
            delay: None,
            max_messages: None,
            pipelining: true,
            drop_at_data: 0,
        }
    }
}

impl SinkConfig {
    /// Convenience: reject the given addresses (exact, case-insensitive) with
    /// `reply`, accept everybody else.
    pub fn reject_rcpts(mut self, addrs: &[&str], reply: &str) -> Self {
        let addrs: Vec<String> = addrs.iter().map(|a| a.to_ascii_lowercase()).collect();
        let reply = reply.to_string();
        self.rcpt_reply = Arc::new(move |a: &str| {
            addrs
                .contains(&a.to_ascii_lowercase())
                .then(|| reply.clone())
        });
        self
    }
}

impl fmt::Debug for SinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkConfig")
            .field("bind", &self.bind)
            .field("banner_code", &self.banner_code)
            .field("rcpt_reply", &"<fn>")
            .field("data_reply", &self.data_reply)
            .field("starttls", &self.starttls)
            .field("require_tls", &self.require_tls)
            .field("pipelining", &self.pipelining)
            .field("drop_at_data", &self.drop_at_data)
            .field("delay", &self.delay)
            .field("max_messages", &self.max_messages)
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Sink
// ---------------------------------------------------------------------------

struct Shared {
    config: SinkConfig,
    tls: Arc<ServerConfig>,
    messages: Mutex<Vec<Received>>,
    arrived: Condvar,
    connections: AtomicUsize,
    /// DATA commands answered by closing the connection so far (see `SinkConfig::drop_at_data`).
    data_drops: AtomicUsize,
    queue_id: AtomicU64,
    stop: AtomicBool,
    /// Clones of live connection sockets, so `drop` can unblock their reads.
    live: Mutex<HashMap<u64, TcpStream>>,
    /// The most connections open at once so far.
    peak: AtomicUsize,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A running SMTP sink.  Stops (and joins its threads) on drop.
pub struct Sink {
    /// The address the sink is listening on.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    cert_pem: String,
    accept: Option<JoinHandle<()>>,
}

impl Sink {
    /// Binds `config.bind`, generates a self-signed certificate and starts
    /// accepting connections on a background thread.
    pub fn start(config: SinkConfig) -> Sink {
        let listener = TcpListener::bind(config.bind)
            .unwrap_or_else(|e| panic!("sink: cannot bind {}: {e}", config.bind));
        let addr = listener.local_addr().expect("sink: local_addr");

        let (tls, cert_pem) = make_tls(addr.ip());
        let shared = Arc::new(Shared {
            config,
            tls,
            messages: Mutex::new(Vec::new()),
            arrived: Condvar::new(),
            connections: AtomicUsize::new(0),
            data_drops: AtomicUsize::new(0),
            queue_id: AtomicU64::new(1),
            stop: AtomicBool::new(false),
            live: Mutex::new(HashMap::new()),
            peak: AtomicUsize::new(0),
            handles: Mutex::new(Vec::new()),
        });

        let sh = shared.clone();
        let accept = thread::Builder::new()
            .name(format!("sink-accept-{}", addr.port()))
            .spawn(move || accept_loop(listener, sh))
            .expect("sink: spawn accept thread");

        Sink {
            addr,
            shared,
            cert_pem,
            accept: Some(accept),
        }
    }

    /// `Sink::start(SinkConfig::default())`.
    pub fn start_default() -> Sink {
        Sink::start(SinkConfig::default())
    }

    /// The most connections that were open at once so far.
    pub fn peak_connections(&self) -> usize {
        self.shared.peak.load(Ordering::SeqCst)
    }

    /// Messages accepted so far (DATA answered 2xx), in arrival order.
    pub fn messages(&self) -> Vec<Received> {
        lock(&self.shared.messages).clone()
    }

    /// Waits until at least `n` messages have been accepted and returns all
    /// of them.  Panics if that does not happen within `timeout`.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        let mut msgs = lock(&self.shared.messages);
        loop {
            if msgs.len() >= n {
                return msgs.clone();
            }
            let now = Instant::now();
            if now >= deadline {
                let summary: Vec<String> = msgs
                    .iter()
                    .map(|m| format!("FROM:{} TO:{:?}", m.mail_from, m.rcpt_to))
                    .collect();
                panic!(
                    "sink {}: timed out after {:?} waiting for {} message(s); got {} \
                     (connections accepted: {}): {:?}",
                    self.addr,
                    timeout,
                    n,
                    msgs.len(),
                    self.connections(),
                    summary
                );
            }
            msgs = self
                .shared
                .arrived
                .wait_timeout(msgs, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Total number of TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// PEM of the sink's self-signed certificate (SANs: `localhost`,
    /// `127.0.0.1` and the bind IP), usable as a client trust anchor.
    pub fn cert_pem(&self) -> String {
        self.cert_pem.clone()
    }

    /// DER of the sink's self-signed certificate.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        use rustls::pki_types::pem::PemObject;
        CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).expect("sink: own cert PEM")
    }

    /// Forgets all recorded messages (the connection counter is kept).
    pub fn clear(&self) {
        lock(&self.shared.messages).clear();
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept() with a self-connect.
        let wake = if self.addr.ip().is_unspecified() {
            let ip = match self.addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            };
            SocketAddr::new(ip, self.addr.port())
        } else {
            self.addr
        };
        let woke = TcpStream::connect_timeout(&wake, Duration::from_secs(5)).is_ok();
        if let Some(h) = self.accept.take() {
            // If the wake-up failed, joining could block forever; leak instead.
            if woke {
                let _ = h.join();
            }
        }
        for s in lock(&self.shared.live).values() {
            let _ = s.shutdown(Shutdown::Both);
        }
        let handles = std::mem::take(&mut *lock(&self.shared.handles));
        for h in handles {
            let _ = h.join();
        }
    }
}

fn make_tls(bind_ip: IpAddr) -> (Arc<ServerConfig>, String) {
    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if !bind_ip.is_unspecified() && bind_ip != IpAddr::V4(Ipv4Addr::LOCALHOST) {
        names.push(bind_ip.to_string());
    }
    let ck = rcgen::generate_simple_self_signed(names).expect("sink: generate certificate");
    let cert_pem = ck.cert.pem();
    let cert_der = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("sink: TLS protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key)
        .expect("sink: TLS server config");
    (Arc::new(config), cert_pem)
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut next_id: u64 = 0;
    loop {
        let accepted = listener.accept();
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(_) => {
                // Transient errors (EMFILE, ECONNABORTED, ...): back off a bit.
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
        let _ = stream.set_nodelay(true);

        next_id += 1;
        let id = next_id;
        if let Ok(clone) = stream.try_clone() {
            let mut live = lock(&shared.live);
            live.insert(id, clone);
            shared.peak.fetch_max(live.len(), Ordering::SeqCst);
        }
        let sh = shared.clone();
        let spawned = thread::Builder::new()
            .name(format!("sink-conn-{id}"))
            .spawn(move || {
                let _ = handle_connection(stream, peer, &sh);
                if let Some(s) = lock(&sh.live).remove(&id) {
                    let _ = s.shutdown(Shutdown::Both);
                }
            });
        match spawned {
            Ok(h) => lock(&shared.handles).push(h),
            Err(_) => {
                lock(&shared.live).remove(&id);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Connection handling
// ---------------------------------------------------------------------------

enum Conn {
    Plain(TcpStream),
    Tls(Box<StreamOwned<ServerConnection, TcpStream>>),
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

#[derive(Default)]
struct Session {
    helo: Option<String>,
    mail_from: Option<String>,
    rcpts: Vec<String>,
    tls: bool,
}

impl Session {
    fn reset_transaction(&mut self) {
        self.mail_from = None;
        self.rcpts.clear();
    }
}

fn send(r: &mut BufReader<Conn>, reply: &str) -> io::Result<()> {
    let w = r.get_mut();
    let mut line = String::with_capacity(reply.len() + 2);
    line.push_str(reply);
    line.push_str("\r\n");
    w.write_all(line.as_bytes())?;
    w.flush()
}

/// Reads one line including its terminator.  `Ok(None)` on EOF.
fn read_line(r: &mut BufReader<Conn>) -> io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    let n = r.read_until(b'\n', &mut buf)?;
    if n == 0 { Ok(None) } else { Ok(Some(buf)) }
}

/// Case-insensitively strips `prefix` (e.g. `"FROM:"`) from a command
/// argument and returns the remainder with leading blanks trimmed.
fn strip_keyword<'a>(rest: &'a str, prefix: &str) -> Option<&'a str> {
    let head = rest.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| rest[prefix.len()..].trim())
}

fn handle_connection(stream: TcpStream, peer: SocketAddr, shared: &Shared) -> io::Result<()> {
    let cfg = &shared.config;
    let mut r = BufReader::new(Conn::Plain(stream));
    let mut s = Session::default();

    if cfg.banner_code != 220 {
        send(
            &mut r,
            &format!("{} {HOSTNAME} Service not available", cfg.banner_code),
        )?;
        if cfg.banner_code < 500 {
            return Ok(());
        }
        // 5xx greeting: RFC 5321 3.1 - wait for QUIT, refuse everything else.
        while let Some(line) = read_line(&mut r)? {
            let text = String::from_utf8_lossy(strip_eol(&line)).to_string();
            if text.trim().eq_ignore_ascii_case("QUIT") {
                send(&mut r, "221 2.0.0 Bye")?;
                return Ok(());
            }
            send(&mut r, "503 5.5.1 No service")?;
        }
        return Ok(());
    }

    send(&mut r, &format!("220 {HOSTNAME} ESMTP"))?;

    while let Some(line) = read_line(&mut r)? {
        let text = String::from_utf8_lossy(strip_eol(&line)).into_owned();
        let (verb, rest) = match text.split_once(' ') {
            Some((v, rest)) => (v.to_ascii_uppercase(), rest.trim()),
            None => (text.trim().to_ascii_uppercase(), ""),
        };

        if !cfg.pipelining && !r.buffer().is_empty() && verb != "QUIT" {
            send(&mut r, "503 5.5.0 Improper use of SMTP command pipelining")?;
            continue;
        }
        match verb.as_str() {
            "EHLO" | "HELO" => {
                if rest.is_empty() {
                    send(&mut r, "501 5.5.4 Syntax: EHLO hostname")?;
                    continue;
                }
                s.reset_transaction();
                s.helo = Some(rest.to_string());
                if verb == "HELO" {
                    send(&mut r, &format!("250 {HOSTNAME}"))?;
                } else {
                    let mut lines = vec![
                        format!("{HOSTNAME} Hello {rest}"),
                        "SIZE 104857600".to_string(),
                        "8BITMIME".to_string(),
                        "ENHANCEDSTATUSCODES".to_string(),
                        "DSN".to_string(),
                        "SMTPUTF8".to_string(),
                    ];
                    if cfg.starttls && !s.tls {
                        lines.push("STARTTLS".to_string());
                    }
                    if cfg.pipelining {
                        lines.insert(1, "PIPELINING".to_string());
                    }
                    let last = lines.len() - 1;
                    let reply: Vec<String> = lines
                        .iter()
                        .enumerate()
                        .map(|(i, l)| format!("250{}{l}", if i == last { ' ' } else { '-' }))
                        .collect();
                    send(&mut r, &reply.join("\r\n"))?;
                }
            }
            "STARTTLS" => {
                if !cfg.starttls {
                    send(&mut r, "502 5.5.1 STARTTLS not supported")?;
                    continue;
                }
                if s.tls {
                    send(&mut r, "503 5.5.1 TLS already active")?;
                    continue;
                }
                if !rest.is_empty() {
                    send(&mut r, "501 5.5.4 Syntax: STARTTLS")?;
                    continue;
                }
                send(&mut r, "220 2.0.0 Ready to start TLS")?;
                // Any plaintext pipelined after STARTTLS is discarded (it
                // would be a command-injection vector), as real MTAs do.
                let Conn::Plain(tcp) = r.into_inner() else {
                    unreachable!("STARTTLS while already in TLS");
                };
                let conn = match ServerConnection::new(shared.tls.clone()) {
                    Ok(c) => c,
                    Err(_) => return Ok(()),
                };
                let mut tls = StreamOwned::new(conn, tcp);
                while tls.conn.is_handshaking() {
                    if tls.conn.complete_io(&mut tls.sock).is_err() {
                        // Failed handshake (e.g. client rejected our cert).
                        return Ok(());
                    }
                }
                r = BufReader::new(Conn::Tls(Box::new(tls)));
                s = Session {
                    tls: true,
                    ..Session::default()
                };
            }
            "MAIL" => {
                if s.helo.is_none() {
                    send(&mut r, "503 5.5.1 Error: send HELO/EHLO first")?;
                } else if s.mail_from.is_some() {
                    send(&mut r, "503 5.5.1 Error: nested MAIL command")?;
                } else if cfg.require_tls && !s.tls {
                    send(&mut r, "530 5.7.0 Must issue STARTTLS first")?;
                } else if cfg
                    .max_messages
                    .is_some_and(|max| lock(&shared.messages).len() >= max)
                {
                    send(&mut r, "452 4.3.1 Too many messages")?;
                } else {
                    match strip_keyword(rest, "FROM:") {
                        Some(arg) if !arg.is_empty() => {
                            s.mail_from = Some(arg.to_string());
                            send(&mut r, "250 2.1.0 Ok")?;
                        }
                        _ => send(&mut r, "501 5.5.4 Syntax: MAIL FROM:<address>")?,
                    }
                }
            }
            "RCPT" => {
                if s.mail_from.is_none() {
                    send(&mut r, "503 5.5.1 Error: need MAIL command")?;
                    continue;
                }
                match strip_keyword(rest, "TO:") {
                    Some(arg) if !arg.is_empty() => {
                        let addr = arg_address(arg);
                        let reply =
                            (cfg.rcpt_reply)(&addr).unwrap_or_else(|| "250 2.1.5 Ok".to_string());
                        if reply.starts_with('2') {
                            s.rcpts.push(arg.to_string());
                        }
                        send(&mut r, &reply)?;
                    }
                    _ => send(&mut r, "501 5.5.4 Syntax: RCPT TO:<address>")?,
                }
            }
            "DATA" => {
                if s.mail_from.is_none() {
                    send(&mut r, "503 5.5.1 Error: need MAIL command")?;
                    continue;
                }
                if s.rcpts.is_empty() {
                    send(&mut r, "554 5.5.1 No valid recipients")?;
                    continue;
                }
                if shared
                    .data_drops
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                        (n < cfg.drop_at_data).then_some(n + 1)
                    })
                    .is_ok()
                {
                    return Ok(());
                }
                send(&mut r, "354 End data with <CR><LF>.<CR><LF>")?;
                let mut data = Vec::new();
                loop {
                    let Some(line) = read_line(&mut r)? else {
                        // Client hung up mid-DATA: nothing to store.
                        return Ok(());
                    };
                    if line == b".\r\n" {
                        break;
                    }
                    match line.strip_prefix(b".") {
                        Some(unstuffed) => data.extend_from_slice(unstuffed),
                        None => data.extend_from_slice(&line),
                    }
                }
                if let Some(d) = cfg.delay {
                    thread::sleep(d);
                }
                let reply = match &cfg.data_reply {
                    Some(r) => r.clone(),
                    None => format!(
                        "250 2.0.0 Ok: queued as {}",
                        shared.queue_id.fetch_add(1, Ordering::SeqCst)
                    ),
                };
                if reply.starts_with('2') {
                    // Record before replying so the client never observes a
                    // 250 that `messages()` doesn't reflect yet.
                    let msg = Received {
                        helo: s.helo.clone().unwrap_or_default(),
                        mail_from: s.mail_from.clone().unwrap_or_default(),
                        rcpt_to: s.rcpts.clone(),
                        data,
                        tls: s.tls,
                        peer,
                    };
                    lock(&shared.messages).push(msg);
                    shared.arrived.notify_all();
                }
                s.reset_transaction();
                send(&mut r, &reply)?;
            }
            "RSET" => {
                s.reset_transaction();
                send(&mut r, "250 2.0.0 Ok")?;
            }
            "NOOP" => send(&mut r, "250 2.0.0 Ok")?,
            "VRFY" => send(&mut r, "252 2.0.0 Cannot VRFY user")?,
            "QUIT" => {
                send(&mut r, "221 2.0.0 Bye")?;
                if let Conn::Tls(tls) = r.get_mut() {
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                }
                return Ok(());
            }
            _ => send(&mut r, "500 5.5.2 Error: command not recognized")?,
        }
    }
    Ok(())
}
