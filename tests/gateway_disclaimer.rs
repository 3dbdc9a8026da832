//! Disclaimers on a gateway listener (issue 14, seed 004 8.7): outbound mail from the configured
//! sender domains gets the text in its text/plain part and the HTML in its text/html part, once
//! even when it comes through twice; internal and inbound mail and other senders get none; an
//! S/MIME message signed by `openssl smime -sign` still verifies after delivery.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use mail_parser::MessageParser;
use support::client::Client;
use support::gateway::gateway_config;
use support::sink::Sink;
use support::sluice::Sluice;
use support::smime;

const WAIT: Duration = Duration::from_secs(30);
const TEXT: &str = "This e-mail is confidential.";
const HTML: &str = "<p class=\"disclaimer\">This e-mail is confidential.</p>";

/// A gateway listener delivering everything to `hop` (a route for the local domain, the smart
/// host for the rest), with these relay clients.
fn gateway(hop: SocketAddr, relay_clients: &str) -> String {
    gateway_config(
        hop,
        &format!("relay_clients = [{relay_clients}]\nsmart_host = \"{hop}\""),
        &format!(
            "[[disclaimer]]\nname = \"legal\"\nsender_domains = [\"corp.example\"]\ntext = \"{TEXT}\"\nhtml = '{HTML}'\n"
        ),
    )
}

fn alternative(from: &str, to: &str, subject: &str) -> String {
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
         --alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello Bob\r\n\
         --alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Hello Bob</p></body></html>\r\n\
         --alt--\r\n"
    )
}

fn send(sluice: &Sluice, from: &str, to: &str, message: &str) {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(from, &[to], message);
    assert_eq!(r.code, 250, "{r}");
    c.quit();
}

/// The delivered message with this subject, waiting for it.
fn delivered(sink: &Sink, subject: &str) -> String {
    let start = std::time::Instant::now();
    loop {
        if let Some(m) = sink
            .messages()
            .iter()
            .find(|m| m.header("Subject").is_some_and(|s| s.trim() == subject))
        {
            return m.data_str();
        }
        assert!(start.elapsed() < WAIT, "{subject} not delivered");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// (plain text, HTML) of a message's body parts.
fn bodies(data: &str) -> (String, String) {
    let msg = MessageParser::default().parse(data.as_bytes()).unwrap();
    (
        msg.body_text(0).unwrap().into_owned(),
        msg.body_html(0).unwrap().into_owned(),
    )
}

#[test]
fn outbound_mail_of_the_sender_domains_gets_the_disclaimer_once() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&gateway(sink.addr, "\"127.0.0.1\""));
    send(
        &sluice,
        "a@corp.example",
        "b@partner.example",
        &alternative("a@corp.example", "b@partner.example", "out"),
    );
    let first = delivered(&sink, "out");
    let (text, html) = bodies(&first);
    assert!(
        text.starts_with("Hello Bob") && text.trim_end().ends_with(TEXT),
        "{first}"
    );
    assert!(html.contains(&format!("{HTML}\r\n</body>")), "{first}");

    // The delivered message through the gateway again: still one disclaimer in each part.
    let again = first.replace("Subject: out", "Subject: out again");
    send(&sluice, "a@corp.example", "b@partner.example", &again);
    let second = delivered(&sink, "out again");
    let (text, html) = bodies(&second);
    assert_eq!(text.matches(TEXT).count(), 1, "{second}");
    assert_eq!(html.matches(HTML).count(), 1, "{second}");
    let msg = MessageParser::default().parse(second.as_bytes()).unwrap();
    assert_eq!(
        msg.header_values("X-Sluice-Disclaimer").count(),
        1,
        "{second}"
    );

    // Internal mail and another sender domain's: none.
    send(
        &sluice,
        "a@corp.example",
        "c@corp.example",
        &alternative("a@corp.example", "c@corp.example", "internal"),
    );
    send(
        &sluice,
        "a@other.example",
        "b@partner.example",
        &alternative("a@other.example", "b@partner.example", "other"),
    );
    for subject in ["internal", "other"] {
        let data = delivered(&sink, subject);
        assert!(
            !data.contains(TEXT) && !data.contains("X-Sluice-Disclaimer"),
            "{data}"
        );
    }
}

#[test]
fn inbound_mail_gets_no_disclaimer() {
    let sink = Sink::start_default();
    // No relay client: mail from 127.0.0.1 is inbound, to the local domain only.
    let sluice = Sluice::start(&gateway(sink.addr, ""));
    send(
        &sluice,
        "a@corp.example",
        "b@corp.example",
        &alternative("a@corp.example", "b@corp.example", "in"),
    );
    let data = delivered(&sink, "in");
    assert!(!data.contains(TEXT), "{data}");
}

#[test]
fn an_smime_signed_message_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let signed = smime::signed(dir.path(), "a@corp.example", "b@partner.example");
    let sink = Sink::start_default();
    let sluice = Sluice::start(&gateway(sink.addr, "\"127.0.0.1\""));
    send(
        &sluice,
        "a@corp.example",
        "b@partner.example",
        std::str::from_utf8(&signed).unwrap(),
    );
    let data = delivered(&sink, "signed");
    assert!(data.contains(TEXT), "{data}");
    // The signed original, byte for byte, next to the disclaimer; its signature verifies.
    smime::assert_still_verifies(dir.path(), &signed, &data);
}

#[test]
fn a_marker_field_the_sender_forged_does_not_suppress_the_disclaimer() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&gateway(sink.addr, "\"127.0.0.1\""));
    let forged = format!(
        "X-Sluice-Disclaimer: legal\r\nX-Sluice-Notice: alert\r\n{}",
        alternative("a@corp.example", "b@partner.example", "forged")
    );
    send(&sluice, "a@corp.example", "b@partner.example", &forged);
    let data = delivered(&sink, "forged");
    let (text, html) = bodies(&data);
    assert!(text.trim_end().ends_with(TEXT), "{data}");
    assert!(html.contains(HTML), "{data}");
    // Only the marker Sluice added itself; the forged notice field is gone.
    let msg = MessageParser::default().parse(data.as_bytes()).unwrap();
    assert_eq!(
        msg.header_values("X-Sluice-Disclaimer").count(),
        1,
        "{data}"
    );
    assert_eq!(msg.header_values("X-Sluice-Notice").count(), 0, "{data}");
}
