//! Signing in and out, and the first start's set-up page: `GET/POST /login`, `POST /logout`,
//! `GET/POST /setup/{token}`. The work is `auth`'s (throttle, sessions, set-up link) and the
//! service's (passwords, accounts); these handlers read the form, call them and render.
//!
//! Security: the password fields are read as sent (never trimmed, never echoed back into a page),
//! the `next` address after sign-in is one of our own paths (`Response::redirect` keeps only
//! local ones), and every refusal of a sign-in reads the same but for the lock-out's time.

use hyper::StatusCode;
use maud::{Markup, html};

use super::super::auth::{self, Auth, Refusal, session};
use super::super::call::Call;
use super::super::response::Response;
use super::super::router::{Access, Def};
use super::super::ui::Ui;
use super::{Nav, document};
use crate::service::{Caller, Permission, Role, Service};

pub(crate) fn routes() -> Vec<Def> {
    vec![
        Def::get("/login", "login", Access::Anonymous, show_login),
        Def::post("/login", "login.act", Access::Anonymous, |ui, call| {
            with_service(ui, call, |s, call| sign_in(s, &ui.auth, call))
        }),
        Def::post(
            "/logout",
            "logout",
            Access::Signed(Permission::ViewStatus),
            |ui, call| with_service(ui, call, |s, call| sign_out(s, &ui.auth, call)),
        ),
        Def::get("/setup/{token}", "setup", Access::Anonymous, |ui, call| {
            with_service(ui, call, |s, call| show_setup(s, &ui.auth, call))
        }),
        Def::post(
            "/setup/{token}",
            "setup.act",
            Access::Anonymous,
            |ui, call| {
                with_service(ui, call, |s, call| {
                    set_up(s, &ui.auth, call, |user, check| {
                        gateway(ui, call, user, check)
                    })
                })
            },
        ),
    ]
}

/// Runs `f` with the service, or answers 503.
pub(crate) fn with_service(
    ui: &Ui,
    call: &Call,
    f: impl FnOnce(&Service, &Call) -> Response,
) -> Response {
    match ui.service() {
        Ok(s) => f(&s, call),
        Err(r) => r,
    }
}

/// Where to go after signing in: `next` when it is one of our paths, else the dashboard.
fn next_of(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/login") => {
            n.to_string()
        }
        _ => "/".into(),
    }
}

fn show_login(ui: &Ui, call: &Call) -> Response {
    if call.principal.is_some() {
        return Response::redirect(&next_of(call.query("next")));
    }
    let setup = ui.auth.setup.pending();
    login_page(call.query("next"), None, setup, StatusCode::OK)
}

fn login_page(
    next: Option<&str>,
    error: Option<&str>,
    setup: bool,
    status: StatusCode,
) -> Response {
    let body = html! {
        @if let Some(e) = error { p class="flash error" role="alert" { (e) } }
        @if setup {
            p class="note" {
                "There is no account yet. Open the one-time set-up link the server wrote to "
                code { "<data_dir>/" (auth::setup::FILE) } " (and to its log) to create the first administrator."
            }
        }
        form method="post" action="/login" {
            input type="hidden" name="next" value=(next_of(next));
            p { label for="user" { "User name" } br; input id="user" name="user" autocomplete="username" required autofocus; }
            p { label for="password" { "Password" } br; input id="password" name="password" type="password" autocomplete="current-password" required; }
            div class="actions" { button type="submit" { "Log in" } }
        }
    };
    Response::html(status, document(None, "Log in", Nav::None, body))
}

/// `POST /login`: checks the name and password through the throttle; on success a new session
/// (its cookie) and the page asked for.
fn sign_in(service: &Service, auth: &Auth, call: &Call) -> Response {
    let form = call.form();
    let user = form.get("user").unwrap_or_default();
    let password = form.raw("password").unwrap_or_default();
    let next = form.get("next");
    let setup = auth.setup.pending();
    match auth::sign_in(service, &auth.throttle, user, password, call.peer, call.now) {
        Ok((name, role)) => {
            match auth
                .sessions
                .create(&name, role, &stamp(service, &name), call.now)
            {
                Ok((id, _csrf)) => Response::redirect(&next_of(next)).cookie(session::cookie(&id)),
                Err(e) => {
                    tracing::error!(error = %e, "no session could be made");
                    login_page(
                        next,
                        Some("The server could not sign you in now."),
                        setup,
                        StatusCode::SERVICE_UNAVAILABLE,
                    )
                }
            }
        }
        Err(Refusal::Wrong) => login_page(
            next,
            Some("Wrong user name or password."),
            setup,
            StatusCode::FORBIDDEN,
        ),
        Err(Refusal::Locked { until }) => {
            let wait = until.saturating_sub(call.now).max(1);
            let text = format!(
                "Too many failed sign-ins: try again in {}.",
                super::super::page::duration(wait.max(60))
            );
            login_page(next, Some(&text), setup, StatusCode::TOO_MANY_REQUESTS)
                .header(hyper::header::RETRY_AFTER, wait.to_string())
        }
        Err(Refusal::Unavailable(e)) => {
            tracing::error!(error = %e, "sign-in failed: the accounts could not be read");
            login_page(
                next,
                Some("The server could not check your sign-in now."),
                setup,
                StatusCode::SERVICE_UNAVAILABLE,
            )
        }
    }
}

