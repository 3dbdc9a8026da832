//! The users, tokens and audit API through their handlers: success, a bad JSON body is a 400
//! that changes nothing, the pages' refusals (the last administrator stays, only one's own
//! tokens), every change in the audit log; and every route of the new API carries the same
//! permission as its page twin.

use hyper::{Method, StatusCode};
use serde_json::Value;

use super::*;
use crate::admin::auth::Setup;
use crate::admin::pages::fixture::{self, NOW};

fn auth() -> Auth {
    Auth::new(
        &crate::config::Config::embedded().unwrap().admin.auth,
        Setup::none(),
    )
}

fn service() -> Service {
    let (s, _) = fixture::service();
    s.add_user(
        "ann",
        Role::Administrator,
        "ann's long password",
        &crate::service::Caller::cli("root"),
    )
    .unwrap();
    s
}

fn call(method: Method, path: &str, body: &str, params: &[(&str, &str)]) -> Call {
    let mut c = fixture::call(Role::Administrator, method, path, body);
    c.params = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    c
}

fn json(r: &Response) -> Value {
    serde_json::from_str(&fixture::text(r)).expect("a JSON body")
}

fn audit_actions(s: &Service) -> Vec<String> {
    let c = call(Method::GET, "/api/v1/audit", "", &[]);
    json(&audit_log(s, &c))["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn accounts_are_added_changed_and_removed_like_on_the_page() {
    let (s, auth) = (service(), auth());
    let add = |body: &str| add_user(&s, &call(Method::POST, "/api/v1/users", body, &[]));
    let r = add(r#"{"name": "bob", "role": "remediator", "password": "bob's long password"}"#);
    assert_eq!(r.status, StatusCode::CREATED, "{}", fixture::text(&r));
    assert_eq!(json(&r)["role"], "remediator");
    assert!(!fixture::text(&r).contains("long password"));
    // Bad bodies: 400 with the reason, nothing added.
    let bad = add(r#"{"name": "carl", "role": "remediator""#);
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        json(&bad)["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON body")
    );
    let bad = add(r#"{"name": "carl", "role": "emperor", "password": "carl's long password"}"#);
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(fixture::text(&bad).contains("no role \\\"emperor\\\""));
    let bad = add(r#"{"name": "carl", "role": "auditor", "password": "short"}"#);
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let list = list_users(&s, &call(Method::GET, "/api/v1/users", "", &[]));
    let names: Vec<_> = json(&list)["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["ann", "bob"]);
    // Change the role and the password; disable.
    let patch = |name: &str, body: &str| {
        change(
            &s,
            &auth,
            &call(Method::PATCH, "/api/v1/users/x", body, &[("name", name)]),
        )
    };
    let r = patch("bob", r#"{"role": "auditor", "disabled": true}"#);
    assert_eq!(r.status, StatusCode::OK, "{}", fixture::text(&r));
    assert_eq!(json(&r)["role"], "auditor");
    assert_eq!(json(&r)["disabled"], true);
    assert_eq!(
        patch("bob", "{\"rol\": \"auditor\"}").status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(patch("bob", "{}").status, StatusCode::BAD_REQUEST);
    assert_eq!(
        patch("nobody", r#"{"disabled": true}"#).status,
        StatusCode::NOT_FOUND
    );
    let r = patch("bob", r#"{"password": "bob's new long password"}"#);
    assert_eq!(r.status, StatusCode::OK);
    // The last administrator stays, by role change or removal.
    let r = patch("ann", r#"{"role": "auditor"}"#);
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", fixture::text(&r));
    let del = |name: &str| {
        remove(
            &s,
            &auth,
            &call(Method::DELETE, "/api/v1/users/x", "", &[("name", name)]),
        )
    };
    assert_eq!(del("ann").status, StatusCode::CONFLICT);
    assert_eq!(del("bob").status, StatusCode::OK);
    assert_eq!(s.user("bob").unwrap(), None);
    assert_eq!(s.user("ann").unwrap().unwrap().role, Role::Administrator);
    let actions = audit_actions(&s);
    for a in ["user.add", "user.role", "user.password", "user.remove"] {
        assert!(
            actions.iter().any(|x| x.starts_with(a)),
            "{a} not in {actions:?}"
        );
    }
}

#[test]
fn own_tokens_are_created_once_listed_and_revoked() {
    let s = service();
    let r = create_token(
        &s,
        &call(Method::POST, "/api/v1/tokens", r#"{"expires": "30d"}"#, &[]),
    );
    assert_eq!(r.status, StatusCode::CREATED, "{}", fixture::text(&r));
    let (id, token) = (json(&r)["id"].clone(), json(&r)["token"].clone());
    let token = token.as_str().unwrap();
    assert!(token.starts_with("slc_"));
    assert_eq!(s.verify_token(token, NOW).unwrap().0, "ann");
    let bad = create_token(
        &s,
        &call(
            Method::POST,
            "/api/v1/tokens",
            r#"{"expires": "soon"}"#,
            &[],
        ),
    );
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad = create_token(&s, &call(Method::POST, "/api/v1/tokens", "{", &[]));
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let listed = list_tokens(&s, &call(Method::GET, "/api/v1/tokens", "", &[]));
    let tokens = json(&listed)["tokens"].as_array().unwrap().clone();
    assert_eq!(tokens.len(), 1, "only the good one was made");
    assert!(
        !fixture::text(&listed).contains(&token[17..]),
        "no secret listed"
    );
    // Someone else's token is not ours to revoke.
    let (other, _) = s
        .create_token("ann", None, NOW, &crate::service::Caller::cli("root"))
        .unwrap();
    s.add_user(
        "bob",
        Role::Auditor,
        "bob's long password",
        &crate::service::Caller::cli("root"),
    )
    .unwrap();
    let mut as_bob = call(Method::DELETE, "/api/v1/tokens/x", "", &[("id", &other)]);
    as_bob.principal.as_mut().unwrap().user = "bob".into();
    assert_eq!(revoke_token(&s, &as_bob).status, StatusCode::NOT_FOUND);
    let id = id.as_str().unwrap();
    let r = revoke_token(
        &s,
        &call(Method::DELETE, "/api/v1/tokens/x", "", &[("id", id)]),
    );
    assert_eq!(r.status, StatusCode::OK, "{}", fixture::text(&r));
    assert!(s.verify_token(token, NOW).is_err());
    let actions = audit_actions(&s);
    assert!(
        actions.iter().any(|a| a.starts_with("token.create")),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a.starts_with("token.revoke")),
        "{actions:?}"
    );
}

#[test]
fn the_audit_log_is_filtered_and_paged() {
    let s = service();
    let cli = crate::service::Caller::cli("root");
    for i in 0..5 {
        s.add_user(&format!("user{i}"), Role::Auditor, "a long password", &cli)
            .unwrap();
    }
    let get = |q: &str| {
        audit_log(
            &s,
            &call(Method::GET, &format!("/api/v1/audit{q}"), "", &[]),
        )
    };
    let first = json(&get("?action=user.&limit=4"));
    assert_eq!(first["entries"].as_array().unwrap().len(), 4);
    let next = first["next"].as_u64().expect("a next page");
    let second = json(&get(&format!("?action=user.&limit=4&before={next}")));
    assert_eq!(
        second["entries"].as_array().unwrap().len(),
        2,
        "6 user.add in all"
    );
    assert!(second["next"].is_null());
    assert_eq!(
        json(&get("?actor=nobody"))["entries"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let bad = get("?since=yesterday");
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(fixture::text(&bad).contains("since"));
}

/// Every new API route has the permission of the page that does the same.
#[test]
fn api_routes_carry_their_page_twins_permissions() {
    use crate::admin::router::Access;
    let all = crate::admin::routes::all();
    let access = |method: &str, path: &str| {
        all.iter()
            .find(|d| d.method.as_str() == method && d.path == path)
            .map(|d| d.access)
            .unwrap_or_else(|| panic!("{method} {path} is not routed"))
    };
    let twins = [
        (("GET", "/api/v1/policies"), ("GET", "/policies")),
        (
            ("GET", "/api/v1/policies/{name}"),
            ("GET", "/policies/edit"),
        ),
        (("POST", "/api/v1/policies"), ("POST", "/policies/save")),
        (
            ("PUT", "/api/v1/policies/{name}"),
            ("POST", "/policies/save"),
        ),
        (
            ("PATCH", "/api/v1/policies/{name}"),
            ("POST", "/policies/move"),
        ),
        (
            ("DELETE", "/api/v1/policies/{name}"),
            ("POST", "/policies/delete"),
        ),
        (("POST", "/api/v1/policy-test"), ("POST", "/policies/test")),
        (("GET", "/api/v1/settings"), ("GET", "/settings")),
        (("GET", "/api/v1/settings/{group}"), ("GET", "/settings")),
        (
            ("PUT", "/api/v1/settings/{group}"),
            ("POST", "/settings/save"),
        ),
        (
            ("PATCH", "/api/v1/settings/{group}"),
            ("POST", "/settings/save"),
        ),
        (
            ("GET", "/api/v1/config/history"),
            ("GET", "/config/history"),
        ),
        (
            ("GET", "/api/v1/config/history/{n}"),
            ("GET", "/config/history/{n}"),
        ),
        (
            ("POST", "/api/v1/config/history/{n}/rollback"),
            ("POST", "/config/history/{n}/rollback"),
        ),
        (("GET", "/api/v1/users"), ("GET", "/users")),
        (("POST", "/api/v1/users"), ("POST", "/users")),
        (("PATCH", "/api/v1/users/{name}"), ("POST", "/users/{name}")),
        (
            ("DELETE", "/api/v1/users/{name}"),
            ("POST", "/users/{name}"),
        ),
        (("GET", "/api/v1/tokens"), ("GET", "/account")),
        (("POST", "/api/v1/tokens"), ("POST", "/account/tokens")),
        (
            ("DELETE", "/api/v1/tokens/{id}"),
            ("POST", "/account/tokens/{id}/revoke"),
        ),
        (("GET", "/api/v1/audit"), ("GET", "/audit")),
        (("GET", "/api/v1/status"), ("GET", "/")),
        (
            ("GET", "/api/v1/certificate"),
            ("GET", "/settings/certificate"),
        ),
        (
            ("PUT", "/api/v1/certificate"),
            ("POST", "/settings/certificate"),
        ),
    ];
    for ((am, ap), (pm, pp)) in twins {
        let a = access(am, ap);
        assert!(matches!(a, Access::Signed(_)), "{am} {ap}");
        assert_eq!(a, access(pm, pp), "{am} {ap} vs {pm} {pp}");
    }
    // Any name is a policy's, none is taken by another route.
    let router = crate::admin::router::Router::new(all).unwrap();
    for name in ["test", "new", "edit"] {
        for m in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
            let path = format!("/api/v1/policies/{name}");
            match router.find(&m, &path) {
                crate::admin::router::Lookup::Route(_, p) => assert_eq!(p[0].1, name),
                _ => panic!("{m} {path} is not the policy's"),
            }
        }
    }
}
