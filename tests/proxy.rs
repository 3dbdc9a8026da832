//! End-to-end tests of the in-line proxy: the real binary between a test client and a real sink MTA.
//! This file: relaying and next-hop selection (host list, MX, reflect), pipelining and DSN parameters.
//! Policies: proxy_policy.rs; limits and protocol edge cases: proxy_protocol.rs; TLS: proxy_tls.rs;
//! process lifecycle and CLI: proxy_lifecycle.rs.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use support::client::{Client, Reply, message};
use support::dns::{Record, TestDns};
use support::sink::{Sink, SinkConfig};
use support::sluice::{Sluice, closed_addr, config, forward_config};

const WAIT: Duration = Duration::from_secs(5);

fn lo(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, last))
}

fn sink_at(addr: SocketAddr) -> Sink {
    Sink::start(SinkConfig {
        bind: addr,
        ..SinkConfig::default()
    })
}

/// One whole session (EHLO, one message, QUIT) from 127.0.0.1; returns the final DATA reply.
fn send_one(sluice: &Sluice, subject: &str) -> Reply {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(
        "a@corp.example",
        &["b@partner.example"],
        &message(subject, "body"),
    );
    c.quit();
    r
}

fn subjects(sink: &Sink) -> Vec<String> {
    sink.messages()
        .iter()
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect()
}

#[test]
fn relays_a_clean_message_with_the_pass_header_and_answers_after_the_next_hop() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(
        "a@corp.example",
        &["b@partner.example"],
        &message("Hello", "nothing to see"),
    );
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, Duration::from_secs(5));
    assert_eq!(
        got[0].header("X-CFilter-Loop").as_deref(),
        Some("Reflected")
    );
    assert_eq!(got[0].rcpt_addrs(), vec!["b@partner.example".to_string()]);
    assert!(got[0].data_str().ends_with("\r\n\r\nnothing to see\r\n"));
    c.quit();
}

#[test]
fn next_hop_data_refusal_is_relayed_verbatim() {
    let sink = Sink::start(SinkConfig {
        data_reply: Some("554 5.7.0 Content refused downstream".into()),
        ..SinkConfig::default()
    });
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(
        "a@corp.example",
        &["b@partner.example"],
        &message("Hello", "x"),
    );
    assert_eq!(r.code, 554);
    assert!(r.text.contains("5.7.0 Content refused downstream"), "{r}");
}

// ---- ordered host list ----

#[test]
fn first_next_hop_down_delivers_via_the_second() {
    let second = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[closed_addr(lo(21)), second.addr], ""));
    let r = send_one(&sluice, "via second");
    assert_eq!(r.code, 250, "{r}");
    assert_eq!(subjects(&second), ["via second"]);
}

#[test]
fn first_and_second_next_hops_down_delivers_via_the_third() {
    let third = Sink::start_default();
    let sluice = Sluice::start(&forward_config(
        &[closed_addr(lo(22)), closed_addr(lo(23)), third.addr],
        "",
    ));
    let r = send_one(&sluice, "via third");
    assert_eq!(r.code, 250, "{r}");
    assert_eq!(subjects(&third), ["via third"]);
}

/// A Sluice forwarding to `hops` whose clock the test can shift (`<dir>/clock-offset`, seconds).
fn start_with_clock(hops: &[SocketAddr], extra: &str) -> (Sluice, tempfile::TempDir) {
    let clock = tempfile::tempdir().unwrap();
    let offset = clock.path().join("clock-offset");
    std::fs::write(&offset, "0\n").unwrap();
    let sluice = Sluice::start_with_env(
        &forward_config(hops, extra),
        &[("SLUICE_CLOCK_OFFSET_FILE", offset.to_str().unwrap())],
    );
    (sluice, clock)
}

/// Moves Sluice's clock to `secs` past the real time (it re-reads the offset within a second).
fn shift_clock(dir: &tempfile::TempDir, secs: u64) {
    std::fs::write(dir.path().join("clock-offset"), format!("{secs}\n")).unwrap();
    std::thread::sleep(Duration::from_millis(1_500));
}

