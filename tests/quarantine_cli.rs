//! `sluice quarantine`, `sluice incident`, `sluice backup` and `sluice restore` through the real
//! binary, on a store each test prepares (opened with `Store::open`, filled, closed) in a temporary
//! data directory: listings (table, JSON, filters), show, release / delete / remediate with their
//! summaries and exit codes, and a backup restored over later changes.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use sluice::store::records::*;
use sluice::store::{Store, held, incidents, queue};

const MESSAGE: &[u8] =
    b"From: <alice@corp.example>\r\nSubject: Q3 numbers\r\n\r\ncard 4111 1111 1111 1111\r\n";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn sluice(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("USER", "tester")
        .env_remove("SLUICE_CLOCK_OFFSET_FILE")
        .output()
        .expect("run sluice")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

fn open(data: &Path) -> Store {
    Store::open(
        &data.join("store"),
        &sluice::config::Config::embedded()
            .unwrap()
            .store
            .store_options(),
    )
    .expect("open store")
}

struct Msg {
    sender: &'static str,
    rcpt: &'static str,
    subject: &'static str,
    age: u64,
    status: HeldStatus,
}

/// Fills a store: one held message with one incident each; returns (held id, incident id) pairs.
fn prepare(data: &Path, msgs: Vec<Msg>) -> Vec<(u64, u64)> {
    let store = open(data);
    let t = now();
    let ids = store
        .write_blocking(move |txn| {
            let mut out = Vec::new();
            for (n, m) in msgs.into_iter().enumerate() {
                let record = Held {
                    id: HeldId(0),
                    guid: format!("GUID-{n}"),
                    received: t - m.age,
                    direction: sluice::policy::Direction::Outbound,
                    peer: "127.0.0.1".into(),
                    sender: m.sender.into(),
                    envid: None,
                    ret_full: false,
                    recipients: vec![HeldRecipient {
                        address: m.rcpt.into(),
                        notify: Default::default(),
                        orcpt: None,
                        status: m.status,
                    }],
                    subject: m.subject.into(),
                    message_id: format!("<m{n}@corp.example>"),
                    size: 0,
                    policies: vec![PolicyRef {
                        id: 100,
                        name: "PCI".into(),
                        severity: sluice::policy::Severity::High,
                        monitor: false,
                    }],
                    severity: sluice::policy::Severity::High,
                    status: m.status,
                    hold: Hold::Quarantine,
                    findings: vec!["policy 100 rule \"cards\": CREDIT_CARD x1 in body".into()],
                    incidents: vec![],
                    expires: t + 7 * 86_400,
                };
                let (id, _) = held::insert(
                    txn,
                    record.clone(),
                    MESSAGE,
                    sluice::config::Config::embedded().unwrap().store.caps(),
                )?;
                let incident = Incident {
                    id: IncidentId(0),
                    guid: record.guid.clone(),
                    created: record.received,
                    policy: record.policies[0].clone(),
                    status: IncidentStatus::New,
                    direction: sluice::policy::Direction::Outbound,
                    peer: "127.0.0.1".into(),
                    sender: record.sender.clone(),
                    recipients: vec![m.rcpt.into()],
                    subject: record.subject.clone(),
                    message_id: record.message_id.clone(),
                    size: MESSAGE.len() as u64,
                    findings: record.findings.clone(),
                    action: "quarantined".into(),
                    held: Some(id),
                    copies: 1,
                };
                let inc = incidents::record(txn, incident, None, 0)?.id();
                let old = held::must_get(txn, id)?;
                let mut new = old.clone();
                new.incidents = vec![inc];
                held::update(txn, &old, &new)?;
                out.push((id.0, inc.0));
            }
            Ok(out)
        })
        .expect("prepare");
    store.close();
    ids
}

fn three(data: &Path) -> Vec<(u64, u64)> {
    prepare(
        data,
        vec![
            Msg {
                sender: "alice@corp.example",
                rcpt: "bob@partner.example",
                subject: "Q3 numbers",
                age: 3 * 86_400,
                status: HeldStatus::Held,
            },
            Msg {
                sender: "carol@corp.example",
                rcpt: "dan@other.example",
                subject: "payroll",
                age: 3600,
                status: HeldStatus::Held,
            },
            Msg {
                sender: "alice@corp.example",
                rcpt: "erin@partner.example",
                subject: "\x1b[31mred alert",
                age: 60,
                status: HeldStatus::Held,
            },
        ],
    )
}

#[test]
fn list_prints_a_table_json_lines_and_filters() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let ids = three(data);

    let o = sluice(data, &["quarantine", "list"]);
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}\n{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with("ID") && lines[0].contains("SUBJECT"),
        "{out}"
    );
    // Newest first; columns aligned (the STATUS column starts at the same place on every line).
    assert!(lines[1].starts_with(&ids[2].0.to_string()), "{out}");
    let col = lines[0].find("STATUS").unwrap();
    assert!(
        lines[1..].iter().all(|l| l[col..].starts_with("held")),
        "{out}"
    );
    // The escape sequence in a subject never reaches the terminal.
    assert!(!out.contains('\x1b'), "{out:?}");

    let o = sluice(data, &["quarantine", "list", "--json"]);
    let (out, _) = text(&o);
    let records: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect();
    let got: Vec<u64> = records.iter().map(|r| r["id"].as_u64().unwrap()).collect();
    assert_eq!(got, vec![ids[2].0, ids[1].0, ids[0].0]);
    assert_eq!(
        records[0]["recipients"][0]["address"],
        "erin@partner.example"
    );

    let o = sluice(
        data,
        &[
            "quarantine",
            "list",
            "--json",
            "--recipient",
            "@partner.example",
        ],
    );
    assert_eq!(text(&o).0.lines().count(), 2);
    let o = sluice(data, &["quarantine", "list", "--json", "--since", "2h"]);
    assert_eq!(text(&o).0.lines().count(), 2);
    let o = sluice(
        data,
        &[
            "quarantine",
            "list",
            "--json",
            "--sender",
            "carol@corp.example",
        ],
    );
    let (out, _) = text(&o);
    assert_eq!(out.lines().count(), 1);
    assert!(out.contains("payroll"));
    let o = sluice(data, &["quarantine", "list", "--json", "--subject", "Q3"]);
    assert_eq!(text(&o).0.lines().count(), 1);
    let o = sluice(data, &["quarantine", "list", "--json", "--limit", "1"]);
    let (out, err) = text(&o);
    assert_eq!(out.lines().count(), 1);
    assert!(err.contains("more may match"), "{err}");

    let o = sluice(data, &["quarantine", "list", "--since", "yesterday"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).1.contains("not a time"), "{:?}", text(&o));
    let o = sluice(data, &["quarantine", "list", "--status", "new"]);
    assert_eq!(code(&o), 2, "incident statuses are not message statuses");
}

