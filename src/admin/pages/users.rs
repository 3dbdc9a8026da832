//! Accounts and API tokens: `/users` (administrators: list, add, change role, reset password,
//! disable, enable, remove) and `/account` (everyone: their own API tokens: create, shown once;
//! list; revoke). Every change goes through the service, which checks it and writes the audit
//! entry; a password reset, a role change, disabling and removal end the account's sessions.
//! Account names and token ids are of characters safe in a path (`A-Z a-z 0-9 . _ @ -`), so they
//! go into form addresses as they are.

use hyper::StatusCode;
use maud::{Markup, html};

use super::super::auth::Auth;
use super::super::call::Call;
use super::super::response::{Response, status_of};
use super::super::router::{Access, Def};
use super::login::with_service;
use super::{Nav, csrf_field, flash, page, time};
use crate::service::{Caller, Permission, Role, Service};

pub(crate) fn routes() -> Vec<Def> {
    let manage = Access::Signed(Permission::ManageUsers);
    let own = Access::Signed(Permission::ManageOwnTokens);
    vec![
        Def::get("/users", "users", manage, |ui, call| {
            with_service(ui, call, |s, c| users_page(s, c, None))
        }),
        Def::post("/users", "users.add", manage, |ui, call| {
            with_service(ui, call, add)
        }),
        Def::post("/users/{name}", "users.change", manage, |ui, call| {
            with_service(ui, call, |s, c| change(s, &ui.auth, c))
        }),
        Def::get("/account", "account", own, |ui, call| {
            with_service(ui, call, |s, c| account_page(s, c, None, StatusCode::OK))
        }),
        Def::post(
            "/account/tokens",
            "account.token_create",
            own,
            |ui, call| with_service(ui, call, create_token),
        ),
        Def::post(
            "/account/tokens/{id}/revoke",
            "account.token_revoke",
            own,
            |ui, call| with_service(ui, call, revoke_token),
        ),
    ]
}

const DONE: [(&str, &str); 8] = [
    ("added", "The account was added."),
    (
        "role",
        "The role was changed; the account's sessions ended.",
    ),
    (
        "password",
        "The password was set; the account's sessions ended.",
    ),
    ("disable", "The account was disabled; its sessions ended."),
    ("enable", "The account was enabled."),
    ("remove", "The account and its API tokens were removed."),
    ("revoked", "The token was revoked."),
    ("none", ""),
];

pub(crate) fn caller(call: &Call) -> Caller {
    Caller::web(call.actor(), call.peer)
}

fn role_select(name: &str, current: Option<Role>) -> Markup {
    html! {
        select name=(name) id=(name) {
            @for r in Role::ALL {
                option value=(r.name()) selected[current == Some(r)] { (r.name()) }
            }
        }
    }
}

