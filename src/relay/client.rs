//! One SMTP client connection to a next hop: greeting, EHLO (HELO fallback), STARTTLS, and the
//! MAIL / RCPT / DATA / RSET exchanges, each bounded by a timeout and every reply relayed as a [`Reply`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use rustls::pki_types::ServerName;

use crate::message::{Body, MailParams, Recipient, Ret};
use crate::smtp::data::Stuffer;
use crate::smtp::{HostName, Reply};
use crate::tls::Stream;
use crate::tls::policy::{Starttls, TlsPolicy};

use super::{PoolKey, Profile};

/// Bytes of a message stuffed and written at a time.
const WIRE_PIECE: usize = 256 * 1024;

/// The longest wait for the answer to an abandoned DATA, and for the close after it.
const ABANDON_WAIT: Duration = Duration::from_secs(10);

/// Why talking to a next hop failed (not a reply it gave: those are relayed as they are).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("connect to {0} failed: {1}")]
    Connect(SocketAddr, std::io::Error),
    #[error("timed out waiting for {0}")]
    Timeout(&'static str),
    #[error("connection lost: {0}")]
    Lost(std::io::Error),
    #[error("connection closed by the next hop")]
    Closed,
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("refused: {0}")]
    Refused(Reply),
    #[error(
        "the next hop does not offer STARTTLS; enable TLS on it, or set relay.starttls (or \
         relay.tls_failure = \"plaintext\") if mail may go to it in clear"
    )]
    TlsUnavailable,
    #[error(
        "the next hop offers STARTTLS but refused it ({0}); see its logs, or set relay.starttls \
         (or relay.tls_failure = \"plaintext\") if mail may go to it in clear"
    )]
    TlsRefused(Reply),
    #[error("TLS handshake failed: {0}")]
    TlsHandshake(String),
    /// A gateway destination whose TLS policy requires TLS does not offer STARTTLS.
    #[error(
        "the destination does not offer STARTTLS and its TLS policy (tls = \"{}\") requires \
         it; enable TLS on it, or set tls = \"may\" on its [[route]] if mail may go to it in clear",
        .0.name()
    )]
    TlsRequired(TlsPolicy),
    /// A command with CR, LF or NUL inside its line: never written (it would be read as two
    /// commands, desynchronising the next hop). An internal error, answered with a 4xx.
    #[error("refused to send {0}: CR, LF or NUL inside the command line")]
    Unwritable(&'static str),
}

impl Error {
    pub fn is_tls(&self) -> bool {
        matches!(
            self,
            Error::TlsUnavailable
                | Error::TlsRefused(_)
                | Error::TlsHandshake(_)
                | Error::TlsRequired(_)
        )
    }
}

/// What the next hop said it supports in its EHLO reply.
#[derive(Debug, Clone, Copy, Default)]
pub struct Capabilities {
    pub esmtp: bool,
    pub size: bool,
    pub eightbitmime: bool,
    pub smtputf8: bool,
    pub dsn: bool,
    pub starttls: bool,
    pub pipelining: bool,
}

/// How to open a connection.
#[derive(Clone)]
pub struct Options {
    pub helo_name: HostName,
    pub source: Option<std::net::IpAddr>,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    pub data_timeout: Duration,
    pub tls: Arc<rustls::ClientConfig>,
    /// Longest reply line read from the next hop (`relay.max_reply_line`), and most lines in one
    /// reply (`relay.max_reply_lines`): past either the connection fails (4xx upstream).
    pub max_reply_line: usize,
    pub max_reply_lines: usize,
}

pub struct Connection {
    stream: Stream,
    buf: Vec<u8>,
    caps: Capabilities,
    opts: Options,
    /// For logs: which next hop this is.
    pub label: String,
    /// The address connected to and how (TLS asked for, policy, source): the pool key.
    pub(crate) key: PoolKey,
    /// Whether the TLS configuration of the handshake verified the certificate (the `[relay]`
    /// one and `verify` do; `may` and `encrypt` use `tls::unverified`).
    verified: bool,
    /// MAIL commands sent so far (a connection that carried one may be stale when reused).
    transactions: u32,
}

