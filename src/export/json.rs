//! JSON lines in the Elastic Common Schema: one object per event, fields nested at their dotted
//! ECS names (`{"email":{"from":{"address":...}}}`), `event.*` and `observer.*` filled from the
//! catalogue, keys sorted (the same event always gives the same bytes). Pure.
//!
//! Every non-ASCII character is written as a `\uXXXX` escape, so the line is ASCII: it needs no
//! BOM as an RFC 5424 MSG, and any JSON parser reads back the same text.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::render::{self, Style};
use crate::events::{Event, Field, FieldType, Kind};

/// A node of the nested object: an object of sorted keys, or a value.
#[derive(Serialize)]
#[serde(untagged)]
enum Node {
    Object(BTreeMap<String, Node>),
    Value(Value),
}

type Object = BTreeMap<String, Node>;

/// ECS `event.kind`, `event.category` and `event.type` (each from ECS's allowed values) of a kind.
pub fn ecs(
    kind: Kind,
) -> (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
) {
    use Kind::*;
    let (category, ty): (&[&str], &[&str]) = match kind {
        SmtpConnectionRefused | SmtpProtocolViolation | SmtpRateLimited => {
            (&["email", "network"], &["connection", "denied"])
        }
        SmtpTlsFailed => (&["email", "network"], &["connection", "error"]),
        MessageAccepted | MessageRelayed | MessageRedirected => (&["email"], &["allowed"]),
        MessageModified => (&["email"], &["allowed", "change"]),
        MessageBlocked | MessageQuarantined | MessageRejected => (&["email"], &["denied"]),
        MessageDeferred => (&["email"], &["error"]),
        PolicyViolation => (&["email", "intrusion_detection"], &["info"]),
        IncidentResolved | IncidentNoted => (&["email"], &["change"]),
        QuarantineReleased | QuarantineForwarded | ApprovalApproved => (&["email"], &["allowed"]),
        QuarantineDeleted | QuarantineExpired | QuarantineEvicted => (&["email"], &["deletion"]),
        QuarantineRescanned | ApprovalExpired => (&["email"], &["info"]),
        RemediationRefused | ApprovalRejected => (&["email"], &["denied"]),
        QueueDelivered => (&["email", "network"], &["info"]),
        QueueDeferred | QueueBounced => (&["email", "network"], &["error"]),
        QueueHeld => (&["email"], &["denied"]),
        QueueReleased | QueueForwarded | QueueRetried => (&["email"], &["allowed"]),
        QueueDeleted => (&["email"], &["deletion"]),
        QueueOnHold => (&["email"], &["change"]),
        AdminLogonSucceeded | AdminLogonFailed => (&["authentication"], &["start"]),
        AdminLogonThrottled => (&["authentication"], &["info"]),
        AdminLogoff => (&["authentication"], &["end"]),
        AdminChange => (&["configuration"], &["change"]),
        AdminAccessDenied => (&["web"], &["access", "denied"]),
        ConfigReloaded => (&["configuration"], &["change"]),
        ConfigReloadRefused => (&["configuration"], &["error"]),
        SystemStarted => (&["host"], &["start"]),
        SystemStopped => (&["host"], &["end"]),
        SystemStoreFull
        | SystemDiskLow
        | SystemNextHopDown
        | SystemNextHopUp
        | SystemCertificateExpiring
        | SystemQueueGrowing
        | SystemDefinitionsStale
        | SystemEventsDropped
        | SystemSiemDown
        | SystemScanError
        | SystemSiemTest
        | SystemQueueHold => (&["host"], &["info"]),
        DefinitionsUpdated => (&["package"], &["change"]),
        DefinitionsUpdateFailed => (&["package"], &["error"]),
    };
    let kind = if kind == PolicyViolation {
        "alert"
    } else {
        "event"
    };
    (kind, category, ty)
}

/// Whether a field is always an array in JSON (ECS declares `email.to.address` one); any other
/// field becomes an array only when an event repeats it.
fn array(field: Field) -> bool {
    field == Field::EmailToAddress
}

/// A field's JSON value: a number for a `Long` that parses as one, a string otherwise.
fn json_value(field: Field, v: &str) -> Value {
    match (field.ty(), v.parse::<u64>()) {
        (FieldType::Long, Ok(n)) => Value::from(n),
        _ => Value::from(v),
    }
}

