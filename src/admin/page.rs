//! HTML pages (maud, which escapes every interpolated value). Pure: values in, a page out; time is
//! formatted from the Unix seconds it is given.

use std::borrow::Cow;

use maud::{DOCTYPE, Markup, html};

use crate::approval::{ApprovalState, ApprovalSummary, Preview};
use crate::link::token::Decision;

/// A whole document around `content` (the admin pages' head without their script; no navigation:
/// an approver has no account).
fn layout(title: &str, content: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            (super::pages::head(title, false))
            body {
                main class="narrow" {
                    h1 { (title) }
                    (content)
                    footer { "Sluice email security gateway" }
                }
            }
        }
    }
    .into_string()
}

/// The held message and the form that makes the link's decision (nothing happens until it is sent).
pub(crate) fn approval_form(
    summary: &ApprovalSummary,
    decision: Decision,
    action: &str,
    now: u64,
) -> String {
    let (verb, button, class) = match decision {
        Decision::Approve => ("Approve", "Approve and deliver", "approve"),
        Decision::Reject => ("Reject", "Reject and delete", "reject"),
    };
    let remaining = summary.expires.saturating_sub(now);
    layout(
        &format!("{verb} this held message?"),
        html! {
            p { "A policy held this message until an approver decides. Review it, then confirm." }
            (summary_table(summary))
            @if let Some(p) = &summary.preview { (preview(p)) }
            form method="post" action=(action) {
                input type="hidden" name="decision" value=(decision.as_str());
                p {
                    label for="comment" { "Comment (optional; kept in the history and sent to the sender)" }
                    br;
                    textarea id="comment" name="comment" rows="3" cols="60"
                        maxlength=(crate::approval::MAX_COMMENT_CHARS) {}
                }
                p { button type="submit" class=(class) { (button) } }
            }
            p class="note" {
                "Without a decision by " (utc(summary.expires)) " (in " (duration(remaining))
                "), the message goes back to its sender."
            }
        },
    )
}

/// The decision this request recorded.
pub(crate) fn decided(state: &ApprovalState) -> String {
    let (title, text) = match state {
        ApprovalState::Approved { .. } => (
            "Approved",
            "The message is released to its recipients and the sender is told.",
        ),
        ApprovalState::Rejected { .. } => (
            "Rejected",
            "The message will not be delivered; the sender is told it was rejected by a moderator.",
        ),
        ApprovalState::Expired { .. } => return expired(),
        ApprovalState::Pending => (
            "Decision recorded",
            "The decision is recorded and will be carried out shortly.",
        ),
    };
    layout(
        title,
        html! {
            p { (text) }
            (state_line(state))
        },
    )
}

/// Someone decided before this request.
pub(crate) fn already_decided(state: &ApprovalState, summary: Option<&ApprovalSummary>) -> String {
    layout(
        "Already decided",
        html! {
            p { "This message was already decided; nothing was changed." }
            (state_line(state))
            @if let Some(s) = summary { (summary_table(s)) }
        },
    )
}

/// The link or the approval lapsed.
pub(crate) fn expired() -> String {
    layout(
        "This link has expired",
        html! {
            p { "The time to decide on this message is over. Messages without a decision go back \
                 to their sender." }
        },
    )
}

/// A genuine link mailed by an earlier release, which cannot decide anything now.
pub(crate) fn outdated_link(approval: u64) -> String {
    layout(
        "This link can no longer be used",
        html! {
            p { "This link was sent by an earlier version of the mail gateway and can no longer \
                 decide the message. Ask your mail administrators to release or delete it for \
                 you (approval " (approval) "). Without a decision, the message goes back to its \
                 sender when the time to decide is over." }
        },
    )
}

/// Malformed and forged links alike: the page must not tell them apart.
pub(crate) fn bad_link() -> String {
    layout(
        "This link is not valid",
        html! {
            p { "The approval link is incomplete or was altered. Open it again from the notice \
                 you received, in full." }
        },
    )
}

/// The approval is gone (purged) or never existed.
pub(crate) fn approval_not_found() -> String {
    layout(
        "Message not found",
        html! { p { "This held message no longer exists; it may have been purged." } },
    )
}

/// The store cannot answer now.
pub(crate) fn unavailable() -> String {
    layout(
        "Temporarily unavailable",
        html! { p { "Held messages cannot be read right now. Nothing was changed; please try the \
        link again in a few minutes." } },
    )
}

/// A form that does not carry the token's decision.
pub(crate) fn wrong_decision(granted: Decision) -> String {
    layout(
        "Nothing was changed",
        html! {
            p { "This link can only " (granted.as_str()) " the message, and the form did not ask \
                 for that. Open the link again and use its button." }
        },
    )
}

