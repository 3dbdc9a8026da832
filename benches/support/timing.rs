//! Time to delivery for `benches/gateway.rs`: each generated message carries its sequence number in
//! an `X-Bench-Seq:` field (written into a fixed-width slot of the wire form), the generator notes
//! when it sent MAIL for it ([`Stamps`]), and a small in-process SMTP sink notes when its end of DATA
//! arrived ([`TimingSink`]). A store-and-forward path answers the client long before the message is
//! delivered, so the client's own reply times say nothing about delivery: these two ends do.
//!
//! The sink keeps nothing but a count and one arrival time per sequence number; it answers every
//! command at once (pipelining-safe: replies in order) and takes any number of connections.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The header field naming a message's sequence number, with 8 digits.
pub const FIELD: &str = "X-Bench-Seq: ";
const DIGITS: usize = 8;

/// Adds the `X-Bench-Seq` field as the first line of a wire-form message; returns the new wire
/// and the offset of its digits.
pub fn with_slot(wire: &[u8]) -> (Vec<u8>, usize) {
    let mut out = format!("{FIELD}{}\r\n", "0".repeat(DIGITS)).into_bytes();
    let offset = FIELD.len();
    out.extend_from_slice(wire);
    (out, offset)
}

/// Writes `seq` into the slot at `offset`.
pub fn stamp(wire: &mut [u8], offset: usize, seq: usize) {
    let digits = format!("{:0width$}", seq % 100_000_000, width = DIGITS);
    wire[offset..offset + DIGITS].copy_from_slice(digits.as_bytes());
}

/// Nanoseconds since `base`, 0 meaning "not yet".
fn since(base: Instant, t: Instant) -> u64 {
    (t.saturating_duration_since(base).as_nanos() as u64).max(1)
}

/// When the generator started each message (MAIL written), by sequence number.
pub struct Stamps {
    pub base: Instant,
    pub offset: usize,
    started: Vec<AtomicU64>,
}

impl Stamps {
    pub fn new(base: Instant, offset: usize, messages: usize) -> Stamps {
        Stamps {
            base,
            offset,
            started: (0..messages).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn started(&self, seq: usize, at: Instant) {
        if let Some(s) = self.started.get(seq) {
            s.store(since(self.base, at), Ordering::Relaxed);
        }
    }

    /// Per delivered message, milliseconds from MAIL to its arrival at the sink, sorted; and the
    /// first start and the last arrival (as offsets from `base`).
    pub fn delivery_ms(&self, sink: &TimingSink) -> (Vec<f64>, Option<Duration>, Option<Duration>) {
        let mut out = Vec::new();
        let (mut first, mut last) = (u64::MAX, 0u64);
        for (seq, s) in self.started.iter().enumerate() {
            let s = s.load(Ordering::Relaxed);
            let a = sink.arrival(seq);
            if s == 0 {
                continue;
            }
            first = first.min(s);
            if a == 0 {
                continue;
            }
            last = last.max(a);
            out.push(a.saturating_sub(s) as f64 / 1e6);
        }
        out.sort_by(|a, b| a.total_cmp(b));
        let first = (first != u64::MAX).then(|| Duration::from_nanos(first));
        let last = (last != 0).then(|| Duration::from_nanos(last));
        (out, first, last)
    }
}

/// An SMTP sink that records the arrival of each `X-Bench-Seq` message.
pub struct TimingSink {
    pub addr: SocketAddr,
    base: Instant,
    arrivals: Arc<Vec<AtomicU64>>,
    received: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl TimingSink {
    /// Listens on a loopback port; `capacity` bounds the sequence numbers it records.
    pub fn start(base: Instant, capacity: usize) -> std::io::Result<TimingSink> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let arrivals: Arc<Vec<AtomicU64>> =
            Arc::new((0..capacity).map(|_| AtomicU64::new(0)).collect());
        let received = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (a, r, s) = (arrivals.clone(), received.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (a, r) = (a.clone(), r.clone());
                let _ = std::thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn(move || serve(conn, base, &a, &r));
            }
        });
        Ok(TimingSink {
            addr,
            base,
            arrivals,
            received,
            stop,
        })
    }

    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    fn arrival(&self, seq: usize) -> u64 {
        self.arrivals
            .get(seq)
            .map_or(0, |a| a.load(Ordering::Relaxed))
    }

    /// Forgets every arrival (between runs of different paths).
    pub fn reset(&self) {
        for a in self.arrivals.iter() {
            a.store(0, Ordering::Relaxed);
        }
        self.received.store(0, Ordering::Relaxed);
    }

    /// Waits until `n` messages arrived; `None` on timeout.
    pub fn wait_received(&self, n: u64, timeout: Duration) -> Option<Instant> {
        let end = Instant::now() + timeout;
        loop {
            if self.received() >= n {
                return Some(Instant::now());
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn base(&self) -> Instant {
        self.base
    }
}

impl Drop for TimingSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

/// One connection: greeting, then a reply per command; DATA is read to its terminator.
fn serve(conn: TcpStream, base: Instant, arrivals: &[AtomicU64], received: &AtomicU64) {
    let _ = conn.set_nodelay(true);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(300)));
    let Ok(mut w) = conn.try_clone() else { return };
    let mut r = BufReader::with_capacity(64 * 1024, conn);
    let mut line = Vec::with_capacity(1024);
    if w.write_all(b"220 timing-sink ESMTP\r\n").is_err() {
        return;
    }
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let verb: String = line
            .iter()
            .take(4)
            .map(|b| b.to_ascii_uppercase() as char)
            .collect();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-timing-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 0\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 Ok\r\n",
            "QUIT" => {
                let _ = w.write_all(b"221 2.0.0 Bye\r\n");
                return;
            }
            "DATA" => {
                if w.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    .is_err()
                {
                    return;
                }
                let Some(seq) = read_data(&mut r, &mut line) else {
                    return;
                };
                let now = Instant::now();
                if let Some(slot) = seq.and_then(|s| arrivals.get(s)) {
                    slot.store(since(base, now), Ordering::Relaxed);
                }
                received.fetch_add(1, Ordering::Relaxed);
                b"250 2.0.0 Ok: queued\r\n"
            }
            _ => b"502 5.5.2 Error: command not recognized\r\n",
        };
        if w.write_all(reply).is_err() {
            return;
        }
    }
}

/// Reads DATA lines to the lone `.`; returns the sequence number found (if any), `None` when the
/// connection ended first.
fn read_data(r: &mut BufReader<TcpStream>, line: &mut Vec<u8>) -> Option<Option<usize>> {
    let mut seq = None;
    loop {
        line.clear();
        match r.read_until(b'\n', line) {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        if line == b".\r\n" || line == b".\n" {
            return Some(seq);
        }
        if seq.is_none() && line.starts_with(FIELD.as_bytes()) {
            let digits = &line[FIELD.len()..];
            let n: String = digits
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .map(|&b| b as char)
                .collect();
            seq = n.parse().ok();
        }
    }
}
