//! Message tracking: `/tracking` searches the messages' final dispositions (sender, recipient,
//! subject, Message-ID, client IP, outcome, time range; one row per message, newest first, a page
//! at a time: "Older" and "Newer" links carry a (time, seq) cursor over the same search) and
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
use crate::service::{Cursor, MessageTrail, Permission, TrackPage, TrackQuery};

/// Rows a page shows.
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

/// The query from the form's fields and the page's cursor (`before` or `after`); a time or a
/// cursor that does not parse is the error shown.
pub(crate) fn query(call: &Call) -> Result<TrackQuery, String> {
    let text = |n: &str| call.query(n).map(|v| v.trim().to_string());
    let at = |n: &str, label: &str| {
        call.query(n)
            .map(|v| crate::units::time::parse(v, call.now).map_err(|e| format!("{label}: {e}")))
            .transpose()
    };
    let cursor = |n: &str| {
        call.query(n)
            .map(|v| {
                Cursor::parse(v).ok_or_else(|| format!("{n} {v:?}: not a page cursor (TIME-SEQ)"))
            })
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
        before: cursor("before")?,
        after: cursor("after")?,
    })
}

fn search(ui: &Ui, call: &Call) -> Response {
    match ui.service() {
        Ok(s) => show(&s, call),
        Err(r) => r,
    }
}

/// `GET /tracking`: one page of the search; a query that does not parse is a 400.
fn show(service: &crate::service::Service, call: &Call) -> Response {
    let found = query(call).and_then(|q| service.track(&q).map_err(|e| e.message().to_string()));
    let mut r = super::page(
        call,
        "Message tracking",
        Nav::Tracking,
        render_search(call, &found),
    );
    if found.is_err() {
        r.status = hyper::StatusCode::BAD_REQUEST;
    }
    r
}

/// The search as given (every field but the cursors), for the pager's links.
fn given(call: &Call) -> Vec<(String, String)> {
    FIELDS
        .iter()
        .map(|(name, _, _)| *name)
        .chain(["outcome", "guid"])
        .filter_map(|n| call.query(n).map(|v| (n.to_string(), v.to_string())))
        .collect()
}

/// Newest / Newer / Older links over the same search.
fn pager(call: &Call, l: &TrackPage) -> Markup {
    let search = given(call);
    let with = |name: &str, c: Cursor| {
        let mut q = search.clone();
        q.push((name.to_string(), c.to_string()));
        q
    };
    super::pager_links(
        call,
        super::newest(call).filter(|_| l.previous.is_some()),
        l.previous.map(|c| with("after", c)),
        l.next.map(|c| with("before", c)),
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
pub(crate) fn render_search(call: &Call, found: &Result<TrackPage, String>) -> Markup {
    html! {
        (form(call))
        @match found {
            Err(e) => p class="flash error" role="alert" { (e) },
            Ok(l) if l.items.is_empty() => {
                @match l.next {
                    // The page's search budget ran out before a match (see store::search).
                    Some(c) => p class="note" { "No match among the messages up to " (time(c.time))
                        " (a page searches a bounded stretch); “Older” searches on from there." },
                    None => p class="note" { "No message matches." },
                }
                (pager(call, l))
            },
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
                @if l.corrupt > 0 { p class="note" { (l.corrupt) " unreadable record(s) skipped." } }
                (pager(call, l))
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
    use crate::service::TrackRow;
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
        let found = Ok(TrackPage {
            items: vec![row()],
            more: true,
            next: Some(Cursor { time: 5, id: 9 }),
            previous: None,
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
        assert!(html.contains("2.0 KiB"));
        assert!(
            html.contains(r#"href="/tracking?subject=%22%3E%3Cscript%3E&amp;outcome=relayed&amp;before=5-9" rel="next""#),
            "{html}"
        );
        let bad = Call::new(Method::GET, "/tracking?since=whenever", peer, 0);
        assert!(query(&bad).unwrap_err().starts_with("From:"));
        // A page whose budget ran out before any match says so and offers to go on.
        let cut = Ok(TrackPage {
            items: vec![],
            more: true,
            next: Some(Cursor {
                time: 1_764_979_200,
                id: 9,
            }),
            previous: None,
            corrupt: 0,
        });
        let html = render_search(&call, &cut).into_string();
        assert!(!html.contains("No message matches"), "{html}");
        assert!(
            html.contains("No match among the messages up to 2025-12-06"),
            "{html}"
        );
        assert!(html.contains(r#"rel="next""#), "{html}");
    }

    /// The guids of a page's rows, in order, from its links to their trails.
    fn rows_of(html: &str) -> Vec<String> {
        html.split(r#"href="/tracking/"#)
            .skip(1)
            .filter_map(|s| s.split('"').next().map(str::to_string))
            .collect()
    }

    /// The `href` of the pager link with `rel`, unescaped.
    fn link(html: &str, rel: &str) -> Option<String> {
        let end = html.find(&format!(r#"" rel="{rel}""#))?;
        let start = html[..end].rfind("href=\"")? + 6;
        Some(html[start..end].replace("&amp;", "&"))
    }

    #[test]
    fn the_pager_walks_every_match_once_and_back() {
        use crate::admin::pages::fixture::{NOW, call, service, text};
        let (s, store) = service();
        for i in 0..250u64 {
            for (kind, guid) in [
                (Kind::MessageRelayed, format!("m{i}")),
                (Kind::MessageBlocked, format!("x{i}")),
            ] {
                let f = Fields::new().with(Field::EmailLocalId, guid);
                store
                    .write_blocking(move |txn| {
                        crate::store::events::append(txn, NOW - 500 + i / 2, kind, f)
                    })
                    .unwrap();
            }
        }
        let get = |url: &str| {
            let r = show(
                &s,
                &call(crate::service::Role::Auditor, Method::GET, url, ""),
            );
            (r.status, text(&r))
        };
        let (status, one) = get("/tracking?outcome=relayed");
        assert_eq!(status, hyper::StatusCode::OK);
        assert_eq!(link(&one, "prev"), None);
        let next = link(&one, "next").expect("an Older link");
        assert!(
            next.starts_with("/tracking?outcome=relayed&before="),
            "{next}"
        );
        let (_, two) = get(&next);
        let (_, three) = get(&link(&two, "next").unwrap());
        assert_eq!(link(&three, "next"), None);
        let pages = [rows_of(&one), rows_of(&two), rows_of(&three)];
        assert_eq!(
            pages.iter().map(Vec::len).collect::<Vec<_>>(),
            [100, 100, 50]
        );
        let all: Vec<String> = pages.concat();
        let expected: Vec<String> = (0..250).rev().map(|i| format!("m{i}")).collect();
        assert_eq!(all, expected);
        assert!(three.contains("« Newest"));
        let (_, back) = get(&link(&three, "prev").unwrap());
        assert_eq!(rows_of(&back), pages[1]);
        for bad in ["/tracking?before=yesterday", "/tracking?after=1-x"] {
            let (status, page) = get(bad);
            assert_eq!(status, hyper::StatusCode::BAD_REQUEST, "{bad}");
            assert!(page.contains("not a page cursor"), "{page}");
        }
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
