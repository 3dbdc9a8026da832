//! Message tracking: `/tracking` searches the messages' final dispositions (sender, recipient,
//! subject, Message-ID, client IP, outcome, time range; one row per message, newest first) and
//! `/tracking/{guid}` shows one message's whole trail (every event about it in order, its held
//! record and its incidents). Data from `Service::track` and `Service::trail`; every value
//! (subjects, addresses, reasons) escaped by maud.

use maud::{Markup, html};

use super::super::call::Call;
use super::super::response::Response;
use super::super::router::{Access, Def};
use super::super::ui::Ui;
use super::{Nav, badge, time};
use crate::events::Field;
use crate::service::{Listing, MessageTrail, Permission, TrackQuery, TrackRow};

/// Rows a search shows.
const ROWS: usize = 100;

pub(crate) fn routes() -> Vec<Def> {
    vec![
        Def::get(
            "/tracking",
            "tracking",
            Access::Signed(Permission::ViewTracking),
            search,
        ),
        Def::get(
            "/tracking/{guid}",
            "tracking.trail",
            Access::Signed(Permission::ViewTracking),
            trail,
        ),
    ]
}

/// The search form's fields: (query name, label, placeholder).
const FIELDS: [(&str, &str, &str); 7] = [
    ("sender", "Sender", "a@corp.example or @corp.example"),
    ("recipient", "Recipient", "b@partner.example"),
    ("subject", "Subject contains", ""),
    ("message_id", "Message-ID", "<id@host>"),
    ("client_ip", "Client IP", "192.0.2.7"),
    ("since", "From", "2026-12-05, RFC 3339 or 2d"),
    ("until", "To", "2026-12-05T18:00:00Z"),
];

/// The query from the form's fields; a time that does not parse is the error shown.
pub(crate) fn query(call: &Call) -> Result<TrackQuery, String> {
    let text = |n: &str| call.query(n).map(|v| v.trim().to_string());
    let at = |n: &str, label: &str| {
        call.query(n)
            .map(|v| crate::units::time::parse(v, call.now).map_err(|e| format!("{label}: {e}")))
            .transpose()
    };
    Ok(TrackQuery {
        sender: text("sender"),
        recipient: text("recipient"),
        subject: text("subject"),
        message_id: text("message_id"),
        client_ip: text("client_ip"),
        guid: text("guid"),
        outcome: text("outcome"),
        direction: None,
        since: at("since", "From")?,
        until: at("until", "To")?,
        limit: Some(ROWS),
    })
}

fn search(ui: &Ui, call: &Call) -> Response {
    let service = match ui.service() {
        Ok(s) => s,
        Err(r) => return r,
    };
    let found = query(call).and_then(|q| service.track(&q).map_err(|e| e.message().to_string()));
    super::page(
        call,
        "Message tracking",
        Nav::Tracking,
        render_search(call, &found),
    )
}

fn form(call: &Call) -> Markup {
    let outcomes = crate::store::tracking::outcomes();
    let chosen = call.query("outcome");
    html! {
        form class="filters" method="get" action="/tracking" {
            @for (name, label, hint) in FIELDS {
                label { (label) input type="text" name=(name) value=(call.query(name).unwrap_or("")) placeholder=(hint); }
            }
            label { "Outcome"
                select name="outcome" {
                    option value="" { "any" }
                    @for o in &outcomes {
                        @if Some(*o) == chosen { option value=(o) selected { (o) } } @else { option value=(o) { (o) } }
                    }
                }
            }
            button type="submit" { "Search" }
        }
    }
}

/// The search page: the form, then the rows or the error.
pub(crate) fn render_search(call: &Call, found: &Result<Listing<TrackRow>, String>) -> Markup {
    html! {
        (form(call))
        @match found {
            Err(e) => p class="flash error" role="alert" { (e) },
            Ok(l) if l.items.is_empty() => p class="note" { "No message matches." },
            Ok(l) => {
                table {
                    thead { tr {
                        th { "Time" } th { "From" } th { "To" } th { "Subject" } th { "Client" }
                        th { "Outcome" } th { "Size" } th { "Policies" }
                    } }
                    tbody {
                        @for r in &l.items {
                            tr {
                                td { a href=(format!("/tracking/{}", super::super::form::encode(&r.guid))) { (time(r.at)) } }
                                td { (r.from) }
                                td { (r.to.join(", ")) }
                                td { (r.subject) }
                                td { (r.client_ip) }
                                td { (badge(&format!("out-{}", r.outcome), &r.outcome)) }
                                td { (r.size.map(super::super::page::size).unwrap_or_default()) }
                                td { (r.policies.join(", ")) }
                            }
                        }
                    }
                }
                @if l.more { p class="note" { "More messages match than the " (ROWS) " shown: narrow the search." } }
            }
        }
    }
}

fn trail(ui: &Ui, call: &Call) -> Response {
    let service = match ui.service() {
        Ok(s) => s,
        Err(r) => return r,
    };
    let guid = call.param("guid").unwrap_or_default();
    match service.trail(guid) {
        Ok(t) => super::page(call, "Message trail", Nav::Tracking, render_trail(&t)),
        Err(e) => super::service_error(call, &e),
    }
}

