//! One upstream SMTP conversation over any stream: reads with timeouts, drives the sans-I/O
//! [`Protocol`], keeps the next-hop connection in step (every RCPT is answered with the next hop's own
//! reply; MAIL travels with the first RCPT), and at end of DATA runs the pipeline and answers only after
//! the next hop did.
//!
//! Security: the peer is untrusted; every read is bounded by the protocol's limits and by a timeout.
//! Plaintext pipelined after STARTTLS is discarded. Nothing here logs message content.

pub mod budget;
mod downstream;
pub mod edge;
mod leg;
pub mod spool;
mod track;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};

use crate::message::received::{self, Trace};
use crate::message::{Content, MessageId, Origin};
use crate::pipeline::Inspector;
use crate::relay::Relay;
use crate::shutdown::Shutdown;
use crate::smtp::server::Settings;
use crate::smtp::{DataError, DataReceiver, LineReader, Protocol, Reply, Step};
use crate::tls::Stream;
use budget::Reservation;
use leg::Leg;
use spool::SpoolFile;

/// Bytes moved from memory to the spool file at a time, once a message goes there.
const SPOOL_PIECE: usize = 256 * 1024;

/// Bytes read from the upstream at a time (per session, so it bounds idle-session memory too).
const READ_BUFFER: usize = 16 * 1024;

/// Everything sessions share: one set built from the configuration (by `app`, again at each
/// reload: see `runtime`), holding the process-wide parts (keeper, budget, spool, clock, shutdown)
/// by reference. A session takes the current set at connect and again before each transaction
/// (MAIL) and STARTTLS, never inside one: a message is judged and relayed wholly by one set.
pub struct Shared {
    /// `listener.name`: labels this listener's logs, events and metrics.
    pub listener: String,
    /// `listener.mode`: in-line proxy or store-and-forward gateway.
    pub mode: crate::config::gateway::ListenerMode,
    /// The gateway's parts (`Some` for a gateway listener).
    pub gateway: Option<Arc<crate::gateway::Context>>,
    pub settings: Settings,
    /// `listener.allowed_clients`, checked at connect.
    pub allowed_clients: Vec<ipnet::IpNet>,
    /// `listener.max_sessions`.
    pub max_sessions: usize,
    /// A deadline for each whole command line (and for each flush of replies), from the previous reply.
    pub command_timeout: Duration,
    /// The longest wait for input during DATA, and the cap on banked time (see [`DataClock`]).
    pub data_timeout: Duration,
    /// `listener.data_min_rate`: bytes per second a client must average during DATA (0: none).
    pub data_min_rate: u64,
    pub tls: Option<Arc<rustls::ServerConfig>>,
    pub inspector: Inspector,
    pub keeper: Arc<crate::hold::Keeper>,
    /// The app's background tasks (incidents of relayed mail are recorded there).
    pub tasks: crate::task::Group,
    /// `inspection.internal_domains`, for the direction recorded with incidents.
    pub internal_domains: Vec<String>,
    pub relay: Relay,
    pub shutdown: Arc<Shutdown>,
    /// `listener.max_bytes_in_flight`: message bytes all sessions may hold at once.
    pub budget: Arc<budget::Budget>,
    /// `<data_dir>/spool`, and `listener.spool_threshold`: messages larger go there, not to memory.
    pub spool: spool::Spool,
    pub spool_threshold: usize,
    /// The wall clock, for the date of the `Received:` field.
    pub clock: Arc<crate::clock::Clock>,
    /// Send DATA to the next hop while the upstream uploads (`relay.data_ahead`, resolved against
    /// the policies by [`data_ahead`]).
    pub data_ahead: bool,
}

/// Where sessions find the current [`Shared`] (the reload's swap point, `runtime::Swap`).
pub trait Current: Send + Sync {
    fn shared(&self) -> Arc<Shared>;
}

/// Whether sessions send DATA ahead: `"auto"` only when no message can be refused, held or
/// redirected, since after the next hop's 354 the only way to end its transaction is to close the
/// connection; otherwise the transaction ends with RSET and the connection is kept.
pub fn data_ahead(setting: crate::config::DataAhead, inspector: &Inspector) -> bool {
    match setting {
        crate::config::DataAhead::Always => true,
        crate::config::DataAhead::Never => false,
        crate::config::DataAhead::Auto => !inspector.can_refuse_or_divert(),
    }
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
    /// A flush that takes longer than this (a client that does not read its replies) fails.
    write_timeout: Duration,
}

