//! Golden tests of the whole decomposition on fixture messages built here: every container and
//! document type, nesting, encryption, malformed input, bombs and every limit.

mod encoding;
mod fixture;
mod readable;
mod sevenz;

use std::cell::Cell;

use super::*;
use fixture::*;

/// The shipped limits (assets/sluice.toml).
fn embedded_limits() -> Limits {
    crate::config::Config::embedded().unwrap().decomposition
}

/// One line per part (`location [type flags] "text"`) then one per anomaly (`! ...`).
fn render(d: &Decomposed) -> String {
    let mut out = String::new();
    for p in &d.parts {
        out.push_str(&p.location.to_string());
        if let Some(f) = &p.file {
            out.push_str(&format!(" [{}", f.true_type.name()));
            if f.encrypted {
                out.push_str(" encrypted");
            }
            out.push(']');
        }
        if !p.text.is_empty() {
            out.push_str(&format!(" {:?}", p.text));
        }
        out.push('\n');
    }
    for a in &d.anomalies {
        out.push_str(&format!("! {a:?}\n"));
    }
    out
}

fn check(raw: &[u8], expected: &str) {
    check_with(raw, &embedded_limits(), expected);
}

fn check_with(raw: &[u8], limits: &Limits, expected: &str) {
    let d = decompose(raw, limits, &FakePdf, &NoBudget);
    let got = render(&d);
    assert_eq!(got.trim(), expected.trim(), "\n--- got ---\n{got}");
}

/// Turns `%PDF-` files whose body is `TEXT:...` into that text; anything else is malformed.
struct FakePdf;

impl PdfText for FakePdf {
    fn text(&self, pdf: &[u8]) -> Result<String, PdfError> {
        let s = String::from_utf8_lossy(pdf);
        match s.split_once("TEXT:") {
            Some((_, t)) => Ok(t.trim().to_string()),
            None => Err(PdfError::Malformed),
        }
    }
}

#[test]
fn headers_and_bodies_with_identical_alternatives_counted_once() {
    let raw = b"From: \"Alice Example\" <alice@example.com>\r\nTo: Bob <bob@example.com>, carol@example.com\r\n\
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
the pro=\r\nject is secret\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>the <b>project</b> is secret</p>\r\n--b--\r\n";
    check(
        raw,
        r#"
header:Subject "Grüße"
header:From "Alice Example"
header:To "Bob"
body "the project is secret"
"#,
    );
}

#[test]
fn a_differing_html_alternative_is_kept() {
    let raw = b"Subject: x\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nnothing here\r\n--b\r\nContent-Type: text/html\r\n\r\n\
<p>nothing here</p><div style=\"display:none\">4111 1111 1111 1111</div>\r\n--b--\r\n";
    check(
        raw,
        r#"
header:Subject "x"
body "nothing here"
body "nothing here\n4111 1111 1111 1111"
"#,
    );
}

#[test]
fn text_attachment_charset_and_true_types_regardless_of_names() {
    let zip = zip_of(&[("a.txt", b"inside")]);
    let raw = mail(
        "files",
        "see attached",
        &[
            Att::new(
                "notes.txt",
                "text/plain; charset=iso-8859-1",
                b"caf\xe9 ol\xe9",
            ),
            Att::new("report.txt", "text/plain", &zip),
            Att::new("invoice.pdf", "application/pdf", &exe()),
            Att::new("photo.jpg", "image/jpeg", b"\x89PNG\r\n\x1a\n0000"),
        ],
    );
    check(
        &raw,
        r#"
header:Subject "files"
body "see attached"
attachment:notes.txt [text] "café olé"
attachment:report.txt [zip]
attachment:report.txt/a.txt [text] "inside"
attachment:invoice.pdf [exe]
attachment:photo.jpg [png]
"#,
    );
    let d = decompose(&raw, &embedded_limits(), &FakePdf, &NoBudget);
    let pdf = d.parts.iter().find_map(|p| {
        p.file
            .as_ref()
            .filter(|f| f.name.as_deref() == Some("invoice.pdf"))
    });
    let pdf = pdf.expect("invoice part");
    assert_eq!(pdf.declared_type.as_deref(), Some("application/pdf"));
    assert_eq!(pdf.size, exe().len() as u64);
}