/// Text from a message, its sender or the configuration, as a page shows it (maud escapes it):
/// bidirectional overrides, embeddings and isolates (U+202A..U+202E, U+2066..U+2069) become a
/// visible `[U+202E]`, so that no name reorders itself on screen (`invoice<U+202E>fdp.exe` would
/// read `invoiceexe.pdf`).
pub(crate) fn shown(text: &str) -> Cow<'_, str> {
    if !text.contains(is_bidi) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        push_shown(&mut out, c);
    }
    Cow::Owned(out)
}

/// A bidirectional override, embedding or isolate.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn push_shown(out: &mut String, c: char) {
    if is_bidi(c) {
        out.push_str(&format!("[U+{:04X}]", c as u32));
    } else {
        out.push(c);
    }
}

/// Markup maud rendered, with [`shown`] applied to its text: the layout passes every page's body
/// through it, so that no page can show a message's or the configuration's bidirectional controls
/// raw. Tags are copied as they are (maud escapes `>` in attribute values, so a tag ends at the
/// first `>`; a form field's value keeps what was typed), and so is a `<textarea>`'s text, which
/// the browser submits back (the configuration editor must save what it was given).
pub(crate) fn shown_markup(html: &str) -> Cow<'_, str> {
    if !html.contains(is_bidi) {
        return Cow::Borrowed(html);
    }
    let mut out = String::with_capacity(html.len() + 16);
    let mut rest = html;
    while let Some(i) = rest.find(|c: char| c == '<' || is_bidi(c)) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if !rest.starts_with('<') {
            let c = rest.chars().next().unwrap_or_default();
            push_shown(&mut out, c);
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let end = if rest.starts_with("<textarea") {
            rest.find("</textarea>").map(|e| e + "</textarea>".len())
        } else {
            rest.find('>').map(|e| e + 1)
        }
        .unwrap_or(rest.len());
        out.push_str(&rest[..end]);
        rest = &rest[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn summary_table(s: &ApprovalSummary) -> Markup {
    html! {
        table {
            tr { th { "From" } td { (shown(&s.sender)) } }
            tr { th { "To" } td { ul { @for r in &s.recipients { li { (shown(r)) } } } } }
            tr { th { "Subject" } td { (shown(&s.subject)) } }
            tr { th { "Size" } td { (size(s.size)) } }
            tr { th { "Received" } td { (utc(s.received)) } }
            tr { th { "Policies" } td { ul { @for p in &s.policies { li { (shown(p)) } } } } }
            tr { th { "Findings" } td {
                @if s.findings.is_empty() { "none recorded" }
                @else { ul { @for f in &s.findings { li { (shown(f)) } } } }
            } }
            tr { th { "Decide by" } td { (utc(s.expires)) } }
        }
    }
}

/// The body as escaped text (never rendered as HTML) and the attachments as plain names: nothing
/// from the message becomes markup or a link.
fn preview(p: &Preview) -> Markup {
    html! {
        h2 { "Message text" }
        @if p.text.is_empty() { p class="note" { "The message has no text body." } }
        @else {
            pre class="preview" tabindex="0" { (shown(&p.text)) }
            @if p.truncated { p class="note" { "Only the beginning is shown." } }
        }
        h2 { "Attachments" }
        @if p.attachments.is_empty() { p class="note" { "None." } }
        @else {
            table {
                tr { th { "Name" } th { "Type" } th { "Size" } }
                @for a in &p.attachments {
                    tr {
                        td { @if a.name.is_empty() { "(no name)" } @else { (shown(&a.name)) } }
                        td { (a.true_type) }
                        td { (size(a.size)) }
                    }
                }
            }
            @if p.more_attachments > 0 {
                p class="note" { "and " (p.more_attachments) " more" }
            }
        }
    }
}

fn state_line(state: &ApprovalState) -> Markup {
    html! {
        p {
            @match state {
                ApprovalState::Pending => { "Status: waiting for a decision." }
                ApprovalState::Approved { by, at } => {
                    "Approved by " strong { (shown(by)) } " at " (utc(*at)) "."
                }
                ApprovalState::Rejected { by, at } => {
                    "Rejected by " strong { (shown(by)) } " at " (utc(*at)) "."
                }
                ApprovalState::Expired { at } => {
                    "Expired at " (utc(*at)) " without a decision."
                }
            }
        }
    }
}

/// "12.3 KiB" style sizes.
pub(crate) fn size(bytes: u64) -> String {
    crate::units::size::approximate(bytes, crate::units::size::Labels::Binary)
}

/// "2 days 3 hours" style remaining times (two largest units).
pub(crate) fn duration(secs: u64) -> String {
    let parts = [
        (secs / 86_400, "day"),
        (secs % 86_400 / 3600, "hour"),
        (secs % 3600 / 60, "minute"),
    ];
    let words: Vec<String> = parts
        .iter()
        .skip_while(|(n, _)| *n == 0)
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n} {unit}{}", if *n == 1 { "" } else { "s" }))
        .collect();
    if words.is_empty() {
        "less than a minute".to_string()
    } else {
        words.join(" ")
    }
}

pub(crate) use crate::units::time::minutes as utc;
