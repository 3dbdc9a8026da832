//! Golden tests: `tests/data/rewrite/NAME.eml` in, `NAME.WHAT.out` expected (rewritten with
//! `SLUICE_BLESS=1`, then read by a person before committing), plus the properties each output
//! must have whatever its bytes.

use super::*;
use mail_parser::{MessageParser, MimeHeaders};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/rewrite");

fn legal() -> Arc<Disclaimer> {
    Arc::new(Disclaimer {
        name: "legal".into(),
        directions: vec![Direction::Outbound],
        sender_domains: Vec::new(),
        text: "This e-mail is confidential.\nCorp GmbH, M\u{fc}nchen".into(),
        html: Some("<p>This e-mail is confidential. Corp GmbH, M\u{fc}nchen</p>".into()),
        skip_dkim_signed: true,
    })
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DIR}/{name}.eml")).unwrap()
}

/// The rewrite of `name` by `edits`, checked against its golden file.
fn check(name: &str, what: &str, edits: &[Edit]) -> Rewritten {
    let input = read(name);
    let out = apply(&input, edits)
        .unwrap()
        .unwrap_or_else(|| panic!("{name}: unchanged"));
    let path = format!("{DIR}/{name}.{what}.out");
    if std::env::var_os("SLUICE_BLESS").is_some() {
        std::fs::write(&path, &out.message).unwrap();
    }
    let want = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(
        want == out.message,
        "{name}.{what}: got\n{}",
        String::from_utf8_lossy(&out.message)
    );
    assert!(
        MessageParser::default().parse(&out.message[..]).is_some(),
        "{name}.{what}: does not parse"
    );
    out
}

/// Every decoded text of the message's own body parts (not of nested messages).
fn texts(message: &[u8]) -> Vec<String> {
    let msg = MessageParser::default().parse(message).unwrap();
    (0..msg.text_body.len())
        .filter_map(|i| msg.body_text(i).map(|t| t.into_owned()))
        .chain((0..msg.html_body.len()).filter_map(|i| msg.body_html(i).map(|t| t.into_owned())))
        .collect()
}

#[test]
fn disclaimer_goes_into_every_body_text_once() {
    let d = vec![Edit::Disclaimer(legal())];
    for name in [
        "plain_lf",
        "plain_crlf",
        "no_mime",
        "qp",
        "base64",
        "html",
        "alternative",
        "mixed",
        "nested",
        "latin1",
    ] {
        let out = check(name, "legal", &d);
        assert_eq!(out.disclaimers, ["legal"]);
        let texts = texts(&out.message);
        assert!(!texts.is_empty(), "{name}");
        for t in &texts {
            assert!(t.contains("This e-mail is confidential."), "{name}: {t}");
            assert!(
                t.contains("M\u{fc}nchen") || t.contains("&#252;"),
                "{name}: {t}"
            );
        }
        // Never twice: by its marker, and by its text without the marker (which only gets the
        // marker back: a gateway listener removes the markers clients send).
        assert_eq!(apply(&out.message, &d).unwrap(), None, "{name}");
        let unmarked = out.message.splitn(2, |&b| b == b'\n').nth(1).unwrap();
        let again = apply(unmarked, &d).unwrap().map(|r| r.message);
        assert_eq!(again.as_ref(), Some(&out.message), "{name} without marker");
    }
}

#[test]
fn line_endings_follow_the_message() {
    let lf = check("plain_lf", "legal", &[Edit::Disclaimer(legal())]).message;
    assert!(!lf.contains(&b'\r'));
    let crlf = check("plain_crlf", "legal", &[Edit::Disclaimer(legal())]).message;
    assert!(
        crlf.windows(2)
            .filter(|w| w[1] == b'\n')
            .all(|w| w[0] == b'\r')
    );
}

