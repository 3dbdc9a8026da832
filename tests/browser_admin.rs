//! The admin UI in a real browser (Debian's chromium through playwright-core; see
//! `tests/support/browser.rs`), page by page as they exist: each scenario screenshots every page
//! it visits to `target/ui-screenshots/`, runs axe-core on it and fails on any CSP violation.
//!
//! Then the journeys an administrator makes, each against its own Sluice and sink, signed in as an
//! administrator made with the CLI, with one chromium per journey (`tests/browser/NAME.mjs`): find
//! a message in tracking and follow its trail; release an incident's held message; preview,
//! release and delete in the quarantine; edit, test and save a policy; change a live setting;
//! download a CSV report; add a user and see it audited; and hostile values inert on every page
//! that shows them. What the browser saw is handed back and checked here against the real
//! outcome: the sink, the configuration file, the CLI, the SMTP replies.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use support::admin::{self, read_csv};
use support::browser::{self, Browser, Scenario};
use support::client::{Client, Reply};
use support::hostile::{self, held_id};
use support::sink::Sink;
use support::sluice::{Sluice, forward_config};

/// The administrator the journeys sign in as (made with `sluice user add`).
const ADMIN: &str = "admin";
const ADMIN_PASSWORD: &str = "correct horse battery staple";

/// A sink, a Sluice forwarding to it with `extra` configuration, and the administrator account.
fn gateway(extra: &str) -> (Sink, Sluice) {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], extra));
    admin::add_user(&sluice, ADMIN, "administrator", ADMIN_PASSWORD);
    (sink, sluice)
}

/// A run of `tests/browser/NAME.mjs` that signs in as the administrator.
fn journey<'a>(browser: &'a Browser, name: &str, sluice: &Sluice) -> Scenario<'a> {
    browser
        .scenario(name, sluice)
        .env("SLUICE_ADMIN_USER", ADMIN)
        .env("SLUICE_ADMIN_PASSWORD", ADMIN_PASSWORD)
}

/// Today's date in UTC (`YYYY-MM-DD`), as the pages and the CLI write it.
fn today() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    sluice::units::time::format(now)[..10].to_string()
}

/// A result that is a list of table rows (cells as text).
fn rows(out: &browser::Outcome, name: &str) -> Vec<Vec<String>> {
    serde_json::from_value(out.result(name).clone())
        .unwrap_or_else(|e| panic!("{name} is not a list of rows: {e}"))
}

#[test]
fn signed_out_visitors_go_to_log_in_error_pages_load_their_assets_and_no_site_frames_the_ui() {
    let Some(browser) = browser::require() else {
        return;
    };
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    browser.scenario("signed_out", &sluice).run();
}

/// Navigation entries whose pages other work has not put on main yet. A page the navigation
/// offers that answers 404 fails the test unless it is listed here; a listed page that exists is
/// visited like any other.
const PENDING_PAGES: &[&str] = &[];

#[test]
fn first_set_up_then_log_in_then_every_page_the_navigation_offers() {
    let Some(browser) = browser::require() else {
        return;
    };
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let setup = browser::setup_link(&sluice).expect("a fresh install writes its set-up link");
    let out = browser
        .scenario("first_start", &sluice)
        .env("SLUICE_SETUP_URL", setup)
        .env("SLUICE_ADMIN_USER", "admin")
        .env("SLUICE_ADMIN_PASSWORD", "correct horse battery staple")
        .run();
    let missing: Vec<String> = serde_json::from_value(out.result("missing").clone()).unwrap();
    for path in &missing {
        assert!(
            PENDING_PAGES.contains(&path.as_str()),
            "the navigation offers {path}, which answers 404"
        );
    }
    if !missing.is_empty() {
        eprintln!("not on main yet, so not visited: {missing:?}");
    }
    // The account the browser made is the CLI's too.
    let (code, list, err) = sluice.cli(&["user", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        list.lines()
            .any(|l| l.contains("admin") && l.contains("administrator")),
        "{list}"
    );
}

/// Sends `message` from `from` to `to` through the proxy on a session of its own; the reply.
fn send(sluice: &Sluice, from: &str, to: &str, message: &str) -> Reply {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(from, &[to], message);
    c.quit();
    r
}

/// A plain message with these headers and body.
fn mail(from: &str, to: &str, subject: &str, body: &str) -> String {
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nMessage-ID: <{}@corp.example>\r\n\r\n{body}\r\n",
        subject.replace(' ', "-")
    )
}