#[test]
fn zip_in_zip_in_mail_with_office_documents() {
    let inner = zip_of(&[
        ("secret.txt", b"SSN 078-05-1120"),
        (
            "deep/page.html",
            b"<html><body><p>hello</p><script>x()</script></body></html>",
        ),
        ("letter.docx", &docx("Dear Bob", "Footer text")),
    ]);
    let outer = zip_of(&[
        ("inner.zip", &inner),
        ("sheet.xlsx", &xlsx()),
        ("deck.pptx", &pptx()),
        ("memo.odt", &odt()),
    ]);
    let raw = mail(
        "nested",
        "body",
        &[Att::new("outer.zip", "application/zip", &outer)],
    );
    check(
        &raw,
        r#"
header:Subject "nested"
body "body"
attachment:outer.zip [zip]
attachment:outer.zip/inner.zip [zip]
attachment:outer.zip/inner.zip/secret.txt [text] "SSN 078-05-1120"
attachment:outer.zip/inner.zip/deep/page.html [html] "hello"
attachment:outer.zip/inner.zip/letter.docx [docx] "Dear Bob\tsigned\nFooter text"
attachment:outer.zip/sheet.xlsx [xlsx] "Name\nCard\n4111111111111111\tBob"
attachment:outer.zip/deck.pptx [pptx] "Slide title\nConfidential roadmap"
attachment:outer.zip/memo.odt [odt] "Memo\nIBAN DE89 3704 0044 0532 0130 00"
"#,
    );
}

#[test]
fn docx_embedded_workbook_is_decomposed() {
    let owned = docx_entries("Body", "Foot");
    let sheet = xlsx();
    let mut entries = as_entries(&owned);
    entries.push((
        "word/embeddings/Microsoft_Excel_Worksheet.xlsx",
        sheet.as_slice(),
    ));
    let doc = zip_of(&entries);
    let raw = mail(
        "e",
        "b",
        &[Att::new("a.docx", "application/octet-stream", &doc)],
    );
    check(
        &raw,
        r#"
header:Subject "e"
body "b"
attachment:a.docx [docx] "Body\tsigned\nFoot"
attachment:a.docx/word/embeddings/Microsoft_Excel_Worksheet.xlsx [xlsx] "Name\nCard\n4111111111111111\tBob"
"#,
    );
}

#[test]
fn tar_gzip_rtf_and_pdf() {
    let tar = tar_of(&[
        ("dir/a.txt", b"alpha"),
        ("b.rtf", br"{\rtf1\ansi caf\'e9\par ok}"),
    ]);
    let tgz = gzip_of(&tar, Some("bundle.tar"));
    let raw = mail(
        "t",
        "b",
        &[
            Att::new("bundle.tar.gz", "application/gzip", &tgz),
            Att::new("doc.pdf", "application/pdf", b"%PDF-1.4\nTEXT: pdf words"),
            Att::new("bad.pdf", "application/pdf", b"%PDF-1.4\ngarbage"),
            Att::new(
                "locked.pdf",
                "application/pdf",
                b"%PDF-1.4\ntrailer<</Encrypt 3 0 R>>",
            ),
        ],
    );
    check(
        &raw,
        r#"
header:Subject "t"
body "b"
attachment:bundle.tar.gz [gzip]
attachment:bundle.tar.gz/bundle.tar [tar]
attachment:bundle.tar.gz/bundle.tar/dir/a.txt [text] "alpha"
attachment:bundle.tar.gz/bundle.tar/b.rtf [rtf] "café\nok"
attachment:doc.pdf [pdf] "pdf words"
attachment:bad.pdf [pdf]
attachment:locked.pdf [pdf encrypted]
! Malformed { path: "bad.pdf", what: Pdf }
! Encrypted { path: "locked.pdf" }
"#,
    );
}

