//! `/metrics`, `/healthz` and `/readyz` through the real binary: messages sent through the proxy
//! are counted in a scrape that Python's `prometheus_client` text parser reads (Debian's
//! python3-prometheus-client); the allow list and the bearer token (a loopback client refused
//! without the token when the allow list is empty); `/readyz` and the monitor's next-hop probe
//! (up, then down with a `system.next_hop.down` event). A gateway's queues by stage: a message
//! for a destination that is down is `deferred` (also in `sluice status`), a delivered one is a
//! time-to-delivery observation, a suspect one is on `hold` (with `system.queue.hold` and the
//! administrators' mail).

mod support;

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::client::{Client, message};
use support::https::{get, request};
use support::sink::Sink;
use support::sluice::{Sluice, closed_addr, config, forward_config};

const WAIT: Duration = Duration::from_secs(20);
const TOKEN: &str = "test-token-5b1c9e0d7a";
const CODEWORD: &str = "zephyrquill";

fn policies() -> String {
    format!(
        "[[policy]]\nid = 410\nname = \"Block codeword\"\nseverity = \"high\"\naction = \"block\"\nkeywords = [\"{CODEWORD}\"]\n"
    )
}

/// A Python with `prometheus_client` (Debian's package lives in the system Python).
fn python() -> String {
    for p in ["/usr/bin/python3", "python3"] {
        let ok = Command::new(p)
            .args(["-c", "import prometheus_client"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return p.to_string();
        }
    }
    panic!("no python3 with prometheus_client: install python3-prometheus-client");
}

/// Every sample of `text` as prometheus_client parses it: "name{k=v,...}" (labels sorted) -> value.
fn parse(text: &str) -> HashMap<String, f64> {
    const SCRIPT: &str = r#"
import sys
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
        print(f"{family.type}\t{s.name}{{{labels}}}\t{s.value!r}")
"#;
    let mut child = Command::new(python())
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python3");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client refused the exposition: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut samples = HashMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let mut cols = line.split('\t');
        let (ty, series, value) = (cols.next(), cols.next(), cols.next());
        let (Some(ty), Some(series), Some(value)) = (ty, series, value) else {
            panic!("parser output: {line}");
        };
        assert_ne!(ty, "unknown", "a sample outside its family: {line}");
        samples.insert(series.to_string(), value.parse().expect("a number"));
    }
    samples
}

/// The sum of the samples of `name` whose labels include every one of `labels` ("k=v").
fn sum(samples: &HashMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| {
            series.split_once('{').is_some_and(|(n, rest)| {
                let have: Vec<&str> = rest.trim_end_matches('}').split(',').collect();
                n == name && labels.iter().all(|l| have.contains(l))
            })
        })
        .map(|(_, v)| v)
        .sum()
}

fn scrape(s: &Sluice) -> HashMap<String, f64> {
    let r = get(s, "/metrics");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    parse(&r.body)
}