const WAIT: Duration = Duration::from_secs(15);

#[test]
fn find_a_message_in_tracking_and_follow_its_life() {
    let Some(browser) = browser::require() else {
        return;
    };
    let (sink, sluice) = gateway(
        "[[policy]]\nid = 200\nname = \"Watch plans\"\nmode = \"monitor\"\naction = \"block\"\nkeywords = [\"quarterly\"]\n",
    );
    let (from, to, subject) = (
        "alice@corp.example",
        "bob@partner.example",
        "Quarterly plan figures",
    );
    let r = send(
        &sluice,
        from,
        to,
        &mail(from, to, subject, "the quarterly plan"),
    );
    assert_eq!(r.code, 250, "{r}");
    let other = "carol@corp.example";
    let r = send(
        &sluice,
        other,
        "dave@partner.example",
        &mail(other, "dave@partner.example", "Lunch on Friday", "lunch?"),
    );
    assert_eq!(r.code, 250, "{r}");
    assert_eq!(sink.wait_for(2, WAIT).len(), 2);

    let out = journey(&browser, "tracking", &sluice)
        .env("SLUICE_FROM", from)
        .env("SLUICE_TO", to)
        .env("SLUICE_SUBJECT_WORD", "quarterly")
        .run();
    // Each search finds that message alone: from, to, subject, outcome, the policy it met.
    for search in ["by_sender", "by_recipient", "by_subject"] {
        let found = rows(&out, search);
        assert_eq!(found.len(), 1, "{search}: {found:?}");
        let row = &found[0];
        assert!(row[0].starts_with(&today()), "{search}: {row:?}");
        assert_eq!(row[1..4], [from, to, subject], "{search}: {row:?}");
        assert_eq!(row[5], "relayed", "{search}: {row:?}");
        assert_eq!(row[7], "Watch plans", "{search}: {row:?}");
    }
    // The trail: what was received (envelope, subject, client), the policy the inspection found
    // and the relay to the next hop. (The proxy records the message's event and its violations
    // in one write, the message's first: the trail lists "relayed" before the violation.)
    let facts = rows(&out, "facts");
    for (field, value) in [
        ("From", from),
        ("To", to),
        ("Subject", subject),
        ("Client", "127.0.0.1"),
    ] {
        assert!(
            facts.contains(&vec![field.to_string(), value.to_string()]),
            "{field}: {facts:?}"
        );
    }
    let events = rows(&out, "events");
    let event = |kind: &str| {
        events
            .iter()
            .find(|e| e[1].lines().last() == Some(kind))
            .unwrap_or_else(|| panic!("no {kind} in the trail: {events:?}"))
    };
    let violation = event("policy.violation");
    assert!(
        violation[2].contains("policy: Watch plans") && violation[2].contains("action: monitor"),
        "{events:?}"
    );
    let relayed = event("message.relayed");
    assert!(
        relayed[2].contains(&format!("to: {to}")) && relayed[2].contains("dsn: 2.0.0"),
        "{events:?}"
    );
}

/// A policy holding any message with a card number for review.
const HOLD_CARDS: &str = r#"
[[policy]]
id = 300
name = "Cards held for review"
severity = "high"
action = "quarantine"

[[policy.rule]]
name = "a card number"
conditions = [{ identifier = "CREDIT_CARD" }]
"#;

