//! Editing the configuration file from the admin UI: a [`Document`] over the file's text with typed
//! operations (a setting set or removed, a `[[policy]]` table put, deleted, enabled, moved, a
//! `[[siem]]` destination put or removed) that
//! keep the comments, order and formatting of everything they do not touch (toml_edit), and
//! validate the whole resulting text with the real loader ([`Config::parse`]) before it is kept;
//! [`apply`] is the one way a change reaches the disk (atomic, refused when the file changed
//! since it was read, then reloaded, restored when the reload refuses), [`history`] the versions
//! it keeps, [`probe`] a policy tried on one message before it is saved.
//!
//! Knows no HTTP: the admin pages call these functions and render what they return.

mod apply;
pub mod history;
mod input;
mod policy;
pub mod probe;
mod shape;
mod siem;
pub mod view;

#[cfg(test)]
mod tests;

use toml_edit::{DocumentMut, Item, TableLike, Value};

use super::Config;

pub use apply::{Applied, Snapshot, Target, apply, read, rollback};
pub use history::{DiffLine, DiffTag, Version, diff};
pub use input::value_from_input;
pub use policy::{Mode, PolicyEntry};
pub use probe::{Probe, test_policy};
pub use shape::PolicyShape;
pub use siem::{KEYS as SIEM_KEYS, SiemEntry};

/// How the loader names the text being edited in its errors (replaced by "line:col" here).
const NAME: &str = "<edited>";

/// Which text an error's line and column count in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Place {
    /// The whole configuration file.
    File,
    /// The one `[[policy]]` table that was put (`Document::put_policy`'s text).
    Policy,
}

/// Why an edit was not made. Nothing was written when one comes back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The resulting text is not a valid configuration: line and column in `place`'s text.
    #[error("{line}:{col}: {message}")]
    Invalid {
        place: Place,
        line: usize,
        col: usize,
        message: String,
    },
    /// The request cannot be carried out (no such policy, a bad key path, ...).
    #[error("{0}")]
    Refused(String),
    /// The file changed on disk since it was read: the page must be reloaded.
    #[error("the configuration file changed since it was read (by someone else): reload the page")]
    Conflict,
    /// The server refused to run the new file; the previous file was put back.
    #[error("the server refused the new configuration (the previous file is back in place): {0}")]
    ReloadRefused(String),
    /// Reading or writing a file failed.
    #[error("{0}")]
    Io(String),
}

/// The configuration file's text being edited, with what has been done to it.
#[derive(Debug, Clone)]
pub struct Document {
    text: String,
    changes: Vec<String>,
}

impl Document {
    /// A document over `text` (a configuration file's whole text; it need not be valid yet).
    pub fn new(text: impl Into<String>) -> Document {
        Document {
            text: text.into(),
            changes: Vec::new(),
        }
    }

    /// The text as edited so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// What was done, one line per operation (a version's "what").
    pub fn changes(&self) -> &[String] {
        &self.changes
    }

    /// Sets the key at `path` (`"listener.max_sessions"`, `"relay.pass_header.name"`) to `value`,
    /// creating the key (and its sections) when the file does not have it. A value that replaces
    /// one keeps the old one's spacing and trailing comment; the key keeps the comment above it.
    pub fn set(&mut self, path: &str, value: impl Into<Value>) -> Result<(), EditError> {
        self.set_all([(path, value.into())])
    }

    /// Sets several keys as one change, validated once when all are set: settings that only make
    /// sense together (`tls.cert_file` with `tls.key_file`, `relay.mode` with `relay.hosts`).
    pub fn set_all<'p>(
        &mut self,
        values: impl IntoIterator<Item = (&'p str, Value)>,
    ) -> Result<(), EditError> {
        let mut doc = self.mutable()?;
        let mut paths = Vec::new();
        for (path, value) in values {
            set_in(&mut doc, path, value)?;
            paths.push(path);
        }
        if paths.is_empty() {
            return Ok(());
        }
        self.commit(doc.to_string(), format!("set {}", paths.join(", ")), None)
    }

    /// Removes the key at `path` from the file (with the comment above it), so that its default
    /// applies; nothing to do when the file does not set it.
    pub fn remove(&mut self, path: &str) -> Result<(), EditError> {
        let keys = split_path(path)?;
        let mut doc = self.mutable()?;
        let (leaf, parents) = keys.split_last().ok_or_else(|| bad_path(path))?;
        let Some(table) = descend(doc.as_table_mut(), parents, path, false)? else {
            return Ok(());
        };
        match table.get(leaf) {
            None => return Ok(()),
            Some(Item::Value(_)) => {}
            Some(_) => {
                return Err(EditError::Refused(format!(
                    "{path} is a section, not a single setting"
                )));
            }
        }
        table.remove(leaf);
        self.commit(doc.to_string(), format!("removed {path}"), None)
    }