#[test]
fn signed_and_encrypted_mail_is_wrapped_with_its_bytes_untouched() {
    for name in ["signed", "encrypted", "pgp_inline", "koi8"] {
        let input = read(name);
        let out = check(name, "legal", &[Edit::Disclaimer(legal())]).message;
        let body_at = memchr::memmem::find(&input, b"\r\n\r\n").unwrap() + 4;
        let body = &input[body_at..];
        assert!(
            memchr::memmem::find(&out, body).is_some(),
            "{name}: the original body is not there byte for byte"
        );
        let msg = MessageParser::default().parse(&out[..]).unwrap();
        let ct = msg.content_type().unwrap();
        assert_eq!(
            (ct.ctype(), ct.subtype()),
            ("multipart", Some("mixed")),
            "{name}"
        );
        // The original MIME fields head the first part.
        let first = &msg.parts[1];
        let original = MessageParser::default().parse(&input[..]).unwrap();
        assert_eq!(
            first.content_type().map(|c| c.ctype().to_string()),
            original.content_type().map(|c| c.ctype().to_string()),
            "{name}"
        );
        assert_eq!(apply(&out, &[Edit::Disclaimer(legal())]).unwrap(), None);
    }
}

#[test]
fn wrapped_mail_whose_marker_was_removed_is_not_wrapped_twice() {
    for name in ["signed", "encrypted"] {
        let once = apply(&read(name), &[Edit::Disclaimer(legal())])
            .unwrap()
            .unwrap()
            .message;
        // A gateway listener drops the marker a client sends (the message came round again).
        let marker = format!("{MARKER}: legal\r\n");
        assert!(once.starts_with(marker.as_bytes()), "{name}");
        let unmarked = &once[marker.len()..];
        let twice = apply(unmarked, &[Edit::Disclaimer(legal())])
            .unwrap()
            .unwrap()
            .message;
        assert_eq!(twice, once, "{name}: only the marker comes back");
    }
}

#[test]
fn marked_and_dkim_signed_mail_is_left_alone() {
    assert_eq!(
        apply(&read("already"), &[Edit::Disclaimer(legal())]).unwrap(),
        None
    );
    assert_eq!(
        apply(&read("dkim"), &[Edit::Disclaimer(legal())]).unwrap(),
        None
    );
    let mut d = (*legal()).clone();
    d.skip_dkim_signed = false;
    let out = apply(&read("dkim"), &[Edit::Disclaimer(Arc::new(d))])
        .unwrap()
        .unwrap();
    assert!(texts(&out.message)[0].contains("confidential"));
    // Another disclaimer's marker does not count.
    let mut other = (*legal()).clone();
    other.name = "other".into();
    assert!(
        apply(&read("already"), &[Edit::Disclaimer(Arc::new(other))])
            .unwrap()
            .is_some()
    );
}

#[test]
fn attachments_are_removed_or_replaced() {
    let all = Edit::Strip {
        attachments: Attachments::All,
        notice: None,
    };
    let out = check("mixed", "strip_all", std::slice::from_ref(&all));
    assert_eq!(out.stripped, ["report.pdf", "data.zip"]);
    let msg = MessageParser::default().parse(&out.message[..]).unwrap();
    assert!(msg.attachments.is_empty());
    assert_eq!(msg.body_text(0).unwrap().trim(), "Hello Bob");

    let matched = Edit::Strip {
        attachments: Attachments::Matched(vec!["report.pdf".into()]),
        notice: Some("An attachment was removed by policy.".into()),
    };
    let out = check("mixed", "replace_pdf", &[matched]);
    assert_eq!(out.stripped, ["report.pdf"]);
    let msg = MessageParser::default().parse(&out.message[..]).unwrap();
    let names: Vec<_> = msg
        .attachments()
        .filter_map(|a| a.attachment_name())
        .collect();
    assert_eq!(names, ["data.zip"]);
    assert!(
        String::from_utf8_lossy(&out.message)
            .contains("An attachment was removed by policy.\r\n\r\nRemoved attachment: report.pdf")
    );

    // A multipart left without parts keeps an empty text part; a message that is the
    // attachment becomes the notice.
    let out = check("only_attachment", "strip_all", std::slice::from_ref(&all));
    assert_eq!(out.stripped, ["report.pdf"]);
    let notice = Edit::Strip {
        attachments: Attachments::All,
        notice: Some("Removed.".into()),
    };
    let out = check("root_attachment", "replace_all", &[notice]);
    assert!(texts(&out.message)[0].contains("Removed attachment: report.pdf"));

    // A match inside a nested message removes that message; no attachment: nothing to do.
    let nested = Edit::Strip {
        attachments: Attachments::Matched(vec!["fwd.eml/[body]".into()]),
        notice: None,
    };
    let out = check("nested", "strip_fwd", &[nested]);
    assert_eq!(out.stripped, ["fwd.eml"]);
    assert_eq!(apply(&read("plain_crlf"), &[all]).unwrap(), None);
}

