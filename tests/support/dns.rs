//! Tiny authoritative DNS server for integration tests: fixed records served over UDP and TCP on one loopback port.
//!
//! Blocking std threads and sockets with short read timeouts, so everything stops soon after
//! the [`TestDns`] is dropped. hickory-proto encodes and decodes the messages.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, PTR};
use hickory_proto::rr::{DNSClass, Name, RData, Record as WireRecord, RecordType};

/// TTL of every served record.
const TTL: u32 = 300;
/// How often blocked threads look at the stop flag.
const POLL: Duration = Duration::from_millis(20);
/// Longest CNAME chain the server chases inside one answer.
const MAX_CHAIN: usize = 8;

/// One record to serve. Names may be given with or without a trailing dot, in any case.
#[derive(Clone, Debug)]
pub enum Record {
    Mx {
        name: String,
        preference: u16,
        exchange: String,
    },
    A {
        name: String,
        ip: Ipv4Addr,
    },
    Aaaa {
        name: String,
        ip: Ipv6Addr,
    },
    Cname {
        name: String,
        target: String,
    },
    /// A PTR record at the reverse name of `ip` (`in-addr.arpa` or `ip6.arpa`) pointing at `name`.
    Ptr {
        ip: IpAddr,
        name: String,
    },
}

/// A running test server; it stops when dropped.
pub struct TestDns {
    /// Where to send queries (UDP and TCP).
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

struct Shared {
    records: Vec<WireRecord>,
    truncate_udp: bool,
    udp_queries: AtomicUsize,
    tcp_queries: AtomicUsize,
    stop: AtomicBool,
    connections: Mutex<Vec<JoinHandle<()>>>,
}

impl TestDns {
    /// Serve these records on 127.0.0.1:0 over UDP and TCP on the SAME port, ttl 300. Unknown
    /// name => NXDOMAIN; known name, no record of that type => NOERROR empty.
    pub fn start(records: Vec<Record>) -> TestDns {
        TestDns::spawn(records, false)
    }

    /// Same but every UDP answer is sent truncated (TC bit, no answers) so clients must use TCP.
    pub fn start_truncating(records: Vec<Record>) -> TestDns {
        TestDns::spawn(records, true)
    }

    /// How many queries have been received (UDP, TCP) so far.
    pub fn query_counts(&self) -> (usize, usize) {
        (
            self.shared.udp_queries.load(Ordering::SeqCst),
            self.shared.tcp_queries.load(Ordering::SeqCst),
        )
    }

    fn spawn(records: Vec<Record>, truncate_udp: bool) -> TestDns {
        let (listener, socket) = bind_same_port();
        let addr = listener
            .local_addr()
            .expect("bound listener has an address");
        socket
            .set_read_timeout(Some(POLL))
            .expect("set UDP read timeout");
        listener
            .set_nonblocking(true)
            .expect("set listener non-blocking");
        let shared = Arc::new(Shared {
            records: records.iter().map(to_wire).collect(),
            truncate_udp,
            udp_queries: AtomicUsize::new(0),
            tcp_queries: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            connections: Mutex::new(Vec::new()),
        });
        let udp = {
            let shared = shared.clone();
            thread::spawn(move || serve_udp(&socket, &shared))
        };
        let tcp = {
            let shared = shared.clone();
            thread::spawn(move || serve_tcp(&listener, &shared))
        };
        TestDns {
            addr,
            shared,
            threads: vec![udp, tcp],
        }
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        for handle in self.threads.drain(..) {
            let _ = handle.join();
        }
        let connections = std::mem::take(
            &mut *self
                .shared
                .connections
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        for handle in connections {
            let _ = handle.join();
        }
    }
}

/// A TCP listener and a UDP socket bound to the same loopback port.
fn bind_same_port() -> (TcpListener, UdpSocket) {
    for _ in 0..100 {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind TCP on loopback");
        let addr = listener
            .local_addr()
            .expect("bound listener has an address");
        if let Ok(socket) = UdpSocket::bind(addr) {
            return (listener, socket);
        }
    }
    panic!("TestDns: no loopback port free for both UDP and TCP");
}

fn serve_udp(socket: &UdpSocket, shared: &Shared) {
    let mut buf = [0u8; 4096];
    while !shared.stop.load(Ordering::SeqCst) {
        let Ok((len, peer)) = socket.recv_from(&mut buf) else {
            continue;
        };
        shared.udp_queries.fetch_add(1, Ordering::SeqCst);
        if let Some(reply) = respond(shared, &buf[..len], shared.truncate_udp) {
            let _ = socket.send_to(&reply, peer);
        }
    }
}

fn serve_tcp(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                let shared_for_conn = shared.clone();
                let handle = thread::spawn(move || {
                    let _ = serve_connection(stream, &shared_for_conn);
                });
                shared
                    .connections
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(handle);
            }
            Err(_) => thread::sleep(POLL),
        }
    }
}

