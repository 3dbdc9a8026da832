//! The JSON twin of the settings pages and the configuration history: the editable groups with
//! their values (secrets never shown), a change to a group (`PUT` or `PATCH`: the keys given;
//! validated whole, applied through the reload, with the keys that wait for a restart), the
//! versions, one version's diff, and a rollback. Saves go through `pages::config::save_at` and
//! `pages::settings::set_group`, the pages' own path (version, reload, audit entry).

use hyper::{Method, StatusCode};
use serde::Deserialize;

use super::super::call::Call;
use super::super::pages::config::{self as cfg};
use super::super::pages::settings::{GROUPS, set_group};
use super::super::response::Response;
use super::super::router::{Access, Def, Input};
use super::super::ui::Ui;
use super::{applied, current, digest_of, edit_error, no_store};
use crate::config::edit;
use crate::config::edit::history::History;
use crate::config::edit::view::{self, Kind};
use crate::service::Permission;

pub(crate) fn routes() -> Vec<Def> {
    let view = Access::Signed(Permission::ViewSettings);
    let edit = Access::Signed(Permission::EditSettings);
    let history = Access::Signed(Permission::ViewPolicies);
    let group = "/api/v1/settings/{group}";
    vec![
        Def::get("/api/v1/settings", "api.settings", view, all),
        Def::get(group, "api.settings.group", view, one),
        Def::post(group, "api.settings.put", edit, change)
            .reading(Input::Json)
            .answering(Method::PUT),
        Def::post(group, "api.settings.patch", edit, change)
            .reading(Input::Json)
            .answering(Method::PATCH),
        Def::get(
            "/api/v1/config/history",
            "api.config.history",
            history,
            versions,
        ),
        Def::get(
            "/api/v1/config/history/{n}",
            "api.config.version",
            history,
            version,
        ),
        Def::post(
            "/api/v1/config/history/{n}/rollback",
            "api.config.rollback",
            edit,
            rollback,
        )
        .reading(Input::Json),
    ]
}

/// A setting's value as JSON: typed by its kind; a secret's value is never given (`null`), only
/// whether it is set.
fn setting(s: &view::Setting) -> serde_json::Value {
    let secret = cfg::is_secret(&s.key);
    let value = match (secret, s.kind) {
        (true, _) => serde_json::Value::Null,
        (_, Kind::Bool) => serde_json::Value::Bool(s.value == "true"),
        (_, Kind::Number) => serde_json::from_str(&s.value).unwrap_or(s.value.clone().into()),
        (_, Kind::List) => s
            .value
            .lines()
            .map(|l| serde_json::Value::String(l.to_string()))
            .collect(),
        (_, Kind::Text) => s.value.clone().into(),
    };
    let mut v = serde_json::json!({
        "key": s.key, "value": value, "in_file": s.in_file,
        "restart": s.restart, "help": s.help,
    });
    if secret && let Some(o) = v.as_object_mut() {
        o.insert("secret".into(), true.into());
        o.insert("set".into(), (!s.value.is_empty()).into());
    }
    v
}

fn group_json(file: &str, (id, title, sections): (&str, &str, &[&str])) -> serde_json::Value {
    let settings: Vec<_> = view::settings(sections, file).iter().map(setting).collect();
    serde_json::json!({"id": id, "title": title, "settings": settings})
}

fn find(id: &str) -> Result<(&'static str, &'static str, &'static [&'static str]), Response> {
    GROUPS
        .iter()
        .find(|(g, _, _)| *g == id)
        .copied()
        .ok_or_else(|| {
            let ids: Vec<&str> = GROUPS.iter().map(|g| g.0).collect();
            Response::api_error(
                StatusCode::NOT_FOUND,
                &format!("no settings group {id:?} (there are {})", ids.join(", ")),
            )
        })
}

/// `GET /api/v1/settings`: every group, with the file's digest.
fn all(ui: &Ui, _: &Call) -> Response {
    let snap = match current(ui) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let groups: Vec<_> = GROUPS.iter().map(|g| group_json(&snap.text, *g)).collect();
    Response::json(
        StatusCode::OK,
        &serde_json::json!({"digest": snap.digest, "groups": groups}),
    )
}

/// `GET /api/v1/settings/{group}`.
fn one(ui: &Ui, call: &Call) -> Response {
    let g = match find(call.param("group").unwrap_or_default()) {
        Ok(g) => g,
        Err(r) => return r,
    };
    match current(ui) {
        Ok(snap) => {
            let mut v = group_json(&snap.text, g);
            if let Some(o) = v.as_object_mut() {
                o.insert("digest".into(), snap.digest.into());
            }
            Response::json(StatusCode::OK, &v)
        }
        Err(r) => r,
    }
}

/// A change to a group: `values` by key (a string as the form field takes it, a number, a
/// boolean, or a list of strings), and the `digest` it was read at (optional).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Change {
    values: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    digest: Option<String>,
}

