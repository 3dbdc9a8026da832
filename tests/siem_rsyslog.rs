//! Sluice's SIEM export against a real rsyslog (Debian's rsyslogd, started by the test on loopback
//! ports): UDP, TCP and TLS (gtls, certificates made by the test) inputs writing each message to
//! files, raw and as rsyslog parsed it. Every event of relayed, blocked and quarantined mail
//! arrives at every destination in its format (RFC 5424, RFC 3164, CEF, LEEF, JSON), parses with
//! parsers written from the specifications, agrees with rsyslog's own parse, carries the ECS
//! fields, and carries no body or matched value. `sluice siem test` reports a verified TLS session.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::client::Client;
use support::rsyslog::{Proto, Rsyslog, send_plain};
use support::siem_events::{self, Received};
use support::sink::Sink;
use support::sluice::{Sluice, forward_config};
use support::syslog_parse::{self, parse_cef, parse_leef, parse_rfc3164, parse_rfc5424};

const WAIT: Duration = Duration::from_secs(30);

/// Words in bodies that no event may carry: the matched keywords and a marker in every body.
const QUARANTINE_WORD: &str = "zebracorn";
const BLOCK_WORD: &str = "quokkaleak";
const BODY_MARKER: &str = "BODYMARKER7f3a";

const POLICIES: &str = r#"
[[policy]]
id = 301
name = "Hold project Z"
severity = "high"
action = "quarantine"
keywords = ["zebracorn"]

[[policy]]
id = 302
name = "Stop leaks"
severity = "high"
action = "block"
keywords = ["quokkaleak"]
"#;

/// The subject of every message: the escaping corners of every format, and non-ASCII (raw UTF-8;
/// an RFC 2047 encoded word has a test of its own).
const SUBJECT: &str = "Q3 ]\"\\ = | ^ figures Grüße";

const FROM: &str = "alice@corp.example";
const TO: &str = "bob@partner.example";

/// One destination: its name in `[[siem]]`, format, transport and the rsyslog input it goes to.
const DESTINATIONS: [(&str, &str, Proto); 5] = [
    ("r5424", "rfc5424", Proto::Udp),
    ("cef", "cef", Proto::Tcp),
    ("leef", "leef", Proto::Tls),
    ("json", "json", Proto::Tcp),
    ("r3164", "rfc3164", Proto::Udp),
];

fn siem_tables(rsyslog: &Rsyslog) -> String {
    DESTINATIONS
        .iter()
        .map(|(name, format, proto)| siem_table(rsyslog, name, format, *proto))
        .collect()
}

/// One `[[siem]]` table to the rsyslog input `name`, quick to retry and starting at the oldest event.
fn siem_table(rsyslog: &Rsyslog, name: &str, format: &str, proto: Proto) -> String {
    let transport = match proto {
        Proto::Udp => "udp",
        Proto::Tcp => "tcp",
        Proto::Tls => "tls",
    };
    let mut out = format!(
        "[[siem]]\nname = \"{name}\"\nformat = \"{format}\"\ntransport = \"{transport}\"\n\
         address = \"{}\"\nstart = \"oldest\"\npoll_interval = \"100ms\"\n\
         backoff_min = \"100ms\"\nbackoff_max = \"1s\"\n",
        rsyslog.addr(name)
    );
    if proto == Proto::Tls {
        out.push_str(&format!("ca_file = \"{}\"\n", rsyslog.ca_file.display()));
    }
    out + "\n"
}

fn message(id: &str, body: &str) -> String {
    format!(
        "From: <{FROM}>\r\nTo: <{TO}>\r\nMessage-ID: <{id}@corp.example>\r\nSubject: {SUBJECT}\r\n\r\n{body} {BODY_MARKER}\r\n"
    )
}

fn send(sluice: &Sluice, id: &str, body: &str) -> u16 {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(FROM, &[TO], &message(id, body));
    c.quit();
    r.code
}

/// The events an input received, decoded; panics on a line that does not parse.
fn decoded(rsyslog: &Rsyslog, name: &str, format: &str) -> Vec<Received> {
    rsyslog
        .raw(name)
        .iter()
        .map(|l| {
            siem_events::decode(format, l)
                .unwrap_or_else(|e| panic!("{name} ({format}): {e}\nline: {l:?}"))
        })
        .collect()
}