const CARD: &str = "4111 1111 1111 1111";

#[test]
fn open_an_incident_and_release_its_message_to_the_sink() {
    let Some(browser) = browser::require() else {
        return;
    };
    let (sink, sluice) = gateway(HOLD_CARDS);
    let (from, to, subject) = (
        "alice@corp.example",
        "bob@partner.example",
        "Card for the hotel",
    );
    let body = format!("please charge {CARD} for the room");
    held_id(&send(&sluice, from, to, &mail(from, to, subject, &body)));
    assert!(
        sink.messages().is_empty(),
        "a held message reached the sink"
    );

    let secrets = serde_json::json!([CARD, CARD.replace(' ', ""), "1111 1111 1111"]);
    let out = journey(&browser, "incident", &sluice)
        .env("SLUICE_SUBJECT", subject)
        .env("SLUICE_SECRETS", secrets.to_string())
        .run();
    let metadata = rows(&out, "metadata");
    for (field, value) in [("Sender", from), ("Recipients", to), ("Subject", subject)] {
        assert!(
            metadata.contains(&vec![field.to_string(), value.to_string()]),
            "{field}: {metadata:?}"
        );
    }
    // The findings in context: the rule, the detector, where, and the evidence redacted.
    let findings = rows(&out, "findings");
    assert_eq!(findings.len(), 1, "{findings:?}");
    let f = &findings[0];
    assert_eq!(f[0], "a card number", "{f:?}");
    assert!(f[1].starts_with("CREDIT_CARD"), "{f:?}");
    assert!(f[3].contains("body"), "{f:?}");
    assert!(f[4].contains("****") && f[4].ends_with("1111"), "{f:?}");
    assert!(
        out.result("flash")
            .as_str()
            .unwrap_or_default()
            .contains("released"),
        "{:?}",
        out.result("flash")
    );
    let history = rows(&out, "history");
    assert!(
        history
            .iter()
            .any(|h| h[1] == ADMIN && h[2].contains("release")),
        "{history:?}"
    );
    // The sink receives the message once, whole.
    let got = sink.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    assert!(
        got[0].body_str().contains(CARD),
        "the released message is the held one"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(sink.messages().len(), 1, "released more than once");
}

/// A message with a text part, an HTML part that loads a remote image, and a PDF attachment.
fn newsletter(from: &str, to: &str, subject: &str) -> String {
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nMessage-ID: <news@corp.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n\
         --outer\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n\
         --alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe confidential figures, as text.\r\n\
         --alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <html><body><p>The <b>confidential</b> figures.</p>\
         <img src=\"https://tracker.example/pixel.png\" alt=\"\"></body></html>\r\n\
         --alt--\r\n\
         --outer\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"figures.pdf\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJSVFT0YK\r\n\
         --outer--\r\n"
    )
}

