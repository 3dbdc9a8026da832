//! The message-level context scope: texts of one message whose context words count for each
//! other's candidates (the subject for the body, the body for the subject), searched whole, once,
//! and only when a candidate has no context word in its own window.
//!
//! The rule (see ARCHITECTURE.md, "Detection"): a message's heading fields (Subject, Comments,
//! Keywords) and its body texts share context words; attachments, other header fields and nested
//! messages are scopes of their own (a nested message's own subject and body share with each
//! other). A word found this way ranks behind every word in the window and is never "near"
//! (the `near` validator ignores it): it raises confidence and satisfies `context` and
//! `formatted_or_context`, which is what a routing number in the subject needs when the body says
//! "routing".

use super::definition::Compiled;

/// The texts sharing context with the one being scanned, and what was found in them (lazily).
///
/// Tied to one [`super::Identifiers`] set (it caches per definition index): use it only with the
/// set it was first asked about.
#[derive(Debug, Default)]
pub struct Shared<'a> {
    texts: Vec<&'a str>,
    /// Per definition: a positive context word occurs in `texts`. `None` until first asked.
    found: Option<Vec<bool>>,
}

impl<'a> Shared<'a> {
    /// No shared scope: context only within each candidate's window.
    pub fn none() -> Shared<'a> {
        Shared::default()
    }

    /// The texts whose context words count for every candidate of the scanned text.
    pub fn new(texts: Vec<&'a str>) -> Shared<'a> {
        Shared { texts, found: None }
    }

    /// Whether a positive context word of definition `def` occurs in the shared texts. The first
    /// call reads every shared text once (bounded by their length); later calls are lookups.
    pub(crate) fn has(&mut self, c: &Compiled, def: u16) -> bool {
        if self.texts.is_empty() {
            return false;
        }
        let texts = &self.texts;
        let found = self.found.get_or_insert_with(|| {
            let mut f = vec![false; c.defs.len()];
            if let Some(words) = &c.context {
                for t in texts {
                    words.mark_present(t.as_bytes(), &mut f);
                }
            }
            f
        });
        found.get(usize::from(def)).copied().unwrap_or(false)
    }
}
