//! The wire toward one SIEM receiver, on smol: UDP (RFC 5426, one message per datagram, capped),
//! TCP with RFC 6587 octet counting, TLS per RFC 5425 (octet counting; the receiver's certificate
//! verified against the destination's anchors; an optional client certificate), and the local
//! syslog socket (a Unix datagram socket, `/dev/log`; the destination's format is sent as it is).
//! Every connect, handshake and write is bounded by the destination's `timeout`. Knows framing,
//! not formats (`render`) nor cursors (`destination`).
//!
//! A syslog receiver never answers on the connection, so anything readable on a TCP or TLS
//! connection is its end (EOF, reset, TLS close_notify): [`Connection::closed_by_peer`] looks
//! before each batch and after it, so that a receiver that went away is noticed and the batch
//! written again on a new connection rather than counted as sent. What a receiver read into its
//! buffers and then lost (a crash) TCP cannot tell; at-least-once holds up to that.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use rustls::pki_types::ServerName;
use smol::net::unix::UnixDatagram;
use smol::net::{TcpStream, UdpSocket};

use super::render;
use super::syslog;
use crate::config::siem::{Address, Siem, Transport};

/// Where and how to connect: a destination's transport settings with its TLS material loaded.
#[derive(Clone)]
pub struct Target {
    pub transport: Transport,
    pub address: Address,
    /// `transport = "tls"`: the client configuration and the name to verify.
    pub tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    pub timeout: Duration,
    pub udp_max: usize,
}

impl Target {
    /// The target of `s`, reading its TLS files (anchors, client certificate) now.
    pub fn load(s: &Siem) -> anyhow::Result<Target> {
        use anyhow::Context;
        let tls = match s.transport {
            Transport::Tls => {
                let config =
                    crate::tls::siem_client_config(s.ca_file.as_deref(), s.client_cert.as_ref())
                        .with_context(|| format!("siem destination {:?}", s.name))?;
                let name = ServerName::try_from(s.server_name.clone()).with_context(|| {
                    format!(
                        "siem destination {:?}: server_name {:?}",
                        s.name, s.server_name
                    )
                })?;
                Some((config, name))
            }
            _ => None,
        };
        Ok(Target {
            transport: s.transport,
            address: s.address.clone(),
            tls,
            timeout: s.timeout,
            udp_max: s.udp_max,
        })
    }
}

/// Why a connection or a write failed, in words (TLS failures explained by `tls::explain_io`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("cannot resolve {0}")]
    Resolve(String),
    #[error("cannot connect to {address}: {reason}")]
    Connect { address: String, reason: String },
    #[error("TLS with {address} failed: {reason}")]
    Tls { address: String, reason: String },
    #[error("write failed: {0}")]
    Write(String),
    #[error("the receiver closed the connection")]
    Closed,
    #[error("{0} timed out")]
    Timeout(&'static str),
}

/// What the connection reached: the address, and for TLS the verified certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub address: String,
    pub tls: Option<TlsPeer>,
}

/// The receiver's certificate, verified against the anchors (a failed verification is an
/// [`Error::Tls`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPeer {
    pub version: String,
    pub subject: String,
    pub issuer: String,
}

enum Link {
    Udp(UdpSocket),
    Tcp(TcpStream),
    Tls(Box<futures_rustls::client::TlsStream<TcpStream>>),
    Local(UnixDatagram),
}

/// One open connection (or connected datagram socket) to a receiver, kept and reused.
pub struct Connection {
    link: Link,
    peer: Peer,
    timeout: Duration,
    udp_max: usize,
}

async fn within<T>(
    limit: Duration,
    what: &'static str,
    f: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    f.or(async {
        smol::Timer::after(limit).await;
        Err(Error::Timeout(what))
    })
    .await
}

