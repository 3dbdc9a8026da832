//! End-to-end tests of the upstream SMTP conversation through the real binary: limits, SMTP smuggling,
//! the allowed-clients gate, and the commands Sluice answers itself.

mod support;

use std::time::{Duration, Instant};

use support::client::{Client, Reply, message};
use support::sink::{Received, Sink};
use support::sluice::{Sluice, config, hosts_relay};

const WAIT: Duration = Duration::from_secs(5);
const FROM: &str = "a@corp.example";
const TO: &str = "b@partner.example";

/// A sink and a Sluice forwarding to it, with extra `[listener]` keys.
fn start(listener_extra: &str) -> (Sink, Sluice) {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&config(listener_extra, &hosts_relay(&[sink.addr]), ""));
    (sink, sluice)
}

fn session(sluice: &Sluice) -> Client {
    let mut c = Client::connect(sluice.addr);
    c.set_read_timeout(WAIT);
    c.ehlo();
    c
}

/// Sends a clean message on the same session and waits for it at the sink; returns everything the sink
/// has by then (earlier messages of this session would have arrived before it on the same connection).
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

fn starts_with(r: &Reply, code: u16, enhanced: &str) -> bool {
    r.code == code && r.text.starts_with(&format!("{enhanced} "))
}

// ---- limits ----

#[test]
fn mail_with_a_size_over_the_limit_gets_552_5_3_4() {
    let (_sink, sluice) = start("max_message_size = 2000");
    let mut c = session(&sluice);
    let r = c.cmd("MAIL FROM:<a@corp.example> SIZE=5000");
    assert!(starts_with(&r, 552, "5.3.4"), "{r}");
    let r = c.cmd("MAIL FROM:<a@corp.example> SIZE=1500");
    assert_eq!(r.code, 250, "a declared size under the limit is fine: {r}");
    c.quit();
}

#[test]
fn message_over_the_size_limit_gets_552_5_3_4_at_end_of_data_and_nothing_is_relayed() {
    let (sink, sluice) = start("max_message_size = 2000");
    let mut c = session(&sluice);
    let big = message("big", &"0123456789 ".repeat(300));
    assert!(big.len() > 3000);
    let r = c.send(FROM, &[TO], &big);
    assert!(starts_with(&r, 552, "5.3.4"), "{r}");
    let all = barrier(&mut c, &sink);
    assert_eq!(all.len(), 1, "the oversized message must not be relayed");
    c.quit();
}

#[test]
fn recipient_over_max_recipients_gets_452_4_5_3() {
    let (sink, sluice) = start("max_recipients = 2");
    let mut c = session(&sluice);
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<r1@partner.example>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<r2@partner.example>").code, 250);
    let r = c.cmd("RCPT TO:<r3@partner.example>");
    assert!(starts_with(&r, 452, "4.5.3"), "{r}");
    assert_eq!(c.data(&message("two", "x")).code, 250);
    assert_eq!(
        sink.wait_for(1, WAIT)[0].rcpt_addrs(),
        ["r1@partner.example", "r2@partner.example"]
    );
    c.quit();
}

#[test]
fn command_line_over_max_line_length_gets_500() {
    let (_sink, sluice) = start("max_line_length = 512");
    let mut c = session(&sluice);
    let r = c.cmd(&format!("NOOP {}", "x".repeat(600)));
    assert_eq!(r.code, 500, "{r}");
    assert_eq!(
        c.cmd(&format!("NOOP {}", "x".repeat(400))).code,
        250,
        "a line under the limit still works"
    );
    c.quit();
}

#[test]
fn too_many_errors_closes_the_session_with_421() {
    let (_sink, sluice) = start("max_errors = 3");
    let mut c = session(&sluice);
    assert_eq!(c.cmd("FOO").code, 500);
    assert_eq!(c.cmd("BAR baz").code, 500);
    let r = c.cmd("QUUX");
    assert!(starts_with(&r, 421, "4.7.0"), "{r}");
    assert!(c.is_closed(), "the connection must be closed after 421");
}

