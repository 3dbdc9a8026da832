//! Message tracking, reports and scheduled reports through the real binary: a message relayed by
//! `sluice serve` is found by each tracking field; `sluice report summary|detail` print and write
//! (CSV) the same numbers the service computes from the same store; a quarantined message released
//! from the CLI has a trail listing its steps in order; a scheduled report arrives at a sink as a
//! CSV attachment through the delivery queue.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use sluice::clock::Clock;
use sluice::config::Config;
use sluice::service::{Service, TrackQuery, TrackRow};
use sluice::store::Store;
use support::admin::read_csv;
use support::client::Client;
use support::sluice::{Sluice, start_forwarding};

const WAIT: Duration = Duration::from_secs(20);

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The service over the server's store (another process: LMDB serves both).
fn service(sluice: &Sluice) -> Service {
    let config = Config::embedded().unwrap();
    let store = Store::open(
        &sluice.dir.path().join("data/store"),
        &config.store.store_options(),
    )
    .expect("open store");
    Service::new(store, Arc::new(config), Clock::system())
}

fn send(sluice: &Sluice, from: &str, to: &[&str], msg: &str) {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(from, to, msg);
    assert_eq!(r.code, 250, "{r}");
    c.quit();
}

/// Tracking rows for `q`, waiting until `ready` holds for them (events of relayed mail are
/// written after the reply, in the background).
fn track_until(s: &Service, q: &TrackQuery, ready: impl Fn(&[TrackRow]) -> bool) -> Vec<TrackRow> {
    let deadline = Instant::now() + WAIT;
    loop {
        let rows = s.track(q).expect("track").items;
        if ready(&rows) || Instant::now() > deadline {
            return rows;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn today() -> String {
    sluice::units::time::format(now())[..10].to_string()
}

#[test]
fn a_relayed_message_is_found_by_each_field_and_the_cli_reports_the_services_numbers() {
    let (sink, sluice) = start_forwarding(
        "[[policy]]\nid = 200\nname = \"Watch plans\"\nmode = \"monitor\"\naction = \"block\"\nkeywords = [\"plan\"]\n",
    );
    let msg = "From: <alice@corp.example>\r\nTo: <bob@partner.example>\r\nSubject: Quarterly plan\r\nMessage-ID: <track-1@corp.example>\r\n\r\nthe plan\r\n";
    send(&sluice, "alice@corp.example", &["bob@partner.example"], msg);
    assert_eq!(sink.wait_for(1, WAIT).len(), 1);
    let s = service(&sluice);
    let all = track_until(&s, &TrackQuery::default(), |r| !r.is_empty());
    assert_eq!(all.len(), 1, "{all:?}");
    let row = &all[0];
    assert_eq!(row.outcome, "relayed");
    assert_eq!(row.from, "alice@corp.example");
    assert_eq!(row.to, ["bob@partner.example"]);
    assert_eq!(row.subject, "Quarterly plan");
    assert_eq!(row.client_ip, "127.0.0.1");
    assert_eq!(row.policies, ["Watch plans"]);
    let guid = row.guid.clone();
    let some = |v: &str| Some(v.to_string());
    let queries = [
        TrackQuery {
            sender: some("alice@corp.example"),
            ..Default::default()
        },
        TrackQuery {
            sender: some("@corp.example"),
            ..Default::default()
        },
        TrackQuery {
            recipient: some("bob@partner.example"),
            ..Default::default()
        },
        TrackQuery {
            recipient: some("@partner.example"),
            ..Default::default()
        },
        TrackQuery {
            subject: some("quarterly"),
            ..Default::default()
        },
        TrackQuery {
            message_id: some("<track-1@corp.example>"),
            ..Default::default()
        },
        TrackQuery {
            client_ip: some("127.0.0.1"),
            ..Default::default()
        },
        TrackQuery {
            guid: some(&guid),
            ..Default::default()
        },
        TrackQuery {
            outcome: some("relayed"),
            ..Default::default()
        },
        TrackQuery {
            direction: some(&row.direction),
            ..Default::default()
        },
        TrackQuery {
            since: Some(now() - 3600),
            until: Some(now() + 60),
            ..Default::default()
        },
    ];
    for q in &queries {
        let found = s.track(q).unwrap().items;
        assert_eq!(found.len(), 1, "{q:?}");
        assert_eq!(found[0].guid, guid, "{q:?}");
    }
    for q in [
        TrackQuery {
            sender: some("eve@corp.example"),
            ..Default::default()
        },
        TrackQuery {
            subject: some("payroll"),
            ..Default::default()
        },
        TrackQuery {
            outcome: some("blocked"),
            ..Default::default()
        },
        TrackQuery {
            client_ip: some("192.0.2.1"),
            ..Default::default()
        },
    ] {
        assert!(s.track(&q).unwrap().items.is_empty(), "{q:?}");
    }
    // Its trail: the disposition and the monitor policy's violation.
    let trail = s.trail(&guid).unwrap();
    let kinds: Vec<&str> = trail.events.iter().map(|e| e.kind.name()).collect();
    assert_eq!(kinds, ["message.relayed", "policy.violation"]);
    assert_eq!(trail.incidents.len(), 1);

    // The summary: the CLI's CSV is the service's report, row for row.
    let (from, to) = sluice::service::whole_days(now(), now());
    let expected = sluice::report::summary_rows(&s.summary_report(from, to).unwrap());
    assert!(expected.contains(&vec![
        "Messages by outcome".into(),
        "relayed".into(),
        "1".into()
    ]));
    assert!(expected.contains(&vec![
        "Incidents by policy".into(),
        "200 Watch plans".into(),
        "1".into()
    ]));
    assert!(expected.contains(&vec![
        "Top senders".into(),
        "alice@corp.example".into(),
        "1".into()
    ]));
    assert!(
        expected.iter().any(|r| r[0] == "Top detectors"),
        "{expected:?}"
    );
    let file = sluice.dir.path().join("summary.csv");
    let (code, _, err) = sluice.cli(&[
        "report",
        "summary",
        "--from",
        &today(),
        "--to",
        &today(),
        "--csv",
        file.to_str().unwrap(),
        "--bom",
    ]);
    assert_eq!(code, 0, "{err}");
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    assert!(String::from_utf8_lossy(&bytes).contains("\r\n"));
    assert_eq!(read_csv(&bytes), expected);
    let (code, table, err) =
        sluice.cli(&["report", "summary", "--from", &today(), "--to", &today()]);
    assert_eq!(code, 0, "{err}");
    assert!(
        table.contains("Messages: 1") && table.contains("alice@corp.example"),
        "{table}"
    );

    // The detail report: message events with "quarterly" in a field, to stdout.
    let expected = sluice::report::detail_rows(
        &s.detail_report(
            from,
            to,
            vec!["message".into()],
            Some("QUARTERLY".into()),
            100,
        )
        .unwrap(),
    );
    assert_eq!(expected.len(), 2, "{expected:?}");
    let (code, out, err) = sluice.cli(&[
        "report",
        "detail",
        "--from",
        &today(),
        "--to",
        &today(),
        "--type",
        "message",
        "--text",
        "QUARTERLY",
        "--csv",
        "-",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read_csv(out.as_bytes()), expected);
    assert_eq!(expected[1][2], "message.relayed");
    // A bad type is refused and names the flag.
    let (code, _, err) = sluice.cli(&[
        "report",
        "detail",
        "--from",
        &today(),
        "--to",
        &today(),
        "--type",
        "nope",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("--type"), "{err}");
}

#[test]
fn the_trail_of_a_quarantined_then_released_message_lists_its_steps_in_order() {
    let (sink, sluice) = start_forwarding(
        "[[policy]]\nid = 300\nname = \"Project Falcon\"\nseverity = \"high\"\naction = \"quarantine\"\nkeywords = [\"falcon\"]\n",
    );
    let msg = "From: <a@corp.example>\r\nTo: <b@partner.example>\r\nSubject: falcon\r\nMessage-ID: <q-1@corp.example>\r\n\r\nfalcon\r\n";
    send(&sluice, "a@corp.example", &["b@partner.example"], msg);
    let s = service(&sluice);
    let q = TrackQuery {
        outcome: Some("quarantined".into()),
        ..Default::default()
    };
    let rows = track_until(&s, &q, |r| !r.is_empty());
    assert_eq!(rows.len(), 1);
    let guid = rows[0].guid.clone();
    let (code, out, err) = sluice.cli(&["quarantine", "release", "1", "--actor", "tester"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(sink.wait_for(1, WAIT).len(), 1);
    let deadline = Instant::now() + WAIT;
    let trail = loop {
        let t = s.trail(&guid).unwrap();
        if t.events.iter().any(|e| e.kind.name() == "queue.delivered") || Instant::now() > deadline
        {
            break t;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let kinds: Vec<&str> = trail.events.iter().map(|e| e.kind.name()).collect();
    assert_eq!(
        kinds,
        [
            "message.quarantined",
            "policy.violation",
            "quarantine.released",
            "queue.delivered"
        ]
    );
    let seqs: Vec<u64> = trail.events.iter().map(|e| e.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(trail.held.is_some());
    assert_eq!(trail.incidents.len(), 1);
    assert_eq!(trail.incidents[0].policy.id, 300);
    // The summary counts it: one quarantined message, one high-severity incident.
    let (from, to) = sluice::service::whole_days(now(), now());
    let r = s.summary_report(from, to).unwrap();
    let quarantined = r
        .outcomes
        .iter()
        .find(|o| o.outcome == "quarantined")
        .unwrap();
    assert_eq!(quarantined.total, 1);
    let high = r.severities.iter().find(|c| c.key == "high").unwrap();
    assert_eq!(high.count, 1);
}

#[test]
fn a_scheduled_report_is_mailed_as_a_csv_attachment() {
    let sink = support::sink::Sink::start_default();
    let config = support::sluice::forward_config(
        &[sink.addr],
        "[reports]\ncheck_interval = \"1s\"\n\n[[reports.schedule]]\nname = \"daily-summary\"\nreport = \"summary\"\nevery = \"daily\"\nto = [\"secops@corp.example\"]\nbom = true\n",
    );
    let sluice = Sluice::start(&config);
    let got = sink.wait_for(1, WAIT);
    assert_eq!(got.len(), 1, "{:?}", sluice.logs());
    let m = &got[0];
    assert_eq!(m.rcpt_addrs(), ["secops@corp.example"]);
    assert_eq!(m.header("X-Sluice-Notice").as_deref(), Some("report"));
    let parsed = mail_parser::MessageParser::default()
        .parse(&m.data)
        .unwrap();
    let att = parsed.attachment(0).expect("a CSV attachment");
    use mail_parser::MimeHeaders;
    let name = att.attachment_name().unwrap();
    assert!(
        name.starts_with("sluice-summary-") && name.ends_with(".csv"),
        "{name}"
    );
    let rows = read_csv(att.contents());
    assert_eq!(rows[0], ["Section", "Item", "Count"]);
    assert!(att.contents().starts_with(b"\xEF\xBB\xBF"));
    assert!(sluice.wait_log("scheduled report queued", WAIT));
}
