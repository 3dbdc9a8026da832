//! The users and account pages through their handlers: changes, refusals with the service's
//! reason, sessions ended, tokens shown once and revoked only by their owner.

use std::sync::Arc;

use hyper::Method;

use super::*;
use crate::admin::auth::Setup;
use crate::admin::call::{Principal, Via};
use crate::admin::response::Body;

const NOW: u64 = 1_700_000_000;
const PW: &str = "correct horse battery";

fn service() -> Service {
    let config = crate::config::Config::embedded().unwrap();
    let s = Service::new(
        crate::store::Store::memory().unwrap(),
        Arc::new(config),
        crate::clock::Clock::fixed(NOW),
    );
    s.add_user("root", Role::Administrator, PW, &Caller::cli("root"))
        .unwrap();
    s
}

fn call(method: Method, path: &str, body: &str, user: &str, role: Role) -> Call {
    let mut c = Call::new(method, path, "192.0.2.1".parse().unwrap(), NOW);
    c.body = body.as_bytes().to_vec();
    c.principal = Some(Principal {
        user: user.into(),
        role,
        via: Via::Session {
            id: "sid".into(),
            csrf: "tok".into(),
        },
    });
    c
}

fn admin_post(path: &str, name: &str, body: &str) -> Call {
    let mut c = call(Method::POST, path, body, "root", Role::Administrator);
    c.params = vec![("name".into(), name.into())];
    c
}

fn html(r: &Response) -> &str {
    match &r.body {
        Body::Html(s) => s,
        _ => "",
    }
}

fn location(r: &Response) -> Option<&str> {
    r.headers
        .iter()
        .find(|(n, _)| n.as_str() == "location")
        .map(|(_, v)| v.as_str())
}

#[test]
fn accounts_are_added_changed_and_removed_with_their_sessions() {
    let s = service();
    let auth = Auth::new(
        &crate::config::Config::embedded().unwrap().admin.auth,
        Setup::none(),
    );
    let added = add(
        &s,
        &admin_post(
            "/users",
            "",
            "name=bob&role=remediator&password=bobs+long+password&again=bobs+long+password",
        ),
    );
    assert_eq!(location(&added), Some("/users?ok=added"));
    let page = users_page(
        &s,
        &call(Method::GET, "/users", "", "root", Role::Administrator),
        None,
    );
    assert!(html(&page).contains("<td>bob</td>"));
    assert!(html(&page).contains(r#"name="csrf" value="tok""#));
    let (bob_session, _) = auth
        .sessions
        .create("bob", Role::Remediator, "", NOW)
        .unwrap();
    let r = change(
        &s,
        &auth,
        &admin_post("/users/bob", "bob", "op=role&role-bob=auditor"),
    );
    assert_eq!(location(&r), Some("/users?ok=role"));
    assert_eq!(s.user("bob").unwrap().unwrap().role, Role::Auditor);
    assert!(
        auth.sessions.get(&bob_session, NOW).is_none(),
        "a role change signs out"
    );
    let differ = change(
        &s,
        &auth,
        &admin_post(
            "/users/bob",
            "bob",
            "op=password&password=a+new+long+one&again=a+new+long+two",
        ),
    );
    assert_eq!(differ.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html(&differ).contains("The two passwords differ."));
    let last = change(&s, &auth, &admin_post("/users/root", "root", "op=remove"));
    assert_eq!(last.status, StatusCode::CONFLICT);
    assert!(html(&last).contains("last enabled administrator"));
    let gone = change(&s, &auth, &admin_post("/users/bob", "bob", "op=remove"));
    assert_eq!(location(&gone), Some("/users?ok=remove"));
    let missing = change(&s, &auth, &admin_post("/users/bob", "bob", "op=disable"));
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let dup = add(
        &s,
        &admin_post(
            "/users",
            "",
            "name=ROOT&role=auditor&password=a+long+password&again=a+long+password",
        ),
    );
    assert_eq!(dup.status, StatusCode::CONFLICT);
}

#[test]
fn a_token_is_shown_once_and_revoked_only_by_its_owner() {
    let s = service();
    s.add_user("ops", Role::Remediator, PW, &Caller::cli("root"))
        .unwrap();
    let made = create_token(
        &s,
        &call(
            Method::POST,
            "/account/tokens",
            "expires=30d",
            "ops",
            Role::Remediator,
        ),
    );
    assert_eq!(made.status, StatusCode::OK);
    let text = html(&made).to_string();
    let token = text
        .split("<code class=\"token\">")
        .nth(1)
        .and_then(|t| t.split('<').next())
        .unwrap()
        .to_string();
    assert_eq!(
        s.verify_token(&token, NOW).map(|(u, _)| u).as_deref(),
        Ok("ops")
    );
    assert_eq!(
        s.list_tokens(Some("ops")).unwrap()[0].expires,
        Some(NOW + 30 * 86_400)
    );
    // The page after shows its id, never the token again.
    let page = account_page(
        &s,
        &call(Method::GET, "/account", "", "ops", Role::Remediator),
        None,
        StatusCode::OK,
    );
    let id = &token[4..16];
    assert!(html(&page).contains(id) && !html(&page).contains(&token));
    // Someone else cannot revoke it.
    let mut other = call(Method::POST, "/x", "", "root", Role::Administrator);
    other.params = vec![("id".into(), id.into())];
    assert_eq!(revoke_token(&s, &other).status, StatusCode::NOT_FOUND);
    let mut own = call(Method::POST, "/x", "", "ops", Role::Remediator);
    own.params = vec![("id".into(), id.into())];
    assert_eq!(
        location(&revoke_token(&s, &own)),
        Some("/account?ok=revoked")
    );
    assert!(s.verify_token(&token, NOW).is_err());
}