#[test]
fn encrypted_containers_are_reported() {
    let zip = encrypt_first_entry(zip_of(&[
        ("salaries.xlsx", b"secret"),
        ("readme.txt", b"open"),
    ]));
    let raw = mail(
        "enc",
        "b",
        &[
            Att::new("data.zip", "application/zip", &zip),
            Att::new(
                "protected.docx",
                "application/vnd.openxmlformats",
                &encrypted_ooxml(),
            ),
            Att::new("legacy.doc", "application/msword", &cfb(b"WordDocument")),
            Att::new("a.7z", "application/x-7z-compressed", &sevenz(true)),
            Att::new("b.7z", "application/x-7z-compressed", &sevenz(false)),
            Att::new(
                "c.rar",
                "application/x-rar",
                b"Rar!\x1a\x07\x01\x00\x11\x22\x33\x44\x0a\x04\x00",
            ),
            Att::new(
                "memo.odt",
                "application/vnd.oasis.opendocument.text",
                &odt_encrypted(),
            ),
        ],
    );
    check(
        &raw,
        r#"
header:Subject "enc"
body "b"
attachment:data.zip [zip encrypted]
attachment:data.zip/salaries.xlsx [unknown encrypted]
attachment:data.zip/readme.txt [text] "open"
attachment:protected.docx [cfb encrypted]
attachment:legacy.doc [cfb]
attachment:a.7z [7z encrypted]
attachment:b.7z [7z]
attachment:c.rar [rar encrypted]
attachment:memo.odt [odt encrypted]
! Encrypted { path: "data.zip/salaries.xlsx" }
! Encrypted { path: "protected.docx" }
! Unsupported { path: "legacy.doc", true_type: Cfb }
! Encrypted { path: "a.7z" }
! Malformed { path: "b.7z", what: Archive }
! Encrypted { path: "c.rar" }
! Encrypted { path: "memo.odt" }
"#,
    );
}

#[test]
fn zip_bombs_stop_early() {
    // 8 MiB of zeros deflate to a few KiB: past the ratio from the declared sizes.
    let zeros = vec![0u8; 8 << 20];
    let bomb = zip_of(&[("zeros.bin", &zeros)]);
    assert!(bomb.len() < 64 << 10);
    // The same bomb stored inside another zip: found one level down.
    let nested = stored_zip_of(&[("inner.zip", &bomb)]);
    // A bomb that lies about its size: declared small, so only inflating finds it (the zip
    // reader stops at the declared size and fails its check).
    let liar = set_declared_size(zip_of(&[("zeros.bin", &zeros)]), 100);
    let raw = mail(
        "bombs",
        "b",
        &[
            Att::new("bomb.zip", "application/zip", &bomb),
            Att::new("nested.zip", "application/zip", &nested),
            Att::new("liar.zip", "application/zip", &liar),
            Att::new("bomb.gz", "application/gzip", &gzip_of(&zeros, None)),
        ],
    );
    check(
        &raw,
        r#"
header:Subject "bombs"
body "b"
attachment:bomb.zip [zip]
attachment:bomb.zip/zeros.bin [unknown]
attachment:nested.zip [zip]
attachment:nested.zip/inner.zip [zip]
attachment:nested.zip/inner.zip/zeros.bin [unknown]
attachment:liar.zip [zip]
attachment:liar.zip/zeros.bin [unknown]
attachment:bomb.gz [gzip]
! LimitExceeded { kind: Ratio, path: "bomb.zip/zeros.bin" }
! LimitExceeded { kind: Ratio, path: "nested.zip/inner.zip/zeros.bin" }
! Malformed { path: "liar.zip/zeros.bin", what: Archive }
! LimitExceeded { kind: Ratio, path: "bomb.gz" }
"#,
    );
}

#[test]
fn malformed_mime_and_truncated_base64() {
    check(
        b"\xe9t\xe9 garbage without headers",
        r#"
body "été garbage without headers"
! Malformed { path: "", what: Mime }
"#,
    );
    let raw = b"Subject: t\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
--zz\r\nContent-Type: application/octet-stream; name=a.txt\r\nContent-Transfer-Encoding: base64\r\n\r\nc2VjcmV0IHBsY";
    check(
        raw,
        r#"
header:Subject "t"
body "hello"
attachment:a.txt [text] "secret pl"
! Malformed { path: "a.txt", what: Encoding }
"#,
    );
    // A boundary that never appears: the content is still seen, as an unnamed text part.
    let raw = b"Subject: u\r\nContent-Type: multipart/mixed; boundary=nope\r\n\r\njust text\r\n";
    check(
        raw,
        "header:Subject \"u\"\nattachment:part-1 [text] \"just text\\r\\n\"",
    );
}

#[test]
fn nested_messages_keep_their_own_headers_and_attachments() {
    let inner = mail(
        "inner subject",
        "inner body",
        &[Att::new("x.txt", "text/plain", b"deep text")],
    );
    let mut raw = b"Subject: fwd\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: text/plain\r\n\r\nsee below\r\n\
--o\r\nContent-Type: message/rfc822\r\n\r\n"
        .to_vec();
    raw.extend_from_slice(&inner);
    raw.extend_from_slice(b"\r\n--o--\r\n");
    check(
        &raw,
        r#"
header:Subject "fwd"
body "see below"
attachment:message-1.eml [eml]
attachment:message-1.eml/[Subject] "inner subject"
attachment:message-1.eml/[body] "inner body"
attachment:message-1.eml/x.txt [text] "deep text"
"#,
    );
}