#[test]
fn show_prints_metadata_findings_recipients_history_and_content() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let ids = three(data);
    let id = ids[0].0.to_string();

    let o = sluice(data, &["quarantine", "show", &id]);
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}\n{err}");
    for want in [
        &format!("held message {id}"),
        "content held",
        "100 (PCI, high)",
        "CREDIT_CARD x1 in body",
        "bob@partner.example",
        &format!("incident {} (policy 100 PCI, new)", ids[0].1),
        "policy 100 matched; message quarantined",
    ] {
        assert!(out.contains(want), "{want:?} in\n{out}");
    }
    assert!(!out.contains("4111 1111"), "the body is not shown: {out}");

    let o = sluice(data, &["quarantine", "show", &id, "--content"]);
    assert_eq!(code(&o), 0);
    assert_eq!(o.stdout, MESSAGE);

    let o = sluice(data, &["quarantine", "show", "999"]);
    assert_eq!(code(&o), 1);
    assert!(text(&o).1.contains("not found"));
}

#[test]
fn release_queues_once_and_a_second_release_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let ids = three(data);
    let (id, inc) = ids[0];
    let id_s = id.to_string();

    let o = sluice(
        data,
        &[
            "quarantine",
            "release",
            &id_s,
            "--tag",
            "X-CFilter: Encrypt",
        ],
    );
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}\n{err}");
    assert!(
        out.contains("released 1, refused 0, not found 0, failed 0"),
        "{out}"
    );

    let o = sluice(data, &["quarantine", "release", &id_s, "999"]);
    let (out, _) = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains(&format!("held {id}: refused: already released")),
        "{out}"
    );
    assert!(
        out.contains("held 999: held message 999 not found"),
        "{out}"
    );
    assert!(
        out.contains("released 0, refused 1 (already released), not found 1, failed 0"),
        "{out}"
    );

    let store = open(data);
    let (entries, content, history, status) = store
        .read(|txn| {
            let entries = queue::list(txn, 10)?;
            let content = queue::content(txn, entries[0].id)?;
            Ok((
                entries,
                content,
                incidents::history(txn, IncidentId(inc))?,
                held::must_get(txn, HeldId(id))?.status,
            ))
        })
        .unwrap();
    store.close();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].recipients[0].address, "bob@partner.example");
    let content = String::from_utf8(content.unwrap()).unwrap();
    assert!(
        content.starts_with("X-CFilter: Encrypt\r\nX-Sluice-Release: "),
        "{content}"
    );
    assert_eq!(status, HeldStatus::Released);
    let results: Vec<(&str, &str)> = history
        .iter()
        .map(|e| (e.actor.as_str(), e.result.as_str()))
        .collect();
    assert!(
        results.iter().any(|(a, r)| *a == "tester"
            && r.starts_with("released by tester with X-CFilter: Encrypt: queued for delivery")),
        "{results:?}"
    );
    assert_eq!(
        results.last(),
        Some(&("tester", "refused: already released"))
    );

    let o = sluice(data, &["quarantine", "show", &id_s]);
    assert!(text(&o).0.contains("content no longer held"));
    let o = sluice(data, &["quarantine", "show", &id_s, "--content"]);
    assert_eq!(code(&o), 1);
}

