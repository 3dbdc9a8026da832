//! The seed's functional tests (Table 5) and failover tests against a REAL Postfix in reflecting mode.
//!
//! Each test runs a private Postfix instance (tests/support/postfix.rs) on loopback ports: mail
//! submitted to its main listener goes through `content_filter = smtp:[127.0.0.1]:<sluice>` to Sluice,
//! which reflects it to Postfix's second listener (no filter), whose `smtp` client delivers it to the
//! relay host, a recording sink. Postfix's own queue, retries and bounces are the real thing.
//!
//! These tests need root and the `postfix` package; without them they fail with the reason.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::client::Client;
use support::postfix::{Postfix, PostfixConfig, free_port, reflect_config};
use support::sink::{Received, Sink};
use support::sluice::Sluice;

const WAIT: Duration = Duration::from_secs(20);

/// Sink, Sluice and Postfix wired together. Dropped in field order: Postfix stops first.
struct Rig {
    postfix: Postfix,
    sluice: Sluice,
    sink: Sink,
}

impl Rig {
    /// A reflecting Sluice with these `[[policy]]` tables, between a private Postfix and a sink.
    fn start(policies: &str) -> Rig {
        let sink = Sink::start_default();
        let resubmit = free_port();
        let sluice = Sluice::start(&reflect_config("127.0.0.1:0", resubmit, policies));
        let postfix = Postfix::start(&PostfixConfig::new(sluice.addr, sink.addr, resubmit));
        Rig { postfix, sluice, sink }
    }

    /// Waits until Postfix has nothing left to deliver, so no further message can reach the sink.
    fn settle(&self) {
        assert!(self.postfix.wait_queue_empty(WAIT), "Postfix queue did not drain:\n{}", self.postfix.queue_listing());
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- Sluice log ----\n{}", self.sluice.logs().join("\n"));
            let summary: Vec<String> = self.sink.messages().iter().map(|m| format!("FROM:{} TO:{:?} Message-ID:{:?}", m.mail_from, m.rcpt_to, m.header("Message-ID"))).collect();
            eprintln!("---- sink ----\n{}", summary.join("\n"));
        }
    }
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A Message-ID local part unique across tests and runs.
fn unique(tag: &str) -> String {
    format!("{tag}.{}.{}.{}", std::process::id(), SEQ.fetch_add(1, Ordering::SeqCst), std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros())
}

fn message(id: &str, from: &str, to: &str, subject: &str, body: &str) -> String {
    format!("From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{id}@postfix-test.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{body}\r\n")
}

/// Submits one message to Postfix's main listener; returns Postfix's queue id.
fn submit(pf: &Postfix, from: &str, to: &str, msg: &str) -> String {
    submit_to(pf, from, &[to], msg)
}

fn submit_to(pf: &Postfix, from: &str, to: &[&str], msg: &str) -> String {
    let mut c = Client::connect(pf.smtp);
    c.ehlo();
    let r = c.send(from, to, msg);
    assert_eq!(r.code, 250, "Postfix refused the submission: {r}");
    c.quit();
    r.text.rsplit(' ').next().unwrap_or_default().to_string()
}

fn message_id(m: &Received) -> String {
    m.header("Message-ID").unwrap_or_default()
}

/// How many sink messages carry each Message-ID.
fn by_message_id(msgs: &[Received]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for m in msgs {
        *counts.entry(message_id(m)).or_insert(0) += 1;
    }
    counts
}

