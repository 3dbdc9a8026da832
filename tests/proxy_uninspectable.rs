//! Issue 9 through the real binary: content hidden by a broken transfer encoding, archives and
//! PDFs that common tools read, and the fail-closed default for what Sluice still cannot read
//! (policy 160 of the shipped set holds it for an administrator).

mod support;

use std::time::Duration;

use support::client::Reply;
use support::mime::{b64, pdf_with_page, zip_by, zip_of};
use support::sink::Sink;
use support::sluice::Sluice;

const WAIT: Duration = Duration::from_secs(5);
const DEFAULT_SET: &str = include_str!("../assets/policies/default.toml");

const FALCON: &str = r#"
[[policy]]
id = 1
name = "Falcon"
action = "block"
reply = "Project falcon stays inside"
keywords = ["falcon"]
"#;

/// A single-part message whose body is sent as `cte` exactly as given.
fn single(cte: &str, body: &str) -> String {
    format!(
        "From: <a@corp.example>\r\nTo: <b@partner.example>\r\nSubject: note\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: {cte}\r\n\r\n{body}\r\n"
    )
}

/// `base64` with a '!' after its eighth character.
fn bang(base64: &str) -> String {
    format!("{}!{}", &base64[..8], &base64[8..])
}

#[test]
fn one_byte_outside_the_base64_alphabet_no_longer_hides_the_body() {
    let (sink, sluice) = start(FALCON);
    for body in [
        "UGxlYXNlIGtlZXAgdGhlIGZhbGNvbiBwbGFuIHNlY3JldC4NCg==",
        "UGxlYXNl!IGtlZXAgdGhlIGZhbGNvbiBwbGFuIHNlY3JldC4NCg==",
    ] {
        let r = send(&sluice, &single("base64", body));
        assert_eq!(
            (r.code, r.text.as_str()),
            (550, "5.7.1 Project falcon stays inside"),
            "{body}"
        );
    }
    // Quoted-printable read as clients read it: "==" is a literal '=', not the start of "=fa".
    let r = send(&sluice, &single("quoted-printable", "the ==falcon plan"));
    assert_eq!(r.code, 550, "{r}");
    assert!(sink.messages().is_empty());
}

#[test]
fn the_default_set_sees_secrets_behind_a_broken_encoding() {
    let (sink, sluice) = start(DEFAULT_SET);
    let secrets = "card 4111 1111 1111 1111, SSN 536-22-8714, key AKIAIOSFODNN7EXAMPLE\r\n";
    let body = bang(&b64(secrets.as_bytes()));
    let r = send(&sluice, &single("base64", &body));
    assert_eq!(
        (r.code, r.text.as_str()),
        (
            550,
            "5.7.1 Message blocked: it contains credentials or a private key"
        )
    );
    assert!(sluice.wait_log("policy violation", WAIT));
    let logs = sluice.logs().join("\n");
    for id in ["100", "110", "130", "160"] {
        assert!(logs.contains(&format!("policy {id} ")), "{id}: {logs}");
    }
    assert!(!logs.contains("4111 1111"), "{logs}");
    assert!(sink.messages().is_empty());
}

#[test]
fn archives_and_pdfs_that_common_tools_read_are_inspected() {
    let (sink, sluice) = start(FALCON);
    let plan: &[u8] = b"the falcon plan";
    let mut prepended = vec![0x5au8; 4096];
    prepended[0] = 0;
    prepended.extend_from_slice(&zip_of(&[("plan.txt", plan)]));
    let no_media_box = pdf_with_page(
        &["the falcon plan"],
        "/Resources << /Font << /F1 5 0 R >> >>",
    );
    for (name, data) in [
        (
            "bz.zip",
            zip_by(zip::CompressionMethod::Bzip2, &[("plan.txt", plan)]),
        ),
        (
            "zst.zip",
            zip_by(zip::CompressionMethod::Zstd, &[("plan.txt", plan)]),
        ),
        ("sfx.zip", prepended),
        ("plan.pdf", no_media_box),
    ] {
        let r = send(&sluice, &attached(name, &data));
        assert_eq!(r.code, 550, "{name}: {r}");
    }
    assert!(sink.messages().is_empty());
}

#[test]
fn the_default_set_holds_what_cannot_be_inspected() {
    let (sink, sluice) = start(DEFAULT_SET);
    // A zip entry in a method nothing here reads (PPMd): held for an administrator.
    let mut z = zip_by(zip::CompressionMethod::Stored, &[("plan.txt", b"the plan")]);
    for (sig, at) in [(&b"PK\x03\x04"[..], 8), (b"PK\x01\x02", 10)] {
        let p = memchr::memmem::find(&z, sig).expect("zip header") + at;
        z[p..p + 2].copy_from_slice(&98u16.to_le_bytes());
    }
    let r = send(&sluice, &attached("odd.zip", &z));
    assert_eq!(r.code, 250, "{r}");
    assert!(r.text.contains("held as"), "{r}");
    // A body whose base64 is broken, with nothing sensitive in it: held too (fail closed).
    let r = send(&sluice, &single("base64", &bang(&b64(b"lunch at noon?"))));
    assert!(r.code == 250 && r.text.contains("held as"), "{r}");
    assert!(sluice.wait_log("message held", WAIT));
    let logs = sluice.logs().join("\n");
    assert!(
        logs.contains("uninspectable x1 in odd.zip/plan.txt (unsupported)"),
        "the log names place and reason: {logs}"
    );
    assert!(
        logs.contains("uninspectable x1 in body (encoding)"),
        "{logs}"
    );
    // Clean mail, with archives and office documents, still flows.
    let r = send(
        &sluice,
        &attached("notes.zip", &zip_of(&[("a.txt", b"hello")])),
    );
    assert_eq!(r.code, 250, "{r}");
    assert!(!r.text.contains("held"), "{r}");
    assert_eq!(sink.wait_for(1, WAIT).len(), 1);
}

/// A message with one base64 attachment.
fn attached(name: &str, data: &[u8]) -> String {
    support::mime::with_attachment("files", "see attached", name, data)
}

fn start(policies: &str) -> (Sink, Sluice) {
    support::sluice::start_forwarding(policies)
}

fn send(sluice: &Sluice, message: &str) -> Reply {
    support::client::send_one(sluice.addr, message)
}
