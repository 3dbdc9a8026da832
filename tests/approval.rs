//! The manager-approval workflow end to end through the real binary: a policy holds the message, the
//! approver gets a notice with signed links, following a link (GET shows, POST decides) approves or
//! rejects once, the sender is told, and with no decision the message goes back to its sender after
//! the expiry (the clock is shifted, not waited for). Also: quarantine -> CLI release -> delivered
//! once, a second release refused, and the released message is not held again when it comes back.

mod support;

use std::time::{Duration, Instant};

use mail_parser::MessageParser;
use sluice::store::records::HeldStatus;
use sluice::store::{Store, held};
use support::client::Client;
use support::https::{get, post};
use support::sink::{Received, Sink};
use support::sluice::{Sluice, forward_config};

const WAIT: Duration = Duration::from_secs(15);

const POLICIES: &str = r#"
[notifications]
admin = ["secops@corp.example"]

[approval]
sweep_interval = "1s"

[[policy]]
id = 700
name = "Customer lists need a manager"
severity = "high"
action = "approval"
approvers = ["boss@corp.example"]
notify = ["admin"]
keywords = ["customer list"]

[[policy]]
id = 710
name = "Falcon is quarantined"
action = "quarantine"
keywords = ["falcon"]
"#;

fn start(sink: &Sink, extra: &str, env: &[(&str, &str)]) -> Sluice {
    Sluice::start_with_env(
        &forward_config(&[sink.addr], &format!("{POLICIES}\n{extra}")),
        env,
    )
}

fn send(sluice: &Sluice, subject: &str, body: &str) -> support::client::Reply {
    let msg = format!(
        "From: <alice@corp.example>\r\nTo: <bob@partner.example>\r\nSubject: {subject}\r\nMessage-ID: <{subject}@corp.example>\r\n\r\n{body}\r\n"
    );
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send("alice@corp.example", &["bob@partner.example"], &msg);
    c.quit();
    r
}

