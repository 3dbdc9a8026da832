//! The JSON twins of the users page (`ManageUsers`: list, add, change role, reset password,
//! disable, remove), the account page's API tokens (`ManageOwnTokens`: one's own, created and
//! shown once, revoked) and the audit log (`ViewAudit`: the page's filters and paging). The same
//! service calls as the pages and the CLI, so the same refusals (the last administrator stays)
//! and the same audit entries.

use hyper::{Method, StatusCode};
use serde::Deserialize;

use super::super::auth::Auth;
use super::super::call::Call;
use super::super::pages::audit;
use super::super::pages::users::{Change, caller, change_user};
use super::super::response::Response;
use super::super::router::{Access, Def, Input};
use super::{service_error, with};
use crate::service::{Error, Permission, Role, Service};

pub(crate) fn routes() -> Vec<Def> {
    let manage = Access::Signed(Permission::ManageUsers);
    let own = Access::Signed(Permission::ManageOwnTokens);
    let user = "/api/v1/users/{name}";
    vec![
        Def::get("/api/v1/users", "api.users", manage, |ui, c| {
            with(ui, c, list_users)
        }),
        Def::post("/api/v1/users", "api.users.add", manage, |ui, c| {
            with(ui, c, add_user)
        })
        .reading(Input::Json),
        Def::post(user, "api.user.change", manage, |ui, c| {
            with(ui, c, |s, c| change(s, &ui.auth, c))
        })
        .reading(Input::Json)
        .answering(Method::PATCH),
        Def::post(user, "api.user.remove", manage, |ui, c| {
            with(ui, c, |s, c| remove(s, &ui.auth, c))
        })
        .reading(Input::None)
        .answering(Method::DELETE),
        Def::get("/api/v1/tokens", "api.tokens", own, |ui, c| {
            with(ui, c, list_tokens)
        }),
        Def::post("/api/v1/tokens", "api.tokens.create", own, |ui, c| {
            with(ui, c, create_token)
        })
        .reading(Input::Json),
        Def::post("/api/v1/tokens/{id}", "api.token.revoke", own, |ui, c| {
            with(ui, c, revoke_token)
        })
        .reading(Input::None)
        .answering(Method::DELETE),
        Def::get(
            "/api/v1/audit",
            "api.audit",
            Access::Signed(Permission::ViewAudit),
            |ui, c| with(ui, c, audit_log),
        ),
    ]
}

fn done<T: serde::Serialize>(status: StatusCode, r: crate::service::Result<T>) -> Response {
    match r {
        Ok(v) => Response::json(status, &v),
        Err(e) => service_error(&e),
    }
}

/// `GET /api/v1/users`: `{"users": [...]}`.
pub(crate) fn list_users(s: &Service, _: &Call) -> Response {
    done(
        StatusCode::OK,
        s.list_users().map(|u| serde_json::json!({ "users": u })),
    )
}

fn role(name: &str) -> Result<Role, Response> {
    Role::parse(name).ok_or_else(|| {
        let all: Vec<&str> = Role::ALL.iter().map(|r| r.name()).collect();
        Response::api_error(
            StatusCode::BAD_REQUEST,
            &format!("no role {name:?} (there are {})", all.join(", ")),
        )
    })
}

/// A new account.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    role: String,
    password: String,
}

/// `POST /api/v1/users` `{"name", "role", "password"}`: 201 with the account.
pub(crate) fn add_user(s: &Service, call: &Call) -> Response {
    let u: NewUser = match call.json() {
        Ok(u) => u,
        Err(r) => return r,
    };
    let role = match role(&u.role) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let r = s
        .add_user(&u.name, role, &u.password, &caller(call))
        .and_then(|()| s.user(&u.name));
    done(StatusCode::CREATED, r)
}

/// A change to an account: any of `role`, `password`, `disabled` (applied in that order).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserChange {
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    disabled: Option<bool>,
}

