//! Text output of the store commands: aligned tables for listings, and the `show` views of a held
//! message and an incident (the service's views). Pure (records in, text out).
//!
//! Security: subjects, addresses and Message-IDs come from senders; every such string is cleaned of
//! control characters before it reaches a terminal (no escape sequences), and findings are the
//! store's redacted evidence, never matched values.

use std::fmt::Write;

use crate::service::{HeldView, IncidentEntry, IncidentView};
use crate::store::records::{Held, HistoryEntry, Hold, Incident};

use super::time;

/// Widest a subject is shown in a table (characters).
const SUBJECT_WIDTH: usize = 50;

/// Widest an address is shown in a table (characters).
const ADDRESS_WIDTH: usize = 40;

/// Replaces control characters (terminal escapes, line breaks) by U+FFFD.
pub(crate) fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect()
}

/// Cleans and cuts to `width` characters (an ellipsis marks a cut).
fn cut(s: &str, width: usize) -> String {
    let s = clean(s);
    if s.chars().count() <= width {
        return s;
    }
    let mut out: String = s.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Columns padded to their widest cell; the last column is not padded.
pub(crate) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let last = row.len().saturating_sub(1);
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i == last {
                line.push_str(cell);
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn recipients<'a>(list: impl ExactSizeIterator<Item = &'a str>) -> String {
    let n = list.len();
    let mut it = list;
    match it.next() {
        None => "-".into(),
        Some(first) if n == 1 => cut(first, ADDRESS_WIDTH),
        Some(first) => format!("{} +{}", cut(first, ADDRESS_WIDTH), n - 1),
    }
}

/// A subject as a table shows it: cleaned and cut.
pub(crate) fn subject_cell(s: &str) -> String {
    cut(s, SUBJECT_WIDTH)
}

/// A sender as a table shows it: `<>` for the null sender, cleaned and cut.
pub(crate) fn sender_cell(s: &str) -> String {
    sender(s)
}

fn sender(s: &str) -> String {
    if s.is_empty() {
        "<>".into()
    } else {
        cut(s, ADDRESS_WIDTH)
    }
}

/// The `quarantine list` table.
pub fn held_table(items: &[Held]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|h| {
            let policies: Vec<String> = h.policies.iter().map(|p| p.id.to_string()).collect();
            vec![
                h.id.to_string(),
                time::format(h.received),
                h.status.name().into(),
                h.severity.name().to_string(),
                policies.join(","),
                sender(&h.sender),
                recipients(h.recipients.iter().map(|r| r.address.as_str())),
                h.size.to_string(),
                cut(&h.subject, SUBJECT_WIDTH),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "RECEIVED",
            "STATUS",
            "SEVERITY",
            "POLICIES",
            "SENDER",
            "RECIPIENTS",
            "SIZE",
            "SUBJECT",
        ],
        &rows,
    )
}

/// The `incident list` table.
pub fn incident_table(items: &[Incident]) -> String {
    let rows: Vec<Vec<String>> = items
        .iter()
        .map(|i| {
            vec![
                i.id.to_string(),
                time::format(i.created),
                i.status.name().into(),
                i.policy.id.to_string(),
                i.policy.severity.name().to_string(),
                i.action.clone(),
                sender(&i.sender),
                recipients(i.recipients.iter().map(String::as_str)),
                i.held.map_or("-".into(), |h| h.to_string()),
                cut(&i.subject, SUBJECT_WIDTH),
            ]
        })
        .collect();
    table(
        &[
            "ID",
            "CREATED",
            "STATUS",
            "POLICY",
            "SEVERITY",
            "ACTION",
            "SENDER",
            "RECIPIENTS",
            "HELD",
            "SUBJECT",
        ],
        &rows,
    )
}

fn field(out: &mut String, name: &str, value: &str) {
    let _ = writeln!(out, "  {name:<12}{value}");
}

fn history(out: &mut String, entries: &[HistoryEntry]) {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            vec![
                time::format(e.at),
                clean(&e.actor),
                clean(&e.action),
                clean(&e.result),
            ]
        })
        .collect();
    for line in table(&["TIME", "ACTOR", "ACTION", "RESULT"], &rows).lines() {
        let _ = writeln!(out, "  {line}");
    }
}

/// The `quarantine show` view: metadata, findings, recipients, and each incident with its history.
pub fn held(view: &HeldView) -> String {
    let (h, content_held, incidents) = (&view.held, view.content_held, &view.incidents);
    let mut out = format!("held message {}\n", h.id);
    field(&mut out, "status", h.status.name());
    field(&mut out, "received", &time::format(h.received));
    field(&mut out, "expires", &time::format(h.expires));
    let hold = match &h.hold {
        Hold::Quarantine => "quarantine".to_string(),
        Hold::Approval { approval } => format!("approval {approval}"),
    };
    field(&mut out, "hold", &hold);
    field(&mut out, "direction", h.direction.name());
    field(&mut out, "peer", &clean(&h.peer));
    field(&mut out, "sender", &sender(&h.sender));
    field(&mut out, "subject", &clean(&h.subject));
    field(&mut out, "message-id", &clean(&h.message_id));
    field(&mut out, "guid", &clean(&h.guid));
    let content = if content_held {
        "content held"
    } else {
        "content no longer held"
    };
    field(&mut out, "size", &format!("{} bytes ({content})", h.size));
    field(&mut out, "severity", h.severity.name());
    let policies: Vec<String> = h
        .policies
        .iter()
        .map(|p| {
            let monitor = if p.monitor { ", monitor" } else { "" };
            format!(
                "{} ({}, {}{monitor})",
                p.id,
                clean(&p.name),
                p.severity.name()
            )
        })
        .collect();
    field(&mut out, "policies", &policies.join("; "));
    out.push_str("findings\n");
    if h.findings.is_empty() {
        out.push_str("  (none recorded)\n");
    }
    for f in &h.findings {
        let _ = writeln!(out, "  {}", clean(f));
    }
    out.push_str("recipients\n");
    let rows: Vec<Vec<String>> = h
        .recipients
        .iter()
        .map(|r| vec![clean(&r.address), r.status.name().to_string()])
        .collect();
    for line in table(&["ADDRESS", "STATUS"], &rows).lines() {
        let _ = writeln!(out, "  {line}");
    }
    if incidents.is_empty() {
        out.push_str("incidents\n  (none)\n");
    }
    for IncidentEntry {
        incident: i,
        history: entries,
    } in incidents
    {
        let _ = writeln!(
            out,
            "incident {} (policy {} {}, {})",
            i.id,
            i.policy.id,
            clean(&i.policy.name),
            i.status.name()
        );
        history(&mut out, entries);
    }
    out
}