/// The message event of kind `action` whose message id is `id` (found by value: CEF and LEEF name
/// it under their own keys).
fn message_event<'a>(events: &'a [Received], action: &str, id: &str) -> Option<&'a Received> {
    let mid = format!("<{id}@corp.example>");
    let bare = format!("{id}@corp.example");
    events
        .iter()
        .find(|e| e.action == action && (e.has_value(&mid) || e.has_value(&bare)))
}

const EXPECTED: [(&str, &str); 3] = [
    ("message.relayed", "siem-relayed"),
    ("message.blocked", "siem-blocked"),
    ("message.quarantined", "siem-held"),
];

fn all_arrived(events: &[Received]) -> bool {
    EXPECTED
        .iter()
        .all(|(a, id)| message_event(events, a, id).is_some())
        && events
            .iter()
            .filter(|e| e.action == "policy.violation")
            .count()
            >= 2
}

#[test]
fn parsers_read_the_reference_lines_and_refuse_malformed_ones() {
    let m = parse_rfc5424(
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8",
    )
    .unwrap();
    assert_eq!((m.facility, m.severity), (4, 2));
    assert_eq!(m.hostname.as_deref(), Some("mymachine.example.com"));
    assert_eq!(
        (m.procid.as_deref(), m.msgid.as_deref()),
        (None, Some("ID47"))
    );
    assert!(m.sd.is_empty());
    assert_eq!(
        m.msg.as_deref(),
        Some("'su root' failed for lonvick on /dev/pts/8")
    );
    let m = parse_rfc5424(
        "<14>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\"][b@32473 y=\"a\\]b\\\"c\\\\d\"] \u{feff}Grüße",
    )
    .unwrap();
    let sd = m.element("exampleSDID@32473").unwrap();
    assert_eq!(sd.param("iut"), Some("3"));
    assert_eq!(sd.param("eventSource"), Some("App"));
    assert_eq!(m.element("b@32473").unwrap().param("y"), Some("a]b\"c\\d"));
    assert!(m.bom);
    assert_eq!(m.msg.as_deref(), Some("Grüße"));
    for bad in [
        "<192>1 2003-10-11T22:14:15Z h a - - -",
        "<14>1 2003-10-11 h a - - -",
        "<14>1 2003-10-11T22:14:15Z h a - - [x@1 y=\"a]b\"]",
        "<14>1 2003-10-11T22:14:15Z h a - - [x@1 y=\"ab]",
        "<14>1 2003-10-11T22:14:15Z h a - -  msg",
        "<14>01 - h a - - -",
    ] {
        assert!(parse_rfc5424(bad).is_err(), "{bad}");
    }

    let b = parse_rfc3164("<13>Jan  8 11:07:53 host sluice: a=1 b=\"x y\"").unwrap();
    assert_eq!(
        (b.tag.as_str(), b.content.as_str()),
        ("sluice", "a=1 b=\"x y\"")
    );
    assert_eq!(
        syslog_parse::parse_key_values(&b.content).unwrap(),
        vec![("a".into(), "1".into()), ("b".into(), "x y".into())]
    );
    assert!(parse_rfc3164("<13>Jan 18 11:07:53 host: x").is_err());
    assert!(parse_rfc3164(&format!("<13>Jan 18 11:07:53 h t: {}", "x".repeat(1024))).is_err());

    let c = parse_cef(
        "Sep 19 08:26:10 host CEF:0|security|threatmanager|1.0|100|detected a \\| in packet|10|src=10.0.0.1 act=blocked a \\= dst=1.1.1.1",
    )
    .unwrap();
    assert_eq!(c.name, "detected a | in packet");
    assert_eq!(c.severity, 10);
    assert_eq!(
        c.extension,
        vec![
            ("src".into(), "10.0.0.1".into()),
            ("act".into(), "blocked a =".into()),
            ("dst".into(), "1.1.1.1".into())
        ]
    );
    assert!(parse_cef("CEF:0|a|b|1|100|n|11|").is_err());
    assert!(parse_cef("CEF:0|a|b|1|100|n|5|msg=a\nb").is_err());
    assert!(parse_cef(&format!("CEF:0|{}|b|1|100|n|5|", "v".repeat(64))).is_err());

    let l = parse_leef(
        "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=10.50.1.1\tdst=2.10.20.20\tspt=1200",
    )
    .unwrap();
    assert_eq!((l.product_version.as_str(), l.delimiter), ("4.0 SP1", '\t'));
    assert_eq!(l.get("spt"), Some("1200"));
    let l = parse_leef(
        "<13>1 2019-01-18T11:07:53.520Z host LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21",
    )
    .unwrap();
    assert_eq!((l.event_id.as_str(), l.delimiter), ("41", '^'));
    assert_eq!(l.get("dstPort"), Some("21"));
    assert_eq!(
        parse_leef("LEEF:2.0|V|P|1|2|x5E|a=1^b=2").unwrap().get("b"),
        Some("2")
    );
    assert!(parse_leef("LEEF:3.0|V|P|1|2|a=1").is_err());
}