#[test]
fn nesting_past_the_depth_limit_is_a_finding() {
    let mut z = zip_of(&[("leaf.txt", b"leaf")]);
    for i in 0..10 {
        z = zip_of(&[(format!("z{i}.zip").as_str(), &z)]);
    }
    let raw = mail("deep", "b", &[Att::new("top.zip", "application/zip", &z)]);
    let limits = Limits {
        max_depth: 3,
        ..embedded_limits()
    };
    check_with(
        &raw,
        &limits,
        r#"
header:Subject "deep"
body "b"
attachment:top.zip [zip]
attachment:top.zip/z9.zip [zip]
attachment:top.zip/z9.zip/z8.zip [zip]
! LimitExceeded { kind: Depth, path: "top.zip/z9.zip/z8.zip" }
"#,
    );
    // Nested messages count too, whether mail-parser parsed them or not (base64-encoded).
    let mut m = mail("leaf", "leaf body", &[]);
    for _ in 0..6 {
        m = mail("wrap", "w", &[Att::new("m.eml", "message/rfc822", &m)]);
    }
    let d = decompose(&m, &limits, &FakePdf, &NoBudget);
    assert!(
        d.anomalies.contains(&Anomaly::LimitExceeded {
            kind: LimitKind::Depth,
            path: "m.eml/m.eml/m.eml".into()
        }),
        "{}",
        render(&d)
    );
    assert!(!render(&d).contains("leaf body"));
}

#[test]
fn deeply_nested_unencoded_messages_do_not_overflow_the_stack() {
    let mut raw = Vec::new();
    for _ in 0..200_000 {
        raw.extend_from_slice(b"Content-Type: message/rfc822\r\n\r\n");
    }
    raw.extend_from_slice(b"Subject: bottom\r\n\r\nbottom text\r\n");
    let d = decompose(&raw, &embedded_limits(), &FakePdf, &NoBudget);
    assert!(d.anomalies.iter().any(|a| matches!(
        a,
        Anomaly::LimitExceeded {
            kind: LimitKind::Depth,
            ..
        }
    )));
}

#[test]
fn entry_and_byte_limits() {
    let names: Vec<String> = (0..20).map(|i| format!("f{i}.txt")).collect();
    let entries: Vec<(&str, &[u8])> = names
        .iter()
        .map(|n| (n.as_str(), &b"0123456789"[..]))
        .collect();
    let zip = zip_of(&entries);
    let raw = mail("n", "b", &[Att::new("many.zip", "application/zip", &zip)]);
    let limits = Limits {
        max_entries_per_container: 3,
        ..embedded_limits()
    };
    check_with(
        &raw,
        &limits,
        r#"
header:Subject "n"
body "b"
attachment:many.zip [zip]
attachment:many.zip/f0.txt [text] "0123456789"
attachment:many.zip/f1.txt [text] "0123456789"
attachment:many.zip/f2.txt [text] "0123456789"
! LimitExceeded { kind: Entries, path: "many.zip" }
"#,
    );
    let limits = Limits {
        max_entries_total: 2,
        ..embedded_limits()
    };
    let d = decompose(&raw, &limits, &FakePdf, &NoBudget);
    assert_eq!(d.parts.len(), 5, "{}", render(&d));
    assert!(matches!(
        d.anomalies[0],
        Anomaly::LimitExceeded {
            kind: LimitKind::TotalEntries,
            ..
        }
    ));
    let limits = Limits {
        max_extracted_bytes: 25,
        ..embedded_limits()
    };
    let d = decompose(&raw, &limits, &FakePdf, &NoBudget);
    let texts: Vec<&str> = d.parts.iter().map(|p| p.text.as_str()).collect();
    assert_eq!(&texts[3..6], ["0123456789", "0123456789", "01234"]);
    // Entries past the limit keep their file facts for file rules, but are not read.
    assert_eq!(d.parts.len(), 3 + 20, "{}", render(&d));
    assert_eq!(
        d.parts[7].file.as_ref().map(|f| f.true_type),
        Some(FileType::Unknown),
        "{}",
        render(&d)
    );
    assert_eq!(
        d.anomalies,
        [Anomaly::LimitExceeded {
            kind: LimitKind::ExtractedBytes,
            path: "many.zip/f2.txt".into()
        }]
    );
}

