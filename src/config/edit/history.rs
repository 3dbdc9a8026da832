//! The configuration's versions, `<data_dir>/config-history/`: every applied change is one
//! numbered version, `N.json` (who, when, what, which file), `N.before.toml` (the file before) and
//! `N.toml` (the file after); the oldest are removed past `admin.config_history` versions.
//! [`diff`] compares two texts line by line (unified, 3 lines of context).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::EditError;
use super::apply::write;

/// The history's folder in the data dir.
pub const DIR: &str = "config-history";

/// Largest version file read back.
const MAX_TEXT: u64 = crate::file::MAX_CONFIG;

/// One applied change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub number: u64,
    #[serde(flatten)]
    pub meta: Meta,
}

/// Who changed what, when, in which file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub by: String,
    /// Unix seconds.
    pub at: u64,
    /// One line per operation.
    pub what: Vec<String>,
    pub file: PathBuf,
}

/// The versions kept in one data dir.
pub struct History {
    dir: PathBuf,
}

fn io(path: &Path, e: impl std::fmt::Display) -> EditError {
    EditError::Io(format!("{}: {e}", path.display()))
}

impl History {
    pub fn at(data_dir: &Path) -> History {
        History {
            dir: data_dir.join(DIR),
        }
    }

    fn path(&self, n: u64, suffix: &str) -> PathBuf {
        self.dir.join(format!("{n:06}{suffix}"))
    }

    /// The versions, newest first (none when nothing was ever changed here).
    pub fn list(&self) -> Result<Vec<Version>, EditError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.dir, e)),
        };
        let mut numbers: Vec<u64> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                name.strip_suffix(".json")?.parse().ok()
            })
            .collect();
        numbers.sort_unstable_by(|a, b| b.cmp(a));
        numbers.into_iter().map(|n| self.version(n)).collect()
    }

    /// Version `n`'s record.
    pub fn version(&self, n: u64) -> Result<Version, EditError> {
        let path = self.path(n, ".json");
        let bytes = crate::file::read(&path, 1 << 20).map_err(|e| missing(n, &path, e))?;
        let meta: Meta = serde_json::from_slice(&bytes).map_err(|e| io(&path, e))?;
        Ok(Version { number: n, meta })
    }

    /// The file as version `n` left it.
    pub fn text(&self, n: u64) -> Result<String, EditError> {
        self.read_text(n, ".toml")
    }

    /// The file as it was before version `n`.
    pub fn before(&self, n: u64) -> Result<String, EditError> {
        self.read_text(n, ".before.toml")
    }

    fn read_text(&self, n: u64, suffix: &str) -> Result<String, EditError> {
        let path = self.path(n, suffix);
        let bytes = crate::file::read(&path, MAX_TEXT).map_err(|e| missing(n, &path, e))?;
        String::from_utf8(bytes).map_err(|_| io(&path, "not UTF-8"))
    }

    /// Records a change as the next version (the texts first, its record last: a version
    /// without its record is not listed) and removes the oldest beyond `keep`.
    pub fn record(
        &self,
        before: &str,
        after: &str,
        meta: &Meta,
        keep: usize,
    ) -> Result<u64, EditError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        let n = self.list()?.first().map_or(1, |v| v.number + 1);
        write(&self.path(n, ".before.toml"), before.as_bytes(), None)?;
        write(&self.path(n, ".toml"), after.as_bytes(), None)?;
        let json = serde_json::to_vec_pretty(meta).map_err(|e| io(&self.dir, e))?;
        write(&self.path(n, ".json"), &json, None)?;
        for old in self.list()?.iter().skip(keep.max(1)) {
            for suffix in [".json", ".toml", ".before.toml"] {
                let _ = std::fs::remove_file(self.path(old.number, suffix));
            }
        }
        Ok(n)
    }
}

fn missing(n: u64, path: &Path, e: std::io::Error) -> EditError {
    match e.kind() {
        std::io::ErrorKind::NotFound => EditError::Refused(format!("there is no version {n}")),
        _ => io(path, e),
    }
}

/// What a diff line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffTag {
    /// `@@ -a,b +c,d @@`: where the next lines are.
    Hunk,
    Same,
    Removed,
    Added,
}

/// One line of a unified diff (without its newline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiffLine {
    pub tag: DiffTag,
    pub text: String,
}

impl std::fmt::Display for DiffLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = match self.tag {
            DiffTag::Hunk => "",
            DiffTag::Same => " ",
            DiffTag::Removed => "-",
            DiffTag::Added => "+",
        };
        write!(f, "{sign}{}", self.text)
    }
}

/// The unified diff from `old` to `new` (3 lines of context); empty when they are equal.
pub fn diff(old: &str, new: &str) -> Vec<DiffLine> {
    let d = similar::TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    for hunk in d.unified_diff().context_radius(3).iter_hunks() {
        out.push(DiffLine {
            tag: DiffTag::Hunk,
            text: hunk.header().to_string(),
        });
        for change in hunk.iter_changes() {
            let tag = match change.tag() {
                similar::ChangeTag::Equal => DiffTag::Same,
                similar::ChangeTag::Delete => DiffTag::Removed,
                similar::ChangeTag::Insert => DiffTag::Added,
            };
            out.push(DiffLine {
                tag,
                text: change.value().trim_end_matches(['\n', '\r']).to_string(),
            });
        }
    }
    out
}
