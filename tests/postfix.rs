//! The seed's functional tests (Table 5) and failover tests against a REAL Postfix in reflecting mode.
//!
//! Each test runs a private Postfix instance (tests/support/postfix.rs) on loopback ports: mail
//! submitted to its main listener goes through `content_filter = smtp:[127.0.0.1]:<sluice>` to Sluice,
//! which reflects it to Postfix's second listener (no filter), whose `smtp` client delivers it to the
//! relay host, a recording sink. Postfix's own queue, retries and bounces are the real thing.
//!
//! The test instance caches its sessions with Sluice (`smtp_connection_cache_destinations`), so Sluice
//! sees several transactions, refusals and RSETs per session, as under load.
//!
//! - Table 5: no policy violated (5 messages, each once, reflected once), block (the sender gets
//!   Postfix's bounce with the configured text), redirect, modify (subject and headers);
//! - failover: Sluice stopped and restarted three times on the same port while mail is submitted
//!   (queued, then delivered once), and Sluice up but its next hop down (4xx: deferred, not bounced);
//! - a block or a redirect ends Sluice's transaction with the resubmission listener cleanly (Postfix
//!   logs no lost connection or warning for it);
//! - the loop itself: a next-hop RCPT refusal bounces only that recipient, a 3 MB body arrives byte
//!   for byte, DSN parameters pass, STARTTLS is mirrored between real Postfix TLS endpoints and an
//!   untrusted certificate defers instead of downgrading.
//!
//! These tests need root and the `postfix` package; without them they fail with the reason.

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use support::client::Client;
use support::postfix::{
    Postfix, PostfixConfig, free_port, reflect_config, reflect_config_with, self_signed,
};
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
        Rig {
            postfix,
            sluice,
            sink,
        }
    }

    /// Waits until Postfix has nothing left to deliver, so no further message can reach the sink.
    fn settle(&self) {
        assert!(
            self.postfix.wait_queue_empty(WAIT),
            "Postfix queue did not drain:\n{}",
            self.postfix.queue_listing()
        );
    }

    /// Sluice ended every transaction with the resubmission listener cleanly (issue 10 item 6): a
    /// refused or redirected message costs that Postfix no aborted transaction ("lost connection
    /// after DATA"), reset or warning.
    fn assert_no_aborted_transaction(&self) {
        let aborted: Vec<String> = self
            .postfix
            .log()
            .lines()
            .filter(|l| {
                l.contains("lost connection")
                    || l.contains("reset by peer")
                    || l.contains("warning:")
            })
            .map(str::to_string)
            .collect();
        assert_eq!(aborted, Vec::<String>::new());
    }

    /// Postfix delivered queue id `qid` for `rcpt` to Sluice over a reused (cached) session: Postfix
    /// logs `conn_use=N` only for those.
    fn assert_reused_session(&self, qid: &str, rcpt: &str) {
        let needle = format!(
            "{qid}: to=<{rcpt}>, relay=127.0.0.1[127.0.0.1]:{}, conn_use=",
            self.sluice.addr.port()
        );
        assert!(
            self.postfix.wait_log(&needle, WAIT),
            "{qid} was not delivered to Sluice over a reused session"
        );
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- Sluice log ----\n{}", self.sluice.logs().join("\n"));
            let summary: Vec<String> = self
                .sink
                .messages()
                .iter()
                .map(|m| {
                    format!(
                        "FROM:{} TO:{:?} Message-ID:{:?}",
                        m.mail_from,
                        m.rcpt_to,
                        m.header("Message-ID")
                    )
                })
                .collect();
            eprintln!("---- sink ----\n{}", summary.join("\n"));
        }
    }
}

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// A Message-ID local part unique across tests and runs.
fn unique(tag: &str) -> String {
    format!(
        "{tag}.{}.{}.{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros()
    )
}