/// Puts `value` at the dotted `path` of `root`, creating the objects on the way; a second value at
/// the same path (or an array field's first) makes an array. A path through a value (no field
/// name is a prefix of another, but nothing here relies on it) is put at the root as one key.
fn insert(root: &mut Object, path: &str, value: Value, as_array: bool) {
    let mut parts = path.split('.').peekable();
    let mut at: &mut Object = root;
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            match at.get_mut(part) {
                Some(Node::Value(Value::Array(items))) => items.push(value),
                Some(Node::Value(old)) => *old = Value::Array(vec![old.take(), value]),
                Some(Node::Object(_)) => {
                    root.insert(path.to_string(), Node::Value(value));
                }
                None => {
                    let v = if as_array {
                        Value::Array(vec![value])
                    } else {
                        value
                    };
                    at.insert(part.to_string(), Node::Value(v));
                }
            }
            return;
        }
        let next = at
            .entry(part.to_string())
            .or_insert_with(|| Node::Object(Object::new()));
        match next {
            Node::Object(o) => at = o,
            Node::Value(_) => {
                root.insert(path.to_string(), Node::Value(value));
                return;
            }
        }
    }
}

/// The JSON object of `event`, one line, ASCII.
pub(super) fn event(event: &Event, values: &[(Field, Cow<'_, str>)], style: &Style) -> String {
    let k = event.kind;
    let (kind, category, ty) = ecs(k);
    let mut root = Object::new();
    let mut put = |path: &str, v: Value| insert(&mut root, path, v, false);
    put(
        "@timestamp",
        Value::from(crate::units::time::format_millis(
            event.at.saturating_mul(1000),
        )),
    );
    put("message", Value::from(k.summary()));
    put("event.code", Value::from(k.id().to_string()));
    put("event.action", Value::from(k.name()));
    put("event.dataset", Value::from(render::dataset(k)));
    put("event.module", Value::from(render::APP_NAME));
    put("event.kind", Value::from(kind));
    put("event.category", Value::from(category.to_vec()));
    put("event.type", Value::from(ty.to_vec()));
    put("event.severity", Value::from(k.severity()));
    put("event.sequence", Value::from(event.seq));
    put("observer.vendor", Value::from(render::VENDOR));
    put("observer.product", Value::from(render::PRODUCT));
    put("observer.version", Value::from(style.version.as_str()));
    put("observer.hostname", Value::from(style.hostname.as_str()));
    for (f, v) in values {
        insert(&mut root, f.name(), json_value(*f, v), array(*f));
    }
    ascii(&root)
}

/// Serializes with every non-ASCII character as `\uXXXX` (UTF-16 surrogate pairs above U+FFFF).
fn ascii(root: &Object) -> String {
    struct Ascii;
    impl serde_json::ser::Formatter for Ascii {
        fn write_string_fragment<W: ?Sized + std::io::Write>(
            &mut self,
            w: &mut W,
            fragment: &str,
        ) -> std::io::Result<()> {
            for c in fragment.chars() {
                if c.is_ascii() {
                    w.write_all(&[c as u8])?;
                } else {
                    for unit in c.encode_utf16(&mut [0; 2]) {
                        write!(w, "\\u{unit:04x}")?;
                    }
                }
            }
            Ok(())
        }
    }
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Ascii);
    // Writing strings, numbers and string-keyed maps into a Vec cannot fail; and the bytes are
    // ASCII by construction.
    match root.serialize(&mut ser) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::from("{}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_paths_nest_and_repeats_become_arrays() {
        let mut root = Object::new();
        insert(&mut root, "a.b.c", Value::from(1), false);
        insert(&mut root, "a.b.d", Value::from("x"), false);
        insert(&mut root, "a.b.d", Value::from("y"), false);
        insert(&mut root, "a.e", Value::from("z"), true);
        insert(&mut root, "a.b.c.deeper", Value::from(2), false);
        insert(&mut root, "a.b", Value::from(3), false);
        assert_eq!(
            ascii(&root),
            r#"{"a":{"b":{"c":1,"d":["x","y"]},"e":["z"]},"a.b":3,"a.b.c.deeper":2}"#
        );
    }

    #[test]
    fn non_ascii_is_escaped_and_reads_back() {
        let mut root = Object::new();
        insert(&mut root, "s", Value::from("Grüße 😀 \"q\"\n"), false);
        let line = ascii(&root);
        assert!(line.is_ascii());
        assert_eq!(line, r#"{"s":"Gr\u00fc\u00dfe \ud83d\ude00 \"q\"\n"}"#);
        let back: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(back["s"], "Grüße 😀 \"q\"\n");
    }

    #[test]
    fn every_kind_has_ecs_values() {
        for &k in Kind::ALL {
            let (kind, category, ty) = ecs(k);
            assert!(["event", "alert"].contains(&kind));
            assert!(!category.is_empty() && !ty.is_empty(), "{k:?}");
        }
    }
}
