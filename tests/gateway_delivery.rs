//! Gateway delivery's failure handling, TLS policies and caps with the real binary (issue 14):
//! a destination that is down is retried, one delay notice and, past the give-up time on a
//! shifted clock, a bounce go to the sender by route, while the entry's other destinations are
//! delivered at once; each TLS policy (none, may, encrypt, verify) against sinks with and without
//! STARTTLS, logged as tls=none|unverified|verified; a route's source address; a destination's
//! concurrency cap.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use support::gateway_queue::{Instance, config, enqueue, entry, queue_len};
use support::sink::{Received, Sink, SinkConfig};
use support::sluice::closed_addr;

const WAIT: Duration = Duration::from_secs(20);

fn route(domain: &str, destination: SocketAddr, keys: &str) -> String {
    format!("[[route]]\ndomain = \"{domain}\"\ndestination = \"{destination}\"\n{keys}\n\n")
}

/// The Action and the delivery-status text of an RFC 3464 report.
fn dsn(m: &Received) -> (String, String) {
    let text = m.data_str();
    let start = text
        .find("Content-Type: message/delivery-status")
        .expect("a delivery-status part");
    let status = text[start..].to_string();
    let action = status
        .lines()
        .find_map(|l| l.strip_prefix("Action: "))
        .unwrap_or_default()
        .to_string();
    (action, status)
}

#[test]
fn a_destination_that_is_down_is_retried_noticed_once_and_bounced_while_others_are_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let down = closed_addr(IpAddr::V4(Ipv4Addr::new(127, 0, 47, 1)));
    let up = Sink::start_default();
    let mailbox = Sink::start_default();
    enqueue(
        dir.path(),
        vec![entry(
            "alice@senders.example",
            &["x@down.example", "y@up.example"],
        )],
    );
    let routes = format!(
        "[gateway]\ntls = \"none\"\n\n{}{}{}",
        route("down.example", down, ""),
        route("up.example", up.addr, ""),
        route("senders.example", mailbox.addr, "")
    );
    let cfg = config(None, "delay_notice = \"0s\"\ngive_up = \"1d\"", &routes);
    let sluice = Instance::start(dir.path(), &cfg);
    // The destination that is up gets its recipient at the first attempt.
    assert_eq!(up.wait_for(1, WAIT)[0].rcpt_addrs(), ["y@up.example"]);
    assert!(
        sluice.wait_log("queue: attempt recorded&delivered=1&deferred=1", 1, WAIT),
        "{}",
        sluice.logs().join("\n")
    );
    assert!(sluice.wait_log("queue: attempt recorded&deferred=1", 4, WAIT));
    let notices = mailbox.wait_for(1, WAIT);
    assert_eq!(
        mailbox.messages().len(),
        1,
        "one delay notice for several failures"
    );
    let (action, status) = dsn(&notices[0]);
    assert_eq!(action, "delayed");
    assert!(
        status.contains("Final-Recipient: rfc822; x@down.example"),
        "{status}"
    );
    assert!(!status.contains("y@up.example"), "{status}");
    assert_eq!(notices[0].mail_from_addr(), "");
    assert_eq!(sluice.count("queue: attempt recorded&bounced=1"), 0);
    sluice.shift_clock(2 * 86_400);
    assert!(
        sluice.wait_log("queue: attempt recorded&bounced=1&done=true", 1, WAIT),
        "{}",
        sluice.logs().join("\n")
    );
    let both = mailbox.wait_for(2, WAIT);
    let (action, status) = dsn(&both[1]);
    assert_eq!(action, "failed");
    assert!(
        status.contains("Final-Recipient: rfc822; x@down.example"),
        "{status}"
    );
    assert!(status.contains("Status: 4.4.7"), "{status}");
    assert_eq!(up.messages().len(), 1, "never delivered twice");
    // Both reports' own attempts recorded (delivered, done) before the queue is looked at.
    assert!(sluice.wait_log("queue: attempt recorded&delivered=1&done=true", 2, WAIT));
    drop(sluice);
    assert_eq!(queue_len(dir.path()), 0);
}

