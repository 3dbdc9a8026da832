//! The event reference, `EVENTS.md` at the repository root, generated from the catalogue and the
//! formatters: how ids and names stay stable, severities, subject modes, each format's rules, every
//! kind, every field with its CEF and LEEF key, and example lines rendered by [`render`] itself. A
//! unit test fails when the file differs from what this writes; `SLUICE_BLESS=1 cargo test --lib
//! export::reference` rewrites it. Pure (the test reads and writes the file).

use std::fmt::Write as _;

use super::render::{self, Format, LeefVersion, Style, SubjectMode, render};
use super::{cef, leef};
use crate::events::{Event, Field, FieldType, Fields, Kind};

/// The command that regenerates the file.
pub const BLESS: &str = "SLUICE_BLESS=1 cargo test --lib export::reference";

/// The destination the examples are rendered for.
fn example_style(format: Format) -> Style {
    Style {
        format,
        hostname: "mail.example.com".into(),
        version: "1.0.0".into(),
        facility: 16,
        subject: SubjectMode::Clear,
        subject_key: [0; 32],
        leef: LeefVersion::V2,
    }
}

/// A few representative events (2026-01-01, documentation addresses only).
pub fn examples() -> Vec<Event> {
    let at = 1_767_268_800;
    let event = |seq: u64, kind: Kind, fields: Fields| Event {
        seq,
        at: at + seq,
        kind,
        fields: fields.into_vec(),
    };
    vec![
        event(
            41,
            Kind::PolicyViolation,
            Fields::new()
                .with(Field::RuleName, "Card numbers")
                .with(Field::RuleId, 7)
                .with(Field::PolicySeverity, "high")
                .with(Field::PolicyAction, "quarantine")
                .with(Field::IncidentId, 5001)
                .with(Field::EmailLocalId, "0b6c1f9e-52d4-4c61-9a57-3f1d2e8a7b10")
                .with(Field::EmailFromAddress, "alice@example.com")
                .with(Field::EmailSubject, "Q3 figures")
                .with(Field::EmailDirection, "outbound"),
        ),
        event(
            42,
            Kind::MessageQuarantined,
            Fields::new()
                .with(Field::SourceIp, "192.0.2.10")
                .with(Field::SourcePort, 49152)
                .with(Field::EmailFromAddress, "alice@example.com")
                .with_each(
                    Field::EmailToAddress,
                    ["bob@example.net", "carol@example.net"],
                )
                .with(Field::EmailSubject, "Q3 figures")
                .with(Field::EmailMessageId, "<20260101.1234@example.com>")
                .with(Field::EmailLocalId, "0b6c1f9e-52d4-4c61-9a57-3f1d2e8a7b10")
                .with(Field::EmailDirection, "outbound")
                .with(Field::RuleName, "Card numbers")
                .with(Field::HeldId, 1001)
                .with(Field::IncidentId, 5001)
                .with(Field::Size, 48213),
        ),
        event(
            43,
            Kind::AdminLogonFailed,
            Fields::new()
                .with(Field::UserName, "admin")
                .with(Field::SourceIp, "198.51.100.7")
                .with(Field::EventOutcome, "failure")
                .with(Field::EventReason, "wrong password"),
        ),
        event(
            44,
            Kind::SystemNextHopDown,
            Fields::new()
                .with(Field::DestinationAddress, "mx.example.net")
                .with(Field::DestinationIp, "203.0.113.25")
                .with(Field::DestinationPort, 25)
                .with(Field::ErrorMessage, "connection refused"),
        ),
    ]
}

const INTRO: &str = "\
Every event Sluice reports (SIEM export, message tracking, the detail report) is one of the kinds
below. Each kind has a **stable numeric id** and a **stable dotted name**: neither changes meaning
nor is reused, new kinds are added at the end of their category's id range, and names an earlier
release stored are still read. The id is the RFC 5424 MSGID, the CEF Device Event Class ID and the
LEEF EventID; the name is `event.action` everywhere. Fields are named after the Elastic Common
Schema where ECS has a name (`sluice.*` otherwise) and follow the same stability rule. Events carry
ids, addresses, names and outcomes: never a message body, an attachment or a matched value.

