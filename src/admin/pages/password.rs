//! `/account/password`: a signed-in user changes their own password. The current password is
//! checked through the sign-in throttle (a wrong one counts as a failed sign-in of the account
//! from this client: the same lock-out, the same audit entry and `admin.logon.failed` event, and
//! the same alert from the third failure in a row), the
//! new one is typed twice and held to the rules of `sluice user passwd` (`service::check_password`),
//! and the change is audited by the service (`user.password`, no secret in it). Every session of
//! the account ends; the one that made the change is replaced by a new session (a new cookie).
//!
//! Security: the password fields are read as sent, never trimmed, echoed, logged or audited.

use hyper::StatusCode;
use maud::html;

use super::super::auth::{Auth, session};
use super::super::call::Call;
use super::super::response::{Response, status_of};
use super::super::router::{Access, Def};
use super::login::with_service;
use super::{Nav, csrf_field, flash, page};
use crate::service::{Caller, Error, Permission, Service};
use crate::store::audit::LOGON;

pub(crate) fn routes() -> Vec<Def> {
    // Every signed-in user (every role has ViewStatus, as for signing out).
    let signed = Access::Signed(Permission::ViewStatus);
    vec![
        Def::get(
            "/account/password",
            "account.password",
            signed,
            |ui, call| with_service(ui, call, |_, c| form_page(c, None)),
        ),
        Def::post(
            "/account/password",
            "account.password_change",
            signed,
            |ui, call| with_service(ui, call, |s, c| change(s, &ui.auth, c)),
        ),
    ]
}

const DONE: [(&str, &str); 1] = [(
    "changed",
    "Your password was changed; your other sessions were ended.",
)];

/// The form, with the reason the last attempt was refused.
fn form_page(call: &Call, error: Option<(StatusCode, &str)>) -> Response {
    let body = html! {
        (flash(call, &DONE))
        @if let Some((_, e)) = error { p class="flash error" role="alert" { (e) } }
        p class="hint" {
            "A password has " (crate::service::MIN_PASSWORD) " to " (crate::service::MAX_PASSWORD)
            " characters and is not your user name. Changing it signs you out everywhere else."
        }
        form method="post" action="/account/password" {
            (csrf_field(call))
            p { label for="current" { "Current password" } br;
                input id="current" name="current" type="password" autocomplete="current-password" required; }
            p { label for="password" { "New password" } br;
                input id="password" name="password" type="password" autocomplete="new-password" required; }
            p { label for="again" { "New password again" } br;
                input id="again" name="again" type="password" autocomplete="new-password" required; }
            div class="actions" { button type="submit" { "Change password" } }
        }
        p { a href="/account" { "API tokens" } }
    };
    let mut r = page(call, "Change password", Nav::None, body);
    if let Some((status, _)) = error {
        r.status = status;
    }
    r
}

/// `POST /account/password`.
fn change(service: &Service, auth: &Auth, call: &Call) -> Response {
    let user = call.actor();
    let form = call.form();
    let current = form.raw("current").unwrap_or_default();
    let new = form.raw("password").unwrap_or_default();
    if let Err(r) = check_current(service, auth, call, current) {
        return r;
    }
    if form.raw("again") != Some(new) {
        return form_page(
            call,
            Some((
                StatusCode::UNPROCESSABLE_ENTITY,
                "The two new passwords differ.",
            )),
        );
    }
    let caller = Caller::web(user, call.peer);
    if let Err(e) = service.set_password(user, new, &caller) {
        return form_page(call, Some((status_of(&e), e.message())));
    }
    auth.sessions.end_user(user);
    let role = call.principal.as_ref().map(|p| p.role);
    let stamp = super::login::stamp(service, user);
    let renewed = role.and_then(|role| auth.sessions.create(user, role, &stamp, call.now).ok());
    match renewed {
        Some((id, _)) => {
            Response::redirect("/account/password?ok=changed").cookie(session::cookie(&id))
        }
        // No new session could be made: sign in again with the new password.
        None => Response::redirect("/login").cookie(session::clear_cookie()),
    }
}

/// The current password, checked like a sign-in: refused at once while the account or client is
/// locked out; a wrong one counted, audited (`user.password`, failed) and maybe the alert raised.
fn check_current(
    service: &Service,
    auth: &Auth,
    call: &Call,
    current: &str,
) -> Result<(), Response> {
    let user = call.actor();
    let locked = |until: u64| {
        let wait = until.saturating_sub(call.now).max(1);
        let text = format!(
            "Too many wrong passwords: try again in {}.",
            super::super::page::duration(wait.max(60))
        );
        form_page(call, Some((StatusCode::TOO_MANY_REQUESTS, &text)))
            .header(hyper::header::RETRY_AFTER, wait.to_string())
    };
    if let Some(until) = auth.throttle.locked(user, call.peer, call.now) {
        return Err(locked(until));
    }
    match service.authenticate(user, current, call.now) {
        Ok(_) => {
            auth.throttle.succeeded(user, call.peer);
            Ok(())
        }
        Err(Error::Invalid(_)) => {
            let f = auth.throttle.failed(user, call.peer, call.now);
            let mut entry = Caller::web(user, call.peer).entry(call.now, LOGON, user);
            entry.outcome = "failed: wrong current password (password change)".into();
            if let Err(e) = service.audit_logon_failure(entry, f.alert.then_some(f.run)) {
                tracing::warn!(error = %e, "failed password change not recorded");
            }
            Err(match f.locked_until {
                Some(until) => locked(until),
                None => form_page(
                    call,
                    Some((StatusCode::FORBIDDEN, "The current password is wrong.")),
                ),
            })
        }
        Err(e) => Err(form_page(call, Some((status_of(&e), e.message())))),
    }
}

#[cfg(test)]
#[path = "password_tests.rs"]
mod tests;