#[test]
fn rsyslog_harness_receives_udp_tcp_and_agrees_with_the_parser() {
    let r = Rsyslog::start(&[("u", Proto::Udp), ("t", Proto::Tcp), ("s", Proto::Tls)]);
    let line = "<134>1 2026-12-05T22:00:00.123Z gw.example sluice - 201 [sluice@32473 event.sequence=\"8\" x=\"a\\]b\"] \u{feff}Grüße";
    send_plain(r.input("u"), line);
    send_plain(r.input("t"), line);
    for input in ["u", "t"] {
        let raw = r.wait_raw(input, WAIT, |l| !l.is_empty());
        assert_eq!(raw, vec![line.to_string()], "{}", r.diagnostics());
        let ours = parse_rfc5424(&raw[0]).unwrap();
        let theirs = &r.parsed(input)[0];
        assert_eq!(theirs.app_name, "sluice");
        assert_eq!(theirs.hostname, ours.hostname.clone().unwrap());
        assert_eq!(theirs.msgid, "201");
        assert_eq!(theirs.pri, "134");
        assert_eq!(
            theirs.structured_data,
            "[sluice@32473 event.sequence=\"8\" x=\"a\\]b\"]"
        );
        assert_eq!(theirs.msg.trim_start_matches('\u{feff}'), "Grüße");
    }
}

/// Checks one 5424-framed line against rsyslog's own parse of it.
fn agrees_with_rsyslog(rsyslog: &Rsyslog, name: &str) {
    let raw = rsyslog.raw(name);
    let parsed = rsyslog.parsed(name);
    assert_eq!(raw.len(), parsed.len());
    for (line, theirs) in raw.iter().zip(&parsed) {
        let ours = parse_rfc5424(line).unwrap();
        assert_eq!(theirs.app_name, "sluice", "{line}");
        assert_eq!(Some(theirs.hostname.clone()), ours.hostname, "{line}");
        assert_eq!(Some(theirs.msgid.clone()), ours.msgid, "{line}");
        assert_eq!(
            theirs.pri,
            (ours.facility as u32 * 8 + ours.severity as u32).to_string(),
            "{line}"
        );
        let sd_text = line
            .split_once(&format!(" {} ", theirs.msgid))
            .map(|(_, rest)| rest)
            .unwrap_or_default();
        assert!(
            sd_text.starts_with(&theirs.structured_data),
            "rsyslog's SD {:?} is not the line's: {line}",
            theirs.structured_data
        );
        assert_eq!(
            theirs.msg.trim_start_matches('\u{feff}'),
            ours.msg.clone().unwrap_or_default(),
            "{line}"
        );
    }
}