/// `PATCH /api/v1/users/{name}`: the account after the change.
pub(crate) fn change(s: &Service, auth: &Auth, call: &Call) -> Response {
    let c: UserChange = match call.json() {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut changes = Vec::new();
    if let Some(r) = &c.role {
        match role(r) {
            Ok(r) => changes.push(Change::Role(r)),
            Err(resp) => return resp,
        }
    }
    changes.extend(c.password.map(Change::Password));
    changes.extend(c.disabled.map(Change::Disabled));
    if changes.is_empty() {
        return Response::api_error(
            StatusCode::BAD_REQUEST,
            "give at least one of \"role\", \"password\", \"disabled\"",
        );
    }
    let name = call.param("name").unwrap_or_default();
    let who = caller(call);
    let r = changes
        .iter()
        .try_for_each(|ch| change_user(s, auth, name, ch, &who))
        .and_then(|()| s.user(name));
    done(StatusCode::OK, r)
}

/// `DELETE /api/v1/users/{name}`: the account and its API tokens (never the last administrator).
pub(crate) fn remove(s: &Service, auth: &Auth, call: &Call) -> Response {
    let name = call.param("name").unwrap_or_default();
    let r = change_user(s, auth, name, &Change::Remove, &caller(call));
    done(
        StatusCode::OK,
        r.map(|()| serde_json::json!({ "removed": name })),
    )
}

/// `GET /api/v1/tokens`: the caller's own tokens (never their secrets).
pub(crate) fn list_tokens(s: &Service, call: &Call) -> Response {
    done(
        StatusCode::OK,
        s.list_tokens(Some(call.actor()))
            .map(|t| serde_json::json!({ "tokens": t })),
    )
}

/// A new token: `expires` a duration (`30d`, `12h`), absent or null for none.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    #[serde(default)]
    expires: Option<String>,
}

/// `POST /api/v1/tokens`: 201 with `{"id", "token"}`, the token shown this once.
pub(crate) fn create_token(s: &Service, call: &Call) -> Response {
    let t: NewToken = match call.body.iter().all(u8::is_ascii_whitespace) {
        true => NewToken::default(),
        false => match call.json() {
            Ok(t) => t,
            Err(r) => return r,
        },
    };
    let expires = match t.expires.as_deref() {
        None => None,
        Some(v) => match crate::units::duration::parse(v) {
            Ok(d) if d.as_secs() > 0 => Some(d),
            _ => {
                return Response::api_error(
                    StatusCode::BAD_REQUEST,
                    &format!("expires: {v:?} is not a duration like 30d or 12h"),
                );
            }
        },
    };
    let r = s
        .create_token(call.actor(), expires, call.now, &caller(call))
        .map(|(id, token)| serde_json::json!({"id": id, "token": token}));
    done(StatusCode::CREATED, r)
}

/// `DELETE /api/v1/tokens/{id}`: only one's own.
pub(crate) fn revoke_token(s: &Service, call: &Call) -> Response {
    let id = call.param("id").unwrap_or_default();
    let r = s.revoke_token(id, Some(call.actor()), &caller(call));
    done(
        StatusCode::OK,
        r.map(|()| serde_json::json!({ "revoked": id })),
    )
}

/// `GET /api/v1/audit`: newest first, with the page's filters (`actor`, `action` prefix,
/// `since`, `until`), `limit` (at most the page's size) and the `before` cursor; `next` is the
/// cursor of the following page.
pub(crate) fn audit_log(s: &Service, call: &Call) -> Response {
    let f = match audit::filter(call) {
        Ok(f) => f,
        Err(field) => {
            return service_error(&Error::Invalid(format!(
                "{field}: not a date (2026-12-05), a time (2026-12-05T15:00:00Z) or a span (12h, 7d)"
            )));
        }
    };
    let before = call.query("before").and_then(|b| b.parse().ok());
    let limit = call
        .query("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(audit::PAGE)
        .clamp(1, audit::PAGE);
    done(
        StatusCode::OK,
        s.audit_page(&f, before, limit)
            .map(|(entries, next)| serde_json::json!({"entries": entries, "next": next})),
    )
}

#[cfg(test)]
#[path = "account_tests.rs"]
mod tests;