#[test]
fn bulk_delete_over_a_filter_and_incident_remediation() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let ids = three(data);

    let o = sluice(
        data,
        &[
            "quarantine",
            "delete",
            "--all-matching",
            "--recipient",
            "@partner.example",
            "--yes",
        ],
    );
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}\n{err}");
    assert!(
        out.contains("deleted 2, refused 0, not found 0, failed 0"),
        "{out}"
    );
    // --all-matching means the messages still held: the deleted ones are not matched again.
    let o = sluice(
        data,
        &[
            "quarantine",
            "delete",
            "--all-matching",
            "--recipient",
            "@partner.example",
            "--yes",
        ],
    );
    assert!(
        text(&o).0.contains("deleted 0, refused 0"),
        "{:?}",
        text(&o)
    );
    let o = sluice(
        data,
        &["quarantine", "list", "--json", "--status", "deleted"],
    );
    assert_eq!(text(&o).0.lines().count(), 2);

    // Incidents: the remaining message released through its incident; a deleted one refused.
    let o = sluice(data, &["incident", "list", "--json", "--status", "deleted"]);
    assert_eq!(text(&o).0.lines().count(), 2);
    let (live, deleted) = (ids[1].1.to_string(), ids[0].1.to_string());
    let o = sluice(
        data,
        &[
            "incident",
            "remediate",
            "--action",
            "release",
            &live,
            &deleted,
        ],
    );
    let (out, _) = text(&o);
    assert_eq!(code(&o), 1, "{out}");
    assert!(
        out.contains("released 1, refused 1 (already deleted), not found 0, failed 0"),
        "{out}"
    );
    let o = sluice(
        data,
        &["incident", "remediate", "--action", "resolve", &deleted],
    );
    assert_eq!(code(&o), 0, "{:?}", text(&o));
    let o = sluice(data, &["incident", "show", &deleted]);
    let (out, _) = text(&o);
    for want in [
        "status      resolved",
        "deleted by tester",
        "refused: already deleted",
        "resolved by tester",
    ] {
        assert!(out.contains(want), "{want:?} in\n{out}");
    }
    let o = sluice(data, &["incident", "list"]);
    let (out, _) = text(&o);
    assert!(out.starts_with("ID") && out.lines().count() == 4, "{out}");

    // Misuse is an error (2), not a partial outcome.
    for args in [
        &["quarantine", "release"][..],
        &["quarantine", "release", "1", "--all-matching"],
        &["quarantine", "release", "1", "--sender", "a@b"],
        &["incident", "remediate", "--action", "explode", "1"],
        &["incident", "remediate", "--action", "note", "1"],
    ] {
        let o = sluice(data, args);
        assert_eq!(code(&o), 2, "{args:?}: {:?}", text(&o));
    }
}

