//! The detection engine in the proxy, end to end through the real binary: identifiers inside nested
//! attachments, file rules by true type, container limits, rule joins and exceptions, the shipped
//! default policy set, and logs that name policies but never the matched values.

mod support;

use std::time::Duration;

use support::client::{Client, Reply};
use support::mime::{with_attachment, zip_of};
use support::sink::Sink;
use support::sluice::Sluice;

const WAIT: Duration = Duration::from_secs(5);
const CARD: &str = "4111 1111 1111 1111";

const CARDS_OUT: &str = r#"
[inspection]
internal_domains = ["corp.example"]

[[policy]]
id = 100
name = "Cards going out"
severity = "high"
action = "block"
reply = "Card numbers may not leave the company"

[[policy.rule]]
name = "a card number, outbound"
conditions = [{ identifier = "CREDIT_CARD" }, { direction = "outbound" }]

[[policy.exception]]
conditions = [{ subject = ["*[payments-approved]*"] }]
"#;

#[test]
fn a_card_number_in_a_zip_in_a_zip_is_blocked_and_the_log_never_shows_it() {
    let (sink, sluice) = start(CARDS_OUT);
    let inner = zip_of(&[(
        "cards/list.txt",
        format!("customer card {CARD} exp 12/29").as_bytes(),
    )]);
    let outer = zip_of(&[("inner.zip", &inner)]);
    let r = send(
        &sluice,
        &with_attachment("files", "see attached", "export.zip", &outer),
    );
    assert_eq!(
        (r.code, r.text.as_str()),
        (550, "5.7.1 Card numbers may not leave the company")
    );
    assert!(sluice.wait_log("policy violation", WAIT));
    let logs = sluice.logs().join("\n");
    assert!(logs.contains("100:block"), "{logs}");
    assert!(
        logs.contains(
            "policy 100 rule \"a card number, outbound\": CREDIT_CARD/medium x1 in attachment:export.zip/inner.zip/cards/list.txt"
        ),
        "the log says which rule, detector, how often and where: {logs}"
    );
    assert!(
        !logs.contains("4111"),
        "matched values never reach the log: {logs}"
    );
    assert!(sink.messages().is_empty());
}

#[test]
fn exceptions_and_rule_conditions_let_legitimate_mail_through() {
    let (sink, sluice) = start(CARDS_OUT);
    // The exception holds.
    let m = with_attachment(
        "refund [payments-approved]",
        &format!("card {CARD}"),
        "a.txt",
        b"x",
    );
    assert_eq!(send(&sluice, &m).code, 250);
    // Not outbound: the rule's second condition fails.
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let m = with_attachment("internal", &format!("card {CARD}"), "a.txt", b"x");
    assert_eq!(c.send("a@corp.example", &["c@corp.example"], &m).code, 250);
    c.quit();
    // A Luhn-failing number is not a card.
    let m = with_attachment("order", "order 4111 1111 1111 1112 shipped", "a.txt", b"x");
    assert_eq!(send(&sluice, &m).code, 250);
    assert_eq!(sink.wait_for(3, WAIT).len(), 3);
}

#[test]
fn executables_are_found_by_true_type_whatever_their_name() {
    let (sink, sluice) = start(
        r#"
[[policy]]
id = 170
name = "Executables"
action = "block"
reply = "Executable attachments are not accepted"
[[policy.rule]]
conditions = [{ file_type = ["exe", "elf"] }]
"#,
    );
    let mut elf = b"\x7fELF\x02\x01\x01\x00".to_vec();
    elf.extend_from_slice(&[0u8; 120]);
    let disguised = zip_of(&[("holiday-photo.jpg", &elf)]);
    let r = send(
        &sluice,
        &with_attachment("photos", "enjoy", "photos.zip", &disguised),
    );
    assert_eq!(r.code, 550, "{r}");
    let r = send(
        &sluice,
        &with_attachment("notes", "fyi", "notes.zip", &zip_of(&[("a.txt", b"hello")])),
    );
    assert_eq!(r.code, 250, "{r}");
    assert_eq!(sink.wait_for(1, WAIT).len(), 1);
}

#[test]
fn a_zip_bomb_is_a_finding_not_a_crash() {
    let (sink, sluice) = start(
        r#"
[[policy]]
id = 160
name = "Uninspectable"
action = "modify"
headers = ["X-Sluice-Uninspectable: yes"]
[[policy.rule]]
conditions = [{ limit_exceeded = true }]
"#,
    );
    let zeros = vec![0u8; 20 << 20];
    let bomb = zip_of(&[("zeros.bin", &zeros)]);
    assert!(
        bomb.len() < 100_000,
        "a 20 MiB entry compresses to {} bytes",
        bomb.len()
    );
    let r = send(&sluice, &with_attachment("bomb", "hi", "bomb.zip", &bomb));
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, WAIT);
    assert_eq!(
        got[0].header("X-Sluice-Uninspectable").as_deref(),
        Some("yes")
    );
    // Still serving.
    let r = send(&sluice, &with_attachment("after", "hi", "a.txt", b"fine"));
    assert_eq!(r.code, 250);
}

#[test]
fn the_shipped_default_policy_set_runs_in_the_proxy() {
    let set = include_str!("../assets/policies/default.toml");
    let (sink, sluice) = start(set);
    let key = "-----BEGIN RSA PRIVATE KEY-----\r\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\r\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\r\n-----END RSA PRIVATE KEY-----";
    let r = send(
        &sluice,
        &with_attachment("deploy", "the key:", "id_rsa.txt", key.as_bytes()),
    );
    assert_eq!(r.code, 550, "credentials are blocked: {r}");
    let r = send(
        &sluice,
        &with_attachment("pay", &format!("card {CARD}"), "a.txt", b"x"),
    );
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, WAIT);
    assert_eq!(got[0].header("X-Sluice-DLP").as_deref(), Some("PCI"));
    assert_eq!(got[0].header("X-dlp-policyid").as_deref(), Some("100"));
}

fn start(policies: &str) -> (Sink, Sluice) {
    support::sluice::start_forwarding(policies)
}

fn send(sluice: &Sluice, message: &str) -> Reply {
    support::client::send_one(sluice.addr, message)
}