/// Scrapes until `done` holds (counters are raised as messages conclude; probes run on a timer).
fn scrape_until(s: &Sluice, done: impl Fn(&HashMap<String, f64>) -> bool) -> HashMap<String, f64> {
    let end = Instant::now() + WAIT;
    loop {
        let samples = scrape(s);
        if done(&samples) || Instant::now() > end {
            return samples;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn send(s: &Sluice, subject: &str, body: &str) -> u16 {
    send_from(s, "a@corp.example", "b@partner.example", subject, body)
}

fn send_from(s: &Sluice, from: &str, to: &str, subject: &str, body: &str) -> u16 {
    let mut c = Client::connect(s.addr);
    c.ehlo();
    let r = c.send(from, &[to], &message(subject, body));
    c.quit();
    r.code
}

#[test]
fn counts_the_messages_sent_in_a_scrape_prometheus_client_parses() {
    let sink = Sink::start_default();
    let s = Sluice::start(&forward_config(
        &[sink.addr],
        &format!("{}\n[monitor]\ninterval = \"1s\"\n", policies()),
    ));
    // Before any mail: the counters that exist are zero, and the exposition parses.
    let before = scrape(&s);
    assert_eq!(sum(&before, "sluice_messages_total", &[]), 0.0);
    assert_eq!(
        sum(
            &before,
            "sluice_build_info",
            &[&format!("version={}", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    for i in 0..3 {
        assert_eq!(send(&s, &format!("hello {i}"), "nothing to see"), 250);
    }
    assert_eq!(send(&s, "bad", &format!("the {CODEWORD} plan")), 550);
    sink.wait_for(3, WAIT);
    let m = scrape_until(&s, |m| {
        sum(m, "sluice_messages_total", &[]) >= 4.0
            && sum(
                m,
                "sluice_next_hop_up",
                &[&format!("address={}", sink.addr)],
            ) == 1.0
    });
    assert_eq!(
        sum(&m, "sluice_messages_total", &["outcome=relayed"]),
        3.0,
        "{m:?}"
    );
    assert_eq!(sum(&m, "sluice_messages_total", &["outcome=blocked"]), 1.0);
    assert_eq!(sum(&m, "sluice_messages_total", &[]), 4.0);
    assert_eq!(
        sum(&m, "sluice_policy_hits_total", &["policy=Block codeword"]),
        1.0
    );
    assert_eq!(sum(&m, "sluice_message_size_bytes_count", &[]), 4.0);
    assert_eq!(
        sum(&m, "sluice_message_size_bytes_bucket", &["le=+Inf"]),
        4.0
    );
    assert_eq!(
        sum(&m, "sluice_inspection_duration_seconds_count", &[]),
        4.0
    );
    assert_eq!(
        sum(&m, "sluice_smtp_connections_total", &["result=accepted"]),
        4.0
    );
    // Scrape-time values: the store, the disk, the probe, readiness.
    assert!(sum(&m, "sluice_store_max_bytes", &[]) > 0.0, "{m:?}");
    assert!(sum(&m, "sluice_store_used_bytes", &[]) > 0.0);
    assert!(sum(&m, "sluice_data_dir_free_bytes", &[]) > 0.0);
    assert_eq!(sum(&m, "sluice_queue_messages", &[]), 0.0);
    for stage in ["inspect", "deliver", "deferred", "hold"] {
        let series = format!("sluice_queue_oldest_age_seconds{{stage={stage}}}");
        assert_eq!(m.get(&series), Some(&0.0), "{series} in {m:?}");
    }
    assert_eq!(sum(&m, "sluice_ready", &[]), 1.0);
    assert!(sum(&m, "sluice_tls_sessions_total", &["side=admin"]) >= 2.0);
    assert!(sum(&m, "sluice_definitions_loaded_timestamp_seconds", &[]) > 1.6e9);
    assert!(
        sum(
            &m,
            "sluice_certificate_expiry_timestamp_seconds",
            &["certificate=tls"]
        ) > 1.6e9
    );
    let r = get(&s, "/healthz");
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    let r = get(&s, "/readyz");
    assert_eq!((r.status, r.body.as_str()), (200, "ready"));
}

#[test]
fn with_an_empty_allow_list_only_the_bearer_token_opens_metrics() {
    let sink = Sink::start_default();
    let s = Sluice::start(&forward_config(
        &[sink.addr],
        &format!(
            "[admin]\naddress = \"127.0.0.1:0\"\npublic_url = \"https://localhost\"\nmetrics_allow = []\nmetrics_token = \"{TOKEN}\"\n"
        ),
    ));
    let ask = |auth: &str| {
        request(
            &s,
            &format!("GET /metrics HTTP/1.1\r\nHost: localhost\r\n{auth}\r\n"),
        )
    };
    let refused = ask("");
    assert_eq!((refused.status, refused.body.as_str()), (403, "forbidden"));
    refused.assert_security_headers();
    for wrong in [
        format!("Authorization: Bearer {TOKEN}x\r\n"),
        "Authorization: Bearer short\r\n".to_string(),
        format!("Authorization: Basic {TOKEN}\r\n"),
    ] {
        let r = ask(&wrong);
        assert_eq!(
            (r.status, r.body.as_str()),
            (403, "forbidden"),
            "the same answer for {wrong:?}"
        );
    }
    let ok = ask(&format!("Authorization: Bearer {TOKEN}\r\n"));
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert!(parse(&ok.body).contains_key("sluice_ready{}"));
    // Health and readiness stay open for load balancers.
    assert_eq!(get(&s, "/healthz").status, 200);
    assert_eq!(get(&s, "/readyz").status, 200);
}

#[test]
fn readyz_fails_and_an_event_is_written_when_the_next_hop_stops_answering() {
    let hop = closed_addr("127.0.0.61".parse().unwrap());
    let s = Sluice::start(&forward_config(&[hop], "[monitor]\ninterval = \"1s\"\n"));
    let end = Instant::now() + WAIT;
    let r = loop {
        let r = get(&s, "/readyz");
        if r.status != 200 || Instant::now() > end {
            break r;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!((r.status, r.body.as_str()), (503, "next hop unreachable"));
    let m = scrape(&s);
    assert_eq!(
        sum(&m, "sluice_next_hop_up", &[&format!("address={hop}")]),
        0.0
    );
    assert!(m.contains_key(&format!("sluice_next_hop_up{{address={hop}}}")));
    assert_eq!(sum(&m, "sluice_ready", &[]), 0.0);
    let end = Instant::now() + WAIT;
    let listed = loop {
        let (code, out, err) = s.cli(&["events", "list", "--json"]);
        assert_eq!(code, 0, "{err}");
        if out.contains("system.next_hop.down") || Instant::now() > end {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let down: Vec<&str> = listed
        .lines()
        .filter(|l| l.contains("system.next_hop.down"))
        .collect();
    assert_eq!(down.len(), 1, "{listed}");
    assert!(down[0].contains(&hop.to_string()), "{}", down[0]);
}

/// A gateway listener delivering corp.example to `destination`; alerts go to the administrators
/// through the [relay] host `alerts` (a sink); the monitor looks every second.
fn gateway(alerts: std::net::SocketAddr, destination: std::net::SocketAddr) -> String {
    config(
        "mode = \"gateway\"",
        &format!("mode = \"forward\"\nhosts = [\"{alerts}\"]"),
        &format!(
            "[queue]\nretry = [\"1s\"]\nlease = \"5s\"\n\n[notifications]\nadmin = [\"secops@corp.example\"]\n\n[monitor]\ninterval = \"1s\"\n\n[gateway]\ninline_verdict = \"5s\"\ninspect_retry = \"1s\"\ninspect_attempts = 3\n\n[[route]]\ndomain = \"corp.example\"\ndestination = \"{destination}\"\n"
        ),
    )
}

fn send_gateway(s: &Sluice, subject: &str, body: &str) -> u16 {
    send_from(s, "a@example.net", "b@corp.example", subject, body)
}

#[test]
fn a_gateway_message_for_a_destination_that_is_down_is_deferred_in_metrics_and_status() {
    let alerts = Sink::start_default();
    let down = closed_addr("127.0.0.62".parse().unwrap());
    let s = Sluice::start(&gateway(alerts.addr, down));
    assert_eq!(send_gateway(&s, "waiting", "for a destination"), 250);
    let m = scrape_until(&s, |m| {
        sum(m, "sluice_queue_messages", &["stage=deferred"]) == 1.0
    });
    assert_eq!(
        sum(&m, "sluice_queue_messages", &["stage=deferred"]),
        1.0,
        "{m:?}"
    );
    assert!(sum(&m, "sluice_queue_bytes", &["stage=deferred"]) > 0.0);
    for stage in ["inspect", "deliver", "hold"] {
        let l = format!("stage={stage}");
        assert_eq!(sum(&m, "sluice_queue_messages", &[&l]), 0.0, "{stage}");
    }
    assert_eq!(sum(&m, "sluice_time_to_delivery_seconds_count", &[]), 0.0);
    let (code, out, err) = s.control(&["status"]);
    assert_eq!(code, 0, "{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("queues: "))
        .unwrap_or_else(|| panic!("no queues line in {out}"));
    assert!(
        line.starts_with("queues: inspect 0, deliver 0, deferred 1 (oldest "),
        "{line}"
    );
    assert!(line.ends_with(", hold 0"), "{line}");
    let (code, out, err) = s.control(&["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["queues"][2]["stage"], "deferred");
    assert_eq!(j["queues"][2]["messages"], 1);
}

#[test]
fn a_delivered_gateway_message_is_timed_from_its_250() {
    let sink = Sink::start_default();
    let s = Sluice::start(&gateway(sink.addr, sink.addr));
    assert_eq!(send_gateway(&s, "hello", "on time"), 250);
    sink.wait_for(1, WAIT);
    let m = scrape_until(&s, |m| {
        sum(m, "sluice_time_to_delivery_seconds_count", &[]) == 1.0
    });
    assert_eq!(
        sum(&m, "sluice_time_to_delivery_seconds_count", &[]),
        1.0,
        "{m:?}"
    );
    assert_eq!(
        sum(&m, "sluice_time_to_delivery_seconds_bucket", &["le=+Inf"]),
        1.0
    );
    let m = scrape_until(&s, |m| sum(m, "sluice_queue_messages", &[]) == 0.0);
    assert_eq!(sum(&m, "sluice_queue_messages", &[]), 0.0, "{m:?}");
}

#[test]
fn a_suspect_message_is_on_hold_in_metrics_with_an_event_and_a_mail() {
    const MARK: &str = "CRASH-ME-9c2e";
    let sink = Sink::start_default();
    let fault = format!("panic:{MARK}");
    let s = Sluice::start_with_env(
        &gateway(sink.addr, sink.addr),
        &[("SLUICE_TEST_INSPECT_FAULT", &fault)],
    );
    let m = scrape(&s);
    assert_eq!(sum(&m, "sluice_queue_messages", &["stage=hold"]), 0.0);
    assert_eq!(send_gateway(&s, "crashing", &format!("x {MARK} y")), 250);
    let m = scrape_until(&s, |m| {
        sum(m, "sluice_queue_messages", &["stage=hold"]) == 1.0
    });
    assert_eq!(
        sum(&m, "sluice_queue_messages", &["stage=hold"]),
        1.0,
        "{m:?}"
    );
    assert_eq!(sum(&m, "sluice_queue_messages", &["stage=inspect"]), 0.0);
    let end = Instant::now() + WAIT;
    let listed = loop {
        let (code, out, err) = s.cli(&["events", "list", "--json"]);
        assert_eq!(code, 0, "{err}");
        if out.contains("system.queue.hold") || Instant::now() > end {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let hold: Vec<&str> = listed
        .lines()
        .filter(|l| l.contains("system.queue.hold"))
        .collect();
    assert_eq!(hold.len(), 1, "once per alert_repeat: {listed}");
    assert!(
        hold[0].contains("\"sluice.queue.stage\":\"hold\""),
        "{}",
        hold[0]
    );
    // The suspect alert (at the hold) and the monitor's (messages wait on hold); other alerts
    // (a disk low on free space) may come too.
    let want = ["Sluice messages on hold", "Sluice: suspect message held"];
    let end = Instant::now() + WAIT;
    let subjects = loop {
        let subjects: Vec<String> = sink
            .messages()
            .iter()
            .filter_map(|m| m.header("Subject"))
            .map(|s| s.trim().to_string())
            .collect();
        if want.iter().all(|w| subjects.iter().any(|s| s == w)) || Instant::now() > end {
            break subjects;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    for w in want {
        assert_eq!(
            subjects.iter().filter(|s| *s == w).count(),
            1,
            "{w} once in {subjects:?}"
        );
    }
}
