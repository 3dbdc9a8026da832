//! The context every handler gets ([`Ui`]: the approval desk and link key, the `/metrics` rule,
//! the monitor's health, the route table, and — when the server runs with a store — the [`App`]:
//! store, current configuration, reload, clock) and the gate every request passes
//! ([`Ui::dispatch`]): client allow list, who is signed in, the route's permission, CSRF, then the
//! handler.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use hyper::StatusCode;
use ipnet::IpNet;

use super::call::{Call, Principal, Via};
use super::response::Response;
use super::router::{Access, Def, Input, Router};
use super::{metrics, pages};
use crate::approval::ApprovalDesk;
use crate::link::token::Key;
use crate::service::Service;

/// What the handlers need.
pub(crate) struct Ui {
    pub desk: Arc<dyn ApprovalDesk>,
    pub key: Key,
    pub metrics_access: metrics::Access,
    /// The monitor's health (`None`: none wired; `/readyz` then says ready).
    pub health: Option<Arc<crate::monitor::Health>>,
    /// `admin.allowed_clients`.
    pub allowed: Vec<IpNet>,
    pub router: Router,
    /// The running server's state (`None` until `Server::with_app`, and in tests of the approval
    /// pages): pages that need it answer 503 without it.
    pub app: Option<App>,
    /// Sessions, sign-in throttling, the pending set-up link.
    pub auth: super::auth::Auth,
}

/// The running server's state the pages work with.
pub struct App {
    pub store: crate::store::Store,
    /// The current configuration and session set (live reload swaps it).
    pub swap: Arc<crate::runtime::Swap>,
    /// Applies a changed configuration file (settings and policy pages).
    pub reloader: Arc<crate::app::reload::Reloader>,
    pub hop_status: Arc<crate::relay::status::HopStatus>,
    /// Unix seconds at start.
    pub started: u64,
    pub data_dir: PathBuf,
}

impl Ui {
    /// The running server's state, or the 503 page that says it is not there.
    pub(crate) fn app(&self) -> Result<&App, Response> {
        self.app.as_ref().ok_or_else(|| {
            pages::failure(
                StatusCode::SERVICE_UNAVAILABLE,
                "Not available",
                "This server runs without its store; the admin pages are not available.",
            )
        })
    }

    /// The service over the server's store with the current configuration and the server's clock.
    pub(crate) fn service(&self) -> Result<Service, Response> {
        let app = self.app()?;
        let config = app.swap.current().config.clone();
        Ok(Service::new(
            app.store.clone(),
            config,
            crate::clock::Clock::system(),
        ))
    }

    /// Runs `def`'s handler for `call` if the gate lets it through.
    pub(crate) fn dispatch(&self, def: &Def, mut call: Call) -> Response {
        if def.access == Access::Open {
            return (def.handler)(self, &call);
        }
        let api = def.is_api();
        if !self.admits(call.peer) {
            return refuse(
                api,
                StatusCode::FORBIDDEN,
                "This address may not use the admin interface.",
            );
        }
        if cross_site(&call) {
            return refuse(
                api,
                StatusCode::FORBIDDEN,
                "Cross-site requests are refused.",
            );
        }
        call.principal = self.principal(&call, api);
        if let Access::Signed(permission) = def.access {
            let Some(who) = &call.principal else {
                return if api {
                    Response::api_error(StatusCode::UNAUTHORIZED, "sign in with a bearer token")
                        .header(hyper::header::WWW_AUTHENTICATE, "Bearer".into())
                } else {
                    let next = super::form::encode(&call.here());
                    Response::redirect(&format!("/login?next={next}"))
                };
            };
            if !who.can(permission) {
                self.denied(&call, def);
                return refuse(api, StatusCode::FORBIDDEN, "Your role does not allow this.");
            }
        }
        if matches!(def.input, Input::Form | Input::Upload)
            && let Some(Principal {
                via: Via::Session { csrf, .. },
                ..
            }) = &call.principal
            && !csrf_matches(csrf, &call, def.input)
        {
            return refuse(
                api,
                StatusCode::FORBIDDEN,
                "The form has expired or did not come from this site. Go back, reload the page and try again.",
            );
        }
        (def.handler)(self, &call)
    }

    /// Whether `peer` is in `admin.allowed_clients` (IPv4-mapped IPv6 as IPv4) of the current
    /// configuration (a reload changes it at once).
    fn admits(&self, peer: IpAddr) -> bool {
        let peer = peer.to_canonical();
        match &self.app {
            Some(app) => app
                .swap
                .current()
                .config
                .admin
                .allowed_clients
                .iter()
                .any(|n| n.contains(&peer)),
            None => self.allowed.iter().any(|n| n.contains(&peer)),
        }
    }

    /// The `/metrics` rule of the current configuration (or the one the server was bound with).
    pub(crate) fn metrics_access(&self) -> metrics::Access {
        match &self.app {
            Some(app) => {
                let a = &app.swap.current().config.admin;
                metrics::Access::new(a.metrics_allow.clone(), a.metrics_token.as_deref())
            }
            None => self.metrics_access.clone(),
        }
    }

