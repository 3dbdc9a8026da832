//! The events Sluice writes about mail, read back with `sluice events list --json` from a running
//! server: one `message.*` per message with its ECS fields (relayed, blocked, quarantined), one
//! `policy.violation` per incident with the policy's fields, the held message's event committed
//! before the client's 250, no body text or matched value in any event, the per-message log line,
//! `system.started`, `config.reloaded` by the control socket, and `smtp.connection.refused`
//! written once per client a minute however many connections are refused.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::client::Client;
use support::sink::Sink;
use support::sluice::{Sluice, forward_config};

const WAIT: Duration = Duration::from_secs(10);

/// The body marker and the matched value: neither may appear in any event.
const BODY_MARKER: &str = "BODYMARKER-7f3a";
const CODEWORD: &str = "zephyrquill";
const HOLDWORD: &str = "quokkavault";

fn policies() -> String {
    format!(
        r#"
[[policy]]
id = 410
name = "Block codeword"
severity = "high"
action = "block"
keywords = ["{CODEWORD}"]

[[policy]]
id = 420
name = "Hold vault"
severity = "medium"
action = "quarantine"
keywords = ["{HOLDWORD}"]
"#
    )
}

fn message(id: &str, subject: &str, body: &str) -> String {
    format!(
        "From: <a@corp.example>\r\nTo: <b@partner.example>\r\nMessage-ID: <{id}>\r\n\
         Subject: {subject}\r\n\r\n{body}\r\n"
    )
}

fn send(sluice: &Sluice, to: &[&str], msg: &str) -> support::client::Reply {
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send("a@corp.example", to, msg);
    c.quit();
    r
}

/// Every event in the outbox, as `sluice events list --json` prints them.
fn events(sluice: &Sluice) -> Vec<Value> {
    let (code, out, err) = sluice.cli(&["events", "list", "--json", "--limit", "10000"]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// `sluice reload` on the server's data dir: (exit code, stderr).
fn reload(sluice: &Sluice) -> (i32, String) {
    let out = std::process::Command::new(support::sluice::binary())
        .arg("reload")
        .arg("--data-dir")
        .arg(sluice.dir.path().join("data"))
        .output()
        .expect("run sluice reload");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn kind(e: &Value) -> &str {
    e["kind"].as_str().unwrap_or("")
}

/// A field's values (a repeated field is an array).
fn field(e: &Value, name: &str) -> Vec<String> {
    match &e["fields"][name] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => vec![],
    }
}

/// Waits until `pred` holds for some event (relayed mail's event is written after the reply).
fn wait_event(sluice: &Sluice, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    let end = Instant::now() + WAIT;
    loop {
        let all = events(sluice);
        if all.iter().any(&pred) || Instant::now() > end {
            return all;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn of_message<'a>(all: &'a [Value], guid: &str, k: &str) -> Vec<&'a Value> {
    all.iter()
        .filter(|e| kind(e) == k && field(e, "email.local_id") == [guid])
        .collect()
}

/// The GUID Sluice gave a message, from its reply (`... id=<guid>; ...`).
fn guid_of(reply: &support::client::Reply) -> String {
    let text = &reply.text;
    let start = text.find("id=").expect("id= in the reply") + 3;
    text[start..]
        .split(|c: char| c == ';' || c.is_whitespace())
        .next()
        .unwrap_or("")
        .to_string()
}

fn no_content_in(all: &[Value]) {
    let text = all
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!text.contains(BODY_MARKER), "body text in an event: {text}");
    assert!(
        !text.contains(CODEWORD),
        "matched value in an event: {text}"
    );
    assert!(
        !text.contains(HOLDWORD),
        "matched value in an event: {text}"
    );
}

#[test]
fn a_relayed_message_has_one_message_relayed_event_and_one_log_line() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], &policies()));
    let r = send(
        &sluice,
        &["b@partner.example", "c@partner.example"],
        &message("m1@corp.example", "Weekly report", BODY_MARKER),
    );
    assert_eq!(r.code, 250, "{r:?}");
    let guid = guid_of(&r);
    let all = wait_event(&sluice, |e| {
        kind(e) == "message.relayed" && field(e, "email.local_id") == [guid.as_str()]
    });
    let relayed = of_message(&all, &guid, "message.relayed");
    assert_eq!(relayed.len(), 1, "{all:?}");
    let e = relayed[0];
    assert_eq!(field(e, "email.from.address"), ["a@corp.example"]);
    assert_eq!(
        field(e, "email.to.address"),
        ["b@partner.example", "c@partner.example"]
    );
    assert_eq!(field(e, "email.subject"), ["Weekly report"]);
    assert_eq!(field(e, "email.message_id"), ["<m1@corp.example>"]);
    assert_eq!(field(e, "source.ip"), ["127.0.0.1"]);
    assert_eq!(field(e, "destination.port"), [sink.addr.port().to_string()]);
    assert_eq!(field(e, "sluice.dsn"), ["2.0.0"]);
    assert!(field(e, "rule.name").is_empty());
    // No other message.* event for it.
    let others: Vec<_> = all
        .iter()
        .filter(|e| {
            kind(e).starts_with("message.") && field(e, "email.local_id") == [guid.as_str()]
        })
        .collect();
    assert_eq!(others.len(), 1, "{others:?}");
    no_content_in(&all);
    // The log line: grep the GUID.
    assert!(sluice.wait_log(&format!("sluice::message: id={guid} "), WAIT));
    let line = sluice
        .log_line(&format!("sluice::message: id={guid} "))
        .unwrap_or_default();
    assert!(
        line.contains("from=<a@corp.example> to=<b@partner.example>,<c@partner.example> ")
            && line.contains(" status=relayed dsn=2.0.0 policy=none")
            && line.contains(&format!("relay=127.0.0.1[127.0.0.1]:{} ", sink.addr.port())),
        "{line}"
    );
    assert!(!line.contains("Weekly"), "{line}");
    // And the start of the service.
    assert!(all.iter().any(|e| kind(e) == "system.started"), "{all:?}");
}

