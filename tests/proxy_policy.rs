//! End-to-end tests of policies through the real binary: block, redirect, modify, violation tags,
//! MIME-encoded content, envelope conditions, combinations, trial and monitor mode, loop detection.

mod support;

use std::time::Duration;

use support::client::{Client, Reply, message};
use support::sink::{Received, Sink};
use support::sluice::{Sluice, forward_config};

const WAIT: Duration = Duration::from_secs(5);
const FROM: &str = "a@corp.example";
const TO: &str = "b@partner.example";

/// A sink and a Sluice forwarding to it with these policies (and other top-level tables).
/// The message as relayed without Sluice's own `Received:` field, which must be on top.
fn past_trace(m: &Received) -> String {
    let text = m.data_str();
    assert!(text.starts_with("Received: from "), "{text}");
    let mut lines = text.split_inclusive("\r\n").skip(1).peekable();
    while lines.next_if(|l| l.starts_with('\t')).is_some() {}
    lines.collect()
}

fn start(extra: &str) -> (Sink, Sluice) {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], extra));
    (sink, sluice)
}

fn session(sluice: &Sluice) -> Client {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    c
}

/// Sends a clean message on the same session and waits until the sink has it: afterwards
/// `sink.messages()` shows everything the session delivered before (a next-hop connection is one
/// ordered stream, and an aborted one never carried a complete message), so "nothing else was
/// delivered" can be asserted without sleeping.
fn barrier(c: &mut Client, sink: &Sink) -> Vec<Received> {
    let before = sink.messages().len();
    let r = c.send(FROM, &[TO], &message("barrier", "nothing to see"));
    assert_eq!(r.code, 250, "barrier message: {r}");
    let all = sink.wait_for(before + 1, WAIT);
    assert_eq!(
        all.last().unwrap().header("Subject").as_deref(),
        Some("barrier")
    );
    all
}

fn is_guid(s: &str) -> bool {
    regex::Regex::new(r"^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$")
        .unwrap()
        .is_match(s)
}

fn assert_tagged(m: &Received, policy_id: &str) {
    let ids = m.headers("X-dlp-uniquemsgid");
    assert_eq!(
        ids.len(),
        1,
        "exactly one X-dlp-uniquemsgid: {}",
        m.data_str()
    );
    assert!(
        is_guid(&ids[0]),
        "X-dlp-uniquemsgid is not an upper-case GUID: {:?}",
        ids[0]
    );
    assert_eq!(m.headers("X-dlp-policyid"), [policy_id], "{}", m.data_str());
}

fn assert_untagged(m: &Received) {
    assert_eq!(m.header("X-dlp-uniquemsgid"), None, "{}", m.data_str());
    assert_eq!(m.header("X-dlp-policyid"), None, "{}", m.data_str());
}

const BLOCK_SECRET: &str = r#"
[[policy]]
id = 7
name = "Confidential"
keywords = ["secret"]
action = "block"
reply = "Blocked: confidential content (policy 7)"
"#;

#[test]
fn block_policy_refuses_with_550_5_7_1_and_the_configured_text_and_relays_nothing() {
    let (sink, sluice) = start(BLOCK_SECRET);
    let mut c = session(&sluice);
    let r = c.send(
        FROM,
        &[TO],
        &message("Quarterly numbers", "this is SECRET, do not share"),
    );
    assert_eq!(
        r,
        Reply {
            code: 550,
            text: "5.7.1 Blocked: confidential content (policy 7)".into()
        }
    );
    let all = barrier(&mut c, &sink);
    assert_eq!(
        all.len(),
        1,
        "the blocked message must not reach the next hop"
    );
    assert_untagged(&all[0]);
    c.quit();
}

#[test]
fn redirect_policy_delivers_only_to_the_review_address_and_tags_the_message() {
    let (sink, sluice) = start(
        r#"
[[policy]]
id = 8
keywords = ["falcon"]
action = "redirect"
redirect_to = "review@corp.example"
"#,
    );
    let mut c = session(&sluice);
    let r = c.send(
        FROM,
        &[TO, "c@partner.example"],
        &message("Project Falcon", "see attached"),
    );
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_addrs(), ["review@corp.example"]);
    assert_eq!(got[0].mail_from_addr(), FROM);
    assert_eq!(got[0].header("Subject").as_deref(), Some("Project Falcon"));
    assert_tagged(&got[0], "8");
    c.quit();
}