async fn timed<T>(
    d: Duration,
    what: &'static str,
    f: impl std::future::Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    f.or(async {
        smol::Timer::after(d).await;
        Err(Error::Timeout(what))
    })
    .await
}

async fn tcp_connect(
    addr: SocketAddr,
    source: Option<std::net::IpAddr>,
) -> Result<smol::net::TcpStream, std::io::Error> {
    let Some(src) = source else {
        return smol::net::TcpStream::connect(addr).await;
    };
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        Some(socket2::Protocol::TCP),
    )?;
    socket.bind(&SocketAddr::new(src, 0).into())?;
    socket.set_nonblocking(true)?;
    match socket.connect(&addr.into()) {
        Ok(()) => {}
        Err(e)
            if e.raw_os_error() == Some(libc_einprogress())
                || e.kind() == std::io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    let std_stream: std::net::TcpStream = socket.into();
    let stream = smol::Async::new(std_stream)?;
    stream.writable().await?;
    if let Some(e) = stream.get_ref().take_error()? {
        return Err(e);
    }
    Ok(smol::net::TcpStream::from(stream))
}

const fn libc_einprogress() -> i32 {
    115 // EINPROGRESS on Linux
}

impl Connection {
    /// Connects, reads the greeting, says EHLO and, when `want_tls`, upgrades with STARTTLS
    /// (verified with `opts.tls`): the `[relay]` next hops.
    pub async fn open(
        addr: SocketAddr,
        name: ServerName<'static>,
        opts: &Options,
        want_tls: bool,
    ) -> Result<Connection, Error> {
        let key = PoolKey(addr, Profile::Relay { tls: want_tls });
        let mut conn = Connection::connect(key, opts).await?;
        if want_tls {
            if !conn.caps.starttls {
                return Err(Error::TlsUnavailable);
            }
            conn.upgrade(opts.tls.clone(), name, true).await?;
        }
        Ok(conn)
    }

    /// Connects to a gateway destination and follows its TLS policy after EHLO: STARTTLS when
    /// the policy says so (`opts.tls` is the verifying configuration for `verify`, the unverified
    /// one otherwise). A refused STARTTLS or failed handshake is an error here; the caller
    /// retries in clear when the policy allows it (`TlsPolicy::falls_back_to_plaintext`).
    pub async fn open_with_policy(
        key: PoolKey,
        name: ServerName<'static>,
        opts: &Options,
        policy: TlsPolicy,
    ) -> Result<Connection, Error> {
        let mut conn = Connection::connect(key, opts).await?;
        match policy.starttls(conn.caps.starttls) {
            Starttls::Skip => {}
            Starttls::Fail => return Err(Error::TlsRequired(policy)),
            Starttls::Start => {
                conn.upgrade(opts.tls.clone(), name, policy.verifies())
                    .await?
            }
        }
        Ok(conn)
    }

    /// TCP connect (from `opts.source`), greeting and EHLO.
    async fn connect(key: PoolKey, opts: &Options) -> Result<Connection, Error> {
        let addr = key.0;
        let tcp = timed(opts.connect_timeout, "TCP connect", async {
            tcp_connect(addr, opts.source)
                .await
                .map_err(|e| Error::Connect(addr, e))
        })
        .await?;
        let _ = tcp.set_nodelay(true);
        let mut conn = Connection {
            stream: Stream::Plain(tcp),
            buf: Vec::with_capacity(1024),
            caps: Capabilities::default(),
            opts: opts.clone(),
            label: addr.to_string(),
            key,
            verified: false,
            transactions: 0,
        };
        let greeting = conn.read_reply(opts.command_timeout, "greeting").await?;
        if greeting.code != 220 {
            return Err(Error::Refused(greeting));
        }
        conn.hello().await?;
        Ok(conn)
    }

