//! `sluice events list`: the event outbox from the command line (what the SIEM destinations read),
//! oldest first from a sequence number. Flags in, one service call, text or JSON lines out.

use std::process::ExitCode;

use crate::cli::{Events, EventsCommand};
use crate::events::Event;
use crate::pipeline::track::value;
use crate::service::DEFAULT_EVENTS;

use super::{EXIT_OK, fail, flagged, out, with_store};

/// Runs an `events` subcommand.
pub fn events(e: Events) -> ExitCode {
    match e.command {
        EventsCommand::List(a) => with_store("events list", &a.store_args(), false, |ctx| {
            let found = match ctx
                .service
                .events(a.after, a.limit.unwrap_or(DEFAULT_EVENTS))
            {
                Ok(x) => x,
                Err(e) => return fail(ctx.cmd, flagged(e)),
            };
            let text: String = found
                .iter()
                .map(|e| if a.json { json(e) } else { line(e) } + "\n")
                .collect();
            out(text.as_bytes());
            ExitCode::from(EXIT_OK)
        }),
    }
}

/// `SEQ TIME KIND field=value ...` (values with spaces or `=` quoted, as in the message log line).
pub fn line(e: &Event) -> String {
    let mut s = format!("{} {} {}", e.seq, super::time::format(e.at), e.kind.name());
    for (f, v) in &e.fields {
        s.push(' ');
        s.push_str(f.name());
        s.push('=');
        s.push_str(&value(v));
    }
    s
}

/// One JSON object: `seq`, `time` (RFC 3339), `at` (Unix seconds), `kind`, `id`, `severity`, and
/// `fields` by name (a repeated field as an array).
pub fn json(e: &Event) -> String {
    let mut fields = serde_json::Map::new();
    for (f, v) in &e.fields {
        let v = serde_json::Value::String(v.clone());
        match fields.get_mut(f.name()) {
            None => {
                fields.insert(f.name().to_string(), v);
            }
            Some(serde_json::Value::Array(list)) => list.push(v),
            Some(first) => *first = serde_json::Value::Array(vec![first.take(), v]),
        }
    }
    serde_json::json!({
        "seq": e.seq,
        "time": super::time::format(e.at),
        "at": e.at,
        "kind": e.kind.name(),
        "id": e.kind.id(),
        "severity": e.kind.severity(),
        "fields": fields,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Field, Fields, Kind};

    #[test]
    fn events_render_as_lines_and_json_with_repeats_as_arrays() {
        let e = Event {
            seq: 7,
            at: 0,
            kind: Kind::MessageRelayed,
            fields: Fields::new()
                .with(Field::EmailSubject, "a b=c")
                .with_each(Field::EmailToAddress, ["x@y", "z@y"])
                .with(Field::Size, 12)
                .into_vec(),
        };
        assert_eq!(
            line(&e),
            "7 1970-01-01T00:00:00Z message.relayed email.subject=\"a b=c\" \
             email.to.address=x@y email.to.address=z@y sluice.message.size=12"
        );
        let v: serde_json::Value = serde_json::from_str(&json(&e)).unwrap();
        assert_eq!(v["kind"], "message.relayed");
        assert_eq!(v["fields"]["email.to.address"][1], "z@y");
        assert_eq!(v["fields"]["sluice.message.size"], "12");
        assert_eq!(v["id"], 201);
    }
}
