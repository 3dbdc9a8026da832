//! ArcSight CEF lines: `CEF:0|Vendor|Product|Version|Event Class ID|Name|Severity|Extension`, with
//! the header's `|` and `\` escaping, the extension's `=`, `\`, CR and LF escaping, the field
//! limits and severity 0..=10; and the mapping of Sluice's events onto it (ArcSight's own keys
//! where one fits, camelCase custom keys otherwise). Pure: an event's parts in, one line out (the
//! syslog header in front is `render`'s).

use std::borrow::Cow;

use super::render::{self, Style};
use crate::events::{Event, Field};

/// The CEF version this writes (`CEF:0`, spec 0.x).
const VERSION: &str = "CEF:0";
/// Field limits: vendor and product 63, version 31, event class id 1023, name 512 characters.
const MAX_VENDOR: usize = 63;
const MAX_VERSION: usize = 31;
const MAX_CLASS: usize = 1023;
const MAX_NAME: usize = 512;

/// The device (Sluice) and the event of one line.
#[derive(Debug, Clone)]
pub struct Line<'a> {
    pub vendor: &'a str,
    pub product: &'a str,
    pub version: &'a str,
    /// Device Event Class ID: the event's stable numeric id.
    pub class_id: &'a str,
    pub name: &'a str,
    /// 0..=10; a larger value is written as 10.
    pub severity: u8,
    /// Extension `key=value` pairs in order; keys that are not alphanumeric lose the other characters.
    pub extension: &'a [(&'a str, &'a str)],
}

/// A header field: `\` and `|` escaped, line breaks made spaces, cut to `max` characters.
fn header(value: &str, max: usize, out: &mut String) {
    for c in value.chars().take(max) {
        match c {
            '\\' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
}

/// An extension value: `\` and `=` escaped, CR and LF written as `\r` and `\n`, other control
/// characters (TAB) made spaces (a pipe needs no escaping here).
fn value(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
}

/// The whole CEF line.
pub fn line(l: &Line<'_>) -> String {
    let mut out = String::from(VERSION);
    for (field, max) in [
        (l.vendor, MAX_VENDOR),
        (l.product, MAX_VENDOR),
        (l.version, MAX_VERSION),
        (l.class_id, MAX_CLASS),
        (l.name, MAX_NAME),
    ] {
        out.push('|');
        header(field, max, &mut out);
    }
    out.push_str(&format!("|{}|", l.severity.min(10)));
    let mut first = true;
    for (k, v) in l.extension {
        let key: String = k.chars().filter(char::is_ascii_alphanumeric).collect();
        if key.is_empty() {
            continue;
        }
        if !first {
            out.push(' ');
        }
        first = false;
        out.push_str(&key);
        out.push('=');
        value(v, &mut out);
    }
    out
}

/// The extension key of `field`: ArcSight's where one fits (`src`, `spt`, `dst`, `dpt`, `dhost`,
/// `suser` the sender, `duser` the recipients, `msg`, `act`, `outcome`, `reason`, `in` the size),
/// otherwise the field's name in camelCase (`email.subject` -> `emailSubject`).
pub fn key(field: Field) -> Cow<'static, str> {
    Cow::Borrowed(match field {
        Field::SourceIp => "src",
        Field::SourcePort => "spt",
        Field::DestinationIp => "dst",
        Field::DestinationPort => "dpt",
        Field::DestinationAddress => "dhost",
        Field::EmailFromAddress => "suser",
        Field::EmailToAddress => "duser",
        Field::ErrorMessage => "msg",
        Field::PolicyAction => "act",
        Field::EventOutcome => "outcome",
        Field::EventReason => "reason",
        Field::Size => "in",
        _ => return Cow::Owned(render::camel(field.name())),
    })
}

/// The CEF line of `event`: class id the kind's id, name its summary, severity its 0-10
/// severity; extension `rt` (Unix milliseconds), `dvchost`, `cat` (the category), `externalId`
/// (the outbox sequence number), `eventAction` (the kind's name), then each field once under
/// [`key`], repeated values joined by commas.
pub(super) fn event(event: &Event, values: &[(Field, Cow<'_, str>)], style: &Style) -> String {
    let k = event.kind;
    let base = [
        ("rt", event.at.saturating_mul(1000).to_string()),
        ("dvchost", style.hostname.clone()),
        ("cat", k.category().name().to_string()),
        ("externalId", event.seq.to_string()),
        ("eventAction", k.name().to_string()),
    ];
    let fields: Vec<(Cow<'static, str>, String)> = render::grouped(values)
        .into_iter()
        .map(|(f, v)| (key(f), v))
        .collect();
    let extension: Vec<(&str, &str)> = base
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(fields.iter().map(|(k, v)| (k.as_ref(), v.as_str())))
        .collect();
    let class_id = k.id().to_string();
    line(&Line {
        vendor: render::VENDOR,
        product: render::PRODUCT,
        version: &style.version,
        class_id: &class_id,
        name: k.summary(),
        severity: k.severity(),
        extension: &extension,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base<'a>(extension: &'a [(&'a str, &'a str)]) -> Line<'a> {
        Line {
            vendor: "security",
            product: "threatmanager",
            version: "1.0",
            class_id: "100",
            name: "detected a | in packet",
            severity: 10,
            extension,
        }
    }

    #[test]
    fn the_reference_example_comes_out_exactly() {
        let ext = [
            ("src", "10.0.0.1"),
            ("act", "blocked a ="),
            ("dst", "1.1.1.1"),
        ];
        assert_eq!(
            line(&base(&ext)),
            r"CEF:0|security|threatmanager|1.0|100|detected a \| in packet|10|src=10.0.0.1 act=blocked a \= dst=1.1.1.1"
        );
    }

    #[test]
    fn extension_values_escape_backslash_equals_and_line_breaks_but_not_pipes() {
        let ext = [("msg", "a\\b=c|d\r\ne\tf"), ("suser", "Grüße")];
        let l = line(&base(&ext));
        assert!(l.ends_with(r"|10|msg=a\\b\=c|d\r\ne f suser=Grüße"), "{l}");
        assert!(!l.contains('\n') && !l.contains('\r'));
    }

    #[test]
    fn header_fields_escape_and_are_cut_and_severity_is_capped() {
        let long = "v".repeat(100);
        let l = Line {
            vendor: &long,
            product: "a\\b",
            name: "two\nlines",
            severity: 42,
            ..base(&[])
        };
        let out = line(&l);
        let fields: Vec<&str> = out.splitn(8, '|').collect();
        assert_eq!(fields[1].len(), 63);
        assert_eq!(fields[2], r"a\\b");
        assert_eq!(fields[5], "two lines");
        assert_eq!(fields[6], "10");
        assert_eq!(fields[7], "");
    }

    #[test]
    fn keys_are_alphanumeric_and_empty_ones_are_dropped() {
        let ext = [("cs1 Label", "x"), ("=", "y"), ("cn1", "3")];
        assert!(line(&base(&ext)).ends_with("|10|cs1Label=x cn1=3"));
    }
}