/// Waits for a message at the sink matching `pred`.
fn wait_for(sink: &Sink, what: &str, pred: impl Fn(&Received) -> bool) -> Received {
    let end = Instant::now() + WAIT;
    loop {
        if let Some(m) = sink.messages().into_iter().find(|m| pred(m)) {
            return m;
        }
        assert!(
            Instant::now() < end,
            "no {what} arrived; the sink has {:?}",
            sink.messages()
                .iter()
                .map(|m| (m.header("X-Sluice-Notice"), m.rcpt_to.clone()))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn notice(sink: &Sink, kind: &str, to: &str) -> Received {
    wait_for(sink, kind, |m| {
        m.header("X-Sluice-Notice").as_deref() == Some(kind)
            && m.rcpt_to.iter().any(|r| r.contains(to))
    })
}

/// The decoded text part of a notice.
fn text_of(m: &Received) -> String {
    let parsed = MessageParser::default()
        .parse(&m.data)
        .expect("a notice that parses");
    parsed.body_text(0).expect("a text part").into_owned()
}

/// The approval links in a notice's text, in order (approve first, then reject).
fn links(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter(|w| w.contains("/approval/"))
        .map(|w| {
            let w = w.trim_matches(|c: char| c == '<' || c == '>');
            w[w.find("/approval/").unwrap()..].to_string()
        })
        .collect()
}

fn held_status(sluice: &Sluice, id: u64) -> HeldStatus {
    let s = Store::open(
        &sluice.dir.path().join("data/store"),
        &sluice::config::Config::embedded()
            .unwrap()
            .store
            .store_options(),
    )
    .unwrap();
    s.read(|txn| held::must_get(txn, sluice::store::records::HeldId(id)))
        .unwrap()
        .status
}

#[test]
fn approve_delivers_once_and_tells_the_sender() {
    let sink = Sink::start_default();
    let sluice = start(&sink, "", &[]);
    let r = send(&sluice, "q3-export", "attached is the customer list for Q3");
    assert_eq!(r.code, 250, "{r}");
    assert!(r.text.contains("held as 1 pending approval"), "{r}");

    // The approver's notice, from the null sender, with both links and the metatags filled.
    let request = notice(&sink, "approval_request", "boss@corp.example");
    assert_eq!(request.mail_from_addr(), "");
    let text = text_of(&request);
    assert!(text.contains("alice@corp.example"), "{text}");
    assert!(text.contains("q3-export"), "{text}");
    assert!(text.contains("Customer lists need a manager"), "{text}");
    assert!(!text.contains("${"), "an unexpanded metatag: {text}");
    let all = links(&text);
    assert_eq!(all.len(), 2, "{text}");
    let (approve, reject) = (&all[0], &all[1]);
    assert_ne!(approve, reject);
    // The admin notice the policy asked for.
    let admin = notice(&sink, "admin_violation", "secops@corp.example");
    let admin_text = text_of(&admin);
    assert!(
        admin_text.contains("held in quarantine until an approver decides"),
        "{admin_text}"
    );

    // GET shows the page and does not decide.
    let page = get(&sluice, approve);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("q3-export"));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !sink
            .messages()
            .iter()
            .any(|m| m.header("Subject").as_deref() == Some("q3-export"))
    );
    assert_eq!(held_status(&sluice, 1), HeldStatus::AwaitingApproval);

    // A reject link cannot be turned into an approval.
    let wrong = post(&sluice, reject, "decision=approve");
    assert_ne!(wrong.status, 200);

    let done = post(&sluice, approve, "decision=approve");
    assert_eq!(done.status, 200, "{}", done.body);
    let delivered = wait_for(&sink, "the approved message", |m| {
        m.header("Subject").as_deref() == Some("q3-export")
    });
    assert_eq!(delivered.rcpt_to.len(), 1);
    assert!(delivered.rcpt_to[0].contains("bob@partner.example"));
    assert_eq!(delivered.mail_from_addr(), "alice@corp.example");
    assert!(delivered.header("X-Sluice-Release").is_some());
    let told = notice(&sink, "approved", "alice@corp.example");
    assert!(!text_of(&told).contains("${"));

    // Single use: the same link, or the other one, finds it decided.
    let again = post(&sluice, approve, "decision=approve");
    assert_eq!(again.status, 409, "{}", again.body);
    let late = post(&sluice, reject, "decision=reject");
    assert_eq!(late.status, 409, "{}", late.body);
    std::thread::sleep(Duration::from_millis(500));
    let copies = sink
        .messages()
        .iter()
        .filter(|m| m.header("Subject").as_deref() == Some("q3-export"))
        .count();
    assert_eq!(copies, 1, "delivered more than once");
    assert_eq!(held_status(&sluice, 1), HeldStatus::Released);
}

#[test]
fn reject_deletes_and_tells_the_sender() {
    let sink = Sink::start_default();
    let sluice = start(&sink, "", &[]);
    assert_eq!(send(&sluice, "rejected-one", "the customer list").code, 250);
    let request = notice(&sink, "approval_request", "boss@corp.example");
    let all = links(&text_of(&request));
    let r = post(&sluice, &all[1], "decision=reject");
    assert_eq!(r.status, 200, "{}", r.body);
    let told = notice(&sink, "rejected", "alice@corp.example");
    let text = text_of(&told);
    assert!(text.contains("rejected by a moderator"), "{text}");
    assert!(text.contains("bob@partner.example"), "{text}");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !sink
            .messages()
            .iter()
            .any(|m| m.header("Subject").as_deref() == Some("rejected-one"))
    );
    assert_eq!(held_status(&sluice, 1), HeldStatus::Rejected);
}

#[test]
fn no_decision_returns_the_message_to_its_sender() {
    let sink = Sink::start_default();
    let clock = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(clock.path(), "0").unwrap();
    let env = [("SLUICE_CLOCK_OFFSET_FILE", clock.path().to_str().unwrap())];
    let sluice = start(&sink, "", &env);
    assert_eq!(
        send(&sluice, "nobody-decides", "the customer list").code,
        250
    );
    let request = notice(&sink, "approval_request", "boss@corp.example");
    let all = links(&text_of(&request));
    // Two days and a minute later (the default expiry is two days).
    std::fs::write(clock.path(), (2 * 86_400 + 60).to_string()).unwrap();
    let back = notice(&sink, "expired", "alice@corp.example");
    let text = text_of(&back);
    assert!(text.contains("no decision was made"), "{text}");
    // The original comes back attached.
    assert!(
        back.data_str().contains("Subject: nobody-decides"),
        "{}",
        back.data_str()
    );
    assert_eq!(held_status(&sluice, 1), HeldStatus::Expired);
    // The links are dead now.
    let r = post(&sluice, &all[0], "decision=approve");
    assert!(
        r.status == 410 || r.status == 409,
        "{} {}",
        r.status,
        r.body
    );
    assert!(
        !sink
            .messages()
            .iter()
            .any(|m| m.header("Subject").as_deref() == Some("nobody-decides"))
    );
}