fn message(id: &str, from: &str, to: &str, subject: &str, body: &str) -> String {
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{id}@postfix-test.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{body}\r\n"
    )
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
        submit(
            &rig.postfix,
            "alice@corp.example",
            &to,
            &message(
                id,
                "alice@corp.example",
                &to,
                &format!("Hello {i}"),
                TRICKY_BODY,
            )
            .replace("us-ascii", "utf-8"),
        );
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
        assert_eq!(
            m.headers("X-CFilter-Loop"),
            vec!["Reflected".to_string()],
            "{mid}: handled by Sluice once and only once"
        );
        assert_eq!(m.rcpt_addrs(), vec![format!("bob{i}@partner.example")]);
        assert_eq!(m.mail_from_addr(), "alice@corp.example");
        assert_eq!(m.headers("Subject"), vec![format!("Hello {i}")]);
        assert!(
            m.header("X-dlp-policyid").is_none(),
            "no policy was violated"
        );
        assert_eq!(
            m.body(),
            format!("{TRICKY_BODY}\r\n").as_bytes(),
            "{mid}: the body must arrive byte for byte"
        );
        // All three hops are in the trace: Postfix's main listener, Sluice, then Postfix's
        // resubmission listener.
        assert_eq!(
            m.headers("Received").len(),
            3,
            "{mid}: {:?}",
            m.headers("Received")
        );
    }
    assert_eq!(
        count_log(&rig.sluice, "message relayed", 5),
        5,
        "Sluice relays each message once"
    );
    // Postfix really sent each message through the filter and then to the sink, each at the first try.
    let to_sluice = format!("relay=127.0.0.1[127.0.0.1]:{}, ", rig.sluice.addr.port());
    let to_sink = format!("relay=127.0.0.1[127.0.0.1]:{}, ", rig.sink.addr.port());
    assert_eq!(
        count_postfix_log(&rig.postfix, &to_sluice, 5),
        5,
        "five deliveries to Sluice"
    );
    assert_eq!(
        count_postfix_log(&rig.postfix, &to_sink, 5),
        5,
        "five deliveries to the sink"
    );
    assert_eq!(
        count_postfix_log(&rig.postfix, "status=sent", 10),
        10,
        "every delivery succeeded at the first attempt"
    );
    assert_eq!(rig.postfix.log().matches("status=deferred").count(), 0);
}

#[test]
fn block_policy_bounces_to_the_sender_with_the_configured_text() {
    let rig = Rig::start(
        "[[policy]]\nid = 7\nname = \"Secret keyword\"\nkeywords = [\"secret\"]\naction = \"block\"\nreply = \"Blocked by DLP: contact security@corp.example\"\n",
    );
    let id = unique("block");
    let qid = submit(
        &rig.postfix,
        "alice@corp.example",
        "bob@partner.example",
        &message(
            &id,
            "alice@corp.example",
            "bob@partner.example",
            "Plans",
            "The secret plan is attached.",
        ),
    );
    let got = rig.sink.wait_for(1, WAIT);
    rig.settle();
    assert_eq!(
        rig.sink.messages().len(),
        1,
        "only the bounce reaches the sink"
    );
    let ndr = &got[0];
    assert_eq!(ndr.mail_from_addr(), "", "a bounce has the null sender");
    assert_eq!(
        ndr.rcpt_addrs(),
        vec!["alice@corp.example".to_string()],
        "the bounce goes to the original sender"
    );
    assert!(
        ndr.header("Subject")
            .unwrap_or_default()
            .contains("Undelivered"),
        "{:?}",
        ndr.header("Subject")
    );
    let body = squash(&ndr.body_str());
    for want in [
        "<bob@partner.example>: host 127.0.0.1[127.0.0.1] said: 550 5.7.1 Blocked by DLP: contact security@corp.example",
        "Diagnostic-Code: smtp; 550 5.7.1 Blocked by DLP: contact security@corp.example",
    ] {
        assert!(
            body.contains(want),
            "bounce lacks {want:?}:\n{}",
            ndr.data_str()
        );
    }
    assert!(
        rig.sluice
            .wait_log("message refused", Duration::from_secs(5))
    );
    assert_eq!(
        count_log(&rig.sluice, "message relayed", 0),
        0,
        "Sluice relayed nothing"
    );
    assert!(
        rig.postfix.wait_log(
            &format!(
                "{qid}: to=<bob@partner.example>, relay=127.0.0.1[127.0.0.1]:{}",
                rig.sluice.addr.port()
            ),
            WAIT
        ),
        "Postfix tried {qid} at Sluice"
    );
    assert!(
        rig.postfix.wait_log("dsn=5.7.1, status=bounced", WAIT),
        "Postfix bounced {qid}"
    );
    rig.assert_no_aborted_transaction();

    // A clean message afterwards, over the session Postfix cached with Sluice, still passes.
    let clean = unique("after-block");
    let q = submit(
        &rig.postfix,
        "alice@corp.example",
        "bob@partner.example",
        &message(
            &clean,
            "alice@corp.example",
            "bob@partner.example",
            "Plans",
            "Nothing special.",
        ),
    );
    rig.sink.wait_for(2, WAIT);
    rig.settle();
    let got = rig.sink.messages();
    assert_eq!(got.len(), 2);
    let to_bob: Vec<&Received> = got
        .iter()
        .filter(|m| m.rcpt_addrs().iter().any(|r| r == "bob@partner.example"))
        .collect();
    assert_eq!(
        to_bob.len(),
        1,
        "the original recipient gets only the clean message"
    );
    assert_eq!(
        message_id(to_bob[0]),
        format!("<{clean}@postfix-test.example>")
    );
    assert!(
        got.iter()
            .all(|m| !m.body_str().contains("The secret plan") || m.mail_from_addr().is_empty()),
        "the blocked text reaches nobody but the sender's bounce"
    );
    rig.assert_reused_session(&q, "bob@partner.example");
}