#[test]
fn modify_policies_edit_the_subject_exactly_and_add_headers_once() {
    let (sink, sluice) = start(
        r#"
[[policy]]
id = 1
keywords = ["alpha"]
action = "modify"
subject = { mode = "prepend", text = "[DLP] " }
headers = ["X-CFilter: Encrypt"]

[[policy]]
id = 2
keywords = ["bravo"]
action = "modify"
subject = { mode = "append", text = " [checked]" }

[[policy]]
id = 3
keywords = ["charlie"]
action = "modify"
subject = { mode = "replace", text = "Redacted subject" }
headers = ["X-CFilter: Encrypt", "X-Classification: Confidential", "X-Reviewed-By: sluice"]
"#,
    );
    let mut c = session(&sluice);
    for (subject, body) in [
        ("Report", "alpha"),
        ("Report", "bravo"),
        ("Report", "charlie"),
        ("Both", "alpha and charlie"),
    ] {
        let r = c.send(FROM, &[TO], &message(subject, body));
        assert_eq!(r.code, 250, "{r}");
    }
    let got = sink.wait_for(4, WAIT);
    let subject = |m: &Received| m.headers("Subject");
    assert_eq!(subject(&got[0]), ["[DLP] Report"]);
    assert_eq!(subject(&got[1]), ["Report [checked]"]);
    assert_eq!(subject(&got[2]), ["Redacted subject"]);
    assert_eq!(
        subject(&got[3]),
        ["Redacted subject"],
        "prepend then replace, in policy order"
    );

    assert_eq!(got[0].headers("X-CFilter"), ["Encrypt"]);
    assert_eq!(got[1].headers("X-CFilter"), Vec::<String>::new());
    for m in [&got[2], &got[3]] {
        assert_eq!(
            m.headers("X-CFilter"),
            ["Encrypt"],
            "two policies adding the same header: once\n{}",
            m.data_str()
        );
        assert_eq!(m.headers("X-Classification"), ["Confidential"]);
        assert_eq!(m.headers("X-Reviewed-By"), ["sluice"]);
    }
    assert_tagged(&got[0], "1");
    assert_tagged(&got[1], "2");
    assert_tagged(&got[2], "3");
    // Body untouched.
    assert_eq!(got[2].body_str(), "charlie\r\n");
    c.quit();
}

#[test]
fn messages_violating_nothing_carry_no_dlp_tags() {
    let (sink, sluice) = start(BLOCK_SECRET);
    let mut c = session(&sluice);
    // "secretary" is not the whole word "secret".
    let msg = message("Staffing", "our secretary is on leave");
    assert_eq!(c.send(FROM, &[TO], &msg).code, 250);
    let got = sink.wait_for(1, WAIT);
    assert_untagged(&got[0]);
    assert_eq!(
        past_trace(&got[0]),
        format!("X-CFilter-Loop: Reflected\r\n{msg}"),
        "a clean message is relayed byte for byte"
    );
    c.quit();
}

#[test]
fn keyword_in_a_base64_part_is_found() {
    let (sink, sluice) = start(BLOCK_SECRET);
    let mut c = session(&sluice);
    let msg = "From: a@corp.example\r\nTo: b@partner.example\r\nSubject: Holiday pictures\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n--XYZ\r\nContent-Type: text/plain\r\n\r\nSee attachment.\r\n--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nVGhlIHNlY3JldCBwbGFucyBhcmUgYXR0YWNoZWQuDQo=\r\n--XYZ--\r\n";
    assert!(!msg.to_lowercase().contains("secret"));
    let r = c.send(FROM, &[TO], msg);
    assert_eq!(r.code, 550, "keyword hidden in base64 must be found: {r}");
    assert_eq!(barrier(&mut c, &sink).len(), 1);
    c.quit();
}

#[test]
fn keyword_in_a_quoted_printable_part_is_found() {
    let (sink, sluice) = start(BLOCK_SECRET);
    let mut c = session(&sluice);
    let msg = "From: a@corp.example\r\nTo: b@partner.example\r\nSubject: Notes\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nThe sec=\r\nret plans =3D attached.\r\n";
    assert!(!msg.to_lowercase().contains("secret"));
    let r = c.send(FROM, &[TO], msg);
    assert_eq!(
        r.code, 550,
        "keyword split by a QP soft line break must be found: {r}"
    );
    assert_eq!(barrier(&mut c, &sink).len(), 1);
    c.quit();
}

