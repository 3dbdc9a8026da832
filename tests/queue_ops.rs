//! `sluice queue list|show|hold|release|delete|retry|forward` against a running gateway (the real
//! binary on loopback ports): a suspect message (its inspection panics, by the test hook
//! `SLUICE_TEST_INSPECT_FAULT`) and deferred ones (their route's destination is down), acted on
//! from the command line while the server runs, with what reaches the sinks as the outcome.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use support::sink::{Sink, SinkConfig};
use support::sluice::{Sluice, closed_addr, config};

const MARK: &str = "CRASH-ME-5c1e";
const WAIT: Duration = Duration::from_secs(60);

/// A gateway: corp.example routed to `up`, down.example to `down` (nothing listens there at
/// first); retries an hour apart, so only an operator's retry brings a deferred message forward.
fn gateway(up: SocketAddr, down: SocketAddr) -> String {
    config(
        "mode = \"gateway\"",
        &format!("mode = \"forward\"\nhosts = [\"{up}\"]"),
        &format!(
            "[queue]\nretry = [\"1h\"]\nlease = \"10s\"\n\n[gateway]\ninline_verdict = \"5s\"\ninspect_retry = \"1s\"\ninspect_attempts = 3\n\n[[route]]\ndomain = \"corp.example\"\ndestination = \"{up}\"\n\n[[route]]\ndomain = \"down.example\"\ndestination = \"{down}\"\n"
        ),
    )
}

/// One message to `rcpt`; the final reply's code.
fn send(addr: SocketAddr, rcpt: &str, subject: &str, body: &str) -> Option<u16> {
    let msg = format!("Subject: {subject}\r\nMessage-ID: <{subject}@test>\r\n\r\n{body}\r\n");
    support::raw_smtp::send(addr, "a@example.net", rcpt, &msg)
}

