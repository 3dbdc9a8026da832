//! Golden lines of every format, their escaping corner cases, the subject modes and the UDP cut.

use super::*;
use crate::events::Fields;

/// The subject with every corner the formats escape: `]`, `"`, `\`, `=`, `|`, `^`, a line break.
const NASTY: &str = "a]b \"c\" d\\e=f|g^h\ni";

fn style(format: Format) -> Style {
    Style {
        format,
        hostname: "gw.example.com".into(),
        version: "2.1".into(),
        facility: 16,
        subject: SubjectMode::Clear,
        subject_key: [7; 32],
        leef: LeefVersion::V2,
    }
}

fn event(subject: &str) -> Event {
    Event {
        seq: 9,
        at: 1_065_910_455,
        kind: Kind::MessageBlocked,
        fields: Fields::new()
            .with(Field::SourceIp, "192.0.2.1")
            .with(Field::EmailFromAddress, "a@example.com")
            .with_each(Field::EmailToAddress, ["b@example.net", "c@example.net"])
            .with(Field::EmailSubject, subject)
            .with(Field::Size, 1234)
            .into_vec(),
    }
}

fn check(format: Format, subject: &str, want: &str) {
    assert_eq!(render(&event(subject), &style(format)), want);
}

#[test]
fn rfc5424_puts_every_field_in_one_sd_element_escaped_and_the_summary_in_msg() {
    check(
        Format::Rfc5424,
        NASTY,
        "<131>1 2003-10-11T22:14:15.000Z gw.example.com sluice - 202 [sluice@32473 \
         event.action=\"message.blocked\" event.dataset=\"sluice.message\" event.severity=\"6\" \
         event.sequence=\"9\" source.ip=\"192.0.2.1\" email.from.address=\"a@example.com\" \
         email.to.address=\"b@example.net\" email.to.address=\"c@example.net\" \
         email.subject=\"a\\]b \\\"c\\\" d\\\\e=f|g^h i\" sluice.message.size=\"1234\"] Message blocked",
    );
}

#[test]
fn rfc3164_writes_key_values_quoting_what_needs_it() {
    check(
        Format::Rfc3164,
        NASTY,
        "<131>Oct 11 22:14:15 gw.example.com sluice: event.code=202 event.action=message.blocked \
         event.dataset=sluice.message event.severity=6 event.sequence=9 source.ip=192.0.2.1 \
         email.from.address=a@example.com email.to.address=b@example.net \
         email.to.address=c@example.net email.subject=\"a]b \\\"c\\\" d\\\\e=f|g^h\\ni\" \
         sluice.message.size=1234",
    );
}

#[test]
fn cef_has_a_syslog_header_standard_keys_and_its_escaping() {
    check(
        Format::Cef,
        NASTY,
        "<131>1 2003-10-11T22:14:15.000Z gw.example.com sluice - 202 - \
         CEF:0|Sluice|Sluice|2.1|202|Message blocked|6|rt=1065910455000 dvchost=gw.example.com \
         cat=message externalId=9 eventAction=message.blocked src=192.0.2.1 suser=a@example.com \
         duser=b@example.net,c@example.net emailSubject=a]b \"c\" d\\\\e\\=f|g^h\\ni in=1234",
    );
    let piped = Style {
        version: "2|1\\x".into(),
        ..style(Format::Cef)
    };
    let line = render(&event("s"), &piped);
    assert!(
        line.contains("CEF:0|Sluice|Sluice|2\\|1\\\\x|202|"),
        "{line}"
    );
}

#[test]
fn leef_2_uses_the_caret_and_replaces_it_in_values_and_leef_1_uses_tab() {
    check(
        Format::Leef,
        NASTY,
        "<131>1 2003-10-11T22:14:15.000Z gw.example.com sluice - 202 - \
         LEEF:2.0|Sluice|Sluice|2.1|202|^|cat=message^devTime=2003-10-11T22:14:15.000Z\
         ^devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSX^sev=6^eventAction=message.blocked\
         ^eventSequence=9^src=192.0.2.1^emailFromAddress=a@example.com\
         ^emailToAddress=b@example.net,c@example.net^emailSubject=a]b \"c\" d\\e=f|g h i\
         ^srcBytes=1234",
    );
    let v1 = Style {
        leef: LeefVersion::V1,
        ..style(Format::Leef)
    };
    let line = render(&event("x\ty^z"), &v1);
    assert!(
        line.contains(" - LEEF:1.0|Sluice|Sluice|2.1|202|cat=message\tdevTime="),
        "{line}"
    );
    assert!(
        line.contains("\temailSubject=x y^z\tsrcBytes=1234"),
        "{line}"
    );
}

