//! The policy pages: the list in evaluation order (enable, disable, monitor / enforce, move up or
//! down, delete), a policy's editor (a form for the common shape: senders, recipients, keywords,
//! data identifiers, regexes, attachment types, severity, mode, response; and the TOML text of
//! its table, with an error shown at its line), and "test against an .eml" with the candidate
//! policy before it is saved (findings, violations, what would be sent). Every save goes through
//! `config::edit` (the file keeps its comments; the server reloads).

use hyper::StatusCode;
use maud::{Markup, html};

use super::super::call::Call;
use super::super::response::Response;
use super::super::router::{Access, Def, Input};
use super::super::ui::Ui;
use super::Nav;
use super::config::{self as cfg, multipart};
use crate::config::edit::{self, Document, EditError, Mode, PolicyEntry, PolicyShape, Probe};
use crate::service::Permission;

pub(crate) fn routes() -> Vec<Def> {
    let view = Access::Signed(Permission::ViewPolicies);
    let edit = Access::Signed(Permission::EditPolicies);
    vec![
        Def::get("/policies", "policies.list", view, list),
        Def::get("/policies/edit", "policies.edit", view, show_editor),
        Def::get("/policies/new", "policies.new", view, show_editor),
        Def::post("/policies/save", "policies.save", edit, save_text),
        Def::post("/policies/save-form", "policies.save_form", edit, save_form),
        Def::post("/policies/test", "policies.test", view, test).reading(Input::Upload),
        Def::post("/policies/enabled", "policies.enabled", edit, enabled),
        Def::post("/policies/mode", "policies.mode", edit, mode),
        Def::post("/policies/move", "policies.move", edit, move_to),
        Def::post("/policies/delete", "policies.delete", edit, delete),
    ]
}

fn can_edit(call: &Call) -> bool {
    call.principal
        .as_ref()
        .is_some_and(|p| p.can(Permission::EditPolicies))
}

fn list(ui: &Ui, call: &Call) -> Response {
    let (_, _, snap) = match cfg::current(ui, call) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match Document::new(snap.text.clone()).policies() {
        Ok(policies) => super::page(
            call,
            "Policies",
            Nav::Policies,
            render_list(call, &snap, &policies, None),
        ),
        Err(e) => cfg::failure(call, &e),
    }
}

/// The policies in evaluation order, with their controls for an editor.
pub(crate) fn render_list(
    call: &Call,
    snap: &edit::Snapshot,
    policies: &[PolicyEntry],
    note: Option<Markup>,
) -> Markup {
    let edit = can_edit(call);
    let builtin = policies.first().is_some_and(|p| p.builtin);
    let button = |action: &str, name: &str, field: (&str, String), label: &str| {
        html! {
            form class="inline" method="post" action=(action) {
                (super::csrf_field(call))
                (cfg::digest_field(snap))
                input type="hidden" name="name" value=(name);
                input type="hidden" name=(field.0) value=(field.1);
                button type="submit" { (label) }
            }
        }
    };
    html! {
        @if let Some(n) = note { (n) }
        @if builtin {
            p class="note" {
                "The configuration has no policies of its own: these are the built-in policies "
                "(inspection.builtin_policies). Your first change writes them into the configuration "
                "file as they run now, so that you edit what runs."
            }
        }
        p { "Policies are evaluated in this order; when several match, the strongest action wins and the first policy among equals decides." }
        table {
            thead { tr { th { "#" } th { "Policy" } th { "Id" } th { "Severity" } th { "Action" } th { "Mode" } th { "State" } @if edit { th { "Change" } } } }
            tbody {
                @for (i, p) in policies.iter().enumerate() {
                    tr {
                        td { (i + 1) }
                        td { a href=(format!("/policies/edit?name={}", super::super::form::encode(&p.name))) { (p.name) } }
                        td { (p.id.map(|i| i.to_string()).unwrap_or_default()) }
                        td { (super::badge(&format!("sev-{}", p.severity), &p.severity)) }
                        td { (p.action) }
                        td { (match p.mode { Mode::Enforce => "enforce", Mode::Monitor => "monitor" }) }
                        td { (if p.enabled { "enabled" } else { "disabled" }) }
                        @if edit {
                            td class="actions" {
                                @if i > 0 { (button("/policies/move", &p.name, ("to", (i - 1).to_string()), "Up")) }
                                @if i + 1 < policies.len() { (button("/policies/move", &p.name, ("to", (i + 1).to_string()), "Down")) }
                                (button("/policies/enabled", &p.name, ("enabled", (!p.enabled).to_string()), if p.enabled { "Disable" } else { "Enable" }))
                                @let other = match p.mode { Mode::Enforce => "monitor", Mode::Monitor => "enforce" };
                                (button("/policies/mode", &p.name, ("mode", other.to_string()), &format!("Set to {other}")))
                                (button("/policies/delete", &p.name, ("confirm", "yes".to_string()), "Delete"))
                            }
                        }
                    }
                }
            }
        }
        p {
            @if edit { a class="button" href="/policies/new" { "New policy" } " " }
            a href="/config/history" { "Version history" }
        }
    }
}

