//! Holding messages through the real binary: a quarantine policy commits the message and its
//! incidents before the 250, monitor and relay violations become incidents too, copies of one
//! message reconcile into one incident, a full store answers 452 and a store from a newer schema
//! leaves Sluice serving everything that does not need it.

mod support;

use std::time::{Duration, Instant};

use sluice::store::records::{HeldStatus, Hold, Incident};
use sluice::store::search::{Filter, Page};
use sluice::store::{self, Store, held, incidents};
use support::client::Client;
use support::sink::Sink;
use support::sluice::{Sluice, forward_config};

const WAIT: Duration = Duration::from_secs(10);

const POLICIES: &str = r#"
[[policy]]
id = 300
name = "Project Falcon"
severity = "high"
action = "quarantine"
keywords = ["falcon"]

[[policy]]
id = 310
name = "Watch secrets"
mode = "monitor"
action = "block"
keywords = ["secret"]

[[policy]]
id = 320
name = "Tag drafts"
action = "modify"
headers = ["X-CFilter: Review"]
keywords = ["draft"]
"#;

fn message(message_id: &str, subject: &str, body: &str) -> String {
    format!(
        "From: <a@corp.example>\r\nTo: <b@partner.example>\r\nMessage-ID: <{message_id}>\r\nSubject: {subject}\r\n\r\n{body}\r\n"
    )
}

fn send(sluice: &Sluice, to: &[&str], msg: &str) -> support::client::Reply {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send("a@corp.example", to, msg);
    c.quit();
    r
}

fn store_of(sluice: &Sluice) -> Store {
    Store::open(
        &sluice.dir.path().join("data/store"),
        &sluice::config::Config::embedded()
            .unwrap()
            .store
            .store_options(),
    )
    .expect("open the store next to the running server")
}

fn incidents_where(store: &Store, filter: Filter) -> Vec<Incident> {
    store
        .read(|txn| incidents::search(txn, &filter, Page::default()))
        .unwrap()
        .items
}

/// Incidents are written in the background after relayed mail: wait for them.
fn wait_incidents(store: &Store, filter: Filter, n: usize) -> Vec<Incident> {
    let end = Instant::now() + WAIT;
    loop {
        let found = incidents_where(store, filter.clone());
        if found.len() >= n || Instant::now() > end {
            return found;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_quarantined_message_is_committed_with_its_incidents_before_the_250() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], POLICIES));
    let msg = message("m1@corp.example", "plans", "the falcon plan is secret");
    let r = send(&sluice, &["b@partner.example", "c@partner.example"], &msg);
    assert_eq!(r.code, 250, "{r}");
    assert!(r.text.contains("held as 1 for review"), "{r}");
    // Nothing went to the next hop.
    std::thread::sleep(Duration::from_millis(200));
    assert!(sink.messages().is_empty());

    let store = store_of(&sluice);
    let h = store
        .read(|txn| held::must_get(txn, sluice::store::records::HeldId(1)))
        .unwrap();
    assert_eq!(h.status, HeldStatus::Held);
    assert_eq!(h.hold, Hold::Quarantine);
    assert_eq!(h.sender, "a@corp.example");
    let rcpts: Vec<&str> = h.recipients.iter().map(|r| r.address.as_str()).collect();
    assert_eq!(rcpts, ["b@partner.example", "c@partner.example"]);
    assert_eq!(h.subject, "plans");
    assert_eq!(h.message_id, "<m1@corp.example>");
    let ids: Vec<u64> = h.policies.iter().map(|p| p.id).collect();
    assert_eq!(ids, [300, 310]);
    assert_eq!(h.severity.name(), "high");
    assert_eq!(h.incidents.len(), 2);
    let content = store
        .read(|txn| held::content(txn, sluice::store::records::HeldId(1)))
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&content);
    assert!(text.contains("the falcon plan is secret"), "{text}");
    assert!(text.contains("X-dlp-uniquemsgid: "), "{text}");
    assert!(text.contains("X-dlp-policyid: 300"), "{text}");

    let inc = store
        .read(|txn| incidents::must_get(txn, h.incidents[0]))
        .unwrap();
    assert_eq!(
        (inc.policy.id, inc.held),
        (300, Some(sluice::store::records::HeldId(1)))
    );
    assert_eq!(inc.action, "quarantined");
    let monitor = store
        .read(|txn| incidents::must_get(txn, h.incidents[1]))
        .unwrap();
    assert_eq!(monitor.policy.id, 310);
    assert!(monitor.policy.monitor);
    assert_eq!(monitor.action, "quarantined (policy in monitor mode)");
    let history = store.read(|txn| incidents::history(txn, inc.id)).unwrap();
    let actions: Vec<&str> = history.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["created", "hold"]);
    assert_eq!(history[1].result, "quarantined as 1");
    // The log names the held id, never the content.
    assert!(sluice.wait_log("message held", WAIT));
    let logs = sluice.logs().join("\n");
    assert!(!logs.contains("falcon plan"), "{logs}");
}