#[test]
fn json_is_nested_ecs_with_arrays_and_numbers_after_a_syslog_header() {
    let line = render(&event(NASTY), &style(Format::Json));
    let (head, json) = line.split_at(line.find('{').unwrap());
    assert_eq!(
        head,
        "<131>1 2003-10-11T22:14:15.000Z gw.example.com sluice - 202 - "
    );
    assert_eq!(
        json,
        r#"{"@timestamp":"2003-10-11T22:14:15.000Z","email":{"from":{"address":"a@example.com"},"subject":"a]b \"c\" d\\e=f|g^h\ni","to":{"address":["b@example.net","c@example.net"]}},"event":{"action":"message.blocked","category":["email"],"code":"202","dataset":"sluice.message","kind":"event","module":"sluice","sequence":9,"severity":6,"type":["denied"]},"message":"Message blocked","observer":{"hostname":"gw.example.com","product":"Sluice","vendor":"Sluice","version":"2.1"},"sluice":{"message":{"size":1234}},"source":{"ip":"192.0.2.1"}}"#
    );
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(v["email"]["subject"], NASTY);
    assert_eq!(v["sluice"]["message"]["size"], 1234);
}

#[test]
fn a_non_ascii_subject_gets_a_bom_where_it_is_in_msg_and_json_escapes_it() {
    let subject = "Grüße aus Köln";
    let sd = render(&event(subject), &style(Format::Rfc5424));
    assert!(sd.contains("email.subject=\"Grüße aus Köln\""), "{sd}");
    assert!(!sd.contains('\u{feff}'), "MSG (the summary) is ASCII: {sd}");
    for format in [Format::Cef, Format::Leef] {
        let line = render(&event(subject), &style(format));
        assert!(line.contains(" - 202 - \u{feff}"), "{line}");
        assert!(line.contains("Grüße aus Köln"), "{line}");
    }
    let json = render(&event(subject), &style(Format::Json));
    assert!(
        json.is_ascii() && json.contains(r"Gr\u00fc\u00dfe aus K\u00f6ln"),
        "{json}"
    );
    let bsd = render(&event(subject), &style(Format::Rfc3164));
    assert!(bsd.contains("email.subject=\"Grüße aus Köln\""), "{bsd}");
}

#[test]
fn subject_modes_apply_in_every_format() {
    let hash = "hmac-sha256:613c93d45bfec8d2b47e9d19080cb42b";
    for format in Format::ALL {
        let with = |mode| {
            let s = Style {
                subject: mode,
                ..style(format)
            };
            render(&event("Grüße"), &s)
        };
        let (masked, hashed, omitted) = (
            with(SubjectMode::Mask),
            with(SubjectMode::Hash),
            with(SubjectMode::Omit),
        );
        for line in [&masked, &hashed, &omitted] {
            assert!(
                !line.contains("Grüße") && !line.contains("Gr\\u00fc"),
                "{line}"
            );
        }
        assert!(
            masked.contains("[masked]") || masked.contains("[masked\\]"),
            "{masked}"
        );
        assert!(hashed.contains(hash), "{hashed}");
        assert!(!omitted.contains("ubject"), "{omitted}");
        assert!(with(SubjectMode::Clear).contains("ubject"));
    }
}

#[test]
fn the_subject_hash_is_keyed() {
    let a = subject("x", SubjectMode::Hash, &[1; 32]).unwrap();
    let b = subject("x", SubjectMode::Hash, &[2; 32]).unwrap();
    assert_ne!(a, b);
    assert_eq!(a.len(), HASH_PREFIX.len() + 32);
    assert_eq!(subject("x", SubjectMode::Omit, &[1; 32]), None);
}

#[test]
fn a_short_message_is_one_datagram_unchanged() {
    assert_eq!(
        udp_datagram("<14>1 - - - - - -", 2048),
        b"<14>1 - - - - - -"
    );
    assert_eq!(udp_datagram("abc", 3), b"abc");
}