    /// Who is signed in: the session cookie for pages, a bearer token for the API (nothing else
    /// is accepted there). A session whose account was since removed, disabled, given another role
    /// or a new password (here or by `sluice user` in another process) ends.
    fn principal(&self, call: &Call, api: bool) -> Option<Principal> {
        let service = self.service().ok()?;
        if api {
            let bearer = call
                .header("authorization")?
                .strip_prefix("Bearer ")?
                .trim();
            let (user, role) = service.verify_token(bearer, call.now).ok()?;
            let id = bearer
                .get(4..4 + crate::service::TOKEN_ID_CHARS)?
                .to_string();
            return Some(Principal {
                user,
                role,
                via: Via::Token { id },
            });
        }
        let id = call
            .header("cookie")
            .and_then(super::auth::session::from_cookie_header)?;
        let Some(session) = self.auth.sessions.get(id, call.now) else {
            tracing::debug!(peer = %call.peer, "no such session (ended or expired)");
            return None;
        };
        let current = service.user(&session.user).ok().flatten();
        let valid = current
            .as_ref()
            .is_some_and(|u| !u.disabled && u.role == session.role && u.stamp == session.stamp);
        if !valid {
            tracing::debug!(
                user = session.user,
                "session ended: the account was removed, disabled, or given another role or password"
            );
            self.auth.sessions.end(id);
            return None;
        }
        Some(Principal {
            user: session.user,
            role: session.role,
            via: Via::Session {
                id: id.to_string(),
                csrf: session.csrf,
            },
        })
    }

    /// A signed-in user asked for something the role does not allow: the audit log and the
    /// `admin.access_denied` event say so.
    fn denied(&self, call: &Call, def: &Def) {
        tracing::info!(user = call.actor(), route = def.name, peer = %call.peer, "admin access denied");
        if let Ok(service) = self.service() {
            let what = format!("{} {}", call.method, def.name);
            super::auth::denied(&service, call.actor(), call.peer, &what, call.now);
        }
    }
}

/// A refusal as a page or as the API's JSON error.
fn refuse(api: bool, status: StatusCode, text: &str) -> Response {
    if api {
        Response::api_error(status, text)
    } else {
        pages::failure(status, "Not allowed", text)
    }
}

/// A browser told us the request came from another site (`Sec-Fetch-Site`), or, from a browser
/// that does not send that, its `Origin` names another host than the one it asked (`Host`).
/// Requests without these headers (scripts, old browsers) pass on to the CSRF token, which every
/// form carries anyway.
///
/// `Sec-Fetch-Site` decides alone when present: our pages' `Referrer-Policy: no-referrer` makes
/// browsers send `Origin: null` on their own same-origin form posts (Fetch: the origin is
/// serialized as null under that policy), which is not a sign of another site.
fn cross_site(call: &Call) -> bool {
    if call.method == hyper::Method::GET || call.method == hyper::Method::HEAD {
        return false;
    }
    if let Some(site) = call.header("sec-fetch-site") {
        return site == "cross-site" || site == "same-site";
    }
    match (call.header("origin"), call.header("host")) {
        (Some("null"), _) => true,
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_none_or(|(_, authority)| !authority.eq_ignore_ascii_case(host)),
        _ => false,
    }
}

/// The form's `csrf` field (for uploads: the `csrf` query field, since the multipart body is the
/// handler's to parse) equals the session's token, compared in constant time.
fn csrf_matches(want: &str, call: &Call, input: Input) -> bool {
    use super::auth::csrf;
    let given = match input {
        Input::Upload => call.query(csrf::FIELD).map(str::to_string),
        _ => call.form().get(csrf::FIELD).map(str::to_string),
    };
    csrf::check(want, given.as_deref())
}

#[cfg(test)]
mod tests {
    use hyper::Method;
    use hyper::header::{HeaderName, HeaderValue};

    use super::*;

    fn post(headers: &[(&'static str, &'static str)]) -> Call {
        let mut c = Call::new(Method::POST, "/login", "127.0.0.1".parse().unwrap(), 0);
        for (k, v) in headers {
            c.headers
                .insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        c
    }

    #[test]
    fn a_browsers_own_form_post_under_no_referrer_is_not_cross_site() {
        // What chromium sends for a form on our page (Referrer-Policy: no-referrer).
        let own = [
            ("sec-fetch-site", "same-origin"),
            ("origin", "null"),
            ("host", "127.0.0.1:8443"),
        ];
        assert!(!cross_site(&post(&own)));
        assert!(!cross_site(&post(&[("sec-fetch-site", "none")])));
        for site in ["cross-site", "same-site"] {
            assert!(cross_site(&post(&[
                ("sec-fetch-site", site),
                ("origin", "https://127.0.0.1:8443"),
                ("host", "127.0.0.1:8443"),
            ])));
        }
        // Without Sec-Fetch-Site, Origin decides.
        assert!(cross_site(&post(&[("origin", "null")])));
        assert!(cross_site(&post(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:8443"),
        ])));
        assert!(!cross_site(&post(&[
            ("origin", "https://127.0.0.1:8443"),
            ("host", "127.0.0.1:8443"),
        ])));
        assert!(!cross_site(&post(&[])));
    }
}