#[test]
fn sender_and_recipient_patterns_restrict_a_policy() {
    let (sink, sluice) = start(
        r#"
[[policy]]
id = 11
keywords = ["secret"]
senders = ["*@corp.example"]
action = "block"

[[policy]]
id = 12
keywords = ["falcon"]
recipients = ["*@partner.example"]
action = "block"
"#,
    );
    let mut c = session(&sluice);
    assert_eq!(
        c.send("x@other.example", &[TO], &message("s1", "secret"))
            .code,
        250,
        "sender outside the pattern"
    );
    assert_eq!(
        c.send("A@Corp.Example", &[TO], &message("s2", "secret"))
            .code,
        550,
        "sender inside the pattern"
    );
    assert_eq!(
        c.send(FROM, &["b@elsewhere.example"], &message("r1", "falcon"))
            .code,
        250,
        "recipient outside"
    );
    assert_eq!(
        c.send(
            FROM,
            &["b@elsewhere.example", "c@partner.example"],
            &message("r2", "falcon")
        )
        .code,
        550,
        "any recipient inside"
    );
    let all = barrier(&mut c, &sink);
    let subjects: Vec<String> = all.iter().map(|m| m.header("Subject").unwrap()).collect();
    assert_eq!(subjects, ["s1", "r1", "barrier"]);
    c.quit();
}

#[test]
fn block_wins_over_modify_when_both_match() {
    let (sink, sluice) = start(
        r#"
[[policy]]
id = 21
keywords = ["secret"]
action = "modify"
subject = { mode = "prepend", text = "[DLP] " }

[[policy]]
id = 22
keywords = ["secret"]
action = "block"
reply = "Blocked by policy 22"
"#,
    );
    let mut c = session(&sluice);
    let r = c.send(FROM, &[TO], &message("x", "secret"));
    assert_eq!(
        r,
        Reply {
            code: 550,
            text: "5.7.1 Blocked by policy 22".into()
        }
    );
    assert_eq!(barrier(&mut c, &sink).len(), 1);
    c.quit();
}

#[test]
fn modify_and_redirect_both_apply_when_both_match() {
    let (sink, sluice) = start(
        r#"
[[policy]]
id = 31
keywords = ["falcon"]
action = "modify"
subject = { mode = "prepend", text = "[DLP] " }
headers = ["X-CFilter: Encrypt"]

[[policy]]
id = 32
keywords = ["falcon"]
action = "redirect"
redirect_to = "review@corp.example"
"#,
    );
    let mut c = session(&sluice);
    let r = c.send(FROM, &[TO], &message("Plans", "falcon"));
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, WAIT);
    assert_eq!(got[0].rcpt_addrs(), ["review@corp.example"]);
    assert_eq!(got[0].headers("Subject"), ["[DLP] Plans"]);
    assert_eq!(got[0].headers("X-CFilter"), ["Encrypt"]);
    assert_tagged(&got[0], "32");
    c.quit();
}

#[test]
fn trial_mode_delivers_a_blocked_message_unchanged_and_logs_the_violation() {
    let (sink, sluice) = start(&format!("[server]\ntrial_mode = true\n{BLOCK_SECRET}"));
    let mut c = session(&sluice);
    let msg = message("Quarterly numbers", "this is secret");
    let r = c.send(FROM, &[TO], &msg);
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, WAIT);
    assert_eq!(
        past_trace(&got[0]),
        format!("X-CFilter-Loop: Reflected\r\n{msg}"),
        "only the pass header may be added"
    );
    assert_untagged(&got[0]);
    assert!(
        sluice.wait_log("policy violation", WAIT),
        "{:#?}",
        sluice.logs()
    );
    let line = sluice.log_line("policy violation").unwrap();
    assert!(
        line.contains("trial=true") && line.contains("7:block"),
        "{line}"
    );
    c.quit();
}