#[test]
fn a_5_kb_rfc5424_event_is_cut_inside_its_value_and_stays_well_formed() {
    let big = event(&"é".repeat(2500));
    let line = render(&big, &style(Format::Rfc5424));
    assert!(line.len() > 5000);
    for cap in [480, 1024, 2048, 2049, 2050] {
        let d = udp_datagram(&line, cap);
        assert!(d.len() <= cap, "{cap}: {}", d.len());
        let d = String::from_utf8(d).expect("cut on a character boundary");
        assert!(d.ends_with("é...\"]"), "{cap}: {d}");
        assert!(line.starts_with(&d[..d.len() - 5]));
    }
}

#[test]
fn a_cut_between_params_or_in_the_sd_id_closes_the_element() {
    let msg = "<14>1 - h a - 7 [x@32473 aa=\"1\" bb=\"2\"][y@32473 c=\"3\"] a longer text";
    let at = |prefix: &str| {
        let d = udp_datagram(msg, prefix.len() + 5);
        String::from_utf8(d).unwrap()
    };
    assert_eq!(
        at("<14>1 - h a - 7 [x@32473 aa=\"1\" b"),
        "<14>1 - h a - 7 [x@32473 aa=\"1\"] ..."
    );
    assert_eq!(at("<14>1 - h a - 7 [x@3"), "<14>1 - h a - 7 - ...");
    assert_eq!(
        at("<14>1 - h a - 7 [x@32473 aa=\"1\" bb=\"2\"][y@"),
        "<14>1 - h a - 7 [x@32473 aa=\"1\" bb=\"2\"] ..."
    );
    assert_eq!(
        at("<14>1 - h a - 7 [x@32473 aa=\"1\" bb=\"2\"][y@32473 c=\"3\"] a l"),
        "<14>1 - h a - 7 [x@32473 aa=\"1\" bb=\"2\"][y@32473 c=\"3\"] a lon..."
    );
}

#[test]
fn an_escape_is_never_cut_in_half() {
    let msg = "<14>1 - h a - 7 [x@32473 v=\"ab\\\\cdefgh\"]";
    let cut = String::from_utf8(udp_datagram(msg, 36)).unwrap();
    assert_eq!(cut, "<14>1 - h a - 7 [x@32473 v=\"ab...\"]");
    let cef = "CEF:0|V|P|1|2|N|3|msg=a\\=b\\=c";
    let cut = String::from_utf8(udp_datagram(cef, 27)).unwrap();
    assert_eq!(cut, "CEF:0|V|P|1|2|N|3|msg=a...");
}

#[test]
fn a_5_kb_event_in_the_other_formats_is_cut_and_marked() {
    let big = event(&"é".repeat(2500));
    for format in [Format::Cef, Format::Leef, Format::Json] {
        let line = render(&big, &style(format));
        let d = String::from_utf8(udp_datagram(&line, 2048)).unwrap();
        assert!(d.len() <= 2048 && d.ends_with("..."), "{format:?}: {d}");
        assert!(line.starts_with(&d[..d.len() - 3]));
    }
    let bsd = render(&big, &style(Format::Rfc3164));
    assert!(bsd.len() <= syslog::RFC3164_MAX && bsd.ends_with("..."));
}

#[test]
fn custom_keys_are_camel_case_and_names_round_trip() {
    assert_eq!(camel("sluice.held.id"), "sluiceHeldId");
    assert_eq!(camel("email.message_id"), "emailMessageId");
    for f in Format::ALL {
        assert_eq!(Format::from_name(f.name()), Some(f));
    }
    for m in SubjectMode::ALL {
        assert_eq!(SubjectMode::from_name(m.name()), Some(m));
    }
    assert_eq!(LeefVersion::from_name("1.0"), Some(LeefVersion::V1));
    assert_eq!(LeefVersion::default(), LeefVersion::V2);
}

#[test]
fn cef_and_leef_keys_are_unique_per_line() {
    use std::collections::HashSet;
    let mut cef_keys = HashSet::new();
    let mut leef_keys = HashSet::new();
    for base in ["rt", "dvchost", "cat", "externalId", "eventAction"] {
        cef_keys.insert(base.to_string());
    }
    for base in [
        "cat",
        "devTime",
        "devTimeFormat",
        "sev",
        "eventAction",
        "eventSequence",
    ] {
        leef_keys.insert(base.to_string());
    }
    for &f in Field::ALL {
        assert!(cef_keys.insert(cef::key(f).into_owned()), "{f:?}");
        assert!(leef_keys.insert(leef::key(f).into_owned()), "{f:?}");
        assert!(f.name().len() <= 32, "PARAM-NAME too long: {f:?}");
    }
}
