//! The incidents pages over a real in-memory store: filter and pages, the detail with findings and
//! history, single and bulk actions with the CLI's refusals, roles, and hostile values rendered
//! inert.

use hyper::{Method, StatusCode};

use super::super::fixture::*;
use super::{detail, list};
use crate::service::{IncidentId, Role};
use crate::store::records::IncidentStatus;

fn get(s: &crate::service::Service, role: Role, path: &str) -> (StatusCode, String) {
    let r = list::show(s, &call(role, Method::GET, path, ""));
    (r.status, text(&r))
}

#[test]
fn the_listing_filters_pages_by_cursor_and_says_its_order() {
    let (s, store) = service();
    for n in 0..5 {
        add(
            &store,
            Mail {
                n,
                subject: &format!("report {n}"),
                ..Mail::default()
            },
        );
    }
    add(
        &store,
        Mail {
            n: 9,
            sender: "mallory@evil.example",
            subject: "other",
            ..Mail::default()
        },
    );
    let (status, page) = get(&s, Role::Auditor, "/incidents?limit=2");
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Newest first (the store's order)"), "{page}");
    assert!(
        page.contains(">other</a>") && page.contains(">report 4</a>"),
        "{page}"
    );
    assert!(!page.contains(">report 3</a>"));
    // The next page is a link with the cursor of the last row.
    let older = page
        .split("href=\"/incidents?")
        .nth(1)
        .expect("an Older link");
    let query = older.split('"').next().unwrap().replace("&amp;", "&");
    assert!(query.contains("before="), "{query}");
    let (_, second) = get(&s, Role::Auditor, &format!("/incidents?{query}&limit=2"));
    assert!(
        second.contains(">report 3</a>") && second.contains(">report 2</a>"),
        "{second}"
    );
    assert!(!second.contains(">other</a>"));
    // "Newest" goes back to the first page of the same search, not to every incident.
    let (_, filtered) = get(
        &s,
        Role::Auditor,
        &format!("/incidents?sender=%40corp.example&limit=2&{query}"),
    );
    let newest = filtered
        .split("\">« Newest")
        .next()
        .and_then(|h| h.rsplit("href=\"").next())
        .expect("a Newest link");
    assert!(
        newest.starts_with("/incidents?sender=%40corp.example") && !newest.contains("before="),
        "{newest}"
    );
    // Filters: sender by domain, subject text.
    let (_, by_sender) = get(&s, Role::Auditor, "/incidents?sender=%40evil.example");
    assert!(by_sender.contains(">other</a>") && !by_sender.contains(">report 1</a>"));
    let (_, by_subject) = get(&s, Role::Auditor, "/incidents?subject=REPORT+1");
    assert!(by_subject.contains(">report 1</a>") && !by_subject.contains(">report 2</a>"));
    // A bad value is named, and nothing is listed.
    let (status, bad) = get(&s, Role::Auditor, "/incidents?severity=severe");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.contains("severity &quot;severe&quot;: use one of"),
        "{bad}"
    );
    // An auditor gets no checkboxes and no bulk form; a remediator does, with the CSRF token.
    assert!(!page.contains("name=\"id\"") && !page.contains("/incidents/bulk"));
    let (_, r) = get(&s, Role::Remediator, "/incidents");
    assert!(r.contains(r#"action="/incidents/bulk""#) && r.contains(&format!(r#"value="{CSRF}""#)));
    assert!(r.contains(r#"data-select-all="id""#));
}

#[test]
fn the_detail_shows_metadata_findings_in_context_and_history() {
    let (s, store) = service();
    let (inc, held) = add(&store, Mail::default());
    let r = detail::show(
        &s,
        &with_id(call(Role::Administrator, Method::GET, "/", ""), inc),
    );
    assert_eq!(r.status, StatusCode::OK);
    let page = text(&r);
    assert!(page.contains("Credit card number") && page.contains("4111 **** **** 1111"));
    assert!(
        page.contains("<td>cards</td>")
            && page.contains("<td>2</td>")
            && page.contains("<td>body</td>"),
        "{page}"
    );
    assert!(page.contains(&format!(r#"href="/quarantine/{}""#, held.unwrap())));
    assert!(page.contains(&format!(r#"action="/incidents/{inc}/act""#)));
    assert!(page.contains(&format!(r#"name="csrf" value="{CSRF}""#)));
    // An auditor sees no forms.
    let r = detail::show(&s, &with_id(call(Role::Auditor, Method::GET, "/", ""), inc));
    assert!(!text(&r).contains("<form method=\"post\" action=\"/incidents/"));
    let missing = detail::show(&s, &with_id(call(Role::Auditor, Method::GET, "/", ""), 999));
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[test]
fn actions_change_the_incident_under_the_users_name_and_refusals_say_why() {
    let (s, store) = service();
    let (blocked, _) = add(
        &store,
        Mail {
            held: false,
            ..Mail::default()
        },
    );
    let note = with_id(
        call(
            Role::Remediator,
            Method::POST,
            "/",
            "op=note&text=checked+with+HR",
        ),
        blocked,
    );
    let r = super::super::remedy::act_on(
        &s,
        &note,
        crate::remediate::Target::Incident,
        super::super::Nav::Incidents,
        &["note", "release"],
    );
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        location(&r),
        Some(format!("/incidents/{blocked}?ok=note").as_str())
    );
    let v = s.show_incident(IncidentId(blocked)).unwrap();
    let last = v.history.last().unwrap();
    assert_eq!((last.actor.as_str(), last.action.as_str()), ("ann", "note"));
    // Releasing an incident without a held message is refused, as in the CLI, and recorded.
    let release = with_id(
        call(Role::Remediator, Method::POST, "/", "op=release"),
        blocked,
    );
    let r = detail::act(&s, &release);
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        text(&r).contains("no held message (the message was blocked)"),
        "{}",
        text(&r)
    );
    let v = s.show_incident(IncidentId(blocked)).unwrap();
    assert!(
        v.history
            .last()
            .unwrap()
            .result
            .starts_with("refused: no held message")
    );
    // An unknown op changes nothing.
    let r = detail::act(
        &s,
        &with_id(
            call(Role::Remediator, Method::POST, "/", "op=rescan"),
            blocked,
        ),
    );
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Resolve.
    let r = detail::act(
        &s,
        &with_id(
            call(Role::Remediator, Method::POST, "/", "op=resolve"),
            blocked,
        ),
    );
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        s.show_incident(IncidentId(blocked))
            .unwrap()
            .incident
            .status,
        IncidentStatus::Resolved
    );
    let shown = detail::show(
        &s,
        &with_id(
            call(Role::Remediator, Method::GET, "/x?ok=resolve", ""),
            blocked,
        ),
    );
    assert!(text(&shown).contains("The incident is resolved."));
}

#[test]
fn bulk_over_a_selection_lists_each_outcome() {
    let (s, store) = service();
    let (a, _) = add(
        &store,
        Mail {
            n: 1,
            ..Mail::default()
        },
    );
    let (b, _) = add(
        &store,
        Mail {
            n: 2,
            held: false,
            ..Mail::default()
        },
    );
    let body = format!("op=release&scope=selected&id={a}&id={b}");
    let r = list::bulk(
        &s,
        &call(Role::Remediator, Method::POST, "/incidents/bulk", &body),
    );
    assert_eq!(r.status, StatusCode::OK);
    let page = text(&r);
    assert!(
        page.contains("released 1, refused 1 (no held message (the message was blocked))"),
        "{page}"
    );
    assert!(
        page.contains("queued for delivery to 1 recipient(s)"),
        "{page}"
    );
    let r = list::bulk(
        &s,
        &call(
            Role::Remediator,
            Method::POST,
            "/incidents/bulk",
            "op=resolve&scope=selected",
        ),
    );
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[test]
fn bulk_over_the_filter_asks_first_then_acts_on_every_match() {
    let (s, store) = service();
    for n in 0..3 {
        add(
            &store,
            Mail {
                n,
                ..Mail::default()
            },
        );
    }
    let (other, _) = add(
        &store,
        Mail {
            n: 7,
            sender: "carol@corp.example",
            ..Mail::default()
        },
    );
    let body = "op=dismiss&scope=all&sender=alice%40corp.example";
    let r = list::bulk(
        &s,
        &call(Role::Remediator, Method::POST, "/incidents/bulk", body),
    );
    assert_eq!(r.status, StatusCode::OK);
    let page = text(&r);
    assert!(page.contains("3 incidents match the filter"), "{page}");
    assert!(
        page.contains(r#"name="confirm" value="yes""#)
            && page.contains(r#"name="sender" value="alice@corp.example""#)
    );
    // Nothing changed yet.
    let open = |s: &crate::service::Service| {
        s.list_incidents(&crate::service::Query {
            status: Some("new".into()),
            ..Default::default()
        })
        .unwrap()
        .items
        .len()
    };
    assert_eq!(open(&s), 4);
    let r = list::bulk(
        &s,
        &call(
            Role::Remediator,
            Method::POST,
            "/incidents/bulk",
            &format!("{body}&confirm=yes"),
        ),
    );
    assert!(text(&r).contains("dismissed 3, refused 0"), "{}", text(&r));
    assert_eq!(open(&s), 1);
    assert_eq!(
        s.show_incident(IncidentId(other)).unwrap().incident.status,
        IncidentStatus::New
    );
}

#[test]
fn hostile_values_render_inert_on_every_incident_page() {
    let (s, store) = service();
    let (inc, _) = add(
        &store,
        Mail {
            sender: IMG,
            subject: SCRIPT,
            policy: IMG,
            ..Mail::default()
        },
    );
    add(
        &store,
        Mail {
            n: 2,
            sender: SCRIPT,
            subject: IMG,
            policy: SCRIPT,
            ..Mail::default()
        },
    );
    let (_, page) = get(&s, Role::Administrator, "/incidents");
    assert_inert(&page);
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    let r = detail::show(
        &s,
        &with_id(call(Role::Administrator, Method::GET, "/", ""), inc),
    );
    assert_inert(&text(&r));
    assert!(text(&r).contains("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"));
    let r = list::bulk(
        &s,
        &call(
            Role::Remediator,
            Method::POST,
            "/incidents/bulk",
            "op=resolve&scope=all",
        ),
    );
    assert_inert(&text(&r));
    let r = list::bulk(
        &s,
        &call(
            Role::Remediator,
            Method::POST,
            "/incidents/bulk",
            &format!("op=resolve&scope=selected&id={inc}"),
        ),
    );
    assert_inert(&text(&r));
}