#[test]
fn every_event_reaches_rsyslog_in_every_format_and_parses() {
    let inputs: Vec<(&str, Proto)> = DESTINATIONS.iter().map(|(n, _, p)| (*n, *p)).collect();
    let rsyslog = Rsyslog::start(&inputs);
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(
        &[sink.addr],
        &format!("{POLICIES}\n{}", siem_tables(&rsyslog)),
    ));

    assert_eq!(send(&sluice, "siem-relayed", "nothing to see"), 250);
    assert_eq!(
        send(&sluice, "siem-blocked", &format!("a {BLOCK_WORD} here")),
        550
    );
    assert_eq!(
        send(&sluice, "siem-held", &format!("a {QUARANTINE_WORD} here")),
        250
    );

    let mut by_seq: BTreeMap<&str, BTreeMap<u64, String>> = BTreeMap::new();
    for (name, format, _) in DESTINATIONS {
        rsyslog.wait_raw(name, WAIT, |lines| {
            let events: Vec<Received> = lines
                .iter()
                .filter_map(|l| siem_events::decode(format, l).ok())
                .collect();
            all_arrived(&events)
        });
        let events = decoded(&rsyslog, name, format);
        assert!(
            all_arrived(&events),
            "{name}: not every event arrived: {:#?}\nsluice logs:\n{}{}",
            events.iter().map(|e| &e.raw).collect::<Vec<_>>(),
            sluice.logs().join("\n"),
            rsyslog.diagnostics()
        );
        for (action, id) in EXPECTED {
            check_message_event(name, format, message_event(&events, action, id).unwrap());
        }
        for v in events.iter().filter(|e| e.action == "policy.violation") {
            let rule = match format {
                "cef" | "leef" => ["Hold project Z", "Stop leaks"]
                    .into_iter()
                    .find(|r| v.has_value(r)),
                _ => v.get("rule.name").and_then(|r| {
                    ["Hold project Z", "Stop leaks"]
                        .into_iter()
                        .find(|n| *n == r)
                }),
            };
            assert!(
                rule.is_some(),
                "{name}: policy.violation without its rule: {}",
                v.raw
            );
        }
        if format == "rfc3164" {
            for (line, theirs) in rsyslog.raw(name).iter().zip(rsyslog.parsed(name)) {
                let ours = parse_rfc3164(line).unwrap();
                assert_eq!(
                    (theirs.app_name, theirs.hostname),
                    (ours.tag, ours.hostname)
                );
            }
        } else {
            agrees_with_rsyslog(&rsyslog, name);
        }
        // Privacy: no body text and no matched value anywhere, raw or as rsyslog parsed it.
        let all = std::fs::read_dir(rsyslog.dir.path())
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
            .collect::<String>();
        for secret in [BODY_MARKER, BLOCK_WORD, QUARANTINE_WORD, "nothing to see"] {
            assert!(!all.contains(secret), "{secret:?} reached the SIEM");
        }
        by_seq.insert(
            name,
            events.into_iter().map(|e| (e.seq, e.action)).collect(),
        );
    }
    // Every destination got the same events (one outbox, one sequence).
    let (first, want) = by_seq.iter().next().unwrap();
    for (name, got) in &by_seq {
        for (seq, action) in want {
            if action.starts_with("message.") || action == "policy.violation" {
                assert_eq!(got.get(seq), Some(action), "{name} vs {first}: seq {seq}");
            }
        }
    }
}

/// The fields of a message event, checked in the format's terms.
fn check_message_event(name: &str, format: &str, e: &Received) {
    let ctx = format!("{name} ({format}) {}: {}", e.action, e.raw);
    match format {
        "rfc5424" | "json" | "rfc3164" => {
            assert_eq!(e.get("email.from.address"), Some(FROM), "{ctx}");
            assert_eq!(e.all("email.to.address"), vec![TO.to_string()], "{ctx}");
            assert_eq!(e.get("source.ip"), Some("127.0.0.1"), "{ctx}");
            let truncated = format == "rfc3164" && e.raw.ends_with("...");
            if !truncated {
                assert_eq!(e.get("email.subject"), Some(SUBJECT), "{ctx}");
                assert!(e.get("email.message_id").is_some(), "{ctx}");
            }
        }
        "cef" => {
            assert_eq!(e.get("suser"), Some(FROM), "{ctx}");
            assert_eq!(e.get("duser"), Some(TO), "{ctx}");
            assert_eq!(e.get("src"), Some("127.0.0.1"), "{ctx}");
            assert!(e.has_value(SUBJECT), "{ctx}");
        }
        "leef" => {
            assert!(e.has_value(FROM) && e.has_value(TO), "{ctx}");
            assert_eq!(e.get("src"), Some("127.0.0.1"), "{ctx}");
            // LEEF has no escapes: the delimiter in a value becomes a space.
            assert!(e.has_value(&SUBJECT.replace('^', " ")), "{ctx}");
        }
        _ => unreachable!(),
    }
}

