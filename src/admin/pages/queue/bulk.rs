//! `POST /queue/bulk`: one action over the selected entries, or over everything the filter
//! matches after a confirm step (the count, the first entries, the warnings; at most
//! `admin.max_bulk`), and the page that lists every entry's outcome.

use maud::html;

use super::super::super::call::Call;
use super::super::super::form::{self, encode_pairs};
use super::super::super::response::Response;
use super::super::remedy::{self, SHOWN};
use super::super::{Nav, badge, csrf_field, page, time};
use super::filter::{self as pick, Picked};
use super::list::{CRASHER, sender};
use crate::service::{Caller, QueueAction, QueueOutcome, QueueRef, QueueStage, Service};

/// `POST /queue/bulk`.
pub(super) fn bulk(s: &Service, call: &Call) -> Response {
    let form = call.form();
    let picked = match Picked::parse(&form::pairs(&call.body)) {
        Ok(p) => p,
        Err(e) => return remedy::refused(call, Nav::Queue, "/queue", &e),
    };
    let back = back_of(&picked);
    let action = match pick::action(
        form.get("op").unwrap_or(""),
        form.get("to"),
        form.get("subject"),
    ) {
        Ok(a) => a,
        Err(e) => return remedy::refused(call, Nav::Queue, &back, &e),
    };
    let cap = s.config().admin.max_bulk;
    let ids: Vec<QueueRef> = match form.get("scope") {
        Some("all") => {
            let mut f = picked.filter.clone();
            f.limit = cap.saturating_add(1);
            let mut ids = match s.queue_select(&f) {
                Ok(ids) => ids,
                Err(e) => return remedy::failed(call, Nav::Queue, &back, &e),
            };
            if form.get("confirm") != Some("yes") {
                return confirm(s, call, &picked, &action, ids.len(), cap);
            }
            ids.truncate(cap);
            ids
        }
        _ => match pick::ids(form.all("id")) {
            Ok(ids) if ids.is_empty() => {
                let why = "Select at least one entry, or use “Apply to all matching”.";
                return remedy::refused(call, Nav::Queue, &back, why);
            }
            Ok(ids) if ids.len() > cap => {
                let why = format!("At most {cap} entries at once (admin.max_bulk).");
                return remedy::refused(call, Nav::Queue, &back, &why);
            }
            Ok(ids) => ids,
            Err(e) => return remedy::refused(call, Nav::Queue, &back, &e),
        },
    };
    match s.queue_act(&action, &ids, &Caller::web(call.actor(), call.peer)) {
        Ok(outcomes) => result(call, &action, &outcomes, &back),
        Err(e) => remedy::failed(call, Nav::Queue, &back, &e),
    }
}

/// The listing a bulk action came from, with its filter.
pub(super) fn back_of(picked: &Picked) -> String {
    match picked.given.is_empty() {
        true => "/queue".into(),
        false => format!("/queue?{}", encode_pairs(&picked.given)),
    }
}

/// What `action` over the filter would touch (`n` found, at most `cap` acted on), the first
/// [`SHOWN`] entries, the warnings, and the button that posts it again with `confirm=yes`.
fn confirm(
    s: &Service,
    call: &Call,
    picked: &Picked,
    action: &QueueAction,
    n: usize,
    cap: usize,
) -> Response {
    let shown = n.min(cap);
    let mut f = picked.filter.clone();
    f.limit = SHOWN;
    let rows = s.queue_list(&f).map(|l| l.rows).unwrap_or_default();
    let what = match shown {
        1 => "1 queued message".to_string(),
        n => format!("{n} queued messages"),
    };
    let title = format!("{} — {what}?", pick::label(action));
    let back = back_of(picked);
    let body = html! {
        @if n > cap {
            p class="flash error" role="alert" {
                "More than " (cap) " match: this action covers the first " (cap)
                " (admin.max_bulk). Run it again for the rest."
            }
        }
        p {
            (what) @if shown == 1 { " matches" } @else { " match" } " the filter"
            @if picked.given.is_empty() { " (no filter: the whole queue)." } @else { ":" }
        }
        @if !picked.given.is_empty() {
            ul { @for (k, v) in &picked.given { li { (k) ": " (v) } } }
        }
        (warning(action, picked.filter.stage))
        @if shown > 0 {
            table {
                thead { tr { th { "Id" } th { "Queued" } th { "Sender" } th { "Pending recipients" } } }
                tbody {
                    @for r in &rows {
                        tr {
                            td { a href=(format!("/queue/{}", r.id)) { (r.id.to_string()) } }
                            td class="when" { (time(r.queued)) }
                            td { (sender(&r.sender)) }
                            td { (r.recipients.join(", ")) }
                        }
                    }
                }
            }
            @if shown > SHOWN { p class="note" { "… and " (shown - SHOWN) " more" } }
            form method="post" action="/queue/bulk" {
                (csrf_field(call))
                (picked.hidden())
                @for (k, v) in pick::fields(action) { input type="hidden" name=(k) value=(v); }
                input type="hidden" name="scope" value="all";
                input type="hidden" name="confirm" value="yes";
                div class="actions" {
                    button type="submit" class=(if matches!(action, QueueAction::Delete) { "danger" } else { "" }) {
                        "Yes: " (pick::label(action)) " " (what)
                    }
                    a class="button secondary" href=(back) { "Cancel" }
                }
            }
        } @else {
            p { "Nothing to do. " a href=(back) { "Back" } }
        }
    };
    page(call, &title, Nav::Queue, body)
}

/// What the action does, said before it is done.
pub(super) fn warning(action: &QueueAction, stage: Option<QueueStage>) -> maud::Markup {
    html! {
        @match action {
            QueueAction::Release { unscanned: false } => {
                @if stage != Some(QueueStage::Deliver) && stage != Some(QueueStage::Deferred) {
                    p class="flash warn" role="note" { (CRASHER) }
                }
            }
            QueueAction::Release { unscanned: true } => {
                p class="flash warn" role="note" { "The messages are delivered without inspection." }
            }
            QueueAction::Delete => {
                p class="flash warn" role="note" { "Deleted messages are never delivered and no bounce is sent. This cannot be undone." }
            }
            QueueAction::Forward { to, subject } => {
                p class="flash warn" role="note" {
                    "An unscanned copy of each goes to " (to)
                    @if let Some(s) = subject { " with the subject “" (s) "”" }
                    "; the originals stay in the queue until dropped."
                }
            }
            QueueAction::Hold | QueueAction::Retry => {}
        }
    }
}

/// Every entry's outcome, with the totals.
pub(super) fn result(
    call: &Call,
    action: &QueueAction,
    outcomes: &[QueueOutcome],
    back: &str,
) -> Response {
    let done = outcomes.iter().filter(|o| o.done).count();
    let skipped = outcomes.len() - done;
    let body = html! {
        p class=(if skipped == 0 { "flash ok" } else { "flash error" }) role="status" {
            (done) " done, " (skipped) " skipped."
        }
        table {
            thead { tr { th { "Id" } th { "Outcome" } th { "Detail" } } }
            tbody {
                @for o in outcomes {
                    tr {
                        td { a href=(format!("/queue/{}", o.id)) { (o.id.to_string()) } }
                        td { @if o.done { (badge("out-relayed", "done")) } @else { (badge("out-held", "skipped")) } }
                        td { (o.detail) }
                    }
                }
            }
        }
        p { a href=(back) { "Back" } }
    };
    page(
        call,
        &format!("{} — result", pick::label(action)),
        Nav::Queue,
        body,
    )
}
