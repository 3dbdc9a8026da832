//! Editing the configuration: comments, order and formatting kept outside the edited item, every
//! edit validated whole with errors at line:col, policies as blocks (the built-in set written
//! out first), the write refused on a concurrent change and undone on a refused reload, versions
//! and rollback restoring exact text, and a policy tried on one message.

use super::*;
use crate::config::{BUILTIN_POLICIES, DEFAULT_TOML};
use crate::runtime::{Changes, Digest, Report};
use crate::service::Actor;

const TWO: &str = "\
# My gateway.
[listener]
# How many at once.
max_sessions = 50    # our MTA opens few

# Secrets go nowhere.
[[policy]]
id = 1
name = \"first\"
keywords = [\"alpha\"]
action = \"block\"
reply = \"blocked by first\"

[[policy]]
id = 2
name = \"second\"
action = \"block\"
reply = \"blocked by second\"

[[policy.rule]]
conditions = [{ keywords = [\"bravo\"] }, { keywords = [\"alpha\"] }]

[monitor]
interval = \"5m\"
";

fn report() -> Report {
    let d = Digest {
        config: String::new(),
        policies: String::new(),
    };
    Report {
        previous: d.clone(),
        digest: d,
        policies: Vec::new(),
        changes: Changes::default(),
    }
}

fn actor() -> Actor {
    Actor::new("alice").unwrap()
}

#[test]
fn a_set_changes_only_its_value_byte_for_byte() {
    let mut doc = Document::new(DEFAULT_TOML);
    doc.set("listener.max_sessions", 7).unwrap();
    let expected = DEFAULT_TOML.replacen("\nmax_sessions = 1000\n", "\nmax_sessions = 7\n", 1);
    assert_ne!(expected, DEFAULT_TOML);
    assert_eq!(doc.text(), expected);
    assert_eq!(doc.changes(), ["set listener.max_sessions"]);
    // The trailing comment and the spacing before it stay; so does the comment above.
    let mut doc = Document::new(TWO);
    doc.set("listener.max_sessions", 60).unwrap();
    assert_eq!(
        doc.text(),
        TWO.replace("max_sessions = 50    #", "max_sessions = 60    #")
    );
}

#[test]
fn a_missing_key_is_added_in_its_section_and_removed_again() {
    let mut doc = Document::new(TWO);
    doc.set("listener.max_errors", 9).unwrap();
    assert!(
        doc.text()
            .contains("max_sessions = 50    # our MTA opens few\nmax_errors = 9\n"),
        "{}",
        doc.text()
    );
    doc.remove("listener.max_errors").unwrap();
    assert_eq!(doc.text(), TWO);
    // A section the file lacks is created; the rest stays as it was.
    doc.set("relay.port", 2525).unwrap();
    assert!(doc.text().starts_with(TWO), "{}", doc.text());
    assert!(
        doc.text().contains("[relay]\nport = 2525\n"),
        "{}",
        doc.text()
    );
    // Keys that only make sense together are set as one change.
    assert!(doc.set("tls.cert_file", "/c.pem").is_err());
    doc.set_all([
        ("tls.cert_file", "/c.pem".into()),
        ("tls.key_file", "/k.pem".into()),
    ])
    .unwrap();
    assert_eq!(
        doc.changes().last().unwrap(),
        "set tls.cert_file, tls.key_file"
    );
    // Removing what the file does not set does nothing.
    let before = doc.text().to_string();
    doc.remove("dns.timeout").unwrap();
    assert_eq!(doc.text(), before);
}

#[test]
fn a_bad_edit_changes_nothing_and_says_where() {
    let mut doc = Document::new(TWO);
    let e = doc.set("listener.max_sessions", 0).unwrap_err();
    match &e {
        EditError::Invalid {
            place, line, col, ..
        } => {
            assert_eq!((*place, *line, *col), (Place::File, 4, 16), "{e}");
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().starts_with("4:16: "), "{e}");
    assert_eq!(doc.text(), TWO);
    assert!(doc.changes().is_empty());
    // Not a key, a section, an unknown key: refused or invalid, never written.
    assert!(matches!(doc.set("listener", 1), Err(EditError::Refused(_))));
    assert!(matches!(doc.set("policy.x", 1), Err(EditError::Refused(_))));
    assert!(matches!(doc.set("a..b", 1), Err(EditError::Refused(_))));
    assert!(matches!(
        doc.set("listener.no_such_key", 1),
        Err(EditError::Invalid { line: 5, .. })
    ));
    let e = doc
        .replace_text("[listener]\nmax_sessions = \n", "text")
        .unwrap_err();
    assert!(matches!(e, EditError::Invalid { line: 2, .. }), "{e:?}");
    assert_eq!(doc.text(), TWO);
}

#[test]
fn policies_are_listed_in_order_with_their_comments() {
    let doc = Document::new(TWO);
    let list = doc.policies().unwrap();
    let names: Vec<&str> = list.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["first", "second"]);
    assert!(
        list[0]
            .text
            .starts_with("# Secrets go nowhere.\n[[policy]]\nid = 1\n")
    );
    assert!(
        list[0].text.ends_with("reply = \"blocked by first\""),
        "{:?}",
        list[0].text
    );
    assert!(
        list[1]
            .text
            .ends_with("conditions = [{ keywords = [\"bravo\"] }, { keywords = [\"alpha\"] }]")
    );
    assert_eq!(
        (list[1].index, list[1].id, list[1].enabled),
        (1, Some(2), true)
    );
    assert_eq!(list[1].mode, Mode::Enforce);
    assert!(!list[0].builtin);
}

#[test]
fn reordering_changes_the_evaluation_order() {
    let message = b"From: a@corp.example\r\nTo: b@x.example\r\nSubject: hi\r\n\r\nalpha bravo\r\n";
    let reply = |text: &str| {
        let config = crate::config::Config::parse(text, "t").unwrap();
        let scanner = crate::scan::Scanner::new(&config).unwrap();
        let env = crate::scan::command::envelope_of(message);
        match scanner
            .scan(&env, message, &crate::decompose::NoBudget)
            .verdict
            .decision
        {
            crate::policy::Decision::Block { reply } => reply,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(reply(TWO), "blocked by first");
    let mut doc = Document::new(TWO);
    doc.move_policy("second", 0).unwrap();
    assert_eq!(reply(doc.text()), "blocked by second");
    let names: Vec<String> = doc
        .policies()
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["second", "first"]);
    // Everything outside the policies is where it was.
    assert!(doc.text().starts_with("# My gateway.\n[listener]\n"));
    assert!(doc.text().ends_with("\n\n[monitor]\ninterval = \"5m\"\n"));
    doc.move_policy("second", 9).unwrap();
    assert_eq!(doc.text(), TWO);
}

#[test]
fn enabling_and_mode_touch_only_that_key() {
    let mut doc = Document::new(TWO);
    doc.set_policy_enabled("second", false).unwrap();
    assert_eq!(
        doc.text(),
        TWO.replace(
            "reply = \"blocked by second\"\n",
            "reply = \"blocked by second\"\nenabled = false\n"
        )
    );
    let config = crate::config::Config::parse(doc.text(), "t").unwrap();
    assert!(!config.policies.iter().nth(1).unwrap().enabled);
    doc.set_policy_enabled("second", true).unwrap();
    doc.set_policy_mode("first", Mode::Monitor).unwrap();
    let list = doc.policies().unwrap();
    assert!(list[1].enabled);
    assert_eq!(list[0].mode, Mode::Monitor);
    assert!(matches!(
        doc.set_policy_enabled("nope", true),
        Err(EditError::Refused(_))
    ));
}

#[test]
fn put_policy_replaces_adds_and_reports_errors_at_the_policy_line() {
    let mut doc = Document::new(TWO);
    let third = "[[policy]]\r\nid = 3\r\nname = \"third\"\r\nkeywords = [\"charlie\"]\r\naction = \"log\"\r\n";
    doc.put_policy("", third).unwrap();
    let list = doc.policies().unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[2].text, third.replace("\r\n", "\n").trim_end());
    assert!(
        doc.text().ends_with("\n\n[monitor]\ninterval = \"5m\"\n"),
        "{}",
        doc.text()
    );
    // Replaced by name, renamed in the same step; the others unchanged.
    doc.put_policy(
        "third",
        "[[policy]]\nid = 3\nname = \"3rd\"\nkeywords = [\"delta\"]\naction = \"log\"",
    )
    .unwrap();
    let names: Vec<String> = doc
        .policies()
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["first", "second", "3rd"]);
    let before = doc.text().to_string();
    // An error inside the policy: its line in the policy's text.
    let bad = "[[policy]]\nid = 4\nname = \"bad\"\naction = \"explode\"\nkeywords = [\"x\"]\n";
    let e = doc.put_policy("", bad).unwrap_err();
    assert!(
        matches!(
            e,
            EditError::Invalid {
                place: Place::Policy,
                line: 4,
                col: 10,
                ..
            }
        ),
        "{e:?}"
    );
    // A syntax error, two policies, a duplicate name, a duplicate id.
    let e = doc.put_policy("", "[[policy]]\nid = = 4\n").unwrap_err();
    assert!(
        matches!(
            e,
            EditError::Invalid {
                place: Place::Policy,
                line: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        doc.put_policy("", "[[policy]]\nid=4\n[[policy]]\nid=5\n")
            .is_err()
    );
    assert!(matches!(
        doc.put_policy(
            "",
            "[[policy]]\nid = 9\nname = \"first\"\nkeywords = [\"x\"]"
        ),
        Err(EditError::Refused(_))
    ));
    let e = doc
        .put_policy("", "[[policy]]\nid = 1\nname = \"dup\"\nkeywords = [\"x\"]")
        .unwrap_err();
    assert!(
        matches!(
            e,
            EditError::Invalid {
                place: Place::Policy,
                line: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(doc.text(), before);
}

#[test]
fn the_first_policy_edit_writes_the_builtin_set_as_it_ran() {
    let doc = Document::new(DEFAULT_TOML);
    let listed = doc.policies().unwrap();
    assert!(listed.len() > 3 && listed.iter().all(|p| p.builtin && p.mode == Mode::Monitor));
    let mut doc = Document::new(DEFAULT_TOML);
    doc.set_policy_enabled("Source code", false).unwrap();
    assert!(
        doc.text().starts_with(DEFAULT_TOML.trim_end()),
        "the defaults' text stays whole"
    );
    assert_eq!(doc.changes().len(), 2, "{:?}", doc.changes());
    let written = crate::config::Config::parse(doc.text(), "t").unwrap();
    let builtin = crate::config::Config::embedded().unwrap();
    assert_eq!(
        written.policy_source,
        crate::config::PolicySource::Configured
    );
    let view = |c: &crate::config::Config| -> Vec<(u64, bool, bool)> {
        c.policies
            .iter()
            .map(|p| (p.id, p.monitor, p.enabled))
            .collect()
    };
    let mut expected = view(&builtin);
    expected
        .iter_mut()
        .filter(|p| p.0 == 150)
        .for_each(|p| p.2 = false);
    assert_eq!(view(&written), expected);
    // Enforce mode: the set's own modes; off: nothing written, nothing runs.
    let enforce = "[inspection]\nbuiltin_policies = \"enforce\"\n";
    let mut doc = Document::new(enforce);
    doc.put_policy(
        "",
        "[[policy]]\nid = 1\nkeywords = [\"x\"]\naction = \"log\"",
    )
    .unwrap();
    let c = crate::config::Config::parse(doc.text(), "t").unwrap();
    assert_eq!(
        c.policies.len(),
        toml::from_str::<toml::Table>(BUILTIN_POLICIES).unwrap()["policy"]
            .as_array()
            .unwrap()
            .len()
            + 1
    );
    assert!(!c.policies.iter().next().unwrap().monitor);
    let mut doc = Document::new("[inspection]\nbuiltin_policies = \"off\"\n");
    assert!(doc.policies().unwrap().is_empty());
    doc.put_policy(
        "",
        "[[policy]]\nid = 1\nkeywords = [\"x\"]\naction = \"log\"",
    )
    .unwrap();
    assert_eq!(doc.policies().unwrap().len(), 1);
}

#[test]
fn deleting_the_last_policy_turns_the_builtin_set_off() {
    let mut doc = Document::new(TWO);
    doc.delete_policy("first").unwrap();
    assert!(!doc.text().contains("Secrets go nowhere"));
    assert!(
        doc.text()
            .contains("max_sessions = 50    # our MTA opens few\n\n[[policy]]\nid = 2\n")
    );
    doc.delete_policy("second").unwrap();
    let c = crate::config::Config::parse(doc.text(), "t").unwrap();
    assert_eq!(c.policy_source, crate::config::PolicySource::None);
    assert!(
        doc.text().contains("\n\n[monitor]\ninterval = \"5m\"\n"),
        "{}",
        doc.text()
    );
    assert!(
        doc.text()
            .ends_with("\n\n[inspection]\nbuiltin_policies = \"off\"\n"),
        "{}",
        doc.text()
    );
}

#[test]
fn form_input_takes_the_type_of_the_default() {
    assert_eq!(
        value_from_input("listener.max_sessions", " 12 ")
            .unwrap()
            .as_integer(),
        Some(12)
    );
    assert!(value_from_input("listener.max_sessions", "many").is_err());
    assert_eq!(
        value_from_input("server.trial_mode", "on")
            .unwrap()
            .as_bool(),
        Some(true)
    );
    assert_eq!(
        value_from_input("listener.command_timeout", "5m")
            .unwrap()
            .as_str(),
        Some("5m")
    );
    let list =
        value_from_input("listener.allowed_clients", "10.0.0.0/8\n192.168.0.0/16\n").unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2);
}

fn target(dir: &std::path::Path) -> Target {
    Target {
        path: dir.join("sluice.toml"),
        data_dir: dir.join("data"),
        keep: 3,
    }
}

#[test]
fn apply_writes_reloads_and_records_versions_that_roll_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let t = target(dir.path());
    std::fs::write(&t.path, TWO).unwrap();
    std::fs::set_permissions(&t.path, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    let snap = read(&t).unwrap();
    assert!(snap.exists);
    let mut reloads = 0;
    let applied = apply(
        &t,
        &snap.digest,
        |d| d.set("listener.max_sessions", 70),
        &actor(),
        1000,
        || {
            reloads += 1;
            Ok(report())
        },
    )
    .unwrap();
    assert_eq!(reloads, 1);
    assert_eq!(applied.version, Some(1));
    let after = std::fs::read_to_string(&t.path).unwrap();
    assert_eq!(after, TWO.replace("= 50 ", "= 70 "));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&t.path).unwrap().permissions().mode() & 0o777,
        0o640
    );
    let h = history::History::at(&t.data_dir);
    let v = h.version(1).unwrap();
    assert_eq!((v.meta.by.as_str(), v.meta.at), ("alice", 1000));
    assert_eq!(v.meta.what, ["set listener.max_sessions"]);
    assert_eq!(h.before(1).unwrap(), TWO);
    assert_eq!(h.text(1).unwrap(), after);
    let lines: Vec<String> = diff(&h.before(1).unwrap(), &h.text(1).unwrap())
        .iter()
        .map(|l| l.to_string())
        .collect();
    assert!(
        lines.contains(&"-max_sessions = 50    # our MTA opens few".to_string()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"+max_sessions = 70    # our MTA opens few".to_string()),
        "{lines:?}"
    );
    assert!(lines[0].starts_with("@@ -1,"), "{lines:?}");
    // Rolled back to the file before version 1: exact text, itself version 2.
    std::fs::write(dir.path().join("v0"), TWO).unwrap();
    let a = apply(
        &t,
        &applied.digest,
        |d| d.replace_text(&h.before(1).unwrap(), "back"),
        &actor(),
        1001,
        || Ok(report()),
    )
    .unwrap();
    assert_eq!(std::fs::read_to_string(&t.path).unwrap(), TWO);
    assert_eq!(a.version, Some(2));
    let r = rollback(&t, &a.digest, 1, &actor(), 1002, || Ok(report())).unwrap();
    assert_eq!(std::fs::read_to_string(&t.path).unwrap(), after);
    assert_eq!(r.version, Some(3));
    assert_eq!(
        h.version(3).unwrap().meta.what,
        ["rolled back to version 1"]
    );
    // Bounded: 3 kept, the oldest go.
    let mut digest = r.digest;
    for n in 0..2 {
        let a = apply(
            &t,
            &digest,
            |d| d.set("listener.max_errors", 5 + n),
            &actor(),
            1003,
            || Ok(report()),
        )
        .unwrap();
        digest = a.digest;
    }
    let numbers: Vec<u64> = h.list().unwrap().iter().map(|v| v.number).collect();
    assert_eq!(numbers, [5, 4, 3]);
    assert!(matches!(h.text(1), Err(EditError::Refused(_))));
    // Nothing changed: nothing written, no version.
    let same = apply(
        &t,
        &digest,
        |_| Ok(()),
        &actor(),
        1004,
        || panic!("no reload"),
    )
    .unwrap();
    assert_eq!(same.version, None);
}

#[test]
fn a_concurrent_change_or_a_refused_reload_leaves_the_file_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let t = target(dir.path());
    std::fs::write(&t.path, TWO).unwrap();
    let snap = read(&t).unwrap();
    // Someone else saved in between.
    let theirs = TWO.replace("interval = \"5m\"", "interval = \"6m\"");
    std::fs::write(&t.path, &theirs).unwrap();
    let e = apply(
        &t,
        &snap.digest,
        |d| d.set("listener.max_sessions", 70),
        &actor(),
        1,
        || panic!("no reload"),
    )
    .unwrap_err();
    assert_eq!(e, EditError::Conflict);
    assert_eq!(std::fs::read_to_string(&t.path).unwrap(), theirs);
    // The server refuses the new file: the old one is put back, no version.
    let snap = read(&t).unwrap();
    let e = apply(
        &t,
        &snap.digest,
        |d| d.set("relay.port", 2526),
        &actor(),
        2,
        || Err("tls.cert_file: /nonexistent.pem: not found".into()),
    );
    let e = e.unwrap_err();
    assert!(
        matches!(&e, EditError::ReloadRefused(m) if m.contains("not found")),
        "{e:?}"
    );
    assert_eq!(std::fs::read_to_string(&t.path).unwrap(), theirs);
    // An invalid edit is never written.
    let e = apply(
        &t,
        &snap.digest,
        |d| d.set("listener.max_sessions", -1),
        &actor(),
        3,
        || panic!("no reload"),
    )
    .unwrap_err();
    assert!(matches!(e, EditError::Invalid { line: 4, .. }), "{e:?}");
    assert_eq!(std::fs::read_to_string(&t.path).unwrap(), theirs);
    assert!(history::History::at(&t.data_dir).list().unwrap().is_empty());
    // No file yet: the defaults' text is the start, a refused reload removes the new file again.
    let t = Target {
        path: dir.path().join("new/sluice.toml"),
        ..t
    };
    let snap = read(&t).unwrap();
    assert!(!snap.exists);
    assert_eq!(snap.text, DEFAULT_TOML);
    let e = apply(
        &t,
        &snap.digest,
        |d| d.set("listener.max_sessions", 9),
        &actor(),
        4,
        || Err("no".into()),
    );
    assert!(e.is_err());
    assert!(!t.path.exists());
    apply(
        &t,
        &snap.digest,
        |d| d.set("listener.max_sessions", 9),
        &actor(),
        5,
        || Ok(report()),
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(&t.path).unwrap(),
        DEFAULT_TOML.replacen("\nmax_sessions = 1000\n", "\nmax_sessions = 9\n", 1)
    );
}

#[test]
fn a_policy_is_tried_on_a_message_before_it_is_saved() {
    let message =
        b"From: a@corp.example\r\nTo: b@x.example\r\nSubject: plans\r\n\r\nthe alpha plan\r\n";
    let pdf: crate::scan::Pdf = std::sync::Arc::new(crate::decompose::NoPdf);
    let config = crate::config::Config::parse(TWO, "t").unwrap();
    let probe = probe::test_with(&config, message, pdf.clone()).unwrap();
    assert_eq!(probe.violations.len(), 1);
    assert_eq!(probe.violations[0].name, "first");
    assert!(
        probe.findings.iter().any(|f| f.location == "body"),
        "{:?}",
        probe.findings
    );
    assert!(
        matches!(&probe.outcome, probe::Outcome::Refused { reply } if reply.starts_with("550 5.7.1") && reply.contains("blocked by first")),
        "{:?}",
        probe.outcome
    );
    // A modify policy: what would be sent.
    let modify = "[[policy]]\nid = 7\nkeywords = [\"alpha\"]\naction = \"modify\"\nsubject = { mode = \"prepend\", text = \"[DLP] \" }\nheaders = [\"X-Class: secret\"]\nstrip_attachments = \"all\"\n";
    let config = crate::config::Config::parse(modify, "t").unwrap();
    let probe = probe::test_with(&config, message, pdf.clone()).unwrap();
    match probe.outcome {
        probe::Outcome::Sent {
            to,
            redirected,
            subject,
            added_headers,
            body_edits,
        } => {
            assert_eq!(body_edits, ["strip attachments (all)"]);
            assert_eq!(to, ["b@x.example"]);
            assert!(!redirected);
            assert_eq!(subject, "[DLP] plans");
            assert!(
                added_headers.contains(&"X-Class: secret".to_string()),
                "{added_headers:?}"
            );
            assert!(
                added_headers.contains(&"X-dlp-policyid: 7".to_string()),
                "{added_headers:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The candidate text is checked first.
    assert!(matches!(
        test_policy("[[policy]]\nid = 1\n", message),
        Err(EditError::Invalid { line: 1, .. })
    ));
}

#[test]
fn the_form_shape_writes_a_valid_policy_and_reads_it_back() {
    let shape = PolicyShape {
        name: "Cards to partners".into(),
        action: "block".into(),
        reply: "No cards, please".into(),
        senders: vec!["*@corp.example".into()],
        keywords: vec!["secret".into(), "project falcon".into()],
        identifiers: vec!["CREDIT_CARD".into()],
        regexes: vec![r"EMP-\d{6}".into()],
        file_types: vec!["exe".into()],
        ..PolicyShape::new_policy(77)
    };
    let text = shape.to_toml();
    let config = crate::config::Config::parse(&text, "t").unwrap();
    assert_eq!(config.policies.iter().next().unwrap().id, 77);
    assert_eq!(PolicyShape::from_text(&text), Some(shape));
    // A built-in policy of the common shape reads; one with a dictionary does not.
    let doc = Document::new(DEFAULT_TOML);
    let list = doc.policies().unwrap();
    let secrets = list.iter().find(|p| p.id == Some(130)).unwrap();
    let shape = PolicyShape::from_text(&secrets.text).unwrap();
    assert!(
        shape.identifiers.contains(&"PRIVATE_KEY".to_string()),
        "{shape:?}"
    );
    assert_eq!(shape.mode, "monitor");
    let markings = list.iter().find(|p| p.id == Some(140)).unwrap();
    assert_eq!(PolicyShape::from_text(&markings.text), None);
}

#[test]
fn a_settings_view_has_each_default_key_with_its_comment_and_the_value_in_force() {
    let list = view::settings(&["listener", "admin"], TWO);
    let get = |k: &str| list.iter().find(|s| s.key == k).unwrap();
    let s = get("listener.max_sessions");
    assert_eq!(
        (s.value.as_str(), s.in_file, s.kind),
        ("50", true, view::Kind::Number)
    );
    assert!(
        s.help.starts_with("Concurrent SMTP sessions"),
        "{:?}",
        s.help
    );
    let c = get("listener.allowed_clients");
    assert_eq!(c.kind, view::Kind::List);
    assert!(
        c.value.starts_with("127.0.0.0/8\n::1/128\n"),
        "{:?}",
        c.value
    );
    assert!(!c.in_file);
    assert!(c.restart.is_none());
    assert!(get("admin.address").restart.is_some());
    assert!(get("admin.config_history").restart.is_none());
    assert_eq!(get("admin.enabled").kind, view::Kind::Bool);
}

#[test]
fn a_notice_template_is_previewed_with_sample_facts_and_checked() {
    let text = "[notifications.templates.rejected]\nsubject = \"Not delivered: ${SUBJECT}\"\n";
    let r = view::preview_notice(text, "rejected").unwrap();
    assert_eq!(r.subject, "Not delivered: Q3 payment run");
    assert_eq!(
        view::notice_template(text, "rejected")[0],
        "Not delivered: ${SUBJECT}"
    );
    let bad = "[notifications.templates.rejected]\nsubject = \"${NOPE}\"\n";
    assert!(matches!(
        view::preview_notice(bad, "rejected"),
        Err(EditError::Invalid { line: 2, .. })
    ));
    assert!(view::notice_kinds().contains(&"sender_violation"));
}

#[test]
fn several_listeners_are_refused_by_the_form_never_corrupted() {
    let text = "[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:1\"\n\n[[listener]]\nname = \"b\"\naddress = \"127.0.0.1:2\"\n";
    let mut doc = Document::new(text);
    let e = doc.set("listener.max_sessions", 7).unwrap_err();
    assert!(
        matches!(&e, EditError::Refused(m) if m.contains("[[listener]] tables")),
        "{e:?}"
    );
    assert!(matches!(
        doc.remove("listener.max_sessions"),
        Err(EditError::Refused(_))
    ));
    assert_eq!(doc.text(), text);
    assert!(doc.changes().is_empty());
}
