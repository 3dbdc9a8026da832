//! A next hop that records how every SMTP conversation with it went and ended: the commands it
//! was given, the messages it accepted, and whether the client ended with QUIT, closed the
//! connection while idle, closed it in the middle of a transaction or of DATA (an aborted
//! transaction, which a real MTA logs as "lost connection after ..."), or reset it ("Connection
//! reset by peer", which Postfix logs as a warning).
//!
//! Plain TCP, PIPELINING, one thread per connection; every read has a timeout.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// Still open.
    Open,
    /// The client said QUIT.
    Quit,
    /// The client closed the connection with no transaction open.
    ClosedIdle,
    /// The client closed the connection after MAIL, before the transaction ended (an aborted
    /// transaction).
    ClosedInTransaction,
    /// The client closed the connection during DATA, after 354 (an aborted message).
    ClosedInData,
    /// The connection was reset, or another read error happened (its text).
    Error(String),
}

impl End {
    /// Whether the next hop saw the transaction end the way SMTP intends (QUIT, or a close with
    /// nothing open), rather than aborted or reset.
    pub fn is_clean(&self) -> bool {
        matches!(self, End::Open | End::Quit | End::ClosedIdle)
    }
}

/// One connection: the command verbs in order (`DATA` only once answered 354; `.` for each end of
/// a message) and how it ended.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub commands: Vec<String>,
    pub end: End,
}

/// The envelope recipients and text of one accepted message.
#[derive(Debug, Clone)]
pub struct Message {
    pub rcpts: Vec<String>,
    pub data: String,
}

#[derive(Default)]
struct Record {
    conversations: Vec<Conversation>,
    messages: Vec<Message>,
}

pub struct Witness {
    pub addr: SocketAddr,
    record: Arc<Mutex<Record>>,
}

impl Witness {
    pub fn start() -> Witness {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the witness");
        let addr = listener.local_addr().expect("witness address");
        let record = Arc::new(Mutex::new(Record::default()));
        let r = record.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let r = r.clone();
                let index = {
                    let mut rec = r.lock().unwrap();
                    rec.conversations.push(Conversation {
                        commands: Vec::new(),
                        end: End::Open,
                    });
                    rec.conversations.len() - 1
                };
                std::thread::spawn(move || serve(stream, &r, index));
            }
        });
        Witness { addr, record }
    }

    pub fn conversations(&self) -> Vec<Conversation> {
        self.record.lock().unwrap().conversations.clone()
    }

    pub fn messages(&self) -> Vec<Message> {
        self.record.lock().unwrap().messages.clone()
    }

    /// Waits until every connection has ended (or `timeout` passed); returns them all.
    pub fn wait_ended(&self, timeout: Duration) -> Vec<Conversation> {
        let end = Instant::now() + timeout;
        loop {
            let c = self.conversations();
            if Instant::now() >= end || c.iter().all(|c| c.end != End::Open) {
                return c;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[derive(PartialEq)]
enum State {
    Idle,
    Transaction,
    Data,
}

fn serve(stream: TcpStream, record: &Mutex<Record>, index: usize) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let mut out = stream.try_clone().expect("clone the witness stream");
    let mut reader = BufReader::new(stream);
    let mut state = State::Idle;
    let (mut rcpts, mut data) = (Vec::new(), String::new());
    let log = |verb: &str| {
        record.lock().unwrap().conversations[index]
            .commands
            .push(verb.to_string())
    };
    let mut reply = |text: &str| {
        let _ = out.write_all(format!("{text}\r\n").as_bytes());
    };
    reply("220 witness ESMTP");
    let end = loop {
        let mut line = String::new();
        let verb = match reader.read_line(&mut line) {
            Ok(0) => {
                break match state {
                    State::Idle => End::ClosedIdle,
                    State::Transaction => End::ClosedInTransaction,
                    State::Data => End::ClosedInData,
                };
            }
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                break End::Error(format!("Connection reset by peer ({e})"));
            }
            Err(e) => break End::Error(e.to_string()),
            Ok(_) => line.split_whitespace().next().unwrap_or("").to_uppercase(),
        };
        if state == State::Data {
            if line == ".\r\n" {
                log(".");
                record.lock().unwrap().messages.push(Message {
                    rcpts: std::mem::take(&mut rcpts),
                    data: std::mem::take(&mut data),
                });
                state = State::Idle;
                reply("250 2.0.0 Ok: queued");
            } else {
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            continue;
        }
        log(&verb);
        match verb.as_str() {
            "EHLO" => {
                reply("250-witness\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES")
            }
            "MAIL" if state == State::Idle => {
                state = State::Transaction;
                reply("250 2.1.0 Ok");
            }
            "MAIL" => reply("503 5.5.1 Error: nested MAIL command"),
            "RCPT" if state == State::Transaction => {
                rcpts.push(line.trim_end().to_string());
                reply("250 2.1.5 Ok");
            }
            "DATA" if state == State::Transaction && !rcpts.is_empty() => {
                state = State::Data;
                reply("354 End data with <CR><LF>.<CR><LF>");
            }
            "RCPT" | "DATA" => reply("503 5.5.1 Error: need MAIL command"),
            "RSET" => {
                state = State::Idle;
                rcpts.clear();
                reply("250 2.0.0 Ok");
            }
            "NOOP" => reply("250 2.0.0 Ok"),
            "QUIT" => {
                reply("221 2.0.0 Bye");
                break End::Quit;
            }
            _ => reply("502 5.5.2 Error: command not recognized"),
        }
    };
    let _ = out.shutdown(Shutdown::Write);
    record.lock().unwrap().conversations[index].end = end;
}
