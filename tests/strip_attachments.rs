//! Body edits on the in-line proxy (issue 14), through the real binary: a modify policy matching a
//! PDF replaces it with a notice and adds its disclaimer, another matching a zip removes it; the
//! next hop receives a valid MIME message without them, and each incident records what was done.
//! A message no policy matches is relayed byte for byte.

mod support;

use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders};
use support::client::Client;
use support::mime::{b64, pdf_of_lines, zip_of};
use support::sink::Sink;
use support::sluice::{Sluice, forward_config};
use support::smime;

const WAIT: Duration = Duration::from_secs(10);
const FROM: &str = "a@corp.example";
const TO: &str = "b@partner.example";
const NOTICE: &str = "A PDF attachment was removed by policy.";

const POLICIES: &str = r#"
[[disclaimer]]
name = "legal"
direction = ["inbound"]
text = "This e-mail is confidential."

[[policy]]
id = 41
name = "No PDFs out"
action = "modify"
replace_attachments = "A PDF attachment was removed by policy."
disclaimer = "legal"
[[policy.rule]]
conditions = [{ file_type = ["pdf"] }]

[[policy]]
id = 42
name = "No archives out"
action = "modify"
strip_attachments = "matched"
[[policy.rule]]
conditions = [{ file_type = ["zip"] }]
"#;

/// A text body and three attachments: a PDF, a zip, and a text file no policy looks at.
fn message() -> String {
    let attachment = |name: &str, ctype: &str, data: &[u8]| {
        format!(
            "--b\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}",
            b64(data)
        )
    };
    format!(
        "From: <{FROM}>\r\nTo: <{TO}>\r\nSubject: Q3 numbers\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nHello Bob, the numbers.\r\n{}{}{}--b--\r\n",
        attachment(
            "report.pdf",
            "application/pdf",
            &pdf_of_lines(&["Q3 revenue"])
        ),
        attachment(
            "data.zip",
            "application/zip",
            &zip_of(&[("q3.csv", b"1,2,3\n")])
        ),
        attachment("notes.txt", "text/plain", b"plain notes\r\n"),
    )
}

fn incident(sluice: &Sluice, id: u64) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let (code, out, err) = sluice.cli(&["incident", "show", &id.to_string(), "--json"]);
        if code == 0 {
            return serde_json::from_str(&out).unwrap();
        }
        assert!(start.elapsed() < WAIT, "incident {id}: {code} {err}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn matched_attachments_are_removed_or_replaced_and_the_incident_says_so() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], POLICIES));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(FROM, &[TO], &message());
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, WAIT);
    let data = got[0].data_str();
    let msg = MessageParser::default()
        .parse(data.as_bytes())
        .expect("the relayed message parses");
    let names: Vec<&str> = msg
        .attachments()
        .filter_map(|a| a.attachment_name())
        .collect();
    assert_eq!(names, ["notes.txt"], "{data}");
    assert!(!data.contains(&b64(&pdf_of_lines(&["Q3 revenue"]))[..40]));
    // The PDF's place holds the notice naming it; the body kept its text and got the disclaimer
    // the policy names (whatever the disclaimer's own direction rule says).
    let texts: Vec<String> = (0..msg.text_body.len())
        .filter_map(|i| msg.body_text(i).map(|t| t.into_owned()))
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains(NOTICE) && t.contains("report.pdf")),
        "{data}"
    );
    assert!(
        texts[0].starts_with("Hello Bob, the numbers.")
            && texts[0]
                .trim_end()
                .ends_with("This e-mail is confidential."),
        "{data}"
    );
    assert_eq!(
        got[0].header("X-Sluice-Disclaimer").as_deref(),
        Some("legal")
    );

    // One incident per policy, each with what was done to the message.
    let mut policies = Vec::new();
    for id in [1, 2] {
        let i = incident(&sluice, id);
        let action = i["incident"]["action"].as_str().unwrap().to_string();
        assert_eq!(
            action, "relayed (attachments removed: report.pdf, data.zip; disclaimer legal)",
            "{i}"
        );
        policies.push(i["incident"]["policy"]["id"].as_u64().unwrap());
    }
    policies.sort();
    assert_eq!(policies, [41, 42]);
    assert!(sluice.wait_log("message rewritten", WAIT));

    // A message no policy matches goes on as it came (after Sluice's Received field).
    let clean =
        "From: <a@corp.example>\r\nTo: <b@partner.example>\r\nSubject: hi\r\n\r\nJust text.\r\n";
    let r = c.send(FROM, &[TO], clean);
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(2, WAIT);
    assert!(got[1].data_str().ends_with(clean), "{}", got[1].data_str());
}

#[test]
fn a_disclaimer_keeps_an_smime_signature_valid() {
    let dir = tempfile::tempdir().unwrap();
    let signed = smime::signed(dir.path(), FROM, TO);
    let config = "[[disclaimer]]\nname = \"legal\"\ntext = \"This e-mail is confidential.\"\n\n[[policy]]\nid = 7\nmatch = \"all-mail\"\naction = \"modify\"\ndisclaimer = \"legal\"\n";
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], config));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(FROM, &[TO], std::str::from_utf8(&signed).unwrap());
    assert_eq!(r.code, 250, "{r}");
    let got = sink.wait_for(1, WAIT);
    let data = got[0].data_str();
    // The disclaimer is a part of its own next to the signed original, which still verifies.
    assert!(data.contains("This e-mail is confidential."), "{data}");
    smime::assert_still_verifies(dir.path(), &signed, &data);
}
