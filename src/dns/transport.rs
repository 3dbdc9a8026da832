//! One DNS exchange with one server: UDP first, then TCP when the UDP reply is truncated.
//!
//! Replies must carry the query's id and (for NOERROR/NXDOMAIN) its question; stray UDP
//! datagrams are skipped until the timeout. Nothing here panics on hostile input: undecodable
//! replies become [`Error::Malformed`].

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, FutureExt};
use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use smol::Timer;
use smol::net::{TcpStream, UdpSocket};
use tracing::debug;

use super::Error;

/// Big enough for any UDP datagram, so an oversized reply is never silently cut.
const UDP_BUFFER: usize = 65_535;
/// Header flag bits in the third octet.
const FLAG_QR: u8 = 0x80;
const FLAG_TC: u8 = 0x02;

/// Run `fut` for at most `limit`; `None` on timeout.
pub(super) async fn with_timeout<T>(fut: impl Future<Output = T>, limit: Duration) -> Option<T> {
    async { Some(fut.await) }
        .or(async {
            Timer::after(limit).await;
            None
        })
        .await
}

/// Encode `query` with a fresh random id and RD set. Fails only for names that cannot be
/// put on the wire (over-long labels or names).
pub(super) fn encode_query(query: &Query) -> Result<(u16, Vec<u8>), hickory_proto::ProtoError> {
    // `Message::query()` draws the id from hickory-proto's thread-local CSPRNG.
    let mut message = Message::query();
    message.metadata.recursion_desired = true;
    message.add_query(query.clone());
    Ok((message.metadata.id, message.to_vec()?))
}

/// Send the encoded query to `server` and return the verified reply, falling back to TCP
/// when the UDP reply has TC set. Each transport gets its own `limit`.
pub(super) async fn exchange(
    server: SocketAddr,
    id: u16,
    wire: &[u8],
    query: &Query,
    limit: Duration,
    shown: &str,
) -> Result<Message, Error> {
    let udp = with_timeout(udp_exchange(server, id, wire, query), limit).await;
    match udp {
        None => Err(Error::Timeout(shown.to_owned())),
        Some(Err(err)) => Err(err),
        Some(Ok(Some(reply))) => Ok(reply),
        Some(Ok(None)) => {
            debug!(%server, name = shown, "UDP reply truncated, retrying over TCP");
            with_timeout(tcp_exchange(server, id, wire, query), limit)
                .await
                .unwrap_or_else(|| Err(Error::Timeout(shown.to_owned())))
        }
    }
}

/// `Ok(None)` means the server answered with TC set.
async fn udp_exchange(
    server: SocketAddr,
    id: u16,
    wire: &[u8],
    query: &Query,
) -> Result<Option<Message>, Error> {
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await?;
    // A connected socket only receives datagrams from `server`, and reports ICMP port
    // unreachable as ECONNREFUSED so a dead server fails fast instead of timing out.
    socket.connect(server).await?;
    socket.send(wire).await?;
    let mut buf = vec![0u8; UDP_BUFFER];
    loop {
        let len = socket.recv(&mut buf).await?;
        let packet = buf.get(..len).unwrap_or_default();
        // Header: id (2 octets), then flags; anything shorter than a header is noise.
        let [hi, lo, flags, ..] = *packet else {
            debug!(%server, len, "ignoring runt UDP datagram");
            continue;
        };
        if u16::from_be_bytes([hi, lo]) != id || flags & FLAG_QR == 0 || len < 12 {
            debug!(%server, len, "ignoring stray UDP datagram");
            continue;
        }
        if flags & FLAG_TC != 0 {
            return Ok(None);
        }
        let reply = decode(packet, server)?;
        if answers(&reply, id, query) {
            return Ok(Some(reply));
        }
        debug!(%server, "ignoring UDP reply whose question does not match");
    }
}

async fn tcp_exchange(
    server: SocketAddr,
    id: u16,
    wire: &[u8],
    query: &Query,
) -> Result<Message, Error> {
    let len = u16::try_from(wire.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "DNS query too long"))?;
    let mut framed = Vec::with_capacity(wire.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(wire);
    let mut stream = TcpStream::connect(server).await?;
    stream.write_all(&framed).await?;
    stream.flush().await?;
    let mut prefix = [0u8; 2];
    stream.read_exact(&mut prefix).await?;
    let mut reply = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    stream.read_exact(&mut reply).await?;
    let message = decode(&reply, server)?;
    if !answers(&message, id, query) {
        return Err(Error::Malformed(format!(
            "TCP reply from {server} does not match the query (id or question differs)"
        )));
    }
    Ok(message)
}

fn decode(packet: &[u8], server: SocketAddr) -> Result<Message, Error> {
    Message::from_vec(packet)
        .map_err(|err| Error::Malformed(format!("undecodable reply from {server}: {err}")))
}

/// Whether `reply` is the response to our query. Error replies other than NXDOMAIN may omit
/// the question (many servers do for REFUSED/FORMERR); they are only used to move on to the
/// next server, so a missing question is accepted for them.
fn answers(reply: &Message, id: u16, query: &Query) -> bool {
    if reply.metadata.id != id || reply.metadata.message_type != MessageType::Response {
        return false;
    }
    match reply.queries.as_slice() {
        [question] => {
            question.query_type == query.query_type
                && question.query_class == query.query_class
                && question.name.eq_ignore_root(&query.name)
        }
        [] => !matches!(
            reply.metadata.response_code,
            ResponseCode::NoError | ResponseCode::NXDomain
        ),
        _ => false,
    }
}
