//! `/settings/siem`: the `[[siem]]` destinations of the configuration file, each one's every key
//! in a form (empty: `[siem_defaults]` applies), added, changed and removed through
//! `config::edit` (the loader's checks, the file's comments kept, a version in the history, an
//! audit entry with the lines before and after, applied by a reload), and "send test event" for
//! the destinations in force (`sluice siem test`). A destination's keys name files (certificates,
//! keys), never secrets themselves, so every value is shown.

use hyper::StatusCode;
use maud::{Markup, html};

use super::super::call::Call;
use super::super::response::Response;
use super::super::router::{Access, Def};
use super::super::ui::Ui;
use super::Nav;
use super::config as cfg;
use crate::config::edit::{Document, EditError, SIEM_KEYS, SiemEntry, Snapshot};
use crate::service::Permission;

pub(crate) fn routes() -> Vec<Def> {
    let edit = Access::Signed(Permission::EditSettings);
    vec![
        Def::get(
            "/settings/siem",
            "settings.siem",
            Access::Signed(Permission::ViewSettings),
            show,
        ),
        Def::post("/settings/siem/save", "settings.siem.save", edit, save),
        Def::post(
            "/settings/siem/remove",
            "settings.siem.remove",
            edit,
            remove,
        ),
        Def::post("/settings/siem-test", "settings.siem_test", edit, test),
    ]
}

/// What each key takes (the rest of the story is in `assets/sluice.toml`).
fn help(key: &str) -> &'static str {
    match key {
        "name" => {
            "Required, unique: 1-64 of A-Z a-z 0-9 - _ . (renaming starts a new outbox cursor)."
        }
        "format" => "Required: rfc5424, rfc3164, cef, leef or json.",
        "transport" => "Required: udp, tcp, tls or local.",
        "address" => "host:port; for local a Unix datagram socket path (default /dev/log).",
        "ca_file" => "tls: PEM trust anchors for the receiver (default: the system bundle).",
        "server_name" => "tls: the name the receiver's certificate must carry (default: the host).",
        "client_cert" => "tls, optional: a client certificate chain file (PEM), with client_key.",
        "client_key" => "tls, optional: the client key file (PEM); the key itself is never shown.",
        "categories" => "Event categories to send, comma separated.",
        "min_severity" => "Events below this severity (0-10) are skipped.",
        "subject" => "clear, mask, hash or omit.",
        "leef_version" => "format leef: 2.0 or 1.0.",
        "facility" => "0-23 or a name (local0 ... local7).",
        "udp_max" => "Largest datagram in bytes (480 to 65507).",
        "start" => "Where a new destination starts: end or oldest.",
        _ => "A duration like 1s, 60s.",
    }
}

fn may_edit(call: &Call) -> bool {
    call.principal
        .as_ref()
        .is_some_and(|p| p.can(Permission::EditSettings))
}

fn show(ui: &Ui, call: &Call) -> Response {
    respond(ui, call, StatusCode::OK, None, None)
}

