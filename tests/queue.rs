//! The durable delivery queue with the real binary: entries put into the store of a stopped instance
//! are delivered once the next hop (a loopback sink on a fixed port) is up, per-recipient refusals
//! and the give-up limit (reached by shifting the clock) bounce to the sender as RFC 3464 reports,
//! the delay notice goes out once, and entries survive `kill -9`.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use mail_parser::{MessageParser, MimeHeaders};
use sluice::store::records::{QueueKind, Queued, QueuedRecipient};
use support::sink::{Received, Sink, SinkConfig};
use support::sluice::{closed_addr, forward_config};
use support::stopped::{self, Instance, queue_len};

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

fn entry(sender: &str, rcpts: &[&str]) -> Queued {
    let now = stopped::now();
    Queued {
        id: sluice::store::records::QueueId(0),
        kind: QueueKind::Release {
            held: sluice::store::records::HeldId(1),
        },
        created: now,
        sender: sender.into(),
        envid: Some("QUEUE+2DTEST".into()),
        ret_full: false,
        recipients: rcpts.iter().map(|a| QueuedRecipient::new(*a)).collect(),
        peer: String::new(),
        attempts: 0,
        next_attempt: now,
        give_up_at: 0,
        delay_notice_sent: false,
        held: false,
    }
}

/// Puts entries into the store (of a stopped instance, or a running one as the CLI would), as the
/// remediation code would; their ids.
fn enqueue(dir: &Path, entries: Vec<Queued>) -> Vec<sluice::store::records::QueueId> {
    stopped::enqueue(dir, entries, CONTENT)
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
    sluice.shift_clock(172_800);
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
    let ids = enqueue(
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
        enqueue(
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