#[test]
fn siem_test_reports_a_verified_tls_session_with_rsyslog() {
    let rsyslog = Rsyslog::start(&[("leef", Proto::Tls)]);
    let tables = format!(
        "[[siem]]\nname = \"leef\"\nformat = \"leef\"\ntransport = \"tls\"\naddress = \"{}\"\nca_file = \"{}\"\n",
        rsyslog.addr("leef"),
        rsyslog.ca_file.display()
    );
    let (code, out, err) = siem_test(&tables, "leef");
    let text = format!("{out}\n{err}").to_lowercase();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(text.contains("verified"), "{out}\n{err}");
    assert!(text.contains("bytes"), "{out}\n{err}");
    let lines = rsyslog.wait_raw("leef", WAIT, |l| !l.is_empty());
    assert_eq!(lines.len(), 1, "{}", rsyslog.diagnostics());
    let m = siem_events::header(&lines[0]).unwrap();
    parse_leef(m.msg.as_deref().unwrap()).unwrap();

    // A receiver whose certificate the anchors do not cover: the test says so and fails.
    let other = tempfile::tempdir().unwrap();
    support::rsyslog::make_certificates(other.path());
    let tables = tables.replace(
        &rsyslog.ca_file.display().to_string(),
        &other.path().join("ca.pem").display().to_string(),
    );
    let (code, out, err) = siem_test(&tables, "leef");
    assert_ne!(code, 0, "{out}\n{err}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(rsyslog.raw("leef").len(), 1);
}

/// Runs `sluice siem test --destination NAME` on a config of these tables (no server running, so
/// the receiver sees the test event alone): exit code, stdout, stderr.
fn siem_test(tables: &str, name: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sluice.toml");
    std::fs::write(
        &config,
        forward_config(&["127.0.0.1:25".parse().unwrap()], tables),
    )
    .unwrap();
    let out = std::process::Command::new(support::sluice::binary())
        .args(["siem", "test", "--destination", name, "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .expect("run sluice siem test");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// ECS `email.subject` is the subject as the reader sees it: an RFC 2047 encoded word decoded.
#[test]
fn an_encoded_subject_reaches_the_siem_decoded() {
    let rsyslog = Rsyslog::start(&[("json", Proto::Tcp)]);
    let sink = Sink::start_default();
    let table = siem_table(&rsyslog, "json", "json", Proto::Tcp);
    let sluice = Sluice::start(&forward_config(&[sink.addr], &table));
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let msg = "From: <alice@corp.example>\r\nTo: <bob@partner.example>\r\nMessage-ID: <enc@corp.example>\r\nSubject: Q3 =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= =?UTF-8?B?w6ll?=\r\n\r\nhi\r\n";
    assert_eq!(c.send(FROM, &[TO], msg).code, 250);
    c.quit();
    let lines = rsyslog.wait_raw("json", WAIT, |l| {
        l.iter().any(|l| l.contains("message.relayed"))
    });
    let relayed = lines
        .iter()
        .map(|l| siem_events::decode("json", l).unwrap())
        .find(|e| e.action == "message.relayed")
        .expect("message.relayed");
    assert_eq!(
        relayed.get("email.subject"),
        Some("Q3 Grüßeée"),
        "{}",
        relayed.raw
    );
}

/// A 5 KB event over UDP is cut to the datagram cap, marked, and still parses (the structured data
/// stays well formed), at a real receiver.
#[test]
fn a_long_event_over_udp_is_cut_marked_and_still_parses() {
    let rsyslog = Rsyslog::start(&[("r5424", Proto::Udp)]);
    let sink = Sink::start_default();
    let table = siem_table(&rsyslog, "r5424", "rfc5424", Proto::Udp);
    let sluice = Sluice::start(&forward_config(&[sink.addr], &table));
    // 300 words (about 5 KB) on folded header lines.
    let words = vec!["long]\"\\subject"; 300];
    let folded: Vec<String> = words.chunks(20).map(|c| c.join(" ")).collect();
    let subject = folded.join("\r\n ");
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let msg = format!(
        "From: <{FROM}>\r\nTo: <{TO}>\r\nMessage-ID: <long@corp.example>\r\nSubject: {subject}\r\n\r\nhi\r\n"
    );
    assert_eq!(c.send(FROM, &[TO], &msg).code, 250);
    c.quit();
    let lines = rsyslog.wait_raw("r5424", WAIT, |l| {
        l.iter().any(|l| l.contains("message.relayed"))
    });
    let line = lines
        .iter()
        .find(|l| l.contains("message.relayed"))
        .expect("message.relayed");
    assert!(line.len() <= 2048, "a datagram of {} bytes", line.len());
    let e = siem_events::decode("rfc5424", line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let cut: Vec<&(String, String)> = e
        .fields
        .iter()
        .filter(|(_, v)| v.ends_with("..."))
        .collect();
    assert!(
        !cut.is_empty() || e.raw.ends_with("..."),
        "the cut is not marked: {line}"
    );
    let shown = e.get("email.subject").unwrap_or_default();
    assert!(
        shown.len() < 2048 && shown.starts_with(&words[..3].join(" ")),
        "{line}"
    );
}