/// Log lines that contain every one of `needles`, once at least `n` arrived (or after [`WAIT`]).
fn lines_with(sluice: &Sluice, needles: &[&str], n: usize) -> usize {
    let count = || {
        sluice
            .logs()
            .iter()
            .filter(|l| needles.iter().all(|x| l.contains(x)))
            .count()
    };
    let end = std::time::Instant::now() + WAIT;
    while count() < n && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    count()
}

#[test]
fn a_next_hop_that_comes_back_is_used_again_after_its_retry_interval() {
    let first_addr = closed_addr(lo(24));
    let second = Sink::start_default();
    let (sluice, clock) = start_with_clock(&[first_addr, second.addr], "");
    assert_eq!(send_one(&sluice, "one").code, 250);
    assert_eq!(subjects(&second), ["one"]);

    // The first hop comes back: once its retry interval is over it is probed and used again.
    let first = sink_at(first_addr);
    shift_clock(&clock, 61);
    assert_eq!(send_one(&sluice, "two").code, 250);
    assert_eq!(send_one(&sluice, "three").code, 250);
    assert_eq!(subjects(&first), ["two", "three"]);
    assert_eq!(subjects(&second), ["one"]);
    let first_s = first_addr.to_string();
    assert_eq!(
        lines_with(&sluice, &["next hop is up again", &first_s], 1),
        1
    );
}

/// Issue 10, item 2: a dead primary is tried once and then skipped for `relay.dead_host_retry`
/// (not tried again for every message), probed again after it, and its going down is logged once.
#[test]
fn a_dead_next_hop_is_skipped_until_its_retry_interval_then_probed_again() {
    let dead = closed_addr(lo(27));
    let live = Sink::start_default();
    let (sluice, clock) = start_with_clock(&[dead, live.addr], "");
    let dead_s = dead.to_string();
    for n in 0..4 {
        assert_eq!(send_one(&sluice, &format!("m{n}")).code, 250);
    }
    assert_eq!(subjects(&live), ["m0", "m1", "m2", "m3"]);
    assert_eq!(
        lines_with(&sluice, &["next hop failed", &dead_s], 1),
        1,
        "the dead host is attempted once, not per message:\n{}",
        sluice.logs().join("\n")
    );
    assert_eq!(lines_with(&sluice, &["next hop is down", &dead_s], 1), 1);

    // After the interval one message probes it again; it is still down: no new state change.
    shift_clock(&clock, 61);
    assert_eq!(send_one(&sluice, "m4").code, 250);
    assert_eq!(send_one(&sluice, "m5").code, 250);
    assert_eq!(lines_with(&sluice, &["next hop failed", &dead_s], 2), 2);
    assert_eq!(lines_with(&sluice, &["next hop is down", &dead_s], 1), 1);
    assert_eq!(live.messages().len(), 6);
}

#[test]
fn all_next_hops_unreachable_gives_451_4_4_1_at_mail_and_the_session_stays_usable() {
    let down = closed_addr(lo(25));
    let sluice = Sluice::start(&forward_config(&[closed_addr(lo(26)), down], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.cmd("MAIL FROM:<a@corp.example>");
    assert_eq!(r.code, 451, "{r}");
    assert!(r.text.starts_with("4.4.1 "), "{r}");
    // No transaction was opened, but the session goes on.
    assert_eq!(c.cmd("RCPT TO:<b@partner.example>").code, 503);
    assert_eq!(c.cmd("NOOP").code, 250);
    let r = c.cmd("MAIL FROM:<a@corp.example>");
    assert_eq!((r.code, r.text.get(..5)), (451, Some("4.4.1")), "{r}");

    // A next hop appears: the retry on the same session is delivered.
    let sink = sink_at(down);
    let r = c.send(
        "a@corp.example",
        &["b@partner.example"],
        &message("retried", "x"),
    );
    assert_eq!(r.code, 250, "{r}");
    assert_eq!(subjects(&sink), ["retried"]);
    c.quit();
}

#[test]
fn per_recipient_refusal_is_relayed_and_only_accepted_recipients_get_the_message() {
    let sink = Sink::start(
        SinkConfig::default().reject_rcpts(&["nobody@partner.example"], "550 5.1.1 No such user"),
    );
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 250);
    let bad = c.cmd("RCPT TO:<nobody@partner.example>");
    assert_eq!(bad.code, 550, "{bad}");
    assert_eq!(bad.text, "5.1.1 No such user");
    let good = c.cmd("RCPT TO:<b@partner.example>");
    assert_eq!(good.code, 250, "{good}");
    let r = c.data(&message("partial", "x"));
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].rcpt_addrs(), ["b@partner.example"]);
    c.quit();
}