    /// STARTTLS, the handshake with `config`, and EHLO again. `verified`: whether `config`
    /// verifies the certificate (for [`Connection::protection`]).
    async fn upgrade(
        &mut self,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        verified: bool,
    ) -> Result<(), Error> {
        let r = self.command(b"STARTTLS\r\n", "STARTTLS").await?;
        if r.code != 220 {
            return Err(Error::TlsRefused(r));
        }
        let Some(tcp) = self.stream.take_plain() else {
            return Err(Error::Protocol("STARTTLS on a TLS stream".into()));
        };
        let connector = futures_rustls::TlsConnector::from(config);
        let tls = timed(self.opts.command_timeout, "TLS handshake", async {
            connector
                .connect(name, tcp)
                .await
                .map_err(|e| Error::TlsHandshake(crate::tls::explain_io(&e)))
        })
        .await?;
        self.stream = Stream::Tls(Box::new(futures_rustls::TlsStream::Client(tls)));
        self.verified = verified;
        self.buf.clear();
        self.hello().await
    }

    pub fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// How this connection is protected, for log lines: `Verified` only when the handshake's
    /// configuration verified the certificate (a `[relay]` next hop, or a `verify` destination);
    /// `may` and `encrypt` handshakes are `Unverified`.
    pub fn protection(&self) -> crate::tls::Protection {
        use crate::tls::Protection;
        if !self.stream.is_tls() {
            return Protection::None;
        }
        let version = self.stream.tls_version().unwrap_or_else(|| "TLS".into());
        match self.verified {
            true => Protection::Verified { version },
            false => Protection::Unverified { version },
        }
    }

    /// Whether this connection carried a transaction before (so a failure may just mean it went stale).
    pub fn reused(&self) -> bool {
        self.transactions > 0
    }

    /// A cheap check that an idle connection is still usable: nothing to read and not closed.
    pub async fn is_idle_and_open(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut byte = [0u8; 1];
        futures_lite::future::poll_once(self.stream.read(&mut byte))
            .await
            .is_none()
    }

    pub fn capabilities(&self) -> Capabilities {
        self.caps
    }

    async fn hello(&mut self) -> Result<(), Error> {
        let ehlo = end_line(format!("EHLO {}", self.opts.helo_name), "EHLO")?;
        let r = self.command(ehlo.as_bytes(), "EHLO").await?;
        if r.code == 250 {
            let mut caps = Capabilities {
                esmtp: true,
                ..Capabilities::default()
            };
            for line in r.lines.iter().skip(1) {
                let kw = line
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_uppercase();
                match kw.as_str() {
                    "SIZE" => caps.size = true,
                    "8BITMIME" => caps.eightbitmime = true,
                    "SMTPUTF8" => caps.smtputf8 = true,
                    "DSN" => caps.dsn = true,
                    "STARTTLS" => caps.starttls = true,
                    "PIPELINING" => caps.pipelining = true,
                    _ => {}
                }
            }
            self.caps = caps;
            return Ok(());
        }
        if r.code >= 500 {
            let helo = end_line(format!("HELO {}", self.opts.helo_name), "HELO")?;
            let r = self.command(helo.as_bytes(), "HELO").await?;
            if r.code == 250 {
                self.caps = Capabilities::default();
                return Ok(());
            }
            return Err(Error::Refused(r));
        }
        Err(Error::Refused(r))
    }

    /// The MAIL FROM line with the parameters the next hop understands.
    fn mail_line(
        &self,
        sender: &str,
        params: &MailParams,
        size: Option<usize>,
    ) -> Result<String, Error> {
        let mut cmd = format!("MAIL FROM:<{sender}>");
        if self.caps.size
            && let Some(s) = size.or(params.size)
        {
            cmd.push_str(&format!(" SIZE={s}"));
        }
        if self.caps.eightbitmime {
            match params.body {
                Body::EightBitMime => cmd.push_str(" BODY=8BITMIME"),
                Body::SevenBit => cmd.push_str(" BODY=7BIT"),
                Body::Unspecified => {}
            }
        }
        if params.smtputf8 && self.caps.smtputf8 {
            cmd.push_str(" SMTPUTF8");
        }
        if self.caps.dsn {
            match params.ret {
                Some(Ret::Full) => cmd.push_str(" RET=FULL"),
                Some(Ret::Headers) => cmd.push_str(" RET=HDRS"),
                None => {}
            }
            if let Some(e) = &params.envid {
                cmd.push_str(&format!(" ENVID={e}"));
            }
        }
        end_line(cmd, "MAIL")
    }