#[test]
fn backup_and_restore_bring_back_the_earlier_state() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let ids = three(data);
    let file = tmp.path().join("backup.mdb");
    let file_s = file.to_str().unwrap();

    let o = sluice(data, &["backup", file_s]);
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}\n{err}");
    assert!(out.contains("backup written to"), "{out}");
    assert!(file.is_file());

    let id = ids[0].0.to_string();
    assert_eq!(code(&sluice(data, &["quarantine", "delete", &id])), 0);
    let o = sluice(data, &["quarantine", "list", "--json", "--status", "held"]);
    assert_eq!(text(&o).0.lines().count(), 2);

    let o = sluice(data, &["restore", file_s]);
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}\n{err}");
    assert!(
        out.contains("restored")
            && out.contains(&format!(
                "records (schema {})",
                sluice::store::schema::CURRENT
            )),
        "{out}"
    );
    let o = sluice(data, &["quarantine", "list", "--json", "--status", "held"]);
    assert_eq!(text(&o).0.lines().count(), 3);
    let o = sluice(data, &["quarantine", "show", &id, "--content"]);
    assert_eq!(o.stdout, MESSAGE);

    let o = sluice(
        data,
        &["restore", tmp.path().join("missing").to_str().unwrap()],
    );
    assert_eq!(code(&o), 2);
}

#[test]
fn a_missing_store_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let o = sluice(tmp.path(), &["quarantine", "list"]);
    assert_eq!(code(&o), 2);
    assert!(text(&o).1.contains("no store at"), "{:?}", text(&o));
    assert!(!tmp.path().join("store").exists(), "nothing was created");
}

#[test]
fn rescan_records_the_verdict_and_forward_queues_a_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let ids = three(data);
    let config = tmp.path().join("sluice.toml");
    std::fs::write(
        &config,
        "[[policy]]\nid = 100\nname = \"PCI\"\naction = \"log\"\n[[policy.rule]]\nconditions = [{ keywords = [\"card\"] }]\n",
    )
    .unwrap();
    let (id, inc) = (ids[0].0.to_string(), ids[0].1.to_string());
    let o = sluice(
        data,
        &[
            "quarantine",
            "rescan",
            &id,
            "--config",
            config.to_str().unwrap(),
        ],
    );
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}\n{err}");
    assert!(out.contains("rescanned: still violates 100 (PCI)"), "{out}");

    let o = sluice(
        data,
        &["quarantine", "forward", &id, "--to", "review@corp.example"],
    );
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}\n{err}");
    assert!(out.contains("forwarded 1, refused 0"), "{out}");
    let o = sluice(
        data,
        &["quarantine", "forward", &id, "--to", "not an address"],
    );
    assert_eq!(code(&o), 2);

    let o = sluice(data, &["incident", "show", &inc]);
    let (out, _) = text(&o);
    assert!(out.contains("still violates 100 (PCI)"), "{out}");
    assert!(
        out.contains("forwarded by tester to review@corp.example"),
        "{out}"
    );
    assert!(
        out.contains("held        ") && out.contains("(held)"),
        "still held: {out}"
    );
    let store = open(data);
    let entries = store.read(|txn| queue::list(txn, 10)).unwrap();
    store.close();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].sender, "");
    assert_eq!(entries[0].recipients[0].address, "review@corp.example");
}