/// What the editor shows.
pub(crate) struct Editor<'a> {
    /// The policy's name in the file (empty: a new policy).
    pub original: &'a str,
    pub text: &'a str,
    pub error: Option<&'a EditError>,
    pub probe: Option<&'a Probe>,
    pub saved: Option<Markup>,
}

fn show_editor(ui: &Ui, call: &Call) -> Response {
    let (_, _, snap) = match cfg::current(ui, call) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let doc = Document::new(snap.text.clone());
    let policies = match doc.policies() {
        Ok(p) => p,
        Err(e) => return cfg::failure(call, &e),
    };
    let text = match call.query("name") {
        Some(name) => match policies.iter().find(|p| p.name == name) {
            Some(p) => p.text.clone(),
            None => {
                return super::failure(
                    StatusCode::NOT_FOUND,
                    "Not found",
                    "There is no policy of that name.",
                );
            }
        },
        None => {
            let id = policies.iter().filter_map(|p| p.id).max().unwrap_or(0) + 1;
            PolicyShape::new_policy(id).to_toml()
        }
    };
    let original = call.query("name").unwrap_or("");
    editor_page(
        call,
        &snap,
        StatusCode::OK,
        &Editor {
            original,
            text: &text,
            error: None,
            probe: None,
            saved: None,
        },
    )
}

fn editor_page(call: &Call, snap: &edit::Snapshot, status: StatusCode, e: &Editor<'_>) -> Response {
    let title = match e.original {
        "" => "New policy".to_string(),
        name => format!("Policy: {name}"),
    };
    Response::html(
        status,
        super::document(
            Some(call),
            &title,
            Nav::Policies,
            render_editor(call, snap, e),
        ),
    )
}

/// The form for the common shape (when the policy has it), the TOML editor, the test.
pub(crate) fn render_editor(call: &Call, snap: &edit::Snapshot, e: &Editor<'_>) -> Markup {
    let edit = can_edit(call);
    let shape = PolicyShape::from_text(e.text);
    let error_line = match e.error {
        Some(EditError::Invalid {
            place: edit::Place::Policy,
            line,
            ..
        }) => Some(*line),
        _ => None,
    };
    let test_action = format!("/policies/test?{}", super::csrf_query(call));
    html! {
        @if let Some(s) = &e.saved { (s) }
        @if let Some(err) = e.error { (cfg::problem(err)) }
        @if let Some(p) = e.probe { (render_probe(p)) }
        @match (&shape, edit) {
            (Some(s), true) => (shape_form(call, snap, e.original, s)),
            (None, true) => p class="note" { "This policy uses rules the form cannot show (exceptions, several rules, dictionaries, nested groups...): edit its text below." },
            _ => {}
        }
        h2 { "Policy text (TOML)" }
        @if error_line.is_some() { (cfg::numbered(e.text, error_line)) }
        form method="post" action="/policies/save" {
            (super::csrf_field(call))
            (cfg::digest_field(snap))
            input type="hidden" name="original" value=(e.original);
            label for="text" { "One [[policy]] table with its [[policy.rule]] and [[policy.exception]] tables (see assets/sluice.toml for every condition)." }
            textarea id="text" class="code" name="text" rows="20" spellcheck="false" { (e.text) }
            p {
                @if edit { button type="submit" { "Save" } " " }
                label for="eml" { "Test it against a message (.eml): " }
                input type="file" id="eml" name="eml" accept=".eml,message/rfc822";
                " "
                button type="submit" formaction=(test_action) formenctype="multipart/form-data" { "Test against the .eml" }
            }
        }
        p { a href="/policies" { "All policies" } }
    }
}

