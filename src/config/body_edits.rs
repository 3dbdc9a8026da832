//! A Modify policy's changes to the message body: `strip_attachments` ("matched": the
//! attachments its evidence is in, or "all"), `replace_attachments` (a notice text each removed
//! attachment is replaced with) and `disclaimer` (the name of a `[[disclaimer]]`).

use std::sync::Arc;

use super::raw;
use super::value::{Ctx, Error};
use crate::policy::BodyAction;
use crate::rewrite::Disclaimer;

/// Longest `replace_attachments` notice, in characters (fixed, as the seed's 1000-character
/// inserted texts).
pub(super) const MAX_NOTICE: usize = 1000;

/// The body actions of a policy; `modify` says whether its action is "modify" (the only one they
/// go with: other actions leave them unread).
pub(super) fn build(
    cx: &Ctx<'_>,
    raw: &raw::Policy,
    modify: bool,
    disclaimers: &[Disclaimer],
) -> Result<Vec<BodyAction>, Error> {
    let strip = raw.strip_attachments.clone().map(|v| cx.user(v));
    let notice = raw.replace_attachments.clone().map(|v| cx.user(v));
    let named = raw.disclaimer.clone().map(|v| cx.user(v));
    // Like `subject` and `headers`, they mean nothing for other actions.
    if !modify {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let all = match strip {
        Some(s) => Some(s.choice(&[("matched", false), ("all", true)])?),
        None => None,
    };
    let notice = match notice {
        Some(n) => Some(n.parse_with(|s| check_notice(s))?),
        None => None,
    };
    if all.is_some() || notice.is_some() {
        out.push(BodyAction::Strip {
            all: all.unwrap_or(false),
            notice,
        });
    }
    if let Some(n) = named {
        let d = n.parse_with(|name| {
            disclaimers
                .iter()
                .find(|d| &d.name == name)
                .cloned()
                .ok_or_else(|| format!("no [[disclaimer]] is named {name:?}"))
        })?;
        out.push(BodyAction::Disclaimer(Arc::new(d)));
    }
    Ok(out)
}

fn check_notice(s: &str) -> Result<String, String> {
    let n = s.chars().count();
    if s.trim().is_empty() {
        Err("a notice text cannot be empty".to_string())
    } else if n > MAX_NOTICE {
        Err(format!(
            "{n} characters: a notice holds at most {MAX_NOTICE}"
        ))
    } else if s
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        Err("a notice holds no control characters but line breaks and tabs".to_string())
    } else {
        Ok(s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::policy::{Action, BodyAction};

    const RULE: &str = "[[policy.rule]]\nconditions = [{ file_type = [\"pdf\"] }]\n";

    fn body(keys: &str) -> Result<Vec<BodyAction>, String> {
        let text = format!(
            "[[disclaimer]]\nname = \"legal\"\ntext = \"Confidential\"\n\n[[policy]]\nid = 1\naction = \"modify\"\n{keys}\n{RULE}"
        );
        let c = Config::parse(&text, "t.toml").map_err(|e| e.to_string())?;
        let p = c.policies.iter().next().unwrap();
        match &p.action {
            Action::Modify { body, .. } => Ok(body.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn body_actions_are_read() {
        assert_eq!(
            body("strip_attachments = \"all\"").unwrap(),
            [BodyAction::Strip {
                all: true,
                notice: None
            }]
        );
        let b =
            body("replace_attachments = \"Removed by policy.\"\ndisclaimer = \"legal\"").unwrap();
        assert_eq!(
            b[0],
            BodyAction::Strip {
                all: false,
                notice: Some("Removed by policy.".into())
            }
        );
        assert!(matches!(&b[1], BodyAction::Disclaimer(d) if d.name == "legal"));
        let e = body("strip_attachments = \"some\"").unwrap_err();
        assert!(e.contains("t.toml:8:21"), "{e}");
        let e = body(&format!("replace_attachments = \"{}\"", "x".repeat(1001))).unwrap_err();
        assert!(e.contains("at most 1000"), "{e}");
        let e = body("disclaimer = \"nope\"").unwrap_err();
        assert!(
            e.contains("t.toml:8:14: no [[disclaimer]] is named \"nope\""),
            "{e}"
        );
    }
}