#[test]
fn a_blocked_message_has_message_blocked_and_a_policy_violation_with_the_rule() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], &policies()));
    let body = format!("{BODY_MARKER} the {CODEWORD} plan");
    let r = send(
        &sluice,
        &["b@partner.example"],
        &message("m2@corp.example", "Plans", &body),
    );
    assert_eq!(r.code, 550, "{r:?}");
    let all = wait_event(&sluice, |e| kind(e) == "message.blocked");
    let blocked: Vec<_> = all
        .iter()
        .filter(|e| kind(e) == "message.blocked")
        .collect();
    assert_eq!(blocked.len(), 1, "{all:?}");
    let b = blocked[0];
    assert_eq!(field(b, "email.message_id"), ["<m2@corp.example>"]);
    assert_eq!(field(b, "email.from.address"), ["a@corp.example"]);
    assert_eq!(field(b, "rule.name"), ["Block codeword"]);
    assert_eq!(field(b, "source.ip"), ["127.0.0.1"]);
    assert!(field(b, "destination.ip").is_empty(), "{b}");
    let guid = field(b, "email.local_id");
    let violations: Vec<_> = all
        .iter()
        .filter(|e| kind(e) == "policy.violation" && field(e, "email.local_id") == guid)
        .collect();
    assert_eq!(violations.len(), 1, "{all:?}");
    let v = violations[0];
    assert_eq!(field(v, "rule.name"), ["Block codeword"]);
    assert_eq!(field(v, "rule.id"), ["410"]);
    assert_eq!(field(v, "sluice.policy.action"), ["block"]);
    assert_eq!(field(v, "sluice.policy.severity"), ["high"]);
    assert_eq!(field(v, "email.subject"), ["Plans"]);
    assert_eq!(field(v, "source.ip"), ["127.0.0.1"]);
    assert!(!field(v, "sluice.incident.id").is_empty(), "{v}");
    // Both in the incidents' one write: adjacent in the outbox.
    let seq = |e: &Value| e["seq"].as_u64().unwrap_or(0);
    assert_eq!(seq(v), seq(b) + 1, "{b} {v}");
    no_content_in(&all);
    let line = sluice
        .log_line(&format!("sluice::message: id={} ", guid[0]))
        .unwrap_or_default();
    assert!(
        line.contains(" status=blocked dsn=5.7.1 policy=\"Block codeword\""),
        "{line}"
    );
}

