//! What happens to a held message after it is let go, through the real binary: a released
//! message's recipients follow their delivery (delivered, bounced, deferred) in `quarantine show`,
//! and eviction at the quarantine cap is logged and counted (`quarantine stats`).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use support::client::Client;
use support::sink::{Sink, SinkConfig};
use support::sluice::{Sluice, forward_config};

const WAIT: Duration = Duration::from_secs(15);

const POLICIES: &str = r#"
[queue]
retry = ["1h"]

[[policy]]
id = 710
name = "Falcon is quarantined"
action = "quarantine"
keywords = ["falcon"]
"#;

fn send(sluice: &Sluice, subject: &str, to: &[&str]) -> support::client::Reply {
    let msg = format!(
        "From: <alice@corp.example>\r\nTo: <bob@partner.example>\r\nSubject: {subject}\r\nMessage-ID: <{subject}@corp.example>\r\n\r\nthe falcon plan\r\n"
    );
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send("alice@corp.example", to, &msg);
    c.quit();
    r
}

/// The status `quarantine show ID --json` gives each recipient.
fn recipient_statuses(sluice: &Sluice, id: &str) -> Vec<(String, String)> {
    let (code, out, err) = sluice.cli(&["quarantine", "show", id, "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    v["held"]["recipients"]
        .as_array()
        .expect("recipients")
        .iter()
        .map(|r| {
            (
                r["address"].as_str().unwrap_or_default().to_string(),
                r["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Waits until every recipient's status is out of "released" (the queue recorded an outcome).
fn settled(sluice: &Sluice, id: &str) -> Vec<(String, String)> {
    let end = Instant::now() + WAIT;
    loop {
        let got = recipient_statuses(sluice, id);
        if got.iter().all(|(_, s)| s != "released") || Instant::now() > end {
            return got;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_released_messages_recipients_follow_the_delivery_outcome() {
    // The next hop takes every recipient while the message arrives (RCPT is answered in step with
    // it), and refuses two of them once the message is released.
    let refusing = Arc::new(AtomicBool::new(false));
    let flag = refusing.clone();
    let sink = Sink::start(SinkConfig {
        rcpt_reply: Arc::new(move |a: &str| {
            if !flag.load(Ordering::SeqCst) {
                return None;
            }
            match a {
                "gone@partner.example" => Some("550 5.1.1 No such user".into()),
                "busy@partner.example" => Some("451 4.2.1 Mailbox busy".into()),
                _ => None,
            }
        }),
        ..SinkConfig::default()
    });
    let sluice = Sluice::start(&forward_config(&[sink.addr], POLICIES));
    let r = send(
        &sluice,
        "falcon-plan",
        &[
            "bob@partner.example",
            "gone@partner.example",
            "busy@partner.example",
        ],
    );
    assert!(r.text.contains("held as 1 for review"), "{r}");
    refusing.store(true, Ordering::SeqCst);
    let (code, out, err) = sluice.cli(&["quarantine", "release", "1"]);
    assert_eq!(code, 0, "{out}{err}");
    let got = settled(&sluice, "1");
    assert_eq!(
        got,
        [
            ("bob@partner.example".to_string(), "delivered".to_string()),
            ("gone@partner.example".to_string(), "bounced".to_string()),
            ("busy@partner.example".to_string(), "deferred".to_string()),
        ]
    );
    // The table shows the same.
    let (_, table, _) = sluice.cli(&["quarantine", "show", "1"]);
    assert!(table.contains("bounced"), "{table}");
    assert!(table.contains("deferred"), "{table}");
    assert!(table.contains("delivered"), "{table}");
}

#[test]
fn eviction_at_the_quarantine_cap_is_logged_and_counted() {
    let sink = Sink::start_default();
    let config = forward_config(
        &[sink.addr],
        &format!("{POLICIES}\n[quarantine]\nmax_messages = 2\n"),
    );
    let sluice = Sluice::start(&config);
    for n in 1..=3 {
        let r = send(&sluice, &format!("falcon-{n}"), &["bob@partner.example"]);
        assert!(r.text.contains(&format!("held as {n} for review")), "{r}");
    }
    assert!(sluice.wait_log("oldest held message evicted", WAIT));
    let line = sluice.log_line("oldest held message evicted").unwrap();
    assert!(line.contains("quarantine_id=1"), "{line}");
    assert!(line.contains("quarantine.max_messages"), "{line}");
    assert!(!line.contains("falcon"), "no content in the log: {line}");
    assert_eq!(sluice.count_logs("oldest held message evicted"), 1);

    let (code, out, err) = sluice.cli(&["quarantine", "stats"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("evicted        1"), "{out}");
    assert!(out.contains("quarantined    3"), "{out}");
    assert!(out.contains("held_messages  2"), "{out}");
    let (code, out, err) = sluice.cli(&["quarantine", "stats", "--json"]);
    assert_eq!(code, 0, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(v["evicted"], 1);
}
