//! What a reload changes, key by key: the old and the new configuration file compared as TOML (every
//! key as written, so nothing the file says is missed), and each changed key sorted into "now" or
//! "at the next restart". Listeners (`[listener]` keys, or the `[[listener]]` tables as one value)
//! all apply at once: `app::listeners` adds, moves and removes them. Pure: two texts in, lists out.

use std::collections::BTreeMap;

/// Keys (and whole sections, ending in `.`) read once at start by the process-wide parts: the data
/// dir, the executor, the store and what the keeper, the approval desk, the delivery queue's
/// schedule, the alerts' recipients and the admin listener were built with. (Next hops are not
/// among them: the proxy, the delivery queue and the alerts all take a reload's new `Relay`.) A change to one is named in the reload's answer
/// and logged; it takes effect at the next restart.
const RESTART: &[(&str, &str)] = &[
    ("server.data_dir", "the data dir is opened once"),
    ("server.threads", "the executor threads are started once"),
    (
        "relay.dead_host_retry",
        "the next-hop status cache is built once",
    ),
    ("store.", "the store is opened once"),
    ("quarantine.", "the keeper is built once"),
    ("incidents.", "the keeper is built once"),
    (
        "events.",
        "the outbox's bounds are recorded when the store is opened",
    ),
    (
        "approval.",
        "the keeper and the approval desk are built once",
    ),
    ("notifications.", "the keeper and the alerts are built once"),
    ("queue.", "the delivery queue is built once"),
    ("admin.enabled", "the admin listener is bound once"),
    ("admin.address", "the admin listener is bound once"),
    (
        "admin.max_connections",
        "the admin listener's connection limits are set once",
    ),
    (
        "admin.max_connections_per_client",
        "the admin listener's connection limits are set once",
    ),
    (
        "admin.public_url",
        "the links in notices are made by the keeper, built once",
    ),
];

/// Keys inside a restart section that are read afresh each time they are used, so they apply at once.
const NOW: &[&str] = &["admin.config_history"];

/// Keys the reload applies to the proxy while a process-wide part keeps the old value until the
/// next restart: named in both lists, so that nothing is silently half-applied.
const PARTLY: &[(&str, &str)] = &[
    (
        "server.hostname",
        "the proxy uses it now; the delivery queue's reports at the next restart",
    ),
    (
        "decomposition.",
        "inspection uses it now; the approval pages' preview at the next restart",
    ),
];

/// Why a change to `key` waits for a restart (wholly or for a part named), if it does: what the
/// settings pages say beside the key.
pub fn restart_reason(key: &str) -> Option<&'static str> {
    if NOW.contains(&key) {
        return None;
    }
    RESTART
        .iter()
        .chain(PARTLY)
        .find(|(k, _)| under(key, k))
        .map(|(_, why)| *why)
}

/// Whether `key` is `pattern` or lies in the section `pattern` (ending in `.`).
fn under(key: &str, pattern: &str) -> bool {
    key == pattern || (pattern.ends_with('.') && key.starts_with(pattern))
}

/// What changed between two configuration files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Changed keys that the reload applied (`listener.address`, `policy`, ...).
    pub applied: Vec<String>,
    /// Changed keys that need a restart (wholly, or for a part named in the reason), each with
    /// the reason.
    pub restart: Vec<(String, String)>,
}

/// Compares two configuration files (`None`: the embedded defaults, i.e. an empty file) by the
/// values in force: each file over the embedded defaults, so a file that writes a default out (the
/// admin UI's first save copies the whole of `assets/sluice.toml`) changes nothing by doing so. A
/// text that does not parse counts as empty (the new one was validated before this is called).
pub fn between(old: Option<&str>, new: Option<&str>) -> Changes {
    let (old, new) = (flatten(old), flatten(new));
    let mut changes = Changes::default();
    let keys: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for key in keys {
        if old.get(key) == new.get(key) {
            continue;
        }
        if let Some((_, why)) = RESTART
            .iter()
            .find(|(k, _)| under(key, k) && !NOW.contains(&key.as_str()))
        {
            changes.restart.push((key.clone(), (*why).to_string()));
            continue;
        }
        changes.applied.push(key.clone());
        if let Some((_, why)) = PARTLY.iter().find(|(k, _)| under(key, k)) {
            changes.restart.push((key.clone(), (*why).to_string()));
        }
    }
    changes
}

