//! Each role reaches exactly what it should, over HTTPS against the real binary: one account per
//! role made with `sluice user add`, signed in (pages) and given an API token (`/api/v1`), then a
//! representative route of every permission asked for by each, GETs and POSTs (with the session's
//! valid CSRF token, so a 403 can only be the role's). The expectation is written out here from
//! the issue (administrator everything; policy author policies and viewing; remediator incidents
//! and quarantine; auditor read-only plus reports; every role sees the gateway queue,
//! administrators and remediators act on it), not read from the code; every route of the table is
//! checked against the same matrix by `admin::role_matrix`. Every 403 leaves an
//! `admin.access_denied` audit event naming the user and the route.

mod support;

use std::time::Duration;

use support::admin::{add_user, csrf_of, form, get, log_in, post};
use support::https::Reply;
use support::sluice::{Sluice, config};

const WAIT: Duration = Duration::from_secs(10);
const ROLES: [&str; 4] = ["administrator", "policy-author", "remediator", "auditor"];

/// Who may: administrator, policy author, remediator, auditor.
type Who = [bool; 4];
const EVERYONE: Who = [true, true, true, true];
const ADMIN: Who = [true, false, false, false];
const POLICIES: Who = [true, true, false, false];
const READ_POLICIES: Who = [true, true, false, true];
const REMEDY: Who = [true, false, true, false];
const READ_QUARANTINE: Who = [true, false, true, true];
const READ_ADMIN: Who = [true, false, false, true];

/// A request: method, path, body, who may, the route's name (as audit entries give it).
struct Ask {
    post: bool,
    path: &'static str,
    body: &'static str,
    who: Who,
    route: &'static str,
}

const fn page(path: &'static str, who: Who, route: &'static str) -> Ask {
    Ask {
        post: false,
        path,
        body: "",
        who,
        route,
    }
}

const fn act(path: &'static str, body: &'static str, who: Who, route: &'static str) -> Ask {
    Ask {
        post: true,
        path,
        body,
        who,
        route,
    }
}

/// The pages and forms, one or more per permission, asked with the session cookie.
const PAGES: [Ask; 26] = [
    page("/", EVERYONE, "dashboard"),
    page("/tracking", EVERYONE, "tracking"),
    page("/reports", EVERYONE, "reports"),
    page("/incidents", EVERYONE, "incidents"),
    page("/incidents/1", EVERYONE, "incident"),
    page("/quarantine", READ_QUARANTINE, "quarantine"),
    page("/quarantine/1/raw", ADMIN, "held.raw"),
    page("/queue", EVERYONE, "queue"),
    page("/policies", READ_POLICIES, "policies.list"),
    page("/config/history", READ_POLICIES, "config.history"),
    page("/settings", READ_ADMIN, "settings.show"),
    page("/settings/siem", READ_ADMIN, "settings.siem"),
    page("/settings/certificate", READ_ADMIN, "settings.certificate"),
    page("/audit", READ_ADMIN, "audit"),
    page("/users", ADMIN, "users"),
    page("/account", EVERYONE, "account"),
    page("/account/password", EVERYONE, "account.password"),
    act("/incidents/1/act", "op=resolve", REMEDY, "incident.act"),
    act("/quarantine/1/act", "op=delete", REMEDY, "held.act"),
    act("/queue/switches", "switch=none", REMEDY, "queue.switches"),
    act(
        "/policies/enabled",
        "name=none&enabled=false",
        POLICIES,
        "policies.enabled",
    ),
    act("/settings/save", "group=listener", ADMIN, "settings.save"),
    act("/settings/siem/save", "name=", ADMIN, "settings.siem.save"),
    act("/config/history/999/rollback", "", ADMIN, "config.rollback"),
    act("/users", "name=", ADMIN, "users.add"),
    act(
        "/account/tokens",
        "expires=1d",
        EVERYONE,
        "account.token_create",
    ),
];

/// The API, asked with each role's bearer token.
const API: [Ask; 10] = [
    page("/api/v1/whoami", EVERYONE, "api.whoami"),
    page("/api/v1/tracking", EVERYONE, "api.tracking"),
    page("/api/v1/incidents", EVERYONE, "api.incidents"),
    page("/api/v1/quarantine", READ_QUARANTINE, "api.quarantine"),
    page("/api/v1/queue", EVERYONE, "api.queue"),
    page(
        "/api/v1/reports/summary?from=2026-01-01&to=2026-01-02",
        EVERYONE,
        "api.reports.summary",
    ),
    page("/api/v1/quarantine/1/raw", ADMIN, "api.held.raw"),
    act(
        "/api/v1/incidents/1/actions",
        "{}",
        REMEDY,
        "api.incident.act",
    ),
    act(
        "/api/v1/quarantine/actions",
        "{}",
        REMEDY,
        "api.quarantine.bulk",
    ),
    act("/api/v1/queue/actions", "{}", REMEDY, "api.queue.act"),
];

