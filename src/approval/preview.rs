//! What an approver may see of a held message's content before deciding: a text preview of the
//! body and the list of attachments. Pure: the message bytes in, plain values out.
//!
//! Security: the message is untrusted. The preview is text only (the text/plain part, or the HTML
//! part turned into text by `decompose`), cut to a bound; attachments are described (name, true
//! type from magic bytes, size), never opened for display. The admin pages escape all of it and
//! never render or link it. Nothing here is logged.

use crate::decompose::{self, Location, NoBudget, NoPdf};

/// Longest attachment list shown (a message may carry thousands of parts).
pub const MAX_ATTACHMENTS: usize = 100;

/// The body preview and attachment list of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preview {
    /// The body as text, at most the configured bytes (cut at a character boundary).
    pub text: String,
    /// The body was longer than the preview.
    pub truncated: bool,
    /// The message's own attachments (not the entries inside archives), in message order.
    pub attachments: Vec<Attachment>,
    /// More attachments than [`MAX_ATTACHMENTS`] were left out.
    pub more_attachments: usize,
}

/// One attachment as the approver sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The file name as sent (control characters replaced); empty when it had none.
    pub name: String,
    /// What the content really is (magic bytes), e.g. `pdf`, `zip`, `exe`.
    pub true_type: &'static str,
    pub size: u64,
}

/// The preview of `message` with at most `max_bytes` of body text, decomposed within `limits`.
pub fn of(message: &[u8], limits: &decompose::Limits, max_bytes: usize) -> Preview {
    // The configured limits bound the work (PDF text is not needed: no PDF service).
    let parts = decompose::decompose(message, limits, &NoPdf, &NoBudget).parts;
    let body = parts
        .iter()
        .filter(|p| p.location == Location::Body)
        .map(|p| p.text.trim())
        .find(|t| !t.is_empty())
        .unwrap_or("");
    let (text, truncated) = cut(body, max_bytes);
    let mut preview = Preview {
        text: text.to_string(),
        truncated,
        ..Preview::default()
    };
    for p in &parts {
        let (Location::Attachment(path), Some(file)) = (&p.location, &p.file) else {
            continue;
        };
        // Only the message's own attachments: an entry inside an archive has a longer path than
        // its own name.
        let name = file.name.as_deref().unwrap_or("");
        let top = if name.is_empty() {
            !path.contains('/')
        } else {
            clean(name) == *path
        };
        if !top {
            continue;
        }
        if preview.attachments.len() >= MAX_ATTACHMENTS {
            preview.more_attachments += 1;
            continue;
        }
        preview.attachments.push(Attachment {
            name: clean(name),
            true_type: file.true_type.name(),
            size: file.size,
        });
    }
    preview
}

/// `text` cut to at most `max` bytes at a character boundary, and whether it was cut.
fn cut(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

/// A file name for display: control characters replaced, as `decompose` shows paths.
fn clean(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &str = "From: a@corp.example\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n\
<p>Hello <b>Bob</b></p><script>alert(1)</script>\r\n--b\r\n\
Content-Type: application/octet-stream; name=\"notes.txt\"\r\n\
Content-Disposition: attachment; filename=\"notes.txt\"\r\n\r\nplain notes\r\n--b--\r\n";

    #[test]
    fn html_becomes_text_and_attachments_are_listed() {
        let limits = crate::config::Config::embedded().unwrap().decomposition;
        let p = of(MESSAGE.as_bytes(), &limits, 4096);
        assert!(p.text.contains("Hello Bob"), "{:?}", p.text);
        assert!(!p.text.contains("<p>"), "{:?}", p.text);
        assert!(!p.truncated);
        assert_eq!(
            p.attachments,
            [Attachment {
                name: "notes.txt".into(),
                true_type: "text",
                size: 11,
            }]
        );
    }

    #[test]
    fn the_preview_is_cut_at_a_character_boundary() {
        assert_eq!(cut("héllo", 2), ("h", true));
        assert_eq!(cut("héllo", 3), ("hé", true));
        assert_eq!(cut("hi", 5), ("hi", false));
    }
}
