//! The admin UI's pages (maud, which escapes every interpolated value; data never goes through
//! `PreEscaped`): the layout every signed-in page shares (navigation by permission, the user and
//! the log-out form), error pages, and the small widgets pages are built from (CSRF field,
//! flash notes, pagers, badges, times). One module per page family, each with its `routes()`.

pub(crate) mod assets;
pub(crate) mod audit;
pub(crate) mod certificate;
pub(crate) mod chart;
pub(crate) mod config;
pub(crate) mod dashboard;
pub(crate) mod filter;
pub(crate) mod incidents;
pub(crate) mod login;
pub(crate) mod password;
pub(crate) mod policies;
pub(crate) mod quarantine;
pub(crate) mod queue;
pub(crate) mod remedy;
pub(crate) mod reports;
pub(crate) mod settings;
pub(crate) mod siem;
pub(crate) mod tracking;
pub(crate) mod users;

use maud::{DOCTYPE, Markup, html};

use super::call::Call;
use super::response::Response;
use super::ui::Ui;
use crate::service::{Permission, Service};
use hyper::StatusCode;

/// The navigation's entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nav {
    Dashboard,
    Tracking,
    Incidents,
    Quarantine,
    Queue,
    Policies,
    Settings,
    Users,
    Audit,
    Reports,
    /// A page outside the navigation (log-in, errors, account).
    None,
}

/// Label, address and the permission that shows each entry, in order.
const NAV: [(Nav, &str, &str, Permission); 10] = [
    (Nav::Dashboard, "Dashboard", "/", Permission::ViewStatus),
    (
        Nav::Tracking,
        "Tracking",
        "/tracking",
        Permission::ViewTracking,
    ),
    (
        Nav::Incidents,
        "Incidents",
        "/incidents",
        Permission::ViewIncidents,
    ),
    (
        Nav::Quarantine,
        "Quarantine",
        "/quarantine",
        Permission::ViewQuarantine,
    ),
    (Nav::Queue, "Queue", "/queue", Permission::ViewQueue),
    (
        Nav::Policies,
        "Policies",
        "/policies",
        Permission::ViewPolicies,
    ),
    (
        Nav::Settings,
        "Settings",
        "/settings",
        Permission::ViewSettings,
    ),
    (Nav::Users, "Users", "/users", Permission::ManageUsers),
    (Nav::Audit, "Audit log", "/audit", Permission::ViewAudit),
    (Nav::Reports, "Reports", "/reports", Permission::ViewReports),
];

/// A document's head: the stylesheet, the embedded script when `script`, no referrer, no indexing.
pub(crate) fn head(title: &str, script: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="no-referrer";
            meta name="robots" content="noindex, nofollow";
            title { (title) " · Sluice" }
            link rel="stylesheet" href="/assets/app.css";
            @if script {
                script src="/assets/app.js" defer {}
            }
        }
    }
}

/// A whole document: the head (stylesheet, script, no referrer), and for a signed-in call the top
/// bar with the navigation its role may see. Bidirectional controls in its text are shown
/// visibly (`page::shown_markup`), whichever page put them there.
pub(crate) fn document(call: Option<&Call>, title: &str, nav: Nav, body: Markup) -> String {
    let who = call.and_then(|c| c.principal.as_ref());
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, true))
            body {
                a class="skip" href="#content" { "Skip to content" }
                @if let Some(p) = who {
                    header class="top" {
                        a class="brand" href="/" { "Sluice" }
                        nav aria-label="Main" {
                            @for (entry, label, href, need) in NAV {
                                @if p.can(need) {
                                    @if entry == nav {
                                        a href=(href) aria-current="page" { (label) }
                                    } @else {
                                        a href=(href) { (label) }
                                    }
                                }
                            }
                        }
                        div class="who" {
                            a class="me" href="/account" { (p.user) }
                            span class="badge" { (p.role.name()) }
                            @if let Some(c) = call {
                                form method="post" action="/logout" {
                                    (csrf_field(c))
                                    button type="submit" { "Log out" }
                                }
                            }
                        }
                    }
                    main id="content" {
                        h1 { (title) }
                        (body)
                        footer { "Sluice " (env!("CARGO_PKG_VERSION")) }
                    }
                } @else {
                    main id="content" class="narrow" {
                        h1 { (title) }
                        (body)
                        footer { "Sluice email security gateway" }
                    }
                }
            }
        }
    }
    .into_string();
    super::page::shown_markup(&page).into_owned()
}

/// A 200 page for a signed-in call.
pub(crate) fn page(call: &Call, title: &str, nav: Nav, body: Markup) -> Response {
    Response::html(StatusCode::OK, document(Some(call), title, nav, body))
}