/// Every leaf key of a TOML text as `section.key`; arrays (of tables too, like `[[policy]]`)
/// are one value each.
fn flatten(text: Option<&str>) -> BTreeMap<String, toml::Value> {
    let mut out = BTreeMap::new();
    for t in [Some(crate::config::DEFAULT_TOML), text]
        .into_iter()
        .flatten()
    {
        if let Ok(table) = toml::from_str::<toml::Table>(t) {
            walk("", &table, &mut out);
        }
    }
    out
}

fn walk(prefix: &str, table: &toml::Table, out: &mut BTreeMap<String, toml::Value>) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => walk(&key, t, out),
            other => {
                out.insert(key, other.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_keys_are_sorted_into_applied_and_restart() {
        let old = "[listener]\naddress = \"127.0.0.1:25\"\n[store]\nmax_size = \"1 GiB\"\n[[policy]]\nid = \"a\"\n";
        let new = "[listener]\naddress = \"127.0.0.1:26\"\n[store]\nmax_size = \"2 GiB\"\n[server]\ndata_dir = \"/x\"\n[[policy]]\nid = \"b\"\n";
        let c = between(Some(old), Some(new));
        assert_eq!(c.applied, vec!["listener.address", "policy"]);
        let restart: Vec<&str> = c.restart.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(restart, vec!["server.data_dir", "store.max_size"]);
    }

    #[test]
    fn the_same_file_changes_nothing_and_nested_tables_are_keys() {
        let text = "[relay]\nhosts = [\"a:25\"]\n[relay.pass_header]\nname = \"X\"\n";
        assert_eq!(between(Some(text), Some(text)), Changes::default());
        let c = between(None, Some(text));
        assert_eq!(c.applied, vec!["relay.hosts", "relay.pass_header.name"]);
        // Next hops apply everywhere at once: the proxy, the queue and the alerts.
        assert!(c.restart.is_empty(), "{:?}", c.restart);
        // A new certificate applies to STARTTLS and the admin port at once.
        let c = between(None, Some("[tls]\ncert_file = \"/a.pem\"\n"));
        assert_eq!(c.applied, vec!["tls.cert_file"]);
        assert!(c.restart.is_empty(), "{:?}", c.restart);
        // The admin port's access rules and limits apply now; its socket at the next restart.
        let c = between(
            None,
            Some("[admin]\nallowed_clients = []\nmax_body = 2048\naddress = \"[::]:1\"\n"),
        );
        assert_eq!(c.applied, vec!["admin.allowed_clients", "admin.max_body"]);
        let restart: Vec<&str> = c.restart.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(restart, vec!["admin.address"]);
        let c = between(None, Some("[inspection]\ntime_budget = \"5s\"\n"));
        assert_eq!(c.applied, vec!["inspection.time_budget"]);
        assert!(c.restart.is_empty());
    }

    #[test]
    fn a_file_that_writes_the_defaults_out_changes_nothing() {
        let c = between(None, Some(crate::config::DEFAULT_TOML));
        assert_eq!(c, Changes::default());
        let edited = crate::config::DEFAULT_TOML.replace("max_sessions = 1000", "max_sessions = 7");
        let c = between(None, Some(&edited));
        assert_eq!(c.applied, vec!["listener.max_sessions"]);
        assert!(c.restart.is_empty(), "{:?}", c.restart);
        // The history's bound is read at each save: no restart.
        let c = between(None, Some("[admin]\nconfig_history = 5\n"));
        assert_eq!(c.applied, vec!["admin.config_history"]);
        assert!(c.restart.is_empty(), "{:?}", c.restart);
    }

    #[test]
    fn listeners_added_or_removed_apply_at_once() {
        let one = "[[listener]]\nname = \"a\"\naddress = \"127.0.0.1:1\"\n";
        let two = format!("{one}[[listener]]\nname = \"b\"\naddress = \"127.0.0.1:2\"\n");
        let c = between(Some(one), Some(&two));
        assert_eq!(c.applied, vec!["listener"]);
        assert!(c.restart.is_empty(), "{:?}", c.restart);
        let c = between(Some(&two), Some("[listener]\naddress = \"127.0.0.1:3\"\n"));
        assert!(c.applied.contains(&"listener.address".to_string()), "{c:?}");
        assert!(c.restart.is_empty(), "{:?}", c.restart);
    }

    #[test]
    fn a_restart_section_matches_by_prefix_only_at_a_dot() {
        let c = between(
            Some("[queue]\nretry = [\"1m\"]\n"),
            Some("[queues]\nx = 1\n"),
        );
        let restart: Vec<&str> = c.restart.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(restart, vec!["queue.retry"]);
        assert_eq!(c.applied, vec!["queues.x"]);
    }
}