#[test]
fn quarantine_preview_is_text_only_and_release_delete_work() {
    let Some(browser) = browser::require() else {
        return;
    };
    let (sink, sluice) = gateway(
        "[[policy]]\nid = 300\nname = \"Hold confidential\"\naction = \"quarantine\"\nkeywords = [\"confidential\"]\n",
    );
    let from = "alice@corp.example";
    let (carol, dave) = ("carol@partner.example", "dave@partner.example");
    let news = held_id(&send(
        &sluice,
        from,
        carol,
        &newsletter(from, carol, "Figures"),
    ));
    let memo = mail(from, carol, "Old memo", "confidential, and obsolete");
    let old = held_id(&send(&sluice, from, carol, &memo));
    let other = mail(from, dave, "For Dave", "confidential for dave");
    held_id(&send(&sluice, from, dave, &other));

    let out = journey(&browser, "quarantine", &sluice)
        .env("SLUICE_RCPT", carol)
        .env("SLUICE_RELEASE_SUBJECT", "Figures")
        .env("SLUICE_DELETE_SUBJECT", "Old memo")
        .run();
    // The search finds Carol's two messages, not Dave's.
    let found = rows(&out, "found");
    let subjects: Vec<&str> = found.iter().map(|r| r[5].as_str()).collect();
    assert_eq!(subjects.len(), 2, "{found:?}");
    assert!(
        subjects.contains(&"Figures") && subjects.contains(&"Old memo"),
        "{found:?}"
    );
    // The preview: headers and text as text, the HTML as text, the attachment listed, and
    // nothing loaded from anywhere else.
    let headers = out.result("headers").as_str().unwrap_or_default();
    assert!(
        headers.contains("Subject: Figures") && headers.contains(&format!("To: <{carol}>")),
        "{headers}"
    );
    let text = out.result("text").as_str().unwrap_or_default();
    assert!(text.contains("The confidential figures"), "{text}");
    let attachments = rows(&out, "attachments");
    assert!(
        attachments
            .iter()
            .any(|a| a[0] == "figures.pdf" && a[1] == "pdf"),
        "{attachments:?}"
    );
    assert_eq!(out.result("images"), 0);
    assert_eq!(
        out.result("elsewhere"),
        &serde_json::json!([]),
        "requests left the admin origin"
    );
    let released = out.result("released").as_str().unwrap_or_default();
    assert!(released.starts_with("Released"), "{released}");
    let deleted = out.result("deleted").as_str().unwrap_or_default();
    assert!(deleted.contains("content is deleted"), "{deleted}");

    // The released one reaches the sink once; the deleted one never; the records say so.
    let got = sink.wait_for(1, WAIT);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("Subject").as_deref(), Some("Figures"));
    let status = |id: u64| {
        let (code, out, err) = sluice.cli(&["quarantine", "show", &id.to_string(), "--json"]);
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
        v["held"]["status"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(status(news), "released");
    assert_eq!(status(old), "deleted");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        sink.messages().len(),
        1,
        "released more than once, or the deleted one too"
    );
}

/// A commented policy that only logs roadmaps (journey 4 edits it).
const WATCH_ROADMAPS: &str = r#"
# Policies are reviewed each quarter.

# Roadmaps: watched for now; the board wants them blocked.
[[policy]]
id = 400
name = "Watch roadmaps"
severity = "low"
action = "log"   # just count them
keywords = ["roadmap"]
"#;