#[test]
fn monitor_mode_policy_only_logs_while_enforcing_policies_still_apply() {
    let (sink, sluice) = start(
        r#"
[[policy]]
id = 7
mode = "monitor"
keywords = ["secret"]
action = "block"

[[policy]]
id = 9
keywords = ["falcon"]
action = "modify"
subject = { mode = "append", text = " [DLP]" }
"#,
    );
    let mut c = session(&sluice);
    let msg = message("Quarterly numbers", "this is secret");
    assert_eq!(c.send(FROM, &[TO], &msg).code, 250);
    let got = sink.wait_for(1, WAIT);
    assert_eq!(
        past_trace(&got[0]),
        format!("X-CFilter-Loop: Reflected\r\n{msg}")
    );
    assert!(sluice.wait_log("policy violation", WAIT));
    let line = sluice.log_line("policy violation").unwrap();
    assert!(
        line.contains("7:block(monitor)") && line.contains("trial=false"),
        "{line}"
    );

    // Both match: the monitor-mode block changes nothing, the enforcing modify applies and decides.
    assert_eq!(
        c.send(FROM, &[TO], &message("Both", "secret falcon")).code,
        250
    );
    let got = sink.wait_for(2, WAIT);
    assert_eq!(got[1].headers("Subject"), ["Both [DLP]"]);
    assert_tagged(&got[1], "9");
    c.quit();
}

fn with_received(n: usize, subject: &str) -> String {
    let mut m = String::new();
    for i in 0..n {
        m.push_str(&format!(
            "Received: from hop{i}.example by relay{i}.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n"
        ));
    }
    m.push_str(&message(subject, "loop?"));
    m
}

#[test]
fn more_than_50_received_headers_is_a_loop_refused_with_554_5_4_6() {
    let (sink, sluice) = start("");
    let mut c = session(&sluice);
    let r = c.send(FROM, &[TO], &with_received(51, "looping"));
    assert_eq!(r.code, 554, "{r}");
    assert!(r.text.starts_with("5.4.6 "), "{r}");
    let r = c.send(FROM, &[TO], &with_received(50, "fifty"));
    assert_eq!(r.code, 250, "50 Received headers are still fine: {r}");
    let all = barrier(&mut c, &sink);
    let subjects: Vec<String> = all.iter().map(|m| m.header("Subject").unwrap()).collect();
    assert_eq!(subjects, ["fifty", "barrier"]);
    // The limit counts what the message arrived with; Sluice's own Received goes on top.
    let received = all[0].headers("Received");
    assert_eq!(received.len(), 51);
    assert!(
        received[0].contains("(Sluice) with ESMTP id "),
        "{received:?}"
    );
    c.quit();
}

#[test]
fn redirect_address_refused_by_the_next_hop_gives_a_temporary_451() {
    let sink = Sink::start(
        support::sink::SinkConfig::default()
            .reject_rcpts(&["review@corp.example"], "550 5.1.1 No such user"),
    );
    let sluice = Sluice::start(&forward_config(
        &[sink.addr],
        "[[policy]]\nid = 8\nkeywords = [\"falcon\"]\naction = \"redirect\"\nredirect_to = \"review@corp.example\"\n",
    ));
    let mut c = session(&sluice);
    let r = c.send(FROM, &[TO], &message("Falcon", "x"));
    assert_eq!(
        r.code, 451,
        "a refused review address is a configuration problem, never a 5xx: {r}"
    );
    let all = barrier(&mut c, &sink);
    assert_eq!(
        all.len(),
        1,
        "the message must not go to the original recipients instead"
    );
    c.quit();
}

#[test]
fn keyword_in_an_encoded_subject_is_found() {
    let (sink, sluice) = start(BLOCK_SECRET);
    let mut c = session(&sluice);
    // "=?UTF-8?B?VG9wIHNlY3JldA==?=" is "Top secret".
    let msg = "From: a@corp.example\r\nSubject: =?UTF-8?B?VG9wIHNlY3JldA==?=\r\n\r\nhello\r\n";
    let r = c.send(FROM, &[TO], msg);
    assert_eq!(r.code, 550, "{r}");
    assert_eq!(barrier(&mut c, &sink).len(), 1);
    c.quit();
}

#[test]
fn modify_replaces_a_folded_subject_with_exactly_one_subject_line() {
    let (sink, sluice) = start(
        r#"
[[policy]]
id = 5
keywords = ["alpha"]
action = "modify"
subject = { mode = "prepend", text = "[DLP] " }
"#,
    );
    let mut c = session(&sluice);
    let msg = "From: a@corp.example\r\nSubject: Quarterly\r\n numbers\r\nTo: b@partner.example\r\n\r\nalpha\r\n";
    assert_eq!(c.send(FROM, &[TO], msg).code, 250);
    let got = sink.wait_for(1, WAIT);
    assert_eq!(
        got[0].headers("Subject"),
        ["[DLP] Quarterly numbers"],
        "{}",
        got[0].data_str()
    );
    assert_eq!(
        got[0].headers("To"),
        [TO],
        "the header after the folded Subject is intact"
    );
    assert_eq!(got[0].body_str(), "alpha\r\n");
    c.quit();
}

