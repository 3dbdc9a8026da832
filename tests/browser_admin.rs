//! The admin UI in a real browser (Debian's chromium through playwright-core; see
//! `tests/support/browser.rs`), page by page as they exist: each scenario screenshots every page
//! it visits to `target/ui-screenshots/`, runs axe-core on it and fails on any CSP violation.
//!
//! The journeys the issue asks for whose pages are not written yet are stubs below, ignored with
//! the reason (cargo lists them as ignored; run with `--ignored`, they fail until written).

mod support;

use support::browser;
use support::sink::Sink;
use support::sluice::{Sluice, forward_config};

#[test]
fn signed_out_visitors_go_to_log_in_error_pages_load_their_assets_and_no_site_frames_the_ui() {
    let Some(browser) = browser::require() else {
        return;
    };
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    browser.scenario("signed_out", &sluice).run();
}

/// A stub's body: fails when run (`--ignored`), so an unwritten journey never passes.
fn not_written(what: &str) -> ! {
    panic!("browser scenario not written yet: {what}")
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

#[test]
#[ignore = "stub: the tracking page (data) is not on main yet"]
fn find_a_message_in_tracking_and_follow_its_life() {
    not_written(
        "send mail through the proxy, search tracking by sender/recipient/subject, open the \
         message's detail and see received, inspected, policies, relayed",
    )
}

#[test]
#[ignore = "stub: the incidents and quarantine pages (pages) are not on main yet"]
fn open_an_incident_and_release_its_message_to_the_sink() {
    not_written(
        "a quarantining policy holds a message; open its incident, see the redacted findings in \
         context, release the message from the UI; it reaches the sink once",
    )
}

#[test]
#[ignore = "stub: the quarantine page (pages) is not on main yet"]
fn quarantine_preview_is_text_only_and_release_delete_work() {
    not_written(
        "search the quarantine by recipient, open the safe preview (text, headers, attachments \
         listed, no remote content), release one and delete another",
    )
}

#[test]
#[ignore = "stub: not scripted yet; the policies pages are on main (first_start visits and checks them)"]
fn edit_a_policy_test_it_against_an_eml_and_save_it() {
    not_written(
        "edit a policy in the form editor, test it against an uploaded .eml (findings, verdict), \
         save; the config file changed with comments kept; a message now gets the new verdict",
    )
}

#[test]
#[ignore = "stub: not scripted yet; the settings pages are on main (first_start visits and checks them)"]
fn change_a_setting_and_see_it_applied() {
    not_written(
        "change a live setting (e.g. a limit) in the UI; the running proxy applies it without a \
         restart; the version history shows the change and its diff",
    )
}

#[test]
#[ignore = "stub: the reports pages and CSV export (data) are not on main yet"]
fn download_a_csv_report_and_check_its_rows_against_the_cli() {
    not_written(
        "download the detail report as CSV from the UI and compare its rows with `sluice report \
         detail --csv`",
    )
}

#[test]
#[ignore = "stub: not scripted yet; the users and audit pages are on main (first_start visits and checks them)"]
fn add_a_user_and_see_the_change_in_the_audit_log() {
    not_written("add a remediator in the users page; the audit log lists who, when and what")
}

#[test]
#[ignore = "stub: needs the signed-in pages (tracking, incidents, quarantine, policies, audit)"]
fn hostile_values_render_inert_on_every_ui_page() {
    not_written(
        "put tests/support/hostile.rs's values in the store (hostile::send with a quarantining \
         hostile::policy) and run tests/browser/security.mjs over every page that shows them",
    )
}
