//! End-to-end tests of TLS through the real binary: STARTTLS from the upstream (with the certificate
//! Sluice generated in its data dir) and STARTTLS to the next hop (mirror, always, failures).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use support::client::{Client, message};
use support::sink::{Sink, SinkConfig};
use support::sluice::{Sluice, config, hosts_relay};

const WAIT: Duration = Duration::from_secs(5);
const FROM: &str = "a@corp.example";
const TO: &str = "b@partner.example";

fn tls_sink() -> Sink {
    Sink::start(SinkConfig {
        starttls: true,
        ..SinkConfig::default()
    })
}

/// Writes `pem` to a file in `dir` and returns its path.
fn pem_file(dir: &tempfile::TempDir, name: &str, pem: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, pem).expect("write PEM");
    path
}

/// Sluice forwarding to `sink`, trusting `anchor`, with extra `[relay]` keys.
fn start(sink: &Sink, anchor: &std::path::Path, relay_extra: &str) -> Sluice {
    let relay = format!(
        "{}\ntrust_anchors = [\"{}\"]\n{relay_extra}",
        hosts_relay(&[sink.addr]),
        anchor.display()
    );
    Sluice::start(&config("", &relay, ""))
}

/// A session upgraded with STARTTLS (trusting the certificate Sluice generated) and EHLO'd again.
fn tls_session(sluice: &Sluice) -> Client {
    let mut c = Client::connect(sluice.addr);
    c.set_read_timeout(WAIT);
    let ehlo = c.ehlo();
    assert!(
        ehlo.text.lines().any(|l| l == "STARTTLS"),
        "STARTTLS must be offered: {ehlo}"
    );
    let mut c = c.starttls(&sluice.cert_pem(), "localhost");
    let ehlo = c.ehlo();
    assert!(
        !ehlo.text.lines().any(|l| l == "STARTTLS"),
        "STARTTLS is not offered again inside TLS: {ehlo}"
    );
    c
}

#[test]
fn tls_upstream_is_relayed_over_tls_to_a_trusted_next_hop() {
    let dir = tempfile::tempdir().unwrap();
    let sink = tls_sink();
    let sluice = start(&sink, &pem_file(&dir, "sink.pem", &sink.cert_pem()), "");
    let mut c = tls_session(&sluice);
    let r = c.send(FROM, &[TO], &message("over tls", "x"));
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, WAIT);
    assert!(got[0].tls, "the next hop must have been reached over TLS");
    assert_eq!(got[0].header("Subject").as_deref(), Some("over tls"));
    c.quit();
    // Issue 10, item 13: the relay log line says TLS was used and verified, and its version.
    assert!(sluice.wait_log("message relayed", WAIT));
    let line = sluice.log_line("message relayed").expect("a relayed line");
    assert!(
        line.contains("tls=verified") && line.contains("tls_version=TLSv1.3"),
        "{line}"
    );
}

#[test]
fn tls_upstream_with_a_next_hop_without_starttls_gets_451_4_7_5_at_mail() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start_default();
    let sluice = start(&sink, &pem_file(&dir, "sink.pem", &sink.cert_pem()), "");
    let mut c = tls_session(&sluice);
    let r = c.cmd("MAIL FROM:<a@corp.example>");
    assert_eq!(r.code, 451, "{r}");
    assert!(r.text.starts_with("4.7.5 "), "{r}");
    assert_eq!(
        c.cmd("RCPT TO:<b@partner.example>").code,
        503,
        "no transaction was opened"
    );
    assert_eq!(c.cmd("NOOP").code, 250, "the session stays usable");
    c.quit();
    assert!(sink.messages().is_empty());
}

#[test]
fn tls_failure_plaintext_sends_in_clear_when_the_next_hop_has_no_starttls() {
    let dir = tempfile::tempdir().unwrap();
    let sink = Sink::start_default();
    let sluice = start(
        &sink,
        &pem_file(&dir, "sink.pem", &sink.cert_pem()),
        "tls_failure = \"plaintext\"",
    );
    let mut c = tls_session(&sluice);
    let r = c.send(FROM, &[TO], &message("downgraded", "x"));
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, WAIT);
    assert!(!got[0].tls);
    assert_eq!(got[0].header("Subject").as_deref(), Some("downgraded"));
    c.quit();
}

