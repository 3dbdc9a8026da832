//! The role matrix of issue 13 written out by area, independent of the route table's own
//! `Access` values and of `service::access`: administrator everything; policy author the
//! policies and read access to status, tracking, incidents and reports; remediator incidents and
//! quarantine (view and act) with status, tracking and reports; auditor read-only everything
//! (settings, policies, quarantine, the audit log) plus reports; and the gateway queue of issue
//! 14: every role sees it, administrators and remediators act on it. Every route of
//! `routes::all()` is classified by its method and path, so a route added later is checked too,
//! and one in an area this table does not know fails the test until the area is written here.

use hyper::Method;

use super::router::Access;
use super::routes;
use crate::service::Role;

/// Who may reach a route: administrator, policy author, remediator, auditor.
type Who = [bool; 4];

const EVERYONE: Who = [true, true, true, true];
const ADMIN: Who = [true, false, false, false];
const POLICIES: Who = [true, true, false, false];
const READ_POLICIES: Who = [true, true, false, true];
const REMEDY: Who = [true, false, true, false];
const READ_QUARANTINE: Who = [true, false, true, true];
const READ_ADMIN: Who = [true, false, false, true];

/// Without a sign-in (`Open`, `Anonymous`), or the roles a signed-in route admits; `None`: an
/// area this table does not know.
fn expected(method: &Method, path: &str) -> Option<Option<Who>> {
    let read = *method == Method::GET;
    let p = path.strip_prefix("/api/v1").unwrap_or(path);
    let under = |area: &str| p == area || p.starts_with(&format!("{area}/"));
    let anonymous = ["/healthz", "/readyz", "/metrics", "/login", "/openapi.json"];
    if anonymous.contains(&p) || ["/approval", "/setup", "/assets"].iter().any(|a| under(a)) {
        return Some(None);
    }
    let who =
        if p == "/" || p == "/logout" || p == "/whoami" || under("/account") || under("/tokens") {
            // Oneself: the dashboard, signing out, one's own password and tokens (page and API).
            EVERYONE
        } else if under("/tracking") || under("/reports") || under("/status") || under("/dashboard")
        {
            match read {
                true => EVERYONE,
                false => return None,
            }
        } else if under("/incidents") {
            if read { EVERYONE } else { REMEDY }
        } else if p.ends_with("/raw") && under("/quarantine") {
            ADMIN
        } else if under("/quarantine") {
            if read { READ_QUARANTINE } else { REMEDY }
        } else if under("/queue") {
            // Everyone sees the queue; administrators and remediators act on it (issue 14).
            if read { EVERYONE } else { REMEDY }
        } else if p == "/policies/test"
            || p == "/policy-test"
            || (read && (under("/policies") || under("/config/history")))
        {
            // Trying a policy on a message changes nothing.
            READ_POLICIES
        } else if under("/policies") {
            POLICIES
        } else if p == "/settings/template"
            || (p.starts_with("/settings/templates/") && p.ends_with("/preview"))
            || (read && (under("/settings") || under("/config") || under("/certificate")))
        {
            // A template preview changes nothing (the page's save is checked by its handler).
            READ_ADMIN
        } else if under("/settings") || under("/config") || under("/certificate") {
            ADMIN
        } else if under("/audit") {
            if read { READ_ADMIN } else { ADMIN }
        } else if under("/users") {
            ADMIN
        } else {
            return None;
        };
    Some(Some(who))
}

#[test]
fn every_route_admits_exactly_the_roles_of_the_matrix() {
    let mut unknown = Vec::new();
    let mut wrong = Vec::new();
    for def in routes::all() {
        let route = format!("{} {}", def.method, def.path);
        match (expected(&def.method, def.path), def.access) {
            (None, _) => unknown.push(route),
            (Some(None), Access::Open | Access::Anonymous) => {}
            (Some(None), a) => wrong.push(format!("{route}: {a:?}, expected no sign-in")),
            (Some(Some(_)), a @ (Access::Open | Access::Anonymous)) => {
                wrong.push(format!("{route}: {a:?}, expected a signed-in role"))
            }
            (Some(Some(who)), Access::Signed(p)) => {
                for (role, want) in Role::ALL.into_iter().zip(who) {
                    if role.allows(p) != want {
                        wrong.push(format!(
                            "{route}: {role} {} ({p:?})",
                            if want { "refused" } else { "admitted" }
                        ));
                    }
                }
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "routes in no area of the matrix (add their area): {unknown:#?}"
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn the_matrix_covers_the_routes_of_every_area() {
    // The table is not vacuous: each kind of answer occurs.
    let all: Vec<_> = routes::all()
        .iter()
        .filter_map(|d| expected(&d.method, d.path).flatten())
        .collect();
    for who in [
        EVERYONE,
        ADMIN,
        POLICIES,
        READ_POLICIES,
        REMEDY,
        READ_QUARANTINE,
        READ_ADMIN,
    ] {
        assert!(all.contains(&who), "{who:?}");
    }
}
