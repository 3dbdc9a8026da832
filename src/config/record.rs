//! The server's configuration record, `<data_dir>/server-config` (written at start and rewritten by
//! each reload): which configuration `sluice serve` loaded (the absolute path of the file, or the embedded defaults), a BLAKE3 of the bytes it
//! loaded, and the directory it ran in. The store commands (`sluice quarantine|incident|backup|
//! restore`) on that data dir judge and act with the same configuration; [`Record::choose`] decides
//! which one they use and refuses a mismatch with a message that says what differs and what to do.
//!
//! A data dir no server ever recorded (a server older than the record, or a store made by
//! `restore`) keeps the old rule: `--config` if given, else the embedded defaults, and
//! [`Choice::recorded`] is false so a command that judges can say so. The read-only and recovery
//! commands (list, show, backup, restore) go on with that rule, with a warning, when the record
//! cannot be used (see `console`); the commands that judge or act refuse.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{BUILTIN_POLICIES, Config, DEFAULT_TOML};

/// The record's file name in the data dir.
pub const FILE: &str = "server-config";

/// Largest record read (it is a few lines).
const MAX_BYTES: u64 = 64 * 1024;

/// What the record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The configuration file, absolute; `None`: the embedded defaults.
    pub config: Option<PathBuf>,
    /// BLAKE3 (hex) of the bytes loaded (of the embedded defaults when `config` is `None`), taken
    /// with the build's embedded defaults and built-in policies (`hash`).
    pub blake3: String,
    /// The server's working directory, against which relative paths in the config are resolved.
    pub working_dir: PathBuf,
}

/// The configuration a store command uses, and whether a server recorded it.
#[derive(Debug)]
pub struct Choice {
    pub config: Config,
    /// The data dir the record was looked for in (the one the command works on).
    pub data_dir: PathBuf,
    /// A server recorded its configuration in this data dir (and this is it).
    pub recorded: bool,
}

/// BLAKE3 of the file's bytes together with what they are read over, this build's embedded
/// defaults and built-in policy set: a server and a command that would judge differently never
/// pass for the same configuration.
fn hash(bytes: &[u8]) -> String {
    let mut h = blake3::Hasher::new();
    for part in [bytes, DEFAULT_TOML.as_bytes(), BUILTIN_POLICIES.as_bytes()] {
        h.update(&(part.len() as u64).to_le_bytes());
        h.update(part);
    }
    h.finalize().to_hex().to_string()
}

impl Record {
    /// The record for a server that loaded `config` (the path it was given and the bytes read),
    /// or the embedded defaults (`None`).
    pub fn new(config: Option<(&Path, &[u8])>) -> std::io::Result<Record> {
        let working_dir = std::env::current_dir()?;
        Ok(match config {
            Some((path, bytes)) => Record {
                config: Some(std::path::absolute(path)?),
                blake3: hash(bytes),
                working_dir,
            },
            None => Record {
                config: None,
                blake3: hash(DEFAULT_TOML.as_bytes()),
                working_dir,
            },
        })
    }