/// The account's password stamp for a new session (empty if it cannot be read: the session then
/// ends at its first use).
pub(crate) fn stamp(service: &Service, user: &str) -> String {
    service
        .user(user)
        .ok()
        .flatten()
        .map(|u| u.stamp)
        .unwrap_or_default()
}

/// `POST /logout`: ends the session everywhere it is used and removes the cookie.
fn sign_out(service: &Service, auth: &Auth, call: &Call) -> Response {
    if let Some(p) = &call.principal
        && let super::super::call::Via::Session { id, .. } = &p.via
    {
        auth.sessions.end(id);
        auth::logged_off(service, &p.user, call.peer, call.now);
    }
    Response::redirect("/login").cookie(session::clear_cookie())
}

/// The set-up link is valid: its token is the pending one and still no account exists.
fn setup_open(service: &Service, auth: &Auth, call: &Call) -> bool {
    let token = call.param("token").unwrap_or_default();
    auth.setup.check(token) && service.has_users().is_ok_and(|has| !has)
}

fn setup_gone() -> Response {
    super::failure(
        StatusCode::NOT_FOUND,
        "Set-up link not valid",
        "This set-up link is not valid: it works once, and only before the first account exists. \
         Sign in, or add an account with `sluice user add`.",
    )
}

fn show_setup(service: &Service, auth: &Auth, call: &Call) -> Response {
    if !setup_open(service, auth, call) {
        return setup_gone();
    }
    setup_page(call, None, StatusCode::OK)
}

fn setup_page(call: &Call, error: Option<&str>, status: StatusCode) -> Response {
    let form = call.form();
    let value = |name: &str, default: &str| form.get(name).unwrap_or(default).to_string();
    let mode = value("mode", "reflecting");
    let action = format!("/setup/{}", call.param("token").unwrap_or_default());
    let body = html! {
        @if let Some(e) = error { p class="flash error" role="alert" { (e) } }
        p { "Welcome. Create the first administrator account; the link you followed works once." }
        form method="post" action=(action) {
            h2 { "Administrator" }
            p { label for="user" { "User name" } br; input id="user" name="user" value=(value("user", "admin")) autocomplete="username" required; }
            p { label for="password" { "Password (12 to 128 characters)" } br; input id="password" name="password" type="password" autocomplete="new-password" minlength="12" maxlength="128" required; }
            p { label for="again" { "Password again" } br; input id="again" name="again" type="password" autocomplete="new-password" required; }
            h2 { "Gateway" }
            p class="note" { "Blank fields keep their defaults; all of these can be changed later on the Settings page." }
            p { label for="hostname" { "Host name" } br; input id="hostname" name="hostname" value=(value("hostname", "")); }
            fieldset {
                legend { "Mode" }
                (radio("mode", "reflecting", "Reflecting: hand mail back to the client's address", &mode))
                (radio("mode", "forwarding", "Forwarding: hand mail on to next hops", &mode))
            }
            p { label for="next_hops" { "Next hops (forwarding; host:port, one per line)" } br; textarea id="next_hops" name="next_hops" rows="3" { (value("next_hops", "")) } }
            p { label for="resubmit_port" { "Resubmit port (reflecting)" } br; input id="resubmit_port" name="resubmit_port" inputmode="numeric" value=(value("resubmit_port", "")); }
            p { label for="clients" { "Allowed upstream clients (CIDR, one per line)" } br; textarea id="clients" name="clients" rows="3" { (value("clients", "")) } }
            div class="actions" { button type="submit" { "Create the account" } }
        }
    };
    Response::html(status, document(None, "Set up Sluice", Nav::None, body))
}

fn radio(name: &str, value: &str, label: &str, current: &str) -> Markup {
    let id = format!("{name}-{value}");
    html! {
        p {
            input type="radio" id=(id) name=(name) value=(value) checked[current == value];
            " " label for=(id) { (label) }
        }
    }
}