    fn rcpt_line(&self, r: &Recipient) -> Result<String, Error> {
        let mut cmd = format!("RCPT TO:<{}>", r.address);
        if self.caps.dsn {
            if r.notify.is_set() {
                cmd.push_str(&format!(" NOTIFY={}", r.notify.value()));
            }
            if let Some(o) = &r.orcpt {
                cmd.push_str(&format!(" ORCPT={o}"));
            }
        }
        end_line(cmd, "RCPT")
    }

    /// MAIL FROM with the parameters the next hop understands.
    pub async fn mail(
        &mut self,
        sender: &str,
        params: &MailParams,
        size: Option<usize>,
    ) -> Result<Reply, Error> {
        self.transactions += 1;
        let cmd = self.mail_line(sender, params, size)?;
        self.command(cmd.as_bytes(), "MAIL").await
    }

    /// Opens a transaction with its first recipient: `[RSET] MAIL RCPT` as one pipelined group (one
    /// round trip) when the next hop offers PIPELINING, else one command at a time. Returns the MAIL
    /// and RCPT replies; when MAIL was refused, the RCPT reply is the next hop's answer to a RCPT
    /// outside a transaction and means nothing.
    pub async fn open_transaction(
        &mut self,
        rset: bool,
        sender: &str,
        params: &MailParams,
        rcpt: &Recipient,
    ) -> Result<(Reply, Reply), Error> {
        if !self.caps.pipelining {
            if rset {
                self.rset().await?;
            }
            let mail = self.mail(sender, params, None).await?;
            if !mail.is_positive() {
                return Ok((mail.clone(), mail));
            }
            let rcpt = self.rcpt(rcpt).await?;
            return Ok((mail, rcpt));
        }
        self.transactions += 1;
        let mut group = String::with_capacity(160);
        if rset {
            group.push_str("RSET\r\n");
        }
        group.push_str(&self.mail_line(sender, params, None)?);
        group.push_str(&self.rcpt_line(rcpt)?);
        let t = self.opts.command_timeout;
        self.send_commands(group.as_bytes(), t, "MAIL").await?;
        if rset {
            self.read_reply(t, "RSET").await?;
        }
        let mail = self.read_reply(t, "MAIL").await?;
        let rcpt = self.read_reply(t, "RCPT").await?;
        Ok((mail, rcpt))
    }

    pub async fn rcpt(&mut self, r: &Recipient) -> Result<Reply, Error> {
        let cmd = self.rcpt_line(r)?;
        self.command(cmd.as_bytes(), "RCPT").await
    }

    /// DATA, the dot-stuffed message, and the final reply.
    pub async fn data(&mut self, message: &[u8]) -> Result<Reply, Error> {
        self.start_data().await?;
        let r = self.data_reply().await?;
        if r.code != 354 {
            return Ok(r);
        }
        self.body(&[message]).await
    }

    /// Sends DATA without waiting for the answer, so the `354` travels while the upstream is still
    /// sending the message. Must be followed by [`Connection::data_reply`] (or dropping the connection).
    pub async fn start_data(&mut self) -> Result<(), Error> {
        self.send_commands(b"DATA\r\n", self.opts.command_timeout, "DATA")
            .await
    }

    /// The answer to DATA: `354` means [`Connection::body`] may follow.
    pub async fn data_reply(&mut self) -> Result<Reply, Error> {
        self.read_reply(self.opts.command_timeout, "DATA").await
    }

