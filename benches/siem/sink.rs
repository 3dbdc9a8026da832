//! The SIEM receivers of `benches/siem.rs`: a counting sink for octet-counted syslog (RFC 6587) over
//! TCP or TLS (RFC 5425, rustls, a certificate from a CA made here), a writer that sends the same
//! frames straight to it (the peer), and dead receivers (a closed port; a full backlog that drops
//! SYNs).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A CA and a `localhost`/127.0.0.1 server certificate from it.
pub struct Pki {
    pub ca_file: PathBuf,
    pub ca_pem: String,
    pub server: Arc<rustls::ServerConfig>,
}

pub fn pki(dir: &Path) -> Pki {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "bench SIEM CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca, rcgen::KeyPair::generate().expect("key"))
        .expect("ca");
    let mut leaf = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    leaf.subject_alt_names
        .push(rcgen::SanType::IpAddress([127, 0, 0, 1].into()));
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = leaf.signed_by(&key, &ca).expect("leaf");
    let ca_file = dir.join("siem-ca.pem");
    std::fs::write(&ca_file, ca.pem()).expect("write ca");
    let server = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .expect("server config");
    Pki {
        ca_file,
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

#[derive(Default)]
struct Counts {
    frames: AtomicU64,
    bytes: AtomicU64,
    /// When the first and the latest frame arrived.
    times: Mutex<(Option<Instant>, Option<Instant>)>,
}

/// Counts octet-counted frames on every connection it accepts.
pub struct SiemSink {
    pub addr: SocketAddr,
    counts: Arc<Counts>,
}

impl SiemSink {
    pub fn start(tls: Option<Arc<rustls::ServerConfig>>) -> SiemSink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind sink");
        let addr = listener.local_addr().expect("addr");
        let counts = Arc::new(Counts::default());
        let c = counts.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let (c, tls) = (c.clone(), tls.clone());
                std::thread::spawn(move || {
                    let _ = conn.set_nodelay(true);
                    match tls {
                        Some(cfg) => {
                            let Ok(server) = rustls::ServerConnection::new(cfg) else {
                                return;
                            };
                            frames(rustls::StreamOwned::new(server, conn), &c);
                        }
                        None => frames(conn, &c),
                    }
                });
            }
        });
        SiemSink { addr, counts }
    }

    pub fn frames(&self) -> u64 {
        self.counts.frames.load(Ordering::Relaxed)
    }

    pub fn bytes(&self) -> u64 {
        self.counts.bytes.load(Ordering::Relaxed)
    }

    /// Waits until `n` frames arrived: the time from the first to the last, or `None` on timeout.
    pub fn wait(&self, n: u64, timeout: Duration) -> Option<Duration> {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.frames() >= n {
                let (first, last) = *self.counts.times.lock().unwrap();
                return Some(last? - first?);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }
}

/// Reads `LEN SP MSG` frames until the connection ends.
fn frames(stream: impl Read, c: &Counts) {
    let mut r = BufReader::with_capacity(64 * 1024, stream);
    let mut len = Vec::new();
    let mut msg = Vec::new();
    loop {
        len.clear();
        match r.read_until(b' ', &mut len) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let Some(n) = std::str::from_utf8(&len[..len.len() - 1])
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        else {
            eprintln!(
                "[siem] sink: bad frame length {:?}",
                String::from_utf8_lossy(&len)
            );
            return;
        };
        msg.resize(n, 0);
        if r.read_exact(&mut msg).is_err() {
            return;
        }
        let now = Instant::now();
        c.frames.fetch_add(1, Ordering::Relaxed);
        c.bytes.fetch_add((len.len() + n) as u64, Ordering::Relaxed);
        let mut t = c.times.lock().unwrap();
        t.0.get_or_insert(now);
        t.1 = Some(now);
    }
}

/// Sends `n` frames made by `frame` (octet-counted, made as they are sent) on one connection, TLS
/// when `ca_pem` is given.
pub fn blast(addr: SocketAddr, ca_pem: Option<&str>, n: u64, frame: impl Fn(u64) -> Vec<u8>) {
    let tcp = TcpStream::connect(addr).expect("connect to the sink");
    let _ = tcp.set_nodelay(true);
    let mut w: Box<dyn Write> = match ca_pem {
        None => Box::new(std::io::BufWriter::with_capacity(64 * 1024, tcp)),
        Some(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in rustls::pki_types::pem::PemObject::pem_slice_iter(pem.as_bytes()) {
                roots.add(c.expect("ca pem")).expect("add root");
            }
            let cfg = rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth();
            let conn =
                rustls::ClientConnection::new(Arc::new(cfg), "localhost".try_into().expect("name"))
                    .expect("client");
            Box::new(std::io::BufWriter::with_capacity(
                64 * 1024,
                rustls::StreamOwned::new(conn, tcp),
            ))
        }
    };
    for i in 0..n {
        w.write_all(&frame(i)).expect("write frame");
    }
    w.flush().expect("flush");
    // Keep the connection open until the sink has read everything (dropping it may cut TLS short).
    std::thread::sleep(Duration::from_millis(200));
}

/// A loopback address where nothing listens: connecting is refused at once.
pub fn refusing() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let a = l.local_addr().expect("addr");
    drop(l);
    a
}

/// A loopback listener that never accepts, its backlog filled by the bench: a SYN to it is
/// dropped, so a connect hangs until its timeout (a black hole). Keep the value alive.
pub struct BlackHole {
    pub addr: SocketAddr,
    _listener: socket2::Socket,
    _fillers: Vec<socket2::Socket>,
}

pub fn black_hole() -> BlackHole {
    use socket2::{Domain, SockAddr, Socket, Type};
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    l.bind(&SockAddr::from(SocketAddr::from(([127, 0, 0, 1], 0))))
        .expect("bind");
    l.listen(0).expect("listen");
    let addr = l.local_addr().expect("addr").as_socket().expect("inet");
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        s.set_nonblocking(true).expect("nonblocking");
        let _ = s.connect(&SockAddr::from(addr));
        fillers.push(s);
    }
    std::thread::sleep(Duration::from_millis(100));
    BlackHole {
        addr,
        _listener: l,
        _fillers: fillers,
    }
}
