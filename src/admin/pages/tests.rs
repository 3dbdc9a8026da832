//! The layout and widgets: navigation by role, escaping of every value, the CSRF field, flash
//! texts only from the page's own list, pagers that keep the filter.

use std::net::IpAddr;

use hyper::Method;
use maud::html;

use super::*;
use crate::admin::call::{Principal, Via};
use crate::service::Role;

fn call(role: Role, path: &str) -> Call {
    let peer: IpAddr = "127.0.0.1".parse().unwrap();
    let mut c = Call::new(Method::GET, path, peer, 1_700_000_000);
    c.principal = Some(Principal {
        user: "ann<b>".into(),
        role,
        via: Via::Session {
            id: "sid".into(),
            csrf: "tok\"en".into(),
        },
    });
    c
}

#[test]
fn the_navigation_shows_what_the_role_may_see() {
    let admin = document(
        Some(&call(Role::Administrator, "/")),
        "T",
        Nav::Dashboard,
        html! {},
    );
    for label in [
        "Dashboard",
        "Tracking",
        "Incidents",
        "Quarantine",
        "Policies",
        "Settings",
        "Users",
        "Audit log",
        "Reports",
    ] {
        assert!(admin.contains(&format!(">{label}</a>")), "{label}");
    }
    assert!(admin.contains(r#"<a href="/" aria-current="page">Dashboard</a>"#));
    let remediator = document(
        Some(&call(Role::Remediator, "/")),
        "T",
        Nav::Incidents,
        html! {},
    );
    assert!(remediator.contains(">Quarantine</a>"));
    assert!(!remediator.contains(">Settings</a>") && !remediator.contains(">Users</a>"));
    let auditor = document(Some(&call(Role::Auditor, "/")), "T", Nav::None, html! {});
    assert!(auditor.contains(">Audit log</a>") && !auditor.contains(">Users</a>"));
    let nobody = document(None, "T", Nav::None, html! {});
    assert!(!nobody.contains("<nav"));
}

#[test]
fn user_names_titles_and_tokens_are_escaped() {
    let page = document(
        Some(&call(Role::Auditor, "/")),
        "<script>alert(1)</script>",
        Nav::None,
        html! {},
    );
    assert!(!page.contains("<script>alert(1)"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(page.contains("ann&lt;b&gt;"));
    assert!(page.contains(r#"name="csrf" value="tok&quot;en""#));
    // Our only script is the embedded file; the CSP forbids any other.
    assert_eq!(page.matches("<script").count(), 1);
    assert!(page.contains(r#"<script src="/assets/app.js" defer></script>"#));
}

#[test]
fn flash_texts_come_from_the_page_not_the_query() {
    let texts = [("released", "Released.")];
    let c = call(Role::Administrator, "/x?ok=released&error=%3Cb%3Eowned");
    let out = flash(&c, &texts).into_string();
    assert!(out.contains("Released."));
    assert!(!out.contains("owned"));
}

#[test]
fn the_pager_links_the_next_page_with_the_filter() {
    let c = call(Role::Administrator, "/incidents?severity=high&before=5");
    let out = pager(
        &c,
        Some(vec![
            ("severity".into(), "high".into()),
            ("before".into(), "1-2".into()),
        ]),
    )
    .into_string();
    assert!(
        out.contains(r#"href="/incidents?severity=high&amp;before=1-2""#),
        "{out}"
    );
    // The newest page of the same search (the filter kept, the cursor dropped).
    assert!(
        out.contains(r#"href="/incidents?severity=high">« Newest"#),
        "{out}"
    );
}