/// What one event says besides its kind: the values an administrator reads in a trail.
fn detail(e: &crate::events::Event) -> String {
    const SHOWN: [(Field, &str); 10] = [
        (Field::RuleName, "policy"),
        (Field::PolicyAction, "action"),
        (Field::Remediation, "action"),
        (Field::UserName, "by"),
        (Field::EmailToAddress, "to"),
        (Field::DestinationAddress, "next hop"),
        (Field::Dsn, "dsn"),
        (Field::Reply, "reply"),
        (Field::EventReason, "reason"),
        (Field::Attempt, "attempt"),
    ];
    SHOWN
        .iter()
        .filter_map(|(f, label)| {
            let values: Vec<&str> = e.all(*f).collect();
            (!values.is_empty()).then(|| format!("{label}: {}", values.join(", ")))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The trail page: the message's facts, its events in order, its held record and incidents.
pub(crate) fn render_trail(t: &MessageTrail) -> Markup {
    let first = t
        .events
        .iter()
        .find(|e| e.get(Field::EmailFromAddress).is_some());
    let get = |f| first.and_then(|e| e.get(f)).unwrap_or_default();
    html! {
        table class="kv" {
            tr { th { "GUID" } td { code { (t.guid) } } }
            tr { th { "From" } td { (get(Field::EmailFromAddress)) } }
            tr { th { "To" } td { (first.map(|e| e.all(Field::EmailToAddress).collect::<Vec<_>>().join(", ")).unwrap_or_default()) } }
            tr { th { "Subject" } td { (get(Field::EmailSubject)) } }
            tr { th { "Message-ID" } td { (get(Field::EmailMessageId)) } }
            tr { th { "Client" } td { (get(Field::SourceIp)) } }
        }
        h2 { "What happened" }
        @if t.events.is_empty() {
            p class="note" { "The event outbox no longer holds this message's events." }
        } @else {
            table {
                thead { tr { th { "Time" } th { "Event" } th { "Details" } } }
                tbody {
                    @for e in &t.events {
                        tr {
                            td { (time(e.at)) }
                            td { (e.kind.summary()) br; small { code { (e.kind.name()) } } }
                            td { (detail(e)) }
                        }
                    }
                }
            }
            @if t.cut { p class="note" { "Only the first " (crate::service::MAX_TRAIL) " events are shown." } }
        }
        @if let Some(h) = &t.held {
            h2 { "Held message" }
            p { a href=(format!("/quarantine/{}", h.id)) { "Held message " (h.id) } " · " (h.status.name()) }
        }
        @if !t.incidents.is_empty() {
            h2 { "Incidents" }
            ul {
                @for i in &t.incidents {
                    li { a href=(format!("/incidents/{}", i.id)) { "Incident " (i.id) } " · " (i.policy.name) " · " (i.policy.severity.name()) " · " (i.status.name()) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Event, Fields, Kind};
    use hyper::Method;

    const HOSTILE: &str = "\"><img src=x onerror=alert(1)><script>alert(2)</script>";

    fn row() -> TrackRow {
        TrackRow {
            seq: 1,
            at: 0,
            guid: "g/1".into(),
            from: format!("a{HOSTILE}@x"),
            to: vec![HOSTILE.into()],
            subject: HOSTILE.into(),
            message_id: HOSTILE.into(),
            client_ip: "192.0.2.7".into(),
            direction: "outbound".into(),
            outcome: "relayed".into(),
            size: Some(2048),
            policies: vec![HOSTILE.into()],
            next_hop: String::new(),
            dsn: String::new(),
        }
    }

    #[test]
    fn rows_and_the_form_render_hostile_values_inert() {
        let peer = "127.0.0.1".parse().unwrap();
        let url = "/tracking?subject=%22%3E%3Cscript%3E&outcome=relayed";
        let call = Call::new(Method::GET, url, peer, 0);
        let found = Ok(Listing {
            items: vec![row()],
            more: true,
            corrupt: 0,
        });
        let html = render_search(&call, &found).into_string();
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains(r#"href="/tracking/g%2F1""#), "{html}");
        assert!(html.contains(r#"<option value="relayed" selected>"#));
        assert!(html.contains("2.0 KiB") && html.contains("narrow the search"));
        let bad = Call::new(Method::GET, "/tracking?since=whenever", peer, 0);
        assert!(query(&bad).unwrap_err().starts_with("From:"));
    }

    #[test]
    fn the_trail_lists_events_in_order_escaped() {
        let ev = |seq, kind, f: Fields| Event {
            seq,
            at: seq,
            kind,
            fields: f.into_vec(),
        };
        let t = MessageTrail {
            guid: "G".into(),
            events: vec![
                ev(
                    1,
                    Kind::MessageQuarantined,
                    Fields::new()
                        .with(Field::EmailFromAddress, "a@x")
                        .with(Field::EmailSubject, HOSTILE),
                ),
                ev(
                    2,
                    Kind::QuarantineReleased,
                    Fields::new().with(Field::UserName, HOSTILE),
                ),
                ev(
                    3,
                    Kind::QueueDelivered,
                    Fields::new().with(Field::EmailToAddress, "b@y"),
                ),
            ],
            cut: false,
            held: None,
            incidents: vec![],
        };
        let html = render_trail(&t).into_string();
        assert!(!html.contains("<script") && !html.contains("<img"));
        let (q, r, d) = (
            html.find("message.quarantined").unwrap(),
            html.find("quarantine.released").unwrap(),
            html.find("queue.delivered").unwrap(),
        );
        assert!(q < r && r < d);
    }
}