/// The DATA phase's deadline (Postfix's `smtpd_min_data_rate`): it starts `timeout` away; each read
/// of `n` bytes moves it `n / min_rate` seconds later, but never more than `timeout` past the read.
/// So a client must average `min_rate` bytes per second, and may never pause longer than `timeout`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DataClock {
    deadline: Instant,
    timeout: Duration,
    min_rate: u64,
}

impl DataClock {
    pub(crate) fn start(now: Instant, timeout: Duration, min_rate: u64) -> DataClock {
        DataClock {
            deadline: now + timeout,
            timeout,
            min_rate,
        }
    }

    /// `n` bytes arrived at `now`.
    pub(crate) fn read(&mut self, now: Instant, n: usize) {
        let cap = now + self.timeout;
        self.deadline = if self.min_rate == 0 {
            cap
        } else {
            let credit = Duration::from_secs_f64(n as f64 / self.min_rate as f64);
            (self.deadline + credit).min(cap)
        };
    }

    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl Conn {
    async fn flush(&mut self) -> std::io::Result<()> {
        let timeout = self.write_timeout;
        let write = async {
            if !self.out.is_empty() {
                self.stream.write_all(&self.out).await?;
                self.out.clear();
            }
            self.stream.flush().await
        };
        write
            .or(async {
                smol::Timer::after(timeout).await;
                Err(std::io::ErrorKind::TimedOut.into())
            })
            .await
    }

    /// Reads more input, giving up at `deadline` or when `stop` resolves.
    async fn read(
        &mut self,
        deadline: Instant,
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
            smol::Timer::at(deadline).await;
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
pub async fn run(
    tcp: smol::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    current: Arc<dyn Current>,
) {
    let _ = tcp.set_nodelay(true);
    let mut conn = Conn {
        stream: Stream::Plain(tcp),
        reader: LineReader::new(),
        out: Vec::with_capacity(1024),
        buf: vec![0u8; READ_BUFFER].into_boxed_slice(),
        write_timeout: shared.command_timeout,
    };
    let leg = match Leg::connect(&shared, peer).await {
        Ok(leg) => leg,
        Err(refusal) => {
            conn.out.extend_from_slice(&refusal.at_connect());
            let _ = conn.flush().await;
            let _ = conn.stream.close().await;
            tracing::info!(%peer, reply = %refusal, "connection refused by the gateway's checks");
            return;
        }
    };
    let mut session = Session {
        protocol: Protocol::new(shared.settings.clone(), peer.ip().to_string()),
        peer,
        leg,
        shared,
        current,
        commands: 0,
        tls_details: None,
        mail_at: Instant::now(),
    };
    let end = session.converse(&mut conn).await;
    session.leg.close(&session.shared.relay).await;
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
    /// The next hop (in-line proxy) or the gateway's custody.
    leg: Leg,
    /// The set this session uses now; replaced by [`Session::refresh`] between transactions.
    shared: Arc<Shared>,
    current: Arc<dyn Current>,
    commands: usize,
    /// The inbound TLS session as the `Received:` field describes it.
    tls_details: Option<String>,
    /// When the current transaction's MAIL was accepted (a message's delay counts from it).
    mail_at: Instant,
}

impl Session {
    fn origin(&self) -> Origin {
        Origin {
            peer: self.peer,
            helo: self.protocol.helo().to_string(),
            tls: self.protocol.tls_active(),
        }
    }

    /// Takes the current set (after a reload) before a transaction or a TLS handshake starts. A
    /// next-hop connection made under the old set is settled with it first (idle: back to its pool).
    async fn refresh(&mut self) {
        let current = self.current.shared();
        if Arc::ptr_eq(&current, &self.shared) {
            return;
        }
        self.leg.refresh(&self.shared, &current).await;
        self.shared = current;
    }

    /// Reports a client's misbehaviour (`smtp.*`, at most one event per client a minute).
    fn edge(&self, what: edge::Edge, reason: &str) {
        edge::report(&self.shared, what, self.peer, reason);
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
        // When the command being waited for must be complete: set at the first wait after a reply,
        // never moved by reads (a client trickling bytes is cut off like a silent one).
        let mut deadline: Option<Instant> = None;
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
                let until =
                    *deadline.get_or_insert_with(|| Instant::now() + self.shared.command_timeout);
                match conn.read(until, stop).await {
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
            deadline = None;
            match self.protocol.on_line(line) {
                Step::Reply(r) => self.queue(conn, &r),
                Step::Close(r) => {
                    let quit = r.code == 221;
                    // Settle the next hop first, so a client that saw 221 and reconnects at once
                    // already finds the idle connection in the pool.
                    self.leg.close(&self.shared.relay).await;
                    self.queue(conn, &r);
                    let _ = conn.flush().await;
                    let _ = conn.stream.close().await;
                    if quit {
                        return End::Quit;
                    }
                    self.edge(edge::Edge::ProtocolViolation, "too many errors");
                    return End::Closed("too many errors");
                }
                Step::Mail { sender, params } => {
                    self.refresh().await;
                    let origin = self.origin();
                    let reply = self.leg.mail(&self.shared.relay, &origin, &sender).await;
                    if reply.is_positive() {
                        self.protocol.accept_mail(sender, params);
                        self.mail_at = Instant::now();
                    }
                    self.queue(conn, &reply);
                }
                Step::Rcpt(rcpt) => {
                    let origin = self.origin();
                    let Some(env) = self.protocol.envelope() else {
                        let f = crate::pipeline::Failure::Internal("no envelope at RCPT");
                        self.queue(conn, &f.reply());
                        continue;
                    };
                    let reply = self
                        .leg
                        .rcpt(&self.shared.relay, &origin, &env.sender, &env.params, &rcpt)
                        .await;
                    if reply.is_positive() {
                        self.protocol.accept_rcpt(rcpt);
                    }
                    self.queue(conn, &reply);
                }
                Step::StartData => {
                    let max = self.shared.settings.limits.max_message_size;
                    let declared = self
                        .protocol
                        .envelope()
                        .and_then(|e| e.params.size)
                        .unwrap_or(0)
                        .min(max);
                    let Some(reservation) = self.shared.budget.reserve(declared) else {
                        tracing::warn!(peer = %self.peer, declared, in_flight = self.shared.budget.used(), "listener.max_bytes_in_flight reached; DATA deferred");
                        let f = crate::pipeline::Failure::Data(DataError::OverBudget);
                        self.queue(conn, &f.reply());
                        continue;
                    };
                    if self.shared.data_ahead {
                        self.leg.start_data().await;
                    }
                    self.queue(conn, &Reply::start_data());
                    if conn.flush().await.is_err() {
                        return End::PeerClosed;
                    }
                    let result = self.receive_and_relay(conn, reservation, declared).await;
                    match result {
                        Ok(reply) => self.queue(conn, &reply),
                        Err(end) => return end,
                    }
                }
                Step::StartTls => {
                    self.refresh().await;
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
                            let (_, c) = s.get_ref();
                            self.tls_details = Some(received::tls_details(
                                &c.protocol_version()
                                    .map(|v| format!("{v:?}"))
                                    .unwrap_or_default(),
                                &c.negotiated_cipher_suite()
                                    .map(|s| format!("{:?}", s.suite()))
                                    .unwrap_or_default(),
                            ));
                            conn.stream =
                                Stream::Tls(Box::new(futures_rustls::TlsStream::Server(s)));
                            self.protocol.tls_started();
                            crate::metrics::global().tls_session("smtp_in");
                        }
                        Err(e) => {
                            tracing::info!(peer = %self.peer, error = %e, "inbound TLS handshake failed");
                            self.edge(edge::Edge::TlsFailed, "TLS handshake failed");
                            return End::Closed("TLS handshake failed");
                        }
                    }
                }
            }
        }
    }

    /// Receives the message after 354 (its bytes held against `reservation`), then inspects and
    /// relays it. Returns the final reply.
    async fn receive_and_relay(
        &mut self,
        conn: &mut Conn,
        mut reservation: Reservation,
        declared: usize,
    ) -> Result<Reply, End> {
        let mut receiver = self.protocol.data_receiver();
        if declared > 0 {
            // No more than what is kept in memory before the message goes to the spool.
            let in_memory = self.shared.spool_threshold.saturating_add(SPOOL_PIECE);
            receiver.expect((declared + budget::HEADROOM).min(in_memory));
        }
        let mut spooled: Option<SpoolFile> = None;
        let pending = conn.reader.take_rest();
        let used = receiver.feed(&pending);
        self.hold(&mut receiver, &mut reservation);
        self.spill(&mut receiver, &mut spooled).await;
        if receiver.is_done() {
            conn.reader.extend(&pending[used..]);
        }
        let mut clock = DataClock::start(
            Instant::now(),
            self.shared.data_timeout,
            self.shared.data_min_rate,
        );
        while !receiver.is_done() {
            let shutdown = self.shared.shutdown.clone();
            match conn
                .read(clock.deadline(), async move { shutdown.aborting().await })
                .await
            {
                Read::Data(n) => {
                    clock.read(Instant::now(), n);
                    let used = receiver.feed(&conn.buf[..n]);
                    self.hold(&mut receiver, &mut reservation);
                    self.spill(&mut receiver, &mut spooled).await;
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
                    return Err(End::Closed(
                        "DATA timeout (idle, or below listener.data_min_rate)",
                    ));
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
        let id = MessageId::random();
        let trace = Trace {
            helo: &origin.helo,
            peer: origin.peer.ip(),
            by: &self.shared.settings.hostname,
            esmtp: self.protocol.esmtp(),
            utf8: envelope.params.smtputf8,
            tls: self.tls_details.as_deref(),
            id,
            recipients: &envelope.recipients,
            date: self.shared.clock.now(),
        }
        .field();
        let size = receiver.len();
        let data = match (receiver.finish(), spooled) {
            (Err(e), _) => Err(e),
            (Ok(rest), None) => Ok(Content::Memory(rest)),
            (Ok(rest), Some(mut file)) => {
                let mapped = async move {
                    file.write(rest).await?;
                    file.map().await
                };
                mapped.await.map_err(|e| {
                    tracing::warn!(peer = %self.peer, error = %e, "spooled message could not be mapped; deferred");
                    DataError::SpoolFailed
                })
            }
        };
        let reply = self
            .leg
            .finish(
                &self.shared,
                &origin,
                id,
                envelope,
                data,
                trace,
                self.mail_at,
            )
            .await;
        drop(reservation);
        if size >= crate::memory::RELEASE_AFTER {
            crate::memory::release();
        }
        Ok(reply)
    }

    /// Past `listener.spool_threshold`, moves what the receiver kept to the spool file (created on
    /// the way), a piece at a time. A spool that fails refuses the message (4xx at the end of DATA).
    async fn spill(&self, receiver: &mut DataReceiver, spooled: &mut Option<SpoolFile>) {
        if !receiver.is_keeping() || receiver.buffered() < SPOOL_PIECE {
            return;
        }
        if spooled.is_none() {
            if receiver.len() <= self.shared.spool_threshold {
                return;
            }
            match self.shared.spool.create() {
                Ok(f) => {
                    tracing::debug!(peer = %self.peer, "message over listener.spool_threshold; receiving it into the spool");
                    *spooled = Some(f)
                }
                Err(e) => {
                    tracing::warn!(peer = %self.peer, error = %e, "cannot create a spool file; message will be deferred");
                    receiver.abandon(DataError::SpoolFailed);
                    return;
                }
            }
        }
        if let Some(file) = spooled.as_mut()
            && let Err(e) = file.write(receiver.take_kept()).await
        {
            tracing::warn!(peer = %self.peer, error = %e, "cannot write the spool file; message will be deferred");
            receiver.abandon(DataError::SpoolFailed);
            *spooled = None;
        }
    }

    /// Keeps the reservation in step with the bytes the receiver holds; when the budget cannot
    /// cover them, the receiver drops the message (the end of DATA then gets 452 4.3.1).
    fn hold(&self, receiver: &mut DataReceiver, reservation: &mut Reservation) {
        if receiver.is_keeping() && !reservation.cover(receiver.len()) {
            tracing::warn!(peer = %self.peer, received = receiver.len(), in_flight = self.shared.budget.used(), "listener.max_bytes_in_flight reached during DATA; message will be deferred");
            receiver.abandon(DataError::OverBudget);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_clock_cuts_off_a_trickle_below_the_minimum_rate() {
        let t0 = Instant::now();
        let timeout = Duration::from_secs(10);
        let mut c = DataClock::start(t0, timeout, 100);
        // One byte a second (1% of the rate): each second costs 1 s and earns 10 ms.
        let mut now = t0;
        let mut reads = 0;
        while now < c.deadline() {
            now += Duration::from_secs(1);
            c.read(now, 1);
            reads += 1;
        }
        assert!((10..=11).contains(&reads), "{reads}");
    }

    #[test]
    fn data_clock_keeps_a_client_at_the_rate_going_but_caps_banked_time() {
        let t0 = Instant::now();
        let timeout = Duration::from_secs(10);
        let mut c = DataClock::start(t0, timeout, 100);
        let mut now = t0;
        for _ in 0..10_000 {
            now += Duration::from_secs(1);
            c.read(now, 100);
            assert!(c.deadline() > now);
        }
        // A burst banks at most `timeout`.
        c.read(now, 1 << 30);
        assert_eq!(c.deadline(), now + timeout);
        // Rate 0: only the gap between reads counts.
        let mut c = DataClock::start(t0, timeout, 0);
        c.read(t0 + Duration::from_secs(9), 1);
        assert_eq!(c.deadline(), t0 + Duration::from_secs(19));
    }
}
