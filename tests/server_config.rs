//! The store commands judge with the server's configuration: `sluice serve` records which config
//! it loaded in `<data_dir>/server-config`, and `sluice quarantine rescan` without `--config` on
//! that data dir uses it; another `--config`, or the recorded file changed since, is an error.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::client::Client;
use support::sink::Sink;
use support::sluice::{Sluice, binary, forward_config};

const POLICIES: &str = r#"
[[policy]]
id = 300
name = "Project Falcon"
severity = "high"
action = "quarantine"
keywords = ["falcon"]
"#;

fn cli(data: &Path, args: &[&str]) -> (i32, String, String) {
    let o: Output = Command::new(binary())
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("USER", "tester")
        .output()
        .expect("run sluice");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn rescan_without_config_uses_the_servers_policies_and_a_mismatch_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let sink = Sink::start_default();
    let mut sluice = Sluice::start_with_data(&forward_config(&[sink.addr], POLICIES), &data);
    let mut c = Client::connect(sluice.addr);
    c.ehlo();
    let r = c.send(
        "a@corp.example",
        &["b@partner.example"],
        "From: <a@corp.example>\r\nTo: <b@partner.example>\r\nSubject: plans\r\n\r\nproject falcon starts monday\r\n",
    );
    c.quit();
    assert_eq!(r.code, 250, "{r:?}");
    sluice.terminate();
    let recorded = std::fs::read_to_string(data.join("server-config")).unwrap();
    assert!(
        recorded.contains(sluice.config_path.to_str().unwrap()) && recorded.contains("blake3"),
        "{recorded}"
    );

    let (code, out, err) = cli(&data, &["quarantine", "list", "--json"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let held: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    let (id, inc) = (
        held["id"].as_u64().unwrap().to_string(),
        held["incidents"][0].as_u64().unwrap().to_string(),
    );

    // No --config: the server's policies judge.
    let (code, out, err) = cli(&data, &["quarantine", "rescan", &id]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("still violates 300"), "{out}\n{err}");
    let (_, out, _) = cli(&data, &["incident", "show", &inc]);
    assert!(out.contains("still violates 300"), "{out}");
    assert!(!out.contains("no policy violated now"), "{out}");

    // Another configuration is refused, and nothing is written.
    let other = tmp.path().join("other.toml");
    std::fs::write(&other, "").unwrap();
    let (code, out, err) = cli(
        &data,
        &[
            "quarantine",
            "rescan",
            &id,
            "--config",
            other.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("not the configuration the server") && err.contains("leave out --config"),
        "{err}"
    );
    // The same file named by --config is fine.
    let (code, out, err) = cli(
        &data,
        &[
            "quarantine",
            "rescan",
            &id,
            "--config",
            sluice.config_path.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{out}\n{err}");

    // The recorded file changed since the server started: an error, never a silent default.
    let mut text = std::fs::read_to_string(&sluice.config_path).unwrap();
    text.push_str("\n# edited\n");
    std::fs::write(&sluice.config_path, text).unwrap();
    let (code, out, err) = cli(&data, &["quarantine", "rescan", &id]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(
        err.contains("changed since the server") && err.contains("restart"),
        "{err}"
    );
    let (code, out, err) = cli(&data, &["quarantine", "delete", &id]);
    assert_eq!(code, 2, "acting is refused too: {out}\n{err}");
    // Reading goes on, with a warning (it judges nothing).
    let (code, out, err) = cli(&data, &["incident", "show", &inc]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("changed since the server"), "{err}");
    assert!(!out.contains("no policy violated now"), "{out}");
    assert!(out.contains("(held)"), "not deleted: {out}");
}
