//! The `[gateway]` keys of the SMTP-time checks (issue 14, seed 004 section 6): blocked address
//! characters, the per-client rate limits, recipient verification by callout, and each
//! `[[route]]`'s `verify` with its recipient list (`recipients`, `recipients_file`, read here
//! so that a missing or bad file is refused with the configuration, not found later).

use std::time::Duration;

use toml::Spanned;

use super::raw;
use super::value::{Ctx, Error};
use crate::gateway::verify::{Recipients, Verify};

/// Largest `recipients_file` read.
pub const MAX_RECIPIENTS_FILE: u64 = 64 << 20;

/// The checks' settings (`Config.gateway.checks`).
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// `gateway.blocked_address_chars`: refused in the local part of the sender and recipients.
    pub blocked_address_chars: String,
    /// `gateway.max_connection_rate` per client and window; 0: no limit.
    pub max_connection_rate: u64,
    /// `gateway.max_message_rate` (MAIL commands) per client and window; 0: no limit.
    pub max_message_rate: u64,
    pub rate_window: Duration,
    pub callout_ttl: Duration,
    pub callout_negative_ttl: Duration,
    pub callout_timeout: Duration,
    /// Entries of the callout cache; 0: no cache.
    pub callout_cache: usize,
    /// `MAIL FROM` of callouts; empty: `<>`.
    pub callout_sender: String,
    /// Each route's verification, by the route's domain as the routing list holds it
    /// (lowercase, `.corp.example` for the names below); routes not here are `Off`.
    pub verify: Vec<(String, Verify)>,
}

pub(super) fn build(
    cx: &Ctx<'_>,
    u: &raw::Gateway,
    d: &raw::Gateway,
    routes: &[Spanned<raw::Route>],
) -> Result<Checks, Error> {
    let chars = cx.pick(
        u.blocked_address_chars.clone(),
        d.blocked_address_chars.clone(),
        "gateway.blocked_address_chars",
    )?;
    let blocked_address_chars = chars.parse_with(|s| {
        if s.chars().any(|c| c.is_whitespace() || c == ',' || c == '@') {
            Err(format!(
                "{s:?}: list the characters with nothing between them (\"!%\"); spaces, commas and @ cannot be blocked"
            ))
        } else {
            Ok(s.clone())
        }
    })?;
    let rate = |u: &raw::V<u64>, d: &raw::V<u64>, key| -> Result<u64, Error> {
        cx.pick(u.clone(), d.clone(), key)?.range(0, 1_000_000)
    };
    let dur = |u: &raw::V<String>, d: &raw::V<String>, key| -> Result<Duration, Error> {
        cx.pick(u.clone(), d.clone(), key)?.duration()
    };
    let sender = cx.pick(
        u.callout_sender.clone(),
        d.callout_sender.clone(),
        "gateway.callout_sender",
    )?;
    let callout_sender = sender.parse_with(|s| {
        let s = s.trim();
        let ok = s.is_empty()
            || (s
                .rsplit_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty())
                && !s.contains(|c: char| c.is_whitespace() || c.is_control() || "<>".contains(c)));
        match ok {
            true => Ok(s.to_string()),
            false => Err(format!(
                "{s:?} is not a sender: an address (verify@corp.example), or empty for <>"
            )),
        }
    })?;
    let mut verify = Vec::new();
    for table in routes {
        let t = table.get_ref();
        let Some(domain) = &t.domain else { continue };
        if let Some(v) = route_verify(cx, t, table.clone())? {
            let key = domain
                .get_ref()
                .trim()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            verify.push((key, v));
        }
    }
    Ok(Checks {
        blocked_address_chars,
        max_connection_rate: rate(
            &u.max_connection_rate,
            &d.max_connection_rate,
            "gateway.max_connection_rate",
        )?,
        max_message_rate: rate(
            &u.max_message_rate,
            &d.max_message_rate,
            "gateway.max_message_rate",
        )?,
        rate_window: dur(&u.rate_window, &d.rate_window, "gateway.rate_window")?,
        callout_ttl: dur(&u.callout_ttl, &d.callout_ttl, "gateway.callout_ttl")?,
        callout_negative_ttl: dur(
            &u.callout_negative_ttl,
            &d.callout_negative_ttl,
            "gateway.callout_negative_ttl",
        )?,
        callout_timeout: dur(
            &u.callout_timeout,
            &d.callout_timeout,
            "gateway.callout_timeout",
        )?,
        callout_cache: cx
            .pick(
                u.callout_cache.clone(),
                d.callout_cache.clone(),
                "gateway.callout_cache",
            )?
            .range(0, 10_000_000)? as usize,
        callout_sender,
        verify,
    })
}

