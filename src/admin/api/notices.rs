//! The JSON twin of the settings pages' SIEM destinations and notice templates: the `[[siem]]`
//! tables (list, add or replace, remove, send a test event) and a notice kind's template (read,
//! save, preview with a sample message). Saves go through `pages::config::save_at` with the
//! editor the pages use (`Document::put_siem`, `pages::settings::put_template`): a version, a
//! reload and an audit entry each.

use std::collections::BTreeMap;

use hyper::{Method, StatusCode};
use serde::Deserialize;

use super::super::call::Call;
use super::super::pages::config as cfg;
use super::super::pages::settings::{Draft, PARTS, put_template};
use super::super::response::Response;
use super::super::router::{Access, Def, Input};
use super::super::ui::Ui;
use super::{applied, current, digest_of, edit_error, no_store};
use crate::config::edit::{Document, SIEM_KEYS, view};
use crate::service::Permission;

pub(crate) fn routes() -> Vec<Def> {
    let view = Access::Signed(Permission::ViewSettings);
    let edit = Access::Signed(Permission::EditSettings);
    let one = "/api/v1/settings/siem/{name}";
    let kind = "/api/v1/settings/templates/{kind}";
    vec![
        Def::get("/api/v1/settings/siem", "api.siem", view, siem_list),
        Def::post(one, "api.siem.put", edit, siem_put)
            .reading(Input::Json)
            .answering(Method::PUT),
        Def::post(one, "api.siem.delete", edit, siem_delete)
            .reading(Input::None)
            .answering(Method::DELETE),
        Def::post(
            "/api/v1/settings/siem/{name}/test",
            "api.siem.test",
            edit,
            siem_test,
        )
        .reading(Input::None),
        Def::get(kind, "api.template", view, template_get),
        Def::post(kind, "api.template.put", edit, template_put)
            .reading(Input::Json)
            .answering(Method::PUT),
        Def::post(
            "/api/v1/settings/templates/{kind}/preview",
            "api.template.preview",
            view,
            template_preview,
        )
        .reading(Input::Json),
    ]
}

/// A name from the path, percent-decoded.
fn param(call: &Call, name: &str) -> String {
    call.param(name)
        .and_then(|n| super::super::form::decode(n.as_bytes()))
        .unwrap_or_default()
}