// ---- MX lookup ----

fn mx(name: &str, preference: u16, exchange: &str) -> Record {
    Record::Mx {
        name: name.into(),
        preference,
        exchange: exchange.into(),
    }
}

fn a(name: &str, ip: IpAddr) -> Record {
    let IpAddr::V4(ip) = ip else { unreachable!() };
    Record::A {
        name: name.into(),
        ip,
    }
}

fn mx_config(domain: &str, port: u16, dns: &TestDns) -> String {
    config(
        "",
        &format!("mode = \"forward\"\nmx_domains = [\"{domain}\"]\nport = {port}"),
        &format!("[dns]\nservers = [\"{}\"]\ntimeout = \"2s\"", dns.addr),
    )
}

#[test]
fn mx_lookup_rotates_over_the_lowest_preference_and_falls_back_to_the_higher_one() {
    let mx1 = sink_at(SocketAddr::new(lo(2), 0));
    let port = mx1.addr.port();
    let mx2 = sink_at(SocketAddr::new(lo(3), port));
    let mx3 = sink_at(SocketAddr::new(lo(4), port));
    let mx4 = sink_at(SocketAddr::new(lo(5), port));
    let dns = TestDns::start(vec![
        mx("corp.test", 10, "mx1.corp.test"),
        mx("corp.test", 10, "mx2.corp.test"),
        mx("corp.test", 10, "mx3.corp.test"),
        mx("corp.test", 40, "mx4.corp.test"),
        a("mx1.corp.test", lo(2)),
        a("mx2.corp.test", lo(3)),
        a("mx3.corp.test", lo(4)),
        a("mx4.corp.test", lo(5)),
    ]);
    let sluice = Sluice::start(&mx_config("corp.test", port, &dns));
    for i in 0..6 {
        assert_eq!(send_one(&sluice, &format!("m{i}")).code, 250);
    }
    let counts = [
        mx1.messages().len(),
        mx2.messages().len(),
        mx3.messages().len(),
    ];
    assert_eq!(counts.iter().sum::<usize>(), 6, "{counts:?}");
    assert!(
        counts.iter().all(|&n| n >= 1),
        "equal-preference MX hosts must share the load: {counts:?}"
    );
    assert_eq!(
        mx4.messages().len(),
        0,
        "the preference-40 host is used only when all preference-10 ones fail"
    );

    drop((mx1, mx2, mx3));
    assert_eq!(send_one(&sluice, "fallback").code, 250);
    assert_eq!(subjects(&mx4), ["fallback"]);
}

#[test]
fn domain_without_mx_is_its_own_implicit_mx() {
    let sink = sink_at(SocketAddr::new(lo(6), 0));
    let dns = TestDns::start(vec![a("solo.test", lo(6))]);
    let sluice = Sluice::start(&mx_config("solo.test", sink.addr.port(), &dns));
    assert_eq!(send_one(&sluice, "implicit").code, 250);
    assert_eq!(subjects(&sink), ["implicit"]);
}

// ---- reflecting mode ----

#[test]
fn reflect_mode_sends_each_message_back_to_the_client_ip_on_the_relay_port() {
    let home = Sink::start_default();
    let port = home.addr.port();
    let other = sink_at(SocketAddr::new(lo(9), port));
    let sluice = Sluice::start(&config(
        "",
        &format!("mode = \"reflect\"\nport = {port}"),
        "",
    ));

    let mut c = Client::connect_from(lo(9), sluice.addr);
    c.ehlo();
    assert_eq!(
        c.send(
            "a@corp.example",
            &["b@partner.example"],
            &message("from .9", "x")
        )
        .code,
        250
    );
    c.quit();
    assert_eq!(subjects(&other), ["from .9"]);

    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    assert_eq!(
        c.send(
            "a@corp.example",
            &["b@partner.example"],
            &message("from .1", "x")
        )
        .code,
        250
    );
    c.quit();
    assert_eq!(
        subjects(&home),
        ["from .1"],
        "127.0.0.1 must only get its own client's message"
    );
    assert_eq!(subjects(&other), ["from .9"]);
}