#[test]
fn a_quarantined_message_has_its_event_committed_before_the_250() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], &policies()));
    let body = format!("{BODY_MARKER} in the {HOLDWORD}");
    let r = send(
        &sluice,
        &["b@partner.example"],
        &message("m3@corp.example", "Vault", &body),
    );
    assert_eq!(r.code, 250, "{r:?}");
    let guid = guid_of(&r);
    // No waiting: the hold's commit (record, incidents, events) came before the reply.
    let all = events(&sluice);
    let held = of_message(&all, &guid, "message.quarantined");
    assert_eq!(held.len(), 1, "{all:?}");
    let h = held[0];
    assert_eq!(field(h, "email.subject"), ["Vault"]);
    assert_eq!(field(h, "email.to.address"), ["b@partner.example"]);
    assert_eq!(field(h, "rule.name"), ["Hold vault"]);
    assert!(!field(h, "sluice.held.id").is_empty(), "{h}");
    let v = of_message(&all, &guid, "policy.violation");
    assert_eq!(v.len(), 1, "{all:?}");
    assert_eq!(field(v[0], "sluice.policy.action"), ["quarantine"]);
    assert_eq!(
        field(v[0], "sluice.incident.id"),
        field(h, "sluice.incident.id")
    );
    assert!(all.iter().all(|e| kind(e) != "quarantine.held"));
    no_content_in(&all);
    // The release names the message and the operator.
    let id = field(h, "sluice.held.id").remove(0);
    let (code, _, err) = sluice.cli(&["quarantine", "release", &id, "--actor", "ops1"]);
    assert_eq!(code, 0, "{err}");
    let all = events(&sluice);
    let rel = of_message(&all, &guid, "quarantine.released");
    assert_eq!(rel.len(), 1, "{all:?}");
    assert_eq!(field(rel[0], "user.name"), ["ops1"]);
    assert_eq!(field(rel[0], "email.from.address"), ["a@corp.example"]);
    assert_eq!(field(rel[0], "email.message_id"), ["<m3@corp.example>"]);
}

#[test]
fn a_reload_is_an_event_naming_who_asked_and_what_changed() {
    let sink = Sink::start_default();
    let sluice = Sluice::start(&forward_config(&[sink.addr], &policies()));
    let text = std::fs::read_to_string(&sluice.config_path).expect("config");
    let changed: String = text.replace("command_timeout = \"30s\"", "command_timeout = \"31s\"");
    std::fs::write(&sluice.config_path, &changed).expect("write config");
    let (code, err) = reload(&sluice);
    assert_eq!(code, 0, "{err}");
    let all = events(&sluice);
    let r: Vec<_> = all
        .iter()
        .filter(|e| kind(e) == "config.reloaded")
        .collect();
    assert_eq!(r.len(), 1, "{all:?}");
    assert_eq!(field(r[0], "user.name"), ["control socket"]);
    assert_eq!(field(r[0], "sluice.setting"), ["listener.command_timeout"]);
    std::fs::write(&sluice.config_path, "[listener\n").expect("write config");
    let (code, err) = reload(&sluice);
    assert_eq!(code, 1, "{err}");
    std::fs::write(&sluice.config_path, &changed).expect("write config");
    let all = events(&sluice);
    assert!(
        all.iter()
            .any(|e| kind(e) == "config.reload_refused"
                && field(e, "user.name") == ["control socket"]),
        "{all:?}"
    );
}