#[test]
fn redirect_policy_delivers_only_to_the_review_address() {
    let rig = Rig::start(
        "[[policy]]\nid = 12\nname = \"Confidential to review\"\nkeywords = [\"confidential\"]\naction = \"redirect\"\nredirect_to = \"review@corp.example\"\n",
    );
    let id = unique("redirect");
    submit_to(
        &rig.postfix,
        "alice@corp.example",
        &["bob@partner.example", "carol@partner.example"],
        &message(
            &id,
            "alice@corp.example",
            "bob@partner.example",
            "Numbers",
            "These figures are confidential.",
        ),
    );
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
    rig.assert_no_aborted_transaction();

    // A clean message afterwards goes to its own recipients, not to the review address.
    let clean = unique("after-redirect");
    let q = submit_to(
        &rig.postfix,
        "alice@corp.example",
        &["bob@partner.example", "carol@partner.example"],
        &message(
            &clean,
            "alice@corp.example",
            "bob@partner.example",
            "Numbers",
            "Nothing special.",
        ),
    );
    rig.sink.wait_for(2, WAIT);
    rig.settle();
    let got = rig.sink.messages();
    assert_eq!(
        got.len(),
        2,
        "{:?}",
        got.iter().map(|m| &m.rcpt_to).collect::<Vec<_>>()
    );
    let second = got
        .iter()
        .find(|m| message_id(m) == format!("<{clean}@postfix-test.example>"))
        .expect("clean message");
    let mut rcpts = second.rcpt_addrs();
    rcpts.sort();
    assert_eq!(
        rcpts,
        vec![
            "bob@partner.example".to_string(),
            "carol@partner.example".to_string()
        ]
    );
    for m in &got {
        let to_originals = m.rcpt_addrs().iter().any(|r| r != "review@corp.example");
        assert_eq!(
            to_originals,
            !m.body_str().contains("confidential"),
            "the redirected message reaches only the review address"
        );
    }
    rig.assert_reused_session(&q, "bob@partner.example");
}

#[test]
fn modify_policy_rewrites_the_subject_and_adds_headers() {
    let rig = Rig::start(
        "[[policy]]\nid = 23\nname = \"Payroll gets encrypted\"\nkeywords = [\"payroll\"]\naction = \"modify\"\nsubject = { mode = \"prepend\", text = \"[DLP] \" }\nheaders = [\"X-CFilter: Encrypt\", \"X-Extra: 1\"]\n",
    );
    let id = unique("modify");
    submit(
        &rig.postfix,
        "alice@corp.example",
        "bob@partner.example",
        &message(
            &id,
            "alice@corp.example",
            "bob@partner.example",
            "Quarterly payroll",
            "The payroll run is on Friday.",
        ),
    );
    rig.sink.wait_for(1, WAIT);
    rig.settle();
    let got = rig.sink.messages();
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(message_id(m), format!("<{id}@postfix-test.example>"));
    assert_eq!(m.rcpt_addrs(), vec!["bob@partner.example".to_string()]);
    assert_eq!(
        m.headers("Subject"),
        vec!["[DLP] Quarterly payroll".to_string()]
    );
    assert_eq!(m.headers("X-CFilter"), vec!["Encrypt".to_string()]);
    assert_eq!(m.headers("X-Extra"), vec!["1".to_string()]);
    assert_eq!(m.headers("X-CFilter-Loop"), vec!["Reflected".to_string()]);
    assert_eq!(m.header("X-dlp-policyid").as_deref(), Some("23"));
    assert!(m.body_str().contains("The payroll run is on Friday."));
}

