//! The summary and detail reports as values, and their CSV form (pure: the service fills the
//! values from the store, the CLI and the admin UI render or download them). The only module that
//! knows CSV (`csv`, the writer, formula injection neutralised).
//!
//! Privacy: a report carries counts, addresses, subjects (metadata), ids, policy and detector
//! names and outcomes, never a body, an attachment, a matched value or evidence (the outbox's
//! events carry none, and the detectors' names are read without their samples).

pub mod csv;

use serde::Serialize;

use crate::events::{Category, Event, Field, Kind};
use crate::units::time;

/// A key and how often it was counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub key: String,
    pub count: u64,
}

/// Messages of one outcome, by direction.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutcomeRow {
    /// `relayed`, `quarantined`, `blocked`, ...
    pub outcome: String,
    pub inbound: u64,
    pub outbound: u64,
    pub internal: u64,
    /// No direction recorded (refused before the envelope was complete).
    pub unknown: u64,
    pub total: u64,
}

/// Incidents of one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyCount {
    pub id: Option<u64>,
    pub name: String,
    pub count: u64,
}

/// The summary report over whole UTC days: message totals by outcome and direction, incidents by
/// policy and severity, top senders, recipients and detectors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SummaryReport {
    /// The first second of the first day (Unix seconds).
    pub from: u64,
    /// The last second of the last day.
    pub to: u64,
    pub messages: u64,
    /// Bytes of the messages.
    pub bytes: u64,
    /// Every outcome, in the catalogue's order (zeros included).
    pub outcomes: Vec<OutcomeRow>,
    pub incidents: u64,
    /// Largest first.
    pub policies: Vec<PolicyCount>,
    /// Every severity, highest first (zeros included).
    pub severities: Vec<Count>,
    pub senders: Vec<Count>,
    pub recipients: Vec<Count>,
    pub detectors: Vec<Count>,
}

/// One event of the detail report: its time, kind and the values an administrator looks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DetailRow {
    pub seq: u64,
    /// Unix seconds.
    pub at: u64,
    /// The event kind's name (`message.relayed`).
    pub kind: String,
    /// The kind's one-line summary (`Message relayed`).
    pub summary: String,
    /// 0-10.
    pub severity: u8,
    pub guid: String,
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub client_ip: String,
    pub message_id: String,
    pub direction: String,
    pub size: Option<u64>,
    pub policies: Vec<String>,
    /// The policy's action or the remediation asked for.
    pub action: String,
    /// Why: the reason, the next hop's reply or the error.
    pub reason: String,
    pub user: String,
    pub held: String,
    pub incident: String,
    pub next_hop: String,
}

impl DetailRow {
    /// The row of one outbox event.
    pub fn of(e: &Event) -> DetailRow {
        let get = |f| e.get(f).unwrap_or_default().to_string();
        let first = |fs: &[Field]| {
            fs.iter()
                .find_map(|&f| e.get(f))
                .unwrap_or_default()
                .to_string()
        };
        DetailRow {
            seq: e.seq,
            at: e.at,
            kind: e.kind.name().to_string(),
            summary: e.kind.summary().to_string(),
            severity: e.kind.severity(),
            guid: get(Field::EmailLocalId),
            from: get(Field::EmailFromAddress),
            to: e.all(Field::EmailToAddress).map(str::to_string).collect(),
            subject: get(Field::EmailSubject),
            client_ip: get(Field::SourceIp),
            message_id: get(Field::EmailMessageId),
            direction: get(Field::EmailDirection),
            size: e.get(Field::Size).and_then(|s| s.parse().ok()),
            policies: e.all(Field::RuleName).map(str::to_string).collect(),
            action: first(&[Field::PolicyAction, Field::Remediation]),
            reason: first(&[Field::EventReason, Field::Reply, Field::ErrorMessage]),
            user: get(Field::UserName),
            held: get(Field::HeldId),
            incident: get(Field::IncidentId),
            next_hop: first(&[Field::DestinationAddress, Field::DestinationIp]),
        }
    }
}