#[test]
fn refused_connections_write_one_event_per_client_a_minute_with_a_count() {
    let sink = Sink::start_default();
    let config = forward_config(&[sink.addr], "").replace(
        "[listener]\n",
        "[listener]\nmax_sessions = 10\nmax_sessions_per_client = 1\n",
    );
    let sluice = Sluice::start(&config);
    let mut first = Client::connect(sluice.addr);
    first.ehlo();
    for _ in 0..5 {
        let c = Client::connect(sluice.addr);
        assert!(c.greeting.starts_with("421 4.7.0 "), "{}", c.greeting);
    }
    let all = wait_event(&sluice, |e| kind(e) == "smtp.connection.refused");
    let refused: Vec<_> = all
        .iter()
        .filter(|e| kind(e) == "smtp.connection.refused")
        .collect();
    assert_eq!(refused.len(), 1, "{all:?}");
    assert_eq!(field(refused[0], "source.ip"), ["127.0.0.1"]);
    assert_eq!(field(refused[0], "sluice.count"), ["1"]);
    first.quit();
}

#[test]
fn a_client_cut_off_for_protocol_errors_is_an_smtp_protocol_violation() {
    let sink = Sink::start_default();
    let config =
        forward_config(&[sink.addr], "").replace("[listener]\n", "[listener]\nmax_errors = 3\n");
    let sluice = Sluice::start(&config);
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let mut last = c.cmd("BOGUS");
    for _ in 0..2 {
        last = c.cmd("BOGUS");
    }
    assert_eq!(last.code, 421, "{last:?}");
    let all = wait_event(&sluice, |e| kind(e) == "smtp.protocol_violation");
    let v: Vec<_> = all
        .iter()
        .filter(|e| kind(e) == "smtp.protocol_violation")
        .collect();
    assert_eq!(v.len(), 1, "{all:?}");
    assert_eq!(field(v[0], "source.ip"), ["127.0.0.1"]);
    assert_eq!(field(v[0], "event.reason"), ["too many errors"]);
    assert_eq!(field(v[0], "sluice.count"), ["1"]);
}

#[test]
fn a_next_hop_deferral_is_message_deferred_with_its_dsn_and_a_stop_is_system_stopped() {
    let sink = Sink::start(support::sink::SinkConfig {
        data_reply: Some("451 4.3.0 Try later".into()),
        ..Default::default()
    });
    let mut sluice = Sluice::start(&forward_config(&[sink.addr], ""));
    let r = send(
        &sluice,
        &["b@partner.example"],
        &message("m4@corp.example", "Later", BODY_MARKER),
    );
    assert_eq!(r.code, 451, "{r:?}");
    let all = wait_event(&sluice, |e| kind(e) == "message.deferred");
    let d: Vec<_> = all
        .iter()
        .filter(|e| kind(e) == "message.deferred")
        .collect();
    assert_eq!(d.len(), 1, "{all:?}");
    assert_eq!(field(d[0], "sluice.dsn"), ["4.3.0"]);
    assert_eq!(field(d[0], "email.message_id"), ["<m4@corp.example>"]);
    assert!(field(d[0], "destination.ip").is_empty(), "{}", d[0]);
    assert!(all.iter().all(|e| kind(e) != "message.relayed"), "{all:?}");
    let guid = field(d[0], "email.local_id").remove(0);
    let line = sluice
        .log_line(&format!("sluice::message: id={guid} "))
        .unwrap_or_default();
    assert!(line.contains(" status=deferred dsn=4.3.0 "), "{line}");
    // The stop is the last event, written before the process exits.
    assert!(sluice.terminate().is_some_and(|s| s.success()));
    let all = events(&sluice);
    assert_eq!(all.last().map(kind), Some("system.stopped"), "{all:?}");
}