const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];
const ACTIONS: [&str; 5] = ["log", "modify", "redirect", "quarantine", "block"];

fn shape_form(call: &Call, snap: &edit::Snapshot, original: &str, s: &PolicyShape) -> Markup {
    let select = |name: &str, options: &[&str], current: &str| {
        html! {
            select id=(name) name=(name) {
                @for o in options {
                    @if *o == current { option selected { (o) } } @else { option { (o) } }
                }
            }
        }
    };
    let lines = |name: &str, label: &str, items: &[String]| {
        html! {
            label for=(name) { (label) }
            textarea id=(name) name=(name) rows="3" { (items.join("\n")) }
        }
    };
    html! {
        h2 { "Policy" }
        form class="grid" method="post" action="/policies/save-form" {
            (super::csrf_field(call))
            (cfg::digest_field(snap))
            input type="hidden" name="original" value=(original);
            label for="name" { "Name" } input id="name" name="name" value=(s.name) required;
            label for="id" { "Id (a number)" } input id="id" name="id" inputmode="numeric" value=(s.id);
            label for="severity" { "Severity" } (select("severity", &SEVERITIES, &s.severity))
            label for="action" { "Action" } (select("action", &ACTIONS, &s.action))
            label for="mode" { "Mode" } (select("mode", &["enforce", "monitor"], &s.mode))
            label for="enabled" { "Enabled" } (select("enabled", &["true", "false"], if s.enabled { "true" } else { "false" }))
            label for="reply" { "Reply when blocked" } input id="reply" name="reply" value=(s.reply);
            label for="redirect_to" { "Redirect to" } input id="redirect_to" name="redirect_to" type="email" value=(s.redirect_to);
            (lines("headers", "Header lines added (modify), one per line", &s.headers))
            (lines("senders", "Senders (one pattern per line, like *@corp.example); empty: any", &s.senders))
            (lines("recipients", "Recipients (one pattern per line); empty: any", &s.recipients))
            (lines("keywords", "Keywords and phrases, one per line", &s.keywords))
            (lines("identifiers", "Data identifiers, one per line (CREDIT_CARD, US_SSN, IBAN...)", &s.identifiers))
            (lines("regexes", "Regular expressions, one per line", &s.regexes))
            (lines("file_types", "Attachment types by content, one per line (exe, zip, xlsx...)", &s.file_types))
            p class="hint" { "The policy matches a message from one of the senders, to one of the recipients, with any of the content conditions." }
            button type="submit" { "Save" }
        }
    }
}

