//! Every value that reaches the wire is refused at load when it could break a line (issue 9,
//! item 7): host names per RFC 5321, header names and values, addresses, reply texts.

use super::err;
use crate::config::Config;

/// `text` is refused with an error at `at` (`file:line:col`) that mentions `word`.
fn refused(text: &str, at: &str, word: &str) {
    let e = err(text);
    assert!(e.starts_with(at) && e.contains(word), "{text:?}: {e}");
}

#[test]
fn host_names_with_line_breaks_or_off_grammar_are_refused_where_written() {
    for bad in [
        "mx.example\\r\\nMAIL FROM:<x@y>",
        "mx.example\\n",
        "mx\\u0000.example",
        "mx example",
        "mx_1.example",
        "192.0.2.1",
    ] {
        let text = format!("[server]\nhostname = \"{bad}\"\n");
        refused(&text, "test.toml:2:12:", "");
        let text = format!("[relay]\nhelo_name = \"{bad}\"\n");
        refused(&text, "test.toml:2:13:", "");
    }
    // A 100 KB name is refused with a short error (the value is not repeated).
    let huge = "a".repeat(100_000);
    let e = err(&format!("[server]\nhostname = \"{huge}\"\n"));
    assert!(e.starts_with("test.toml:2:12:") && e.contains("255"), "{e}");
    assert!(e.len() < 300, "{} bytes of error", e.len());
    // Labels of at most 63, address literals are fine.
    let ok = Config::parse(
        "[server]\nhostname = \"[192.0.2.1]\"\n[relay]\nhelo_name = \"out.corp.example\"\n",
        "ok.toml",
    )
    .unwrap();
    assert_eq!(ok.server.hostname.as_str(), "[192.0.2.1]");
    assert_eq!(ok.relay.helo_name.as_str(), "out.corp.example");
    let long_label = format!("[server]\nhostname = \"{}.example\"\n", "a".repeat(64));
    refused(&long_label, "test.toml:2:12:", "63");
}

#[test]
fn a_bad_hostname_is_reported_in_the_users_file_not_the_defaults() {
    // Before: `<embedded defaults>:177:8` (notifications.from = "postmaster" + "@" + hostname).
    let e = err("[server]\nhostname = \"bad host\"\n");
    assert!(e.starts_with("test.toml:2:12:"), "{e}");
    // A valid but very long host name that makes the derived From address too long is reported
    // at server.hostname too.
    let long = vec!["a".repeat(62); 4].join(".");
    let e = err(&format!("[server]\nhostname = \"{long}\"\n"));
    assert!(
        e.starts_with("test.toml:2:12:") && e.contains("notifications.from"),
        "{e}"
    );
}

#[test]
fn header_names_and_values_must_be_one_clean_line() {
    for (text, at) in [
        (
            "[relay.pass_header]\nname = \"X-A\\r\\nBcc\"\n",
            "test.toml:2:8:",
        ),
        (
            "[relay.pass_header]\nvalue = \"ok\\r\\nBcc: victim@example.com\"\n",
            "test.toml:2:9:",
        ),
        (
            "[relay.pass_header]\nvalue = \"ok\\u0000\"\n",
            "test.toml:2:9:",
        ),
        (
            "[inspection]\nfailure_header = \"X-F: a\\r\\nBcc: x@y\"\n",
            "test.toml:2:18:",
        ),
        (
            "[inspection]\nfailure_header = \"X-F: a\\u0000\"\n",
            "test.toml:2:18:",
        ),
    ] {
        refused(text, at, "");
    }
    let policy = |extra: &str| {
        format!("[[policy]]\nid = 1\nkeywords = [\"secret\"]\naction = \"modify\"\n{extra}\n")
    };
    refused(
        &policy("headers = [\"X-Tag: a\\r\\nBcc: x@y\"]"),
        "test.toml:5:",
        "one line",
    );
    refused(
        &policy("headers = [\"X-Tag: a\\u0000b\"]"),
        "test.toml:5:",
        "one line",
    );
    refused(
        &policy("subject = { mode = \"prepend\", text = \"[x]\\u0000\" }"),
        "test.toml:5:",
        "one line",
    );
}

#[test]
fn addresses_and_reply_texts_must_be_one_clean_line() {
    refused(
        "[notifications]\nfrom = \"dlp@corp.example\\r\\nRCPT TO:<x@y>\"\n",
        "test.toml:2:8:",
        "mail address",
    );
    refused(
        "[notifications]\nadmin = [\"sec@corp.example\\u0000\"]\n",
        "test.toml:2:10:",
        "mail address",
    );
    refused(
        "[[policy]]\nid = 1\nkeywords = [\"x\"]\naction = \"block\"\nreply = \"no\\r\\n250 ok\"\n",
        "test.toml:5:9:",
        "reply text",
    );
}
