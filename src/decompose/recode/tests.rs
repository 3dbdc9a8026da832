//! `recode` against mail-parser itself: the same decomposition with and without the stand-ins.

use proptest::prelude::*;

use super::*;
use crate::decompose::{Decomposed, NoBudget, NoPdf, walk::Walker};

fn decompose_with(raw: &[u8], recode: bool) -> Decomposed {
    decompose_cut(raw, recode, true)
}

fn decompose_cut(raw: &[u8], recode: bool, cut: bool) -> Decomposed {
    let limits = crate::config::Config::embedded().unwrap().decomposition;
    let mut w = Walker::new(&limits, &NoPdf, &NoBudget);
    w.recode = recode;
    w.cut = cut;
    w.message(raw, None, 0);
    w.finish()
}

/// Decomposes `raw` recoded with and without cuts and asserts the results are equal.
fn same_cut_or_not(raw: &[u8]) {
    let cut = decompose_cut(raw, true, true);
    let whole = decompose_cut(raw, true, false);
    assert_eq!(cut.parts, whole.parts, "{}", String::from_utf8_lossy(raw));
    assert_eq!(cut.anomalies, whole.anomalies);
}

/// Decomposes `raw` both ways and asserts the results are equal; returns the recoded one.
fn same(raw: &[u8]) -> Decomposed {
    let fast = decompose_with(raw, true);
    let plain = decompose_with(raw, false);
    assert_eq!(fast.parts, plain.parts, "{}", String::from_utf8_lossy(raw));
    assert_eq!(fast.anomalies, plain.anomalies);
    fast
}

/// Whether the recoded parse of `raw` is the one used (cut or not).
fn recoded(raw: &[u8]) -> bool {
    rename(raw).is_some_and(|mut r| cut_used(&r) || (r.uncut(), uncut_used(&r)).1)
}

/// Whether the recoded parse of the cut input is usable.
fn cut_used(r: &Renamed) -> bool {
    r.is_cut()
        && mail_parser::MessageParser::default()
            .parse(r.input())
            .is_some_and(|m| r.usable(&m))
}

fn uncut_used(r: &Renamed) -> bool {
    mail_parser::MessageParser::default()
        .parse(r.bytes.as_slice())
        .is_some_and(|m| r.usable(&m))
}

fn multipart(parts: &[(&str, &str)]) -> Vec<u8> {
    let mut m = String::from(
        "From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n",
    );
    for (headers, body) in parts {
        m.push_str(&format!("--b1\r\n{headers}\r\n\r\n{body}\r\n"));
    }
    m.push_str("--b1--\r\n");
    m.into_bytes()
}