#[test]
fn recipient_refused_by_the_resubmission_listener_bounces_alone_and_the_cached_session_goes_on() {
    // Postfix keeps its session with Sluice (connection cache, on in the test instance) across messages; the resubmission
    // listener refuses one address at RCPT. Sluice relays that refusal verbatim, Postfix bounces that
    // recipient only, resets the transaction (RSET) and reuses the session for the next message.
    let sink = Sink::start_default();
    let resubmit = free_port();
    let sluice = Sluice::start(&reflect_config("127.0.0.1:0", resubmit, ""));
    let mut cfg = PostfixConfig::new(sluice.addr, sink.addr, resubmit);
    cfg.files.push((
        "refused_rcpts".into(),
        "nobody@partner.example 550 5.1.1 no such user here\n".into(),
    ));
    cfg.resubmit_options.push(
        "smtpd_recipient_restrictions=check_recipient_access,texthash:$config_directory/refused_rcpts"
            .into(),
    );
    let postfix = Postfix::start(&cfg);
    let rig = Rig {
        postfix,
        sluice,
        sink,
    };

    // 1. One good and one refused recipient.
    let m1 = unique("partly-refused");
    submit_to(
        &rig.postfix,
        "alice@corp.example",
        &["carol@partner.example", "nobody@partner.example"],
        &message(
            &m1,
            "alice@corp.example",
            "carol@partner.example",
            "One",
            "first",
        ),
    );
    rig.sink.wait_for(2, WAIT);
    // 2. Only the refused recipient: Postfix aborts the transaction with RSET.
    let m2 = unique("all-refused");
    submit(
        &rig.postfix,
        "alice@corp.example",
        "nobody@partner.example",
        &message(
            &m2,
            "alice@corp.example",
            "nobody@partner.example",
            "Two",
            "second",
        ),
    );
    rig.sink.wait_for(3, WAIT);
    // 3. A good message on the same cached session.
    let m3 = unique("after-refusal");
    let q3 = submit(
        &rig.postfix,
        "alice@corp.example",
        "bob@partner.example",
        &message(
            &m3,
            "alice@corp.example",
            "bob@partner.example",
            "Three",
            "third",
        ),
    );
    rig.sink.wait_for(4, WAIT);
    rig.settle();

    let got = rig.sink.messages();
    assert_eq!(got.len(), 4, "two messages and two bounces");
    let counts = by_message_id(&got);
    for (mid, rcpts) in [
        (&m1, vec!["carol@partner.example"]),
        (&m3, vec!["bob@partner.example"]),
    ] {
        let mid = format!("<{mid}@postfix-test.example>");
        assert_eq!(counts.get(&mid), Some(&1), "{mid} must arrive exactly once");
        let m = got.iter().find(|m| message_id(m) == mid).unwrap();
        assert_eq!(m.rcpt_addrs(), rcpts, "{mid}");
        assert_eq!(m.headers("X-CFilter-Loop"), vec!["Reflected".to_string()]);
    }
    assert!(
        got.iter()
            .all(|m| !m.rcpt_addrs().iter().any(|r| r == "nobody@partner.example")),
        "the refused recipient gets nothing"
    );
    let bounces: Vec<&Received> = got
        .iter()
        .filter(|m| m.mail_from_addr().is_empty())
        .collect();
    assert_eq!(bounces.len(), 2);
    for b in &bounces {
        assert_eq!(b.rcpt_addrs(), vec!["alice@corp.example".to_string()]);
        let body = squash(&b.body_str());
        assert!(
            body.contains("<nobody@partner.example>: host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <nobody@partner.example>: Recipient address rejected: no such user here"),
            "the bounce carries the resubmission listener's own refusal:\n{}",
            b.data_str()
        );
    }
    // The third message really went over the session the refusals happened on.
    rig.assert_reused_session(&q3, "bob@partner.example");
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
    let mut rig = Rig {
        postfix,
        sluice,
        sink,
    };

    // Warm up: one message through the live filter (Postfix then caches its connection to Sluice).
    let warm = unique("warm");
    submit(
        &rig.postfix,
        "alice@corp.example",
        "bob@partner.example",
        &message(
            &warm,
            "alice@corp.example",
            "bob@partner.example",
            "Warm-up",
            "first",
        ),
    );
    rig.sink.wait_for(1, WAIT);
    rig.settle();

    let mut expected = vec![format!("<{warm}@postfix-test.example>")];
    for cycle in 1..=3 {
        let status = rig.sluice.terminate();
        assert!(
            status.is_some(),
            "cycle {cycle}: Sluice did not exit on SIGTERM"
        );
        let before = rig.sink.messages().len();

        let mut qids = Vec::new();
        for i in 0..3 {
            let id = unique(&format!("failover{cycle}-{i}"));
            let to = format!("rcpt{cycle}{i}@partner.example");
            qids.push(submit(
                &rig.postfix,
                "alice@corp.example",
                &to,
                &message(
                    &id,
                    "alice@corp.example",
                    &to,
                    &format!("Cycle {cycle} message {i}"),
                    "queued while the filter is down",
                ),
            ));
            expected.push(format!("<{id}@postfix-test.example>"));
        }
        // Postfix tried the dead filter and deferred each message (block on failure)...
        for q in &qids {
            assert!(
                rig.postfix.wait_log(&format!("{q}: to=<"), WAIT),
                "cycle {cycle}: Postfix never tried {q}"
            );
        }
        // ...and keeps them, retrying, but nothing reaches the sink while Sluice is down.
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(
            rig.sink.messages().len(),
            before,
            "cycle {cycle}: mail passed while the filter was down"
        );
        let queued = rig.postfix.queue_ids();
        for q in &qids {
            assert!(
                queued.contains(q),
                "cycle {cycle}: {q} is not queued:\n{}",
                rig.postfix.queue_listing()
            );
        }
        assert_eq!(
            queued.len(),
            3,
            "cycle {cycle}:\n{}",
            rig.postfix.queue_listing()
        );
        let log = rig.postfix.log();
        for q in &qids {
            let tries: Vec<&str> = log
                .lines()
                .filter(|l| l.contains(&format!("{q}: to=<")))
                .collect();
            assert!(
                !tries.is_empty() && tries.iter().all(|l| l.contains("status=deferred")),
                "cycle {cycle}: {q} must only have been deferred: {tries:?}"
            );
        }

        // A new Sluice on the same port; flush the queue.
        rig.sluice = Sluice::start(&config);
        assert_eq!(rig.sluice.addr.port(), sluice_port);
        rig.postfix.flush();
        rig.sink.wait_for(before + 3, WAIT);
        rig.settle();

        let got = rig.sink.messages();
        let counts = by_message_id(&got);
        assert_eq!(
            got.len(),
            expected.len(),
            "cycle {cycle}: lost or duplicated mail: {counts:?}"
        );
        for mid in &expected {
            assert_eq!(
                counts.get(mid),
                Some(&1),
                "cycle {cycle}: {mid} must have arrived exactly once"
            );
        }
        for m in &got {
            assert_eq!(
                m.headers("X-CFilter-Loop"),
                vec!["Reflected".to_string()],
                "{}",
                message_id(m)
            );
        }
        assert_eq!(
            count_log(&rig.sluice, "message relayed", 3),
            3,
            "cycle {cycle}: the new Sluice relays the three queued messages once each"
        );
    }
}

