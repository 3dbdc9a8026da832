//! Validation of `[notifications]` into [`notify::Settings`]: the From address, administrator
//! addresses, whether senders are notified, how much of the original is attached, and the
//! per-kind template overrides. A template with an unknown tag, or a tag its kind does not
//! allow, is refused at load with `file:line:col` pointing at that tag.

use super::raw;
use super::value::{Ctx, Error, Loc};
use crate::notify::{self, Attach, Kind, Section, Templates};

pub(super) fn build(
    cx: &Ctx<'_>,
    user: raw::Notifications,
    def: raw::Notifications,
    hostname: &str,
    at_hostname: &dyn Fn(&str) -> Error,
) -> Result<notify::Settings, Error> {
    let from = cx.pick(user.from, def.from, "notifications.from")?;
    let local = from.value().trim().to_string();
    let from = if local.contains('@') {
        from.parse_with(|_| check_address(&local).map(|()| local.clone()))?
    } else {
        // The local part is checked where it is written; what server.hostname adds, where that is.
        from.parse_with(|_| check_address(&format!("{local}@x")))?;
        let full = format!("{local}@{hostname}");
        check_address(&full)
            .map_err(|e| at_hostname(&format!("notifications.from with server.hostname: {e}")))?;
        full
    };
    let mut admin = Vec::new();
    for item in cx
        .pick(user.admin, def.admin, "notifications.admin")?
        .items()
    {
        admin.push(item.parse_with(|s| {
            let s = s.trim();
            check_address(s).map(|()| s.to_string())
        })?);
    }
    let sender_notices = cx
        .pick(
            user.sender_notices,
            def.sender_notices,
            "notifications.sender_notices",
        )?
        .take();
    let attach_original = cx
        .pick(
            user.attach_original,
            def.attach_original,
            "notifications.attach_original",
        )?
        .choice(&[
            ("headers", Attach::Headers),
            ("full", Attach::Full),
            ("none", Attach::None),
        ])?;
    let mut templates = Templates::defaults();
    let (ut, dt) = (
        user.templates.unwrap_or_default(),
        def.templates.unwrap_or_default(),
    );
    for (kind, u, d) in [
        (
            Kind::SenderViolation,
            ut.sender_violation,
            dt.sender_violation,
        ),
        (Kind::AdminViolation, ut.admin_violation, dt.admin_violation),
        (
            Kind::RecipientViolation,
            ut.recipient_violation,
            dt.recipient_violation,
        ),
        (
            Kind::ApprovalRequest,
            ut.approval_request,
            dt.approval_request,
        ),
        (Kind::Approved, ut.approved, dt.approved),
        (Kind::Rejected, ut.rejected, dt.rejected),
        (Kind::Expired, ut.expired, dt.expired),
        (Kind::Released, ut.released, dt.released),
    ] {
        let (u, d) = (u.unwrap_or_default(), d.unwrap_or_default());
        for (section, uv, dv) in [
            (Section::Subject, u.subject, d.subject),
            (Section::Text, u.text, d.text),
            (Section::Html, u.html, d.html),
        ] {
            // No default in the file means the embedded template stays.
            if uv.is_none() && dv.is_none() {
                continue;
            }
            let key = format!("notifications.templates.{kind}.{}", section.name());
            let loc = cx.pick(uv, dv, &key)?;
            set(&mut templates, kind, section, &loc, &key)?;
        }
    }
    Ok(notify::Settings {
        from,
        admin,
        sender_notices,
        attach_original,
        templates,
        hostname: hostname.to_string(),
    })
}

fn set(
    templates: &mut Templates,
    kind: Kind,
    section: Section,
    loc: &Loc<'_, String>,
    key: &str,
) -> Result<(), Error> {
    let text = loc.value();
    templates.set(kind, section, text).map_err(|e| {
        // Point at the offending tag as written (`${NAME}` up to its brace).
        let at = text.get(e.offset()..).unwrap_or("");
        let needle = match at.find('}') {
            Some(end) if at.starts_with(['$', '{']) => &at[..=end],
            _ => at.get(..2).unwrap_or(at),
        };
        loc.error_at(needle, &format!("{key}: {e}"))
    })
}

/// `local@domain`: one `@`, both sides non-empty, no spaces, controls or angle brackets.
pub(super) fn check_address(s: &str) -> Result<(), String> {
    let ok = s.len() <= 254
        && s.matches('@').count() == 1
        && !s.starts_with('@')
        && !s.ends_with('@')
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a mail address like postmaster@example.com"
        ))
    }
}
