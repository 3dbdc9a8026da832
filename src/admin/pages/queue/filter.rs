//! What the queue page and its API twin take from a request: the listing's filter (stage, sender,
//! recipient, listener, direction, older than) as a [`QueueFilter`], and an action's name with its forward
//! fields as a [`QueueAction`]. Pure: values in, checked values or the reason out (the field
//! named first).

use maud::{Markup, html};

use crate::service::{QueueAction, QueueFilter, QueueRef, QueueStage};

/// The filter fields, in the order the form shows them.
pub(crate) const FIELDS: [&str; 6] = [
    "stage",
    "sender",
    "recipient",
    "listener",
    "direction",
    "older_than",
];

/// The actions, by the name forms and the API use, with the page's label.
pub(crate) const ACTIONS: [(&str, &str); 6] = [
    ("release", "Reprocess / release"),
    ("release_unscanned", "Release unscanned"),
    ("hold", "Hold"),
    ("retry", "Retry now"),
    ("forward", "Forward a copy (unscanned)"),
    ("delete", "Delete (drop)"),
];

/// Longest filter value or forward subject accepted (characters).
const MAX_VALUE: usize = 998;

/// A listing's filter as given: the checked filter and the fields as written (for the form, the
/// tabs, the pager's links and the bulk forms' hidden fields).
#[derive(Debug, Clone, Default)]
pub(crate) struct Picked {
    pub filter: QueueFilter,
    pub given: Vec<(String, String)>,
}

impl Picked {
    /// The filter in `pairs` (a query string or a form); `limit` is left at its default.
    pub(crate) fn parse(pairs: &[(String, String)]) -> Result<Picked, String> {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        let text = |name: &str| -> Result<Option<String>, String> {
            match get(name) {
                Some(v) if v.chars().count() > MAX_VALUE || v.chars().any(char::is_control) => {
                    Err(format!("{name}: at most {MAX_VALUE} printable characters"))
                }
                v => Ok(v.map(str::to_string)),
            }
        };
        let stage = get("stage").map(stage).transpose()?;
        let older_than = get("older_than").map(age).transpose()?;
        let direction = get("direction").map(direction).transpose()?;
        let filter = QueueFilter {
            stage,
            direction,
            sender: text("sender")?,
            recipient: text("recipient")?,
            listener: text("listener")?,
            older_than,
            ..QueueFilter::default()
        };
        let given = FIELDS
            .iter()
            .filter_map(|f| get(f).map(|v| (f.to_string(), v.to_string())))
            .collect();
        Ok(Picked { filter, given })
    }

    /// The value given for `field`, or "".
    pub(crate) fn value(&self, field: &str) -> &str {
        self.given
            .iter()
            .find(|(k, _)| k == field)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The fields given but `stage` (a tab keeps the other filters).
    pub(crate) fn without_stage(&self) -> Vec<(String, String)> {
        self.given
            .iter()
            .filter(|(k, _)| k != "stage")
            .cloned()
            .collect()
    }

    /// The filter as hidden fields (bulk forms carry it to the confirm step).
    pub(crate) fn hidden(&self) -> Markup {
        html! {
            @for (k, v) in &self.given {
                input type="hidden" name=(k) value=(v);
            }
        }
    }
}

/// A stage by name.
pub(crate) fn stage(s: &str) -> Result<QueueStage, String> {
    QueueStage::parse(s.trim())
        .ok_or_else(|| format!("stage {s:?}: one of inspect, deliver, deferred, hold"))
}

/// A direction by name.
pub(crate) fn direction(s: &str) -> Result<crate::policy::Direction, String> {
    crate::policy::Direction::parse(s.trim())
        .ok_or_else(|| format!("direction {s:?}: one of inbound, outbound, internal"))
}

/// An age as a duration (`30m`, `2h`, `1d`; a bare number is seconds), in seconds.
pub(crate) fn age(s: &str) -> Result<u64, String> {
    crate::units::duration::parse(s)
        .map(|d| d.as_secs())
        .map_err(|e| format!("older_than: {e}"))
}

/// The action called `name`; `forward` needs one address in `to` (an optional `subject`).
pub(crate) fn action(
    name: &str,
    to: Option<&str>,
    subject: Option<&str>,
) -> Result<QueueAction, String> {
    Ok(match name.trim() {
        "hold" => QueueAction::Hold,
        "release" => QueueAction::Release { unscanned: false },
        "release_unscanned" => QueueAction::Release { unscanned: true },
        "delete" => QueueAction::Delete,
        "retry" => QueueAction::Retry,
        "forward" => {
            let to = to.map(str::trim).filter(|t| !t.is_empty());
            let to = to.ok_or("forward: give the address to forward to (to)")?;
            if to.contains(|c: char| c == ',' || c == ';' || c.is_whitespace() || c.is_control())
                || !to.contains('@')
            {
                return Err(format!("forward: {to:?} is not one email address"));
            }
            let subject = subject.map(str::trim).filter(|s| !s.is_empty());
            if let Some(s) = subject
                && (s.chars().count() > MAX_VALUE || s.chars().any(char::is_control))
            {
                return Err(format!(
                    "subject: at most {MAX_VALUE} characters on one line"
                ));
            }
            QueueAction::Forward {
                to: to.to_string(),
                subject: subject.map(str::to_string),
            }
        }
        other => {
            let names: Vec<&str> = ACTIONS.iter().map(|(n, _)| *n).collect();
            return Err(format!("action {other:?}: one of {}", names.join(", ")));
        }
    })
}

/// The action's name (`release_unscanned`).
pub(crate) fn name(a: &QueueAction) -> &'static str {
    match a {
        QueueAction::Hold => "hold",
        QueueAction::Release { unscanned: false } => "release",
        QueueAction::Release { unscanned: true } => "release_unscanned",
        QueueAction::Delete => "delete",
        QueueAction::Retry => "retry",
        QueueAction::Forward { .. } => "forward",
    }
}