// ---- DSN parameters through the reflect loop (RFC 3461 / RFC 6533) ----
//
// Postfix passes ORCPT on to the content filter: for a recipient without one it sends its own
// `ORCPT=rfc822;<xtext>` (non-ASCII bytes as `+XX`), and an `ORCPT=utf-8;...` it received (RFC 6533,
// the SMTPUTF8 form) is passed on as is. RFC 3461 4.2: the ORCPT parameter must be relayed unchanged.

#[test]
fn dsn_parameters_survive_the_reflect_loop() {
    let rig = Rig::start("");
    let mut c = Client::connect(rig.postfix.smtp);
    c.ehlo();
    let id = unique("dsn");
    assert_eq!(
        c.cmd("MAIL FROM:<alice@corp.example> RET=HDRS ENVID=env+2Bid.42")
            .code,
        250
    );
    let r = c.cmd("RCPT TO:<bob@partner.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+2BOrig@partner.example");
    assert_eq!(r.code, 250, "{r}");
    let r = c.data(&message(
        &id,
        "alice@corp.example",
        "bob@partner.example",
        "DSN",
        "x",
    ));
    assert_eq!(r.code, 250, "{r}");
    c.quit();
    let got = rig.sink.wait_for(1, WAIT);
    rig.settle();
    assert_eq!(
        rig.sink.messages().len(),
        1,
        "no delivery notice or bounce besides the message"
    );
    let m = &got[0];
    assert!(
        m.mail_from.contains("RET=HDRS") && m.mail_from.contains("ENVID=env+2Bid.42"),
        "{}",
        m.mail_from
    );
    assert_eq!(m.rcpt_to.len(), 1);
    assert!(
        m.rcpt_to[0].contains("NOTIFY=SUCCESS,FAILURE")
            && m.rcpt_to[0].contains("ORCPT=rfc822;Bob+2BOrig@partner.example"),
        "{}",
        m.rcpt_to[0]
    );
}

