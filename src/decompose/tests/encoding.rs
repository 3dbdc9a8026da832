//! Golden tests of badly transfer-encoded bodies (issue 9): every part type and nesting level is
//! decoded as mail clients decode it, and a body that did not decode cleanly is an anomaly.

use super::*;

const FALCON: &str = "UGxlYXNlIGtlZXAgdGhlIGZhbGNvbiBwbGFuIHNlY3JldC4NCg==";
/// The issue's example: one '!' outside the base64 alphabet.
const FALCON_BANG: &str = "UGxlYXNl!IGtlZXAgdGhlIGZhbGNvbiBwbGFuIHNlY3JldC4NCg==";

fn single(cte: &str, ctype: &str, body: &str) -> Vec<u8> {
    format!(
        "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: {ctype}\r\n\
         Content-Transfer-Encoding: {cte}\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

#[test]
fn one_byte_outside_the_alphabet_does_not_hide_a_text_body() {
    let expected = r#"
header:Subject "s"
body "Please keep the falcon plan secret.\r\n"
"#;
    check(
        &single("base64", "text/plain; charset=utf-8", FALCON),
        expected,
    );
    let malformed = format!(
        "{}\n! Malformed {{ path: \"body\", what: Encoding }}",
        expected.trim()
    );
    for body in [
        FALCON_BANG.to_string(),
        // A non-ASCII character.
        FALCON.replacen("IGtl", "IG\u{e9}tl", 1),
        // A trailing junk line after the padding.
        format!("{FALCON}\r\n-- \r\nSent from my phone."),
        // A lone '=' inside a quantum, which binascii skips.
        FALCON.replacen("IGtl", "IG=tl", 1),
    ] {
        let raw = single("base64", "text/plain; charset=utf-8", &body);
        let d = decompose(
            &raw,
            &crate::config::Config::embedded().unwrap().decomposition,
            &FakePdf,
            &NoBudget,
        );
        if body.contains("Sent from") {
            // Decoding goes on after the padding (concatenated base64): the junk adds bytes
            // after the text, which is what matters.
            let text = &d.parts[1].text;
            assert!(
                text.starts_with("Please keep the falcon plan secret.\r\n"),
                "{text}"
            );
            assert_eq!(
                d.anomalies,
                [Anomaly::Malformed {
                    path: "body".into(),
                    what: Malformation::Encoding
                }]
            );
        } else {
            check(&raw, &malformed);
        }
    }
}

#[test]
fn every_part_type_and_level_is_decoded_leniently() {
    let zip = zip_of(&[("plan.txt", b"the falcon plan".as_slice())]);
    let zip64 = fixture_base64(&zip);
    // Junk in the middle of the zip's base64, past its magic bytes.
    let bad_zip = format!("{}!{}", &zip64[..8], &zip64[8..]);
    let inner = format!(
        "From: b@example.com\r\nSubject: inner\r\nContent-Type: text/html; charset=utf-8\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        bang(&fixture_base64(b"<p>falcon <b>inner</b></p>"))
    );
    let inner64 = bang(&fixture_base64(inner.as_bytes()));
    let raw = format!(
        "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=b1\r\n\r\n\
         --b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n\
         --b2\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
         a==b the fal=63on =\r\nplan\r\n\
         --b2\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\
         --b2--\r\n\
         --b1\r\nContent-Type: application/zip; name=p.zip\r\nContent-Disposition: attachment; filename=p.zip\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{bad_zip}\r\n\
         --b1\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{inner64}\r\n\
         --b1--\r\n",
        bang(&fixture_base64(b"<p>the <b>falcon</b> html</p>")),
    );
    check(
        raw.as_bytes(),
        r#"
header:Subject "s"
body "a=b the falcon plan"
body "the falcon html"
attachment:p.zip [zip]
attachment:p.zip/plan.txt [text] "the falcon plan"
attachment:message-2.eml [eml]
attachment:message-2.eml/[Subject] "inner"
attachment:message-2.eml/[body] "falcon inner"
! Malformed { path: "body", what: Encoding }
! Malformed { path: "p.zip", what: Encoding }
! Malformed { path: "message-2.eml", what: Encoding }
! Malformed { path: "message-2.eml/[body]", what: Encoding }
"#,
    );
}

/// `s` with a '!' after its fourth character.
fn bang(s: &str) -> String {
    format!("{}!{}", &s[..4], &s[4..])
}

#[test]
fn quoted_printable_is_read_as_clients_read_it_and_never_by_mail_parser() {
    // mail-parser would read "= f" as the escape "=fa"; clients show "= falcon".
    check(
        &single(
            "quoted-printable",
            "text/plain; charset=utf-8",
            "see = falcon, fal=63on",
        ),
        r#"
header:Subject "s"
body "see = falcon, falcon\r\n"
! Malformed { path: "body", what: Encoding }
"#,
    );
    // A soft line break right before the boundary: mail-parser's decoder underflows there (a
    // panic in debug builds); it never runs.
    let raw = b"Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=\r\n--b\r\n\
Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=\r\n--b--\r\n";
    check(raw, "header:Subject \"s\"\nbody \"a\"\nbody");
    // The stand-in already in the input is an unknown encoding: the text is what it says.
    check(
        &single("x-sl-quoted-prnt", "text/plain; charset=utf-8", "fal=63on"),
        "header:Subject \"s\"\nbody \"fal=63on\\r\\n\"",
    );
}

#[test]
fn a_quoted_printable_part_after_a_repaired_body_is_still_decoded() {
    // The nested message makes the plain parse the one used; the repaired base64 body before the
    // quoted-printable part shifts its header, which must still be recognised as renamed here.
    // Junk longer than the part's header: a wrong shift would miss the stand-in.
    let junk = "!".repeat(300);
    let raw = format!(
        "Subject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n{FALCON_BANG}{junk}\r\n\
         --b\r\nContent-Type: text/plain; name=q.txt\r\nContent-Disposition: attachment; filename=q.txt\r\n\
         Content-Transfer-Encoding: quoted-printable\r\n\r\nfal=63on=\r\n two\r\n\
         --b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nhi\r\n--b--\r\n"
    );
    check(
        raw.as_bytes(),
        r#"
header:Subject "s"
body "Please keep the falcon plan secret.\r\n"
attachment:q.txt [text] "falcon two"
attachment:message-2.eml [eml]
attachment:message-2.eml/[Subject] "inner"
attachment:message-2.eml/[body] "hi"
! Malformed { path: "body", what: Encoding }
"#,
    );
}