#[test]
fn a_command_line_that_does_not_parse_exits_2_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let o = sluice(dir.path(), &["quarantine", "release", "abc"]);
    assert_eq!(code(&o), 2);
    let (_, err) = text(&o);
    assert!(err.contains("'abc'") && err.contains("--help"), "{err}");
    // Help is not an error.
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["quarantine", "--help"])
        .output()
        .unwrap();
    assert_eq!(help.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&help.stdout).contains("release"));
}

/// Runs sluice with stdout a pipe whose reading end is already closed (`| head` that has
/// finished): every write fails with EPIPE.
fn sluice_into_closed_pipe(args: &[&str]) -> Output {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe(2) to fill.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe(2) returned two open descriptors that nothing else owns.
    let (read, write) = unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    };
    drop(read);
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .env("USER", "tester")
        .stdout(std::process::Stdio::from(write))
        .output()
        .expect("run sluice")
}

#[test]
fn a_closed_stdout_ends_every_printing_command_quietly_with_141() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let ids = three(&data);
    let d = data.to_str().unwrap();
    let config = tmp.path().join("sluice.toml");
    std::fs::write(
        &config,
        "[relay]\nmode = \"forward\"\nhosts = [\"127.0.0.1:2525\"]\n",
    )
    .unwrap();
    let eml = tmp.path().join("m.eml");
    std::fs::write(&eml, MESSAGE).unwrap();
    let backup = tmp.path().join("b.mdb");
    let (held, inc) = (ids[0].0.to_string(), ids[0].1.to_string());
    let commands: Vec<Vec<&str>> = vec![
        vec!["version"],
        vec!["--help"],
        vec!["check-config", "--config", config.to_str().unwrap()],
        vec!["scan", eml.to_str().unwrap()],
        vec!["scan", "--json", eml.to_str().unwrap()],
        vec!["quarantine", "list", "--data-dir", d],
        vec!["quarantine", "list", "--json", "--data-dir", d],
        vec!["quarantine", "show", &held, "--data-dir", d],
        vec!["quarantine", "show", &held, "--content", "--data-dir", d],
        vec!["incident", "list", "--data-dir", d],
        vec!["incident", "show", &inc, "--json", "--data-dir", d],
        vec!["backup", backup.to_str().unwrap(), "--data-dir", d],
        vec!["quarantine", "delete", &held, "--data-dir", d],
    ];
    for args in commands {
        let o = sluice_into_closed_pipe(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(o.status.code(), Some(141), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: nothing on stderr: {err}");
    }
}

#[test]
fn bulk_actions_list_what_they_would_touch_and_need_yes() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let ids = three(data);
    let held_count = |status: &str| {
        let o = sluice(data, &["quarantine", "list", "--json", "--status", status]);
        text(&o).0.lines().count()
    };

    // No --yes, not a terminal: refused, nothing changed.
    for args in [
        &["quarantine", "delete", "--all-matching"][..],
        &["quarantine", "release", "--all-matching"],
        &["quarantine", "rescan", "--all-matching"],
        &[
            "quarantine",
            "forward",
            "--all-matching",
            "--to",
            "r@corp.example",
        ],
        &[
            "incident",
            "remediate",
            "--action",
            "resolve",
            "--all-matching",
        ],
    ] {
        let o = sluice(data, args);
        let (out, err) = text(&o);
        assert_eq!(code(&o), 2, "{args:?}: {out}\n{err}");
        assert!(err.contains("add --yes"), "{args:?}: {err}");
        assert!(err.contains("nothing was changed"), "{args:?}: {err}");
        // What it would have touched was listed.
        assert!(out.starts_with("3 "), "{args:?}: {out}");
    }
    assert_eq!(held_count("held"), 3);
    let o = sluice(data, &["incident", "list", "--json", "--status", "new"]);
    assert_eq!(text(&o).0.lines().count(), 3, "no incident resolved");

    // --dry-run lists (count, ids, subjects) and changes nothing.
    let o = sluice(
        data,
        &["quarantine", "delete", "--all-matching", "--dry-run"],
    );
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}\n{err}");
    assert!(out.contains("3 held messages would be touched"), "{out}");
    for (id, _) in &ids {
        assert!(
            out.lines()
                .any(|l| l.trim_start().starts_with(&format!("{id} "))),
            "{id} in {out}"
        );
    }
    assert!(
        out.contains("Q3 numbers") && out.contains("payroll"),
        "{out}"
    );
    assert!(!out.contains('\x1b'), "subjects are cleaned: {out:?}");
    assert!(out.contains("dry run: nothing was changed"), "{out}");
    assert_eq!(held_count("held"), 3);
    let o = sluice(
        data,
        &[
            "incident",
            "remediate",
            "--action",
            "resolve",
            "--all-matching",
            "--dry-run",
        ],
    );
    let (out, _) = text(&o);
    assert_eq!(code(&o), 0, "{out}");
    assert!(out.contains("3 incidents would be touched"), "{out}");
    let o = sluice(data, &["incident", "list", "--json", "--status", "new"]);
    assert_eq!(text(&o).0.lines().count(), 3, "no incident resolved");

    // --yes acts.
    let o = sluice(
        data,
        &[
            "incident",
            "remediate",
            "--action",
            "resolve",
            "--all-matching",
            "--yes",
        ],
    );
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}\n{err}");
    assert!(out.contains("resolved 3"), "{out}");
    let o = sluice(data, &["quarantine", "delete", "--all-matching", "--yes"]);
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}\n{err}");
    assert!(out.contains("deleted 3, refused 0"), "{out}");
    assert_eq!(held_count("deleted"), 3);
}