/// `GET /api/v1/settings/siem`: `{"digest", "destinations": [{"name", "values": {key: text}}]}`
/// (a key left to `[siem_defaults]` is absent).
fn siem_list(ui: &Ui, _: &Call) -> Response {
    let snap = match current(ui) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match Document::new(snap.text).siem() {
        Ok(list) => {
            let items: Vec<serde_json::Value> = list
                .iter()
                .map(|e| {
                    let values: BTreeMap<&str, &str> = e
                        .values
                        .iter()
                        .filter(|(_, v)| !v.is_empty())
                        .map(|(k, v)| (*k, v.as_str()))
                        .collect();
                    serde_json::json!({"name": e.name, "values": values})
                })
                .collect();
            Response::json(
                StatusCode::OK,
                &serde_json::json!({"digest": snap.digest, "destinations": items}),
            )
        }
        Err(e) => edit_error(&e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SiemBody {
    /// Every key of the destination (as text, as the page's form gives it); one not given is
    /// left to `[siem_defaults]`. A `name` other than the path's renames it.
    values: BTreeMap<String, String>,
    #[serde(default)]
    digest: Option<String>,
}

/// `PUT /api/v1/settings/siem/{name}`: adds the destination, or replaces the one of that name.
fn siem_put(ui: &Ui, call: &Call) -> Response {
    let name = param(call, "name");
    let body: SiemBody = match call.json() {
        Ok(b) => b,
        Err(r) => return r,
    };
    if let Some(k) = body
        .values
        .keys()
        .find(|k| !SIEM_KEYS.contains(&k.as_str()))
    {
        let msg = format!("{k} is not a key of a [[siem]] destination");
        return Response::api_error(StatusCode::BAD_REQUEST, &msg);
    }
    let snap = match current(ui) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let exists = match Document::new(snap.text).siem() {
        Ok(list) => list.iter().any(|e| e.name == name),
        Err(e) => return edit_error(&e),
    };
    let mut fields: Vec<(&str, &str)> = vec![("name", name.as_str())];
    fields.retain(|_| !body.values.contains_key("name"));
    fields.extend(body.values.iter().map(|(k, v)| (k.as_str(), v.trim())));
    let original = exists.then_some(name.as_str());
    let digest = digest_of(ui, call, body.digest.as_deref());
    let status = if exists {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    match cfg::save_at(ui, call, &digest, |doc| doc.put_siem(original, &fields)) {
        Ok(a) => applied(status, &a),
        Err(e) => edit_error(&e),
    }
}

/// `DELETE /api/v1/settings/siem/{name}`.
fn siem_delete(ui: &Ui, call: &Call) -> Response {
    let name = param(call, "name");
    let digest = digest_of(ui, call, call.query("digest"));
    match cfg::save_at(ui, call, &digest, |doc| doc.delete_siem(&name)) {
        Ok(a) => applied(StatusCode::OK, &a),
        Err(e) => edit_error(&e),
    }
}

/// `POST /api/v1/settings/siem/{name}/test`: one test event to a destination in force;
/// `{"sent", "report"}`.
fn siem_test(ui: &Ui, call: &Call) -> Response {
    let app = match ui.app() {
        Ok(a) => a,
        Err(_) => return no_store(),
    };
    let config = app.swap.current().config.clone();
    match crate::export::test::send_one(&config, &param(call, "name"), call.actor()) {
        Ok((sent, report)) => Response::json(
            StatusCode::OK,
            &serde_json::json!({"sent": sent, "report": report}),
        ),
        Err(e) => Response::api_error(StatusCode::NOT_FOUND, &e.to_string()),
    }
}

/// The kind from the path, if Sluice sends notices of that kind.
fn kind_of(call: &Call) -> Result<String, Response> {
    let kind = param(call, "kind");
    match view::notice_kinds().contains(&kind.as_str()) {
        true => Ok(kind),
        false => Err(Response::api_error(
            StatusCode::NOT_FOUND,
            &format!(
                "no notice kind {kind:?}: use one of {}",
                view::notice_kinds().join(", ")
            ),
        )),
    }
}

/// `GET /api/v1/settings/templates/{kind}`: the parts the file sets (empty: the built-in default).
fn template_get(ui: &Ui, call: &Call) -> Response {
    let kind = match kind_of(call) {
        Ok(k) => k,
        Err(r) => return r,
    };
    let snap = match current(ui) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let [subject, text, html] = view::notice_template(&snap.text, &kind);
    Response::json(
        StatusCode::OK,
        &serde_json::json!({"kind": kind, "digest": snap.digest, "subject": subject, "text": text, "html": html}),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateBody {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    html: String,
    #[serde(default)]
    digest: Option<String>,
}

fn draft(call: &Call) -> Result<(Draft, Option<String>), Response> {
    let kind = kind_of(call)?;
    let b: TemplateBody = call.json()?;
    let parts = [b.subject, b.text, b.html].map(|p| p.replace("\r\n", "\n"));
    debug_assert_eq!(PARTS.len(), parts.len());
    Ok((Draft { kind, parts }, b.digest))
}

/// `PUT /api/v1/settings/templates/{kind}`: a part given is set, an empty one goes back to the
/// built-in default.
fn template_put(ui: &Ui, call: &Call) -> Response {
    let (d, digest) = match draft(call) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let digest = digest_of(ui, call, digest.as_deref());
    match cfg::save_at(ui, call, &digest, |doc| put_template(doc, &d)) {
        Ok(a) => applied(StatusCode::OK, &a),
        Err(e) => edit_error(&e),
    }
}

/// `POST /api/v1/settings/templates/{kind}/preview`: the notice these parts make for a sample
/// message (nothing is saved): `{"subject", "text", "html"}`.
fn template_preview(ui: &Ui, call: &Call) -> Response {
    let (d, _) = match draft(call) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let snap = match current(ui) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut doc = Document::new(snap.text);
    let rendered =
        put_template(&mut doc, &d).and_then(|_| view::preview_notice(doc.text(), &d.kind));
    match rendered {
        Ok(r) => Response::json(
            StatusCode::OK,
            &serde_json::json!({"subject": r.subject, "text": r.text, "html": r.html}),
        ),
        Err(e) => edit_error(&e),
    }
}
