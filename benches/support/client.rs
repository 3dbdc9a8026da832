//! The load generator: `sessions` concurrent SMTP sessions (one OS thread each, blocking sockets), each
//! sending its share of `messages` over one connection with MAIL / RCPT / DATA (no PIPELINING), and
//! timing every transaction. Optionally paced to a fixed global rate. Also: idle sessions.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

/// Words for the generated body: plain business prose that none of the policy keywords
/// ("secret", "confidential", "project falcon") can match.
const WORDS: &[&str] = &[
    "the",
    "quarterly",
    "report",
    "shows",
    "shipping",
    "volumes",
    "across",
    "northern",
    "warehouses",
    "and",
    "freight",
    "costs",
    "rose",
    "slightly",
    "while",
    "customer",
    "orders",
    "remained",
    "steady",
    "during",
    "autumn",
    "season",
    "our",
    "team",
    "will",
    "review",
    "pallet",
    "counts",
    "next",
    "week",
    "before",
    "finalising",
    "budget",
    "for",
    "spring",
    "deliveries",
    "please",
    "send",
    "updated",
    "figures",
    "to",
    "accounts",
    "by",
    "friday",
    "invoice",
    "totals",
    "match",
    "ledger",
    "entries",
    "with",
    "minor",
    "rounding",
    "differences",
    "logistics",
    "partners",
    "confirmed",
    "schedule",
];