/// An error page (no navigation: it may answer someone not signed in).
pub(crate) fn failure(status: StatusCode, title: &str, text: &str) -> Response {
    Response::html(
        status,
        document(None, title, Nav::None, html! { p { (text) } }),
    )
}

/// A service error as a page (the status from `response::status_of`).
pub(crate) fn service_error(call: &Call, e: &crate::service::Error) -> Response {
    let status = super::response::status_of(e);
    let body = html! {
        p class="flash error" role="alert" { (e.message()) }
        p { a href="/" { "Back to the dashboard" } }
    };
    Response::html(
        status,
        document(Some(call), "Something went wrong", Nav::None, body),
    )
}

/// Runs `page` over the service of the server's store (the 503 page without one).
pub(crate) fn with_service(
    ui: &Ui,
    call: &Call,
    page: fn(&Service, &Call) -> Response,
) -> Response {
    match ui.service() {
        Ok(s) => page(&s, call),
        Err(r) => r,
    }
}

/// A record's status as a badge (`st-held`, `st-resolved`: colours in app.css).
pub(crate) fn status_badge(name: &str) -> Markup {
    badge(&format!("st-{name}"), &name.replace('_', " "))
}

/// A severity as a badge (`sev-high`).
pub(crate) fn severity_badge(name: &str) -> Markup {
    badge(&format!("sev-{name}"), name)
}

/// The hidden CSRF field every form of a signed-in page carries.
pub(crate) fn csrf_field(call: &Call) -> Markup {
    let token = call.principal.as_ref().and_then(|p| p.csrf()).unwrap_or("");
    html! { input type="hidden" name="csrf" value=(token); }
}

/// The CSRF token for an upload form's action (`?csrf=...`): multipart bodies are read by the
/// handler, so the gate checks the query.
pub(crate) fn csrf_query(call: &Call) -> String {
    let token = call.principal.as_ref().and_then(|p| p.csrf()).unwrap_or("");
    format!("csrf={}", super::form::encode(token))
}

/// A note after a redirect: `?ok=CODE` or `?error=CODE` picks one of the page's fixed texts
/// (never text from the query itself, so a link cannot put words on our page).
pub(crate) fn flash(call: &Call, texts: &[(&str, &str)]) -> Markup {
    let pick = |key| {
        call.query(key)
            .and_then(|code| texts.iter().find(|(c, _)| *c == code))
            .map(|(_, t)| *t)
    };
    html! {
        @if let Some(t) = pick("ok") { p class="flash ok" role="status" { (t) } }
        @if let Some(t) = pick("error") { p class="flash error" role="alert" { (t) } }
    }
}

/// "Newer" / "Older" links for a listing walked by cursor: `older` is the query for the next page
/// when there is one.
pub(crate) fn pager(call: &Call, older: Option<Vec<(String, String)>>) -> Markup {
    pager_links(call, newest(call), None, older)
}

/// When this page was reached by a cursor (`before`, `after`): the first page of the same search
/// (every query field but the cursors).
pub(crate) fn newest(call: &Call) -> Option<String> {
    let paged = call.query("before").is_some() || call.query("after").is_some();
    let search: Vec<(String, String)> = call
        .query
        .iter()
        .filter(|(k, _)| k != "before" && k != "after")
        .cloned()
        .collect();
    paged.then(|| match search.is_empty() {
        true => call.path.clone(),
        false => format!("{}?{}", call.path, super::form::encode_pairs(&search)),
    })
}

/// A pager's links: to the newest page (`newest`, a whole URL), to the previous page (newer rows)
/// and to the next one (older rows; their queries, on this path), each when given.
pub(crate) fn pager_links(
    call: &Call,
    newest: Option<String>,
    newer: Option<Vec<(String, String)>>,
    older: Option<Vec<(String, String)>>,
) -> Markup {
    let href = |q: &[(String, String)]| format!("{}?{}", call.path, super::form::encode_pairs(q));
    html! {
        nav class="pager" aria-label="Pages" {
            @if let Some(url) = newest {
                a href=(url) { "« Newest" }
            }
            @if let Some(q) = newer {
                a href=(href(&q)) rel="prev" { "‹ Newer" }
            }
            @if let Some(q) = older {
                a href=(href(&q)) rel="next" { "Older »" }
            }
        }
    }
}

/// A small coloured label: `class` picks the colour (`sev-high`, `out-relayed`, ...).
pub(crate) fn badge(class: &str, text: &str) -> Markup {
    html! { span class=(format!("badge {class}")) { (text) } }
}

/// A time as `2026-12-05 15:00 UTC`.
pub(crate) fn time(unix: u64) -> String {
    super::page::utc(unix)
}

/// `YYYY-MM-DD` of a time (date inputs).
pub(crate) fn date(unix: u64) -> String {
    crate::units::time::minutes(unix)
        .split(' ')
        .next()
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod tests;
