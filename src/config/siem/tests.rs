//! Tests of the `[[siem]]` and `[siem_defaults]` tables: defaults, every key, and the errors of bad values.

use super::*;
use crate::config::Config;

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(text, "s.toml").map_err(|e| e.to_string())
}

fn err(text: &str) -> String {
    parse(text).expect_err("should be refused")
}

#[test]
fn no_destination_by_default() {
    assert!(Config::embedded().unwrap().siem.is_empty());
}

#[test]
fn a_destination_takes_the_documented_defaults() {
    let c = parse(
        r#"
[[siem]]
name = "splunk"
format = "rfc5424"
transport = "tls"
address = "siem.example.com:6514"
"#,
    )
    .unwrap();
    let s = &c.siem[0];
    assert_eq!(s.name, "splunk");
    assert_eq!(s.format, Format::Rfc5424);
    assert_eq!(s.transport, Transport::Tls);
    assert_eq!(s.address.to_string(), "siem.example.com:6514");
    assert_eq!(s.server_name, "siem.example.com");
    assert_eq!(s.ca_file, None);
    assert_eq!(s.client_cert, None);
    assert_eq!(s.min_severity, 0);
    assert_eq!(s.categories, Category::ALL.to_vec());
    assert_eq!(s.subject, SubjectMode::Clear);
    assert_eq!(s.facility, 16);
    assert_eq!(s.udp_max, 2048);
    assert_eq!(s.start, Start::End);
    assert_eq!(s.backoff_min, Duration::from_secs(1));
    assert_eq!(s.backoff_max, Duration::from_secs(60));
    assert_eq!(s.batch, 100);
}

#[test]
fn own_keys_then_the_users_defaults_then_the_embedded_ones() {
    let c = parse(
        r#"
[siem_defaults]
min_severity = 3
facility = 4

[[siem]]
name = "a"
format = "cef"
transport = "udp"
address = "[::1]:514"
min_severity = 7
categories = ["policy", "system", "policy"]
subject = "hash"
start = "oldest"

[[siem]]
name = "b"
format = "json"
transport = "local"
facility = "mail"
"#,
    )
    .unwrap();
    let (a, b) = (&c.siem[0], &c.siem[1]);
    assert_eq!(a.min_severity, 7);
    assert_eq!(a.facility, 4);
    assert_eq!(a.categories, vec![Category::Policy, Category::System]);
    assert_eq!(a.subject, SubjectMode::Hash);
    assert_eq!(a.start, Start::Oldest);
    assert_eq!(a.address.to_string(), "[::1]:514");
    assert_eq!(b.min_severity, 3);
    assert_eq!(b.facility, 2);
    assert_eq!(b.address, Address::Path("/dev/log".into()));
    assert_eq!(b.transport, Transport::Local);
}

#[test]
fn mistakes_are_refused_with_their_place() {
    let base = "[[siem]]\nname = \"x\"\nformat = \"rfc5424\"\ntransport = \"tcp\"\naddress = \"h.example:514\"\n";
    assert!(parse(base).is_ok());
    let cases: &[(&str, &str)] = &[
        ("[[siem]]\nformat = \"cef\"\n", "needs a `name`"),
        (
            &base.replace("rfc5424", "syslog"),
            "unknown format \"syslog\"",
        ),
        (
            &base.replace("\"tcp\"", "\"sctp\""),
            "unknown value \"sctp\"",
        ),
        (
            &base.replace("h.example:514", "h.example"),
            "not an address",
        ),
        (
            &base.replace("h.example:514", "h.example:0"),
            "not an address",
        ),
        (
            &base.replace("name = \"x\"", "name = \"a b\""),
            "destination name",
        ),
        (
            &format!("{base}ca_file = \"/ca.pem\"\n"),
            "ca_file applies only to transport = \"tls\"",
        ),
        (&format!("{base}min_severity = 11\n"), "out of range"),
        (&format!("{base}categories = []\n"), "categories is empty"),
        (
            &format!("{base}categories = [\"mail\"]\n"),
            "unknown category \"mail\"",
        ),
        (
            &format!("{base}subject = \"scramble\"\n"),
            "unknown subject mode",
        ),
        (
            &format!("{base}facility = 24\n"),
            "facility 24 is out of range",
        ),
        (
            &format!("{base}facility = \"local9\"\n"),
            "unknown facility",
        ),
        (&format!("{base}udp_max = 100\n"), "out of range"),
        (
            &format!("{base}leef_version = \"3.0\"\n"),
            "unknown LEEF version",
        ),
        (&format!("{base}start = \"now\"\n"), "unknown value \"now\""),
        (
            &format!("{base}backoff_min = \"2m\"\n"),
            "backoff_min must not be longer",
        ),
        (
            &format!("{base}backoff_max = \"10ms\"\n"),
            "backoff_max must not be shorter",
        ),
        (&format!("{base}port = 1\n"), "unknown field `port`"),
        (&format!("{base}{base}"), "\"x\" is used twice"),
        (
            "[[siem]]\nname = \"l\"\nformat = \"json\"\ntransport = \"local\"\naddress = \"dev/log\"\n",
            "absolute socket path",
        ),
        (
            "[[siem]]\nname = \"t\"\nformat = \"json\"\ntransport = \"tls\"\naddress = \"h.example:6514\"\nclient_cert = \"/c.pem\"\n",
            "client_key is not",
        ),
        (
            "[[siem]]\nname = \"t\"\nformat = \"json\"\ntransport = \"tcp\"\n",
            "needs an `address`",
        ),
    ];
    for (text, want) in cases {
        let e = err(text);
        assert!(e.contains(want), "{text}\n=> {e}");
        assert!(e.starts_with("s.toml:"), "{e}");
    }
}