// ---- pipelining and DSN ----

#[test]
fn pipelined_commands_are_answered_in_order_and_the_message_is_delivered() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.send_raw(b"EHLO client.test\r\nMAIL FROM:<a@corp.example>\r\nRCPT TO:<b@partner.example>\r\nRCPT TO:<c@partner.example>\r\nDATA\r\n");
    let codes: Vec<u16> = (0..5).map(|_| c.read_reply().code).collect();
    assert_eq!(codes, [250, 250, 250, 250, 354]);
    c.send_raw(b"Subject: pipelined\r\n\r\nbody\r\n.\r\n");
    let r = c.read_reply();
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, WAIT);
    assert_eq!(
        got[0].rcpt_addrs(),
        ["b@partner.example", "c@partner.example"]
    );
    assert_eq!(got[0].header("Subject").as_deref(), Some("pipelined"));
    c.quit();
}

#[test]
fn dsn_parameters_are_passed_to_the_next_hop() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    assert_eq!(
        c.cmd("MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ314159")
            .code,
        250
    );
    assert_eq!(
        c.cmd("RCPT TO:<c@d.example> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d.example")
            .code,
        250
    );
    assert_eq!(c.data(&message("dsn", "x")).code, 250);
    let got = sink.wait_for(1, WAIT);
    let from: Vec<&str> = got[0].mail_from.split_whitespace().collect();
    assert_eq!(from[0], "<a@b.example>");
    assert!(
        from.contains(&"RET=HDRS") && from.contains(&"ENVID=QQ314159"),
        "{}",
        got[0].mail_from
    );
    let to: Vec<&str> = got[0].rcpt_to[0].split_whitespace().collect();
    assert_eq!(to[0], "<c@d.example>");
    assert!(
        to.contains(&"NOTIFY=SUCCESS,FAILURE") && to.contains(&"ORCPT=rfc822;c@d.example"),
        "{}",
        got[0].rcpt_to[0]
    );

    // xtext-encoded values (RFC 3461) arrive exactly as sent: decoded once, encoded once.
    assert_eq!(
        c.cmd("MAIL FROM:<a@b.example> RET=FULL ENVID=a+2Bb+3Dc")
            .code,
        250
    );
    assert_eq!(
        c.cmd("RCPT TO:<first+last@d.example> NOTIFY=NEVER ORCPT=rfc822;first+2Blast@d.example")
            .code,
        250
    );
    assert_eq!(c.data(&message("xtext", "x")).code, 250);
    let got = sink.wait_for(2, WAIT);
    let from: Vec<&str> = got[1].mail_from.split_whitespace().collect();
    assert!(
        from.contains(&"RET=FULL") && from.contains(&"ENVID=a+2Bb+3Dc"),
        "{}",
        got[1].mail_from
    );
    let to: Vec<&str> = got[1].rcpt_to[0].split_whitespace().collect();
    assert_eq!(to[0], "<first+last@d.example>");
    assert!(
        to.contains(&"NOTIFY=NEVER") && to.contains(&"ORCPT=rfc822;first+2Blast@d.example"),
        "{}",
        got[1].rcpt_to[0]
    );
    c.quit();
}

#[test]
fn next_hop_refusing_the_session_at_greeting_is_skipped_for_the_next() {
    let refusing = Sink::start(SinkConfig {
        banner_code: 421,
        ..SinkConfig::default()
    });
    let second = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[refusing.addr, second.addr], ""));
    assert_eq!(send_one(&sluice, "skip 421").code, 250);
    assert_eq!(subjects(&second), ["skip 421"]);
    assert!(refusing.messages().is_empty());
}

#[test]
fn null_sender_and_body_parameters_are_relayed() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    assert_eq!(c.cmd("MAIL FROM:<> BODY=8BITMIME SMTPUTF8").code, 250);
    assert_eq!(c.cmd("RCPT TO:<jörg@partner.example>").code, 250);
    assert_eq!(c.data("Subject: bounce\r\n\r\nGrüße\r\n").code, 250);
    let got = sink.wait_for(1, WAIT);
    let from: Vec<&str> = got[0].mail_from.split_whitespace().collect();
    assert_eq!(from[0], "<>");
    assert!(
        from.contains(&"BODY=8BITMIME") && from.contains(&"SMTPUTF8"),
        "{}",
        got[0].mail_from
    );
    assert_eq!(got[0].rcpt_addrs(), ["jörg@partner.example"]);
    assert_eq!(got[0].body_str(), "Grüße\r\n");
    c.quit();
}