fn lines76(s: &str) -> String {
    s.as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[test]
fn renames_only_header_values_and_records_where() {
    let raw = b"Content-Type: text/plain; charset=\"US-ASCII\"\r\nContent-Transfer-Encoding:\r\n Base64\r\nX: base64\r\n\r\nContent-Transfer-Encoding: base64x\r\n";
    let r = rename(raw).unwrap();
    let text = String::from_utf8_lossy(&r.bytes);
    assert!(text.starts_with(
        "Content-Type: text/plain; charset=\"x-slasci\"\r\nContent-Transfer-Encoding:\r\n x-sl64\r\nX: base64"
    ));
    assert!(text.ends_with("base64x\r\n"), "not a whole value");
    assert_eq!(r.bytes.len(), raw.len());
    assert_eq!(r.base64_at.len(), 1);
    assert_eq!(r.ascii_at.len(), 1);
    assert!(rename(b"Subject: base64 and us-ascii\r\n\r\nhello").is_none());
}

#[test]
fn base64_attachments_and_text_bodies_decode_as_mail_parser_does() {
    let zip = lines76(&encode(b"PK\x03\x04 not really a zip \x00\x01\x02\xff"));
    let utf8 = lines76(&encode(
        "caf\u{e9} 4111 1111 1111 1111 r\u{e9}sum\u{e9}".as_bytes(),
    ));
    let latin1 = lines76(&encode(b"caf\xe9 na\xefve"));
    let utf16 = encode(b"\xff\xfeh\x00i\x00");
    let html = encode(b"<p>the <b>secret</b> plan</p>");
    let raw = multipart(&[
        (
            "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: base64",
            &utf8,
        ),
        (
            "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: BASE64",
            &latin1,
        ),
        (
            "Content-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64",
            &utf16,
        ),
        (
            "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64",
            &html,
        ),
        (
            "Content-Type: application/zip; name=a.zip\r\nContent-Disposition: attachment; filename=a.zip\r\nContent-Transfer-Encoding: base64",
            &zip,
        ),
        (
            "Content-Type: text/plain; charset=utf-8; name=t.txt\r\nContent-Disposition: attachment; filename=t.txt\r\nContent-Transfer-Encoding: base64",
            &utf8,
        ),
        (
            "Content-Type: text/plain; charset=us-ascii",
            "plain ascii body",
        ),
    ]);
    assert!(recoded(&raw));
    let r = rename(&raw).unwrap();
    assert!(cut_used(&r), "the base64 bodies are cut out of the parse");
    assert_eq!(r.cuts.len(), 7, "six base64 bodies and the us-ascii text");
    assert!(r.input().len() < raw.len());
    let d = same(&raw);
    assert!(
        d.parts
            .iter()
            .any(|p| p.text.contains("4111 1111 1111 1111"))
    );
}

#[test]
fn cuts_that_do_not_match_the_parse_fall_back_to_the_whole_message() {
    let b64 = lines76(&encode(b"secret plans 4111 1111 1111 1111"));
    // A header quoted in a UTF-8 text body, with a blank line after it: its "body" is no part's.
    let quoted = "see below\r\nContent-Transfer-Encoding: base64\r\n\r\nnot base64\r\n-- at all";
    // The first "--" after a base64 body is not the boundary: mail-parser reads on.
    let dashes = format!("{b64}\r\n--not-the-boundary\r\n{b64}");
    for (headers, body) in [
        ("Content-Type: text/plain; charset=utf-8", quoted),
        (
            "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64",
            dashes.as_str(),
        ),
    ] {
        let raw = multipart(&[
            (headers, body),
            (
                "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64",
                &b64,
            ),
        ]);
        let r = rename(&raw).unwrap();
        assert!(r.is_cut());
        // The quoted header's "body" is no part's. (The base64 body with dashes is decoded from
        // both of its pieces: its cut parse is usable.)
        assert_eq!(cut_used(&r), body == dashes, "{body}");
        same_cut_or_not(&raw);
        same(&raw);
    }
    // The same quoted header in a us-ascii body: one cut starts that body and runs to the "--",
    // but a stand-in in a body keeps the renamed parse from being used at all.
    let raw = multipart(&[("Content-Type: text/plain; charset=us-ascii", quoted)]);
    let mut r = rename(&raw).unwrap();
    assert_eq!(r.cuts.len(), 1);
    assert!(!cut_used(&r));
    r.uncut();
    assert!(!uncut_used(&r));
    let d = same(&raw);
    assert!(d.parts.iter().any(|p| p.text.contains("Encoding: base64")));
    // Bodies ending without a line break before the boundary, LF-only lines, a single part.
    same(
        format!(
            "Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{b64}--b\r\n\
             Content-Transfer-Encoding: base64\n\n{b64}\n--b--"
        )
        .as_bytes(),
    );
    let single = format!("Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n");
    assert!(cut_used(&rename(single.as_bytes()).unwrap()));
    same(single.as_bytes());
    // Quoted-printable us-ascii text is decoded from its raw bytes: its cut is not used. (mail-parser
    // 0.11's own decoder, which overflows on a body ending in "=" before the boundary, never runs:
    // the property test below has such bodies.)
    let raw = multipart(&[(
        "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable",
        "caf=C3=A9 =\r\nsoft break\r\nmore",
    )]);
    assert!(!cut_used(&rename(&raw).unwrap()));
    same(&raw);
    let text =
        "Subject: x\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nhello\r\n-- \r\nsig\r\n";
    assert!(cut_used(&rename(text.as_bytes()).unwrap()));
    same(text.as_bytes());
}

#[test]
fn eight_bit_text_labelled_us_ascii_is_parsed_as_it_came() {
    let raw = multipart(&[
        (
            "Content-Type: text/plain; charset=US-ASCII",
            "8-bit: caf\u{e9}",
        ),
        (
            "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: base64",
            "aGk=",
        ),
    ]);
    assert!(!recoded(&raw));
    same(&raw);
}

#[test]
fn odd_base64_falls_back_or_decodes_the_same() {
    for body in [
        "aGk=aGk=",             // padding in the middle: decoding goes on
        "aGVsbG8gd29ybGQ",      // an unfinished last quantum is dropped
        "aGVs bG8g\td29y-bGQh", // spaces, tabs and a single '-'
        "aGVsbG8--gd29ybGQh",   // "--" that is not the boundary: an encoding error
        "aGVsbG8!d29ybGQh",     // a byte outside the alphabet: an encoding error
        "a===",
        "",
    ] {
        same(&multipart(&[
            (
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64",
                body,
            ),
            (
                "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64",
                body,
            ),
        ]));
    }
}

#[test]
fn nested_messages_and_single_part_messages() {
    let inner = "From: x@example.com\r\nSubject: inner\r\nContent-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: base64\r\n\r\nc2VjcmV0IHBsYW5z\r\n";
    let outer = multipart(&[
        ("Content-Type: text/plain; charset=us-ascii", "outer"),
        ("Content-Type: message/rfc822", inner),
    ]);
    assert!(!recoded(&outer), "nested: parsed as it came");
    same(&outer);
    same(inner.as_bytes());
    same(b"Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\nc2Vj--cmV0\r\n");
}

#[test]
fn a_stand_in_in_the_input_is_not_trusted() {
    // To mail-parser (and a mail reader) this is an unknown encoding: the text is what it says.
    let raw = multipart(&[
        (
            "Content-Type: text/plain; charset=x-slasci\r\nContent-Transfer-Encoding: x-sl64",
            "card 4111 1111 1111 1111",
        ),
        (
            "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: base64",
            "aGk=",
        ),
    ]);
    assert!(recoded(&raw));
    let d = same(&raw);
    assert!(
        d.parts
            .iter()
            .any(|p| p.text.contains("4111 1111 1111 1111"))
    );
    assert!(d.parts.iter().any(|p| p.text == "hi"));
}

proptest! {
    #[test]
    fn any_base64ish_body_decomposes_as_without_recode(
        body in prop::collection::vec(prop::sample::select(
            b"AQZaqz09+/==  \t\r\n\r\n-!\xc3\xa9".to_vec()), 0..200),
        text in any::<bool>(),
    ) {
        let body = String::from_utf8_lossy(&body);
        let ctype = if text { "text/plain; charset=us-ascii" } else { "application/octet-stream" };
        let raw = multipart(&[(
            &format!("Content-Type: {ctype}\r\nContent-Transfer-Encoding: base64"),
            &body,
        )]);
        let fast = decompose_with(&raw, true);
        let plain = decompose_with(&raw, false);
        prop_assert_eq!(fast.parts, plain.parts);
        prop_assert_eq!(fast.anomalies, plain.anomalies);
    }

    /// Several parts, base64 or not, with bodies that may hold dashes, boundaries of other
    /// levels, blank lines and header-like lines: cut or not, the same decomposition.
    #[test]
    fn cut_parses_decompose_as_without_recode(
        parts in prop::collection::vec((
            prop::sample::select(vec![
                "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64",
                "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: base64",
                "Content-Type: text/plain; charset=us-ascii",
                "Content-Type: text/html; charset=\"US-ASCII\"\r\nContent-Transfer-Encoding: 7bit",
                "Content-Type: application/octet-stream; charset=us-ascii",
                "Content-Type: text/plain; charset=us-ascii; name=a.txt\r\nContent-Disposition: attachment",
                "Content-Type: multipart/mixed; boundary=b2\r\nContent-Transfer-Encoding: base64",
                "Content-Type: multipart/mixed; boundary=b2; charset=us-ascii",
                "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable",
            ]),
            prop::collection::vec(prop::sample::select(vec![
                "aGVsbG8g", "d29ybGQh", "\r\n", "\n", "--", "--b1", "--b2", "-", "=", " ",
                "\r\n\r\n", "Content-Transfer-Encoding: base64\r\n", "x", "<p>", "=41", "\u{e9}",
                "Content-Type: text/plain; charset=us-ascii\r\n",
            ]), 0..12).prop_map(|v| v.concat()),
        ), 1..4),
    ) {
        let parts: Vec<(&str, &str)> = parts.iter().map(|(h, b)| (*h, b.as_str())).collect();
        let raw = multipart(&parts);
        let cut = decompose_cut(&raw, true, true);
        let whole = decompose_cut(&raw, true, false);
        prop_assert_eq!(&cut.parts, &whole.parts);
        prop_assert_eq!(&cut.anomalies, &whole.anomalies);
        {
            let plain = decompose_with(&raw, false);
            prop_assert_eq!(cut.parts, plain.parts);
            prop_assert_eq!(cut.anomalies, plain.anomalies);
        }
    }

    /// The fast decoder gives what the lenient one does whenever it takes the input.
    #[test]
    fn fast_decode_matches_the_lenient_rules(body in prop::collection::vec(prop::sample::select(
            b"AQZaqz09+/=\r\n".to_vec()), 0..200)) {
        if let Some(fast) = decode_lines(&body) {
            prop_assert_eq!(fast, crate::decompose::transfer::base64(&body).bytes);
        }
    }
}