/// What the test found and what would happen.
pub(crate) fn render_probe(p: &Probe) -> Markup {
    use edit::probe::Outcome;
    html! {
        section class="probe" aria-label="Test result" {
            h2 { "Test result" }
            p {
                strong { "Outcome: " }
                @match &p.outcome {
                    Outcome::Sent { to, redirected, subject, added_headers, body_edits } => {
                        @if *redirected { "redirected to " } @else { "sent to " }
                        (to.join(", ")) "; subject " q { (subject) }
                        @if !added_headers.is_empty() { "; header fields added: " (added_headers.join("; ")) }
                        @if !body_edits.is_empty() { "; body: " (body_edits.join(", ")) }
                    },
                    Outcome::Refused { reply } => { "refused: " code { (reply) } },
                    Outcome::Held { approvers } => {
                        @if approvers.is_empty() { "held in the quarantine" } @else { "held for approval by " (approvers.join(", ")) }
                    },
                }
                @if p.trial_mode { " (trial mode: nothing is enforced)" }
            }
            @if p.violations.is_empty() { p { "No policy matched." } }
            @else {
                table {
                    thead { tr { th { "Policy" } th { "Severity" } th { "Action" } th { "Rules" } th { "Why" } } }
                    tbody {
                        @for v in &p.violations {
                            tr {
                                td { (v.name) " (" (v.policy) ")" }
                                td { (v.severity) }
                                td { (v.action) @if v.monitor { " (monitor)" } }
                                td { (v.rules.join(", ")) }
                                td { @for d in &v.detail { (d) br; } }
                            }
                        }
                    }
                }
            }
            @if !p.findings.is_empty() {
                h3 { "Findings" }
                table {
                    thead { tr { th { "Type" } th { "Evidence (redacted)" } th { "Where" } th { "Detector" } th { "Confidence" } } }
                    tbody {
                        @for f in &p.findings {
                            tr { td { (f.kind) } td { code { (f.value) } } td { (f.location) } td { (f.detector) } td { (f.confidence) } }
                        }
                    }
                }
            }
            @if !p.anomalies.is_empty() {
                h3 { "What could not be inspected fully" }
                ul { @for a in &p.anomalies { li { (a.anomaly) ": " (a.description) " at " (a.location) } } }
            }
        }
    }
}

/// After a change from the list: the list again with what happened.
fn after_list_change(ui: &Ui, call: &Call, result: Result<edit::Applied, EditError>) -> Response {
    let (_, _, snap) = match cfg::current(ui, call) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (status, note) = match &result {
        Ok(a) => (StatusCode::OK, cfg::applied_note(a)),
        Err(e) => (cfg::status(e), cfg::problem(e)),
    };
    match Document::new(snap.text.clone()).policies() {
        Ok(policies) => Response::html(
            status,
            super::document(
                Some(call),
                "Policies",
                Nav::Policies,
                render_list(call, &snap, &policies, Some(note)),
            ),
        ),
        Err(e) => cfg::failure(call, &e),
    }
}

fn name(call: &Call) -> String {
    call.form().get("name").unwrap_or_default().to_string()
}

fn enabled(ui: &Ui, call: &Call) -> Response {
    let on = call.form().get("enabled") == Some("true");
    let r = cfg::save(ui, call, |d| d.set_policy_enabled(&name(call), on));
    after_list_change(ui, call, r)
}

fn mode(ui: &Ui, call: &Call) -> Response {
    let m = match call.form().get("mode") {
        Some("monitor") => Mode::Monitor,
        _ => Mode::Enforce,
    };
    let r = cfg::save(ui, call, |d| d.set_policy_mode(&name(call), m));
    after_list_change(ui, call, r)
}

fn move_to(ui: &Ui, call: &Call) -> Response {
    let to = call
        .form()
        .get("to")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let r = cfg::save(ui, call, |d| d.move_policy(&name(call), to));
    after_list_change(ui, call, r)
}

fn delete(ui: &Ui, call: &Call) -> Response {
    let r = cfg::save(ui, call, |d| d.delete_policy(&name(call)));
    after_list_change(ui, call, r)
}

/// Saves `text` over the policy `original` (or as a new one); the editor again either way.
fn put(ui: &Ui, call: &Call, original: &str, text: &str) -> Response {
    let result = cfg::save(ui, call, |d| d.put_policy(original, text));
    let (_, _, snap) = match cfg::current(ui, call) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match result {
        Ok(a) => {
            let name = Document::new(text)
                .policies()
                .ok()
                .and_then(|l| l.into_iter().next())
                .map_or_else(|| original.to_string(), |p| p.name);
            let saved = Document::new(snap.text.clone())
                .policies()
                .ok()
                .and_then(|l| l.into_iter().find(|p| p.name == name))
                .map_or_else(|| text.to_string(), |p| p.text);
            let e = Editor {
                original: &name,
                text: &saved,
                error: None,
                probe: None,
                saved: Some(cfg::applied_note(&a)),
            };
            editor_page(call, &snap, StatusCode::OK, &e)
        }
        Err(err) => {
            let e = Editor {
                original,
                text,
                error: Some(&err),
                probe: None,
                saved: None,
            };
            editor_page(call, &snap, cfg::status(&err), &e)
        }
    }
}