/// `2024-05-01T08:00:00Z`.
fn is_rfc3339(v: &serde_json::Value) -> bool {
    v.as_str().is_some_and(|s| {
        let b = s.as_bytes();
        s.len() == 20 && b[4] == b'-' && b[10] == b'T' && b[19] == b'Z'
    })
}

#[test]
fn json_output_gives_rfc3339_times_like_the_tables() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path();
    let ids = three(data);
    let o = sluice(data, &["quarantine", "list", "--json", "--limit", "1"]);
    let (out, err) = text(&o);
    assert_eq!(code(&o), 0, "{out}\n{err}");
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert!(is_rfc3339(&v["received_at"]), "{v}");
    assert!(is_rfc3339(&v["expires_at"]), "{v}");
    assert!(v["received_at_unix"].is_u64(), "{v}");
    // The same time as the table shows.
    let table = text(&sluice(data, &["quarantine", "list", "--limit", "1"])).0;
    assert!(
        table.contains(v["received_at"].as_str().unwrap()),
        "{table}\n{v}"
    );

    let o = sluice(data, &["incident", "list", "--json"]);
    for line in text(&o).0.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(is_rfc3339(&v["created_at"]), "{v}");
    }
    let inc = ids[0].1.to_string();
    let o = sluice(data, &["incident", "show", &inc, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert!(is_rfc3339(&v["incident"]["created_at"]), "{v}");
    assert!(is_rfc3339(&v["history"][0]["at"]), "{v}");
    assert!(is_rfc3339(&v["held"]["received_at"]), "{v}");
    let o = sluice(
        data,
        &["quarantine", "show", &ids[0].0.to_string(), "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&text(&o).0).unwrap();
    assert!(is_rfc3339(&v["held"]["received_at"]), "{v}");
    assert!(is_rfc3339(&v["incidents"][0]["history"][0]["at"]), "{v}");
}
