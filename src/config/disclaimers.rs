//! `[[disclaimer]]` tables (each key not given falls back to `[disclaimer_defaults]`): a
//! disclaimer's name, the directions and sender domains whose mail gets it, its text and HTML
//! (each within `max_text` / `max_html` characters), and whether DKIM-signed mail is skipped.
//! Checked here with the place of each mistake; `rewrite::plan` chooses among them.

use toml::Spanned;

use super::raw;
use super::value::{Ctx, Error, Loc};
use crate::policy::Direction;
use crate::rewrite::Disclaimer;

/// The disclaimers in file order (the first whose direction and sender domain match applies).
pub(super) fn build(
    cx: &Ctx<'_>,
    list: Option<Vec<Spanned<raw::Disclaimer>>>,
    (user, def): (
        Option<raw::DisclaimerDefaults>,
        Option<raw::DisclaimerDefaults>,
    ),
) -> Result<Vec<Disclaimer>, Error> {
    let (ud, dd) = (user.unwrap_or_default(), def.unwrap_or_default());
    let max_text = cx
        .pick(
            ud.max_text.clone(),
            dd.max_text.clone(),
            "disclaimer_defaults.max_text",
        )?
        .range(1, 100_000)? as usize;
    let max_html = cx
        .pick(
            ud.max_html.clone(),
            dd.max_html.clone(),
            "disclaimer_defaults.max_html",
        )?
        .range(1, 100_000)? as usize;
    let mut out: Vec<Disclaimer> = Vec::new();
    for table in list.unwrap_or_default() {
        let whole = cx.user(table);
        let r = whole.value().clone();
        let name = r.name.clone().ok_or_else(|| {
            whole.error("a [[disclaimer]] needs a `name` (1 to 32 of a-z, 0-9 and -)")
        })?;
        let name = cx.user(name).parse_with(|n| check_name(n))?;
        if out.iter().any(|d| d.name == name) {
            return Err(whole.error(&format!("disclaimer name {name:?} is used twice")));
        }
        let direction = match r.direction.clone() {
            Some(v) => cx.user(v),
            None => cx.pick(
                ud.direction.clone(),
                dd.direction.clone(),
                "disclaimer_defaults.direction",
            )?,
        };
        let directions = directions(direction)?;
        let mut sender_domains = Vec::new();
        for d in r
            .sender_domains
            .clone()
            .map(|v| cx.user(v).items())
            .unwrap_or_default()
        {
            sender_domains.push(d.parse_with(|s| sender_domain(s))?);
        }
        let text = r.text.clone().ok_or_else(|| {
            whole.error(&format!(
                "disclaimer {name:?} needs a `text` (the HTML is optional)"
            ))
        })?;
        let text = limited(cx.user(text), max_text, "max_text")?;
        let html = match r.html.clone() {
            Some(h) => Some(limited(cx.user(h), max_html, "max_html")?),
            None => None,
        };
        let skip_dkim_signed = match r.skip_dkim_signed.clone() {
            Some(v) => v.into_inner(),
            None => *cx
                .pick(
                    ud.skip_dkim_signed.clone(),
                    dd.skip_dkim_signed.clone(),
                    "disclaimer_defaults.skip_dkim_signed",
                )?
                .value(),
        };
        out.push(Disclaimer {
            name,
            directions,
            sender_domains,
            text,
            html,
            skip_dkim_signed,
        });
    }
    Ok(out)
}

/// A name: 1 to 32 of `a-z`, `0-9` and `-` (it is the value of the marker field).
fn check_name(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "{s:?} is not a disclaimer name: 1 to 32 of a-z, 0-9 and -"
        ))
    }
}

fn directions(v: Loc<'_, Vec<Spanned<String>>>) -> Result<Vec<Direction>, Error> {
    if v.value().is_empty() {
        return Err(v.error(
            "a disclaimer needs at least one direction: \"outbound\", \"inbound\" or \"internal\"",
        ));
    }
    let mut out = Vec::new();
    for item in v.items() {
        let d = item.parse_with(|s| {
            Direction::parse(s).ok_or_else(|| {
                format!(
                    "unknown direction {s:?}: expected \"outbound\", \"inbound\" or \"internal\""
                )
            })
        })?;
        if !out.contains(&d) {
            out.push(d);
        }
    }
    Ok(out)
}

/// `corp.example`, or `.corp.example` for the domains below it.
fn sender_domain(s: &str) -> Result<String, String> {
    match s.strip_prefix('.') {
        Some(rest) => super::parse_domain(rest).map(|d| format!(".{d}")),
        None => super::parse_domain(s),
    }
}

/// A text within `max` characters, with no control character but line breaks and tabs.
fn limited(v: Loc<'_, String>, max: usize, key: &str) -> Result<String, Error> {
    v.parse_with(|s| {
        let n = s.chars().count();
        if s.trim().is_empty() {
            Err("a disclaimer text cannot be empty".to_string())
        } else if n > max {
            Err(format!(
                "{n} characters: at most {max} (disclaimer_defaults.{key})"
            ))
        } else if s
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            Err("a disclaimer holds no control characters but line breaks and tabs".to_string())
        } else {
            Ok(s.clone())
        }
    })
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::policy::Direction;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, "t.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn disclaimers_are_read_with_their_defaults() {
        let c = parse(
            "[[disclaimer]]\nname = \"legal\"\ntext = \"Confidential.\"\n\n[[disclaimer]]\nname = \"eu\"\ndirection = [\"outbound\", \"internal\"]\nsender_domains = [\".eu.corp.example\"]\ntext = \"EU\"\nhtml = \"<p>EU</p>\"\nskip_dkim_signed = false\n",
        )
        .unwrap();
        let d = &c.disclaimers;
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].directions, [Direction::Outbound]);
        assert!(d[0].skip_dkim_signed && d[0].html.is_none());
        assert_eq!(d[1].sender_domains, [".eu.corp.example"]);
        assert_eq!(d[1].directions, [Direction::Outbound, Direction::Internal]);
        assert!(!d[1].skip_dkim_signed);
        assert!(parse("").unwrap().disclaimers.is_empty());
    }

    #[test]
    fn mistakes_are_refused_at_their_place() {
        let long = "x".repeat(1001);
        for (text, want) in [
            (
                "[[disclaimer]]\ntext = \"x\"\n",
                "t.toml:1:1: a [[disclaimer]] needs a `name`",
            ),
            (
                "[[disclaimer]]\nname = \"Legal\"\ntext = \"x\"\n",
                "t.toml:2:8:",
            ),
            ("[[disclaimer]]\nname = \"a\"\n", "needs a `text`"),
            (
                "[[disclaimer]]\nname = \"a\"\ntext = \"x\"\ndirection = [\"out\"]\n",
                "t.toml:4:14: unknown direction",
            ),
            (
                &format!("[[disclaimer]]\nname = \"a\"\ntext = \"{long}\"\n"),
                "t.toml:3:8: 1001 characters: at most 1000",
            ),
            (
                "[[disclaimer]]\nname = \"a\"\ntext = \"x\"\nsender_domains = [\"a b\"]\n",
                "t.toml:4:19:",
            ),
            (
                "[[disclaimer]]\nname = \"a\"\ntext = \"x\"\n[[disclaimer]]\nname = \"a\"\ntext = \"y\"\n",
                "used twice",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