impl Connection {
    /// Connects (and for TLS completes the handshake, verifying the receiver), within the
    /// target's timeout.
    pub async fn open(target: &Target) -> Result<Connection, Error> {
        let (link, peer) = within(target.timeout, "connecting", connect(target)).await?;
        Ok(Connection {
            link,
            peer,
            timeout: target.timeout,
            udp_max: target.udp_max,
        })
    }

    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// Writes `messages` (unframed), framed for the transport: one datagram each, or octet
    /// counted frames written together and flushed. The bytes put on the wire.
    pub async fn send(&mut self, messages: &[String]) -> Result<u64, Error> {
        let limit = self.timeout;
        let cap = self.udp_max;
        match &mut self.link {
            Link::Udp(sock) => datagrams(sock, messages, cap, limit).await,
            Link::Local(sock) => datagrams(sock, messages, cap, limit).await,
            Link::Tcp(s) => write_frames(s, messages, limit).await,
            Link::Tls(s) => write_frames(s.as_mut(), messages, limit).await,
        }
    }

    /// Whether a TCP or TLS receiver has closed (or reset) the connection: anything readable is
    /// its end, since a syslog receiver sends nothing. Datagram sockets: never.
    pub async fn closed_by_peer(&mut self) -> bool {
        let mut buf = [0u8; 256];
        let polled = match &mut self.link {
            Link::Tcp(s) => futures_lite::future::poll_once(s.read(&mut buf)).await,
            Link::Tls(s) => futures_lite::future::poll_once(s.read(&mut buf)).await,
            Link::Udp(_) | Link::Local(_) => None,
        };
        matches!(polled, Some(Ok(0)) | Some(Err(_)))
    }

    /// `sluice siem test`: waits up to `wait` for a TCP or TLS receiver to end the connection,
    /// and says how it did. `None` for datagram transports.
    pub async fn wait_closed(&mut self, wait: Duration) -> Option<Ending> {
        let timer = async {
            smol::Timer::after(wait).await;
            Ending::Open
        };
        match &mut self.link {
            Link::Tcp(s) => Some(until_end(s).or(timer).await),
            Link::Tls(s) => Some(until_end(s.as_mut()).or(timer).await),
            Link::Udp(_) | Link::Local(_) => None,
        }
    }
}

/// How a TCP or TLS receiver treated the connection after a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// Still open when the wait ended.
    Open,
    /// Closed in order (EOF, or TCP closed without a TLS close_notify).
    Closed,
    /// Reset, or a TLS alert (a client certificate it wanted, say): what it said.
    Refused(String),
}

/// Reads (and drops) until the end of the stream.
async fn until_end(r: &mut (impl futures_lite::AsyncRead + Unpin)) -> Ending {
    let mut buf = [0u8; 256];
    loop {
        match r.read(&mut buf).await {
            Ok(0) => return Ending::Closed,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ending::Closed,
            Err(e) => return Ending::Refused(crate::tls::explain_io(&e)),
            Ok(_) => continue,
        }
    }
}

/// A connected datagram socket (UDP, the local socket).
trait Datagrams {
    fn send_one<'a>(
        &'a self,
        d: &'a [u8],
    ) -> impl Future<Output = std::io::Result<usize>> + Send + 'a;
}

impl Datagrams for UdpSocket {
    fn send_one<'a>(
        &'a self,
        d: &'a [u8],
    ) -> impl Future<Output = std::io::Result<usize>> + Send + 'a {
        self.send(d)
    }
}

impl Datagrams for UnixDatagram {
    fn send_one<'a>(
        &'a self,
        d: &'a [u8],
    ) -> impl Future<Output = std::io::Result<usize>> + Send + 'a {
        self.send(d)
    }
}

/// One datagram per message, each cut to `cap` (RFC 5426).
async fn datagrams(
    sock: &impl Datagrams,
    messages: &[String],
    cap: usize,
    limit: Duration,
) -> Result<u64, Error> {
    let mut bytes = 0;
    for m in messages {
        let d = render::udp_datagram(m, cap);
        let sent = async {
            sock.send_one(&d)
                .await
                .map_err(|e| Error::Write(crate::tls::explain_io(&e)))
        };
        bytes += within(limit, "writing", sent).await? as u64;
    }
    Ok(bytes)
}

