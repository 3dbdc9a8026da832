//! The JSON twin of the policy pages: the list in evaluation order, one policy (its TOML and its
//! form fields when it has the common shape), create / replace (TOML text or fields; an invalid
//! policy is refused with the reason and its line), delete, enable / disable, mode, move, and the
//! test against an uploaded .eml. Every change goes through `pages::config::save_at` (the file
//! keeps its comments; a version, the reload, the audit entry with before and after), exactly as
//! the pages' saves do.

use hyper::{Method, StatusCode};
use serde::Deserialize;

use super::super::call::Call;
use super::super::pages::config::{self as cfg, multipart};
use super::super::pages::policies::try_policy;
use super::super::response::Response;
use super::super::router::{Access, Def, Input};
use super::super::ui::Ui;
use super::{applied, current, digest_of, edit_error};
use crate::config::edit::{Document, Mode, PolicyShape};
use crate::service::Permission;

pub(crate) fn routes() -> Vec<Def> {
    let view = Access::Signed(Permission::ViewPolicies);
    let edit = Access::Signed(Permission::EditPolicies);
    let one = "/api/v1/policies/{name}";
    vec![
        Def::get("/api/v1/policies", "api.policies", view, list),
        Def::post("/api/v1/policies", "api.policies.create", edit, create).reading(Input::Json),
        Def::get(one, "api.policy", view, show),
        Def::post(one, "api.policy.put", edit, put)
            .reading(Input::Json)
            .answering(Method::PUT),
        Def::post(one, "api.policy.patch", edit, patch)
            .reading(Input::Json)
            .answering(Method::PATCH),
        Def::post(one, "api.policy.delete", edit, delete)
            .reading(Input::None)
            .answering(Method::DELETE),
        Def::post("/api/v1/policy-test", "api.policies.test", view, test).reading(Input::Upload),
    ]
}

/// The policy's name from the path, percent-decoded (`Payment%20cards`).
fn name_of(call: &Call) -> String {
    call.param("name")
        .and_then(|n| super::super::form::decode(n.as_bytes()))
        .unwrap_or_default()
}

/// `GET /api/v1/policies`: `{"digest", "policies": [...]}` in evaluation order (no texts).
fn list(ui: &Ui, _: &Call) -> Response {
    let snap = match current(ui) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match Document::new(snap.text).policies() {
        Ok(policies) => {
            let items: Vec<serde_json::Value> = policies
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "index": p.index, "id": p.id, "name": p.name, "enabled": p.enabled,
                        "mode": p.mode, "severity": p.severity, "action": p.action,
                        "builtin": p.builtin,
                    })
                })
                .collect();
            Response::json(
                StatusCode::OK,
                &serde_json::json!({"digest": snap.digest, "policies": items}),
            )
        }
        Err(e) => edit_error(&e),
    }
}

/// `GET /api/v1/policies/{name}`: the policy with its `text` and `fields` (null when the form
/// cannot show it).
fn show(ui: &Ui, call: &Call) -> Response {
    let snap = match current(ui) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let name = &name_of(call);
    match Document::new(snap.text).policies() {
        Ok(policies) => match policies.into_iter().find(|p| p.name == *name) {
            Some(p) => {
                let fields = PolicyShape::from_text(&p.text);
                let mut v = serde_json::to_value(&p).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.insert(
                        "fields".into(),
                        serde_json::to_value(fields).unwrap_or_default(),
                    );
                    o.insert("digest".into(), snap.digest.into());
                }
                Response::json(StatusCode::OK, &v)
            }
            None => Response::api_error(StatusCode::NOT_FOUND, "there is no policy of that name"),
        },
        Err(e) => edit_error(&e),
    }
}

/// A policy to save: its TOML `text`, or its `fields`; `digest` of the file it was read from
/// (optional: without it the file as it is now is changed).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    fields: Option<PolicyShape>,
    #[serde(default)]
    digest: Option<String>,
}

impl Body {
    fn text(&self) -> Result<String, Response> {
        match (&self.text, &self.fields) {
            (Some(t), None) => Ok(t.replace("\r\n", "\n")),
            (None, Some(f)) => Ok(f.to_toml()),
            _ => Err(Response::api_error(
                StatusCode::BAD_REQUEST,
                "give the policy as \"text\" (TOML) or as \"fields\", one of the two",
            )),
        }
    }
}