#[test]
fn each_tls_policy_is_followed_and_logged_with_what_the_connection_was() {
    let dir = tempfile::tempdir().unwrap();
    let tls = Sink::start(SinkConfig {
        starttls: true,
        ..SinkConfig::default()
    });
    let plain = Sink::start_default();
    let anchor = dir.path().join("sink.pem");
    std::fs::write(&anchor, tls.cert_pem()).unwrap();
    let anchors = format!("trust_anchors = [\"{}\"]", anchor.display());
    let routes = [
        route(
            "none.example",
            tls.addr,
            "tls = \"none\"\nsource_address = \"127.0.0.7\"",
        ),
        route("may.example", tls.addr, "tls = \"may\""),
        route("mayplain.example", plain.addr, "tls = \"may\""),
        route("encrypt.example", tls.addr, "tls = \"encrypt\""),
        route("encryptplain.example", plain.addr, "tls = \"encrypt\""),
        route(
            "verify.example",
            tls.addr,
            &format!("tls = \"verify\"\n{anchors}"),
        ),
        // No anchors: the system bundle, which does not know the sink's certificate.
        route("verifyother.example", tls.addr, "tls = \"verify\""),
    ]
    .concat();
    enqueue(
        dir.path(),
        vec![entry(
            "alice@partner.example",
            &[
                "a@none.example",
                "b@may.example",
                "c@mayplain.example",
                "d@encrypt.example",
                "e@encryptplain.example",
                "f@verify.example",
                "g@verifyother.example",
            ],
        )],
    );
    let sluice = Instance::start(dir.path(), &config(None, "", &routes));
    assert!(
        sluice.wait_log("queue: attempt recorded&delivered=5&deferred=2", 1, WAIT),
        "{}",
        sluice.logs().join("\n")
    );
    let by_rcpt = |sink: &Sink, rcpt: &str| -> Received {
        sink.messages()
            .into_iter()
            .find(|m| m.rcpt_addrs() == [rcpt])
            .unwrap_or_else(|| panic!("{rcpt} not delivered"))
    };
    let none = by_rcpt(&tls, "a@none.example");
    assert!(!none.tls, "none: no STARTTLS though offered");
    assert_eq!(
        none.peer.ip(),
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 7)),
        "the route's source address"
    );
    assert!(by_rcpt(&tls, "b@may.example").tls);
    assert!(
        !by_rcpt(&plain, "c@mayplain.example").tls,
        "may: in clear when not offered"
    );
    assert!(by_rcpt(&tls, "d@encrypt.example").tls);
    assert!(by_rcpt(&tls, "f@verify.example").tls);
    assert_eq!(tls.messages().len(), 4);
    assert_eq!(plain.messages().len(), 1, "encrypt never sends in clear");
    for (policy, shown) in [
        ("none", "tls=none"),
        ("may", "tls=unverified tls_version=TLSv1.3"),
        ("may", "tls=none"),
        ("encrypt", "tls=unverified tls_version=TLSv1.3"),
        ("verify", "tls=verified tls_version=TLSv1.3"),
    ] {
        assert!(
            sluice.count(&format!(
                "queue: destination attempted&tls_policy={policy}&{shown}&delivered=1"
            )) >= 1,
            "{policy} {shown}: {}",
            sluice.logs().join("\n")
        );
    }
    let logs = sluice.logs().join("\n");
    assert!(
        logs.contains("does not offer STARTTLS and its TLS policy"),
        "{logs}"
    );
    assert!(
        sluice.count("queue: destination attempted&tls_policy=verify&deferred=1") >= 1,
        "{logs}"
    );
    assert_eq!(
        sluice.count("tls=verified"),
        sluice.count("tls=verified&tls_policy=verify"),
        "only verify is ever shown as verified: {logs}"
    );
}

