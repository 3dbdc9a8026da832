//! The swap point of live reload: a [`Runtime`] is everything built from the configuration file
//! (the validated `Config`; the session set with the compiled policies, scanner, definitions and EDM
//! indexes inside its inspector, the next hops, the limits and the STARTTLS server config; one per
//! listener), and
//! [`Swap`] holds the current one behind `arc-swap`. Sessions read it through
//! [`crate::session::Current`]: a new session takes the current set, a session takes it again only
//! between transactions, so a message is judged and relayed wholly by the set it started with.
//! [`Swap::replace`] is the one way to change it (`sluice reload`, SIGHUP, and later the admin UI's
//! settings pages and definition updates, all through `app::reload`).

pub mod changes;

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::Config;
use crate::config::record::Record;
use crate::session::Shared;

pub use changes::Changes;

/// Everything built from one reading of the configuration file; never changed once built.
pub struct Runtime {
    pub config: Arc<Config>,
    /// What the first listener's sessions use (settings, limits, TLS, inspector, relay).
    pub session: Arc<Shared>,
    /// Every listener's session set, in the configuration's order (the first is `session`).
    pub listeners: Vec<Arc<Shared>>,
    /// The configuration file's text (`None`: the embedded defaults), to compare with the next one.
    pub text: Option<String>,
    /// `<data_dir>/server-config`: where this set came from (rewritten when it is swapped in).
    pub record: Record,
    pub digest: Digest,
}

/// Short digests (12 hex digits of BLAKE3) of the effective configuration and of the policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub config: String,
    pub policies: String,
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "config {} policies {}", self.config, self.policies)
    }
}

fn short(h: &blake3::Hasher) -> String {
    h.finalize().to_hex()[..12].to_string()
}

impl Digest {
    /// The effective settings as `check-config` shows them plus the hash of the bytes loaded
    /// (the record's); the policies as loaded: their source, their summary lines, their tables
    /// as written (or the built-in set's text) and the EDM index files they name (size, time).
    pub fn of(config: &Config, text: Option<&str>, record: &Record) -> Digest {
        let summary = crate::config::show::summary(config);
        let mut c = blake3::Hasher::new();
        c.update(summary.as_bytes());
        c.update(record.blake3.as_bytes());
        let mut p = blake3::Hasher::new();
        p.update(config.policy_source.to_string().as_bytes());
        if let Some(at) = summary.find("\npolicies: ") {
            p.update(&summary.as_bytes()[at..]);
        }
        let written = text
            .and_then(|t| toml::from_str::<toml::Table>(t).ok())
            .and_then(|t| t.get("policy").map(|v| v.to_string()));
        match written {
            Some(w) => p.update(w.as_bytes()),
            None => p.update(crate::config::BUILTIN_POLICIES.as_bytes()),
        };
        // The EDM indexes the policies name, by their files' size and time (re-imported: new).
        for (_, d) in config.policies.registry().iter() {
            if let crate::detect::Detector::Edm { index, .. } = d {
                let path = crate::detect::edm::file::index_path(&config.server.data_dir, index);
                let stamp = std::fs::metadata(&path).ok().map(|m| {
                    let time = m
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_nanos());
                    format!("{index}:{}:{time}", m.len())
                });
                p.update(stamp.unwrap_or_default().as_bytes());
            }
        }
        Digest {
            config: short(&c),
            policies: short(&p),
        }
    }
}

impl Runtime {
    /// `sessions`: one session set per listener of `config`, in its order (at least one).
    pub fn new(
        config: Config,
        sessions: Vec<Shared>,
        text: Option<String>,
        record: Record,
    ) -> Runtime {
        let digest = Digest::of(&config, text.as_deref(), &record);
        let listeners: Vec<Arc<Shared>> = sessions.into_iter().map(Arc::new).collect();
        // Never empty: `config::listeners` always builds at least one listener, and `app` one
        // session set per listener.
        Runtime {
            config: Arc::new(config),
            session: listeners[0].clone(),
            listeners,
            text,
            record,
            digest,
        }
    }

