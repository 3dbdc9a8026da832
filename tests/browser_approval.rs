//! The approval pages in a real browser (Debian's chromium through playwright-core; see
//! `tests/support/browser.rs`): an approver opens the approve link from a real approval notice,
//! sees the held message, submits and sees the decision, and the message reaches the sink; the
//! reject link works with JavaScript turned off; the pages trip no Content-Security-Policy rule
//! of their own, while the CSP blocks inline script put into them; axe-core finds no serious or
//! critical violation on any of them. One chromium for the file (one scenario script:
//! `tests/browser/approval.mjs`); screenshots in `target/ui-screenshots/approval-*.png`.

mod support;

use std::time::{Duration, Instant};

use mail_parser::MessageParser;
use support::browser;
use support::client::Client;
use support::sink::{Received, Sink};
use support::sluice::{Sluice, forward_config};

const WAIT: Duration = Duration::from_secs(15);

const POLICIES: &str = r#"
[approval]
sweep_interval = "1s"

[[policy]]
id = 700
name = "Customer lists need a manager"
severity = "high"
action = "approval"
approvers = ["boss@corp.example"]
keywords = ["customer list"]
"#;

fn send(sluice: &Sluice, subject: &str) {
    let msg = format!(
        "From: <alice@corp.example>\r\nTo: <bob@partner.example>\r\nSubject: {subject}\r\n\
         Message-ID: <{subject}@corp.example>\r\n\r\nHi Bob, the customer list for {subject}.\r\n"
    );
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send("alice@corp.example", &["bob@partner.example"], &msg);
    c.quit();
    assert!(r.text.contains("pending approval"), "{r}");
}

/// Waits until the sink has a message matching `pred`.
fn wait_for(sink: &Sink, what: &str, pred: impl Fn(&Received) -> bool) -> Received {
    let end = Instant::now() + WAIT;
    loop {
        if let Some(m) = sink.messages().into_iter().find(|m| pred(m)) {
            return m;
        }
        assert!(Instant::now() < end, "no {what} reached the sink");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn notice_text(m: &Received) -> String {
    let parsed = MessageParser::default().parse(&m.data).expect("a notice");
    parsed.body_text(0).expect("a text part").into_owned()
}

/// The (approve, reject) links of the approval request for `subject`, pointed at the admin server
/// (the notice's links start with the configured `public_url`).
fn links_for(sink: &Sink, sluice: &Sluice, subject: &str) -> (String, String) {
    let notice = wait_for(sink, "approval request", |m| {
        m.header("X-Sluice-Notice").as_deref() == Some("approval_request")
            && notice_text(m).contains(subject)
    });
    let text = notice_text(&notice);
    let links: Vec<String> = text
        .split_whitespace()
        .filter_map(|w| w.find("/approval/").map(|i| w[i..].trim_end_matches('>')))
        .map(|path| format!("{}{path}", browser::admin_url(sluice)))
        .collect();
    assert_eq!(links.len(), 2, "{text}");
    (links[0].clone(), links[1].clone())
}

fn delivered(sink: &Sink, subject: &str) -> bool {
    sink.messages().iter().any(|m| {
        m.header("X-Sluice-Notice").is_none()
            && m.rcpt_to.iter().any(|r| r.contains("bob@partner.example"))
            && m.header("Subject").as_deref() == Some(subject)
    })
}

#[test]
fn an_approver_decides_in_a_real_browser_with_and_without_javascript() {
    let Some(browser) = browser::require() else {
        return;
    };
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], POLICIES));
    send(&sluice, "q3-approve");
    send(&sluice, "q3-reject");
    let (approve, _) = links_for(&sink, &sluice, "q3-approve");
    let (_, reject) = links_for(&sink, &sluice, "q3-reject");

    let out = browser
        .scenario("approval", &sluice)
        .env("SLUICE_APPROVE_URL", approve)
        .env("SLUICE_APPROVE_SUBJECT", "q3-approve")
        .env("SLUICE_REJECT_URL", reject)
        .env("SLUICE_REJECT_SUBJECT", "q3-reject")
        .run();

    // What the browser did, carried out by the server: the approved message reaches its recipient
    // once, with the approver's comment in the sender's notice; the rejected one never does.
    wait_for(&sink, "approved message", |_| {
        delivered(&sink, "q3-approve")
    });
    let told = wait_for(&sink, "approved notice", |m| {
        m.header("X-Sluice-Notice").as_deref() == Some("approved")
    });
    assert!(
        notice_text(&told).contains("looks fine from the browser"),
        "{}",
        notice_text(&told)
    );
    wait_for(&sink, "rejected notice", |m| {
        m.header("X-Sluice-Notice").as_deref() == Some("rejected")
    });
    assert!(!delivered(&sink, "q3-reject"));
    let copies = sink
        .messages()
        .iter()
        .filter(|m| m.header("Subject").as_deref() == Some("q3-approve"))
        .count();
    assert_eq!(copies, 1);
    assert!(
        out.screenshots.len() >= 5,
        "every page visited is screenshotted: {:?}",
        out.screenshots
    );
    for shot in &out.screenshots {
        let len = std::fs::metadata(shot).map(|m| m.len()).unwrap_or(0);
        assert!(len > 1000, "{} is empty", shot.display());
    }
    assert_eq!(out.result("csp_probe_ran"), &serde_json::json!(false));
}
