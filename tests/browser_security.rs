//! Hostile values render inert in a real browser: a message whose subject, envelope sender, body
//! and attachment names carry script, attribute break-outs, `javascript:` URLs, template syntax and
//! an RTL override (`tests/support/hostile.rs`), held by a policy whose name carries them too, is
//! shown on the approval page as text, with nothing created by injection even when the page's CSP
//! is bypassed (`tests/browser/security.mjs`); an approver's comment made of the same values does
//! not break the decision page. One chromium for the file; screenshots in
//! `target/ui-screenshots/security-*.png`.

mod support;

use std::time::{Duration, Instant};

use mail_parser::MessageParser;
use support::sink::Sink;
use support::sluice::{Sluice, forward_config};
use support::{browser, hostile};

const WAIT: Duration = Duration::from_secs(15);

/// The approve link of the one approval request at the sink (its path only).
fn approve_path(sink: &Sink) -> String {
    let end = Instant::now() + WAIT;
    loop {
        if let Some(m) = sink
            .messages()
            .into_iter()
            .find(|m| m.header("X-Sluice-Notice").as_deref() == Some("approval_request"))
        {
            let parsed = MessageParser::default().parse(&m.data).expect("a notice");
            let text = parsed.body_text(0).expect("a text part").into_owned();
            return text
                .split_whitespace()
                .find_map(|w| w.find("/approval/").map(|i| w[i..].trim_end_matches('>')))
                .unwrap_or_else(|| panic!("no link in {text}"))
                .to_string();
        }
        assert!(Instant::now() < end, "no approval request reached the sink");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn hostile_values_render_inert_on_the_approval_pages() {
    let Some(browser) = browser::require() else {
        return;
    };
    let sink = Sink::start_default();
    let policies = format!(
        "[approval]\nsweep_interval = \"1s\"\n\n{}",
        hostile::policy(900, "approval", "approvers = [\"boss@corp.example\"]")
    );
    let sluice = Sluice::start(&forward_config(&[sink.addr], &policies));
    let r = hostile::send(&sluice, "bob@partner.example");
    assert!(r.text.contains("pending approval"), "{r}");
    let approve = approve_path(&sink);

    let pages = serde_json::json!([
        {
            "name": "approval-form-hostile",
            "path": approve,
            "form": { "field": "Comment (optional; kept in the history and sent to the sender)",
                      "button": "Approve and deliver" },
        },
        { "name": "approval-decided-hostile", "path": approve },
    ]);
    browser
        .scenario("security", &sluice)
        .env("SLUICE_PAGES", pages.to_string())
        .env("SLUICE_HOSTILE", hostile::json())
        .env("SLUICE_HOSTILE_LITERAL", hostile::json_literal())
        .run();

    // The approval went through with the hostile comment: the message reaches its recipient.
    let end = Instant::now() + WAIT;
    while !sink.messages().iter().any(|m| {
        m.header("X-Sluice-Notice").is_none()
            && m.rcpt_to.iter().any(|r| r.contains("bob@partner.example"))
    }) {
        assert!(Instant::now() < end, "the approved message never arrived");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The hostile values reach the store through the real binary, as the UI pages will read them:
/// the held message's subject, envelope sender, policy name and attachment names.
#[test]
fn hostile_values_are_held_with_their_subject_sender_and_policy_name() {
    let sink = Sink::start_default();
    let policies = hostile::policy(901, "quarantine", "");
    let sluice = Sluice::start(&forward_config(&[sink.addr], &policies));
    let id = hostile::quarantine(&sluice, "bob@partner.example");
    let (code, out, err) = sluice.cli(&["quarantine", "show", &id.to_string(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let held: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    let text = held.to_string();
    let held = &held["held"];
    assert_eq!(held["subject"], hostile::subject_text().as_str(), "{text}");
    // The envelope sender arrives without its quotes (the SMTP parser unquotes the local part),
    // still carrying the markup.
    let sender = held["sender"].as_str().unwrap_or_default();
    assert!(
        sender.contains("</script>@corp.example") && sender.starts_with("<script>"),
        "{text}"
    );
    assert!(
        text.contains(&serde_json::to_string(&hostile::policy_name()).unwrap()),
        "{text}"
    );
}