fn start() -> Sluice {
    let s = Sluice::start(&config(
        "",
        "mode = \"forward\"\nhosts = [\"127.0.0.1:9\"]",
        "[admin]\naddress = \"127.0.0.1:0\"\npublic_url = \"https://localhost\"\n",
    ));
    assert!(s.wait_log("admin UI serving", WAIT));
    s
}

fn password(role: &str) -> String {
    format!("{role}'s long password")
}

/// The outbox's `admin.access_denied` events, each as its JSON line.
fn denials(s: &Sluice) -> Vec<String> {
    let (code, out, err) = s.cli(&["events", "list", "--json", "--limit", "10000"]);
    assert_eq!(code, 0, "{err}");
    out.lines()
        .filter(|l| l.contains("\"admin.access_denied\""))
        .map(str::to_string)
        .collect()
}

/// Whether `r` is a refusal for the role (and not some other answer).
fn refused(r: &Reply) -> bool {
    r.status == 403
}

/// An answer that got past the gate: not a refusal, not a sign-in redirect, no server error.
fn admitted(r: &Reply) -> bool {
    r.status != 403
        && r.status != 401
        && r.status < 500
        && r.header("location")
            .is_none_or(|l| !l.starts_with("/login"))
}

#[test]
fn each_role_reaches_exactly_what_the_matrix_says_and_every_refusal_is_audited() {
    let s = start();
    let mut denied = Vec::new();
    let mut wrong = Vec::new();
    for (i, role) in ROLES.iter().enumerate() {
        let user = format!("u-{role}");
        add_user(&s, &user, role, &password(role));
        let cookie = log_in(&s, &user, &password(role));
        let account = get(&s, "/account", &cookie);
        assert_eq!(account.status, 200, "{role}: {}", account.body);
        let csrf = csrf_of(&account.body);
        let (code, token, err) = s.cli(&["token", "create", "--user", &user]);
        assert_eq!(code, 0, "{err}");
        let bearer = format!("Authorization: Bearer {}\r\n", token.trim());
        let asks = PAGES
            .iter()
            .map(|a| (a, &cookie))
            .chain(API.iter().map(|a| (a, &bearer)));
        for (ask, credential) in asks {
            let r = if ask.post && ask.path.starts_with("/api/") {
                post(&s, ask.path, ask.body, credential)
            } else if ask.post {
                let body = match ask.body {
                    "" => form(&[("csrf", &csrf)]),
                    b => format!("{b}&{}", form(&[("csrf", &csrf)])),
                };
                post(&s, ask.path, &body, credential)
            } else {
                get(&s, ask.path, credential)
            };
            let method = if ask.post { "POST" } else { "GET" };
            let may = ask.who[i];
            if may && !admitted(&r) || !may && !refused(&r) {
                wrong.push(format!(
                    "{role} {method} {}: {} (expected {})",
                    ask.path,
                    r.status,
                    if may { "admitted" } else { "403" }
                ));
            }
            if !may {
                denied.push((user.clone(), format!("{method} {}", ask.route)));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // Every refusal is an audit entry with its event, naming who and what.
    let events = denials(&s);
    assert_eq!(events.len(), denied.len(), "{events:#?}");
    for (user, what) in &denied {
        assert!(
            events
                .iter()
                .any(|e| e.contains(user.as_str()) && e.contains(what.as_str())),
            "no admin.access_denied for {user} {what}"
        );
    }
}

#[test]
fn an_auditor_may_neither_remediate_nor_change_settings() {
    let s = start();
    add_user(&s, "root", "administrator", &password("root"));
    add_user(&s, "audrey", "auditor", &password("audrey"));
    let audrey = log_in(&s, "audrey", &password("audrey"));
    let csrf = csrf_of(&get(&s, "/account", &audrey).body);
    let with_csrf = |b: &str| format!("{b}&{}", form(&[("csrf", &csrf)]));
    let config_before = std::fs::read_to_string(&s.config_path).unwrap();
    let remedy = post(&s, "/incidents/1/act", &with_csrf("op=resolve"), &audrey);
    assert_eq!(remedy.status, 403, "{}", remedy.body);
    let settings = post(
        &s,
        "/settings/save",
        &with_csrf("group=listener&listener.max_sessions=7"),
        &audrey,
    );
    assert_eq!(settings.status, 403, "{}", settings.body);
    assert_eq!(
        std::fs::read_to_string(&s.config_path).unwrap(),
        config_before
    );
    // The administrator sees both refusals in the audit log.
    let root = log_in(&s, "root", &password("root"));
    let audit = get(&s, "/audit", &root);
    assert_eq!(audit.status, 200);
    for what in ["POST incident.act", "POST settings.save"] {
        assert!(audit.body.contains(what), "{what} not in the audit log");
    }
    assert!(audit.body.contains("audrey") && audit.body.contains("denied"));
    assert_eq!(denials(&s).len(), 2);
}