/// A destination's form as it was submitted (shown again with the reason it was refused).
struct Draft {
    original: Option<String>,
    values: Vec<(&'static str, String)>,
}

fn respond(
    ui: &Ui,
    call: &Call,
    status: StatusCode,
    note: Option<Markup>,
    draft: Option<Draft>,
) -> Response {
    let (_, _, snap) = match cfg::current(ui, call) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let list = match Document::new(snap.text.clone()).siem() {
        Ok(l) => l,
        Err(e) => return cfg::failure(call, &e),
    };
    let body = render(call, &snap, &list, note, draft.as_ref());
    Response::html(
        status,
        super::document(Some(call), "Settings", Nav::Settings, body),
    )
}

fn render(
    call: &Call,
    snap: &Snapshot,
    list: &[SiemEntry],
    note: Option<Markup>,
    draft: Option<&Draft>,
) -> Markup {
    let edit = may_edit(call);
    let draft_of = |original: Option<&str>| draft.filter(|d| d.original.as_deref() == original);
    html! {
        (super::settings::tabs("siem"))
        @if let Some(n) = note { (n) }
        h2 { "SIEM destinations" }
        p class="hint" { "Each destination drains the event outbox from its own cursor. A key left empty takes its value from [siem_defaults]. Changes are checked whole, written to the configuration file (its comments kept) and applied at once." }
        @if list.is_empty() { p { "None configured." } }
        @for e in list {
            section class="card" aria-label=(format!("SIEM destination {}", e.name)) {
                h3 { (e.name) }
                @let values = draft_of(Some(&e.name)).map_or(&e.values, |d| &d.values);
                (fields_form(call, snap, Some(&e.name), values, edit))
                @if edit {
                    form class="inline" method="post" action="/settings/siem-test" {
                        (super::csrf_field(call))
                        input type="hidden" name="name" value=(e.name);
                        button type="submit" class="secondary" { "Send test event" }
                    }
                    " "
                    form class="inline" method="post" action="/settings/siem/remove" {
                        (super::csrf_field(call))
                        (cfg::digest_field(snap))
                        input type="hidden" name="name" value=(e.name);
                        button type="submit" class="danger" { "Remove" }
                    }
                }
            }
        }
        @if edit {
            h2 { "Add a destination" }
            (fields_form(call, snap, None, draft_of(None).map_or(&[][..], |d| &d.values[..]), true))
        }
        p { a href="/config/history" { "Version history" } }
    }
}

/// The form of one destination (`original`: its name in the file; `None`: a new one).
fn fields_form(
    call: &Call,
    snap: &Snapshot,
    original: Option<&str>,
    values: &[(&'static str, String)],
    edit: bool,
) -> Markup {
    let id = |k: &str| format!("siem-{}-{k}", original.unwrap_or("new"));
    let value = |k: &str| {
        values
            .iter()
            .find(|(key, _)| *key == k)
            .map_or("", |(_, v)| v.as_str())
    };
    html! {
        form class="settings" method="post" action="/settings/siem/save" {
            (super::csrf_field(call))
            (cfg::digest_field(snap))
            @if let Some(o) = original { input type="hidden" name="original" value=(o); }
            @for k in SIEM_KEYS {
                div class="setting" {
                    label for=(id(k)) { code { (k) } }
                    input id=(id(k)) name=(k) value=(value(k)) disabled[!edit];
                    p class="help" { (help(k)) }
                }
            }
            @if edit {
                button type="submit" { @if original.is_some() { "Save" } @else { "Add" } }
            }
        }
    }
}

fn save(ui: &Ui, call: &Call) -> Response {
    let form = call.form();
    let original = form
        .get("original")
        .filter(|o| !o.is_empty())
        .map(str::to_string);
    let values: Vec<(&'static str, String)> = SIEM_KEYS
        .iter()
        .map(|k| (*k, form.get(k).unwrap_or_default().trim().to_string()))
        .collect();
    let fields: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let result = cfg::save(ui, call, |doc| doc.put_siem(original.as_deref(), &fields));
    let draft = Draft { original, values };
    finish(ui, call, result, Some(draft))
}

fn remove(ui: &Ui, call: &Call) -> Response {
    let name = call.form().get("name").unwrap_or_default().to_string();
    let result = cfg::save(ui, call, |doc| doc.delete_siem(&name));
    finish(ui, call, result, None)
}

/// The page after a save: what was applied, or why nothing was (the form as submitted kept).
fn finish(
    ui: &Ui,
    call: &Call,
    result: Result<crate::config::edit::Applied, EditError>,
    draft: Option<Draft>,
) -> Response {
    match result {
        Ok(a) => respond(ui, call, StatusCode::OK, Some(cfg::applied_note(&a)), None),
        Err(e) => respond(ui, call, cfg::status(&e), Some(cfg::problem(&e)), draft),
    }
}

/// `POST /settings/siem-test`: one test event to a destination in force.
fn test(ui: &Ui, call: &Call) -> Response {
    let app = match ui.app() {
        Ok(a) => a,
        Err(r) => return r,
    };
    let name = call.form().get("name").unwrap_or_default().to_string();
    let config = app.swap.current().config.clone();
    let note = match crate::export::test::send_one(&config, &name, call.actor()) {
        Ok((ok, report)) => html! {
            p class=(if ok { "flash ok" } else { "flash error" }) role="status" {
                @if ok { "The test event was sent." } @else { "The test event was not taken." }
            }
            pre { (report) }
        },
        Err(e) => html! { p class="flash error" role="alert" { (e) } },
    };
    respond(ui, call, StatusCode::OK, Some(note), None)
}