/// `queue list --json` rows (with the filter flags `args`).
fn rows(s: &Sluice, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["queue", "list", "--json"];
    all.extend_from_slice(args);
    let (code, out, err) = s.cli(&all);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The ids listed at `stage`.
fn at(s: &Sluice, stage: &str) -> Vec<String> {
    rows(s, &["--stage", stage])
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// The stage `queue show` gives, `None` when it is not in the queue (exit 1).
fn stage_of(s: &Sluice, id: &str) -> Option<String> {
    let (code, out, err) = s.cli(&["queue", "show", id, "--json"]);
    match code {
        0 => {
            let v: serde_json::Value = serde_json::from_str(&out).unwrap();
            Some(v["row"]["stage"].as_str().unwrap().to_string())
        }
        1 => None,
        _ => panic!("queue show {id}: {code} {err}"),
    }
}

/// Polls `f` until it holds or [`WAIT`] passes.
fn until(mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + WAIT;
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

fn subjects(sink: &Sink) -> Vec<String> {
    sink.messages()
        .iter()
        .filter_map(|m| m.header("Subject"))
        .map(|s| s.trim().to_string())
        .collect()
}

/// A gateway with a suspect message in custody: (sink, gateway, the message's id).
fn with_suspect() -> (Sink, Sluice, String) {
    let sink = Sink::start_default();
    let down = closed_addr(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 61)));
    let fault = format!("panic:{MARK}");
    let sluice = Sluice::start_with_env(
        &gateway(sink.addr, down),
        &[("SLUICE_TEST_INSPECT_FAULT", &fault)],
    );
    let body = format!("x {MARK} y");
    assert_eq!(
        send(sluice.addr, "b@corp.example", "crashing", &body),
        Some(250)
    );
    assert!(
        sluice.wait_log("message held as suspect", WAIT),
        "{:#?}",
        sluice.logs()
    );
    let held = at(&sluice, "hold");
    assert_eq!(held.len(), 1, "{held:?}");
    assert!(held[0].starts_with('i'));
    let id = held[0].clone();
    (sink, sluice, id)
}

#[test]
fn a_suspect_message_is_listed_shown_forwarded_reprocessed_and_released_unscanned() {
    let (sink, sluice, id) = with_suspect();
    // Shown with its envelope and header section, never the body.
    let (code, out, err) = sluice.cli(&["queue", "show", &id]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("stage        hold"), "{out}");
    assert!(out.contains("a@example.net") && out.contains("b@corp.example"));
    assert!(out.contains("Subject: crashing"), "{out}");
    assert!(!out.contains(MARK), "the body is never shown: {out}");
    // Forwarded with a new subject to one address; the original stays on hold.
    let (code, out, err) = sluice.cli(&[
        "queue",
        "forward",
        &id,
        "--to",
        "review@corp.example",
        "--subject",
        "Look at this",
        "--actor",
        "ops",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let got = sink.wait_for(1, WAIT);
    assert_eq!(subjects(&sink), ["Look at this"], "{got:?}");
    assert_eq!(got[0].rcpt_addrs(), ["review@corp.example"]);
    assert!(got[0].body_str().contains(MARK), "an uninspected copy");
    assert_eq!(stage_of(&sluice, &id).as_deref(), Some("hold"));
    // Released (reprocess, the default): inspected again (and held again, as it still crashes).
    let failed = sluice.count_logs("custody: inspection failed");
    let (code, out, err) = sluice.cli(&["queue", "release", &id]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("back to inspection"), "{out}");
    assert!(
        sluice.wait_log_count("custody: inspection failed", failed + 1, WAIT),
        "{:#?}",
        sluice.logs()
    );
    assert!(until(|| stage_of(&sluice, &id).as_deref() == Some("hold")));
    // Released unscanned: delivered as it came, without inspection.
    let (code, out, err) = sluice.cli(&["queue", "release", "--unscanned", &id]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("uninspected"), "{out}");
    let got = sink.wait_for(2, WAIT);
    assert_eq!(subjects(&sink), ["Look at this", "crashing"], "{got:?}");
    assert_eq!(got[1].rcpt_addrs(), ["b@corp.example"]);
    assert_eq!(stage_of(&sluice, &id), None);
}

#[test]
fn deferred_messages_are_held_released_deleted_retried_and_acted_on_in_bulk() {
    let sink = Sink::start_default();
    let down = closed_addr(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 62)));
    let sluice = Sluice::start(&gateway(sink.addr, down));
    for subject in ["keep-me", "drop-me"] {
        assert_eq!(
            send(sluice.addr, "x@down.example", subject, "hello"),
            Some(250)
        );
    }
    assert!(until(|| at(&sluice, "deferred").len() == 2));
    let listed = rows(&sluice, &["--stage", "deferred"]);
    let (keep, drop_id) = (
        listed[0]["id"].as_str().unwrap().to_string(),
        listed[1]["id"].as_str().unwrap().to_string(),
    );
    assert!(keep.starts_with('q') && listed[0]["attempts"].as_u64() >= Some(1));
    assert!(listed[0]["last_error"].is_string(), "{:?}", listed[0]);
    let (code, out, _) = sluice.cli(&["queue", "list", "--stage", "deferred"]);
    assert_eq!(code, 0);
    assert!(out.contains("ID") && out.contains(&keep) && out.contains("deferred"));
    // Bulk: a dry run changes nothing; off a terminal --yes is required; with it, it acts.
    let bulk = ["queue", "hold", "--all-matching", "--stage", "deferred"];
    let (code, out, _) = sluice.cli(&[&bulk[..], &["--dry-run"]].concat());
    assert_eq!(code, 0);
    assert!(out.contains("2 queued messages would be touched"), "{out}");
    assert!(out.contains("dry run: nothing was changed"));
    assert_eq!(at(&sluice, "deferred").len(), 2);
    let (code, _, err) = sluice.cli(&bulk);
    assert_eq!(code, 2);
    assert!(err.contains("add --yes"), "{err}");
    assert_eq!(at(&sluice, "hold").len(), 0);
    let (code, out, err) = sluice.cli(&[&bulk[..], &["--yes", "--actor", "ops"]].concat());
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(at(&sluice, "hold"), [keep.clone(), drop_id.clone()]);
    // Released one by one: deferred again, due now (tried again at once, still down).
    let (code, out, err) = sluice.cli(&["queue", "release", &keep]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(stage_of(&sluice, &keep).as_deref(), Some("deferred"));
    // Its attempt on release done (else it could reach the destination that comes back below
    // before the operator's retry does).
    let tried = listed[0]["attempts"].as_u64().unwrap_or(0);
    assert!(until(|| {
        rows(&sluice, &["--stage", "deferred"])
            .iter()
            .any(|r| r["id"] == keep.as_str() && r["attempts"].as_u64() > Some(tried))
    }));
    // Deleted: gone, never delivered (not even when its destination is back).
    let (code, out, err) = sluice.cli(&["queue", "delete", &drop_id]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(stage_of(&sluice, &drop_id), None);
    // The destination comes back; an hour-long retry interval is not waited out after a retry.
    let back = Sink::start(SinkConfig {
        bind: down,
        ..SinkConfig::default()
    });
    let (code, out, err) = sluice.cli(&["queue", "retry", &keep]);
    assert_eq!(code, 0, "{out}{err}");
    let got = back.wait_for(1, WAIT);
    assert_eq!(subjects(&back), ["keep-me"], "{got:?}");
    assert!(until(|| stage_of(&sluice, &keep).is_none()));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        subjects(&back),
        ["keep-me"],
        "the deleted one never goes out"
    );
    assert!(subjects(&sink).is_empty());
    // Mistakes get a clear error and exit code.
    let (code, _, err) = sluice.cli(&["queue", "show", "x7"]);
    assert_eq!(code, 2);
    assert!(err.contains("\"x7\" is not a queue id"), "{err}");
    let (code, _, err) = sluice.cli(&["queue", "list", "--stage", "active"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("--stage \"active\": use one of inspect, deliver, deferred, hold"),
        "{err}"
    );
    let (code, out, _) = sluice.cli(&["queue", "hold", &drop_id]);
    assert_eq!(code, 1);
    assert!(out.contains(&format!("{drop_id}: not found")), "{out}");
    let (code, out, _) = sluice.cli(&["queue", "release", "q999", "--json"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["id"].as_str(), v["done"].as_bool()),
        (Some("q999"), Some(false))
    );
}