/// The configuration keys the set-up form sets, with the values typed (blank fields are left to
/// their defaults; only the mode's own next-hop field counts).
fn settings_of(call: &Call) -> Vec<(&'static str, String)> {
    let form = call.form();
    let forwarding = form.get("mode") == Some("forwarding");
    let mut out = vec![(
        "relay.mode",
        if forwarding { "forward" } else { "reflect" }.to_string(),
    )];
    let mut field = |key: &'static str, name: &str| {
        if let Some(v) = form.get(name) {
            out.push((key, v.to_string()));
        }
    };
    field("server.hostname", "hostname");
    if forwarding {
        field("relay.hosts", "next_hops");
    } else {
        field("relay.port", "resubmit_port");
    }
    field("listener.allowed_clients", "clients");
    out
}

/// Applies the set-up form's gateway settings through the configuration editor and the reload
/// (`check`: only see whether they would be accepted, writing nothing). The error is a sentence
/// for the page.
fn gateway(ui: &Ui, call: &Call, user: &str, check: bool) -> Result<(), String> {
    use crate::config::edit;
    let app = ui
        .app()
        .map_err(|_| "the server runs without its store".to_string())?;
    let mut values = Vec::new();
    for (key, input) in settings_of(call) {
        values.push((
            key,
            edit::value_from_input(key, &input).map_err(|e| e.to_string())?,
        ));
    }
    let source = &app.reloader.source;
    let target = edit::Target {
        path: crate::config::edited_file(source.path.as_deref(), source.data_dir.as_deref()),
        data_dir: app.data_dir.clone(),
        keep: app.swap.current().config.admin.config_history,
    };
    let snapshot = edit::read(&target).map_err(|e| e.to_string())?;
    if check {
        let mut doc = edit::Document::new(snapshot.text);
        return doc.set_all(values).map_err(|e| e.to_string());
    }
    let by = crate::service::Actor::new(user).map_err(|e| e.to_string())?;
    let reloader = app.reloader.clone();
    edit::apply(
        &target,
        &snapshot.digest,
        |doc| doc.set_all(values),
        &by,
        call.now,
        || reloader.reload(user),
    )
    .map(drop)
    .map_err(|e| e.to_string())
}

/// `POST /setup/{token}`: the first administrator and the gateway settings, both checked before
/// the link is used up (`settings(user, check)` checks or applies the settings); then a session
/// for the new account and the dashboard.
fn set_up(
    service: &Service,
    auth: &Auth,
    call: &Call,
    settings: impl Fn(&str, bool) -> Result<(), String>,
) -> Response {
    if !setup_open(service, auth, call) {
        return setup_gone();
    }
    let form = call.form();
    let user = form.get("user").unwrap_or_default();
    let password = form.raw("password").unwrap_or_default();
    let checked = crate::service::check_name(user)
        .and_then(|()| crate::service::check_password(user, password));
    if let Err(e) = checked {
        return setup_page(call, Some(e.message()), StatusCode::UNPROCESSABLE_ENTITY);
    }
    if form.raw("again") != Some(password) {
        return setup_page(
            call,
            Some("The two passwords differ."),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    if let Err(e) = settings(user, true) {
        let text = format!("The gateway settings are not valid: {e}");
        return setup_page(call, Some(&text), StatusCode::UNPROCESSABLE_ENTITY);
    }
    if !auth.setup.take(call.param("token").unwrap_or_default()) {
        return setup_gone();
    }
    let caller = Caller::web(user, call.peer);
    if let Err(e) = service.add_user(user, Role::Administrator, password, &caller) {
        tracing::error!(error = %e, "set-up: the first account could not be made");
        return super::failure(
            super::super::response::status_of(&e),
            "Set-up failed",
            "The account could not be made; add one with `sluice user add NAME --role administrator`.",
        );
    }
    tracing::info!(
        user,
        "set-up: first administrator created; the set-up link is used up"
    );
    let session = auth
        .sessions
        .create(user, Role::Administrator, &stamp(service, user), call.now);
    let Ok((id, _)) = session else {
        return Response::redirect("/login");
    };
    auth::logged_on(service, user, call.peer, call.now);
    let cookie = session::cookie(&id);
    match settings(user, false) {
        Ok(()) => Response::redirect("/").cookie(cookie),
        Err(e) => {
            tracing::error!(error = %e, "set-up: the gateway settings were not applied");
            let body = html! {
                p class="flash error" role="alert" {
                    "Your account was made, but the gateway settings were not applied: " (e)
                }
                p { a href="/" { "Continue to the dashboard" } " and set them on the Settings page." }
            };
            Response::html(StatusCode::OK, document(None, "Set-up", Nav::None, body)).cookie(cookie)
        }
    }
}

#[cfg(test)]
#[path = "login_tests.rs"]
mod tests;