#[test]
fn edit_a_policy_test_it_against_an_eml_and_save_it() {
    let Some(browser) = browser::require() else {
        return;
    };
    let (sink, sluice) = gateway(WATCH_ROADMAPS);
    let (from, to) = ("alice@corp.example", "bob@partner.example");
    let forecast = mail(
        from,
        to,
        "Next year",
        &format!("the sales forecast for 2027, paid with {CARD}"),
    );
    // Before the edit, the forecast goes through.
    assert_eq!(send(&sluice, from, to, &forecast).code, 250);
    assert_eq!(sink.wait_for(1, WAIT).len(), 1);

    let eml = sluice.dir.path().join("forecast.eml");
    std::fs::write(&eml, &forecast).unwrap();
    let reply = "Roadmaps and forecasts stay inside";
    let out = journey(&browser, "policy_edit", &sluice)
        .env("SLUICE_POLICY", "Watch roadmaps")
        .env("SLUICE_ACTION", "block")
        .env("SLUICE_SEVERITY", "high")
        .env("SLUICE_REPLY", reply)
        .env("SLUICE_KEYWORDS", "roadmap\nforecast")
        .env("SLUICE_IDENTIFIERS", "CREDIT_CARD")
        .env("SLUICE_EML", eml.to_str().unwrap())
        .run();
    let saved = out.result("saved").as_str().unwrap_or_default();
    assert!(saved.starts_with("Saved as version"), "{saved}");
    // The test against the .eml: refused with the new reply, by the edited policy, on the keyword.
    let outcome = out.result("outcome").as_str().unwrap_or_default();
    assert!(
        outcome.contains("refused") && outcome.contains(reply),
        "{outcome}"
    );
    let violations = rows(&out, "violations");
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert_eq!(
        violations[0][..3],
        ["Watch roadmaps (400)", "high", "block"],
        "{violations:?}"
    );
    assert!(
        violations[0][4].contains("keywords x1 in body"),
        "{violations:?}"
    );
    // The findings: the card number, redacted.
    let findings = rows(&out, "findings");
    let card = findings
        .iter()
        .find(|f| f[0].contains("CREDIT_CARD"))
        .unwrap_or_else(|| panic!("no card among the findings: {findings:?}"));
    assert!(
        card[1].contains("****") && !card[1].contains(CARD),
        "{card:?}"
    );
    assert!(card[2].contains("body"), "{card:?}");

    // The file: the policy changed, its description (the comment above it), the other comments
    // and the rest kept.
    let text = std::fs::read_to_string(&sluice.config_path).unwrap();
    assert!(
        text.contains(
            "# Policies are reviewed each quarter.\n\n\
             # Roadmaps: watched for now; the board wants them blocked.\n[[policy]]\n"
        ),
        "{text}"
    );
    let policy = &text[text.find("[[policy]]").expect("the policy")..];
    for line in [
        "action = \"block\"",
        "severity = \"high\"",
        &format!("reply = \"{reply}\""),
        "forecast",
        "CREDIT_CARD",
    ] {
        assert!(policy.contains(line), "{line} not in {policy}");
    }
    assert!(
        text.contains("[relay]") && text.contains("[admin]"),
        "{text}"
    );
    // The running proxy applies it: the same message is refused now, with the policy's reply.
    let r = send(&sluice, from, to, &forecast);
    assert!(r.code >= 500 && r.text.contains(reply), "{r}");
    assert_eq!(sink.messages().len(), 1);
}

#[test]
fn change_a_setting_and_see_it_applied() {
    let Some(browser) = browser::require() else {
        return;
    };
    let (sink, sluice) = gateway("");
    let pid = sluice.pid();
    let (from, to) = ("alice@corp.example", "bob@partner.example");
    let big = mail(from, to, "The big one", &"x".repeat(3000));
    let small = mail(from, to, "A small one", "hi");
    assert_eq!(send(&sluice, from, to, &big).code, 250, "before the change");

    let out = journey(&browser, "setting", &sluice)
        .env("SLUICE_GROUP", "listener")
        .env("SLUICE_KEY", "listener.max_message_size")
        .env("SLUICE_VALUE", "2000")
        .run();
    assert_eq!(out.result("before"), "52428800");
    let note = out.result("note").as_str().unwrap_or_default();
    assert!(
        note.contains("Saved as version") && note.contains("applied"),
        "{note}"
    );
    assert!(!note.contains("restart"), "a live setting: {note}");
    // The history: the newest version, by the administrator, naming the key; its diff adds it.
    let versions = rows(&out, "versions");
    let newest = &versions[0];
    assert!(newest[1].starts_with(&today()), "{versions:?}");
    assert_eq!(newest[2], ADMIN, "{versions:?}");
    assert!(newest[3].contains("max_message_size"), "{versions:?}");
    let diff: Vec<String> = serde_json::from_value(out.result("diff").clone()).unwrap();
    assert!(
        diff.iter()
            .any(|l| l.starts_with('+') && l.contains("max_message_size = 2000")),
        "{diff:?}"
    );
    // The same process applies it: SIZE advertises it, a larger message is refused, a smaller
    // one still goes.
    assert_eq!(sluice.pid(), pid, "restarted");
    let mut c = Client::connect(sluice.addr);
    let ehlo = c.ehlo();
    assert!(ehlo.text.contains("SIZE 2000"), "{ehlo}");
    let r = c.send(from, &[to], &big);
    assert_eq!(r.code, 552, "{r}");
    c.quit();
    assert_eq!(send(&sluice, from, to, &small).code, 250);
    let subjects: Vec<Option<String>> = sink
        .wait_for(2, WAIT)
        .iter()
        .map(|m| m.header("Subject"))
        .collect();
    assert_eq!(
        subjects,
        [Some("The big one".into()), Some("A small one".into())]
    );
}

