//! `[[policy]]` tables as blocks of the file's text: each policy is its header, its keys, its
//! `[[policy.rule]]` / `[[policy.exception]]` tables and the comment lines right above its header;
//! operations replace, remove or permute whole blocks and leave every other byte where it was.
//! A file without `[[policy]]` runs the built-in set (`inspection.builtin_policies`); the first
//! policy operation writes that set into the file (monitor mode spelled out on each policy), so
//! the administrator edits what runs.

use std::ops::Range;

use toml_edit::{DocumentMut, Item, Value};

use super::{Document, EditError, Place, line_of, toml_error};
use crate::config::BUILTIN_POLICIES;

/// A policy's `mode`: enforced, or reported only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Enforce,
    Monitor,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Monitor => "monitor",
        }
    }
}

/// One policy as the file has it, in evaluation order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyEntry {
    /// Position in the file (0 first: evaluated first).
    pub index: usize,
    pub id: Option<i64>,
    /// Its `name` (else `policy ID`, as the loader names it).
    pub name: String,
    pub enabled: bool,
    pub mode: Mode,
    pub severity: String,
    pub action: String,
    /// The policy's text: its `[[policy]]` table with its rules and exceptions, comments included.
    pub text: String,
    /// Not in the file yet: the built-in set, which the first policy edit writes into it.
    pub builtin: bool,
}

/// Where one policy's block is in the text: `content` without the blank lines after it,
/// `whole` with them (up to the next block or section).
#[derive(Debug, Clone)]
struct Block {
    content: Range<usize>,
    whole: Range<usize>,
}