#[test]
fn plaintext_upstream_is_relayed_without_tls_in_mirror_mode() {
    let dir = tempfile::tempdir().unwrap();
    let sink = tls_sink();
    let sluice = start(&sink, &pem_file(&dir, "sink.pem", &sink.cert_pem()), "");
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    assert_eq!(c.send(FROM, &[TO], &message("clear", "x")).code, 250);
    let got = sink.wait_for(1, WAIT);
    assert!(
        !got[0].tls,
        "mirror mode: a plaintext upstream session is relayed in clear"
    );
    c.quit();
    assert!(sluice.wait_log("message relayed", WAIT));
    let line = sluice.log_line("message relayed").expect("a relayed line");
    assert!(line.contains("tls=none"), "{line}");
}

#[test]
fn starttls_always_uses_tls_to_the_next_hop_for_a_plaintext_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let sink = tls_sink();
    let sluice = start(
        &sink,
        &pem_file(&dir, "sink.pem", &sink.cert_pem()),
        "starttls = \"always\"",
    );
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    assert_eq!(c.send(FROM, &[TO], &message("always", "x")).code, 250);
    assert!(sink.wait_for(1, WAIT)[0].tls);
    c.quit();
}

#[test]
fn untrusted_next_hop_certificate_gets_451_4_7_5_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let sink = tls_sink();
    let stranger = tls_sink();
    let sluice = start(
        &sink,
        &pem_file(&dir, "other.pem", &stranger.cert_pem()),
        "",
    );
    let mut c = tls_session(&sluice);
    let r = c.cmd("MAIL FROM:<a@corp.example>");
    assert_eq!(r.code, 451, "{r}");
    assert!(r.text.starts_with("4.7.5 "), "{r}");
    c.quit();
    assert!(sink.messages().is_empty());
    assert!(stranger.messages().is_empty());
    // Issue 10, item 13: the failure is logged in plain words, with what to do.
    assert!(sluice.wait_log("next hop failed", WAIT));
    let line = sluice.log_line("next hop failed").expect("a failure line");
    assert!(
        line.contains("the next hop's certificate is not signed")
            && line.contains("relay.trust_anchors")
            && !line.contains("invalid peer certificate"),
        "{line}"
    );
}

#[test]
fn plaintext_pipelined_after_starttls_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let sink = tls_sink();
    let sluice = start(&sink, &pem_file(&dir, "sink.pem", &sink.cert_pem()), "");
    let mut c = Client::connect(sluice.addr);
    c.set_read_timeout(WAIT);
    c.ehlo();
    let mut c = c.starttls_pipelined(
        "HELP\r\nMAIL FROM:<evil@x>\r\n",
        &sluice.cert_pem(),
        "localhost",
    );
    // Had the injected commands survived, their replies (214, 503) would come before EHLO's.
    let ehlo = c.cmd("EHLO client.test");
    assert_eq!(ehlo.code, 250, "{ehlo}");
    assert!(
        ehlo.text.lines().next().unwrap().contains("Hello"),
        "{ehlo}"
    );
    assert_eq!(c.cmd("NOOP").code, 250);
    assert_eq!(c.send(FROM, &[TO], &message("after tls", "x")).code, 250);
    let got = sink.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].mail_from_addr(), FROM);
    c.quit();
}

/// Issue 9 item 13: `server.hostname` is documented to appear in Received headers, but Sluice added
/// none. Now every relayed message gets one on top, recording the inbound TLS session as Postfix does.
#[test]
fn relayed_mail_carries_sluices_received_header_with_the_tls_session() {
    let dir = tempfile::tempdir().unwrap();
    let sink = tls_sink();
    let relay = format!(
        "{}\ntrust_anchors = [\"{}\"]\n",
        hosts_relay(&[sink.addr]),
        pem_file(&dir, "sink.pem", &sink.cert_pem()).display()
    );
    let sluice = Sluice::start(&config(
        "",
        &relay,
        "[server]\nhostname = \"sluice.corp.example\"",
    ));
    let mut c = tls_session(&sluice);
    let r = c.send(FROM, &[TO], &message("traced", "x"));
    assert_eq!(r.code, 250, "{r}");
    let id = r
        .text
        .split("id=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let got = sink.wait_for(1, WAIT);
    let received = got[0].headers("Received");
    assert_eq!(received.len(), 1, "{}", got[0].data_str());
    let head = String::from_utf8_lossy(got[0].header_bytes()).into_owned();
    assert!(head.starts_with("Received: "), "on top: {head}");
    let r = &received[0];
    assert!(
        r.starts_with("from client.test ([127.0.0.1])\t(using TLSv1.3 with cipher TLS_"),
        "{r}"
    );
    assert!(
        r.contains(" bits))\tby sluice.corp.example (Sluice) with ESMTPS id "),
        "{r}"
    );
    assert!(r.contains(&format!("id {id}\tfor <{TO}>; ")), "{r}");
    assert!(r.ends_with(" +0000"), "{r}");
    c.quit();
}