/// A deterministic plain-text message of exactly `size` bytes (CRLF lines, headers included), and the
/// same message dot-stuffed with its terminator, ready to write after `354`.
pub fn make_message(size: usize, charset: &str) -> (Vec<u8>, Vec<u8>) {
    let headers = format!(
        "From: Load Generator <loadgen@bench.example>\r\nTo: <rcpt@sink.example>\r\nSubject: Quarterly logistics report\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\nMessage-ID: <loadgen.1@bench.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
    );
    let headers = headers.as_str();
    let mut msg = headers.as_bytes().to_vec();
    let mut seed: u32 = 0x9e37_79b9;
    let mut line = String::new();
    while msg.len() < size {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let w = WORDS[seed as usize % WORDS.len()];
        if line.len() + w.len() + 1 > 72 {
            msg.extend_from_slice(line.as_bytes());
            msg.extend_from_slice(b"\r\n");
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    // Exactly `size` bytes, ending in CRLF.
    msg.truncate(size.saturating_sub(2).max(headers.len()));
    while msg.ends_with(b"\r") || msg.ends_with(b"\n") {
        msg.pop();
    }
    while msg.len() + 2 < size {
        msg.push(b'x');
    }
    msg.extend_from_slice(b"\r\n");
    let lower = String::from_utf8_lossy(&msg).to_lowercase();
    for k in ["secret", "confidential", "falcon"] {
        assert!(
            !lower.contains(k),
            "generated message must not match the policy keyword {k}"
        );
    }
    let mut wire = msg.clone();
    wire.extend_from_slice(b".\r\n");
    (msg, wire)
}

/// A deterministic multipart message of about `size` bytes: a text body and two base64 attachments,
/// a .docx (word/document.xml) and a .zip holding a .txt, all of business text with nothing a
/// policy of the default set matches. Returns it and its wire form as [`make_message`] does.
pub fn make_attached_message(size: usize) -> (Vec<u8>, Vec<u8>) {
    use super::mime::{b64, zip_of};
    let text = |n: usize| -> String {
        let (m, _) = make_message(n.max(400), "us-ascii");
        let body_at = m
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(0, |p| p + 4);
        String::from_utf8_lossy(&m[body_at..]).into_owned()
    };
    // Random words compress about 3:1, and base64 adds a third: budget the parts so the whole
    // message lands near `size`.
    let third = size / 3;
    let body = text(third);
    let doc_text = text(third * 2);
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>{}</w:t></w:r></w:p></w:body></w:document>",
        doc_text.replace("\r\n", " ")
    );
    let docx = zip_of(&[
        ("[Content_Types].xml", b"<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>"),
        ("word/document.xml", xml.as_bytes()),
    ]);
    let minutes = text(third * 2);
    let archive = zip_of(&[("notes/minutes.txt", minutes.as_bytes())]);
    let msg = format!(
        "From: Load Generator <loadgen@bench.example>\r\nTo: <rcpt@sink.example>\r\nSubject: Quarterly logistics report\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\nMessage-ID: <loadgen.2@bench.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{body}--b1\r\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name=\"report.docx\"\r\nContent-Disposition: attachment; filename=\"report.docx\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--b1\r\nContent-Type: application/zip; name=\"minutes.zip\"\r\nContent-Disposition: attachment; filename=\"minutes.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}--b1--\r\n",
        b64(&docx),
        b64(&archive)
    );
    let msg = msg.into_bytes();
    let mut wire = msg.clone();
    wire.extend_from_slice(b".\r\n");
    (msg, wire)
}

#[derive(Clone)]
pub struct LoadSpec {
    pub addr: SocketAddr,
    pub sessions: usize,
    pub messages: usize,
    /// The dot-stuffed message with its terminator.
    pub wire: Arc<Vec<u8>>,
    /// The message size as counted for MB/s.
    pub size: usize,
    /// Messages per second for the whole run; `None`: as fast as the server answers.
    pub rate: Option<f64>,
    pub from: String,
    pub to: String,
    /// Per-message sequence numbers and start times (`benches/gateway.rs`): `wire` has the slot
    /// of [`super::timing::with_slot`] and each message gets its own number written into it.
    pub stamp: Option<Arc<super::timing::Stamps>>,
}

#[derive(Debug, Default)]
pub struct LoadResult {
    pub ok: usize,
    pub failed: usize,
    /// From the common start (all sessions connected and greeted) to the last final reply.
    pub elapsed: Duration,
    pub start: Option<Instant>,
    /// Per message, microseconds: from writing the message after 354 to the final reply (end-of-DATA).
    pub eod_us: Vec<u32>,
    /// Per message, microseconds: from MAIL FROM to the final reply (the whole transaction).
    pub txn_us: Vec<u32>,
    /// Paced runs: messages that started more than 1 ms behind their schedule.
    pub late: usize,
    pub errors: Vec<String>,
    /// CPU time of this process (the generator itself) during the run.
    pub client_cpu: Duration,
}

impl LoadResult {
    pub fn msgs_per_sec(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

struct Smtp {
    r: BufReader<TcpStream>,
    w: TcpStream,
    line: String,
}

impl Smtp {
    fn connect(addr: SocketAddr) -> Result<Smtp, String> {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(10))
            .map_err(|e| format!("connect {addr}: {e}"))?;
        let _ = s.set_nodelay(true);
        let _ = s.set_read_timeout(Some(Duration::from_secs(120)));
        let r = BufReader::with_capacity(16 * 1024, s.try_clone().map_err(|e| e.to_string())?);
        Ok(Smtp {
            r,
            w: s,
            line: String::new(),
        })
    }

    /// Reads one (possibly multi-line) reply; returns its code and last line.
    fn reply(&mut self) -> Result<(u16, String), String> {
        loop {
            self.line.clear();
            let n = self
                .r
                .read_line(&mut self.line)
                .map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("connection closed".into());
            }
            let l = self.line.trim_end();
            if l.len() < 3 {
                return Err(format!("bad reply line {l:?}"));
            }
            let code: u16 = l[..3]
                .parse()
                .map_err(|_| format!("bad reply line {l:?}"))?;
            if l.len() == 3 || l.as_bytes()[3] == b' ' {
                return Ok((code, l.to_string()));
            }
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.w.write_all(bytes).map_err(|e| format!("write: {e}"))
    }

    fn expect(&mut self, cmd: &[u8], want: u16) -> Result<(), String> {
        self.send(cmd)?;
        let (code, text) = self.reply()?;
        if code != want {
            return Err(format!(
                "{} -> {text}",
                String::from_utf8_lossy(cmd).trim_end()
            ));
        }
        Ok(())
    }

    fn hello(addr: SocketAddr) -> Result<Smtp, String> {
        let mut s = Smtp::connect(addr)?;
        let (code, text) = s.reply()?;
        if code != 220 {
            return Err(format!("greeting: {text}"));
        }
        s.expect(b"EHLO loadgen.bench.example\r\n", 250)?;
        Ok(s)
    }
}

struct Shared {
    result: Mutex<LoadResult>,
    start: Mutex<Option<Instant>>,
}

/// Runs the load; every session connects and says EHLO before the clock starts.
pub fn run(spec: &LoadSpec) -> LoadResult {
    let sessions = spec.sessions.max(1).min(spec.messages.max(1));
    let shared = Arc::new(Shared {
        result: Mutex::new(LoadResult::default()),
        start: Mutex::new(None),
    });
    let ready = Arc::new(Barrier::new(sessions + 1));
    let go = Arc::new(Barrier::new(sessions + 1));
    let mut handles = Vec::new();
    for s in 0..sessions {
        let (spec, shared, ready, go) = (spec.clone(), shared.clone(), ready.clone(), go.clone());
        handles.push(
            std::thread::Builder::new()
                .name(format!("load-{s}"))
                .stack_size(256 * 1024)
                .spawn(move || session(s, sessions, &spec, &shared, &ready, &go))
                .expect("spawn load thread"),
        );
    }
    ready.wait();
    let cpu0 = super::self_cpu();
    let start = Instant::now() + Duration::from_millis(20);
    *shared.start.lock().unwrap() = Some(start);
    go.wait();
    let mut last = start;
    for h in handles {
        if let Ok(end) = h.join() {
            last = last.max(end);
        }
    }
    let mut r = std::mem::take(&mut *shared.result.lock().unwrap());
    r.client_cpu = super::self_cpu().saturating_sub(cpu0);
    r.elapsed = last.saturating_duration_since(start);
    r.start = Some(start);
    r.eod_us.sort_unstable();
    r.txn_us.sort_unstable();
    r
}

fn session(
    index: usize,
    sessions: usize,
    spec: &LoadSpec,
    shared: &Shared,
    ready: &Barrier,
    go: &Barrier,
) -> Instant {
    let mine: Vec<usize> = (index..spec.messages).step_by(sessions).collect();
    let conn = Smtp::hello(spec.addr);
    ready.wait();
    go.wait();
    let start = shared.start.lock().unwrap().expect("start set before go");
    if let Some(wait) = start.checked_duration_since(Instant::now()) {
        std::thread::sleep(wait);
    }
    let mut conn = match conn {
        Ok(c) => c,
        Err(e) => {
            let mut r = shared.result.lock().unwrap();
            r.failed += mine.len();
            r.errors.push(format!("session {index}: {e}"));
            return Instant::now();
        }
    };
    let mail = format!("MAIL FROM:<{}>\r\n", spec.from);
    let rcpt = format!("RCPT TO:<{}>\r\n", spec.to);
    let (mut eod, mut txn) = (
        Vec::with_capacity(mine.len()),
        Vec::with_capacity(mine.len()),
    );
    let (mut ok, mut failed, mut late) = (0, 0, 0);
    let mut errors = Vec::new();
    let mut broken = false;
    for k in &mine {
        if broken {
            failed += 1;
            continue;
        }
        if let Some(rate) = spec.rate {
            let due = start + Duration::from_secs_f64(*k as f64 / rate);
            let now = Instant::now();
            if let Some(wait) = due.checked_duration_since(now) {
                std::thread::sleep(wait);
            } else if now - due > Duration::from_millis(1) {
                late += 1;
            }
        }
        let stamped = spec.stamp.as_ref().map(|s| {
            let mut w = spec.wire.to_vec();
            super::timing::stamp(&mut w, s.offset, *k);
            w
        });
        let t0 = Instant::now();
        if let Some(s) = &spec.stamp {
            s.started(*k, t0);
        }
        let step = (|| -> Result<(Instant, u16, String), String> {
            conn.expect(mail.as_bytes(), 250)?;
            conn.expect(rcpt.as_bytes(), 250)?;
            conn.expect(b"DATA\r\n", 354)?;
            let t1 = Instant::now();
            conn.send(stamped.as_deref().unwrap_or(&spec.wire))?;
            let (code, text) = conn.reply()?;
            Ok((t1, code, text))
        })();
        let t2 = Instant::now();
        match step {
            Ok((t1, code, _)) if (200..300).contains(&code) => {
                ok += 1;
                eod.push((t2 - t1).as_micros().min(u32::MAX as u128) as u32);
                txn.push((t2 - t0).as_micros().min(u32::MAX as u128) as u32);
            }
            Ok((_, _, text)) => {
                failed += 1;
                if errors.len() < 3 {
                    errors.push(format!("session {index}: end of DATA -> {text}"));
                }
            }
            Err(e) => {
                failed += 1;
                broken = true;
                if errors.len() < 3 {
                    errors.push(format!("session {index}: {e}"));
                }
            }
        }
    }
    let end = Instant::now();
    if !broken {
        let _ = conn.send(b"QUIT\r\n");
        let _ = conn.reply();
    }
    let mut r = shared.result.lock().unwrap();
    r.ok += ok;
    r.failed += failed;
    r.late += late;
    r.eod_us.extend(eod);
    r.txn_us.extend(txn);
    r.errors.extend(errors);
    end
}

/// Opens `n` sessions that connect, read the greeting, say EHLO and then stay idle. Returns the open
/// sockets (dropping them closes the sessions) and the errors, if any.
pub fn open_idle(addr: SocketAddr, n: usize) -> (Vec<TcpStream>, Vec<String>) {
    let threads = 8.min(n.max(1));
    let mut handles = Vec::new();
    for t in 0..threads {
        let count = n / threads + usize::from(t < n % threads);
        handles.push(std::thread::spawn(move || {
            let mut open = Vec::with_capacity(count);
            let mut errors = Vec::new();
            for _ in 0..count {
                match Smtp::hello(addr) {
                    Ok(s) => {
                        // Nothing else is read: keep only the socket.
                        drop(s.r);
                        open.push(s.w);
                    }
                    Err(e) => {
                        if errors.len() < 3 {
                            errors.push(e);
                        }
                    }
                }
            }
            (open, errors)
        }));
    }
    let (mut all, mut errs) = (Vec::new(), Vec::new());
    for h in handles {
        let (o, e) = h.join().expect("idle thread");
        all.extend(o);
        errs.extend(e);
    }
    (all, errs)
}

/// Checks that an idle session is still open (the server has not hung up on it).
pub fn still_open(s: &TcpStream) -> bool {
    let _ = s.set_nonblocking(true);
    let mut b = [0u8; 1];
    let open = match (&*s).read(&mut b) {
        Ok(0) => false,
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
    };
    let _ = s.set_nonblocking(false);
    open
}
