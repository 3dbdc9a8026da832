//! The facts in notices and on the approval page, through the real binary: the administrator's
//! notice for a held message names its incidents and quarantine id, the approval request names an
//! unnamed policy and rule once, the expiry notice says when the approval lapsed, the approval
//! page previews the body and lists the attachments as escaped text (or not, when turned off), and
//! the approver's comment reaches the incidents' history and the sender's notice.

mod support;

use std::time::{Duration, Instant};

use mail_parser::MessageParser;
use sluice::store::{Store, held, incidents};
use support::client::Client;
use support::https::{get, post};
use support::sink::{Received, Sink};
use support::sluice::{Sluice, forward_config};

const WAIT: Duration = Duration::from_secs(15);

/// `[approval]` stays open for a test's extra keys; then a policy without a name whose rule is the keyword shorthand (no name either).
const POLICIES: &str = r#"
[notifications]
admin = ["secops@corp.example"]

[approval]
sweep_interval = "1s"
"#;

const POLICY: &str = r#"
[[policy]]
id = 3
action = "approval"
approvers = ["boss@corp.example"]
notify = ["admin"]
keywords = ["customer list"]
"#;

const MESSAGE: &str = "From: <alice@corp.example>\r\nTo: <bob@partner.example>\r\n\
Subject: q3-list\r\nMessage-ID: <q3-list@corp.example>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/html\r\n\r\n\
<p>Hi Bob, the <b>customer list</b> &amp; more</p><img src=\"https://tracker.example/x.png\">\r\n\
--b1\r\nContent-Type: text/plain; name=\"<script>alert(1)</script>.txt\"\r\n\
Content-Disposition: attachment; filename=\"<script>alert(1)</script>.txt\"\r\n\r\n\
column a,column b\r\n--b1--\r\n";

fn start(sink: &Sink, extra: &str, env: &[(&str, &str)]) -> Sluice {
    Sluice::start_with_env(
        &forward_config(&[sink.addr], &format!("{POLICIES}{extra}\n{POLICY}")),
        env,
    )
}

fn send(sluice: &Sluice) {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send("alice@corp.example", &["bob@partner.example"], MESSAGE);
    c.quit();
    assert!(r.text.contains("held as 1 pending approval"), "{r}");
}

fn notice(sink: &Sink, kind: &str, to: &str) -> Received {
    let end = Instant::now() + WAIT;
    loop {
        if let Some(m) = sink.messages().into_iter().find(|m| {
            m.header("X-Sluice-Notice").as_deref() == Some(kind)
                && m.rcpt_to.iter().any(|r| r.contains(to))
        }) {
            return m;
        }
        assert!(Instant::now() < end, "no {kind} notice to {to}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text_of(m: &Received) -> String {
    let parsed = MessageParser::default().parse(&m.data).expect("a notice");
    parsed.body_text(0).expect("a text part").into_owned()
}

fn links(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| w.contains("/approval/"))
        .map(|w| w[w.find("/approval/").unwrap()..].to_string())
        .collect()
}

/// The line of `text` that starts with `label`, without it.
fn line<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} line in {text}"))
}

#[test]
fn notices_name_incidents_quarantine_id_policy_and_rule() {
    let sink = Sink::start_default();
    let sluice = start(&sink, "", &[]);
    send(&sluice);
    let admin = text_of(&notice(&sink, "admin_violation", "secops@corp.example"));
    let incident = line(&admin, "Incident: ");
    assert!(
        !incident.is_empty() && incident.split(", ").all(|i| i.parse::<u64>().is_ok()),
        "{admin}"
    );
    assert_eq!(line(&admin, "Quarantine ID: "), "1", "{admin}");
    let request = text_of(&notice(&sink, "approval_request", "boss@corp.example"));
    assert!(
        request.contains("Policy \"policy 3\", rule 1: "),
        "{request}"
    );
    assert!(!request.contains("rule \"conditions\""), "{request}");
    assert!(!request.contains("\"policy 3 rule"), "{request}");
}

#[test]
fn the_expiry_notice_says_when_the_approval_lapsed() {
    let sink = Sink::start_default();
    let clock = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(clock.path(), "0").unwrap();
    let env = [("SLUICE_CLOCK_OFFSET_FILE", clock.path().to_str().unwrap())];
    let sluice = start(&sink, "", &env);
    send(&sluice);
    notice(&sink, "approval_request", "boss@corp.example");
    std::fs::write(clock.path(), (2 * 86_400 + 60).to_string()).unwrap();
    let text = text_of(&notice(&sink, "expired", "alice@corp.example"));
    let before = text
        .split("no approver decided before ")
        .nth(1)
        .unwrap_or_else(|| panic!("{text}"));
    // The rest of that sentence: the date, then the full stop.
    let date = before.lines().next().unwrap().trim_end();
    assert!(
        date.ends_with(" +0000.") && date.len() > 20,
        "an RFC 5322 date: {text}"
    );
}

#[test]
fn the_approval_page_previews_the_body_and_lists_attachments_escaped() {
    let sink = Sink::start_default();
    let sluice = start(&sink, "", &[]);
    send(&sluice);
    let request = text_of(&notice(&sink, "approval_request", "boss@corp.example"));
    let approve = links(&request)[0].clone();
    let page = get(&sluice, &approve);
    assert_eq!(page.status, 200, "{}", page.body);
    let body = &page.body;
    assert!(body.contains("Message text"), "{body}");
    assert!(
        body.contains("Hi Bob, the customer list &amp; more"),
        "{body}"
    );
    assert!(body.contains("Attachments"), "{body}");
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt;.txt"),
        "{body}"
    );
    assert!(!body.contains("<script>"), "{body}");
    assert!(!body.contains("<img"), "{body}");
    assert!(!body.contains("tracker.example"), "{body}");
    assert!(body.contains("name=\"comment\""), "{body}");

    // The decision with a comment: history and the sender's notice carry it.
    let form = "decision=approve&comment=%3Cscript%3Ex%3C%2Fscript%3E+fine%0D%0Aby+me";
    let done = post(&sluice, &approve, form);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(!done.body.contains("<script>"), "{}", done.body);
    let told = text_of(&notice(&sink, "approved", "alice@corp.example"));
    assert!(
        told.contains("Comment from the approver: <script>x</script> fine  by me"),
        "{told}"
    );
    let store = Store::open(
        &sluice.dir.path().join("data/store"),
        &sluice::config::Config::embedded()
            .unwrap()
            .store
            .store_options(),
    )
    .unwrap();
    let h = store
        .read(|txn| held::must_get(txn, sluice::store::records::HeldId(1)))
        .unwrap();
    let history = store
        .read(|txn| incidents::history(txn, h.incidents[0]))
        .unwrap();
    let comment = history.iter().find(|e| e.action == "comment").unwrap();
    assert_eq!(
        comment.result,
        "approver's comment: <script>x</script> fine  by me"
    );
}

#[test]
fn the_preview_can_be_turned_off() {
    let sink = Sink::start_default();
    let sluice = start(&sink, "preview = false", &[]);
    send(&sluice);
    let request = text_of(&notice(&sink, "approval_request", "boss@corp.example"));
    let page = get(&sluice, &links(&request)[0]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("q3-list"), "{}", page.body);
    assert!(!page.body.contains("Message text"), "{}", page.body);
    assert!(!page.body.contains("customer list &amp;"), "{}", page.body);
    assert!(!page.body.contains("alert(1)"), "{}", page.body);
}
