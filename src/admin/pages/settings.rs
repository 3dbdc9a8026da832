//! The settings pages: one form per group (listener, mode and next hops, TLS, limits,
//! notifications, retention, admin access), each key with the documentation `assets/sluice.toml`
//! gives it, its value in force and a "restart" mark where a change waits for one; a save writes
//! the changed keys through `config::edit` (validated whole, applied by a reload) and says which
//! keys need a restart. The SIEM destinations have their own tab (`pages::siem`).

use hyper::StatusCode;
use maud::{Markup, html};

use super::super::call::Call;
use super::super::response::Response;
use super::super::router::{Access, Def};
use super::super::ui::Ui;
use super::Nav;
use super::config as cfg;
use crate::config::edit::view::{self, Kind, Setting};
use crate::config::edit::{EditError, Snapshot, value_from_input};
use crate::service::Permission;

/// The groups: address, title, the sections of the file they show.
pub(crate) const GROUPS: [(&str, &str, &[&str]); 7] = [
    ("listener", "Listener", &["listener"]),
    (
        "mode",
        "Mode and next hops",
        &["server", "relay", "relay.pass_header"],
    ),
    ("tls", "TLS", &["tls"]),
    ("limits", "Limits", &["inspection", "decomposition", "pdf"]),
    ("notifications", "Notifications", &["notifications"]),
    (
        "retention",
        "Retention",
        &["quarantine", "incidents", "events", "approval"],
    ),
    ("admin", "Admin access", &["admin"]),
];

pub(crate) fn routes() -> Vec<Def> {
    vec![
        Def::get(
            "/settings",
            "settings.show",
            Access::Signed(Permission::ViewSettings),
            show,
        ),
        Def::post(
            "/settings/save",
            "settings.save",
            Access::Signed(Permission::EditSettings),
            save,
        ),
        Def::post(
            "/settings/template",
            "settings.template",
            Access::Signed(Permission::ViewSettings),
            template,
        ),
    ]
}

fn group(id: &str) -> (&'static str, &'static str, &'static [&'static str]) {
    GROUPS
        .iter()
        .find(|(g, _, _)| *g == id)
        .copied()
        .unwrap_or(GROUPS[0])
}

fn show(ui: &Ui, call: &Call) -> Response {
    let id = call.query("group").unwrap_or("listener");
    respond(ui, call, id, StatusCode::OK, None)
}

/// A notice template being edited: its kind and parts (empty: the built-in default's part).
pub(crate) struct Draft {
    pub kind: String,
    pub parts: [String; 3],
}

/// A template's parts, in [`Draft::parts`] order.
pub(crate) const PARTS: [&str; 3] = ["subject", "text", "html"];

fn respond(ui: &Ui, call: &Call, id: &str, status: StatusCode, note: Option<Markup>) -> Response {
    respond_with(ui, call, id, status, note, None)
}

fn respond_with(
    ui: &Ui,
    call: &Call,
    id: &str,
    status: StatusCode,
    note: Option<Markup>,
    draft: Option<Draft>,
) -> Response {
    let (_, _, snap) = match cfg::current(ui, call) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (id, title, sections) = group(id);
    let settings = view::settings(sections, &snap.text);
    let mut body = render(call, &snap, id, title, &settings, note);
    if id == "notifications" {
        let draft = draft.unwrap_or_else(|| {
            let kind = call.query("kind").unwrap_or("sender_violation").to_string();
            let parts = view::notice_template(&snap.text, &kind);
            Draft { kind, parts }
        });
        body = html! { (body) (templates(call, &snap, &draft)) };
    }
    Response::html(
        status,
        super::document(Some(call), "Settings", Nav::Settings, body),
    )
}

/// The settings' tabs, `current` (a group, or "siem") marked.
pub(crate) fn tabs(current: &str) -> Markup {
    html! {
        nav class="tabs" aria-label="Settings groups" {
            @for (g, t, _) in GROUPS {
                @if g == current { a href=(format!("/settings?group={g}")) aria-current="page" { (t) } }
                @else { a href=(format!("/settings?group={g}")) { (t) } }
            }
            @if current == "siem" { a href="/settings/siem" aria-current="page" { "SIEM destinations" } }
            @else { a href="/settings/siem" { "SIEM destinations" } }
            a href="/settings/certificate" { "Certificate" }
        }
    }
}