#[test]
fn inbound_copies_of_sluice_headers_are_replaced_not_passed_on() {
    let (sink, sluice) = start(
        r#"
[[policy]]
id = 4
keywords = ["alpha"]
action = "modify"
headers = ["X-CFilter: Encrypt"]
"#,
    );
    let forged = "x-DLP-policyid: 999\r\n\tcontinued\r\nX-CFilter-Loop: Reflected\r\nX-Dlp-UniqueMsgId: forged\r\n";
    let mut c = session(&sluice);
    let clean = message("clean", "nothing");
    assert_eq!(c.send(FROM, &[TO], &format!("{forged}{clean}")).code, 250);
    let violating = message("violating", "alpha");
    assert_eq!(
        c.send(FROM, &[TO], &format!("{forged}{violating}")).code,
        250
    );
    let got = sink.wait_for(2, WAIT);
    assert_eq!(
        past_trace(&got[0]),
        format!("X-CFilter-Loop: Reflected\r\n{clean}"),
        "forged copies must be dropped"
    );
    assert_untagged(&got[0]);
    assert_eq!(got[1].headers("X-CFilter-Loop"), ["Reflected"]);
    assert_tagged(&got[1], "4");
    assert_ne!(
        got[1].header("X-dlp-uniquemsgid").as_deref(),
        Some("forged")
    );
    assert!(
        !got[1].data_str().contains("continued"),
        "{}",
        got[1].data_str()
    );
    c.quit();
}

#[test]
fn keyword_phrase_wrapped_across_lines_or_spaced_out_is_found() {
    let (sink, sluice) = start(
        r#"
[[policy]]
id = 13
keywords = ["project falcon"]
action = "block"
"#,
    );
    let mut c = session(&sluice);
    assert_eq!(
        c.send(FROM, &[TO], &message("a", "about project falcon today"))
            .code,
        550,
        "plain phrase"
    );
    // Mail clients hard-wrap plain text at ~76 columns; the phrase is the same text either way.
    let r = c.send(
        FROM,
        &[TO],
        &message("b", "a long line about the project\nfalcon today"),
    );
    assert_eq!(r.code, 550, "phrase wrapped across a line break: {r}");
    let r = c.send(FROM, &[TO], &message("c", "about project  falcon today"));
    assert_eq!(r.code, 550, "phrase with two spaces: {r}");
    assert_eq!(barrier(&mut c, &sink).len(), 1);
    c.quit();
}

/// Safe by default: a configuration without `[[policy]]` runs the built-in set in monitor mode, so
/// a message with a card number and a private key is recorded (log line, incidents) but relayed
/// unchanged; `builtin_policies = "enforce"` makes the same set block it.
#[test]
fn without_policies_the_builtin_set_runs_in_monitor_mode() {
    let key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----";
    let body = format!("Card number 4111 1111 1111 1111, expiry 12/27.\n{key}\n");
    let (sink, sluice) = start("");
    assert!(
        sluice.wait_log("policy_source=built-in, monitor mode", WAIT),
        "{:#?}",
        sluice.logs()
    );
    assert!(
        sluice
            .log_line("built-in policies run in monitor mode")
            .is_some()
    );
    let mut c = session(&sluice);
    let msg = message("Card for the booking", &body);
    assert_eq!(c.send(FROM, &[TO], &msg).code, 250);
    let got = sink.wait_for(1, WAIT);
    assert_eq!(
        past_trace(&got[0]),
        format!("X-CFilter-Loop: Reflected\r\n{msg}"),
        "monitor mode changes nothing"
    );
    assert!(sluice.wait_log("policy violation", WAIT));
    let line = sluice.log_line("policy violation").unwrap();
    assert!(
        line.contains("100:modify(monitor)") && line.contains("130:block(monitor)"),
        "{line}"
    );
    c.quit();

    let (_sink, sluice) = start("[inspection]\nbuiltin_policies = \"enforce\"\n");
    let mut c = session(&sluice);
    let r = c.send(FROM, &[TO], &msg);
    assert_eq!(r.code, 550, "{r}");
    assert!(r.text.contains("private key"), "{r}");
    c.quit();
}