#[test]
fn leading_dots_and_large_messages_arrive_byte_for_byte() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let mut body = String::from(".\r\n..two dots\r\n.leading dot\r\n");
    for i in 0..20_000 {
        body.push_str(&format!("line {i:05} {}\r\n", "abcdefghij".repeat(8)));
    }
    let msg = format!("Subject: big\r\n\r\n{body}");
    assert!(msg.len() > 1_800_000);
    assert_eq!(
        c.send("a@corp.example", &["b@partner.example"], &msg).code,
        250
    );
    let got = sink.wait_for(1, WAIT);
    assert_eq!(
        got[0].body_str(),
        body,
        "body must be unchanged (dots unstuffed exactly once)"
    );
    c.quit();
}

#[test]
fn next_hop_slower_than_the_relay_data_timeout_gives_451() {
    let sink = Sink::start(SinkConfig {
        delay: Some(Duration::from_millis(1200)),
        ..SinkConfig::default()
    });
    let relay = format!(
        "{}\ndata_timeout = \"300ms\"",
        support::sluice::hosts_relay(&[sink.addr])
    );
    let sluice = Sluice::start(&config("", &relay, ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let start = std::time::Instant::now();
    let r = c.send(
        "a@corp.example",
        &["b@partner.example"],
        &message("slow", "x"),
    );
    assert_eq!(r.code, 451, "{r}");
    assert!(r.text.starts_with("4.4."), "{r}");
    assert!(
        start.elapsed() < Duration::from_millis(1100),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn next_transaction_pipelined_after_end_of_data_is_handled() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 250);
    assert_eq!(c.cmd("RCPT TO:<b@partner.example>").code, 250);
    assert_eq!(c.cmd("DATA").code, 354);
    c.send_raw(b"Subject: first\r\n\r\none\r\n.\r\nMAIL FROM:<c@corp.example>\r\nRCPT TO:<d@partner.example>\r\nDATA\r\n");
    let codes: Vec<u16> = (0..4).map(|_| c.read_reply().code).collect();
    assert_eq!(codes, [250, 250, 250, 354]);
    c.send_raw(b"Subject: second\r\n\r\ntwo\r\n.\r\nQUIT\r\n");
    assert_eq!(c.read_reply().code, 250);
    assert_eq!(c.read_reply().code, 221);
    let got = sink.wait_for(2, WAIT);
    assert_eq!(subjects(&sink), ["first", "second"]);
    assert_eq!(got[1].rcpt_addrs(), ["d@partner.example"]);
}

#[test]
fn next_hop_mail_refusal_is_relayed_verbatim_at_the_first_rcpt() {
    let sink = Sink::start(SinkConfig {
        max_messages: Some(1),
        ..SinkConfig::default()
    });
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    assert_eq!(
        c.send(
            "a@corp.example",
            &["b@partner.example"],
            &message("one", "x")
        )
        .code,
        250
    );
    // MAIL travels to the next hop together with the first RCPT (one round trip), so the next hop's
    // refusal of MAIL is the answer to that RCPT, as with Postfix's smtpd_delay_reject.
    assert_eq!(c.cmd("MAIL FROM:<a@corp.example>").code, 250);
    let refused = Reply {
        code: 452,
        text: "4.3.1 Too many messages".into(),
    };
    assert_eq!(c.cmd("RCPT TO:<b@partner.example>"), refused);
    assert_eq!(c.cmd("RCPT TO:<c@partner.example>"), refused, "asked again");
    assert_eq!(
        c.cmd("DATA").code,
        554,
        "no recipient accepted, so no message"
    );
    c.quit();
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn next_hop_closing_the_kept_connection_is_reconnected_transparently() {
    let addr = SocketAddr::new(lo(27), 0);
    let sink = sink_at(addr);
    let addr = sink.addr;
    let sluice = Sluice::start(&forward_config(&[addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    assert_eq!(
        c.send(
            "a@corp.example",
            &["b@partner.example"],
            &message("one", "x")
        )
        .code,
        250
    );
    assert_eq!(subjects(&sink), ["one"]);
    drop(sink); // closes the next-hop connection Sluice keeps for this session
    let sink = sink_at(addr);
    let r = c.send(
        "a@corp.example",
        &["b@partner.example"],
        &message("two", "x"),
    );
    assert_eq!(r.code, 250, "{r}");
    assert_eq!(subjects(&sink), ["two"]);
    c.quit();
}

#[test]
fn next_hop_without_pipelining_gets_one_command_at_a_time() {
    let sink = Sink::start(SinkConfig {
        pipelining: false,
        ..SinkConfig::default()
    });
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    for i in 0..3 {
        let r = c.send(
            "a@corp.example",
            &["b@partner.example", "c@partner.example"],
            &message(&format!("n{i}"), "x"),
        );
        assert_eq!(r.code, 250, "{r}");
    }
    c.quit();
    let got = sink.wait_for(3, WAIT);
    assert_eq!(got.len(), 3);
    assert_eq!(
        got[2].rcpt_addrs(),
        ["b@partner.example", "c@partner.example"]
    );
}

#[test]
fn next_hop_lost_at_data_is_replayed_once_on_a_fresh_connection() {
    let sink = Sink::start(SinkConfig {
        drop_at_data: 1,
        ..SinkConfig::default()
    });
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(
        "a@corp.example",
        &["b@partner.example", "c@partner.example"],
        &message("replayed", "x"),
    );
    assert_eq!(r.code, 250, "{r}");
    // The session goes on normally afterwards.
    assert_eq!(
        c.send(
            "a@corp.example",
            &["d@partner.example"],
            &message("next", "y")
        )
        .code,
        250
    );
    c.quit();
    let got = sink.wait_for(2, WAIT);
    assert_eq!(got.len(), 2, "each message exactly once");
    assert_eq!(
        got[0].rcpt_addrs(),
        ["b@partner.example", "c@partner.example"]
    );
    assert_eq!(got[0].header("Subject").as_deref(), Some("replayed"));
    assert!(sink.connections() >= 2, "a fresh connection was opened");
}

#[test]
fn next_hop_lost_at_data_twice_defers_with_451() {
    let sink = Sink::start(SinkConfig {
        drop_at_data: 2,
        ..SinkConfig::default()
    });
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send("a@corp.example", &["b@partner.example"], &message("s", "x"));
    assert_eq!(r.code, 451, "{r}");
    assert!(sink.messages().is_empty());
    assert_eq!(
        c.send("a@corp.example", &["b@partner.example"], &message("t", "y"))
            .code,
        250
    );
    c.quit();
}

/// Issue 9 item 13: in reflecting mode a message passes Sluice and then the MTA, each adding a
/// Received field. Mail that goes round again (forwarded back out through the MTA) is relayed each
/// time: the loop limit counts only what the message arrived with, one more per pass.
#[test]
fn reflected_mail_gets_one_received_per_pass_and_normal_mail_never_trips_the_loop_limit() {
    let home = Sink::start_default();
    let port = home.addr.port();
    let sluice = Sluice::start(&config(
        "",
        &format!("mode = \"reflect\"\nport = {port}"),
        "[server]\nhostname = \"sluice.corp.example\"",
    ));
    let mut text = format!(
        "Received: from a.example by mta.corp.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n{}",
        message("round", "x")
    );
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    for pass in 1..=5 {
        let r = c.send("a@corp.example", &["b@partner.example"], &text);
        assert_eq!(r.code, 250, "pass {pass}: {r}");
        let got = home.wait_for(pass, WAIT);
        let m = &got[pass - 1];
        let received = m.headers("Received");
        // One from the MTA before the first pass, then Sluice's and the MTA's per pass.
        assert_eq!(received.len(), 2 * pass, "pass {pass}: {received:?}");
        assert!(
            received[0].starts_with(
                "from client.test ([127.0.0.1])\tby sluice.corp.example (Sluice) with ESMTP id "
            ),
            "{received:?}"
        );
        // The MTA's reinjection adds its own before the message comes round again.
        text = format!(
            "Received: from sluice.corp.example by mta.corp.example; Mon, 1 Jan 2024 00:00:00 +0000\r\n{}",
            m.data_str()
        );
    }
    c.quit();
}