/// Regression: Postfix's `ORCPT=rfc822;b+C3+A9a@...` for the SMTPUTF8 recipient `béa@...` came out of
/// Sluice as `b+C3+83+C2+A9a` (`bÃ©a`) when it decoded and re-encoded xtext; it is now relayed raw.
#[test]
fn dsn_orcpt_of_a_utf8_recipient_is_relayed_unchanged() {
    let rig = Rig::start("");
    let mut c = Client::connect(rig.postfix.smtp);
    c.ehlo();
    let id = unique("orcpt-utf8");
    assert_eq!(c.cmd("MAIL FROM:<alice@corp.example> SMTPUTF8").code, 250);
    assert_eq!(c.cmd("RCPT TO:<b\u{e9}a@partner.example>").code, 250);
    let r = c.data(&message(
        &id,
        "alice@corp.example",
        "b\u{e9}a@partner.example",
        "UTF-8 recipient",
        "x",
    ));
    assert_eq!(r.code, 250, "{r}");
    c.quit();
    let got = rig.sink.wait_for(1, WAIT);
    rig.settle();
    let m = &got[0];
    assert_eq!(message_id(m), format!("<{id}@postfix-test.example>"));
    assert_eq!(m.rcpt_addrs(), vec!["b\u{e9}a@partner.example".to_string()]);
    assert!(
        m.rcpt_to[0].ends_with("ORCPT=rfc822;b+C3+A9a@partner.example"),
        "Postfix sent ORCPT=rfc822;b+C3+A9a@partner.example to Sluice; the next hop got: {}",
        m.rcpt_to[0]
    );
}

/// Regression: an RFC 6533 `ORCPT=utf-8;...` that Postfix passes on was refused by Sluice with
/// "555 5.5.4" at RCPT (smtp-proto 0.2 only knows the addr-type rfc822), so Postfix bounced a
/// deliverable recipient. Sluice now relays ENVID and ORCPT raw.
#[test]
fn dsn_orcpt_of_type_utf8_does_not_bounce_the_recipient() {
    let rig = Rig::start("");
    let mut c = Client::connect(rig.postfix.smtp);
    c.ehlo();
    let id = unique("orcpt-type-utf8");
    assert_eq!(c.cmd("MAIL FROM:<alice@corp.example> SMTPUTF8").code, 250);
    let r = c.cmd("RCPT TO:<c\u{e9}a@partner.example> ORCPT=utf-8;c\u{e9}a@partner.example");
    assert_eq!(r.code, 250, "Postfix accepts it: {r}");
    let r = c.data(&message(
        &id,
        "alice@corp.example",
        "c\u{e9}a@partner.example",
        "UTF-8 ORCPT",
        "x",
    ));
    assert_eq!(r.code, 250, "{r}");
    c.quit();
    let got = rig.sink.wait_for(1, WAIT);
    rig.settle();
    let got_all = rig.sink.messages();
    let bounces: Vec<String> = got_all
        .iter()
        .filter(|m| m.mail_from_addr().is_empty())
        .map(|m| squash(&m.body_str()))
        .collect();
    assert!(bounces.is_empty(), "the recipient was bounced: {bounces:?}");
    let m = &got[0];
    assert_eq!(message_id(m), format!("<{id}@postfix-test.example>"));
    assert_eq!(m.rcpt_addrs(), vec!["c\u{e9}a@partner.example".to_string()]);
    // RFC 6533 allows the value as UTF-8 or as utf-8-addr-xtext; Postfix picks per hop.
    assert!(
        m.rcpt_to[0].contains("ORCPT=utf-8;c\u{e9}a@partner.example")
            || m.rcpt_to[0].contains("ORCPT=utf-8;c\\x{E9}a@partner.example"),
        "{}",
        m.rcpt_to[0]
    );
}