async fn write_frames(
    s: &mut (impl futures_lite::AsyncWrite + Unpin),
    messages: &[String],
    limit: Duration,
) -> Result<u64, Error> {
    let mut buf = Vec::new();
    for m in messages {
        buf.extend_from_slice(&syslog::octet_counted(m));
    }
    let write = async {
        s.write_all(&buf).await?;
        s.flush().await
    };
    within(limit, "writing", async {
        write
            .await
            .map_err(|e| Error::Write(crate::tls::explain_io(&e)))
    })
    .await?;
    Ok(buf.len() as u64)
}

async fn connect(target: &Target) -> Result<(Link, Peer), Error> {
    let (host, port) = match &target.address {
        Address::Path(path) => return connect_local(path).map(|link| (link, peer(target))),
        Address::Net { host, port } => (host.as_str(), *port),
    };
    let shown = target.address.to_string();
    let addrs = smol::net::resolve((host, port))
        .await
        .map_err(|_| Error::Resolve(shown.clone()))?;
    if addrs.is_empty() {
        return Err(Error::Resolve(shown));
    }
    if target.transport == Transport::Udp {
        let to = addrs[0];
        let any: std::net::SocketAddr = match to {
            std::net::SocketAddr::V4(_) => ([0, 0, 0, 0], 0).into(),
            std::net::SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
        };
        let failed = |e: std::io::Error| Error::Connect {
            address: to.to_string(),
            reason: e.to_string(),
        };
        let sock = UdpSocket::bind(any).await.map_err(failed)?;
        sock.connect(to).await.map_err(failed)?;
        return Ok((Link::Udp(sock), peer_at(to.to_string())));
    }
    let mut last = None;
    let mut tcp = None;
    for a in &addrs {
        match TcpStream::connect(*a).await {
            Ok(s) => {
                tcp = Some((s, *a));
                break;
            }
            Err(e) if addrs.len() == 1 => last = Some(e.to_string()),
            Err(e) => last = Some(format!("{a}: {e}")),
        }
    }
    let Some((tcp, at)) = tcp else {
        return Err(Error::Connect {
            address: shown,
            reason: last.unwrap_or_default(),
        });
    };
    let _ = tcp.set_nodelay(true);
    let Some((config, name)) = &target.tls else {
        return Ok((Link::Tcp(tcp), peer_at(at.to_string())));
    };
    let tls = futures_rustls::TlsConnector::from(config.clone())
        .connect(name.clone(), tcp)
        .await
        .map_err(|e| Error::Tls {
            address: at.to_string(),
            reason: crate::tls::explain_io(&e),
        })?;
    let state = tls.get_ref().1;
    let (subject, issuer) = state
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|der| names(der.as_ref()))
        .unwrap_or_default();
    let version = state
        .protocol_version()
        .map(crate::tls::version_name)
        .unwrap_or_default();
    let peer = Peer {
        address: at.to_string(),
        tls: Some(TlsPeer {
            version,
            subject,
            issuer,
        }),
    };
    Ok((Link::Tls(Box::new(tls)), peer))
}

fn connect_local(path: &PathBuf) -> Result<Link, Error> {
    let failed = |e: std::io::Error| Error::Connect {
        address: path.display().to_string(),
        reason: e.to_string(),
    };
    let sock = UnixDatagram::unbound().map_err(failed)?;
    sock.connect(path).map_err(failed)?;
    Ok(Link::Local(sock))
}

fn peer(target: &Target) -> Peer {
    peer_at(target.address.to_string())
}

fn peer_at(address: String) -> Peer {
    Peer { address, tls: None }
}

/// The certificate's subject and issuer as RFC 4514 strings (`CN=siem.example.com, O=...`).
fn names(der: &[u8]) -> (String, String) {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => (cert.subject().to_string(), cert.issuer().to_string()),
        Err(_) => ("(unparsable certificate)".into(), String::new()),
    }
}