## Severity

Each kind has a severity from 0 (routine) to 10 (urgent), written as CEF Severity, LEEF `sev`
(at least 1) and JSON `event.severity`. The syslog severity (the PRI of every format) follows it:

| severity | syslog severity |
|---|---|
| 0-1 | 6 informational |
| 2-3 | 5 notice |
| 4-5 | 4 warning |
| 6-7 | 3 error |
| 8 | 2 critical |
| 9-10 | 1 alert |

The facility is the destination's (`facility`, default 16, local0).

## Subject modes

A destination's `subject` setting decides what it gets of `email.subject`, in every format:
`clear` (as the message had it), `mask` (`[masked]`), `hash` (`hmac-sha256:` and the first 16
bytes of HMAC-SHA256 over the subject, in hex, keyed by a secret generated on the machine: the same
subject gives the same value on this installation, and a guess cannot be checked without the key)
or `omit` (the field is left out).
";

const FORMATS: &str = "\
## Formats

Every format is one syslog message per event with an RFC 5424 header, except `rfc3164`:
`<PRI>1 TIMESTAMP HOSTNAME sluice - MSGID SD MSG`, TIMESTAMP in UTC with milliseconds, PROCID
left out (`-`), MSGID the kind's id. A MSG that is not pure ASCII starts with a BOM (RFC 5424
§6.4): a CEF or LEEF line with a non-ASCII value has one before `CEF:` or `LEEF:`.

Over TCP and TLS each message is octet-counted (RFC 6587, RFC 5425). Over UDP (RFC 5426) a
message longer than the destination's `udp_max` (default 2048 bytes) is cut on a character
boundary and ends in `...`; a cut inside the structured data keeps it well formed (the value ends
in `...\"]`, or the element is closed and MSG is `...`). A cut JSON object is no longer valid
JSON: a `json` destination belongs on TCP or TLS, or needs a `udp_max` above its largest event.

- **rfc5424**: one SD-ELEMENT `[sluice@32473 ...]` (32473 is the documentation enterprise number
  of RFC 5612; Sluice has none of its own) with `event.action`, `event.dataset`, `event.severity`,
  `event.sequence` and every field as a PARAM named by the field (a repeated field repeats its
  PARAM); `\"`, `\\` and `]` escaped by a backslash, control characters made spaces. MSG is the
  kind's summary.
- **rfc3164**: `<PRI>Mmm dd hh:mm:ss HOSTNAME sluice: ` and `key=value` pairs, `event.code`,
  `event.action`, `event.dataset`, `event.severity`, `event.sequence` first, then each field by
  its name (a repeated field repeats its key). A value that is empty or holds a space, `\"`, `\\`,
  `=` or a control character is double-quoted, with `\"` and `\\` escaped by a backslash and line
  breaks and tabs written `\\n`, `\\r`, `\\t`. The packet is cut to 1024 bytes (ending `...`).
- **cef**: MSG is `CEF:0|Sluice|Sluice|VERSION|ID|SUMMARY|SEVERITY|EXTENSION`; header `|` and `\\`
  escaped; extension `rt` (Unix milliseconds), `dvchost`, `cat` (the category), `externalId` (the
  outbox sequence number), `eventAction` (the kind's name), then each field under its CEF key
  below, once (repeated values comma-joined); `=` and `\\` escaped, CR and LF written `\\r` `\\n`,
  other control characters made spaces.
- **leef**: MSG is `LEEF:2.0|Sluice|Sluice|VERSION|ID|^|key=value^key=value...` (or LEEF 1.0,
  TAB-separated, per destination); attributes `cat`, `devTime` with `devTimeFormat`, `sev`,
  `eventAction`, `eventSequence`, then each field under its LEEF key below, once (repeated values
  comma-joined). LEEF has no escape character: the delimiter and control characters in a value,
  and `|` in a header field, become spaces; `=` in a value needs nothing.
- **json**: MSG is one JSON object (ECS): `@timestamp`, `message` (the summary), `event.code`,
  `event.action`, `event.dataset` (`sluice.<category>`), `event.module`, `event.kind`,
  `event.category` and `event.type` (ECS allowed values), `event.severity`, `event.sequence`,
  `observer.*`, and every field nested at its dotted name; `email.to.address` is always an array,
  another field only when repeated; `long` fields are numbers. Keys are sorted and non-ASCII
  characters are `\\u` escapes, so the line is ASCII and needs no BOM.
";

fn kinds(out: &mut String) {
    out.push_str("\n## Kinds\n\n");
    out.push_str("| id | name | category | severity | syslog severity | summary |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    for &k in Kind::ALL {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} | {} |",
            k.id(),
            k.name(),
            k.category().name(),
            k.severity(),
            k.syslog_severity(),
            k.summary()
        );
    }
}

