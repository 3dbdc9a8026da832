//! `/queue/{id}`: one queue entry (`i42` in custody, `q17` for delivery): its envelope, each
//! recipient's state and last reply, its header section (never the body), and for `ManageQueue`
//! the actions that apply to its stage (`POST /queue/{id}/act`).

use hyper::StatusCode;
use maud::{Markup, html};

use super::super::super::call::Call;
use super::super::super::page::{duration, size};
use super::super::super::response::Response;
use super::super::remedy;
use super::super::{Nav, csrf_field, failure, flash, page, time};
use super::bulk::result;
use super::filter as pick;
use super::list::{CRASHER, can, sender, stage_badge};
use crate::service::{Caller, Permission, QueueEntryView, QueueRef, QueueStage, Service};

/// The notes after an action (`?ok=`).
pub(super) const DONE: [(&str, &str); 6] = [
    (
        "hold",
        "The message is on hold: it is not delivered until released.",
    ),
    (
        "release",
        "Released: back to inspection (held in custody) or due for delivery now.",
    ),
    (
        "release_unscanned",
        "Released without inspection: queued for delivery.",
    ),
    ("retry", "Due now: it is tried again at once."),
    (
        "forward",
        "An unscanned copy is queued for the address; the message stays where it was.",
    ),
    ("delete", "Deleted: it will not be delivered."),
];

fn id_of(call: &Call) -> Result<QueueRef, Response> {
    call.param("id")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            failure(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such queue entry.",
            )
        })
}

/// `GET /queue/{id}`.
pub(super) fn show(s: &Service, call: &Call) -> Response {
    let id = match id_of(call) {
        Ok(id) => id,
        Err(r) => return r,
    };
    // After a delete or a release the entry may be gone: the listing says what was done.
    let view = match s.queue_show(id) {
        Ok(v) => v,
        Err(e) => return remedy::failed(call, Nav::Queue, "/queue", &e),
    };
    let body = html! {
        (flash(call, &DONE))
        (envelope(call.now, &view))
        h2 { "Recipients" }
        table {
            thead { tr { th { "Recipient" } th { "State" } th { "When" } th { "Last reply" } } }
            tbody {
                @for r in &view.recipients {
                    tr {
                        td { (r.address) } td { (r.state) }
                        td class="when" { @if let Some(t) = r.at { (time(t)) } }
                        td { @if let Some(t) = &r.reply { (t) } }
                    }
                }
            }
        }
        h2 { "Header section" }
        p class="note" { "The message's header fields as received; the body is never shown here." }
        pre class="preview headers" tabindex="0" {
            @for (name, value) in &view.headers { (name) ": " (value) "\n" }
        }
        @if can(call, Permission::ManageQueue) { (actions(call, id, view.row.stage)) }
        p { a href="/queue" { "« The queue" } }
    };
    page(call, &format!("Queue entry {id}"), Nav::Queue, body)
}

fn envelope(now: u64, v: &QueueEntryView) -> Markup {
    let r = &v.row;
    html! {
        table class="kv" {
            tr { th { "Stage" } td { (stage_badge(r.stage)) " " span class="note" { (r.kind) } } }
            tr { th { "Queued" } td { (time(r.queued)) " (" (duration(now.saturating_sub(r.queued))) " ago)" } }
            tr { th { "Sender" } td { (sender(&r.sender)) } }
            tr { th { "Pending recipients" } td { (r.recipients.join(", ")) } }
            tr { th { "Size" } td { (size(r.size)) } }
            tr { th { "Attempts" } td { (r.attempts) } }
            tr { th { "Next attempt" } td { @if let Some(t) = r.next_attempt { (time(t)) } @else { "—" } } }
            tr { th { "Last error" } td { @if let Some(e) = &r.last_error { (e) } @else { "—" } } }
            @if let Some(l) = &r.listener { tr { th { "Listener" } td { (l) } } }
            @if let Some(d) = &r.direction { tr { th { "Direction" } td { (d) } } }
            @if !v.peer.is_empty() { tr { th { "Client" } td { (v.peer) } } }
            @if let Some(h) = &v.helo { tr { th { "HELO" } td { (h) } } }
            @if let Some(t) = v.tls { tr { th { "TLS" } td { @if t { "yes" } @else { "no" } } } }
            @if let Some(g) = &r.guid { tr { th { "Message GUID" } td { code { (g) } } } }
        }
    }
}

