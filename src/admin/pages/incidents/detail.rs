//! `/incidents/{id}`: one incident (message metadata, findings in context, history with who and
//! when) and its actions: resolve, dismiss, note, and release / delete / forward of its held
//! message when it has one (`POST /incidents/{id}/act`).

use maud::{Markup, html};

use super::super::super::call::Call;
use super::super::super::response::Response;
use super::super::remedy;
use super::super::{Nav, flash, page, severity_badge, status_badge, time};
use crate::remediate::Target;
use crate::service::{IncidentId, IncidentView, Permission, Service};
use crate::store::records::HistoryEntry;

/// What the detail page's forms may ask for.
const ACTIONS: [&str; 6] = ["resolve", "dismiss", "note", "release", "delete", "forward"];

/// The notes after an action (by the action's word).
const DONE: [(&str, &str); 6] = [
    ("resolve", "The incident is resolved."),
    ("dismiss", "The incident is dismissed as a false positive."),
    ("note", "The note is added to the history."),
    (
        "release",
        "The held message is released: queued for delivery.",
    ),
    ("delete", "The held message's content is deleted."),
    (
        "forward",
        "A copy of the held message is queued for the addresses.",
    ),
];

/// `GET /incidents/{id}`.
pub(super) fn show(s: &Service, call: &Call) -> Response {
    let id = match remedy::id_of(call) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let view = match s.show_incident(IncidentId(id)) {
        Ok(v) => v,
        Err(e) => return remedy::failed(call, Nav::Incidents, "/incidents", &e),
    };
    let can = |p| call.principal.as_ref().is_some_and(|who| who.can(p));
    let body = html! {
        (flash(call, &DONE))
        (metadata(&view, can(Permission::ViewQuarantine)))
        h2 { "Findings" }
        (super::findings::table(&view.incident.findings))
        h2 { "History" }
        (history(&view.history))
        @if can(Permission::Remediate) { (actions(call, &view)) }
        p { a href="/incidents" { "« All incidents" } }
    };
    page(call, &format!("Incident {id}"), Nav::Incidents, body)
}

fn metadata(v: &IncidentView, link_held: bool) -> Markup {
    let i = &v.incident;
    html! {
        table class="kv" {
            tr { th { "Status" } td { (status_badge(i.status.name())) } }
            tr { th { "Created" } td { (time(i.created)) } }
            tr { th { "Policy" } td {
                (i.policy.name) " " span class="note" { "(id " (i.policy.id) ")" } " "
                (severity_badge(i.policy.severity.name()))
                @if i.policy.monitor { " " span class="note" { "monitor mode" } }
            } }
            tr { th { "What Sluice did" } td { (i.action) } }
            tr { th { "Sender" } td { (i.sender) } }
            tr { th { "Recipients" } td { ul { @for r in &i.recipients { li { (r) } } } } }
            tr { th { "Subject" } td { (i.subject) } }
            tr { th { "Direction" } td { (i.direction.name()) } }
            tr { th { "Message-ID" } td { code { (i.message_id) } } }
            tr { th { "Size" } td { (super::super::super::page::size(i.size)) } }
            tr { th { "Client" } td { (i.peer) } }
            tr { th { "Message GUID" } td { code { (i.guid) } } }
            @if i.copies > 1 { tr { th { "Copies" } td { (i.copies) " (reconciled into this incident)" } } }
            tr { th { "Held message" } td {
                @match (i.held, &v.held) {
                    (Some(h), Some(held)) => {
                        @if link_held { a href=(format!("/quarantine/{h}")) { (h) } } @else { (h) }
                        " " (status_badge(held.status.name()))
                    }
                    (Some(h), None) => { (h) " " span class="note" { "(purged)" } }
                    (None, _) => { span class="note" { "none (the message was not held)" } }
                }
            } }
        }
    }
}

fn history(entries: &[HistoryEntry]) -> Markup {
    html! {
        @if entries.is_empty() { p class="note" { "No history." } }
        @else {
            table {
                thead { tr { th { "When" } th { "Who" } th { "Action" } th { "Result" } } }
                tbody {
                    @for e in entries {
                        tr { td class="when" { (time(e.at)) } td { (e.actor) } td { (e.action) } td { (e.result) } }
                    }
                }
            }
        }
    }
}

fn actions(call: &Call, v: &IncidentView) -> Markup {
    let action = format!("/incidents/{}/act", v.incident.id);
    let held_open = v.held.as_ref().is_some_and(|h| h.status.is_open());
    let csrf = super::super::csrf_field(call);
    html! {
        h2 { "Actions" }
        div class="actions" {
            form method="post" action=(action) {
                (csrf) input type="hidden" name="op" value="resolve";
                button type="submit" { "Resolve" }
            }
            form method="post" action=(action) {
                (csrf) input type="hidden" name="op" value="dismiss";
                button type="submit" class="secondary" { "Dismiss as false positive" }
            }
        }
        form class="act" method="post" action=(action) {
            (csrf) input type="hidden" name="op" value="note";
            label { "Note" textarea name="text" rows="2" cols="60" maxlength=(crate::remediate::MAX_NOTE) required {} }
            button type="submit" class="secondary" { "Add note" }
        }
        @if held_open {
            h2 { "Its held message" }
            (super::super::quarantine::held_actions(call, &action))
        }
    }
}

/// `POST /incidents/{id}/act`: one action; done -> back to the incident with a note, else the
/// reason (the refusal is in the history too).
pub(super) fn act(s: &Service, call: &Call) -> Response {
    remedy::act_on(s, call, Target::Incident, Nav::Incidents, &ACTIONS)
}