/// The `incident show` view: the incident, its findings, its held message, its history.
pub fn incident(view: &IncidentView) -> String {
    let (i, entries, held) = (&view.incident, &view.history, view.held.as_ref());
    let mut out = format!("incident {}\n", i.id);
    field(&mut out, "status", i.status.name());
    field(&mut out, "created", &time::format(i.created));
    field(
        &mut out,
        "policy",
        &format!("{} ({})", i.policy.id, clean(&i.policy.name)),
    );
    field(&mut out, "severity", i.policy.severity.name());
    field(&mut out, "action", &i.action);
    field(&mut out, "direction", i.direction.name());
    field(&mut out, "sender", &sender(&i.sender));
    let rcpts: Vec<String> = i.recipients.iter().map(|r| clean(r)).collect();
    field(&mut out, "recipients", &rcpts.join(", "));
    field(&mut out, "subject", &clean(&i.subject));
    field(&mut out, "message-id", &clean(&i.message_id));
    field(&mut out, "guid", &clean(&i.guid));
    field(&mut out, "size", &format!("{} bytes", i.size));
    field(&mut out, "copies", &i.copies.to_string());
    let message = match (i.held, held) {
        (Some(id), Some(h)) => format!("{id} ({})", h.status.name()),
        (Some(id), None) => format!("{id} (cannot be found)"),
        (None, _) => "none".into(),
    };
    field(&mut out, "held", &message);
    out.push_str("findings\n");
    if i.findings.is_empty() {
        out.push_str("  (none recorded)\n");
    }
    for f in &i.findings {
        let _ = writeln!(out, "  {}", clean(f));
    }
    out.push_str("history\n");
    history(&mut out, entries);
    out
}

/// The Unix-seconds fields of the store records, and the names the JSON output gives them.
const JSON_TIMES: [(&str, &str); 6] = [
    ("received", "received_at"),
    ("expires", "expires_at"),
    ("created", "created_at"),
    ("at", "at"),
    ("queued", "queued_at"),
    ("next_attempt", "next_attempt_at"),
];

/// Rewrites the record times in JSON output to RFC 3339, as the tables show them: `received`
/// becomes `received_at` (`2024-05-01T08:00:00Z`) and `received_at_unix` (the seconds), likewise
/// `expires`, `created`, a queue entry's `queued` and `next_attempt`, and a history entry's `at`. Walks nested objects and arrays.
pub fn json_times(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (old, new) in JSON_TIMES {
                if let Some(secs) = map.get(old).and_then(serde_json::Value::as_u64) {
                    map.remove(old);
                    map.insert(new.to_string(), time::format(secs).into());
                    map.insert(format!("{new}_unix"), secs.into());
                }
            }
            map.values_mut().for_each(json_times);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(json_times),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_times_are_rfc3339_with_the_seconds_beside() {
        let mut v = serde_json::json!({
            "held": { "received": 1_700_000_000u64, "expires": 0, "subject": "s" },
            "history": [{ "at": 1_700_000_000u64, "actor": "a" }],
        });
        json_times(&mut v);
        assert_eq!(v["held"]["received_at"], "2023-11-14T22:13:20Z");
        assert_eq!(v["held"]["received_at_unix"], 1_700_000_000u64);
        assert_eq!(v["held"]["expires_at"], "1970-01-01T00:00:00Z");
        assert!(v["held"].get("received").is_none());
        assert_eq!(v["history"][0]["at"], "2023-11-14T22:13:20Z");
        assert_eq!(v["history"][0]["at_unix"], 1_700_000_000u64);
    }

    #[test]
    fn tables_align_columns_and_leave_the_last_unpadded() {
        let rows = vec![
            vec!["1".into(), "held".into(), "short".into()],
            vec!["100".into(), "released".into(), "a longer subject".into()],
        ];
        let t = table(&["ID", "STATUS", "SUBJECT"], &rows);
        assert_eq!(
            t,
            "ID   STATUS    SUBJECT\n1    held      short\n100  released  a longer subject\n"
        );
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let s = clean("hi\x1b[31mred\r\nBcc: x\u{7}");
        assert!(!s.chars().any(char::is_control), "{s:?}");
        assert!(s.contains("red"));
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }

    #[test]
    fn recipients_show_the_first_and_a_count() {
        assert_eq!(recipients(["a@x"].into_iter()), "a@x");
        assert_eq!(recipients(["a@x", "b@x", "c@x"].into_iter()), "a@x +2");
        assert_eq!(recipients(std::iter::empty()), "-");
    }
}