    /// The dot-stuffed message (given as consecutive parts) after `354`, and the final reply. Stuffed
    /// and written a piece at a time (no stuffed copy of a large message); `relay.data_timeout`
    /// bounds each piece.
    pub async fn body(&mut self, message: &[&[u8]]) -> Result<Reply, Error> {
        let t = self.opts.data_timeout;
        let mut stuffer = Stuffer::default();
        // Pieces are gathered up to WIRE_PIECE before a write, so a small message (head, body and
        // the final dot) goes out in one write, as one segment, however many parts it came in.
        let mut wire = Vec::with_capacity(2 * WIRE_PIECE + WIRE_PIECE / 32 + 8);
        for piece in message.iter().flat_map(|part| part.chunks(WIRE_PIECE)) {
            stuffer.chunk(piece, &mut wire);
            if wire.len() >= WIRE_PIECE {
                timed(t, "sending DATA", async {
                    self.stream.write_all(&wire).await.map_err(Error::Lost)
                })
                .await?;
                wire.clear();
            }
        }
        stuffer.end(&mut wire);
        self.send(&wire, t, "sending DATA").await?;
        self.read_reply(t, "end of DATA").await
    }

    pub async fn rset(&mut self) -> Result<Reply, Error> {
        self.command(b"RSET\r\n", "RSET").await
    }

    /// Ends a transaction whose DATA went out ahead ([`Connection::start_data`]) without sending a
    /// message. SMTP has no way to abort after `354` but closing the connection; the answer to DATA
    /// is read first, so the close is an orderly one (FIN, and close_notify on TLS, with nothing
    /// left unread), never a reset. When the next hop refused DATA the transaction ends with RSET
    /// and the connection is handed back for the next one.
    pub async fn abandon_data(mut self) -> Option<Connection> {
        let t = self.opts.command_timeout.min(ABANDON_WAIT);
        match self.read_reply(t, "DATA").await {
            Ok(r) if r.code != 354 => match self.rset().await {
                Ok(r) if r.is_positive() => return Some(self),
                _ => {}
            },
            Ok(_) | Err(_) => {}
        }
        let _ = timed(ABANDON_WAIT, "close", async {
            self.stream.close().await.map_err(Error::Lost)
        })
        .await;
        None
    }

    /// Says QUIT and waits briefly for the answer; errors are of no interest any more.
    pub async fn quit(mut self) {
        let _ = timed(Duration::from_secs(5), "QUIT", async {
            self.stream
                .write_all(b"QUIT\r\n")
                .await
                .map_err(Error::Lost)?;
            self.stream.flush().await.map_err(Error::Lost)?;
            self.read_reply(Duration::from_secs(5), "QUIT").await
        })
        .await;
        let _ = self.stream.close().await;
    }

    async fn command(&mut self, line: &[u8], what: &'static str) -> Result<Reply, Error> {
        let t = self.opts.command_timeout;
        self.send_commands(line, t, what).await?;
        self.read_reply(t, what).await
    }

    /// Writes command lines (one, or a pipelined group) after checking that each is one line.
    async fn send_commands(
        &mut self,
        lines: &[u8],
        t: Duration,
        what: &'static str,
    ) -> Result<(), Error> {
        if !are_command_lines(lines) {
            return Err(Error::Unwritable(what));
        }
        self.send(lines, t, what).await
    }

    /// Writes and flushes, within `t`.
    async fn send(&mut self, bytes: &[u8], t: Duration, what: &'static str) -> Result<(), Error> {
        timed(t, what, async {
            self.stream.write_all(bytes).await.map_err(Error::Lost)?;
            self.stream.flush().await.map_err(Error::Lost)
        })
        .await
    }

    async fn read_reply(&mut self, t: Duration, what: &'static str) -> Result<Reply, Error> {
        timed(t, what, self.read_reply_inner()).await
    }

