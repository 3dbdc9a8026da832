//! The durable delivery queue with the real binary: entries put into the store of a stopped instance
//! are delivered once the next hop (a loopback sink on a fixed port) is up, per-recipient refusals
//! and the give-up limit (reached by shifting the clock) bounce to the sender as RFC 3464 reports,
//! the delay notice goes out once, and entries survive `kill -9`.

mod support;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders};
use sluice::store::records::{QueueKind, Queued, QueuedRecipient, RcptState};
use sluice::store::{Store, queue};
use support::sink::{Received, Sink, SinkConfig};
use support::sluice::{binary, closed_addr, forward_config};

const CONTENT: &[u8] = b"From: alice@corp.example\r\nTo: bob@partner.example\r\nSubject: quarterly numbers\r\nMessage-ID: <q1@corp.example>\r\n\r\nThe body stays private.\r\n";

/// Short retries and lease, plus `queue_extra`; no admin server (its default port is shared).
fn config(hop: SocketAddr, queue_extra: &str) -> String {
    forward_config(
        &[hop],
        &format!(
            "[admin]\nenabled = false\n\n[queue]\nretry = [\"1s\"]\nlease = \"5s\"\n{queue_extra}\n"
        ),
    )
}

/// A `sluice serve` on a data dir that outlives it (restarts, `kill -9`), with a shiftable clock.
struct Instance {
    child: Child,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Instance {
    fn start(dir: &Path, config: &str) -> Instance {
        let config_path = dir.join("sluice.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut child = Command::new(binary())
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .env("SLUICE_LOG", "info")
            .env("SLUICE_CLOCK_OFFSET_FILE", dir.join("clock-offset"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sluice");
        let stderr = child.stderr.take().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        let me = Instance { child, logs };
        assert!(
            me.wait_log("queue: delivery worker started", 1, Duration::from_secs(20)),
            "sluice did not start its queue worker:\n{}",
            me.logs().join("\n")
        );
        me
    }

    fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    fn count(&self, needle: &str) -> usize {
        self.logs().iter().filter(|l| l.contains(needle)).count()
    }

    /// Waits until at least `n` log lines contain every one of the `&`-separated needles.
    fn wait_log(&self, needles: &str, n: usize, timeout: Duration) -> bool {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            let hits = self
                .logs()
                .iter()
                .filter(|l| needles.split('&').all(|x| l.contains(x)))
                .count();
            if hits >= n {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rcpt(address: &str) -> QueuedRecipient {
    QueuedRecipient {
        address: address.into(),
        notify: Default::default(),
        orcpt: None,
        state: RcptState::Pending,
        last_reply: None,
    }
}

fn entry(sender: &str, rcpts: &[&str]) -> Queued {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Queued {
        id: sluice::store::records::QueueId(0),
        kind: QueueKind::Release {
            held: sluice::store::records::HeldId(1),
        },
        created: now,
        sender: sender.into(),
        envid: Some("QUEUE+2DTEST".into()),
        ret_full: false,
        recipients: rcpts.iter().map(|a| rcpt(a)).collect(),
        peer: String::new(),
        attempts: 0,
        next_attempt: now,
        give_up_at: 0,
        delay_notice_sent: false,
        held: false,
    }
}

/// The store of a stopped instance, opened with the shipped options.
fn open_store(dir: &Path) -> Store {
    let options = sluice::config::Config::embedded()
        .unwrap()
        .store
        .store_options();
    Store::open(&dir.join("data/store"), &options).unwrap()
}

/// Puts entries into the store of a stopped instance, as the remediation code would.
fn enqueue(dir: &Path, entries: Vec<Queued>) {
    let store = open_store(dir);
    store
        .write_blocking(move |txn| {
            for e in entries {
                queue::insert(txn, e, CONTENT)?;
            }
            Ok(())
        })
        .unwrap();
    store.close();
}

fn queue_len(dir: &Path) -> u64 {
    let store = open_store(dir);
    let n = store.read(queue::len).unwrap();
    store.close();
    n
}

/// A next-hop address on its own loopback IP where nothing listens yet.
fn down_hop(last: u8) -> SocketAddr {
    closed_addr(IpAddr::V4(Ipv4Addr::new(127, 0, 43, last)))
}

fn sink_on(addr: SocketAddr, cfg: SinkConfig) -> Sink {
    Sink::start(SinkConfig { bind: addr, ..cfg })
}

fn reports(msgs: &[Received]) -> Vec<&Received> {
    msgs.iter()
        .filter(|m| m.mail_from_addr().is_empty())
        .collect()
}

/// The report's Action and its delivery-status text, after checking its RFC 3464 shape.
fn dsn(m: &Received, to: &str) -> (String, String) {
    let parsed = MessageParser::default()
        .parse(&m.data)
        .expect("report parses");
    let ct = parsed.root_part().content_type().expect("content type");
    assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("report")));
    assert_eq!(ct.attribute("report-type"), Some("delivery-status"));
    assert_eq!(m.rcpt_addrs(), vec![to.to_string()]);
    let text = m.data_str();
    let start = text
        .find("Content-Type: message/delivery-status")
        .expect("a delivery-status part");
    let body = &text[start..];
    let body = &body[body.find("\r\n\r\n").unwrap() + 4..];
    let status = body[..body.find("\r\n--").unwrap()].to_string();
    let action = status
        .lines()
        .find_map(|l| l.strip_prefix("Action: "))
        .unwrap_or_default()
        .to_string();
    assert!(
        !text.contains("The body stays private."),
        "RET=HDRS: headers only"
    );
    (action, status)
}

#[test]
fn delivers_once_after_the_next_hop_comes_back_with_one_delay_notice() {
    let dir = tempfile::tempdir().unwrap();
    let hop = down_hop(1);
    enqueue(
        dir.path(),
        vec![entry("alice@corp.example", &["bob@partner.example"])],
    );
    let sluice = Instance::start(dir.path(), &config(hop, "delay_notice = \"0s\""));
    assert!(
        sluice.wait_log(
            "queue: attempt recorded&deferred=1",
            3,
            Duration::from_secs(15)
        ),
        "{}",
        sluice.logs().join("\n")
    );
    let sink = sink_on(hop, SinkConfig::default());
    let msgs = sink.wait_for(2, Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(3));
    let msgs_after = sink.messages();
    assert_eq!(msgs_after.len(), 2, "exactly once, and one delay notice");
    let original: Vec<&Received> = msgs
        .iter()
        .filter(|m| m.mail_from_addr() == "alice@corp.example")
        .collect();
    assert_eq!(original.len(), 1);
    assert_eq!(original[0].rcpt_addrs(), vec!["bob@partner.example"]);
    assert_eq!(original[0].data, CONTENT);
    assert!(original[0].mail_from.contains("ENVID=QUEUE+2DTEST"));
    let notices = reports(&msgs_after);
    assert_eq!(
        notices.len(),
        1,
        "one delay notice despite several failures"
    );
    let (action, status) = dsn(notices[0], "alice@corp.example");
    assert_eq!(action, "delayed");
    assert!(status.contains("Final-Recipient: rfc822; bob@partner.example"));
    assert!(status.contains("Original-Envelope-Id: QUEUE-TEST"));
    assert!(sluice.count("queue: reordering stopped") >= 1);
    // Issue 10, item 12: the reordering lines name the host:port that accepted, not a placeholder.
    assert!(
        sluice.count(&format!("queue: reordering stopped next_hop={hop}")) >= 1,
        "{}",
        sluice.logs().join("\n")
    );
    assert_eq!(sluice.count("next_hop=next-hop"), 0);
    // Issue 10, item 13: the attempt lines say whether TLS was used.
    let attempts: Vec<String> = sluice
        .logs()
        .into_iter()
        .filter(|l| l.contains("queue: attempt recorded"))
        .collect();
    assert!(!attempts.is_empty());
    assert!(
        attempts
            .iter()
            .all(|l| l.contains("tls=none tls_version=-")),
        "{attempts:?}"
    );
    drop(sluice);
    assert_eq!(queue_len(dir.path()), 0, "the queue is empty afterwards");
}

#[test]
fn a_refused_recipient_bounces_to_the_sender_but_never_to_the_null_sender() {
    let dir = tempfile::tempdir().unwrap();
    let hop = down_hop(2);
    let sink = sink_on(
        hop,
        SinkConfig::default().reject_rcpts(
            &["carol@partner.example", "dave@partner.example"],
            "550 5.1.1 No such user",
        ),
    );
    enqueue(
        dir.path(),
        vec![
            entry(
                "alice@corp.example",
                &["bob@partner.example", "carol@partner.example"],
            ),
            entry("", &["dave@partner.example"]),
        ],
    );
    let sluice = Instance::start(dir.path(), &config(hop, ""));
    let msgs = sink.wait_for(2, Duration::from_secs(10));
    assert!(sluice.wait_log(
        "queue: attempt recorded&bounced=1",
        2,
        Duration::from_secs(10)
    ));
    std::thread::sleep(Duration::from_secs(2));
    let msgs_after = sink.messages();
    assert_eq!(msgs_after.len(), 2, "{msgs_after:?}");
    let delivered: Vec<&Received> = msgs
        .iter()
        .filter(|m| !m.mail_from_addr().is_empty())
        .collect();
    assert_eq!(delivered[0].rcpt_addrs(), vec!["bob@partner.example"]);
    let bounces = reports(&msgs_after);
    assert_eq!(bounces.len(), 1, "no bounce for the null-sender entry");
    let (action, status) = dsn(bounces[0], "alice@corp.example");
    assert_eq!(action, "failed");
    assert!(status.contains("Final-Recipient: rfc822; carol@partner.example"));
    assert!(status.contains("Status: 5.1.1"));
    assert!(status.contains("Diagnostic-Code: smtp; 550 5.1.1 No such user"));
    assert!(!status.contains("bob@partner.example"));
}

#[test]
fn gives_up_after_the_limit_on_a_shifted_clock_and_bounces() {
    let dir = tempfile::tempdir().unwrap();
    let hop = down_hop(3);
    enqueue(
        dir.path(),
        vec![entry("alice@corp.example", &["bob@partner.example"])],
    );
    let sluice = Instance::start(dir.path(), &config(hop, "give_up = \"1d\""));
    assert!(sluice.wait_log(
        "queue: attempt recorded&deferred=1",
        1,
        Duration::from_secs(10)
    ));
    assert_eq!(sluice.count("bounced=1"), 0);
    std::fs::write(dir.path().join("clock-offset"), "172800\n").unwrap();
    assert!(
        sluice.wait_log(
            "queue: attempt recorded&bounced=1",
            1,
            Duration::from_secs(10)
        ),
        "{}",
        sluice.logs().join("\n")
    );
    let sink = sink_on(hop, SinkConfig::default());
    let msgs = sink.wait_for(1, Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        sink.messages().len(),
        1,
        "only the bounce: never the original"
    );
    let (action, status) = dsn(&msgs[0], "alice@corp.example");
    assert_eq!(action, "failed");
    assert!(status.contains("Status: 4.4.7"), "{status}");
}

#[test]
fn entries_survive_kill_9_between_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let hop = down_hop(4);
    enqueue(
        dir.path(),
        vec![entry(
            "alice@corp.example",
            &["bob@partner.example", "erin@partner.example"],
        )],
    );
    let cfg = config(hop, "");
    for round in 0..2 {
        let sluice = Instance::start(dir.path(), &cfg);
        assert!(
            sluice.wait_log(
                "queue: attempt recorded&deferred=2",
                1,
                Duration::from_secs(10)
            ),
            "round {round}"
        );
        sluice.kill9();
    }
    assert_eq!(queue_len(dir.path()), 1, "the entry survived");
    let sink = sink_on(hop, SinkConfig::default());
    let sluice = Instance::start(dir.path(), &cfg);
    let msgs = sink.wait_for(1, Duration::from_secs(15));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.messages().len(), 1, "delivered once");
    assert_eq!(
        msgs[0].rcpt_addrs(),
        vec!["bob@partner.example", "erin@partner.example"]
    );
    drop(sluice);
    assert_eq!(queue_len(dir.path()), 0);
}

/// Inserts entries into the store (the server may be running, as with the CLI); returns their ids.
fn enqueue_ids(dir: &Path, entries: Vec<Queued>) -> Vec<sluice::store::records::QueueId> {
    let store = open_store(dir);
    let ids = store
        .write_blocking(move |txn| {
            let mut ids = Vec::new();
            for e in entries {
                ids.push(queue::insert(txn, e, CONTENT)?);
            }
            Ok(ids)
        })
        .unwrap();
    store.close();
    ids
}

/// Issue 10, item 1: a next hop that accepts other mail (and the entry's other recipient) while it
/// answers 451 to one recipient does not make that recipient's retries skip the schedule: reordering
/// never brings an entry past a 4xx back-off of its own. The clock is shifted past each interval.
#[test]
fn a_recipients_own_4xx_keeps_its_retry_schedule_while_other_mail_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let hop = down_hop(5);
    let sink = sink_on(
        hop,
        SinkConfig::default().reject_rcpts(&["busy@partner.example"], "451 4.2.0 Mailbox busy"),
    );
    let offset = dir.path().join("clock-offset");
    std::fs::write(&offset, "0\n").unwrap();
    let ids = enqueue_ids(
        dir.path(),
        vec![entry(
            "alice@corp.example",
            &["bob@partner.example", "busy@partner.example"],
        )],
    );
    let busy = format!("queue: attempt recorded&queue_id={}&", ids[0]);
    let cfg = forward_config(
        &[hop],
        "[admin]\nenabled = false\n\n[queue]\nretry = [\"10s\", \"20s\"]\nlease = \"5s\"\n",
    );
    let sluice = Instance::start(dir.path(), &cfg);
    let mut delivered = 1;
    for (attempt, shift) in [(1, 11), (2, 32), (3, 0)] {
        assert!(
            sluice.wait_log(
                &format!("{busy}attempt={attempt}"),
                1,
                Duration::from_secs(15)
            ),
            "attempt {attempt}:\n{}",
            sluice.logs().join("\n")
        );
        // Other mail to the same next hop is delivered meanwhile.
        enqueue_ids(
            dir.path(),
            vec![
                entry("alice@corp.example", &["carol@partner.example"]),
                entry("alice@corp.example", &["dave@partner.example"]),
            ],
        );
        delivered += 2;
        sink.wait_for(delivered, Duration::from_secs(15));
        std::thread::sleep(Duration::from_secs(2));
        let busy_attempts: Vec<String> = sluice
            .logs()
            .into_iter()
            .filter(|l| busy.split('&').all(|x| l.contains(x)))
            .collect();
        assert_eq!(
            busy_attempts.len(),
            attempt,
            "the busy recipient waits out its retry interval:\n{}",
            sluice.logs().join("\n")
        );
        if shift > 0 {
            std::fs::write(&offset, format!("{shift}\n")).unwrap();
        }
    }
    assert_eq!(
        sink.messages().len(),
        delivered,
        "bob once, and every other message"
    );
}

/// Issue 10, item 13: a queued message delivered over STARTTLS is logged as verified TLS, with the
/// protocol version.
#[test]
fn a_delivery_over_tls_is_logged_as_verified_with_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let hop = down_hop(6);
    let sink = sink_on(
        hop,
        SinkConfig {
            starttls: true,
            ..SinkConfig::default()
        },
    );
    let anchor = dir.path().join("sink.pem");
    std::fs::write(&anchor, sink.cert_pem()).unwrap();
    enqueue(
        dir.path(),
        vec![entry("alice@corp.example", &["bob@partner.example"])],
    );
    let relay = format!(
        "{}\nstarttls = \"always\"\ntrust_anchors = [\"{}\"]",
        support::sluice::hosts_relay(&[hop]),
        anchor.display()
    );
    let cfg = support::sluice::config(
        "",
        &relay,
        "[admin]\nenabled = false\n\n[queue]\nretry = [\"1s\"]\nlease = \"5s\"\n",
    );
    let sluice = Instance::start(dir.path(), &cfg);
    let msgs = sink.wait_for(1, Duration::from_secs(10));
    assert!(msgs[0].tls);
    assert!(
        sluice.wait_log(
            "queue: attempt recorded&delivered=1&tls=verified tls_version=TLSv1.3",
            1,
            Duration::from_secs(10)
        ),
        "{}",
        sluice.logs().join("\n")
    );
}