/// One group's form.
pub(crate) fn render(
    call: &Call,
    snap: &Snapshot,
    id: &str,
    title: &str,
    settings: &[Setting],
    note: Option<Markup>,
) -> Markup {
    let edit = call
        .principal
        .as_ref()
        .is_some_and(|p| p.can(Permission::EditSettings));
    html! {
        (tabs(id))
        @if let Some(n) = note { (n) }
        h2 { (title) }
        p class="hint" { "Changes are checked whole, written to the configuration file (its comments kept) and applied at once; keys marked "
            (super::badge("restart", "restart")) " take effect at the next restart. A key you leave at its default stays out of the file." }
        form class="settings" method="post" action="/settings/save" {
            (super::csrf_field(call))
            (cfg::digest_field(snap))
            input type="hidden" name="group" value=(id);
            @for s in settings {
                div class="setting" {
                    label for=(s.key) { code { (s.key) } @if s.restart.is_some() { " " (super::badge("restart", "restart")) } }
                    (input(s, edit))
                    @if !s.help.is_empty() { p class="help" { (s.help) } }
                    @if let Some(why) = s.restart { p class="help" { "Restart: " (why) "." } }
                }
            }
            @if edit { button type="submit" { "Save" } }
        }
        p { a href="/config/history" { "Version history" } }
    }
}

/// A setting's input: a choice, a list (one per line), a secret (never sent back) or a value.
fn input(s: &Setting, edit: bool) -> Markup {
    html! {
        @match s.kind {
            Kind::Bool => select id=(s.key) name=(s.key) disabled[!edit] {
                @for o in ["true", "false"] {
                    @if o == s.value { option selected { (o) } } @else { option { (o) } }
                }
            },
            Kind::List => textarea id=(s.key) name=(s.key) rows="3" disabled[!edit] { (s.value) },
            _ if cfg::is_secret(&s.key) => input id=(s.key) name=(s.key) type="password" value=""
                autocomplete="new-password" disabled[!edit]
                placeholder=(if s.value.is_empty() { "not set" } else { "set (hidden): leave empty to keep it" });,
            _ => input id=(s.key) name=(s.key) value=(s.value) disabled[!edit];,
        }
    }
}

/// The keys of the group whose submitted value differs from the value in force.
pub(crate) fn changed(
    settings: &[Setting],
    field: impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, toml_edit::Value)>, EditError> {
    let mut out = Vec::new();
    for s in settings {
        let Some(given) = field(&s.key) else { continue };
        // A secret is never shown, so its empty field means "keep it".
        if given.is_empty() && cfg::is_secret(&s.key) {
            continue;
        }
        let given = given.replace("\r\n", "\n");
        let norm = |t: &str| -> Vec<String> {
            t.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        };
        if norm(&given) == norm(&s.value) {
            continue;
        }
        out.push((s.key.clone(), value_from_input(&s.key, &given)?));
    }
    Ok(out)
}

/// Sets the keys of the group of `sections` whose `field` value differs from the one in force
/// (the settings page's form and the API's `PUT /api/v1/settings/{group}` alike).
pub(crate) fn set_group(
    doc: &mut crate::config::edit::Document,
    sections: &[&str],
    field: impl Fn(&str) -> Option<String>,
) -> Result<(), EditError> {
    let settings = view::settings(sections, doc.text());
    let values = changed(&settings, field)?;
    doc.set_all(values.iter().map(|(k, v)| (k.as_str(), v.clone())))
}

fn save(ui: &Ui, call: &Call) -> Response {
    let form = call.form();
    let id = form.get("group").unwrap_or("listener").to_string();
    let (_, _, sections) = group(&id);
    let result = cfg::save(ui, call, |doc| {
        set_group(doc, sections, |k| form.raw(k).map(str::to_string))
    });
    let (status, note) = match &result {
        Ok(a) => (StatusCode::OK, cfg::applied_note(a)),
        Err(e) => (cfg::status(e), cfg::problem(e)),
    };
    respond(ui, call, &id, status, Some(note))
}

/// The notice templates' editor: a kind, its subject, text and HTML; preview and save.
fn templates(call: &Call, snap: &Snapshot, d: &Draft) -> Markup {
    let edit = call
        .principal
        .as_ref()
        .is_some_and(|p| p.can(Permission::EditSettings));
    html! {
        h2 id="templates" { "Notice templates" }
        form method="get" action="/settings" {
            input type="hidden" name="group" value="notifications";
            label for="kind" { "Notice " }
            select id="kind" name="kind" {
                @for k in view::notice_kinds() {
                    @if k == d.kind { option selected { (k) } } @else { option { (k) } }
                }
            }
            " " button type="submit" class="secondary" { "Show" }
        }
        form class="settings" method="post" action="/settings/template" {
            (super::csrf_field(call))
            (cfg::digest_field(snap))
            input type="hidden" name="kind" value=(d.kind);
            p class="hint" { "Empty parts use the built-in default. Metatags like ${SUBJECT} and ${CONTENTINFO} are listed in assets/sluice.toml; an unknown one is refused." }
            label for="t-subject" { "Subject" }
            input id="t-subject" name="subject" value=(d.parts[0]);
            label for="t-text" { "Text" }
            textarea id="t-text" class="code" name="text" rows="10" { (d.parts[1]) }
            label for="t-html" { "HTML" }
            textarea id="t-html" class="code" name="html" rows="6" { (d.parts[2]) }
            p {
                button type="submit" name="do" value="preview" class="secondary" { "Preview" }
                @if edit { " " button type="submit" name="do" value="save" { "Save" } }
            }
        }
    }
}