#[test]
fn failover_resubmission_listener_unreachable_defers_and_nothing_bounces() {
    // Sluice up, but its next hop (the reflect target) down: Sluice must answer 4xx so that Postfix
    // keeps the mail (block on failure); a later Sluice with a reachable next hop delivers it once.
    let sink = Sink::start_default();
    let resubmit = free_port();
    let dead = free_port();
    let sluice_port = free_port();
    let listen = format!("127.0.0.1:{sluice_port}");
    let sluice = Sluice::start(&reflect_config(&listen, dead, ""));
    let postfix = Postfix::start(&PostfixConfig::new(sluice.addr, sink.addr, resubmit));
    let mut rig = Rig {
        postfix,
        sluice,
        sink,
    };

    let mut expected = Vec::new();
    let mut qids = Vec::new();
    for i in 0..2 {
        let id = unique(&format!("nexthop-down{i}"));
        let to = format!("rcpt{i}@partner.example");
        qids.push(submit(
            &rig.postfix,
            "alice@corp.example",
            &to,
            &message(&id, "alice@corp.example", &to, "Next hop down", "x"),
        ));
        expected.push(format!("<{id}@postfix-test.example>"));
    }
    for q in &qids {
        let needle = format!("{q}: to=<");
        assert!(
            rig.postfix.wait_log(&needle, WAIT),
            "Postfix never tried {q}"
        );
    }
    let log = rig.postfix.log();
    for q in &qids {
        let line = log
            .lines()
            .find(|l| l.contains(&format!("{q}: to=<")))
            .unwrap();
        // Either Sluice's own 4xx ("relay=127.0.0.1[127.0.0.1]:<sluice>, ... said: 451 ...") or, once
        // Postfix has throttled the destination after it, "delivery temporarily suspended: host
        // 127.0.0.1[127.0.0.1] said: 451 ...".
        assert!(
            line.contains("status=deferred") && line.contains("127.0.0.1[127.0.0.1] said: 4"),
            "Sluice must answer 4xx: {line}"
        );
    }
    assert!(rig.sluice.wait_log("no next hop for MAIL", WAIT));
    assert!(
        log.contains(&format!("relay=127.0.0.1[127.0.0.1]:{sluice_port}, ")),
        "Postfix talked to Sluice"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        rig.sink.messages().is_empty(),
        "nothing delivered and nothing bounced while the next hop is down"
    );
    assert!(!rig.postfix.log().contains("status=bounced"));
    assert_eq!(
        rig.postfix.queue_ids().len(),
        2,
        "{}",
        rig.postfix.queue_listing()
    );

    rig.sluice.terminate();
    rig.sluice = Sluice::start(&reflect_config(&listen, resubmit, ""));
    rig.postfix.flush();
    rig.sink.wait_for(2, WAIT);
    rig.settle();
    let got = rig.sink.messages();
    let counts = by_message_id(&got);
    assert_eq!(got.len(), 2, "{counts:?}");
    for mid in &expected {
        assert_eq!(counts.get(mid), Some(&1), "{mid} must arrive exactly once");
    }
}

#[test]
fn a_large_message_passes_the_loop_intact() {
    let rig = Rig::start(
        "[[policy]]\nid = 1\nname = \"never matches\"\nkeywords = [\"zyxwvut-never\"]\naction = \"block\"\nreply = \"no\"\n",
    );
    // About 3 MB of lines of varying length, many starting with a dot, so line ends, dot-stuffing and
    // read-buffer boundaries fall everywhere.
    let mut body = String::new();
    let mut i = 0usize;
    while body.len() < 3_000_000 {
        let len = (i * 7919) % 990;
        let lead = if i.is_multiple_of(3) { "." } else { "" };
        body.push_str(lead);
        body.push_str(&format!("{i:08}"));
        body.push_str(&"abcdefghij".repeat(len / 10));
        body.push_str("\r\n");
        i += 1;
    }
    body.push_str("end");
    let id = unique("large");
    submit(
        &rig.postfix,
        "alice@corp.example",
        "bob@partner.example",
        &message(
            &id,
            "alice@corp.example",
            "bob@partner.example",
            "Large",
            &body,
        ),
    );
    let got = rig.sink.wait_for(1, WAIT);
    rig.settle();
    let m = &got[0];
    assert_eq!(message_id(m), format!("<{id}@postfix-test.example>"));
    assert!(
        m.body() == format!("{body}\r\n").as_bytes(),
        "the body changed on the way ({} bytes in, {} out)",
        body.len() + 2,
        m.body().len()
    );
    assert_eq!(rig.sink.messages().len(), 1);
}