fn save_text(ui: &Ui, call: &Call) -> Response {
    let form = call.form();
    let original = form.get("original").unwrap_or_default().to_string();
    let text = form.raw("text").unwrap_or_default().replace("\r\n", "\n");
    put(ui, call, &original, &text)
}

fn save_form(ui: &Ui, call: &Call) -> Response {
    let form = call.form();
    let lines = |k: &str| -> Vec<String> {
        form.raw(k)
            .unwrap_or_default()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    let text = |k: &str| form.get(k).unwrap_or_default().to_string();
    let shape = PolicyShape {
        id: form.get("id").and_then(|i| i.parse().ok()).unwrap_or(0),
        name: text("name"),
        enabled: form.get("enabled") != Some("false"),
        mode: text("mode"),
        severity: text("severity"),
        action: text("action"),
        reply: text("reply"),
        redirect_to: text("redirect_to"),
        headers: lines("headers"),
        senders: lines("senders"),
        recipients: lines("recipients"),
        keywords: lines("keywords"),
        identifiers: lines("identifiers"),
        regexes: lines("regexes"),
        file_types: lines("file_types"),
    };
    let original = text("original");
    // The form has no field for the comment above the policy (its description): keep it.
    let comment = cfg::current(ui, call)
        .ok()
        .and_then(|(_, _, snap)| Document::new(snap.text.clone()).policies().ok())
        .and_then(|l| l.into_iter().find(|p| p.name == original))
        .map(|p| leading_comment(&p.text))
        .unwrap_or_default();
    put(
        ui,
        call,
        &original,
        &format!("{comment}{}", shape.to_toml()),
    )
}

/// The comment lines above a policy's `[[policy]]` line, each with its line end.
pub(crate) fn leading_comment(text: &str) -> String {
    text.lines()
        .take_while(|l| l.trim_start().starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The configuration `file` with the candidate policy `text` in place of `original` (a new
/// policy when `original` is empty; the file as it is when `text` is empty) tried on the message
/// `eml`: findings, verdict, what would be sent. The page's test and the API's alike.
pub(crate) fn try_policy(
    file: &str,
    original: &str,
    text: &str,
    eml: &[u8],
) -> Result<Probe, EditError> {
    if eml.is_empty() {
        return Err(EditError::Refused(
            "choose a message file (.eml) to test against".into(),
        ));
    }
    let mut doc = Document::new(file);
    if !text.trim().is_empty() {
        doc.put_policy(original, text)?;
    }
    edit::test_policy(doc.text(), eml)
}

fn test(ui: &Ui, call: &Call) -> Response {
    let (_, _, snap) = match cfg::current(ui, call) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let parts = call
        .header("content-type")
        .and_then(|ct| multipart::parse(ct, &call.body))
        .unwrap_or_default();
    let field = |n: &str| parts.iter().find(|p| p.name == n);
    let text_of = |n: &str| {
        field(n)
            .map(|p| String::from_utf8_lossy(&p.bytes).replace("\r\n", "\n"))
            .unwrap_or_default()
    };
    let (original, text) = (text_of("original"), text_of("text"));
    let eml = field("eml").map(|p| p.bytes.clone()).unwrap_or_default();
    let result = try_policy(&snap.text, &original, &text, &eml);
    let (status, e) = match &result {
        Ok(p) => (
            StatusCode::OK,
            Editor {
                original: &original,
                text: &text,
                error: None,
                probe: Some(p),
                saved: None,
            },
        ),
        Err(err) => (
            cfg::status(err),
            Editor {
                original: &original,
                text: &text,
                error: Some(err),
                probe: None,
                saved: None,
            },
        ),
    };
    editor_page(call, &snap, status, &e)
}

#[cfg(test)]
mod tests;
