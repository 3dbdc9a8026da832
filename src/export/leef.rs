//! IBM QRadar LEEF lines: `LEEF:2.0|Vendor|Product|Version|EventID|^|key=value^key=value` (or
//! LEEF 1.0, TAB-separated, no delimiter field), and the mapping of Sluice's events onto it: the
//! predefined attributes where one fits (`cat`, `devTime` with `devTimeFormat`, `sev`, `src`,
//! `srcPort`, `dst`, `dstPort`, `usrName`, `srcBytes`), camelCase custom keys otherwise. Pure.
//!
//! LEEF has no escape character (IBM's guide only says to keep tab, pipe and caret out of keys
//! and values, and that a key may appear once per event). So: keys are alphanumeric; in a value
//! the attribute delimiter and every control character become a space, in a header field the pipe
//! does; `=` needs nothing (a parser splits an attribute at its first `=`); repeated values are
//! joined by commas under one key.

use std::borrow::Cow;

use super::render::{self, LeefVersion, Style};
use crate::events::{Event, Field};

/// The attribute delimiter of LEEF 2.0 lines: the caret of IBM's examples. A TAB (LEEF 1.0's) is
/// what rsyslog rewrites as `#011` by default; a caret survives every relay.
pub const DELIMITER: char = '^';
/// `devTimeFormat`: the Java date pattern of `devTime` (RFC 3339 UTC with milliseconds).
pub const DEV_TIME_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSX";

/// The device (Sluice) and the event of one line.
#[derive(Debug, Clone)]
pub struct Line<'a> {
    pub version: LeefVersion,
    pub vendor: &'a str,
    pub product: &'a str,
    pub product_version: &'a str,
    pub event_id: &'a str,
    /// Attributes in order; keys lose every character that is not alphanumeric.
    pub attributes: &'a [(&'a str, &'a str)],
}

impl LeefVersion {
    /// The character between attributes.
    pub fn delimiter(self) -> char {
        match self {
            LeefVersion::V1 => '\t',
            LeefVersion::V2 => DELIMITER,
        }
    }
}

/// A header field: the pipe and control characters made spaces.
fn header(value: &str, out: &mut String) {
    out.extend(
        value
            .chars()
            .map(|c| if c == '|' || c.is_control() { ' ' } else { c }),
    );
    out.push('|');
}

/// An attribute value: the delimiter and control characters made spaces.
fn value(v: &str, delimiter: char, out: &mut String) {
    out.extend(v.chars().map(|c| {
        if c == delimiter || c.is_control() {
            ' '
        } else {
            c
        }
    }));
}

/// The whole LEEF line.
pub fn line(l: &Line<'_>) -> String {
    let mut out = format!("LEEF:{}|", l.version.name());
    for field in [l.vendor, l.product, l.product_version, l.event_id] {
        header(field, &mut out);
    }
    let delimiter = l.version.delimiter();
    if l.version == LeefVersion::V2 {
        out.push(delimiter);
        out.push('|');
    }
    let mut first = true;
    for (k, v) in l.attributes {
        let key: String = k.chars().filter(char::is_ascii_alphanumeric).collect();
        if key.is_empty() {
            continue;
        }
        if !first {
            out.push(delimiter);
        }
        first = false;
        out.push_str(&key);
        out.push('=');
        value(v, delimiter, &mut out);
    }
    out
}

/// The attribute key of `field`: LEEF's predefined one where it fits (`src`, `srcPort`, `dst`,
/// `dstPort`, `usrName`, `srcBytes` the message size), otherwise the field's name in camelCase
/// (`email.from.address` -> `emailFromAddress`), which no predefined key equals.
pub fn key(field: Field) -> Cow<'static, str> {
    Cow::Borrowed(match field {
        Field::SourceIp => "src",
        Field::SourcePort => "srcPort",
        Field::DestinationIp => "dst",
        Field::DestinationPort => "dstPort",
        Field::UserName => "usrName",
        Field::Size => "srcBytes",
        _ => return Cow::Owned(render::camel(field.name())),
    })
}

/// The LEEF line of `event`: EventID the kind's id; attributes `cat` (the category), `devTime` and
/// `devTimeFormat`, `sev` (the kind's severity, 1-10), `eventAction` (the kind's name),
/// `eventSequence` (the outbox sequence number), then each field once under [`key`].
pub(super) fn event(event: &Event, values: &[(Field, Cow<'_, str>)], style: &Style) -> String {
    let k = event.kind;
    let base = [
        ("cat", k.category().name().to_string()),
        (
            "devTime",
            crate::units::time::format_millis(event.at.saturating_mul(1000)),
        ),
        ("devTimeFormat", DEV_TIME_FORMAT.to_string()),
        ("sev", k.severity().clamp(1, 10).to_string()),
        ("eventAction", k.name().to_string()),
        ("eventSequence", event.seq.to_string()),
    ];
    let fields: Vec<(Cow<'static, str>, String)> = render::grouped(values)
        .into_iter()
        .map(|(f, v)| (key(f), v))
        .collect();
    let attributes: Vec<(&str, &str)> = base
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(fields.iter().map(|(k, v)| (k.as_ref(), v.as_str())))
        .collect();
    let id = k.id().to_string();
    line(&Line {
        version: style.leef,
        vendor: render::VENDOR,
        product: render::PRODUCT,
        product_version: &style.version,
        event_id: &id,
        attributes: &attributes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base<'a>(version: LeefVersion, attributes: &'a [(&'a str, &'a str)]) -> Line<'a> {
        Line {
            version,
            vendor: "Lancope",
            product: "StealthWatch",
            product_version: "1.0",
            event_id: "41",
            attributes,
        }
    }

    #[test]
    fn the_reference_examples_come_out_exactly() {
        let attrs = [
            ("src", "10.0.1.8"),
            ("dst", "10.0.0.5"),
            ("sev", "5"),
            ("srcPort", "81"),
            ("dstPort", "21"),
        ];
        assert_eq!(
            line(&base(LeefVersion::V2, &attrs)),
            "LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5^srcPort=81^dstPort=21"
        );
        let attrs = [("src", "10.50.1.1"), ("dst", "2.10.20.20"), ("spt", "1200")];
        let l = Line {
            vendor: "Microsoft",
            product: "MSExchange",
            product_version: "4.0 SP1",
            event_id: "15345",
            ..base(LeefVersion::V1, &attrs)
        };
        assert_eq!(
            line(&l),
            "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=10.50.1.1\tdst=2.10.20.20\tspt=1200"
        );
    }

    #[test]
    fn the_delimiter_and_control_characters_in_a_value_become_spaces_and_equals_stays() {
        let attrs = [("emailSubject", "a^b=c\td\r\ne|f"), ("n", "1")];
        assert!(line(&base(LeefVersion::V2, &attrs)).ends_with("|^|emailSubject=a b=c d  e|f^n=1"));
        let v1 = line(&base(LeefVersion::V1, &attrs));
        assert!(v1.ends_with("|emailSubject=a^b=c d  e|f\tn=1"), "{v1:?}");
    }

    #[test]
    fn header_pipes_become_spaces_and_keys_are_alphanumeric() {
        let attrs = [("bad key=", "x"), ("=", "y")];
        let l = Line {
            product_version: "1|2\n",
            ..base(LeefVersion::V2, &attrs)
        };
        assert_eq!(line(&l), "LEEF:2.0|Lancope|StealthWatch|1 2 |41|^|badkey=x");
    }
}
