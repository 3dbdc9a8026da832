//! One upstream SMTP conversation over any stream: reads with timeouts, drives the sans-I/O
//! [`Protocol`], keeps the next-hop connection in step (every RCPT is answered with the next hop's own
//! reply; MAIL travels with the first RCPT), and at end of DATA runs the pipeline and answers only after
//! the next hop did.
//!
//! Security: the peer is untrusted; every read is bounded by the protocol's limits and by a timeout.
//! Plaintext pipelined after STARTTLS is discarded. Nothing here logs message content.

mod downstream;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};

use crate::message::Origin;
use crate::pipeline::Inspector;
use crate::relay::Relay;
use crate::shutdown::Shutdown;
use crate::smtp::server::Settings;
use crate::smtp::{LineReader, Protocol, Reply, Step};
use crate::tls::Stream;
use downstream::Downstream;

/// Bytes read from the upstream at a time (per session, so it bounds idle-session memory too).
const READ_BUFFER: usize = 16 * 1024;

/// Everything sessions share; built once by `app`.
pub struct Shared {
    pub settings: Settings,
    pub command_timeout: Duration,
    pub data_timeout: Duration,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub inspector: Inspector,
    pub keeper: Arc<crate::hold::Keeper>,
    /// `inspection.internal_domains`, for the direction recorded with incidents.
    pub internal_domains: Vec<String>,
    pub relay: Relay,
    pub shutdown: Arc<Shutdown>,
}

/// How a read attempt ended.
enum Read {
    Data(usize),
    Closed,
    Timeout,
    Shutdown,
}

struct Conn {
    stream: Stream,
    reader: LineReader,
    out: Vec<u8>,
    buf: Box<[u8]>,
}

impl Conn {
    async fn flush(&mut self) -> std::io::Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        self.stream.flush().await
    }

    /// Reads more input, giving up at `timeout` or when `stop` resolves.
    async fn read(
        &mut self,
        timeout: Duration,
        stop: impl std::future::Future<Output = ()>,
    ) -> Read {
        let buf = &mut self.buf;
        let stream = &mut self.stream;
        async {
            match stream.read(buf).await {
                Ok(0) => Read::Closed,
                Ok(n) => Read::Data(n),
                Err(_) => Read::Closed,
            }
        }
        .or(async {
            smol::Timer::after(timeout).await;
            Read::Timeout
        })
        .or(async {
            stop.await;
            Read::Shutdown
        })
        .await
    }
}

/// Runs one session to its end. Never panics on peer behaviour; all outcomes are logged here.
pub async fn run(tcp: smol::net::TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    let _ = tcp.set_nodelay(true);
    let mut conn = Conn {
        stream: Stream::Plain(tcp),
        reader: LineReader::new(),
        out: Vec::with_capacity(1024),
        buf: vec![0u8; READ_BUFFER].into_boxed_slice(),
    };
    let mut session = Session {
        protocol: Protocol::new(shared.settings.clone(), peer.ip().to_string()),
        peer,
        downstream: Downstream::new(),
        shared: shared.clone(),
        commands: 0,
    };
    let end = session.converse(&mut conn).await;
    session.downstream.close(&shared.relay).await;
    match end {
        End::Quit => tracing::debug!(%peer, "session ended by QUIT"),
        End::PeerClosed if session.commands == 0 => {
            tracing::debug!(%peer, "connection closed without a command (probe)")
        }
        End::PeerClosed => tracing::debug!(%peer, "peer closed the connection"),
        End::Closed(reason) => tracing::info!(%peer, reason, "session closed"),
    }
}

enum End {
    Quit,
    PeerClosed,
    Closed(&'static str),
}

struct Session {
    protocol: Protocol,
    peer: SocketAddr,
    downstream: Downstream,
    shared: Arc<Shared>,
    commands: usize,
}

impl Session {
    fn origin(&self) -> Origin {
        Origin {
            peer: self.peer,
            helo: self.protocol.helo().to_string(),
            tls: self.protocol.tls_active(),
        }
    }

    fn queue(&self, conn: &mut Conn, reply: &Reply) {
        reply.write_to(&mut conn.out, self.protocol.enhanced());
    }