/// The actions that apply to an entry of `stage` (custody or delivery).
fn applicable(id: QueueRef, stage: QueueStage) -> &'static [&'static str] {
    let custody = matches!(id, QueueRef::Custody(_));
    match stage {
        QueueStage::Hold if custody => &["release", "release_unscanned", "forward", "delete"],
        QueueStage::Hold => &["release", "forward", "delete"],
        _ => &["retry", "hold", "forward", "delete"],
    }
}

fn actions(call: &Call, id: QueueRef, stage: QueueStage) -> Markup {
    let action = format!("/queue/{id}/act");
    let one = |op: &str, class: &str, confirm: &str| {
        let label = pick::ACTIONS
            .iter()
            .find(|(n, _)| *n == op)
            .map_or(op, |(_, l)| *l);
        html! {
            form class="act" method="post" action=(action) {
                (csrf_field(call)) input type="hidden" name="op" value=(op);
                button type="submit" class=(class) data-confirm=(confirm) { (label) }
            }
        }
    };
    let ops = applicable(id, stage);
    html! {
        h2 { "Actions" }
        @if stage == QueueStage::Hold && matches!(id, QueueRef::Custody(_)) {
            p class="flash warn" role="note" { (CRASHER) }
        }
        @for op in ops {
            @match *op {
                "forward" => {
                    form class="act" method="post" action=(action) {
                        (csrf_field(call)) input type="hidden" name="op" value="forward";
                        label { "Forward an unscanned copy to (one address) " input type="email" name="to" required placeholder="reviewer@example.com"; }
                        label { "Subject " input type="text" name="subject" maxlength="900"; }
                        button type="submit" class="secondary" data-confirm="Forward an unscanned copy? The original stays where it is." { "Forward" }
                    }
                }
                "delete" => (one("delete", "danger", "Delete this message? It is never delivered and no bounce is sent.")),
                "release" => (one("release", "", "Reprocess / release this message? A message that crashed inspection will likely crash it again.")),
                "release_unscanned" => (one("release_unscanned", "secondary", "Deliver this message without inspection?")),
                op => (one(op, "secondary", "Apply this action?")),
            }
        }
    }
}

/// `POST /queue/{id}/act`: the action in `op`; back to the entry (or the queue when the entry
/// is gone: deleted, or released from custody into delivery) with a note, or the outcome page
/// when it was skipped.
pub(super) fn act(s: &Service, call: &Call) -> Response {
    let id = match id_of(call) {
        Ok(id) => id,
        Err(r) => return r,
    };
    let back = format!("/queue/{id}");
    let form = call.form();
    let action = match pick::action(
        form.get("op").unwrap_or(""),
        form.get("to"),
        form.get("subject"),
    ) {
        Ok(a) => a,
        Err(e) => return remedy::refused(call, Nav::Queue, &back, &e),
    };
    let outcomes = match s.queue_act(&action, &[id], &Caller::web(call.actor(), call.peer)) {
        Ok(o) => o,
        Err(e) => return remedy::failed(call, Nav::Queue, &back, &e),
    };
    let code = pick::name(&action);
    match outcomes.first() {
        Some(o) if o.done => match s.queue_show(id) {
            Ok(_) => Response::redirect(&format!("{back}?ok={code}")),
            Err(_) => Response::redirect(&format!("/queue?ok={code}")),
        },
        _ => {
            let mut r = result(call, &action, &outcomes, &back);
            r.status = StatusCode::CONFLICT;
            r
        }
    }
}