/// `/users`, with a note from a failed change (`error`).
fn users_page(service: &Service, call: &Call, error: Option<(StatusCode, &str)>) -> Response {
    let users = match service.list_users() {
        Ok(u) => u,
        Err(e) => return super::service_error(call, &e),
    };
    let body = html! {
        (flash(call, &DONE))
        @if let Some((_, e)) = error { p class="flash error" role="alert" { (e) } }
        table {
            thead { tr { th { "Name" } th { "Role" } th { "State" } th { "Last logon" } th { "Change" } } }
            tbody {
                @for u in &users {
                    @let action = format!("/users/{}", u.name);
                    tr {
                        td { (u.name) }
                        td { (u.role.name()) }
                        td { @if u.disabled { "disabled" } @else { "enabled" } }
                        td { (u.last_logon.map(time).unwrap_or_else(|| "never".into())) }
                        td {
                            form method="post" action=(action) class="actions" {
                                (csrf_field(call))
                                input type="hidden" name="op" value="role";
                                label class="visually-hidden" for=(format!("role-{}", u.name)) { "Role of " (u.name) }
                                (role_select(&format!("role-{}", u.name), Some(u.role)))
                                button type="submit" class="secondary" { "Change role" }
                            }
                            form method="post" action=(action) class="actions" {
                                (csrf_field(call))
                                input type="hidden" name="op" value="password";
                                label class="visually-hidden" for=(format!("pw-{}", u.name)) { "New password for " (u.name) }
                                input type="password" id=(format!("pw-{}", u.name)) name="password" autocomplete="new-password" placeholder="new password" minlength="12" required;
                                label class="visually-hidden" for=(format!("again-{}", u.name)) { "Again" }
                                input type="password" id=(format!("again-{}", u.name)) name="again" autocomplete="new-password" placeholder="again" required;
                                button type="submit" class="secondary" { "Reset password" }
                            }
                            form method="post" action=(action) class="actions" {
                                (csrf_field(call))
                                @if u.disabled {
                                    button type="submit" name="op" value="enable" class="secondary" { "Enable" }
                                } @else {
                                    button type="submit" name="op" value="disable" class="secondary" { "Disable" }
                                }
                                button type="submit" name="op" value="remove" class="danger"
                                    data-confirm=(format!("Remove {} and their API tokens?", u.name)) { "Remove" }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Add an account" }
        form method="post" action="/users" class="filters" {
            (csrf_field(call))
            label { "Name" input name="name" required maxlength="64"; }
            label { "Role" (role_select("role", Some(Role::Auditor))) }
            label { "Password" input type="password" name="password" autocomplete="new-password" minlength="12" required; }
            label { "Again" input type="password" name="again" autocomplete="new-password" required; }
            button type="submit" { "Add" }
        }
    };
    let mut r = page(call, "Users", Nav::Users, body);
    if let Some((status, _)) = error {
        r.status = status;
    }
    r
}

/// The two password fields agree (`Err`: the page's note).
fn same_twice(call: &Call) -> Result<String, &'static str> {
    let form = call.form();
    let pw = form.raw("password").unwrap_or_default();
    if form.raw("again") != Some(pw) {
        return Err("The two passwords differ.");
    }
    Ok(pw.to_string())
}

/// `POST /users`: a new account.
fn add(service: &Service, call: &Call) -> Response {
    let form = call.form();
    let name = form.get("name").unwrap_or_default();
    let Some(role) = form.get("role").and_then(Role::parse) else {
        return users_page(
            service,
            call,
            Some((StatusCode::UNPROCESSABLE_ENTITY, "Choose a role.")),
        );
    };
    let pw = match same_twice(call) {
        Ok(p) => p,
        Err(e) => return users_page(service, call, Some((StatusCode::UNPROCESSABLE_ENTITY, e))),
    };
    match service.add_user(name, role, &pw, &caller(call)) {
        Ok(()) => Response::redirect("/users?ok=added"),
        Err(e) => users_page(service, call, Some((status_of(&e), e.message()))),
    }
}

/// `POST /users/{name}`: the change `op` names.
fn change(service: &Service, auth: &Auth, call: &Call) -> Response {
    let name = call.param("name").unwrap_or_default();
    let form = call.form();
    let op = form.get("op").unwrap_or_default();
    let change = match op {
        "role" => match form
            .get(&format!("role-{name}"))
            .or(form.get("role"))
            .and_then(Role::parse)
        {
            Some(role) => Ok(Change::Role(role)),
            None => Err(crate::service::Error::Invalid("choose a role".into())),
        },
        "password" => match same_twice(call) {
            Ok(pw) => Ok(Change::Password(pw)),
            Err(e) => Err(crate::service::Error::Invalid(e.into())),
        },
        "disable" => Ok(Change::Disabled(true)),
        "enable" => Ok(Change::Disabled(false)),
        "remove" => Ok(Change::Remove),
        _ => Err(crate::service::Error::Invalid("unknown change".into())),
    };
    match change.and_then(|c| change_user(service, auth, name, &c, &caller(call))) {
        Ok(()) => Response::redirect(&format!("/users?ok={op}")),
        Err(e) => users_page(service, call, Some((status_of(&e), e.message()))),
    }
}

/// A change to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    Role(Role),
    Password(String),
    Disabled(bool),
    Remove,
}

/// Makes `change` to the account `name` through the service (which checks it: the last
/// administrator stays, and writes the audit entry); every change but enabling ends the account's
/// sessions. The page's and the API's one way.
pub(crate) fn change_user(
    service: &Service,
    auth: &Auth,
    name: &str,
    change: &Change,
    who: &Caller,
) -> crate::service::Result<()> {
    match change {
        Change::Role(role) => service.set_role(name, *role, who)?,
        Change::Password(pw) => service.set_password(name, pw, who)?,
        Change::Disabled(d) => service.set_disabled(name, *d, who)?,
        Change::Remove => service.remove_user(name, who)?,
    }
    if *change != Change::Disabled(false) {
        auth.sessions.end_user(name);
    }
    Ok(())
}

/// Token lifetimes offered on the account page: label, form value (a duration; empty: none).
const LIFETIMES: [(&str, &str); 5] = [
    ("30 days", "30d"),
    ("90 days", "90d"),
    ("1 year", "365d"),
    ("1 day", "1d"),
    ("never (until revoked)", ""),
];

/// `/account`: one's own API tokens; `created` is a token just made, shown this once.
fn account_page(
    service: &Service,
    call: &Call,
    created: Option<&str>,
    status: StatusCode,
) -> Response {
    let user = call.actor();
    let tokens = match service.list_tokens(Some(user)) {
        Ok(t) => t,
        Err(e) => return super::service_error(call, &e),
    };
    let body = html! {
        (flash(call, &DONE))
        @if let Some(t) = created {
            div class="flash ok" role="status" {
                p { "Your new API token. Copy it now: it is not shown again." }
                p { code class="token" { (t) } }
                p class="note" { "Use it as " code { "Authorization: Bearer <token>" } " on /api/v1/..." }
            }
        }
        p { a href="/account/password" { "Change your password" } }
        h2 { "API tokens" }
        @if tokens.is_empty() {
            p class="note" { "You have no API tokens." }
        } @else {
            table {
                thead { tr { th { "Id" } th { "Role" } th { "Created" } th { "Expires" } th { "Last used" } th {} } }
                tbody {
                    @for t in &tokens {
                        tr {
                            td { code { (t.id) } }
                            td { (t.role) }
                            td { (time(t.created)) }
                            td { (t.expires.map(time).unwrap_or_else(|| "never".into())) }
                            td { (t.last_used.map(time).unwrap_or_else(|| "never".into())) }
                            td {
                                form method="post" action=(format!("/account/tokens/{}/revoke", t.id)) {
                                    (csrf_field(call))
                                    button type="submit" class="danger" data-confirm="Revoke this token?" { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        }
        form method="post" action="/account/tokens" class="filters" {
            (csrf_field(call))
            label { "Valid for"
                select name="expires" {
                    @for (label, value) in LIFETIMES { option value=(value) { (label) } }
                }
            }
            button type="submit" { "Create a token" }
        }
    };
    let mut r = page(call, user, Nav::None, body);
    r.status = status;
    r
}

/// `POST /account/tokens`: a token for the signed-in account, shown once.
fn create_token(service: &Service, call: &Call) -> Response {
    let expires = match call.form().get("expires") {
        None => None,
        Some(v) => match crate::units::duration::parse(v) {
            Ok(d) if d.as_secs() > 0 => Some(d),
            _ => return account_page(service, call, None, StatusCode::UNPROCESSABLE_ENTITY),
        },
    };
    match service.create_token(call.actor(), expires, call.now, &caller(call)) {
        Ok((_, token)) => account_page(service, call, Some(&token), StatusCode::OK),
        Err(e) => super::service_error(call, &e),
    }
}

/// `POST /account/tokens/{id}/revoke`: only one's own.
fn revoke_token(service: &Service, call: &Call) -> Response {
    let id = call.param("id").unwrap_or_default();
    match service.revoke_token(id, Some(call.actor()), &caller(call)) {
        Ok(()) => Response::redirect("/account?ok=revoked"),
        Err(e) => super::service_error(call, &e),
    }
}

#[cfg(test)]
#[path = "users_tests.rs"]
mod tests;