#[test]
fn session_over_max_sessions_gets_421_4_3_2() {
    let (_sink, sluice) = start("max_sessions = 2");
    let one = session(&sluice);
    let two = session(&sluice);
    let mut three = Client::connect(sluice.addr);
    assert!(
        three.greeting.starts_with("421 4.3.2 "),
        "{}",
        three.greeting
    );
    assert!(three.is_closed());
    // A freed slot can be used again.
    one.quit();
    let end = Instant::now() + WAIT;
    loop {
        let c = Client::connect(sluice.addr);
        if c.greeting.starts_with("220 ") {
            c.quit();
            break;
        }
        assert!(
            Instant::now() < end,
            "no session slot came free: {}",
            c.greeting
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    two.quit();
}

// ---- SMTP smuggling ----

/// Sends a message whose content hides a second transaction behind `seq` (a bare line ending variant
/// of the end-of-data marker); returns the final reply.
fn smuggle(c: &mut Client, seq: &str) -> Reply {
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<b@partner.example>").code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    let wire = format!(
        "From: a@corp.example\r\nSubject: smuggle\r\n\r\nhello{seq}MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\nsmuggled\r\n.\r\n"
    );
    c.send_raw(wire.as_bytes());
    c.read_reply()
}

#[test]
fn smuggled_transaction_behind_bare_line_endings_stays_message_content() {
    let (sink, sluice) = start("");
    let mut c = session(&sluice);
    for seq in ["\n.\r\n", "\r.\r\n", "\r\n.\n", "\n.\n"] {
        let before = sink.messages().len();
        let r = smuggle(&mut c, seq);
        assert_eq!(r.code, 250, "{seq:?}: {r}");
        // Had the next hop seen two transactions, the smuggled one would arrive before the barrier.
        let all = barrier(&mut c, &sink);
        assert_eq!(
            all.len(),
            before + 2,
            "{seq:?}: exactly one message plus the barrier may arrive"
        );
        let got = &all[before];
        assert_eq!(got.header("Subject").as_deref(), Some("smuggle"), "{seq:?}");
        assert_eq!(got.mail_from_addr(), FROM, "{seq:?}");
        assert_eq!(got.rcpt_addrs(), [TO], "{seq:?}");
        let body = got.body_str();
        assert!(
            body.contains("MAIL FROM:<evil@x>\r\nRCPT TO:<victim@y>\r\nDATA\r\nsmuggled\r\n"),
            "{seq:?}: {body:?}"
        );
        assert!(
            !body.replace("\r\n", "").contains(['\r', '\n']),
            "{seq:?}: bare CR/LF relayed: {body:?}"
        );
    }
    assert!(sink.messages().iter().all(
        |m| m.mail_from_addr() != "evil@x" && !m.rcpt_addrs().contains(&"victim@y".to_string())
    ));
    assert_eq!(sink.messages().len(), 8);
    c.quit();
}

#[test]
fn bare_line_endings_reject_mode_refuses_with_550_5_5_2() {
    let (sink, sluice) = start("bare_line_endings = \"reject\"");
    let mut c = session(&sluice);
    for seq in ["\n.\r\n", "\r.\r\n", "\r\n.\n"] {
        let r = smuggle(&mut c, seq);
        assert!(starts_with(&r, 550, "5.5.2"), "{seq:?}: {r}");
    }
    assert_eq!(
        barrier(&mut c, &sink).len(),
        1,
        "nothing but the barrier may be relayed"
    );
    c.quit();
}

// ---- allowed clients ----

#[test]
fn client_outside_allowed_clients_gets_554_5_7_1_at_connect() {
    let (sink, sluice) = start("allowed_clients = [\"10.0.0.0/8\"]");
    let mut c = Client::connect(sluice.addr);
    assert!(c.greeting.starts_with("554 5.7.1 "), "{}", c.greeting);
    assert!(c.is_closed());
    assert_eq!(
        sink.connections(),
        0,
        "nothing may be relayed for a refused client"
    );
}

// ---- commands Sluice answers itself ----

#[test]
fn unsupported_and_informational_commands_get_their_replies() {
    let (_sink, sluice) = start("");
    let mut c = session(&sluice);
    assert_eq!(c.cmd("AUTH PLAIN AGFAAGI=").code, 502);
    assert_eq!(c.cmd("VRFY postmaster").code, 252);
    assert_eq!(c.cmd("HELP").code, 214);
    assert_eq!(c.cmd("NOOP").code, 250);
    assert_eq!(
        c.cmd("RCPT TO:<b@partner.example>").code,
        503,
        "RCPT before MAIL"
    );
    assert_eq!(c.cmd("DATA").code, 503, "DATA before MAIL");
    c.quit();
}

#[test]
fn rset_clears_the_transaction() {
    let (_sink, sluice) = start("");
    let mut c = session(&sluice);
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<b@partner.example>").code, 250);
    assert_eq!(c.cmd("RSET").code, 250);
    assert_eq!(c.cmd("DATA").code, 503, "no transaction after RSET");
    assert_eq!(
        c.cmd("RCPT TO:<b@partner.example>").code,
        503,
        "no transaction after RSET"
    );
    c.quit();
}

#[test]
fn new_transaction_after_rset_is_relayed() {
    let (sink, sluice) = start("");
    let mut c = session(&sluice);
    assert_eq!(c.cmd("MAIL FROM:<old@corp.example>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<old@partner.example>").code, 250);
    assert_eq!(c.cmd("RSET").code, 250);
    let r = c.send(FROM, &[TO], &message("after rset", "x"));
    assert_eq!(
        r.code, 250,
        "MAIL after RSET must start a fresh transaction at the next hop too: {r}"
    );
    let got = sink.wait_for(1, WAIT);
    assert_eq!(got[0].mail_from_addr(), FROM);
    assert_eq!(
        got[0].rcpt_addrs(),
        [TO],
        "the reset recipient must not receive the message"
    );
    c.quit();
}

#[test]
fn new_transaction_after_ehlo_mid_transaction_is_relayed() {
    let (sink, sluice) = start("");
    let mut c = session(&sluice);
    assert_eq!(c.cmd("MAIL FROM:<old@corp.example>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<old@partner.example>").code, 250);
    c.ehlo();
    let r = c.send(FROM, &[TO], &message("after ehlo", "x"));
    assert_eq!(
        r.code, 250,
        "EHLO resets the transaction (RFC 5321 4.1.4); MAIL must then work: {r}"
    );
    let got = sink.wait_for(1, WAIT);
    assert_eq!(
        got[0].rcpt_addrs(),
        [TO],
        "the reset recipient must not receive the message"
    );
    c.quit();
}

#[test]
fn data_after_all_recipients_were_refused_gets_554_and_the_next_transaction_works() {
    let sink = Sink::start(
        support::sink::SinkConfig::default()
            .reject_rcpts(&["x@partner.example"], "550 5.1.1 No such user"),
    );
    let sluice = Sluice::start(&config("", &hosts_relay(&[sink.addr]), ""));
    let mut c = session(&sluice);
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<x@partner.example>").code, 550);
    let r = c.cmd("DATA");
    assert!(starts_with(&r, 554, "5.5.1"), "{r}");
    assert_eq!(c.cmd("RSET").code, 250);
    let all = barrier(&mut c, &sink);
    assert_eq!(all.len(), 1);
    c.quit();
}

#[test]
fn idle_client_gets_421_4_4_2_after_the_command_timeout() {
    let (_sink, sluice) = start("command_timeout = \"300ms\"");
    let mut c = session(&sluice);
    let start = Instant::now();
    let r = c.read_reply();
    assert!(starts_with(&r, 421, "4.4.2"), "{r}");
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "{:?}",
        start.elapsed()
    );
    assert!(c.is_closed());
}