#[test]
fn a_match_not_found_removes_every_attachment() {
    let e = Edit::Strip {
        attachments: Attachments::Matched(vec!["elsewhere.pdf".into()]),
        notice: None,
    };
    let out = apply(&read("mixed"), std::slice::from_ref(&e))
        .unwrap()
        .unwrap();
    assert_eq!(out.stripped, ["report.pdf", "data.zip"]);
    assert_eq!(
        apply(b"no header at all", &[e]),
        Err(RewriteError::Unparsable)
    );
}

#[test]
fn plan_picks_by_direction_and_sender_domain() {
    let mut corp = (*legal()).clone();
    corp.sender_domains = vec![".corp.example".into(), "corp.example".into()];
    let mut inbound = (*legal()).clone();
    inbound.name = "in".into();
    inbound.directions = vec![Direction::Inbound];
    let rules = vec![corp, inbound];
    let names = |edits: Vec<Edit>| -> Vec<String> {
        edits
            .iter()
            .map(|e| match e {
                Edit::Disclaimer(d) => d.name.clone(),
                Edit::Strip { .. } => "strip".into(),
            })
            .collect()
    };
    assert_eq!(
        names(plan(&rules, Direction::Outbound, "a@corp.example", &[])),
        ["legal"]
    );
    assert_eq!(
        names(plan(&rules, Direction::Outbound, "a@eu.corp.example", &[])),
        ["legal"]
    );
    assert!(plan(&rules, Direction::Outbound, "a@xcorp.example", &[]).is_empty());
    assert!(plan(&rules, Direction::Internal, "a@corp.example", &[]).is_empty());
    assert_eq!(
        names(plan(&rules, Direction::Inbound, "x@else.example", &[])),
        ["in"]
    );
    // Policy edits first (strips before disclaimers), each disclaimer once.
    let policy = vec![
        Edit::Disclaimer(legal()),
        Edit::Strip {
            attachments: Attachments::All,
            notice: None,
        },
    ];
    assert_eq!(
        names(plan(&rules, Direction::Outbound, "a@corp.example", &policy)),
        ["strip", "legal"]
    );
}

/// Every hostile MIME sample of the decomposition's fuzz corpus: no panic, and whatever comes
/// out still parses.
#[test]
fn hostile_mime_never_panics() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fuzz/corpus/decompose_mime"
    );
    let edits = [
        Edit::Strip {
            attachments: Attachments::All,
            notice: Some("gone".into()),
        },
        Edit::Disclaimer(legal()),
    ];
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let input = std::fs::read(entry.unwrap().path()).unwrap();
        for cut in [input.len(), input.len() / 2, input.len() / 3] {
            let input = &input[..cut];
            if let Ok(Some(out)) = apply(input, &edits) {
                assert!(MessageParser::default().parse(&out.message[..]).is_some());
            }
            let _ = apply(input, &edits[..1]);
        }
        seen += 1;
    }
    assert!(seen > 10);
}
