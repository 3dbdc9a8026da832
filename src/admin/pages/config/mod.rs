//! What the policy and settings pages share: the file being edited (`config::edit`), a save through
//! [`save`] (the file's digest from the form, the signed-in user as the version's author, the
//! server's reload), how an edit's failure is shown, and the version history with its diff and
//! rollback (`/config/history`).

pub(crate) mod history;
pub(crate) mod multipart;

use hyper::StatusCode;
use maud::{Markup, html};

use super::super::call::Call;
use super::super::response::Response;
use super::super::ui::{App, Ui};
use crate::config::edit::{self, Applied, Document, EditError, Place, Snapshot, Target};
use crate::service::Actor;

/// The server's file and where its versions go, with the file as it is now.
pub(crate) fn current<'u>(
    ui: &'u Ui,
    call: &Call,
) -> Result<(&'u App, Target, Snapshot), Response> {
    let app = ui.app()?;
    let target = app.reloader.edit_target();
    let snap = edit::read(&target).map_err(|e| failure(call, &e))?;
    Ok((app, target, snap))
}

/// Applies `change` to the file the form was rendered from (its `digest` field) as the signed-in
/// user, through the server's reload.
pub(crate) fn save(
    ui: &Ui,
    call: &Call,
    change: impl FnOnce(&mut Document) -> Result<(), EditError>,
) -> Result<Applied, EditError> {
    let form = call.form();
    let digest = form.get("digest").or(call.query("digest")).unwrap_or("");
    save_at(ui, call, digest, change)
}

/// [`save`] over the file whose digest is `digest` (the API's `digest` field or `If-Match`):
/// the version, the reload and the audit entry are the same for pages and API.
pub(crate) fn save_at(
    ui: &Ui,
    call: &Call,
    digest: &str,
    change: impl FnOnce(&mut Document) -> Result<(), EditError>,
) -> Result<Applied, EditError> {
    let app = ui
        .app()
        .map_err(|_| EditError::Io("the server runs without its store".into()))?;
    let target = app.reloader.edit_target();
    let by = Actor::new(call.actor()).map_err(|e| EditError::Refused(e.message().to_string()))?;
    let reloader = app.reloader.clone();
    let who = format!("admin UI: {}", call.actor());
    let before = edit::read(&target).map(|s| s.text).unwrap_or_default();
    let applied = edit::apply(&target, digest, change, &by, call.now, move || {
        reloader.reload(&who)
    })?;
    if applied.version.is_some() {
        let after = edit::read(&target).map(|s| s.text).unwrap_or_default();
        audit(ui, call, &applied, &before, &after);
    }
    Ok(applied)
}

/// The audit entry of an applied change: what was done, the version, and the lines before and
/// after (values of keys named like secrets hidden: the audit log is readable by auditors).
fn audit(ui: &Ui, call: &Call, applied: &Applied, before: &str, after: &str) {
    let Ok(service) = ui.service() else { return };
    let (mut old, mut new) = (Vec::new(), Vec::new());
    for line in edit::diff(before, after) {
        match line.tag {
            edit::DiffTag::Removed => old.push(hide_secret(&line.text)),
            edit::DiffTag::Added => new.push(hide_secret(&line.text)),
            _ => {}
        }
    }
    let object = format!(
        "version {}: {}",
        applied.version.unwrap_or_default(),
        applied.changes.join("; ")
    );
    super::super::auth::changed(
        &service,
        call,
        "config.update",
        &object,
        Some(old.join("\n")),
        Some(new.join("\n")),
    );
}

/// Whether a setting's value is a secret (named like a token, password or secret): never shown
/// in the audit log or by the API.
pub(crate) fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["token", "password", "secret"]
        .iter()
        .any(|s| key.contains(s))
}

/// `token = "..."`-like lines with the value replaced.
fn hide_secret(line: &str) -> String {
    let key = line.split('=').next().unwrap_or("").trim();
    if line.contains('=') && is_secret(key) {
        format!(
            "{} = (hidden)",
            line.split('=').next().unwrap_or("").trim_end()
        )
    } else {
        line.to_string()
    }
}

/// The hidden field carrying the digest of the file a form was rendered from.
pub(crate) fn digest_field(snap: &Snapshot) -> Markup {
    html! { input type="hidden" name="digest" value=(snap.digest); }
}

/// The HTTP status for an edit that failed.
pub(crate) fn status(e: &EditError) -> StatusCode {
    match e {
        EditError::Conflict => StatusCode::CONFLICT,
        EditError::Invalid { .. } | EditError::ReloadRefused(_) => StatusCode::UNPROCESSABLE_ENTITY,
        EditError::Refused(_) => StatusCode::BAD_REQUEST,
        EditError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A failed edit as a note on the page.
pub(crate) fn problem(e: &EditError) -> Markup {
    let text = match e {
        EditError::Conflict => {
            "The configuration file was changed by someone else since this page was loaded: reload the page and make the change again.".to_string()
        }
        EditError::Invalid {
            place: Place::Policy,
            line,
            col,
            message,
        } => format!("The policy is not valid: line {line}, column {col}: {message}"),
        EditError::Invalid {
            line, col, message, ..
        } => format!("The configuration would not be valid: line {line}, column {col}: {message}"),
        other => other.to_string(),
    };
    html! { p class="flash error" role="alert" { (text) } }
}

/// What an applied change did, as a note: the version and the keys that wait for a restart.
pub(crate) fn applied_note(a: &Applied) -> Markup {
    html! {
        @match a.version {
            Some(v) => p class="flash ok" role="status" { "Saved as version " (v) " and applied." },
            None => p class="flash ok" role="status" { "Nothing changed." },
        }
        @if !a.restart_needed.is_empty() {
            p class="flash warn" role="status" {
                "A restart is needed before these take effect (wholly or in part): "
                (a.restart_needed.join(", "))
            }
        }
    }
}

/// An edit failure that is not shown on its own form: a page saying what happened.
pub(crate) fn failure(call: &Call, e: &EditError) -> Response {
    let body = html! {
        (problem(e))
        p { a href=(back(call)) { "Back" } }
    };
    Response::html(
        status(e),
        super::document(Some(call), "Not saved", super::Nav::None, body),
    )
}

/// The page a failed form goes back to.
fn back(call: &Call) -> &'static str {
    match call.path.starts_with("/settings") {
        true => "/settings",
        false => "/policies",
    }
}

/// The text with numbered lines, the line `error` (1-based) marked: where the TOML editor's
/// error is.
pub(crate) fn numbered(text: &str, error: Option<usize>) -> Markup {
    html! {
        ol class="code" {
            @for (i, line) in text.lines().enumerate() {
                @if Some(i + 1) == error {
                    li class="error-line" id="error-line" { code { (line) } }
                } @else {
                    li { code { (line) } }
                }
            }
        }
    }
}