fn squash(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Waits until at least `n` Sluice log lines contain `needle`; returns how many do.
fn count_log(sluice: &Sluice, needle: &str, n: usize) -> usize {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let c = sluice.logs().iter().filter(|l| l.contains(needle)).count();
        if c >= n || Instant::now() > end {
            return c;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `needle` occurs at least `n` times in Postfix's log (postlogd writes asynchronously);
/// returns how often it does.
fn count_postfix_log(pf: &Postfix, needle: &str, n: usize) -> usize {
    let end = Instant::now() + Duration::from_secs(5);
    loop {
        let c = pf.log().matches(needle).count();
        if c >= n || Instant::now() > end {
            return c;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A body that exercises transparency: leading dots (dot-stuffing both ways), 8-bit UTF-8 text, a long
/// line and trailing blanks.
const TRICKY_BODY: &str = ".hidden line\r\n..two dots\r\n.\r\nGr\u{fc}\u{df}e aus K\u{f6}ln \u{2014} caf\u{e9}\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\ntrailing blanks   \r\nNothing to see here.";

#[test]
fn no_policy_violated_each_message_arrives_once_and_is_reflected_once() {
    let rig = Rig::start("");
    let ids: Vec<String> = (0..5).map(|i| unique(&format!("clean{i}"))).collect();
    for (i, id) in ids.iter().enumerate() {
        let to = format!("bob{i}@partner.example");
        submit(&rig.postfix, "alice@corp.example", &to, &message(id, "alice@corp.example", &to, &format!("Hello {i}"), TRICKY_BODY).replace("us-ascii", "utf-8"));
    }
    rig.sink.wait_for(5, WAIT);
    rig.settle();
    let got = rig.sink.messages();
    assert_eq!(got.len(), 5, "each message must arrive exactly once");
    let counts = by_message_id(&got);
    for (i, id) in ids.iter().enumerate() {
        let mid = format!("<{id}@postfix-test.example>");
        assert_eq!(counts.get(&mid), Some(&1), "{mid} must arrive exactly once");
        let m = got.iter().find(|m| message_id(m) == mid).unwrap();
        assert_eq!(m.headers("X-CFilter-Loop"), vec!["Reflected".to_string()], "{mid}: handled by Sluice once and only once");
        assert_eq!(m.rcpt_addrs(), vec![format!("bob{i}@partner.example")]);
        assert_eq!(m.mail_from_addr(), "alice@corp.example");
        assert_eq!(m.headers("Subject"), vec![format!("Hello {i}")]);
        assert!(m.header("X-dlp-policyid").is_none(), "no policy was violated");
        assert_eq!(m.body(), format!("{TRICKY_BODY}\r\n").as_bytes(), "{mid}: the body must arrive byte for byte");
        // Postfix's two hops are both in the trace: main listener, then the resubmission listener.
        assert_eq!(m.headers("Received").len(), 2, "{mid}: {:?}", m.headers("Received"));
    }
    assert_eq!(count_log(&rig.sluice, "message relayed", 5), 5, "Sluice relays each message once");
    // Postfix really sent each message through the filter and then to the sink, each at the first try.
    let to_sluice = format!("relay=127.0.0.1[127.0.0.1]:{}, ", rig.sluice.addr.port());
    let to_sink = format!("relay=127.0.0.1[127.0.0.1]:{}, ", rig.sink.addr.port());
    assert_eq!(count_postfix_log(&rig.postfix, &to_sluice, 5), 5, "five deliveries to Sluice");
    assert_eq!(count_postfix_log(&rig.postfix, &to_sink, 5), 5, "five deliveries to the sink");
    assert_eq!(count_postfix_log(&rig.postfix, "status=sent", 10), 10, "every delivery succeeded at the first attempt");
    assert_eq!(rig.postfix.log().matches("status=deferred").count(), 0);
}

#[test]
fn block_policy_bounces_to_the_sender_with_the_configured_text() {
    let rig = Rig::start(
        "[[policy]]\nid = 7\nname = \"Secret keyword\"\nkeywords = [\"secret\"]\naction = \"block\"\nreply = \"Blocked by DLP: contact security@corp.example\"\n",
    );
    let id = unique("block");
    let qid = submit(&rig.postfix, "alice@corp.example", "bob@partner.example", &message(&id, "alice@corp.example", "bob@partner.example", "Plans", "The secret plan is attached."));
    let got = rig.sink.wait_for(1, WAIT);
    rig.settle();
    assert_eq!(rig.sink.messages().len(), 1, "only the bounce reaches the sink");
    let ndr = &got[0];
    assert_eq!(ndr.mail_from_addr(), "", "a bounce has the null sender");
    assert_eq!(ndr.rcpt_addrs(), vec!["alice@corp.example".to_string()], "the bounce goes to the original sender");
    assert!(ndr.header("Subject").unwrap_or_default().contains("Undelivered"), "{:?}", ndr.header("Subject"));
    let body = squash(&ndr.body_str());
    for want in ["<bob@partner.example>: host 127.0.0.1[127.0.0.1] said: 550 5.7.1 Blocked by DLP: contact security@corp.example", "Diagnostic-Code: smtp; 550 5.7.1 Blocked by DLP: contact security@corp.example"] {
        assert!(body.contains(want), "bounce lacks {want:?}:\n{}", ndr.data_str());
    }
    assert!(rig.sluice.wait_log("message refused", Duration::from_secs(5)));
    assert_eq!(count_log(&rig.sluice, "message relayed", 0), 0, "Sluice relayed nothing");
    assert!(rig.postfix.wait_log(&format!("{qid}: to=<bob@partner.example>, relay=127.0.0.1[127.0.0.1]:{}", rig.sluice.addr.port()), WAIT), "Postfix tried {qid} at Sluice");
    assert!(rig.postfix.wait_log("dsn=5.7.1, status=bounced", WAIT), "Postfix bounced {qid}");

    // A clean message afterwards (Postfix may reuse its cached connection to Sluice) still passes.
    let clean = unique("after-block");
    submit(&rig.postfix, "alice@corp.example", "bob@partner.example", &message(&clean, "alice@corp.example", "bob@partner.example", "Plans", "Nothing special."));
    rig.sink.wait_for(2, WAIT);
    rig.settle();
    let got = rig.sink.messages();
    assert_eq!(got.len(), 2);
    let to_bob: Vec<&Received> = got.iter().filter(|m| m.rcpt_addrs().iter().any(|r| r == "bob@partner.example")).collect();
    assert_eq!(to_bob.len(), 1, "the original recipient gets only the clean message");
    assert_eq!(message_id(to_bob[0]), format!("<{clean}@postfix-test.example>"));
    assert!(got.iter().all(|m| !m.body_str().contains("The secret plan") || m.mail_from_addr().is_empty()), "the blocked text reaches nobody but the sender's bounce");
}

#[test]
fn redirect_policy_delivers_only_to_the_review_address() {
    let rig = Rig::start(
        "[[policy]]\nid = 12\nname = \"Confidential to review\"\nkeywords = [\"confidential\"]\naction = \"redirect\"\nredirect_to = \"review@corp.example\"\n",
    );
    let id = unique("redirect");
    submit_to(&rig.postfix, "alice@corp.example", &["bob@partner.example", "carol@partner.example"], &message(&id, "alice@corp.example", "bob@partner.example", "Numbers", "These figures are confidential."));
    rig.sink.wait_for(1, WAIT);
    rig.settle();
    let got = rig.sink.messages();
    assert_eq!(got.len(), 1, "exactly one copy, for the review address");
    let m = &got[0];
    assert_eq!(message_id(m), format!("<{id}@postfix-test.example>"));
    assert_eq!(m.rcpt_addrs(), vec!["review@corp.example".to_string()]);
    assert_eq!(m.mail_from_addr(), "alice@corp.example");
    assert_eq!(m.headers("X-CFilter-Loop"), vec!["Reflected".to_string()]);
    assert_eq!(m.header("X-dlp-policyid").as_deref(), Some("12"));
    assert!(m.header("X-dlp-uniquemsgid").is_some());
    assert_eq!(count_log(&rig.sluice, "message relayed", 1), 1);

    // A clean message afterwards goes to its own recipients, not to the review address.
    let clean = unique("after-redirect");
    submit_to(&rig.postfix, "alice@corp.example", &["bob@partner.example", "carol@partner.example"], &message(&clean, "alice@corp.example", "bob@partner.example", "Numbers", "Nothing special."));
    rig.sink.wait_for(2, WAIT);
    rig.settle();
    let got = rig.sink.messages();
    assert_eq!(got.len(), 2, "{:?}", got.iter().map(|m| &m.rcpt_to).collect::<Vec<_>>());
    let second = got.iter().find(|m| message_id(m) == format!("<{clean}@postfix-test.example>")).expect("clean message");
    let mut rcpts = second.rcpt_addrs();
    rcpts.sort();
    assert_eq!(rcpts, vec!["bob@partner.example".to_string(), "carol@partner.example".to_string()]);
    for m in &got {
        let to_originals = m.rcpt_addrs().iter().any(|r| r != "review@corp.example");
        assert_eq!(to_originals, !m.body_str().contains("confidential"), "the redirected message reaches only the review address");
    }
}

#[test]
fn modify_policy_rewrites_the_subject_and_adds_headers() {
    let rig = Rig::start(
        "[[policy]]\nid = 23\nname = \"Payroll gets encrypted\"\nkeywords = [\"payroll\"]\naction = \"modify\"\nsubject = { mode = \"prepend\", text = \"[DLP] \" }\nheaders = [\"X-CFilter: Encrypt\", \"X-Extra: 1\"]\n",
    );
    let id = unique("modify");
    submit(&rig.postfix, "alice@corp.example", "bob@partner.example", &message(&id, "alice@corp.example", "bob@partner.example", "Quarterly payroll", "The payroll run is on Friday."));
    rig.sink.wait_for(1, WAIT);
    rig.settle();
    let got = rig.sink.messages();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(message_id(m), format!("<{id}@postfix-test.example>"));
    assert_eq!(m.rcpt_addrs(), vec!["bob@partner.example".to_string()]);
    assert_eq!(m.headers("Subject"), vec!["[DLP] Quarterly payroll".to_string()]);
    assert_eq!(m.headers("X-CFilter"), vec!["Encrypt".to_string()]);
    assert_eq!(m.headers("X-Extra"), vec!["1".to_string()]);
    assert_eq!(m.headers("X-CFilter-Loop"), vec!["Reflected".to_string()]);
    assert_eq!(m.header("X-dlp-policyid").as_deref(), Some("23"));
    assert!(m.body_str().contains("The payroll run is on Friday."));
}

#[test]
fn failover_mail_stays_queued_while_sluice_is_down_and_is_delivered_once_after_restart() {
    let sink = Sink::start_default();
    let resubmit = free_port();
    let sluice_port = free_port();
    let listen = format!("127.0.0.1:{sluice_port}");
    let config = reflect_config(&listen, resubmit, "");
    let sluice = Sluice::start(&config);
    assert_eq!(sluice.addr.port(), sluice_port);
    let postfix = Postfix::start(&PostfixConfig::new(sluice.addr, sink.addr, resubmit));
    let mut rig = Rig { postfix, sluice, sink };

    // Warm up: one message through the live filter (Postfix then caches its connection to Sluice).
    let warm = unique("warm");
    submit(&rig.postfix, "alice@corp.example", "bob@partner.example", &message(&warm, "alice@corp.example", "bob@partner.example", "Warm-up", "first"));
    rig.sink.wait_for(1, WAIT);
    rig.settle();

    let mut expected = vec![format!("<{warm}@postfix-test.example>")];
    for cycle in 1..=3 {
        let status = rig.sluice.terminate();
        assert!(status.is_some(), "cycle {cycle}: Sluice did not exit on SIGTERM");
        let before = rig.sink.messages().len();

        let mut qids = Vec::new();
        for i in 0..3 {
            let id = unique(&format!("failover{cycle}-{i}"));
            let to = format!("rcpt{cycle}{i}@partner.example");
            qids.push(submit(&rig.postfix, "alice@corp.example", &to, &message(&id, "alice@corp.example", &to, &format!("Cycle {cycle} message {i}"), "queued while the filter is down")));
            expected.push(format!("<{id}@postfix-test.example>"));
        }
        // Postfix tried the dead filter and deferred each message (block on failure)...
        for q in &qids {
            assert!(rig.postfix.wait_log(&format!("{q}: to=<"), WAIT), "cycle {cycle}: Postfix never tried {q}");
        }
        // ...and keeps them, retrying, but nothing reaches the sink while Sluice is down.
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(rig.sink.messages().len(), before, "cycle {cycle}: mail passed while the filter was down");
        let queued = rig.postfix.queue_ids();
        for q in &qids {
            assert!(queued.contains(q), "cycle {cycle}: {q} is not queued:\n{}", rig.postfix.queue_listing());
        }
        assert_eq!(queued.len(), 3, "cycle {cycle}:\n{}", rig.postfix.queue_listing());
        assert!(rig.postfix.log().contains(&format!("{}: to=<", qids[0])) && rig.postfix.log().contains("status=deferred"), "cycle {cycle}: no deferral logged");

        // A new Sluice on the same port; flush the queue.
        rig.sluice = Sluice::start(&config);
        assert_eq!(rig.sluice.addr.port(), sluice_port);
        rig.postfix.flush();
        rig.sink.wait_for(before + 3, WAIT);
        rig.settle();

        let got = rig.sink.messages();
        let counts = by_message_id(&got);
        assert_eq!(got.len(), expected.len(), "cycle {cycle}: lost or duplicated mail: {counts:?}");
        for mid in &expected {
            assert_eq!(counts.get(mid), Some(&1), "cycle {cycle}: {mid} must have arrived exactly once");
        }
        for m in &got {
            assert_eq!(m.headers("X-CFilter-Loop"), vec!["Reflected".to_string()], "{}", message_id(m));
        }
        assert_eq!(count_log(&rig.sluice, "message relayed", 3), 3, "cycle {cycle}: the new Sluice relays the three queued messages once each");
    }
}