/// Applies a template draft to `doc`: a part given is set, an empty one removed (the default).
pub(crate) fn put_template(
    doc: &mut crate::config::edit::Document,
    d: &Draft,
) -> Result<(), EditError> {
    if !view::notice_kinds().contains(&d.kind.as_str()) {
        return Err(EditError::Refused(format!("no notice kind {:?}", d.kind)));
    }
    let mut set = Vec::new();
    for (part, text) in PARTS.iter().zip(&d.parts) {
        let key = format!("notifications.templates.{}.{part}", d.kind);
        match text.is_empty() {
            true => doc.remove(&key)?,
            false => set.push((key, toml_edit::Value::from(text.as_str()))),
        }
    }
    doc.set_all(set.iter().map(|(k, v)| (k.as_str(), v.clone())))
}

fn template(ui: &Ui, call: &Call) -> Response {
    let form = call.form();
    let draft = Draft {
        kind: form.get("kind").unwrap_or_default().to_string(),
        parts: PARTS.map(|p| form.raw(p).unwrap_or_default().replace("\r\n", "\n")),
    };
    let may_save = call
        .principal
        .as_ref()
        .is_some_and(|p| p.can(Permission::EditSettings));
    if form.get("do") == Some("save") && !may_save {
        return super::failure(
            StatusCode::FORBIDDEN,
            "Not allowed",
            "Your role does not allow this.",
        );
    }
    let (status, note) = if form.get("do") == Some("save") {
        match cfg::save(ui, call, |doc| put_template(doc, &draft)) {
            Ok(a) => (StatusCode::OK, cfg::applied_note(&a)),
            Err(e) => (cfg::status(&e), cfg::problem(&e)),
        }
    } else {
        let preview = cfg::current(ui, call).map(|(_, _, snap)| {
            let mut doc = crate::config::edit::Document::new(snap.text);
            put_template(&mut doc, &draft)
                .and_then(|_| view::preview_notice(doc.text(), &draft.kind))
        });
        match preview {
            Err(r) => return r,
            Ok(Ok(r)) => (
                StatusCode::OK,
                html! {
                    section class="card" aria-label="Preview" {
                        h3 { "Preview (a sample message)" }
                        p { strong { "Subject: " } (r.subject) }
                        pre class="preview" tabindex="0" { (r.text) }
                        @if let Some(h) = &r.html { h4 { "HTML part (source)" } pre class="preview" tabindex="0" { (h) } }
                    }
                },
            ),
            Ok(Err(e)) => (cfg::status(&e), cfg::problem(&e)),
        }
    };
    respond_with(ui, call, "notifications", status, Some(note), Some(draft))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_fields_that_changed_are_written_with_their_types() {
        let settings = view::settings(&["listener"], "[listener]\nmax_sessions = 50\n");
        let form = |k: &str| {
            match k {
            "listener.max_sessions" => Some("60".to_string()),
            "listener.max_recipients" => Some("1000".to_string()),
            "listener.allowed_clients" => Some("127.0.0.0/8\r\n::1/128\r\n10.0.0.0/8\r\n172.16.0.0/12\r\n192.168.0.0/16\r\nfc00::/7\r\n".to_string()),
            _ => None,
        }
        };
        let c = changed(&settings, form).unwrap();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].0, "listener.max_sessions");
        assert_eq!(c[0].1.as_integer(), Some(60));
        let bad = changed(&settings, |k| {
            (k == "listener.max_sessions").then(|| "lots".to_string())
        });
        assert!(bad.is_err());
    }

    #[test]
    fn a_secret_is_never_sent_back_and_an_empty_field_keeps_it() {
        let text = "[admin]\nmetrics_token = \"s3cret-token-0123456789\"\n";
        let settings = view::settings(&["admin"], text);
        let kept = changed(&settings, |k| {
            (k == "admin.metrics_token").then(String::new)
        });
        assert!(
            kept.unwrap().is_empty(),
            "an empty secret field changes nothing"
        );
        let new = changed(&settings, |k| {
            (k == "admin.metrics_token").then(|| "another-token-0123456789".to_string())
        })
        .unwrap();
        assert_eq!(new[0].1.as_str(), Some("another-token-0123456789"));
        let page: String = settings
            .iter()
            .map(|s| input(s, true).into_string())
            .collect();
        assert!(!page.contains("s3cret-token"), "{page}");
        assert!(page.contains("set (hidden)"), "{page}");
    }
}