/// Length-prefixed queries on one connection until EOF, error or stop.
fn serve_connection(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(POLL))?;
    loop {
        let mut prefix = [0u8; 2];
        if !read_full(&mut stream, &mut prefix, shared)? {
            return Ok(());
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
        if !read_full(&mut stream, &mut query, shared)? {
            return Ok(());
        }
        shared.tcp_queries.fetch_add(1, Ordering::SeqCst);
        if let Some(reply) = respond(shared, &query, false) {
            let len = u16::try_from(reply.len()).map_err(io::Error::other)?;
            let mut framed = len.to_be_bytes().to_vec();
            framed.extend_from_slice(&reply);
            stream.write_all(&framed)?;
        }
    }
}

/// Fill `buf`, polling the stop flag between read timeouts. `Ok(false)` on EOF or stop.
fn read_full(stream: &mut TcpStream, buf: &mut [u8], shared: &Shared) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        if shared.stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        match stream.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// The encoded reply to one encoded query, or `None` for packets not worth answering.
fn respond(shared: &Shared, packet: &[u8], truncate: bool) -> Option<Vec<u8>> {
    let query = match Message::from_vec(packet) {
        Ok(query) => query,
        Err(_) if packet.len() >= 12 => {
            let id = u16::from_be_bytes([packet[0], packet[1]]);
            let reply = Message::error_msg(id, OpCode::Query, ResponseCode::FormErr);
            return reply.to_vec().ok();
        }
        Err(_) => return None,
    };
    if query.metadata.message_type != MessageType::Query {
        return None;
    }
    let mut reply = Message::response(query.metadata.id, query.metadata.op_code);
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.authoritative = true;
    reply.add_queries(query.queries.iter().cloned());
    let [question] = query.queries.as_slice() else {
        reply.metadata.response_code = ResponseCode::FormErr;
        return reply.to_vec().ok();
    };
    if query.metadata.op_code != OpCode::Query || question.query_class != DNSClass::IN {
        reply.metadata.response_code = ResponseCode::NotImp;
        return reply.to_vec().ok();
    }
    if truncate {
        reply.metadata.truncation = true;
        return reply.to_vec().ok();
    }
    let (answers, exists) = lookup(&shared.records, &question.name, question.query_type);
    if !exists {
        reply.metadata.response_code = ResponseCode::NXDomain;
    }
    reply.add_answers(answers);
    reply.to_vec().ok()
}

/// Records answering (`qname`, `qtype`), chasing CNAMEs, and whether the final name exists.
fn lookup(records: &[WireRecord], qname: &Name, qtype: RecordType) -> (Vec<WireRecord>, bool) {
    let mut owner = qname.clone();
    owner.set_fqdn(true);
    let mut answers = Vec::new();
    for _ in 0..MAX_CHAIN {
        let owned: Vec<&WireRecord> = records.iter().filter(|r| r.name == owner).collect();
        let hits: Vec<WireRecord> = owned
            .iter()
            .filter(|r| r.record_type() == qtype)
            .map(|r| (*r).clone())
            .collect();
        if !hits.is_empty() {
            answers.extend(hits);
            return (answers, true);
        }
        let cname = owned.iter().find_map(|r| match &r.data {
            RData::CNAME(target) => Some(((*r).clone(), target.0.clone())),
            _ => None,
        });
        match cname {
            Some((record, target)) if qtype != RecordType::CNAME => {
                answers.push(record);
                owner = target;
            }
            _ => return (answers, !owned.is_empty()),
        }
    }
    (answers, true)
}

fn to_wire(record: &Record) -> WireRecord {
    let (owner, data) = match record {
        Record::Mx {
            name,
            preference,
            exchange,
        } => (
            name.clone(),
            RData::MX(MX::new(*preference, dns_name(exchange))),
        ),
        Record::A { name, ip } => (name.clone(), RData::A(A(*ip))),
        Record::Aaaa { name, ip } => (name.clone(), RData::AAAA(AAAA(*ip))),
        Record::Cname { name, target } => (name.clone(), RData::CNAME(CNAME(dns_name(target)))),
        Record::Ptr { ip, name } => (
            sluice::dns::reverse_name(*ip),
            RData::PTR(PTR(dns_name(name))),
        ),
    };
    WireRecord::from_rdata(dns_name(&owner), TTL, data)
}

/// Fully-qualified name from test text; "" and "." are the root.
fn dns_name(text: &str) -> Name {
    let bare = text.trim().trim_end_matches('.');
    if bare.is_empty() {
        return Name::root();
    }
    let mut name = Name::from_ascii(format!("{bare}."))
        .unwrap_or_else(|e| panic!("TestDns: bad name {text:?}: {e}"));
    name.set_fqdn(true);
    name
}