/// One route's `verify`, `recipients` and `recipients_file`; `None` for `"off"`.
fn route_verify(
    cx: &Ctx<'_>,
    t: &raw::Route,
    whole: Spanned<raw::Route>,
) -> Result<Option<Verify>, Error> {
    let mode = match t.verify.clone() {
        Some(v) => cx
            .user(v)
            .choice(&[("off", 0u8), ("list", 1), ("callout", 2)])?,
        None => 0,
    };
    let has_list = t.recipients.is_some() || t.recipients_file.is_some();
    let whole = cx.user(whole);
    match mode {
        0 | 2 if has_list => {
            Err(whole.error("recipients and recipients_file go with verify = \"list\""))
        }
        0 => Ok(None),
        2 => Ok(Some(Verify::Callout)),
        _ => {
            let mut list = Recipients::default();
            for item in t
                .recipients
                .clone()
                .map(|v| cx.user(v).items())
                .unwrap_or_default()
            {
                let entry = item.value().clone();
                list.add(&entry).map_err(|m| item.error(&m))?;
            }
            if let Some(file) = t.recipients_file.clone() {
                let file = cx.user(file);
                let path = std::path::PathBuf::from(file.value());
                let text = crate::file::read(&path, MAX_RECIPIENTS_FILE)
                    .map_err(|e| file.error(&format!("recipients_file {}: {e}", path.display())))?;
                let text = String::from_utf8_lossy(&text);
                list.add_lines(&text)
                    .map_err(|e| file.error(&format!("recipients_file {}: {e}", path.display())))?;
            }
            if list.is_empty() {
                return Err(whole.error(
                    "verify = \"list\" needs recipients or a recipients_file that lists some (with none, every recipient would be refused)",
                ));
            }
            Ok(Some(Verify::List(list)))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::gateway::verify::Verify;

    fn load(text: &str) -> Result<Config, String> {
        Config::parse(text, "sluice.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_settings_load() {
        let c = load("").unwrap().gateway.checks;
        assert_eq!(c.blocked_address_chars, "!%");
        assert_eq!((c.max_connection_rate, c.max_message_rate), (0, 0));
        assert_eq!(c.rate_window.as_secs(), 60);
        assert_eq!(c.callout_ttl.as_secs(), 86_400);
        assert_eq!(c.callout_negative_ttl.as_secs(), 3_600);
        assert_eq!(c.callout_timeout.as_secs(), 30);
        assert_eq!(c.callout_cache, 100_000);
        assert_eq!(c.callout_sender, "");
        assert!(c.verify.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("users.txt");
        std::fs::write(&file, "bob@corp.example\n@branch.corp.example\n").unwrap();
        let c = load(&format!(
            "[gateway]\nblocked_address_chars = \"\"\nmax_connection_rate = 5\nrate_window = \"10m\"\ncallout_sender = \"probe@corp.example\"\n\n[[route]]\ndomain = \"Corp.Example\"\nverify = \"list\"\nrecipients = [\"alice@corp.example\"]\nrecipients_file = \"{}\"\n\n[[route]]\ndomain = \".corp.example\"\nverify = \"callout\"\n\n[[route]]\ndomain = \"other.example\"\n",
            file.display()
        ))
        .unwrap()
        .gateway
        .checks;
        assert_eq!(c.blocked_address_chars, "");
        assert_eq!(c.max_connection_rate, 5);
        assert_eq!(c.rate_window.as_secs(), 600);
        assert_eq!(c.callout_sender, "probe@corp.example");
        assert_eq!(c.verify.len(), 2);
        let (domain, Verify::List(list)) = &c.verify[0] else {
            panic!("{:?}", c.verify)
        };
        assert_eq!(domain, "corp.example");
        assert!(list.knows("Alice@corp.example") && list.knows("bob@corp.example"));
        assert!(list.knows("x@branch.corp.example") && !list.knows("eve@corp.example"));
        assert_eq!(c.verify[1], (".corp.example".to_string(), Verify::Callout));
    }

    #[test]
    fn mistakes_say_where() {
        for (text, says) in [
            (
                "[gateway]\nblocked_address_chars = \"!, %\"\n",
                "nothing between them",
            ),
            ("[gateway]\nrate_window = \"0s\"\n", "greater than zero"),
            ("[gateway]\ncallout_sender = \"<>\"\n", "not a sender"),
            (
                "[[route]]\ndomain = \"corp.example\"\nverify = \"ldap\"\n",
                "unknown value",
            ),
            (
                "[[route]]\ndomain = \"corp.example\"\nverify = \"list\"\n",
                "needs recipients",
            ),
            (
                "[[route]]\ndomain = \"corp.example\"\nrecipients = [\"a@corp.example\"]\n",
                "go with verify",
            ),
            (
                "[[route]]\ndomain = \"corp.example\"\nverify = \"list\"\nrecipients = [\"nobody\"]\n",
                "not a recipient",
            ),
            (
                "[[route]]\ndomain = \"corp.example\"\nverify = \"list\"\nrecipients_file = \"/nonexistent/users.txt\"\n",
                "recipients_file /nonexistent/users.txt",
            ),
        ] {
            let e = load(text).unwrap_err();
            assert!(
                e.contains(says) && e.contains("sluice.toml:"),
                "{text}: {e}"
            );
        }
    }
}
