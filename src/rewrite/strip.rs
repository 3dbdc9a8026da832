//! Removing attachments, or replacing each with a text part carrying a notice and the removed
//! file's name, keeping the MIME structure valid: a removed part takes its delimiter line with
//! it, and a multipart that would be left with no part keeps an empty text part instead.

use std::ops::Range;

use super::Attachments;
use super::disclaimer::splice;
use super::encode;
use super::mime::{self, Tree};

/// The message without the chosen attachments and the names of those removed; `None` when
/// there is none to remove.
pub(super) fn strip(
    raw: &[u8],
    tree: &Tree,
    which: &Attachments,
    notice: Option<&str>,
) -> Option<(Vec<u8>, Vec<String>)> {
    let chosen = choose(tree, which);
    if chosen.is_empty() {
        return None;
    }
    let names: Vec<String> = chosen.iter().map(|(_, n)| n.clone()).collect();
    let eol = tree.eol;
    if chosen.iter().any(|&(id, _)| id == 0) {
        // The message itself is the attachment: it becomes the notice (or an empty text).
        return Some((root_replaced(raw, tree, notice, &names[0]), names));
    }
    let part = |name: &str| -> Vec<u8> {
        match notice {
            Some(text) => encode::text_part(
                "plain",
                &format!("{text}\n\nRemoved attachment: {name}"),
                eol,
                &["Content-Disposition: inline"],
            ),
            None => encode::text_part("plain", "", eol, &[]),
        }
    };
    let mut edits: Vec<(Range<usize>, Vec<u8>)> = Vec::new();
    let mut parents: Vec<usize> = chosen
        .iter()
        .filter_map(|&(id, _)| tree.nodes[id].parent)
        .collect();
    parents.sort_unstable();
    parents.dedup();
    for p in parents {
        let kids = &tree.nodes[p].children;
        let gone = |c: &usize| chosen.iter().any(|(id, _)| id == c);
        let name_of = |c: usize| {
            chosen
                .iter()
                .find(|(id, _)| *id == c)
                .map(|(_, n)| n.as_str())
        };
        // Replaced parts stay (as the notice); without a notice the last part of a multipart
        // left empty stays as an empty text part.
        let mut stays: Vec<bool> = kids.iter().map(|c| !gone(c) || notice.is_some()).collect();
        if !stays.iter().any(|&s| s)
            && let Some(last) = stays.last_mut()
        {
            *last = true;
        }
        for (i, &c) in kids.iter().enumerate() {
            if stays[i] && gone(&c) {
                edits.push((tree.nodes[c].whole(), part(name_of(c).unwrap_or_default())));
            }
        }
        let Some(first_kept) = stays.iter().position(|&s| s) else {
            continue;
        };
        if first_kept > 0 {
            let from = tree.nodes[kids[0]].header.start;
            edits.push((from..tree.nodes[kids[first_kept]].header.start, Vec::new()));
        }
        for i in first_kept + 1..kids.len() {
            if !stays[i] {
                let from = tree.nodes[kids[i - 1]].body.end;
                edits.push((from..tree.nodes[kids[i]].body.end, Vec::new()));
            }
        }
    }
    Some((splice(raw, edits), names))
}

/// The attachments to remove: all, or those whose display name the matched locations name (all
/// when none of them is found, so a match is never left in place).
fn choose(tree: &Tree, which: &Attachments) -> Vec<(usize, String)> {
    match which {
        Attachments::All => tree.attachments.clone(),
        Attachments::Matched(paths) => {
            let hit = |name: &str| {
                paths.iter().any(|p| {
                    p == name
                        || p.len() > name.len()
                            && p.starts_with(name)
                            && p.as_bytes()[name.len()] == b'/'
                })
            };
            let some: Vec<(usize, String)> = tree
                .attachments
                .iter()
                .filter(|(_, n)| hit(n))
                .cloned()
                .collect();
            if some.is_empty() && !paths.is_empty() {
                tree.attachments.clone()
            } else {
                some
            }
        }
    }
}

/// A single-part message whose body is the attachment: its non-MIME fields, then a text body.
fn root_replaced(raw: &[u8], tree: &Tree, notice: Option<&str>, name: &str) -> Vec<u8> {
    let eol = tree.eol;
    let root = &tree.nodes[0];
    let mut out = Vec::with_capacity(root.header.len() + 256);
    for f in mime::fields(raw, root.header.clone()) {
        if !mime::is_content_field(raw, &f) {
            out.extend_from_slice(&raw[f.range.clone()]);
        }
    }
    let text = notice.map_or(String::new(), |t| {
        format!("{t}\n\nRemoved attachment: {name}")
    });
    out.extend_from_slice(&encode::text_part("plain", &text, eol, &[]));
    out.extend_from_slice(eol);
    out
}