    /// Replaces the whole text (the file's text editor, a rollback); validated like every edit.
    pub fn replace_text(&mut self, text: &str, what: &str) -> Result<(), EditError> {
        let text = text.replace("\r\n", "\n");
        self.commit(text, what.to_string(), None)
    }

    fn mutable(&self) -> Result<DocumentMut, EditError> {
        self.text
            .parse::<DocumentMut>()
            .map_err(|e| toml_error(&e, &self.text, Place::File))
    }

    /// Keeps `text` if the loader accepts it whole; `policy` is the line range (1-based,
    /// inclusive) of a policy's text inside it, in which errors are reported relative to that text.
    fn commit(
        &mut self,
        text: String,
        what: String,
        policy: Option<(usize, usize)>,
    ) -> Result<(), EditError> {
        validate(&text, policy)?;
        if text != self.text {
            self.text = text;
            self.changes.push(what);
        }
        Ok(())
    }
}

/// Checks `text` with the loader, as `serve` and a reload would read it.
pub fn validate(text: &str, policy: Option<(usize, usize)>) -> Result<Config, EditError> {
    Config::parse(text, NAME).map_err(|e| match e {
        super::ConfigError::At {
            file,
            line,
            col,
            message,
        } => {
            let message = match file.as_str() {
                NAME => message,
                other => format!("{other}: {message}"),
            };
            match policy {
                Some((first, last)) if file == NAME && (first..=last).contains(&line) => {
                    EditError::Invalid {
                        place: Place::Policy,
                        line: line - first + 1,
                        col,
                        message,
                    }
                }
                _ => EditError::Invalid {
                    place: Place::File,
                    line,
                    col,
                    message,
                },
            }
        }
        super::ConfigError::Io { message, .. } => EditError::Io(message),
    })
}

/// A TOML syntax error in `text` as line:col.
fn toml_error(e: &toml_edit::TomlError, text: &str, place: Place) -> EditError {
    let (line, col) = line_col(text, e.span().map_or(0, |s| s.start));
    EditError::Invalid {
        place,
        line,
        col,
        message: e.message().trim().to_string(),
    }
}

/// 1-based line and column of byte `offset` (columns count bytes, as the loader's errors do).
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
    (line, col)
}

/// The 1-based line `offset` is on.
fn line_of(text: &str, offset: usize) -> usize {
    line_col(text, offset).0
}

/// Sets `path` in `doc`, keeping the old value's spacing and comment (or adding the key).
fn set_in(doc: &mut DocumentMut, path: &str, mut value: Value) -> Result<(), EditError> {
    let keys = split_path(path)?;
    let (leaf, parents) = keys.split_last().ok_or_else(|| bad_path(path))?;
    let table = descend(doc.as_table_mut(), parents, path, true)?.ok_or_else(|| bad_path(path))?;
    match table.get_mut(leaf) {
        Some(Item::Value(old)) => {
            *value.decor_mut() = old.decor().clone();
            *old = value;
        }
        Some(Item::None) | None => {
            table.insert(leaf, Item::Value(value.decorated(" ", "")));
        }
        Some(_) => {
            return Err(EditError::Refused(format!(
                "{path} is a section, not a single setting"
            )));
        }
    }
    Ok(())
}

fn bad_path(path: &str) -> EditError {
    EditError::Refused(format!(
        "{path:?} is not a setting's name (sections and keys joined by dots, like listener.max_sessions)"
    ))
}

/// `a.b.c` as bare keys (letters, digits, `_` and `-`).
fn split_path(path: &str) -> Result<Vec<&str>, EditError> {
    let keys: Vec<&str> = path.split('.').collect();
    let bare = |k: &str| {
        !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    if keys.iter().all(|k| bare(k)) && keys.first() != Some(&"policy") {
        Ok(keys)
    } else {
        Err(bad_path(path))
    }
}

/// The table at `keys` below `root`: created (as a `[section]`) when `create`, else `None` when
/// it is missing. A key there that is not a table is refused.
fn descend<'a>(
    root: &'a mut dyn TableLike,
    keys: &[&str],
    path: &str,
    create: bool,
) -> Result<Option<&'a mut dyn TableLike>, EditError> {
    let Some((first, rest)) = keys.split_first() else {
        return Ok(Some(root));
    };
    if root.get(first).is_none() {
        if !create {
            return Ok(None);
        }
        root.insert(first, Item::Table(toml_edit::Table::new()));
    }
    if root.get(first).is_some_and(Item::is_array_of_tables) {
        // `[[listener]]`: the settings pages edit the single `[listener]` form only.
        return Err(EditError::Refused(format!(
            "{path}: the file has [[{first}]] tables (several); edit them in the file's text, \
             the settings form edits a single [{first}] table"
        )));
    }
    let next = root
        .get_mut(first)
        .and_then(Item::as_table_like_mut)
        .ok_or_else(|| {
            EditError::Refused(format!(
                "{path}: {first} is a single setting, not a section"
            ))
        })?;
    descend(next, rest, path, create)
}
