//! `sluice scan` end to end: the real binary over .eml files and directories, text and JSON output,
//! redaction unless --show-matches, exit codes, and the same policies the proxy uses.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::sluice::binary;

const POLICIES: &str = r#"
[inspection]
internal_domains = ["corp.example"]

[[policy]]
id = 7
name = "Employee ids going out"
severity = "high"
action = "block"

[[policy.rule]]
name = "two or more ids"
conditions = [
  { regex = 'EMP-\d{6}', min = 2 },
  { direction = "outbound" },
]

[[policy]]
id = 8
name = "Falcon"
mode = "monitor"
action = "log"
keywords = ["project falcon"]
"#;

fn eml(dir: &Path, name: &str, from: &str, to: &str, subject: &str, body: &str) {
    let text = format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    );
    std::fs::write(dir.join(name), text).unwrap();
}

fn scan(args: &[&str]) -> Output {
    Command::new(binary())
        .arg("scan")
        .args(args)
        .output()
        .expect("run sluice scan")
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("policies.toml"), POLICIES).unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir_all(mail.join("nested")).unwrap();
    eml(
        &mail,
        "a-out.eml",
        "hr@corp.example",
        "x@partner.example",
        "ids",
        "EMP-123456 and EMP-654321 attached",
    );
    eml(
        &mail,
        "b-internal.eml",
        "hr@corp.example",
        "y@corp.example",
        "ids",
        "EMP-123456 and EMP-654321 attached",
    );
    eml(
        &mail.join("nested"),
        "c-falcon.eml",
        "a@corp.example",
        "b@corp.example",
        "Project\r\n Falcon",
        "nothing else",
    );
    std::fs::write(mail.join("notes.txt"), "EMP-111111 EMP-222222").unwrap();
    dir
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn json_findings_are_redacted_and_name_the_policy_and_place() {
    let dir = setup();
    let cfg = dir.path().join("policies.toml");
    let mail = dir.path().join("mail");
    let out = scan(&[
        "--config",
        cfg.to_str().unwrap(),
        "--json",
        mail.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a violation was found: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("123456"), "values are redacted: {text}");
    assert!(
        !text.contains("notes.txt"),
        "only .eml files in directories"
    );
    let out_ids: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["file"].as_str().unwrap().ends_with("a-out.eml") && l["type"] == "regex")
        .collect();
    assert_eq!(out_ids.len(), 2, "{text}");
    assert_eq!(out_ids[0]["policy"], 7);
    assert_eq!(out_ids[0]["location"], "body");
    let internal: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["file"].as_str().unwrap().ends_with("b-internal.eml") && l["type"] == "regex")
        .collect();
    assert_eq!(internal.len(), 2, "found, but no policy applies: {text}");
    assert!(internal.iter().all(|l| l["policy"].is_null()));
    let falcon: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["file"].as_str().unwrap().ends_with("c-falcon.eml") && l["kind"] == "finding")
        .collect();
    assert_eq!(falcon.len(), 1, "{text}");
    assert_eq!(
        (
            &falcon[0]["type"],
            &falcon[0]["location"],
            &falcon[0]["policy"]
        ),
        (&"keywords".into(), &"header:Subject".into(), &8.into())
    );
}

#[test]
fn show_matches_prints_values_and_text_output_has_verdicts() {
    let dir = setup();
    let cfg = dir.path().join("policies.toml");
    let file = dir.path().join("mail/a-out.eml");
    let out = scan(&[
        "--config",
        cfg.to_str().unwrap(),
        "--show-matches",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"EMP-123456\""), "{text}");
    assert!(
        text.contains("violates policy 7 \"Employee ids going out\" (severity high, action block) rules: two or more ids"),
        "{text}"
    );
}