/// The detail report: the outbox's events in a time range, filtered by kind and text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DetailReport {
    pub from: u64,
    pub to: u64,
    /// Oldest first.
    pub rows: Vec<DetailRow>,
    /// More events matched than the limit let through (or the scan stopped at its bound).
    pub more: bool,
}

/// The summary report as CSV rows: `Section,Item,Count`, the header line first.
pub fn summary_rows(r: &SummaryReport) -> Vec<Vec<String>> {
    let period = format!("{} - {}", time::format(r.from), time::format(r.to));
    let mut rows = vec![
        row(["Section", "Item", "Count"]),
        row(["Period", &period, ""]),
    ];
    let mut add = |section: &str, item: &str, count: u64| {
        rows.push(vec![section.into(), item.into(), count.to_string()]);
    };
    add("Messages", "total", r.messages);
    add("Messages", "bytes", r.bytes);
    for o in &r.outcomes {
        add("Messages by outcome", &o.outcome, o.total);
    }
    let directions = [
        ("inbound", r.outcomes.iter().map(|o| o.inbound).sum()),
        ("outbound", r.outcomes.iter().map(|o| o.outbound).sum()),
        ("internal", r.outcomes.iter().map(|o| o.internal).sum()),
        ("unknown", r.outcomes.iter().map(|o| o.unknown).sum::<u64>()),
    ];
    for (d, n) in directions {
        add("Messages by direction", d, n);
    }
    add("Incidents", "total", r.incidents);
    for p in &r.policies {
        let item = match p.id {
            Some(id) => format!("{id} {}", p.name),
            None => p.name.clone(),
        };
        add("Incidents by policy", &item, p.count);
    }
    for (section, list) in [
        ("Incidents by severity", &r.severities),
        ("Top senders", &r.senders),
        ("Top recipients", &r.recipients),
        ("Top detectors", &r.detectors),
    ] {
        for c in list {
            add(section, &c.key, c.count);
        }
    }
    rows
}

/// The detail report's columns.
pub const DETAIL_HEADER: [&str; 19] = [
    "Time",
    "Seq",
    "Event",
    "Severity",
    "GUID",
    "From",
    "To",
    "Subject",
    "Client IP",
    "Message-ID",
    "Direction",
    "Size",
    "Policy",
    "Action",
    "Reason",
    "User",
    "Held ID",
    "Incident ID",
    "Next hop",
];

/// The detail report as CSV rows, the header line first (several recipients or policies in one
/// cell, separated by `; `).
pub fn detail_rows(r: &DetailReport) -> Vec<Vec<String>> {
    let mut rows = vec![row(DETAIL_HEADER)];
    for d in &r.rows {
        rows.push(vec![
            time::format(d.at),
            d.seq.to_string(),
            d.kind.clone(),
            d.severity.to_string(),
            d.guid.clone(),
            d.from.clone(),
            d.to.join("; "),
            d.subject.clone(),
            d.client_ip.clone(),
            d.message_id.clone(),
            d.direction.clone(),
            d.size.map(|s| s.to_string()).unwrap_or_default(),
            d.policies.join("; "),
            d.action.clone(),
            d.reason.clone(),
            d.user.clone(),
            d.held.clone(),
            d.incident.clone(),
            d.next_hop.clone(),
        ]);
    }
    rows
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// Checks a detail report's event type: a kind's name (`message.blocked`) or a category's
/// (`message`, `policy`, ...).
pub fn check_kind(s: &str) -> Result<(), String> {
    let s = s.trim();
    if Kind::from_name(s).is_some() || Category::from_name(s).is_some() {
        return Ok(());
    }
    let categories: Vec<&str> = Category::ALL.iter().map(|c| c.name()).collect();
    Err(format!(
        "{s:?} is not an event kind (message.blocked, ...) or category ({})",
        categories.join(", ")
    ))
}

/// Whether an event of `kind` is one the types ask for (none: every kind).
pub fn kind_wanted(kind: Kind, types: &[String]) -> bool {
    types.is_empty()
        || types.iter().any(|t| {
            let t = t.trim();
            kind.name() == t || kind.category().name() == t
        })
}

/// Whether some field of the event holds `text` (case-insensitive). Fields are ids, addresses,
/// subjects, names and outcomes: there is no content to search.
pub fn text_matches(e: &Event, text: &str) -> bool {
    let text = text.trim().to_lowercase();
    text.is_empty()
        || e.kind.name().contains(&text)
        || e.fields
            .iter()
            .any(|(_, v)| v.to_lowercase().contains(&text))
}

/// Which report a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Which {
    Summary,
    Detail,
}