    async fn read_reply_inner(&mut self) -> Result<Reply, Error> {
        let mut lines: Vec<String> = Vec::new();
        let mut code = 0u16;
        loop {
            let line = self.read_line().await?;
            let parsed = parse_reply_line(&line).ok_or_else(|| {
                Error::Protocol(format!(
                    "malformed reply line {:?}",
                    String::from_utf8_lossy(&line[..line.len().min(80)])
                ))
            })?;
            if lines.is_empty() {
                code = parsed.0;
            } else if parsed.0 != code {
                return Err(Error::Protocol(
                    "reply code changed inside a multi-line reply".into(),
                ));
            }
            lines.push(parsed.2);
            if parsed.1 {
                break;
            }
            if lines.len() > self.opts.max_reply_lines {
                return Err(Error::Protocol("reply has too many lines".into()));
            }
        }
        // Enhanced status code from the first line, if present and consistent with the class.
        let mut enhanced = None;
        if let Some(first) = lines.first().cloned()
            && let Some((esc, rest)) = split_enhanced(&first, code)
        {
            enhanced = Some(esc);
            lines[0] = rest;
            for l in lines.iter_mut().skip(1) {
                if let Some((_, rest)) = split_enhanced(l, code) {
                    *l = rest;
                }
            }
        }
        Ok(Reply {
            code,
            enhanced,
            lines,
        })
    }

    async fn read_line(&mut self) -> Result<Vec<u8>, Error> {
        loop {
            let end = memchr::memchr(b'\n', &self.buf);
            // A line is measured whole: one that arrived complete in a single read is no exception.
            if end.unwrap_or(self.buf.len()) > self.opts.max_reply_line + 1 {
                return Err(Error::Protocol("reply line too long".into()));
            }
            if let Some(pos) = end {
                let mut line: Vec<u8> = self.buf.drain(..=pos).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Ok(line);
            }
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).await.map_err(Error::Lost)?;
            if n == 0 {
                return Err(Error::Closed);
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Ends one command with CRLF, refusing it when CR, LF or NUL is inside: checked per command,
/// before commands are grouped, so that a smuggled `\r\nDATA` cannot pass as a command of its own.
fn end_line(mut cmd: String, what: &'static str) -> Result<String, Error> {
    if cmd.is_empty() || cmd.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(Error::Unwritable(what));
    }
    cmd.push_str("\r\n");
    Ok(cmd)
}

/// Whether `bytes` is one or more lines, each ending in CRLF, with no CR, LF or NUL inside.
fn are_command_lines(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let Some(end) = memchr::memmem::find(rest, b"\r\n") else {
            return false;
        };
        let line = &rest[..end];
        if line.is_empty() || line.iter().any(|&b| matches!(b, b'\r' | b'\n' | 0)) {
            return false;
        }
        rest = &rest[end + 2..];
    }
    true
}

/// "250-text" / "250 text" -> (code, is_last, text).
fn parse_reply_line(line: &[u8]) -> Option<(u16, bool, String)> {
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code: u16 = std::str::from_utf8(&line[..3]).ok()?.parse().ok()?;
    if !(200..600).contains(&code) {
        return None;
    }
    let (last, text) = match line.get(3) {
        None => (true, &[][..]),
        Some(b' ') => (true, &line[4..]),
        Some(b'-') => (false, &line[4..]),
        Some(_) => return None,
    };
    // A bare CR, NUL or other control inside the next hop's text is not relayed as it is:
    // the text goes back upstream in our own replies.
    let text = String::from_utf8_lossy(text)
        .chars()
        .map(|c| {
            if c.is_ascii_control() && c != '\t' {
                ' '
            } else {
                c
            }
        })
        .collect();
    Some((code, last, text))
}

fn split_enhanced(text: &str, code: u16) -> Option<([u8; 3], String)> {
    let (first, rest) = text.split_once(' ').unwrap_or((text, ""));
    let mut parts = first.split('.');
    let a: u8 = parts.next()?.parse().ok()?;
    let b: u8 = parts.next()?.parse().ok()?;
    let c: u8 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || u16::from(a) != code / 100 {
        return None;
    }
    Some(([a, b, c], rest.to_string()))
}

#[cfg(test)]
mod tests;