#[test]
fn client_stalling_in_data_gets_421_4_4_2_after_the_data_timeout_and_nothing_is_relayed() {
    let (sink, sluice) = start("data_timeout = \"300ms\"");
    let mut c = session(&sluice);
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<b@partner.example>").code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    c.send_raw(b"Subject: stalled\r\n\r\nhalf a mess");
    let r = c.read_reply();
    assert!(starts_with(&r, 421, "4.4.2"), "{r}");
    assert!(c.is_closed());
    assert!(sink.messages().is_empty());
}

#[test]
fn commands_before_ehlo_get_503() {
    let (_sink, sluice) = start("");
    let mut c = Client::connect(sluice.addr);
    c.set_read_timeout(WAIT);
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 503);
    c.ehlo();
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 250);
    c.quit();
}

#[test]
fn message_of_exactly_max_message_size_is_accepted_and_one_byte_more_is_not() {
    let (sink, sluice) = start("max_message_size = 2000");
    let mut c = session(&sluice);
    let ehlo = c.ehlo();
    assert!(ehlo.text.lines().any(|l| l == "SIZE 2000"), "{ehlo}");
    let head = "Subject: exact\r\n\r\n";
    let fill = |total: usize| format!("{head}{}\r\n", "x".repeat(total - head.len() - 2));
    let exact = fill(2000);
    assert_eq!(exact.len(), 2000);
    assert_eq!(
        c.send(FROM, &[TO], &exact).code,
        250,
        "exactly max_message_size bytes"
    );
    let over = fill(2001);
    let r = c.send(FROM, &[TO], &over);
    assert!(
        starts_with(&r, 552, "5.3.4"),
        "max_message_size + 1 bytes: {r}"
    );
    let all = barrier(&mut c, &sink);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].body_str(), exact[head.len()..]);
    c.quit();
}