#[test]
fn download_a_csv_report_and_check_its_rows_against_the_cli() {
    let Some(browser) = browser::require() else {
        return;
    };
    let (sink, sluice) = gateway(
        "[[policy]]\nid = 200\nname = \"Watch plans\"\nmode = \"monitor\"\naction = \"block\"\nkeywords = [\"quarterly\"]\n",
    );
    let (from, to) = ("alice@corp.example", "bob@partner.example");
    for (subject, body) in [
        ("Quarterly plan", "the quarterly plan"),
        ("Lunch", "lunch?"),
    ] {
        assert_eq!(
            send(&sluice, from, to, &mail(from, to, subject, body)).code,
            250
        );
    }
    assert_eq!(sink.wait_for(2, WAIT).len(), 2);
    let day = today();
    // The events reach the report a moment after the mail: wait until the CLI sees them all
    // (two messages, one violation) before the browser asks.
    let cli = |file: &std::path::Path, bom: bool| {
        let mut args = vec!["report", "detail", "--from", &day, "--to", &day, "--csv"];
        args.push(file.to_str().unwrap());
        if bom {
            args.push("--bom");
        }
        let (code, out, err) = sluice.cli(&args);
        assert_eq!(code, 0, "{out}{err}");
        std::fs::read(file).unwrap()
    };
    let cli_plain = sluice.dir.path().join("cli.csv");
    let end = std::time::Instant::now() + WAIT;
    while read_csv(&cli(&cli_plain, false)).len() < 4 {
        assert!(
            std::time::Instant::now() < end,
            "the events never reached the report"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let (csv, csv_bom) = (
        sluice.dir.path().join("browser.csv"),
        sluice.dir.path().join("browser-bom.csv"),
    );
    let out = journey(&browser, "report_csv", &sluice)
        .env("SLUICE_FROM_DAY", &day)
        .env("SLUICE_TO_DAY", &day)
        .env("SLUICE_CSV", csv.to_str().unwrap())
        .env("SLUICE_CSV_BOM", csv_bom.to_str().unwrap())
        .run();
    let names: Vec<String> = serde_json::from_value(out.result("names").clone()).unwrap();
    for n in &names {
        assert!(
            n.starts_with("sluice-detail-") && n.ends_with(".csv"),
            "{names:?}"
        );
    }
    // The CLI, asked for the same range now, writes the same rows; the browser's table shows
    // each of them (the header aside).
    let (browser_plain, browser_bom) = (
        std::fs::read(&csv).unwrap(),
        std::fs::read(&csv_bom).unwrap(),
    );
    let expected = read_csv(&cli(&cli_plain, false));
    assert!(
        expected
            .iter()
            .any(|r| r.contains(&"message.relayed".to_string())),
        "{expected:?}"
    );
    assert_eq!(read_csv(&browser_plain), expected);
    assert!(!browser_plain.starts_with(b"\xEF\xBB\xBF"));
    let cli_bom = cli(&sluice.dir.path().join("cli-bom.csv"), true);
    assert!(browser_bom.starts_with(b"\xEF\xBB\xBF") && cli_bom.starts_with(b"\xEF\xBB\xBF"));
    assert_eq!(read_csv(&browser_bom), expected);
    let shown = rows(&out, "shown");
    assert_eq!(shown.len() + 1, expected.len(), "{shown:?} vs {expected:?}");
}

#[test]
fn add_a_user_and_see_the_change_in_the_audit_log() {
    let Some(browser) = browser::require() else {
        return;
    };
    let (_sink, sluice) = gateway("");
    let out = journey(&browser, "users_audit", &sluice)
        .env("SLUICE_NEW_USER", "rita")
        .env("SLUICE_NEW_PASSWORD", "a remediator's long password")
        .run();
    let users = rows(&out, "users_rows");
    assert!(
        users
            .iter()
            .any(|r| r[..3] == ["rita", "remediator", "enabled"]),
        "{users:?}"
    );
    // Time, actor, from, action, object, before, after, outcome: who, when and what.
    let audit = rows(&out, "audit_rows");
    let added: Vec<_> = audit.iter().filter(|r| r[4] == "rita").collect();
    assert_eq!(added.len(), 1, "{audit:?}");
    let row = added[0];
    assert!(row[0].starts_with(&today()), "when: {row:?}");
    assert_eq!(row[1], ADMIN, "who: {row:?}");
    assert_eq!(row[2], "127.0.0.1", "from where: {row:?}");
    assert_eq!(row[7], "ok", "{row:?}");
    assert_eq!(row[3], "user.add", "what: {row:?}");
    assert_eq!(row[6], "remediator", "what: {row:?}");
    // The account is real: the CLI lists it with its role.
    let (code, list, err) = sluice.cli(&["user", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        list.lines()
            .any(|l| l.contains("rita") && l.contains("remediator")),
        "{list}"
    );
}

#[test]
fn hostile_values_render_inert_on_every_ui_page() {
    let Some(browser) = browser::require() else {
        return;
    };
    let (_sink, sluice) = gateway(&hostile::policy(901, "quarantine", ""));
    let held = hostile::quarantine(&sluice, "bob@partner.example");
    let (code, out, err) = sluice.cli(&["quarantine", "show", &held.to_string(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let shown: serde_json::Value = serde_json::from_str(out.trim()).expect("JSON");
    let guid = shown["held"]["guid"]
        .as_str()
        .unwrap_or_else(|| panic!("no guid in {shown}"))
        .to_string();
    let incident = shown["incidents"][0]["incident"]["id"]
        .as_u64()
        .unwrap_or_else(|| panic!("no incident in {shown}"));
    let day = today();
    let report = |which: &str| format!("/reports?report={which}&from={day}&to={day}");
    // Every page that shows the message, its incident or its policy. The incident's note form is
    // submitted with the values (the note then shows in its history), and the policy is set to
    // monitor from the list (the change, naming the policy, then shows in the audit log).
    let pages = serde_json::json!([
        { "name": "hostile-tracking", "path": "/tracking?recipient=bob%40partner.example" },
        { "name": "hostile-trail", "path": format!("/tracking/{}", admin::encode(&guid)) },
        { "name": "hostile-incidents", "path": "/incidents" },
        { "name": "hostile-incident", "path": format!("/incidents/{incident}"),
          "form": { "field": "Note", "button": "Add note" } },
        { "name": "hostile-quarantine", "path": "/quarantine?recipient=bob%40partner.example" },
        { "name": "hostile-held", "path": format!("/quarantine/{held}") },
        { "name": "hostile-policies", "path": "/policies",
          "form": { "button": "Set to monitor" } },
        { "name": "hostile-policy", "path": format!("/policies/edit?name={}", admin::encode(&hostile::policy_name())) },
        // The audit log quotes the policy name as the configuration writes it (`\"` for `"`).
        { "name": "hostile-audit", "path": "/audit", "literal": false },
        { "name": "hostile-report-detail", "path": report("detail") },
        // The summary shows a long policy name cut short.
        { "name": "hostile-report-summary", "path": report("summary"), "literal": false },
    ]);
    journey(&browser, "security", &sluice)
        .env("SLUICE_PAGES", pages.to_string())
        .env("SLUICE_HOSTILE", hostile::json())
        .env("SLUICE_HOSTILE_LITERAL", hostile::json_literal())
        .run();
}