#[test]
fn clean_mail_exits_0_and_bad_input_exits_2() {
    let dir = setup();
    let cfg = dir.path().join("policies.toml");
    let clean = dir.path().join("clean.eml");
    std::fs::write(&clean, "Subject: hello\r\n\r\nnothing to see\r\n").unwrap();
    let out = scan(&["--config", cfg.to_str().unwrap(), clean.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let missing = dir.path().join("missing.eml");
    let out = scan(&[missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.eml"));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[policy]]\nid = 1\naction = \"explode\"\n").unwrap();
    let out = scan(&["--config", bad.to_str().unwrap(), clean.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml:3:"));
    // Garbage is scanned as text, never a crash.
    let garbage = dir.path().join("garbage.eml");
    std::fs::write(&garbage, [0xffu8, 0, 0xfe, b'\n', b'-', b'-']).unwrap();
    let out = scan(&["--config", cfg.to_str().unwrap(), garbage.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn what_mail_clients_and_unzip_read_is_scanned_and_the_rest_is_a_violation() {
    let dir = setup();
    let cfg = dir.path().join("policies.toml");
    let plan: &[u8] = b"project falcon plan";
    let mut sfx = vec![0x5au8; 4096];
    sfx[0] = 0;
    sfx.extend_from_slice(&support::mime::zip_of(&[("plan.txt", plan)]));
    let files = [
        (
            "bang.eml",
            "From: <a@corp.example>\r\nSubject: s\r\nContent-Type: text/plain\r\n\
             Content-Transfer-Encoding: base64\r\n\r\ncHJvamVj!dCBmYWxjb24gcGxhbg==\r\n"
                .to_string(),
            "body",
        ),
        (
            "bz.eml",
            attached(
                "bz.zip",
                &support::mime::zip_by(zip::CompressionMethod::Bzip2, &[("plan.txt", plan)]),
            ),
            "attachment:bz.zip/plan.txt",
        ),
        (
            "sfx.eml",
            attached("sfx.zip", &sfx),
            "attachment:sfx.zip/plan.txt",
        ),
        (
            "pdf.eml",
            attached(
                "plan.pdf",
                &support::mime::pdf_with_page(
                    &["project falcon plan"],
                    "/Resources << /Font << /F1 5 0 R >> >>",
                ),
            ),
            "attachment:plan.pdf",
        ),
    ];
    for (name, text, location) in files {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let out = scan(&[
            "--config",
            cfg.to_str().unwrap(),
            "--json",
            file.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let lines = json_lines(&out);
        assert!(
            lines
                .iter()
                .any(|l| l["type"] == "keywords" && l["location"] == location && l["policy"] == 8),
            "{name}: {lines:?}"
        );
    }
    // With the shipped set, what cannot be read at all violates policy 160.
    let mut odd = support::mime::zip_by(zip::CompressionMethod::Stored, &[("plan.txt", plan)]);
    for (sig, at) in [(&b"PK\x03\x04"[..], 8), (b"PK\x01\x02", 10)] {
        let p = memchr::memmem::find(&odd, sig).unwrap() + at;
        odd[p..p + 2].copy_from_slice(&98u16.to_le_bytes());
    }
    let file = dir.path().join("odd.eml");
    std::fs::write(&file, attached("odd.zip", &odd)).unwrap();
    let set = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/policies/default.toml");
    let out = scan(&["--config", set.to_str().unwrap(), file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("violates policy 160 \"Content that cannot be inspected\""),
        "{text}"
    );
}

/// A message with one base64 attachment.
fn attached(name: &str, data: &[u8]) -> String {
    support::mime::with_attachment("files", "see attached", name, data)
}

/// A message nested `levels` deep as message/rfc822 attachments.
fn nested(levels: usize) -> String {
    let mut m =
        "From: <a@corp.example>\r\nTo: <b@partner.example>\r\nSubject: innermost\r\n\r\nhello\r\n"
            .to_string();
    for i in (1..levels).rev() {
        m = format!(
            "From: <a@corp.example>\r\nTo: <b@partner.example>\r\nSubject: level {i}\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n{m}"
        );
    }
    m
}

#[test]
fn anomalies_and_the_condition_that_held_are_printed_in_text_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let big = vec![b'0'; 20 << 20];
    let bomb = dir.path().join("bomb.eml");
    std::fs::write(
        &bomb,
        attached("bomb.zip", &support::mime::zip_of(&[("big.txt", &big)])),
    )
    .unwrap();
    let deep = dir.path().join("deep.eml");
    std::fs::write(&deep, nested(30)).unwrap();
    let set = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/policies/default.toml");
    let set = set.to_str().unwrap();
    let cases = [
        (
            &bomb,
            "compression_ratio",
            "compression ratio over 100:1",
            "bomb.zip/big.txt",
        ),
        (&deep, "depth", "nesting depth over 8", "message-1.eml/"),
    ];
    for (file, limit, description, place) in cases {
        let file = file.to_str().unwrap();
        let out = scan(&["--config", set, "--json", file]);
        assert_eq!(out.status.code(), Some(1), "{file}");
        let lines = json_lines(&out);
        assert!(
            lines.iter().any(|l| l["kind"] == "anomaly"
                && l["anomaly"] == "limit"
                && l["limit"] == limit
                && l["description"] == description
                && l["location"].as_str().unwrap().starts_with(place)),
            "{file}: {lines:?}"
        );
        let violation = lines
            .iter()
            .find(|l| l["kind"] == "violation" && l["policy"] == 160)
            .unwrap_or_else(|| panic!("{file}: policy 160 in {lines:?}"));
        assert_eq!(violation["action"], "quarantine");
        let detail = violation["detail"][0].as_str().unwrap();
        assert!(
            detail.contains("uninspectable x1 in ")
                && detail.contains(&format!("(limit: {description})")),
            "{detail}"
        );

        let out = scan(&["--config", set, file]);
        assert_eq!(out.status.code(), Some(1), "{file}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains(&format!("anomaly: limit: {description} at {place}")),
            "{text}"
        );
        assert!(text.contains(&format!("(limit: {description})")), "{text}");
        assert!(!text.contains("conditions held"), "{text}");
    }
}

#[test]
fn a_lowered_decomposition_limit_in_the_config_takes_effect() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("deep.eml");
    std::fs::write(&deep, nested(4)).unwrap();
    let deep = deep.to_str().unwrap();
    // The shipped depth (8) reads all four levels.
    let shipped = dir.path().join("shipped.toml");
    std::fs::write(&shipped, "").unwrap();
    let out = scan(&["--config", shipped.to_str().unwrap(), deep]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("anomaly: limit"), "{text}");
    // decomposition.max_depth = 2 stops inside the second nested message.
    let lowered = dir.path().join("lowered.toml");
    std::fs::write(&lowered, "[decomposition]\nmax_depth = 2\n").unwrap();
    let out = scan(&["--config", lowered.to_str().unwrap(), deep]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("anomaly: limit: nesting depth over 2 at message-1.eml/"),
        "{text}"
    );
}