fn fields(out: &mut String) {
    out.push_str("\n## Fields\n\n");
    out.push_str("JSON and RFC 5424 use the field's name; `rfc3164` too.\n\n");
    out.push_str("| field | type | CEF key | LEEF key | description |\n");
    out.push_str("|---|---|---|---|---|\n");
    for &f in Field::ALL {
        let ty = match f.ty() {
            FieldType::Keyword => "keyword",
            FieldType::Text => "text",
            FieldType::Ip => "ip",
            FieldType::Long => "long",
        };
        let _ = writeln!(
            out,
            "| `{}` | {ty} | `{}` | `{}` | {} |",
            f.name(),
            cef::key(f),
            leef::key(f),
            f.description().replace('|', "\\|")
        );
    }
}

fn subject_modes(out: &mut String) {
    out.push_str("\n## Subject modes, by example\n\n");
    out.push_str("The subject `Q3 figures` with an all-zero key:\n\n");
    out.push_str("| mode | email.subject |\n|---|---|\n");
    for mode in SubjectMode::ALL {
        let shown = render::subject("Q3 figures", mode, &[0; 32])
            .map(|s| format!("`{s}`"))
            .unwrap_or_else(|| "(left out)".into());
        let _ = writeln!(out, "| {} | {shown} |", mode.name());
    }
}

fn examples_section(out: &mut String) {
    out.push_str("\n## Examples\n\n");
    out.push_str(
        "Each example event in each format, as rendered for host `mail.example.com`, version \
         `1.0.0`, facility local0, subject `clear`, LEEF 2.0.\n",
    );
    for e in examples() {
        let _ = write!(
            out,
            "\n### `{}` ({})\n\n```text\n",
            e.kind.name(),
            e.kind.id()
        );
        for format in Format::ALL {
            let _ = writeln!(out, "{}", render(&e, &example_style(format)));
        }
        out.push_str("```\n");
    }
}

/// The whole of `EVENTS.md`.
pub fn markdown() -> String {
    let mut out = format!(
        "# Sluice events\n\n<!-- Generated by src/export/reference.rs from the event catalogue; do \
         not edit. Regenerate: {BLESS} -->\n\n"
    );
    out.push_str(INTRO);
    out.push('\n');
    out.push_str(FORMATS);
    kinds(&mut out);
    fields(&mut out);
    subject_modes(&mut out);
    examples_section(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_md_is_what_the_catalogue_and_formats_generate() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("EVENTS.md");
        let want = markdown();
        if std::env::var_os("SLUICE_BLESS").is_some() {
            std::fs::write(&path, &want).unwrap();
            return;
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        if have != want {
            let line = have
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(have.lines().count().min(want.lines().count()));
            panic!(
                "EVENTS.md differs from what the event catalogue and the formatters generate \
                 (first at line {}). Regenerate it with `{BLESS}` and commit it.",
                line + 1
            );
        }
    }

    #[test]
    fn every_kind_and_field_is_in_the_reference() {
        let md = markdown();
        for &k in Kind::ALL {
            assert!(md.contains(&format!("| {} | `{}` |", k.id(), k.name())));
        }
        for &f in Field::ALL {
            assert!(md.contains(&format!("| `{}` |", f.name())));
        }
    }
}