#[test]
fn relayed_violations_become_incidents_and_copies_reconcile() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], POLICIES));
    // Two copies of one message (a Bcc split): same Message-ID, other recipients.
    let msg = message("m2@corp.example", "notes", "first draft attached");
    assert_eq!(send(&sluice, &["b@partner.example"], &msg).code, 250);
    assert_eq!(send(&sluice, &["bcc@partner.example"], &msg).code, 250);
    let got = sink.wait_for(2, WAIT);
    assert_eq!(got.len(), 2);
    assert!(
        got.iter()
            .all(|m| m.header("X-CFilter").as_deref() == Some("Review"))
    );

    let store = store_of(&sluice);
    let filter = Filter {
        policy: Some(320),
        ..Filter::default()
    };
    let end = Instant::now() + WAIT;
    let found = loop {
        let f = incidents_where(&store, filter.clone());
        if f.first().is_some_and(|i| i.copies == 2) || Instant::now() > end {
            break f;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(found.len(), 1, "{found:?}");
    let inc = &found[0];
    assert_eq!(inc.copies, 2);
    assert_eq!(inc.recipients, ["b@partner.example", "bcc@partner.example"]);
    assert_eq!(inc.action, "relayed");
    assert_eq!(inc.held, None);
    // A different message is its own incident.
    let other = message("m3@corp.example", "notes", "second draft");
    assert_eq!(send(&sluice, &["b@partner.example"], &other).code, 250);
    assert_eq!(wait_incidents(&store, filter, 2).len(), 2);
}

#[test]
fn a_full_store_answers_452_and_keeps_serving() {
    let sink = Sink::start_default();
    let extra = format!(
        "[store]\nmax_size = 1048576\n[notifications]\nadmin = [\"secops@corp.example\"]\n{POLICIES}"
    );
    let sluice = Sluice::start(&forward_config(&[sink.addr], &extra));
    let big = message(
        "big@corp.example",
        "big",
        &format!(
            "falcon\r\n{}",
            format!("{}\r\n", "x".repeat(76)).repeat(30_000)
        ),
    );
    let r = send(&sluice, &["b@partner.example"], &big);
    assert_eq!(
        (r.code, r.text.as_str()),
        (452, "4.3.1 Insufficient system storage, try again later")
    );
    assert!(sluice.wait_log("message could not be held", WAIT));
    // The administrators are alerted, once however often it happens (throttled).
    let r = send(&sluice, &["b@partner.example"], &big);
    assert_eq!(r.code, 452);
    let alerts = |sink: &Sink| {
        sink.messages()
            .into_iter()
            .filter(|m| m.header("X-Sluice-Notice").as_deref() == Some("alert"))
            .collect::<Vec<_>>()
    };
    let end = Instant::now() + WAIT;
    while alerts(&sink).is_empty() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    let got = alerts(&sink);
    assert_eq!(got.len(), 1, "one alert");
    assert!(got[0].rcpt_to[0].contains("secops@corp.example"));
    assert_eq!(got[0].mail_from_addr(), "");
    assert!(got[0].header("Subject").unwrap().contains("store full"));
    sink.clear();
    // Small messages are still held, and clean mail still flows.
    let r = send(
        &sluice,
        &["b@partner.example"],
        &message("s@corp.example", "s", "falcon"),
    );
    assert_eq!(r.code, 250, "{r}");
    assert!(r.text.contains("held as"), "{r}");
    let r = send(
        &sluice,
        &["b@partner.example"],
        &message("c@corp.example", "c", "hello"),
    );
    assert_eq!(r.code, 250, "{r}");
    assert_eq!(sink.wait_for(1, WAIT).len(), 1);
    assert!(alerts(&sink).is_empty(), "a second alert within the hour");
}

#[test]
fn a_full_disk_answers_452_not_451() {
    // The disk is "full" at 2 MiB for the server: a file-size limit (RLIMIT_FSIZE), with SIGXFSZ
    // ignored, so LMDB's page writes past it fail (EFBIG, or a short write it reports as EIO).
    const LIMIT: libc::rlim_t = 2 << 20;
    let sink = Sink::start_default();
    // The message is kept in memory (not spooled), so the only file that grows is the store's.
    let cfg = forward_config(&[sink.addr], POLICIES).replacen(
        "[listener]\n",
        "[listener]\nspool_threshold = 16777216\n",
        1,
    );
    let sluice = Sluice::start_custom(&cfg, &[], None, |cmd| {
        use std::os::unix::process::CommandExt;
        // SAFETY: only async-signal-safe calls (signal, setrlimit) between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let limit = libc::rlimit {
                    rlim_cur: LIMIT,
                    rlim_max: LIMIT,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    });
    let big = message(
        "big@corp.example",
        "big",
        &format!(
            "falcon\r\n{}",
            format!("{}\r\n", "x".repeat(76)).repeat(40_000)
        ),
    );
    let r = send(&sluice, &["b@partner.example"], &big);
    assert_eq!(
        (r.code, r.text.as_str()),
        (452, "4.3.1 Insufficient system storage, try again later")
    );
    // Mail that needs no store still flows.
    let r = send(
        &sluice,
        &["b@partner.example"],
        &message("c@x", "c", "hello"),
    );
    assert_eq!(r.code, 250, "{r}");
}

#[test]
fn a_store_from_a_newer_schema_is_left_alone_and_only_holding_fails() {
    let sink = Sink::start_default();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    {
        let s = Store::open(
            &path,
            &sluice::config::Config::embedded()
                .unwrap()
                .store
                .store_options(),
        )
        .unwrap();
        s.write_blocking(|txn| store::schema::stamp(txn, store::schema::CURRENT + 1))
            .unwrap();
        s.close();
    }
    let extra = format!(
        "[server]\ndata_dir = \"{}\"\n{POLICIES}",
        dir.path().display()
    );
    let config = forward_config(&[sink.addr], &extra);
    // `Sluice::start` passes --data-dir, which wins over server.data_dir: link the prepared store in.
    let sluice = Sluice::start_with_data(&config, dir.path());
    assert!(sluice.wait_log("the store cannot be opened", WAIT));
    let logs = sluice.logs().join("\n");
    assert!(
        logs.contains("is newer than this Sluice supports"),
        "{logs}"
    );
    let r = send(
        &sluice,
        &["b@partner.example"],
        &message("n@corp.example", "n", "falcon"),
    );
    assert_eq!(
        (r.code, r.text.as_str()),
        (451, "4.3.0 Message could not be stored, try again later")
    );
    let r = send(
        &sluice,
        &["b@partner.example"],
        &message("o@corp.example", "o", "hello"),
    );
    assert_eq!(r.code, 250, "{r}");
    assert_eq!(sink.wait_for(1, WAIT).len(), 1);
    drop(sluice);
    // The newer store was not touched.
    match Store::open(
        &path,
        &sluice::config::Config::embedded()
            .unwrap()
            .store
            .store_options(),
    ) {
        Err(store::StoreError::NewerSchema { found, .. }) => {
            assert_eq!(found, store::schema::CURRENT + 1)
        }
        other => panic!("expected the newer schema to stay: {:?}", other.err()),
    }
}

#[test]
fn a_truncated_store_is_refused_with_a_clear_error_and_mail_still_flows() {
    let sink = Sink::start_default();
    let dir = tempfile::tempdir().unwrap();
    let config = forward_config(&[sink.addr], POLICIES);
    {
        let sluice = Sluice::start_with_data(&config, dir.path());
        for i in 0..20 {
            let body = format!("falcon {i}\r\n{}", "y".repeat(20_000));
            let r = send(
                &sluice,
                &["b@partner.example"],
                &message(&format!("t{i}@x"), "t", &body),
            );
            assert_eq!(r.code, 250, "{r}");
        }
    }
    let file = dir.path().join("store/data.mdb");
    let len = std::fs::metadata(&file).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(len / 3)
        .unwrap();
    let sluice = Sluice::start_with_data(&config, dir.path());
    assert!(sluice.wait_log("the store cannot be opened", WAIT));
    assert!(sluice.logs().join("\n").contains("truncated"));
    let r = send(
        &sluice,
        &["b@partner.example"],
        &message("u@x", "u", "falcon"),
    );
    assert_eq!(r.code, 451, "{r}");
    let r = send(
        &sluice,
        &["b@partner.example"],
        &message("v@x", "v", "hello"),
    );
    assert_eq!(r.code, 250, "{r}");
    let out = std::process::Command::new(support::sluice::binary())
        .args(["quarantine", "list", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("truncated"), "{err}");
}

#[test]
fn the_retention_purge_removes_content_after_the_retention() {
    let sink = Sink::start_default();
    let clock = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(clock.path(), "0").unwrap();
    let extra = format!("[quarantine]\npurge_interval = \"1s\"\n{POLICIES}");
    let sluice = Sluice::start_with_env(
        &forward_config(&[sink.addr], &extra),
        &[("SLUICE_CLOCK_OFFSET_FILE", clock.path().to_str().unwrap())],
    );
    let r = send(
        &sluice,
        &["b@partner.example"],
        &message("p@x", "p", "falcon"),
    );
    assert!(r.text.contains("held as 1"), "{r}");
    let store = store_of(&sluice);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        store
            .read(|txn| held::must_get(txn, sluice::store::records::HeldId(1)))
            .unwrap()
            .status,
        HeldStatus::Held,
        "purged before its retention"
    );
    // Eight days later (retention: seven).
    std::fs::write(clock.path(), (8 * 86_400).to_string()).unwrap();
    let end = Instant::now() + WAIT;
    loop {
        let h = store
            .read(|txn| held::must_get(txn, sluice::store::records::HeldId(1)))
            .unwrap();
        if h.status == HeldStatus::Expired {
            assert_eq!(
                store
                    .read(|txn| held::content(txn, sluice::store::records::HeldId(1)))
                    .unwrap(),
                None
            );
            let inc = store
                .read(|txn| incidents::must_get(txn, h.incidents[0]))
                .unwrap();
            assert_eq!(inc.status.name(), "expired");
            break;
        }
        assert!(Instant::now() < end, "not purged: {:?}", h.status);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(sluice.wait_log("quarantine retention purge", WAIT));
}

#[test]
fn backup_and_restore_work_while_serving() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], POLICIES));
    let data = sluice.dir.path().join("data");
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(support::sluice::binary())
            .args(args)
            .arg("--config")
            .arg(&sluice.config_path)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let r = send(
        &sluice,
        &["b@partner.example"],
        &message("b1@x", "b1", "falcon one"),
    );
    assert!(r.text.contains("held as 1"), "{r}");
    let backup = sluice.dir.path().join("backup.mdb");
    let (code, text) = cli(&["backup", backup.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    // After the backup: held 1 is deleted and another message is held.
    let (code, text) = cli(&["quarantine", "delete", "1"]);
    assert_eq!(code, Some(0), "{text}");
    let r = send(
        &sluice,
        &["b@partner.example"],
        &message("b2@x", "b2", "falcon two"),
    );
    assert!(r.text.contains("held as 2"), "{r}");
    // A damaged backup is refused while serving, and nothing changes.
    let bytes = std::fs::read(&backup).unwrap();
    let damaged = sluice.dir.path().join("damaged.mdb");
    for cut in [bytes.len() / 2, 8192] {
        std::fs::write(&damaged, &bytes[..cut]).unwrap();
        let (code, text) = cli(&["restore", damaged.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{text}");
    }
    assert!(
        store_of(&sluice)
            .read(|txn| held::get(txn, sluice::store::records::HeldId(2)))
            .unwrap()
            .is_some()
    );
    // Restore while the server runs: back to the backup's state in one transaction.
    let (code, text) = cli(&["restore", backup.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{text}");
    let store = store_of(&sluice);
    let h = store
        .read(|txn| held::must_get(txn, sluice::store::records::HeldId(1)))
        .unwrap();
    assert_eq!(h.status, HeldStatus::Held);
    assert!(
        store
            .read(|txn| held::content(txn, sluice::store::records::HeldId(1)))
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .read(|txn| held::get(txn, sluice::store::records::HeldId(2)))
            .unwrap(),
        None
    );
    // The server keeps holding, and an id handed out before the restore (2) is never reused.
    let r = send(
        &sluice,
        &["b@partner.example"],
        &message("b3@x", "b3", "falcon three"),
    );
    assert!(r.text.contains("held as 3"), "{r}");
    let (code, text) = cli(&["quarantine", "list", "--json"]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with('{')).count(),
        2,
        "{text}"
    );
}