#[test]
fn a_destination_cap_limits_its_connections_and_a_slow_destination_holds_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let slow = Sink::start(SinkConfig {
        delay: Some(Duration::from_millis(500)),
        ..SinkConfig::default()
    });
    let fast = Sink::start_default();
    let mut entries: Vec<_> = (0..6)
        .map(|i| entry("alice@partner.example", &[&format!("u{i}@slow.example")]))
        .collect();
    entries.push(entry("alice@partner.example", &["v@fast.example"]));
    enqueue(dir.path(), entries);
    let routes = format!(
        "[gateway]\ntls = \"none\"\ndestination_concurrency = 5\n\n{}{}",
        route("slow.example", slow.addr, "concurrency = 2"),
        route("fast.example", fast.addr, ""),
    );
    let sluice = Instance::start(dir.path(), &config(None, "", &routes));
    assert_eq!(fast.wait_for(1, WAIT)[0].rcpt_addrs(), ["v@fast.example"]);
    let all = slow.wait_for(6, WAIT);
    assert_eq!(all.len(), 6);
    assert!(
        sluice.wait_log("queue: attempt recorded&delivered=1&done=true", 7, WAIT),
        "{}",
        sluice.logs().join("\n")
    );
    assert_eq!(
        slow.peak_connections(),
        2,
        "at most the route's concurrency at once"
    );
}

/// A destination that offers STARTTLS but breaks every handshake (it answers 220, then sends
/// bytes that are not TLS and hangs up), and takes mail in clear: the recipients of each message
/// it took, and how many STARTTLS it was asked.
struct BrokenTls {
    addr: SocketAddr,
    taken: std::sync::Arc<std::sync::Mutex<Vec<Vec<String>>>>,
    starttls: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl BrokenTls {
    fn start() -> BrokenTls {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let taken = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let starttls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (t, s) = (taken.clone(), starttls.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut out) = stream else { return };
                let (taken, starttls) = (t.clone(), s.clone());
                std::thread::spawn(move || {
                    let mut lines = BufReader::new(out.try_clone().unwrap()).lines();
                    let _ = out.write_all(b"220 broken ESMTP\r\n");
                    let mut rcpts = Vec::new();
                    while let Some(Ok(line)) = lines.next() {
                        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
                        let reply = match verb.as_str() {
                            "EHLO" => "250-broken\r\n250 STARTTLS",
                            "STAR" => {
                                starttls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                let _ = out.write_all(b"220 go ahead\r\nthis is not TLS\r\n");
                                return;
                            }
                            "RCPT" => {
                                let a = line.split(['<', '>']).nth(1).unwrap_or_default();
                                rcpts.push(a.to_string());
                                "250 ok"
                            }
                            "DATA" => {
                                let _ = out.write_all(b"354 go\r\n");
                                while let Some(Ok(l)) = lines.next() {
                                    if l == "." {
                                        break;
                                    }
                                }
                                taken.lock().unwrap().push(std::mem::take(&mut rcpts));
                                "250 taken"
                            }
                            "QUIT" => "221 bye",
                            _ => "250 ok",
                        };
                        let _ = out.write_all(format!("{reply}\r\n").as_bytes());
                        if verb == "QUIT" {
                            return;
                        }
                    }
                });
            }
        });
        BrokenTls {
            addr,
            taken,
            starttls,
        }
    }
}

#[test]
fn may_sends_in_clear_after_a_failed_handshake_and_encrypt_and_verify_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let broken = BrokenTls::start();
    let routes = [
        route("may.example", broken.addr, "tls = \"may\""),
        route("encrypt.example", broken.addr, "tls = \"encrypt\""),
        route("verify.example", broken.addr, "tls = \"verify\""),
    ]
    .concat();
    enqueue(
        dir.path(),
        vec![entry(
            "alice@partner.example",
            &["a@may.example", "b@encrypt.example", "c@verify.example"],
        )],
    );
    let sluice = Instance::start(dir.path(), &config(None, "", &routes));
    assert!(
        sluice.wait_log("queue: attempt recorded&delivered=1&deferred=2", 1, WAIT),
        "{}",
        sluice.logs().join("\n")
    );
    // Each policy said STARTTLS; only may's message went, in clear, on a new connection.
    assert!(
        broken.starttls.load(std::sync::atomic::Ordering::SeqCst) >= 3,
        "{}",
        sluice.logs().join("\n")
    );
    assert_eq!(*broken.taken.lock().unwrap(), [vec!["a@may.example"]]);
    assert!(sluice.count("TLS to the destination failed; sending in clear") >= 1);
    assert!(
        sluice.count("queue: destination attempted&tls_policy=may&tls=none&delivered=1") >= 1,
        "{}",
        sluice.logs().join("\n")
    );
}
