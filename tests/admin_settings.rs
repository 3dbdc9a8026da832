//! The SIEM destinations of the settings pages against the real binary: a destination added from
//! `/settings/siem` is written to the configuration file, applied by a reload (its test event
//! reaches a UDP receiver), listed in the version history and the audit log; changed in place;
//! refused with the loader's reason and nothing written when invalid; removed.

mod support;

use std::net::UdpSocket;
use std::time::Duration;

use support::admin::{add_user, csrf_of, form, get, log_in, post};
use support::sluice::{Sluice, config};

const WAIT: Duration = Duration::from_secs(10);
const PW: &str = "root's very long password";

/// The hidden `digest` field of a settings page (the file it was rendered from).
fn digest_of(page: &str) -> String {
    page.split("name=\"digest\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a digest field")
        .to_string()
}

#[test]
fn siem_destinations_are_added_changed_refused_and_removed_from_the_ui() {
    let s = Sluice::start(&config(
        "",
        "mode = \"forward\"\nhosts = [\"127.0.0.1:9\"]",
        "# my own comment\n[admin]\naddress = \"127.0.0.1:0\"\npublic_url = \"https://localhost\"\n",
    ));
    assert!(s.wait_log("admin UI serving", WAIT));
    add_user(&s, "root", "administrator", PW);
    let root = log_in(&s, "root", PW);
    let receiver = UdpSocket::bind("127.0.0.1:0").unwrap();
    receiver.set_read_timeout(Some(WAIT)).unwrap();
    let address = receiver.local_addr().unwrap().to_string();
    let page = get(&s, "/settings/siem", &root);
    assert_eq!(page.status, 200);
    assert!(page.body.contains("None configured."));
    let csrf = csrf_of(&page.body);
    let save = |digest: &str, fields: &[(&str, &str)]| {
        let mut all = vec![("csrf", csrf.as_str()), ("digest", digest)];
        all.extend_from_slice(fields);
        post(&s, "/settings/siem/save", &form(&all), &root)
    };
    let file = || std::fs::read_to_string(&s.config_path).unwrap();
    // Added: in the file (the file's comment kept), applied, listed.
    let added = save(
        &digest_of(&page.body),
        &[
            ("name", "probe"),
            ("format", "rfc5424"),
            ("transport", "udp"),
            ("address", &address),
            ("categories", "admin, config, system"),
            ("min_severity", "0"),
        ],
    );
    assert_eq!(added.status, 200, "{}", added.body);
    assert!(added.body.contains("Saved as version"), "{}", added.body);
    let text = file();
    assert!(text.contains("# my own comment"));
    assert!(
        text.contains("[[siem]]") && text.contains("name = \"probe\""),
        "{text}"
    );
    assert!(
        text.contains("categories = [\"admin\", \"config\", \"system\"]"),
        "{text}"
    );
    let test = post(
        &s,
        "/settings/siem-test",
        &form(&[("csrf", &csrf), ("name", "probe")]),
        &root,
    );
    assert!(
        test.body.contains("The test event was sent."),
        "{}",
        test.body
    );
    let mut buf = [0u8; 4096];
    let (n, _) = receiver
        .recv_from(&mut buf)
        .expect("a datagram at the receiver");
    assert!(n > 0);
    // Changed in place.
    let changed = save(
        &digest_of(&added.body),
        &[
            ("original", "probe"),
            ("name", "probe"),
            ("format", "cef"),
            ("transport", "udp"),
            ("address", &address),
        ],
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    let text = file();
    assert!(
        text.contains("format = \"cef\"") && !text.contains("categories"),
        "{text}"
    );
    // Invalid: refused with the reason, nothing written.
    let refused = save(
        &digest_of(&changed.body),
        &[
            ("original", "probe"),
            ("name", "probe"),
            ("format", "xml"),
            ("transport", "udp"),
            ("address", &address),
        ],
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("unknown format"), "{}", refused.body);
    assert!(
        refused.body.contains("value=\"xml\""),
        "the form keeps what was typed"
    );
    assert_eq!(file(), text);
    let no_name = save(&digest_of(&changed.body), &[("format", "cef")]);
    assert_eq!(no_name.status, 400);
    assert!(no_name.body.contains("needs a name"));
    assert_eq!(file(), text);
    // Removed.
    let removed = post(
        &s,
        "/settings/siem/remove",
        &form(&[
            ("csrf", &csrf),
            ("digest", &digest_of(&refused.body)),
            ("name", "probe"),
        ]),
        &root,
    );
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert!(removed.body.contains("None configured."));
    assert!(!file().contains("[[siem]]"));
    // The history and the audit log show each change.
    let history = get(&s, "/config/history", &root);
    for what in ["added", "changed", "removed"] {
        let line = format!("SIEM destination &quot;probe&quot; {what}");
        assert!(history.body.contains(&line), "{line} not in the history");
    }
    let audit = get(&s, "/audit", &root);
    assert!(audit.body.contains("config.update"));
    assert!(
        audit.body.contains("name = &quot;probe&quot;"),
        "before/after lines"
    );
}