#[test]
fn text_and_part_limits() {
    let raw = mail(
        "s",
        "0123456789",
        &[
            Att::new("a.txt", "text/plain", b"abcdef"),
            Att::new("b.txt", "text/plain", b"ghi"),
        ],
    );
    let limits = Limits {
        max_text_bytes: 14,
        ..embedded_limits()
    };
    check_with(
        &raw,
        &limits,
        r#"
header:Subject "s"
body "0123456789"
attachment:a.txt [text] "abc"
attachment:b.txt [text]
! LimitExceeded { kind: TextBytes, path: "attachment:a.txt" }
! LimitExceeded { kind: TextBytes, path: "attachment:b.txt" }
"#,
    );
    let limits = Limits {
        max_parts: 1,
        ..embedded_limits()
    };
    check_with(
        &raw,
        &limits,
        r#"
header:Subject "s"
body "0123456789"
attachment:a.txt [text] "abcdef"
! LimitExceeded { kind: Parts, path: "" }
"#,
    );
}

/// A budget that expires after a number of checks.
struct Countdown(Cell<u32>);

impl Budget for Countdown {
    fn expired(&self) -> bool {
        let left = self.0.get();
        self.0.set(left.saturating_sub(1));
        left == 0
    }
}

#[test]
fn an_expired_budget_stops_everything_and_is_reported_once() {
    let zip = zip_of(&[("a.txt", b"a"), ("b.txt", b"b"), ("c.txt", b"c")]);
    let raw = mail(
        "t",
        "b",
        &[
            Att::new("z.zip", "application/zip", &zip),
            Att::new("after.txt", "text/plain", b"x"),
        ],
    );
    let d = decompose(&raw, &embedded_limits(), &FakePdf, &Countdown(Cell::new(4)));
    let times = d
        .anomalies
        .iter()
        .filter(|a| {
            matches!(
                a,
                Anomaly::LimitExceeded {
                    kind: LimitKind::Time,
                    ..
                }
            )
        })
        .count();
    assert_eq!(times, 1, "{}", render(&d));
    assert!(!render(&d).contains("after.txt"));
    let d = decompose(&raw, &embedded_limits(), &FakePdf, &Countdown(Cell::new(0)));
    assert!(d.parts.is_empty());
}

#[test]
fn part_debug_output_never_shows_text() {
    let raw = mail("t", "4111 1111 1111 1111", &[]);
    let d = decompose(&raw, &embedded_limits(), &NoPdf, &NoBudget);
    let debug = format!("{d:?}");
    assert!(!debug.contains("4111"), "{debug}");
}

#[test]
fn hostile_archive_names_are_display_safe() {
    let zip = zip_of(&[("../../etc/pass\nwd\x1b[31m", b"x")]);
    let raw = mail("t", "b", &[Att::new("z.zip", "application/zip", &zip)]);
    let d = decompose(&raw, &embedded_limits(), &NoPdf, &NoBudget);
    let paths: Vec<String> = d.parts.iter().map(|p| p.location.to_string()).collect();
    assert!(
        paths.contains(&"attachment:z.zip/../../etc/pass?wd?[31m".to_string()),
        "{paths:?}"
    );
}

#[test]
fn heading_fields_and_bodies_name_their_message() {
    use super::MessageText::{Body, Heading};
    let loc = |l: Location| l.message_text().map(|(m, k)| (m.to_string(), k));
    assert_eq!(
        loc(Location::Header("Subject".into())),
        Some((String::new(), Heading))
    );
    assert_eq!(loc(Location::Header("From".into())), None);
    assert_eq!(loc(Location::Body), Some((String::new(), Body)));
    assert_eq!(
        loc(Location::Attachment("a.zip/fwd.eml/[Keywords]".into())),
        Some(("a.zip/fwd.eml".to_string(), Heading))
    );
    assert_eq!(
        loc(Location::Attachment("fwd.eml/[body]".into())),
        Some(("fwd.eml".to_string(), Body))
    );
    assert_eq!(loc(Location::Attachment("fwd.eml/[To]".into())), None);
    assert_eq!(loc(Location::Attachment("notes.txt".into())), None);
}