/// The action's label on the pages.
pub(crate) fn label(a: &QueueAction) -> &'static str {
    let n = name(a);
    ACTIONS.iter().find(|(k, _)| *k == n).map_or(n, |(_, l)| *l)
}

/// The fields that repeat `a` in a form (the confirm step's hidden fields).
pub(crate) fn fields(a: &QueueAction) -> Vec<(&'static str, String)> {
    let mut out = vec![("op", name(a).to_string())];
    if let QueueAction::Forward { to, subject } = a {
        out.push(("to", to.clone()));
        if let Some(s) = subject {
            out.push(("subject", s.clone()));
        }
    }
    out
}

/// Ids as the pages and the API give them (`i42`, `q17`).
pub(crate) fn ids<'a>(given: impl IntoIterator<Item = &'a str>) -> Result<Vec<QueueRef>, String> {
    given
        .into_iter()
        .map(|v| v.trim().parse::<QueueRef>().map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    //! Query fields and forms become the service's filter and actions; bad ones say why.
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        crate::admin::form::pairs(q.as_bytes())
    }

    #[test]
    fn filters_are_read_and_checked() {
        let p = Picked::parse(&pairs(
            "stage=hold&sender=a%40x&older_than=2h&direction=inbound&page=3",
        ))
        .unwrap();
        assert_eq!(p.filter.direction, Some(crate::policy::Direction::Inbound));
        assert!(
            Picked::parse(&pairs("direction=sideways"))
                .unwrap_err()
                .starts_with("direction")
        );
        assert_eq!(p.filter.stage, Some(QueueStage::Hold));
        assert_eq!(p.filter.sender.as_deref(), Some("a@x"));
        assert_eq!(p.filter.older_than, Some(7200));
        assert_eq!(p.given.len(), 4, "page is not a filter field");
        assert_eq!(p.without_stage().len(), 3);
        assert!(
            Picked::parse(&pairs("stage=active"))
                .unwrap_err()
                .starts_with("stage")
        );
        assert!(
            Picked::parse(&pairs("older_than=soon"))
                .unwrap_err()
                .starts_with("older_than")
        );
        assert!(Picked::parse(&pairs("sender=a%0Db")).is_err());
    }

    #[test]
    fn actions_are_read_and_checked() {
        assert_eq!(
            action("release_unscanned", None, None),
            Ok(QueueAction::Release { unscanned: true })
        );
        assert_eq!(
            action("forward", Some(" sec@corp.example "), Some("look")),
            Ok(QueueAction::Forward {
                to: "sec@corp.example".into(),
                subject: Some("look".into())
            })
        );
        assert!(action("forward", None, None).is_err());
        assert!(action("forward", Some("a@x, b@y"), None).is_err());
        assert!(action("forward", Some("a@x"), Some("a\r\nBcc: b@y")).is_err());
        assert!(
            action("explode", None, None)
                .unwrap_err()
                .contains("one of")
        );
        for (n, _) in ACTIONS {
            let a = action(n, Some("a@x"), None).unwrap();
            assert_eq!(name(&a), n);
        }
        assert!(ids(["i4", "Q7"]).is_ok());
        assert!(ids(["7"]).is_err());
    }
}