    async fn converse(&mut self, conn: &mut Conn) -> End {
        let host = self.shared.settings.hostname.clone();
        self.queue(conn, &self.protocol.greeting());
        if conn.flush().await.is_err() {
            return End::PeerClosed;
        }
        let max_line = self.shared.settings.limits.max_line_length;
        loop {
            let Some(line) = conn.reader.next_line(max_line) else {
                // Nothing complete buffered: send pipelined replies, then wait for more.
                if conn.flush().await.is_err() {
                    return End::PeerClosed;
                }
                let shutdown = self.shared.shutdown.clone();
                let in_tx = self.protocol.in_transaction();
                let stop = async move {
                    if in_tx {
                        shutdown.aborting().await
                    } else {
                        shutdown.draining().await
                    }
                };
                match conn.read(self.shared.command_timeout, stop).await {
                    Read::Data(n) => {
                        conn.reader.extend(&conn.buf[..n]);
                        continue;
                    }
                    Read::Closed => return End::PeerClosed,
                    Read::Timeout => {
                        self.queue(conn, &Reply::timeout(&host));
                        let _ = conn.flush().await;
                        return End::Closed("command timeout");
                    }
                    Read::Shutdown => {
                        self.queue(conn, &Reply::shutting_down(&host));
                        let _ = conn.flush().await;
                        return End::Closed("shutdown");
                    }
                }
            };
            self.commands += 1;
            match self.protocol.on_line(line) {
                Step::Reply(r) => self.queue(conn, &r),
                Step::Close(r) => {
                    let quit = r.code == 221;
                    // Settle the next hop first, so a client that saw 221 and reconnects at once
                    // already finds the idle connection in the pool.
                    self.downstream.close(&self.shared.relay).await;
                    self.queue(conn, &r);
                    let _ = conn.flush().await;
                    let _ = conn.stream.close().await;
                    return if quit {
                        End::Quit
                    } else {
                        End::Closed("too many errors")
                    };
                }
                Step::Mail { sender, params } => {
                    let origin = self.origin();
                    let reply = self.downstream.mail(&self.shared.relay, &origin).await;
                    if reply.is_positive() {
                        self.protocol.accept_mail(sender, params);
                    }
                    self.queue(conn, &reply);
                }
                Step::Rcpt(rcpt) => {
                    let origin = self.origin();
                    let Some(env) = self.protocol.envelope() else {
                        self.queue(conn, &Reply::relay_internal());
                        continue;
                    };
                    let reply = self
                        .downstream
                        .rcpt(&self.shared.relay, &origin, &env.sender, &env.params, &rcpt)
                        .await;
                    if reply.is_positive() {
                        self.protocol.accept_rcpt(rcpt);
                    }
                    self.queue(conn, &reply);
                }
                Step::StartData => {
                    self.downstream.start_data().await;
                    self.queue(conn, &Reply::start_data());
                    if conn.flush().await.is_err() {
                        return End::PeerClosed;
                    }
                    match self.receive_and_relay(conn).await {
                        Ok(reply) => self.queue(conn, &reply),
                        Err(end) => return end,
                    }
                }
                Step::StartTls => {
                    let Some(tls) = self.shared.tls.clone() else {
                        self.queue(conn, &Reply::tls_unavailable());
                        continue;
                    };
                    self.queue(conn, &Reply::ready_for_tls());
                    if conn.flush().await.is_err() {
                        return End::PeerClosed;
                    }
                    // Anything pipelined after STARTTLS in clear is discarded (CVE-2011-0411).
                    let _ = conn.reader.take_rest();
                    let Some(tcp) = conn.stream.take_plain() else {
                        return End::Closed("STARTTLS on a TLS stream");
                    };
                    let acceptor = futures_rustls::TlsAcceptor::from(tls);
                    let handshake = async { acceptor.accept(tcp).await.map_err(|e| e.to_string()) }
                        .or(async {
                            smol::Timer::after(self.shared.command_timeout).await;
                            Err("handshake timeout".to_string())
                        });
                    match handshake.await {
                        Ok(s) => {
                            conn.stream =
                                Stream::Tls(Box::new(futures_rustls::TlsStream::Server(s)));
                            self.protocol.tls_started();
                        }
                        Err(e) => {
                            tracing::info!(peer = %self.peer, error = %e, "inbound TLS handshake failed");
                            return End::Closed("TLS handshake failed");
                        }
                    }
                }
            }
        }
    }

    /// Receives the message after 354, then inspects and relays it. Returns the final reply.
    async fn receive_and_relay(&mut self, conn: &mut Conn) -> Result<Reply, End> {
        let mut receiver = self.protocol.data_receiver();
        let pending = conn.reader.take_rest();
        let used = receiver.feed(&pending);
        if receiver.is_done() {
            conn.reader.extend(&pending[used..]);
        }
        while !receiver.is_done() {
            let shutdown = self.shared.shutdown.clone();
            match conn
                .read(self.shared.data_timeout, async move {
                    shutdown.aborting().await
                })
                .await
            {
                Read::Data(n) => {
                    let used = receiver.feed(&conn.buf[..n]);
                    if receiver.is_done() {
                        conn.reader.extend(&conn.buf[used..n]);
                    }
                }
                Read::Closed => {
                    tracing::info!(peer = %self.peer, "peer closed the connection during DATA; nothing relayed");
                    return Err(End::PeerClosed);
                }
                Read::Timeout => {
                    self.queue(conn, &Reply::timeout(&self.shared.settings.hostname));
                    let _ = conn.flush().await;
                    return Err(End::Closed("DATA timeout"));
                }
                Read::Shutdown => {
                    self.queue(conn, &Reply::shutting_down(&self.shared.settings.hostname));
                    let _ = conn.flush().await;
                    return Err(End::Closed("shutdown during DATA"));
                }
            }
        }
        let envelope = self.protocol.take_envelope().unwrap_or_default();
        let origin = self.origin();
        Ok(self
            .downstream
            .finish(&self.shared, &origin, envelope, receiver.finish())
            .await)
    }
}