#[test]
fn cli_release_while_serving_delivers_once_and_a_second_release_is_refused() {
    let sink = Sink::start_default();
    let sluice = start(&sink, "", &[]);
    let r = send(&sluice, "falcon-plan", "the falcon plan");
    assert!(r.text.contains("held as 1 for review"), "{r}");
    let (code, out, err) =
        sluice.cli(&["quarantine", "release", "1", "--tag", "X-CFilter: Encrypt"]);
    assert_eq!(code, 0, "{out}{err}");
    let got = wait_for(&sink, "the released message", |m| {
        m.header("Subject").as_deref() == Some("falcon-plan")
    });
    assert_eq!(got.header("X-CFilter").as_deref(), Some("Encrypt"));
    let (code, out, err) = sluice.cli(&["quarantine", "release", "1"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("already released"),
        "{out}{err}"
    );

    // The released copy comes back through Sluice (as in reflecting mode): it passes, not held again.
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let again = c.send(
        "alice@corp.example",
        &["bob@partner.example"],
        &got.data_str(),
    );
    c.quit();
    assert_eq!(again.code, 250, "{again}");
    assert!(!again.text.contains("held"), "{again}");
    // A forged mark does not get the same pass.
    let forged = got
        .data_str()
        .replace("X-Sluice-Release: 1;", "X-Sluice-Release: 1;0");
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send("alice@corp.example", &["bob@partner.example"], &forged);
    c.quit();
    assert!(r.text.contains("held as"), "{r}");
    std::thread::sleep(Duration::from_millis(500));
    let copies = sink
        .messages()
        .iter()
        .filter(|m| m.header("Subject").as_deref() == Some("falcon-plan"))
        .count();
    assert_eq!(
        copies, 2,
        "the release, then the pass-through of the marked copy"
    );
}

#[test]
fn the_senders_manager_from_the_imported_csv_is_asked() {
    let sink = Sink::start_default();
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("managers.csv");
    std::fs::write(
        &csv,
        "sender,manager\nalice@corp.example,lead@corp.example\n",
    )
    .unwrap();
    let policies = POLICIES.replace(
        "[approval]\n",
        &format!("[approval]\nmanagers_file = \"{}\"\n", csv.display()),
    );
    let extra = "[[policy]]\nid = 720\nname = \"Budgets\"\naction = \"approval\"\napprovers = [\"manager\"]\nkeywords = [\"budget\"]\n";
    let config = forward_config(&[sink.addr], &format!("{policies}\n{extra}"));
    let sluice = Sluice::start(&config);
    let r = send(&sluice, "budget-2027", "the budget draft");
    assert!(r.text.contains("pending approval"), "{r}");
    let request = notice(&sink, "approval_request", "lead@corp.example");
    assert_eq!(links(&text_of(&request)).len(), 2);
}

/// The approval request notice sent to the boss for the message with this subject.
fn request_for(sink: &Sink, subject: &str) -> Vec<String> {
    let m = wait_for(sink, "the approval request", |m| {
        m.header("X-Sluice-Notice").as_deref() == Some("approval_request")
            && text_of(m).contains(subject)
    });
    links(&text_of(&m))
}

#[test]
fn after_a_restore_a_link_from_before_it_never_decides_another_message() {
    let sink = Sink::start_default();
    let sluice = start(&sink, "", &[]);
    let r = send(&sluice, "kept-one", "the customer list, kept");
    assert!(r.text.contains("held as 1 pending approval"), "{r}");
    let kept = request_for(&sink, "kept-one");
    let backup = sluice.dir.path().join("backup.sbk");
    let (code, _, err) = sluice.cli(&["backup", backup.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    // Held after the backup: the restore forgets it, but its links are out there.
    let r = send(&sluice, "forgotten", "the customer list, forgotten");
    assert!(r.text.contains("held as 2 pending approval"), "{r}");
    let forgotten = request_for(&sink, "forgotten");
    let (code, _, err) = sluice.cli(&["restore", backup.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    // A new message after the restore never gets the forgotten one's number.
    let r = send(&sluice, "newcomer", "the customer list, new");
    assert_eq!(r.code, 250, "{r}");
    assert!(
        !r.text.contains("held as 2 "),
        "an id was handed out again: {r}"
    );

    // The forgotten message's links find nothing, and decide nothing.
    let shown = get(&sluice, &forgotten[0]);
    assert_eq!(shown.status, 404, "{}", shown.body);
    assert!(!shown.body.contains("newcomer"));
    let r = post(&sluice, &forgotten[0], "decision=approve");
    assert_eq!(r.status, 404, "{}", r.body);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !sink
            .messages()
            .iter()
            .any(|m| m.header("Subject").as_deref() == Some("newcomer")),
        "an old link released a different message"
    );

    // The message the backup kept is still decided by its own link.
    let r = post(&sluice, &kept[0], "decision=approve");
    assert_eq!(r.status, 200, "{}", r.body);
    wait_for(&sink, "the approved message", |m| {
        m.header("Subject").as_deref() == Some("kept-one")
    });
}