/// The policy blocks of `text`, in order.
fn blocks(text: &str) -> Result<Vec<Block>, EditError> {
    let doc = toml_edit::Document::parse(text).map_err(|e| toml_error(&e, text, Place::File))?;
    if matches!(doc.get("policy"), Some(Item::Value(_))) {
        return Err(EditError::Refused(
            "the policies are written as an inline array (policy = [...]); write them as [[policy]] tables to edit them here".into(),
        ));
    }
    // Every header in the file: its offset and whether it starts a policy or belongs to one.
    let mut headers = Vec::new();
    walk(doc.as_table(), &mut Vec::new(), &mut headers);
    headers.sort_by_key(|h| h.0);
    let mut out = Vec::new();
    for (i, &(at, kind)) in headers.iter().enumerate() {
        if kind != Header::Policy {
            continue;
        }
        let end = headers[i + 1..]
            .iter()
            .find(|(_, k)| *k != Header::InPolicy)
            .map_or(text.len(), |&(next, _)| attached(text, next));
        let start = attached(text, at);
        let content = start..start + text[start..end].trim_end().len();
        out.push(Block {
            content,
            whole: start..end,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Header {
    Policy,
    InPolicy,
    Other,
}

fn walk<'a>(table: &'a toml_edit::Table, path: &mut Vec<&'a str>, out: &mut Vec<(usize, Header)>) {
    for (key, item) in table.iter() {
        path.push(key);
        let kind = match (path.first(), path.len()) {
            (Some(&"policy"), 1) => Header::Policy,
            (Some(&"policy"), _) => Header::InPolicy,
            _ => Header::Other,
        };
        let mut visit = |t: &'a toml_edit::Table, kind: Header, path: &mut Vec<&'a str>| {
            if let Some(span) = t.span().filter(|_| !t.is_dotted() && !t.is_implicit()) {
                out.push((span.start, kind));
            }
            walk(t, path, out);
        };
        match item {
            Item::Table(t) => visit(
                t,
                if kind == Header::Policy {
                    Header::Other
                } else {
                    kind
                },
                path,
            ),
            Item::ArrayOfTables(a) => {
                for t in a.iter() {
                    visit(t, kind, path);
                }
            }
            _ => {}
        }
        path.pop();
    }
}

/// The start of the line at `at`, moved up over the comment lines right above it (no blank line
/// between): they describe what follows.
fn attached(text: &str, at: usize) -> usize {
    let mut start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    while start > 0 {
        let prev = text[..start - 1].rfind('\n').map_or(0, |i| i + 1);
        if text[prev..start].trim_start().starts_with('#') {
            start = prev;
        } else {
            break;
        }
    }
    start
}

/// The fields of one block's text.
fn entry(index: usize, text: &str, builtin: bool) -> PolicyEntry {
    let table: toml::Table = toml::from_str(text).unwrap_or_default();
    let p = table
        .get("policy")
        .and_then(|v| v.as_array())
        .and_then(|a| a.first())
        .and_then(|v| v.as_table())
        .cloned()
        .unwrap_or_default();
    let id = p.get("id").and_then(toml::Value::as_integer);
    let string = |k: &str| p.get(k).and_then(toml::Value::as_str).map(str::to_string);
    PolicyEntry {
        index,
        id,
        name: string("name").unwrap_or_else(|| format!("policy {}", id.unwrap_or_default())),
        enabled: p
            .get("enabled")
            .and_then(toml::Value::as_bool)
            .unwrap_or(true),
        mode: match string("mode").as_deref() {
            Some("monitor") => Mode::Monitor,
            _ => Mode::Enforce,
        },
        severity: string("severity").unwrap_or_else(|| "medium".into()),
        action: string("action").unwrap_or_else(|| "log".into()),
        text: text.to_string(),
        builtin,
    }
}

/// What `inspection.builtin_policies` says (the embedded default when the file does not).
fn builtin_mode(text: &str) -> String {
    let table: toml::Table = toml::from_str(text).unwrap_or_default();
    table
        .get("inspection")
        .and_then(|i| i.get("builtin_policies"))
        .and_then(toml::Value::as_str)
        .map(str::to_string)
        .or_else(|| {
            super::input::default_of("inspection.builtin_policies")
                .and_then(|v| v.as_str().map(str::to_string))
        })
        .unwrap_or_default()
}

/// The built-in set as it runs under `mode` (`None`: it does not run), ready to be written into a
/// file: a comment saying where it came from, then its policies (each `mode = "monitor"` in
/// monitor mode).
fn builtin_text(mode: &str) -> Result<Option<String>, EditError> {
    let monitor = match mode {
        "monitor" => true,
        "enforce" => false,
        _ => return Ok(None),
    };
    let mut out = String::from(
        "# The built-in policy set (assets/policies/default.toml), written into this file by the first\n\
         # policy change made in the admin UI",
    );
    out.push_str(match monitor {
        true => "; it ran in monitor mode (inspection.builtin_policies), so each\n# policy says mode = \"monitor\": switch the ones you trust to \"enforce\".\n\n",
        false => ".\n\n",
    });
    for b in blocks(BUILTIN_POLICIES)? {
        let text = &BUILTIN_POLICIES[b.content];
        let text = match monitor {
            true => with_key(text, "mode", Value::from("monitor"))?,
            false => text.to_string(),
        };
        out.push_str(&text);
        out.push_str("\n\n");
    }
    Ok(Some(out.trim_end().to_string() + "\n"))
}

/// `text` (one policy's block) with `key` of its `[[policy]]` table set to `value`.
fn with_key(text: &str, key: &str, mut value: Value) -> Result<String, EditError> {
    let mut doc = text
        .parse::<DocumentMut>()
        .map_err(|e| toml_error(&e, text, Place::Policy))?;
    let table = doc
        .get_mut("policy")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|a| a.get_mut(0))
        .ok_or_else(|| EditError::Refused("not a [[policy]] table".into()))?;
    match table.get_mut(key) {
        Some(Item::Value(old)) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        _ => {
            table.insert(key, Item::Value(value.decorated(" ", "")));
        }
    }
    Ok(doc.to_string())
}

impl Document {
    /// The policies in evaluation order: the file's, or (when it has none) the built-in set that
    /// runs instead, marked `builtin`.
    pub fn policies(&self) -> Result<Vec<PolicyEntry>, EditError> {
        let own = blocks(&self.text)?;
        if !own.is_empty() {
            return Ok(own
                .iter()
                .enumerate()
                .map(|(i, b)| entry(i, &self.text[b.content.clone()], false))
                .collect());
        }
        let Some(set) = builtin_text(&builtin_mode(&self.text))? else {
            return Ok(Vec::new());
        };
        Ok(blocks(&set)?
            .iter()
            .enumerate()
            .map(|(i, b)| entry(i, &set[b.content.clone()], true))
            .collect())
    }

    /// The policy blocks, after writing the built-in set into a file that has none (when it runs).
    fn own_blocks(&mut self) -> Result<Vec<Block>, EditError> {
        let own = blocks(&self.text)?;
        if !own.is_empty() {
            return Ok(own);
        }
        if let Some(set) = builtin_text(&builtin_mode(&self.text))? {
            let mut text = self.text.trim_end().to_string();
            text.push_str("\n\n");
            text.push_str(&set);
            self.commit(
                text,
                "wrote the built-in policy set into the file".into(),
                None,
            )?;
        }
        blocks(&self.text)
    }

    fn find(&mut self, name: &str) -> Result<(Vec<Block>, usize), EditError> {
        let blocks = self.own_blocks()?;
        let at = blocks
            .iter()
            .position(|b| entry(0, &self.text[b.content.clone()], false).name == name)
            .ok_or_else(|| EditError::Refused(format!("there is no policy named {name:?}")))?;
        Ok((blocks, at))
    }

    /// Creates the policy `name`, or replaces it, with `text`: exactly one `[[policy]]` table
    /// (with its `[[policy.rule]]` and `[[policy.exception]]` tables). A new policy goes after
    /// the last one. Errors inside `text` are reported at their line in `text`.
    pub fn put_policy(&mut self, name: &str, text: &str) -> Result<(), EditError> {
        let text = text.replace("\r\n", "\n");
        let text = text.trim();
        let new_name = one_policy(text)?;
        let blocks = self.own_blocks()?;
        let names: Vec<String> = blocks
            .iter()
            .map(|b| entry(0, &self.text[b.content.clone()], false).name)
            .collect();
        let at = names.iter().position(|n| n == name);
        if new_name != name && names.contains(&new_name) {
            return Err(EditError::Refused(format!(
                "another policy is already named {new_name:?}"
            )));
        }
        let (range, insert, what) = match (at, blocks.last()) {
            (Some(i), _) => (
                blocks[i].content.clone(),
                text.to_string(),
                format!("policy {name:?} changed"),
            ),
            (None, Some(last)) => (
                last.content.end..last.content.end,
                format!("\n\n{text}"),
                format!("policy {new_name:?} added"),
            ),
            (None, None) => {
                let end = self.text.trim_end().len();
                (
                    end..self.text.len(),
                    format!("\n\n{text}\n"),
                    format!("policy {new_name:?} added"),
                )
            }
        };
        let mut new = self.text.clone();
        new.replace_range(range.clone(), &insert);
        let first = line_of(
            &new,
            range.start + (insert.len() - insert.trim_start().len()),
        );
        let last = first + text.lines().count().saturating_sub(1);
        self.commit(new, what, Some((first, last)))
    }

    /// Removes the policy `name`. Removing the last one sets `inspection.builtin_policies` to
    /// "off": a file without policies would otherwise run the built-in set.
    pub fn delete_policy(&mut self, name: &str) -> Result<(), EditError> {
        let (blocks, at) = self.find(name)?;
        let mut new = self.text.clone();
        new.replace_range(blocks[at].whole.clone(), "");
        let what = format!("policy {name:?} deleted");
        if blocks.len() > 1 {
            return self.commit(new, what, None);
        }
        let mut doc = Document::new(new);
        doc.set("inspection.builtin_policies", "off")?;
        self.commit(
            doc.text,
            format!("{what}; inspection.builtin_policies = \"off\" (no policies left)"),
            None,
        )
    }

    /// Enables or disables the policy `name` (its `enabled` key).
    pub fn set_policy_enabled(&mut self, name: &str, enabled: bool) -> Result<(), EditError> {
        let what = format!(
            "policy {name:?} {}",
            if enabled { "enabled" } else { "disabled" }
        );
        self.set_policy_key(name, "enabled", Value::from(enabled), what)
    }

    /// Sets the policy `name`'s `mode`: enforced, or reported only.
    pub fn set_policy_mode(&mut self, name: &str, mode: Mode) -> Result<(), EditError> {
        let what = format!("policy {name:?} mode {}", mode.name());
        self.set_policy_key(name, "mode", Value::from(mode.name()), what)
    }

    fn set_policy_key(
        &mut self,
        name: &str,
        key: &str,
        value: Value,
        what: String,
    ) -> Result<(), EditError> {
        let (blocks, at) = self.find(name)?;
        let range = blocks[at].content.clone();
        let text = with_key(&self.text[range.clone()], key, value)?;
        let mut new = self.text.clone();
        new.replace_range(range, text.trim_end());
        self.commit(new, what, None)
    }

    /// Moves the policy `name` to position `to` (0: evaluated first; past the end: last). The
    /// policies' places in the file stay; their contents move between them.
    pub fn move_policy(&mut self, name: &str, to: usize) -> Result<(), EditError> {
        let (blocks, at) = self.find(name)?;
        let mut texts: Vec<String> = blocks
            .iter()
            .map(|b| self.text[b.content.clone()].to_string())
            .collect();
        let moved = texts.remove(at);
        let to = to.min(texts.len());
        texts.insert(to, moved);
        let mut new = self.text.clone();
        for (b, t) in blocks.iter().zip(texts).rev() {
            new.replace_range(b.content.clone(), &t);
        }
        self.commit(
            new,
            format!("policy {name:?} moved to position {}", to + 1),
            None,
        )
    }
}

/// The name of the one policy `text` holds; anything else is refused (errors at `text`'s lines).
fn one_policy(text: &str) -> Result<String, EditError> {
    let doc = toml_edit::Document::parse(text).map_err(|e| toml_error(&e, text, Place::Policy))?;
    let invalid = |message: &str| EditError::Invalid {
        place: Place::Policy,
        line: 1,
        col: 1,
        message: message.to_string(),
    };
    let only_policy = doc.iter().all(|(k, _)| k == "policy");
    match doc.get("policy") {
        Some(Item::ArrayOfTables(a)) if a.len() == 1 && only_policy => {
            Ok(entry(0, text, false).name)
        }
        _ => Err(invalid(
            "expected exactly one [[policy]] table (with its [[policy.rule]] and [[policy.exception]] tables) and nothing else",
        )),
    }
}