impl Which {
    pub fn name(self) -> &'static str {
        match self {
            Which::Summary => "summary",
            Which::Detail => "detail",
        }
    }
}

/// The file name of a report made at `at`: `sluice-detail-202612051500.csv` (UTC, to the minute).
pub fn file_name(which: Which, at: u64) -> String {
    let stamp: String = time::format(at)
        .chars()
        .take(16)
        .filter(char::is_ascii_digit)
        .collect();
    format!("sluice-{}-{stamp}.csv", which.name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Fields;

    #[test]
    fn file_names_carry_the_minute_in_utc() {
        // 2026-12-05T15:00:59Z
        let at = 1_796_482_859;
        assert_eq!(time::format(at), "2026-12-05T15:00:59Z");
        assert_eq!(
            file_name(Which::Detail, at),
            "sluice-detail-202612051500.csv"
        );
        assert_eq!(
            file_name(Which::Summary, 0),
            "sluice-summary-197001010000.csv"
        );
    }

    #[test]
    fn a_detail_row_takes_the_events_values_and_no_content() {
        let e = Event {
            seq: 9,
            at: 0,
            kind: Kind::PolicyViolation,
            fields: Fields::new()
                .with(Field::EmailLocalId, "G")
                .with(Field::EmailFromAddress, "a@x")
                .with_each(Field::EmailToAddress, ["b@y", "c@y"])
                .with(Field::EmailSubject, "=1+1")
                .with(Field::RuleName, "PCI")
                .with(Field::PolicyAction, "block")
                .into_vec(),
        };
        let r = DetailReport {
            from: 0,
            to: 1,
            rows: vec![DetailRow::of(&e)],
            more: false,
        };
        let rows = detail_rows(&r);
        assert_eq!(rows[0].len(), DETAIL_HEADER.len());
        assert_eq!(rows[1][2], "policy.violation");
        assert_eq!(rows[1][6], "b@y; c@y");
        assert_eq!(rows[1][12], "PCI");
        assert_eq!(rows[1][13], "block");
        let bytes = csv::write(&rows, false);
        assert!(String::from_utf8(bytes).unwrap().contains(",'=1+1,"));
    }

    #[test]
    fn the_summary_has_a_row_per_item_under_a_header() {
        let r = SummaryReport {
            messages: 3,
            outcomes: vec![OutcomeRow {
                outcome: "relayed".into(),
                outbound: 2,
                inbound: 1,
                total: 3,
                ..OutcomeRow::default()
            }],
            policies: vec![PolicyCount {
                id: Some(120),
                name: "Card numbers".into(),
                count: 2,
            }],
            senders: vec![Count {
                key: "a@x".into(),
                count: 3,
            }],
            ..SummaryReport::default()
        };
        let rows = summary_rows(&r);
        assert_eq!(rows[0], ["Section", "Item", "Count"]);
        assert!(rows.contains(&row(["Messages by outcome", "relayed", "3"])));
        assert!(rows.contains(&row(["Messages by direction", "outbound", "2"])));
        assert!(rows.contains(&row(["Incidents by policy", "120 Card numbers", "2"])));
        assert!(rows.contains(&row(["Top senders", "a@x", "3"])));
    }
}