#[test]
fn command_line_of_exactly_max_line_length_including_crlf_is_accepted() {
    let (_sink, sluice) = start("max_line_length = 512");
    let mut c = session(&sluice);
    let line = |total: usize| format!("NOOP {}", "x".repeat(total - 2 - 5));
    assert_eq!(line(512).len() + 2, 512);
    assert_eq!(c.cmd(&line(512)).code, 250, "512 bytes with CRLF");
    assert_eq!(c.cmd(&line(513)).code, 500, "513 bytes with CRLF");
    c.quit();
}

#[test]
fn data_line_over_max_data_line_length_including_crlf_gets_552_5_3_4() {
    let (sink, sluice) = start("max_data_line_length = 1000");
    let mut c = session(&sluice);
    let with_line =
        |total: usize| format!("Subject: long line\r\n\r\n{}\r\n", "y".repeat(total - 2));
    assert_eq!(
        c.send(FROM, &[TO], &with_line(1000)).code,
        250,
        "a 1000-byte line (with CRLF) is allowed"
    );
    for total in [1001, 1002, 1003] {
        let r = c.send(FROM, &[TO], &with_line(total));
        assert!(
            starts_with(&r, 552, "5.3.4"),
            "a {total}-byte line (with CRLF) is over the limit: {r}"
        );
    }
    let all = barrier(&mut c, &sink);
    assert_eq!(
        all.len(),
        2,
        "only the 1000-byte-line message and the barrier may be relayed"
    );
    c.quit();
}

// ---- parameters and content SMTP does not allow (issue 9, item 12) ----

#[test]
fn oversized_size_values_and_bad_xtext_are_refused_and_nul_bytes_never_reach_the_next_hop() {
    let (sink, sluice) = start("max_message_size = 2000");
    let mut c = session(&sluice);
    // 20 digits: legal syntax, over the limit. 21: not a SIZE value at all (was 250).
    let r = c.cmd("MAIL FROM:<a@corp.example> SIZE=99999999999999999999");
    assert!(starts_with(&r, 552, "5.3.4"), "{r}");
    let r = c.cmd("MAIL FROM:<a@corp.example> SIZE=999999999999999999999");
    assert!(starts_with(&r, 501, "5.5.4"), "{r}");
    // "+" must be followed by two upper-case hex digits (RFC 3461 xtext); was relayed raw.
    let r = c.cmd("MAIL FROM:<a@corp.example> ENVID=+ZZ");
    assert!(starts_with(&r, 501, "5.5.4"), "{r}");
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example> ENVID=ok+2B1").code, 250);
    let r = c.cmd("RCPT TO:<b@partner.example> ORCPT=rfc822;b+zz@partner.example");
    assert!(starts_with(&r, 501, "5.5.4"), "{r}");
    assert_eq!(c.cmd("RSET").code, 250);
    // A NUL byte in DATA (here hiding a "\0." line) refuses the message; nothing is relayed.
    assert_eq!(c.cmd(&format!("MAIL FROM:<{FROM}>")).code, 250);
    assert_eq!(c.cmd(&format!("RCPT TO:<{TO}>")).code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    c.send_raw(b"Subject: nul\r\n\r\nbefore\r\n\x00.\r\nafter\x00\r\n.\r\n");
    let r = c.read_reply();
    assert!(starts_with(&r, 550, "5.6.0"), "{r}");
    let all = barrier(&mut c, &sink);
    assert_eq!(all.len(), 1, "only the barrier message was relayed");
    assert!(!all.iter().any(|m| m.data.contains(&0)));
    assert!(
        all.iter().all(|m| !m.mail_from.contains("ENVID=+ZZ")),
        "{:?}",
        all[0].mail_from
    );
    c.quit();
}
