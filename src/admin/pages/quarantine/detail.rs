//! `/quarantine/{id}`: one held message (metadata, recipients and their status, findings, the
//! safe preview, its incidents and their history) and its actions (`POST /quarantine/{id}/act`:
//! release, release with a tag, delete, forward); `/quarantine/{id}/raw`, the raw message.

use maud::{Markup, html};

use super::super::super::call::Call;
use super::super::super::response::{self, Response};
use super::super::remedy::{self, act_on, id_of};
use super::super::{Nav, flash, page, severity_badge, status_badge, time};
use super::preview;
use crate::remediate::Target;
use crate::service::{HeldId, HeldView, Permission, Service};
use crate::store::records::Hold;

/// What the page's forms may ask for.
const ACTIONS: [&str; 3] = ["release", "delete", "forward"];

const DONE: [(&str, &str); 3] = [
    (
        "release",
        "Released: queued for delivery to the recipients still held.",
    ),
    (
        "delete",
        "The message's content is deleted; the record stays for the audit trail.",
    ),
    (
        "forward",
        "A copy is queued for the addresses; the message stays held.",
    ),
];

/// `GET /quarantine/{id}`.
pub(super) fn show(s: &Service, call: &Call) -> Response {
    let id = match id_of(call) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let view = match s.show_held(HeldId(id), true) {
        Ok(v) => v,
        Err(e) => return remedy::failed(call, Nav::Quarantine, "/quarantine", &e),
    };
    let config = s.config();
    let safe = view
        .content
        .as_deref()
        .map(|raw| preview::of(raw, &config.decomposition, config.admin.preview_bytes));
    let can = |p| call.principal.as_ref().is_some_and(|who| who.can(p));
    let body = html! {
        (flash(call, &DONE))
        (metadata(&view))
        h2 { "Findings" }
        (super::super::incidents::findings::table(&view.held.findings))
        @match &safe {
            Some(p) => {
                @if can(Permission::DownloadRaw) {
                    p { a class="button secondary" href=(format!("/quarantine/{id}/raw")) download { "Download the raw message (.eml)" } }
                }
                (preview::sections(p))
            }
            None => p class="note" { "The content is no longer stored (" (view.held.status.name().replace('_', " ")) "): only the record remains." }
        }
        @if safe.is_some() && can(Permission::ReleaseQuarantine) { (actions(call, id)) }
        (incidents(&view, can(Permission::ViewIncidents)))
        p { a href="/quarantine" { "« All held messages" } }
    };
    page(call, &format!("Held message {id}"), Nav::Quarantine, body)
}

fn metadata(v: &HeldView) -> Markup {
    let h = &v.held;
    html! {
        table class="kv" {
            tr { th { "Status" } td { (status_badge(h.status.name())) } }
            tr { th { "Held for" } td {
                @match &h.hold {
                    Hold::Quarantine => "review (quarantine)",
                    Hold::Approval { approval } => { "an approver's decision (approval " (approval) ")" }
                }
            } }
            tr { th { "Received" } td { (time(h.received)) } }
            tr { th { "Sender" } td { (h.sender) } }
            tr { th { "Recipients" } td {
                ul { @for r in &h.recipients { li { (r.address) " " (status_badge(r.status.name())) } } }
            } }
            tr { th { "Subject" } td { (h.subject) } }
            tr { th { "Policies" } td {
                ul { @for p in &h.policies {
                    li { (p.name) " " span class="note" { "(id " (p.id) ")" } " " (severity_badge(p.severity.name())) }
                } }
            } }
            tr { th { "Direction" } td { (h.direction.name()) } }
            tr { th { "Message-ID" } td { code { (h.message_id) } } }
            tr { th { "Size" } td { (super::super::super::page::size(h.size)) } }
            tr { th { "Client" } td { (h.peer) } }
            tr { th { "Message GUID" } td { code { (h.guid) } } }
            tr { th { "Content kept until" } td { (time(h.expires)) } }
        }
    }
}

fn actions(call: &Call, id: u64) -> Markup {
    html! {
        h2 { "Actions" }
        (held_actions(call, &format!("/quarantine/{id}/act")))
    }
}

/// The forms that act on a held message (release, release with a tag, forward, delete), posting
/// `op` to `action`: the quarantine page's and the incident page's (for the incident's message).
pub(crate) fn held_actions(call: &Call, action: &str) -> Markup {
    let csrf = super::super::csrf_field(call);
    html! {
        form class="act" method="post" action=(action) {
            (csrf) input type="hidden" name="op" value="release";
            button type="submit" data-confirm="Release this message to its recipients?" { "Release" }
        }
        form class="act" method="post" action=(action) {
            (csrf) input type="hidden" name="op" value="release";
            label { "Tag header" input type="text" name="tag_name" placeholder="X-CFilter" required; }
            label { "Tag value" input type="text" name="tag_value" placeholder="Encrypt"; }
            button type="submit" class="secondary" { "Release with tag" }
        }
        form class="act" method="post" action=(action) {
            (csrf) input type="hidden" name="op" value="forward";
            label { "Forward a copy to" input type="text" name="to" placeholder="reviewer@example.com" required; }
            button type="submit" class="secondary" { "Forward" }
        }
        form class="act" method="post" action=(action) {
            (csrf) input type="hidden" name="op" value="delete";
            button type="submit" class="danger" data-confirm="Delete this message's content? This cannot be undone." { "Delete message" }
        }
    }
}

fn incidents(v: &HeldView, link: bool) -> Markup {
    html! {
        h2 { "Incidents and history" }
        @if v.incidents.is_empty() { p class="note" { "No incident recorded." } }
        @for e in &v.incidents {
            h3 {
                "Incident "
                @if link { a href=(format!("/incidents/{}", e.incident.id)) { (e.incident.id) } } @else { (e.incident.id) }
                " · " (e.incident.policy.name) " " (status_badge(e.incident.status.name()))
            }
            table {
                thead { tr { th { "When" } th { "Who" } th { "Action" } th { "Result" } } }
                tbody {
                    @for h in &e.history {
                        tr { td class="when" { (time(h.at)) } td { (h.actor) } td { (h.action) } td { (h.result) } }
                    }
                }
            }
        }
    }
}

/// `POST /quarantine/{id}/act`.
pub(super) fn act(s: &Service, call: &Call) -> Response {
    act_on(s, call, Target::Held, Nav::Quarantine, &ACTIONS)
}

/// `GET /quarantine/{id}/raw`: the stored message as `message/rfc822` (administrators only; the
/// route needs `DownloadRaw`), audited.
pub(super) fn raw(s: &Service, call: &Call) -> Response {
    let id = match id_of(call) {
        Ok(id) => id,
        Err(r) => return r,
    };
    match preview::raw(s, call.actor(), call.peer, id) {
        Ok(bytes) => Response::download("message/rfc822", &preview::file_name(id), bytes),
        Err(e) => super::super::failure(response::status_of(&e), "Not available", e.message()),
    }
}