    /// Writes the record into `data_dir` atomically (a temporary file, fsync, rename).
    pub fn write(&self, data_dir: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let body = toml::to_string(self).map_err(std::io::Error::other)?;
        let text = format!(
            "# Written by `sluice serve` at start and at each reload: the configuration this data directory's server runs\n# with. `sluice quarantine|incident|backup|restore` use it; do not edit.\n{body}"
        );
        let tmp = data_dir.join(format!("{FILE}.tmp"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, data_dir.join(FILE))?;
        if let Ok(dir) = std::fs::File::open(data_dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }

    /// The record in `data_dir`, `None` when there is none.
    pub fn read(data_dir: &Path) -> Result<Option<Record>, String> {
        let path = data_dir.join(FILE);
        let bytes = match crate::file::read(&path, MAX_BYTES) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        let text =
            String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8", path.display()))?;
        toml::from_str(&text).map(Some).map_err(|e| {
            format!(
                "{}: {}; start `sluice serve` again to rewrite it",
                path.display(),
                e.message()
            )
        })
    }

    /// The configuration a store command uses: `given` is its `--config`, `data_dir` its
    /// `--data-dir`. The data dir is `--data-dir`, else `server.data_dir` of `--config`, else of
    /// the embedded defaults. When the server recorded its configuration there, that one is used;
    /// a `--config` naming another file, or a recorded file whose bytes changed since the server
    /// started, is an error. Relative paths in a recorded config are resolved against the server's
    /// working directory.
    pub fn choose(given: Option<&Path>, data_dir: Option<&Path>) -> Result<Choice, String> {
        let given = match given {
            Some(p) => Some((p, Config::load_bytes(p).map_err(|e| e.to_string())?)),
            None => None,
        };
        let embedded = || Config::embedded().map_err(|e| e.to_string());
        let data_dir = match (data_dir, &given) {
            (Some(d), _) => d.to_path_buf(),
            (None, Some((_, (c, _)))) => c.server.data_dir.clone(),
            (None, None) => embedded()?.server.data_dir,
        };
        let Some(rec) = Record::read(&data_dir)? else {
            let config = match given {
                Some((_, (c, _))) => c,
                None => embedded()?,
            };
            return Ok(Choice::new(config, data_dir, false));
        };
        let at = data_dir.join(FILE);
        let restart = "run `sluice reload` (or restart `sluice serve`) so that the server and the commands use the same settings";
        let (mut config, bytes) = match (given, &rec.config) {
            (Some((path, loaded)), Some(recorded)) => {
                let abs = std::path::absolute(path).map_err(|e| e.to_string())?;
                let same = abs == *recorded
                    || std::fs::canonicalize(&abs).ok() == std::fs::canonicalize(recorded).ok();
                if !same {
                    return Err(format!(
                        "--config {} is not the configuration the server of {} runs with ({}, recorded in {} when it started): leave out --config to use the server's, or restart the server with this one",
                        path.display(),
                        data_dir.display(),
                        recorded.display(),
                        at.display()
                    ));
                }
                loaded
            }
            (Some((path, _)), None) => {
                return Err(format!(
                    "--config {}: the server of {} runs with the embedded defaults (recorded in {} when it started): leave out --config, or restart the server with --config {}",
                    path.display(),
                    data_dir.display(),
                    at.display(),
                    path.display()
                ));
            }
            (None, Some(recorded)) => Config::load_bytes(recorded).map_err(|e| {
                format!(
                    "{e} (the configuration the server of {} started with, recorded in {}): restore the file, or {restart}",
                    data_dir.display(),
                    at.display()
                )
            })?,
            (None, None) => (embedded()?, DEFAULT_TOML.as_bytes().to_vec()),
        };
        if hash(&bytes) != rec.blake3 {
            let what = rec.config.as_ref().map_or_else(
                || "the embedded defaults of this sluice build".to_string(),
                |p| p.display().to_string(),
            );
            return Err(format!(
                "{what} changed since the server of {} started with it (its BLAKE3, taken with the embedded defaults and built-in policies of the sluice build, is not the one recorded in {}): the server still runs with the old settings; {restart}, then run this again",
                data_dir.display(),
                at.display()
            ));
        }
        rebase(&mut config, &rec.working_dir);
        Ok(Choice::new(config, data_dir, true))
    }
}

impl Choice {
    /// What a data dir without a record gets: `--config`, else the embedded defaults, on
    /// `--data-dir`, else on the `server.data_dir` of that configuration. The read-only and
    /// recovery commands fall back to this when the recorded configuration cannot be used (saying
    /// so): recovering the store must not depend on a file that may be lost with it.
    pub fn unrecorded(given: Option<&Path>, data_dir: Option<&Path>) -> Result<Choice, String> {
        let config = match given {
            Some(p) => Config::load(p).map_err(|e| e.to_string())?,
            None => Config::embedded().map_err(|e| e.to_string())?,
        };
        let dir = data_dir.map_or_else(|| config.server.data_dir.clone(), Path::to_path_buf);
        Ok(Choice::new(config, dir, false))
    }

    fn new(mut config: Config, data_dir: PathBuf, recorded: bool) -> Choice {
        config.server.data_dir = data_dir.clone();
        Choice {
            config,
            data_dir,
            recorded,
        }
    }
}

/// Resolves the relative paths of `config` against `base`, as the server that ran there did.
fn rebase(config: &mut Config, base: &Path) {
    let at = |p: &mut PathBuf| {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    };
    at(&mut config.server.data_dir);
    if let Some((cert, key)) = &mut config.tls.cert_and_key {
        at(cert);
        at(key);
    }
    config.relay.trust_anchors.iter_mut().for_each(at);
    at(&mut config.dns.resolv_conf);
    if let Some(m) = &mut config.store.managers_file {
        at(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(dir: &Path, config: Option<&Path>) {
        let rec = match config {
            Some(p) => Record::new(Some((p, &std::fs::read(p).unwrap()))).unwrap(),
            None => Record::new(None).unwrap(),
        };
        rec.write(dir).unwrap();
        assert_eq!(Record::read(dir).unwrap(), Some(rec));
    }

    #[test]
    fn commands_use_the_recorded_config_and_refuse_a_mismatch() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let (a, b) = (tmp.path().join("a.toml"), tmp.path().join("b.toml"));
        std::fs::write(&a, "[queue]\ngive_up = \"2d\"\n").unwrap();
        std::fs::write(&b, "[queue]\ngive_up = \"3d\"\n").unwrap();

        // Nothing recorded: --config, else the embedded defaults.
        let c = Record::choose(Some(&b), Some(&data)).unwrap();
        assert!(!c.recorded);
        assert_eq!(c.config.queue.give_up.as_secs(), 3 * 86_400);

        server(&data, Some(&a));
        let c = Record::choose(None, Some(&data)).unwrap();
        assert!(c.recorded);
        assert_eq!(c.config.queue.give_up.as_secs(), 2 * 86_400);
        assert_eq!(c.config.server.data_dir, data);
        assert!(Record::choose(Some(&a), Some(&data)).is_ok());
        let e = Record::choose(Some(&b), Some(&data)).unwrap_err();
        assert!(
            e.contains("not the configuration the server") && e.contains("a.toml"),
            "{e}"
        );

        std::fs::write(&a, "[queue]\ngive_up = \"4d\"\n").unwrap();
        let e = Record::choose(None, Some(&data)).unwrap_err();
        assert!(
            e.contains("changed since the server") && e.contains("restart"),
            "{e}"
        );

        server(&data, None);
        assert!(Record::choose(None, Some(&data)).unwrap().recorded);
        let e = Record::choose(Some(&a), Some(&data)).unwrap_err();
        assert!(e.contains("embedded defaults"), "{e}");
    }

    #[test]
    fn relative_paths_resolve_against_the_servers_directory() {
        let mut c = Config::parse("[dns]\nresolv_conf = \"etc/resolv.conf\"\n", "t").unwrap();
        rebase(&mut c, Path::new("/srv/sluice"));
        assert_eq!(c.dns.resolv_conf, Path::new("/srv/sluice/etc/resolv.conf"));
    }
}