/// Saves `text` over the policy `original` ("" : a new one).
fn save(ui: &Ui, call: &Call, original: &str, status: StatusCode) -> Response {
    let body: Body = match call.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    let text = match body.text() {
        Ok(t) => t,
        Err(r) => return r,
    };
    let digest = digest_of(ui, call, body.digest.as_deref());
    match cfg::save_at(ui, call, &digest, |d| d.put_policy(original, &text)) {
        Ok(a) => applied(status, &a),
        Err(e) => edit_error(&e),
    }
}

/// `POST /api/v1/policies`: a new policy (201).
fn create(ui: &Ui, call: &Call) -> Response {
    save(ui, call, "", StatusCode::CREATED)
}

/// `PUT /api/v1/policies/{name}`: replaces the policy (the text may rename it), or creates it
/// when there is none of that name and the text names it so.
fn put(ui: &Ui, call: &Call) -> Response {
    let name = name_of(call);
    if let Ok(b) = call.json::<Body>()
        && let Ok(text) = b.text()
        && let Ok(Some(p)) = Document::new(text).policies().map(|l| l.into_iter().next())
        && p.name != name
        && let Ok(snap) = current(ui)
        && !Document::new(snap.text)
            .policies()
            .is_ok_and(|l| l.iter().any(|q| q.name == name))
    {
        return Response::api_error(
            StatusCode::NOT_FOUND,
            &format!(
                "there is no policy named {name:?} (the text names {:?}; POST /api/v1/policies creates one)",
                p.name
            ),
        );
    }
    save(ui, call, &name, StatusCode::OK)
}

/// What `PATCH` changes: any of `enabled`, `mode`, `position` (0: evaluated first).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    position: Option<usize>,
    #[serde(default)]
    digest: Option<String>,
}

/// `PATCH /api/v1/policies/{name}`: enable or disable, monitor or enforce, move; one version.
fn patch(ui: &Ui, call: &Call) -> Response {
    let p: Patch = match call.json() {
        Ok(p) => p,
        Err(r) => return r,
    };
    if p.enabled.is_none() && p.mode.is_none() && p.position.is_none() {
        return Response::api_error(
            StatusCode::BAD_REQUEST,
            "give at least one of \"enabled\", \"mode\", \"position\"",
        );
    }
    let name = &name_of(call);
    let digest = digest_of(ui, call, p.digest.as_deref());
    let r = cfg::save_at(ui, call, &digest, |d| {
        if let Some(on) = p.enabled {
            d.set_policy_enabled(name, on)?;
        }
        if let Some(m) = p.mode {
            d.set_policy_mode(name, m)?;
        }
        match p.position {
            Some(to) => d.move_policy(name, to),
            None => Ok(()),
        }
    });
    match r {
        Ok(a) => applied(StatusCode::OK, &a),
        Err(e) => edit_error(&e),
    }
}

/// `DELETE /api/v1/policies/{name}` (`?digest=` optional).
fn delete(ui: &Ui, call: &Call) -> Response {
    let name = &name_of(call);
    let digest = digest_of(ui, call, call.query("digest"));
    match cfg::save_at(ui, call, &digest, |d| d.delete_policy(name)) {
        Ok(a) => applied(StatusCode::OK, &a),
        Err(e) => edit_error(&e),
    }
}

/// `POST /api/v1/policy-test`: the message as `multipart/form-data` (`eml`, and optionally a
/// candidate policy `text` replacing `original`), or the message alone as `message/rfc822`
/// (the configuration as it is). The result: verdict, violations, findings, what would be sent.
fn test(ui: &Ui, call: &Call) -> Response {
    let snap = match current(ui) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let ct = call.header("content-type").unwrap_or_default();
    let (original, text, eml) = if ct.to_ascii_lowercase().starts_with("multipart/form-data") {
        let Some(parts) = multipart::parse(ct, &call.body) else {
            return Response::api_error(
                StatusCode::BAD_REQUEST,
                "the multipart/form-data body could not be read",
            );
        };
        let field = |n: &str| parts.iter().find(|p| p.name == n).map(|p| p.bytes.clone());
        let text_of = |n: &str| {
            field(n)
                .map(|b| String::from_utf8_lossy(&b).replace("\r\n", "\n"))
                .unwrap_or_default()
        };
        (
            text_of("original"),
            text_of("text"),
            field("eml").unwrap_or_default(),
        )
    } else {
        (String::new(), String::new(), call.body.clone())
    };
    match try_policy(&snap.text, &original, &text, &eml) {
        Ok(p) => Response::json(StatusCode::OK, &p),
        Err(e) => edit_error(&e),
    }
}