/// A JSON value as the text of the setting's form field.
fn field_text(key: &str, v: &serde_json::Value) -> Result<String, String> {
    match v {
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| match i {
                serde_json::Value::String(s) if !s.contains('\n') => Ok(s.clone()),
                serde_json::Value::Number(n) => Ok(n.to_string()),
                _ => Err(format!("{key}: a list holds strings (one line each)")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|l| l.join("\n")),
        _ => Err(format!(
            "{key}: give a string, a number, true or false, or a list of strings"
        )),
    }
}

/// `PUT` / `PATCH /api/v1/settings/{group}`: the keys given, nothing else.
fn change(ui: &Ui, call: &Call) -> Response {
    let (id, _, sections) = match find(call.param("group").unwrap_or_default()) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let c: Change = match call.json() {
        Ok(c) => c,
        Err(r) => return r,
    };
    let keys: Vec<String> = view::settings(sections, "")
        .into_iter()
        .map(|s| s.key)
        .collect();
    let mut fields = Vec::new();
    for (k, v) in &c.values {
        if !keys.contains(k) {
            return Response::api_error(
                StatusCode::BAD_REQUEST,
                &format!("{k} is not a setting of the {id} group"),
            );
        }
        match field_text(k, v) {
            Ok(t) => fields.push((k.clone(), t)),
            Err(e) => return Response::api_error(StatusCode::BAD_REQUEST, &e),
        }
    }
    let digest = digest_of(ui, call, c.digest.as_deref());
    let r = cfg::save_at(ui, call, &digest, |doc| {
        set_group(doc, sections, |k| {
            fields.iter().find(|(f, _)| f == k).map(|(_, t)| t.clone())
        })
    });
    match r {
        Ok(a) => applied(StatusCode::OK, &a),
        Err(e) => edit_error(&e),
    }
}

fn history(ui: &Ui) -> Result<History, Response> {
    let app = ui.app().map_err(|_| no_store())?;
    Ok(History::at(&app.reloader.edit_target().data_dir))
}

/// `GET /api/v1/config/history`: the versions, newest first.
fn versions(ui: &Ui, _: &Call) -> Response {
    match history(ui).map(|h| h.list()) {
        Ok(Ok(v)) => Response::json(StatusCode::OK, &serde_json::json!({ "versions": v })),
        Ok(Err(e)) => edit_error(&e),
        Err(r) => r,
    }
}

fn number(call: &Call) -> Result<u64, Response> {
    call.param("n")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Response::api_error(StatusCode::NOT_FOUND, "no such version"))
}

/// `GET /api/v1/config/history/{n}`: the version, its change as a unified diff (`diff`), and
/// from it to the file now (`to_now`).
fn version(ui: &Ui, call: &Call) -> Response {
    let (h, n, snap) = match (history(ui), number(call), current(ui)) {
        (Ok(h), Ok(n), Ok(s)) => (h, n, s),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    match h.version(n).and_then(|v| Ok((v, h.before(n)?, h.text(n)?))) {
        Ok((v, before, after)) => Response::json(
            StatusCode::OK,
            &serde_json::json!({
                "version": v,
                "diff": edit::diff(&before, &after),
                "to_now": edit::diff(&after, &snap.text),
            }),
        ),
        Err(e) => edit_error(&e),
    }
}

/// The optional body of a rollback.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rollback {
    #[serde(default)]
    digest: Option<String>,
}

/// `POST /api/v1/config/history/{n}/rollback` (body optional: `{"digest"}`): version `n`'s text
/// applied as a new version.
fn rollback(ui: &Ui, call: &Call) -> Response {
    let (h, n) = match (history(ui), number(call)) {
        (Ok(h), Ok(n)) => (h, n),
        (Err(r), _) | (_, Err(r)) => return r,
    };
    let body: Rollback = match call.body.iter().all(u8::is_ascii_whitespace) {
        true => Rollback::default(),
        false => match call.json() {
            Ok(b) => b,
            Err(r) => return r,
        },
    };
    let text = match h.text(n) {
        Ok(t) => t,
        Err(e) => return edit_error(&e),
    };
    let digest = digest_of(ui, call, body.digest.as_deref());
    match cfg::save_at(ui, call, &digest, |doc| {
        doc.replace_text(&text, &format!("rolled back to version {n}"))
    }) {
        Ok(a) => applied(StatusCode::OK, &a),
        Err(e) => edit_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed_and_secrets_never_shown() {
        let file = "[admin]\nmetrics_token = \"s3cret-value\"\n[listener]\nmax_sessions = 60\n";
        let g = group_json(file, *GROUPS.iter().find(|g| g.0 == "admin").unwrap());
        let text = g.to_string();
        assert!(!text.contains("s3cret-value"), "{text}");
        let token = g["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["key"] == "admin.metrics_token")
            .unwrap();
        assert_eq!(token["secret"], true);
        assert_eq!(token["set"], true);
        assert!(token["value"].is_null());
        let l = group_json(file, GROUPS[0]);
        let by = |k: &str| {
            l["settings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["key"] == k)
                .unwrap()["value"]
                .clone()
        };
        assert_eq!(by("listener.max_sessions"), 60);
        assert!(by("listener.allowed_clients").is_array());
    }

    #[test]
    fn json_values_become_the_form_fields_text() {
        use serde_json::json;
        assert_eq!(field_text("k", &json!(5)).unwrap(), "5");
        assert_eq!(field_text("k", &json!(true)).unwrap(), "true");
        assert_eq!(field_text("k", &json!(["a", "b"])).unwrap(), "a\nb");
        assert!(field_text("k", &json!(["a\nb"])).is_err());
        assert!(field_text("k", &json!({"x": 1})).is_err());
        assert!(field_text("k", &json!(null)).is_err());
    }
}