/// The reflect loop with TLS on both Sluice hops: Postfix's smtp client uses STARTTLS to Sluice
/// (`smtp_tls_security_level = may`), so Sluice (`relay.starttls = "mirror"`) must use STARTTLS to the
/// resubmission listener and verify its certificate.
fn tls_rig(trust_resubmission_cert: bool) -> (Rig, u16, tempfile::TempDir) {
    let sink = Sink::start_default();
    let resubmit = free_port();
    let (cert, key) = self_signed(&["127.0.0.1", "localhost"]);
    let anchors = tempfile::tempdir().unwrap();
    let anchor = anchors.path().join("resubmit.pem");
    let other = if trust_resubmission_cert {
        cert.clone()
    } else {
        self_signed(&["127.0.0.1"]).0
    };
    std::fs::write(&anchor, other).unwrap();
    let sluice_port = free_port();
    let relay_extra = format!("trust_anchors = [\"{}\"]", anchor.display());
    let sluice = Sluice::start(&reflect_config_with(
        &format!("127.0.0.1:{sluice_port}"),
        resubmit,
        &relay_extra,
        "",
    ));
    let mut cfg = PostfixConfig::new(sluice.addr, sink.addr, resubmit);
    cfg.files.push(("resubmit.pem".into(), cert));
    cfg.files.push(("resubmit.key".into(), key));
    for o in [
        "smtpd_tls_security_level=may",
        "smtpd_tls_cert_file=$config_directory/resubmit.pem",
        "smtpd_tls_key_file=$config_directory/resubmit.key",
        "smtpd_tls_received_header=yes",
        "smtpd_tls_loglevel=1",
    ] {
        cfg.resubmit_options.push(o.into());
    }
    cfg.main_extra.push("smtp_tls_security_level = may".into());
    cfg.main_extra.push("smtp_tls_loglevel = 1".into());
    let postfix = Postfix::start(&cfg);
    (
        Rig {
            postfix,
            sluice,
            sink,
        },
        sluice_port,
        anchors,
    )
}

#[test]
fn starttls_is_mirrored_through_the_loop_between_real_postfix_tls_endpoints() {
    let (rig, sluice_port, _anchors) = tls_rig(true);
    let id = unique("tls");
    submit(
        &rig.postfix,
        "alice@corp.example",
        "bob@partner.example",
        &message(
            &id,
            "alice@corp.example",
            "bob@partner.example",
            "TLS",
            "over TLS twice",
        ),
    );
    let got = rig.sink.wait_for(1, WAIT);
    rig.settle();
    let m = &got[0];
    assert_eq!(message_id(m), format!("<{id}@postfix-test.example>"));
    assert_eq!(m.headers("X-CFilter-Loop"), vec!["Reflected".to_string()]);
    assert!(
        rig.postfix.wait_log(
            &format!("TLS connection established to 127.0.0.1[127.0.0.1]:{sluice_port}"),
            WAIT
        ),
        "Postfix used STARTTLS to Sluice"
    );
    assert!(
        rig.sluice.wait_log("tls=true", WAIT),
        "Sluice used STARTTLS to the next hop"
    );
    // The resubmission listener's Received header (the newest, first) records the TLS session.
    let received = m.headers("Received");
    assert!(
        received[0].contains("from sluice.test")
            && received[0].contains("using TLS")
            && received[0].contains("with ESMTPS"),
        "{received:?}"
    );
    assert_eq!(rig.sink.messages().len(), 1);
}

#[test]
fn starttls_to_an_untrusted_resubmission_listener_defers_and_never_downgrades() {
    let (rig, sluice_port, _anchors) = tls_rig(false);
    let id = unique("tls-untrusted");
    let q = submit(
        &rig.postfix,
        "alice@corp.example",
        "bob@partner.example",
        &message(
            &id,
            "alice@corp.example",
            "bob@partner.example",
            "TLS",
            "must not go in clear",
        ),
    );
    assert!(rig.postfix.wait_log(
        &format!("{q}: to=<bob@partner.example>, relay=127.0.0.1[127.0.0.1]:{sluice_port}"),
        WAIT
    ));
    let log = rig.postfix.log();
    let line = log
        .lines()
        .find(|l| l.contains(&format!("{q}: to=<bob@partner.example>")))
        .unwrap();
    assert!(
        line.contains("status=deferred") && line.contains("said: 451 4.7.5"),
        "{line}"
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        rig.sink.messages().is_empty(),
        "neither delivered in clear nor bounced"
    );
    assert_eq!(rig.postfix.queue_ids(), vec![q]);
}