    /// The session set of the listener named `name`, if the configuration has it.
    pub fn listener(&self, name: &str) -> Option<Arc<Shared>> {
        self.listeners.iter().find(|s| s.listener == name).cloned()
    }

    /// The first gateway listener's session set (the gateway's workers use it: its parts come
    /// from the configuration, the same for every gateway listener).
    pub fn gateway(&self) -> Option<Arc<Shared>> {
        self.listeners.iter().find(|s| s.gateway.is_some()).cloned()
    }

    /// The ids of the loaded policies, in order.
    pub fn policy_ids(&self) -> Vec<String> {
        self.config
            .policies
            .iter()
            .map(|p| p.id.to_string())
            .collect()
    }
}

/// What a reload did.
#[derive(Debug, Clone)]
pub struct Report {
    pub previous: Digest,
    pub digest: Digest,
    pub policies: Vec<String>,
    pub changes: Changes,
}

/// The current [`Runtime`].
pub struct Swap {
    current: ArcSwap<Runtime>,
}

impl Swap {
    pub fn new(first: Runtime) -> Swap {
        Swap {
            current: ArcSwap::from_pointee(first),
        }
    }

    /// The set in force now (a cheap reference; keep it for as long as one unit of work lasts).
    pub fn current(&self) -> Arc<Runtime> {
        self.current.load_full()
    }

    /// Makes `new` (built and validated whole by the caller) the current set: the data dir's
    /// configuration record is rewritten first (a failure leaves the old set in force), then the
    /// set is swapped in one atomic step and one line with the digests is logged. Keys that
    /// changed but need a restart are logged and returned in the report.
    pub fn replace(&self, new: Runtime) -> Result<Report, String> {
        let old = self.current();
        let data_dir = &old.config.server.data_dir;
        new.record.write(data_dir).map_err(|e| {
            format!(
                "{}: {e}",
                data_dir.join(crate::config::record::FILE).display()
            )
        })?;
        let changes = changes::between(old.text.as_deref(), new.text.as_deref());
        let report = Report {
            previous: old.digest.clone(),
            digest: new.digest.clone(),
            policies: new.policy_ids(),
            changes,
        };
        self.current.store(Arc::new(new));
        for (key, why) in &report.changes.restart {
            tracing::warn!(key, reason = %why, "changed key needs a restart (wholly or for the part named)");
        }
        tracing::info!(config_digest = %report.digest.config, policies_digest = %report.digest.policies, previous = %report.previous, policies = %report.policies.join(","), changed = %report.changes.applied.join(","), restart_needed = %report.changes.restart.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(","), "configuration reloaded");
        Ok(report)
    }
}

impl crate::session::Current for Swap {
    fn shared(&self) -> Arc<Shared> {
        self.current.load().session.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(text: &str) -> Digest {
        let config = Config::parse(text, "t.toml").unwrap();
        let record = Record {
            config: None,
            blake3: blake3::hash(text.as_bytes()).to_hex().to_string(),
            working_dir: "/".into(),
        };
        Digest::of(&config, Some(text), &record)
    }

    #[test]
    fn digests_follow_the_settings_and_the_policies_separately() {
        let policy = "[[policy]]\nid = 1\nkeywords = [\"alpha\"]\naction = \"block\"\n";
        let a = digest(policy);
        assert_eq!(a, digest(policy), "the same file, the same digests");
        assert_eq!(a.config.len(), 12);
        let other = digest(&policy.replace("alpha", "bravo"));
        assert_ne!(other.policies, a.policies);
        let settings = digest(&format!("[listener]\nmax_sessions = 7\n{policy}"));
        assert_ne!(settings.config, a.config);
        assert_eq!(settings.policies, a.policies);
    }
}
