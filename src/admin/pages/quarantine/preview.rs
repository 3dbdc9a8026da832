//! The safe preview of a held message, for its page and the API: the header section as plain
//! text, and the approval page's [`Preview`] (the body as text only, HTML turned into text by
//! `decompose`, attachments described by name, true type and size). Also the raw message for
//! `DownloadRaw`, with its audit entry.
//!
//! Security: the message is untrusted. Nothing here becomes markup: callers put it in maud as
//! text (escaped), never link or render attachments, and load no remote content (there is no
//! HTML to load it from). Nothing of the message is logged.

use maud::{Markup, html};

use crate::approval::Preview;
use crate::service::{self, HeldId, Service};

/// Longest header section shown, in bytes (a message's header section may be far longer; the
/// rest is cut with a note).
pub(crate) const MAX_HEADER_BYTES: usize = 64 * 1024;

/// What a held message's page shows of its content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Safe {
    /// The header section as text (line breaks kept, other control characters replaced).
    pub headers: String,
    pub headers_cut: bool,
    pub body: Preview,
}

/// The safe preview of `raw` with at most `max_bytes` of body text.
pub(crate) fn of(raw: &[u8], limits: &crate::decompose::Limits, max_bytes: usize) -> Safe {
    let (headers, headers_cut) = header_text(raw, MAX_HEADER_BYTES);
    Safe {
        headers,
        headers_cut,
        body: crate::approval::preview::of(raw, limits, max_bytes),
    }
}

/// The header section (up to the first empty line) as text: invalid UTF-8 replaced, CRLF as LF,
/// other control characters but tab as `?`, at most `max` bytes.
pub(crate) fn header_text(raw: &[u8], max: usize) -> (String, bool) {
    let end = raw
        .windows(2)
        .position(|w| w == b"\n\n")
        .map(|i| i + 1)
        .into_iter()
        .chain(raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 2))
        .min()
        .unwrap_or(raw.len());
    let cut = end > max;
    let section = &raw[..end.min(max)];
    let text: String = String::from_utf8_lossy(section)
        .replace("\r\n", "\n")
        .chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '?'
            } else {
                c
            }
        })
        .collect();
    (text.trim_end().to_string(), cut)
}

/// The preview as page sections (escaped text; attachments as plain rows, never links).
pub(crate) fn sections(p: &Safe) -> Markup {
    let size = super::super::super::page::size;
    html! {
        h2 { "Headers" }
        pre class="preview headers" tabindex="0" { (p.headers) }
        @if p.headers_cut { p class="note" { "Only the first " (MAX_HEADER_BYTES / 1024) " KiB of the headers are shown." } }
        h2 { "Message text" }
        @if p.body.text.is_empty() { p class="note" { "The message has no text body." } }
        @else {
            pre class="preview" tabindex="0" { (p.body.text) }
            @if p.body.truncated { p class="note" { "Only the beginning is shown (admin.preview_bytes)." } }
        }
        p class="note" { "Shown as text only: HTML is converted to text and never rendered; nothing is loaded from elsewhere." }
        h2 { "Attachments" }
        @if p.body.attachments.is_empty() { p class="note" { "None." } }
        @else {
            table {
                thead { tr { th { "Name" } th { "Type (by content)" } th { "Size" } } }
                tbody {
                    @for a in &p.body.attachments {
                        tr {
                            td { @if a.name.is_empty() { "(no name)" } @else { (a.name) } }
                            td { (a.true_type) }
                            td { (size(a.size)) }
                        }
                    }
                }
            }
            @if p.body.more_attachments > 0 { p class="note" { "and " (p.body.more_attachments) " more" } }
            p class="note" { "Attachments are listed only: they are never opened, shown or offered for download here." }
        }
    }
}

/// The preview as JSON (the API).
pub(crate) fn json(p: &Safe) -> serde_json::Value {
    serde_json::json!({
        "headers": p.headers,
        "headers_truncated": p.headers_cut,
        "text": p.body.text,
        "text_truncated": p.body.truncated,
        "attachments": p.body.attachments.iter().map(|a| serde_json::json!({
            "name": a.name, "type": a.true_type, "size": a.size,
        })).collect::<Vec<_>>(),
        "more_attachments": p.body.more_attachments,
    })
}

/// The raw message of held message `id` for `user` (the route checked `DownloadRaw`), recorded in
/// the audit log; a message whose content is gone is a conflict naming its status.
pub(crate) fn raw(
    s: &Service,
    user: &str,
    peer: std::net::IpAddr,
    id: u64,
) -> service::Result<Vec<u8>> {
    let view = s.show_held(HeldId(id), true)?;
    let Some(bytes) = view.content else {
        return Err(service::Error::Conflict(format!(
            "held message {id} has no content any more ({})",
            view.held.status.name().replace('_', " ")
        )));
    };
    // Audited before the bytes leave: no record, no download.
    let entry = service::Caller::web(user, peer).entry(
        s.now(),
        "quarantine.download",
        &format!("held {id}"),
    );
    s.audit(entry)?;
    tracing::info!(user, held = id, peer = %peer, "held message downloaded (raw)");
    Ok(bytes)
}

/// The file name of a raw download.
pub(crate) fn file_name(id: u64) -> String {
    format!("sluice-held-{id}.eml")
}

#[cfg(test)]
mod tests {
    //! Headers as text, cut and cleaned.
    use super::*;

    #[test]
    fn the_header_section_is_text_up_to_the_blank_line() {
        let raw = b"From: a@x\r\nSubject: <b>hi</b>\x1b[31m\r\n\r\nbody\r\n";
        let (h, cut) = header_text(raw, 1000);
        assert_eq!(h, "From: a@x\nSubject: <b>hi</b>?[31m");
        assert!(!cut);
        let (h, cut) = header_text(b"A: 1\nB: 2\n\nbody", 1000);
        assert_eq!((h.as_str(), cut), ("A: 1\nB: 2", false));
        let (h, cut) = header_text(b"A: 123456789\r\n\r\n", 5);
        assert_eq!((h.as_str(), cut), ("A: 12", true));
        // No blank line: all of it is headers.
        assert_eq!(header_text(b"A: 1", 100).0, "A: 1");
    }
}
