//! The search filter the incidents and quarantine listings share (their pages and their API
//! twins): query fields in, a checked [`Query`] and the page's cursor out, and the filter form.
//! Pure: `now` comes in (times like `2d` count back from it).

use maud::{Markup, html};

use crate::remediate::Target;
use crate::service::{Cursor, DIRECTIONS, Query, SEVERITIES};
use crate::store::records::{HeldStatus, IncidentStatus};

/// The query fields a filter reads, in the order the form shows them.
pub(crate) const FIELDS: [&str; 9] = [
    "status",
    "severity",
    "policy",
    "sender",
    "recipient",
    "direction",
    "subject",
    "since",
    "until",
];

/// A listing's filter as given: the checked query, the cursor, and the fields as written (for
/// the form, the pager's links and the bulk forms' hidden fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    pub query: Query,
    pub before: Option<Cursor>,
    /// The filter fields given (not `before`, `limit` or anything else), in [`FIELDS`] order.
    pub given: Vec<(String, String)>,
}

impl Filter {
    /// The filter in `pairs` (a query string or a form): every value checked here or by
    /// [`Query::filter`] for `target`. The error names the field first.
    pub(crate) fn parse(
        pairs: &[(String, String)],
        target: Target,
        now: u64,
    ) -> Result<Filter, String> {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        let text = |name: &str| get(name).map(str::to_string);
        let policy = get("policy")
            .map(|p| {
                p.parse::<u64>()
                    .map_err(|_| format!("policy {p:?}: give a policy id (a number)"))
            })
            .transpose()?;
        let limit = get("limit")
            .map(|l| {
                l.parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("limit {l:?}: give a number from 1"))
            })
            .transpose()?;
        let before = get("before")
            .map(|b| Cursor::parse(b).ok_or_else(|| format!("before {b:?}: not a page cursor")))
            .transpose()?;
        let query = Query {
            status: text("status"),
            sender: text("sender"),
            recipient: text("recipient"),
            policy,
            severity: text("severity"),
            direction: text("direction"),
            since: get("since")
                .map(|s| time("since", s, now, false))
                .transpose()?,
            until: get("until")
                .map(|s| time("until", s, now, true))
                .transpose()?,
            subject: text("subject"),
            limit,
        };
        query.filter(target).map_err(|e| e.message().to_string())?;
        let given = FIELDS
            .iter()
            .filter_map(|f| get(f).map(|v| (f.to_string(), v.to_string())))
            .collect();
        Ok(Filter {
            query,
            before,
            given,
        })
    }

    /// Whether any filter field is set.
    pub(crate) fn is_set(&self) -> bool {
        !self.given.is_empty()
    }

    /// The value given for `field`, or "".
    pub(crate) fn value(&self, field: &str) -> &str {
        self.given
            .iter()
            .find(|(k, _)| k == field)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The query of the page after this one (the filter and the cursor).
    pub(crate) fn older(&self, next: Option<Cursor>) -> Option<Vec<(String, String)>> {
        let next = next?;
        let mut q = self.given.clone();
        q.push(("before".into(), next.to_string()));
        Some(q)
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

/// A time field: Unix seconds, RFC 3339, a date (`until` a date means to its end), or a span back
/// from `now` (`2d`).
fn time(field: &str, s: &str, now: u64, end_of_day: bool) -> Result<u64, String> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse()
            .map_err(|_| format!("{field} {s:?}: too large a time"));
    }
    let t = crate::units::time::parse(s, now).map_err(|e| format!("{field}: {e}"))?;
    let plain_date = s.len() == 10 && s.as_bytes().get(4) == Some(&b'-');
    Ok(if end_of_day && plain_date {
        t.saturating_add(86_399)
    } else {
        t
    })
}

/// The statuses a target's records take.
pub(crate) fn statuses(target: Target) -> Vec<&'static str> {
    match target {
        Target::Held => HeldStatus::ALL.iter().map(|s| s.name()).collect(),
        Target::Incident => IncidentStatus::ALL.iter().map(|s| s.name()).collect(),
    }
}

/// The filter form (GET, so a filtered listing is a link); `error` is why the given filter was
/// refused.
pub(crate) fn form(action: &str, target: Target, f: &Filter, error: Option<&str>) -> Markup {
    let select = |name: &str, label: &str, options: &[&str]| {
        let current = f.value(name);
        html! {
            label { (label)
                select name=(name) {
                    option value="" { "any" }
                    @for o in options {
                        option value=(o) selected[*o == current] { (o.replace('_', " ")) }
                    }
                }
            }
        }
    };
    let text = |name: &str, label: &str, hint: &str| {
        html! {
            label { (label) input type="text" name=(name) value=(f.value(name)) placeholder=(hint); }
        }
    };
    html! {
        @if let Some(e) = error { p class="flash error" role="alert" { (e) } }
        form class="filters" method="get" action=(action) role="search" {
            (select("status", "Status", &statuses(target)))
            (select("severity", "Severity", &SEVERITIES))
            (text("policy", "Policy id", "e.g. 100"))
            (text("sender", "Sender", "address or @domain"))
            (text("recipient", "Recipient", "address or @domain"))
            (select("direction", "Direction", &DIRECTIONS))
            (text("subject", "Subject contains", ""))
            (text("since", "From", "2026-12-01 or 2d"))
            (text("until", "To", "2026-12-05"))
            button type="submit" { "Search" }
            @if f.is_set() { a class="button secondary" href=(action) { "Clear" } }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Fields checked and named, times in every accepted form, the cursor and the links.
    use super::*;

    fn pairs(q: &str) -> Vec<(String, String)> {
        crate::admin::form::pairs(q.as_bytes())
    }

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn fields_become_a_checked_query() {
        let f = Filter::parse(
            &pairs("status=new&severity=high&policy=7&sender=%40corp.example&subject=Q3&since=2023-11-01&until=2023-11-14&before=5-9&limit=20&x=1"),
            Target::Incident,
            NOW,
        )
        .unwrap();
        assert_eq!(f.query.status.as_deref(), Some("new"));
        assert_eq!(f.query.policy, Some(7));
        assert_eq!(f.query.sender.as_deref(), Some("@corp.example"));
        assert_eq!(f.query.since, Some(1_698_796_800));
        // A date as `until` runs to the end of that day.
        assert_eq!(f.query.until, Some(1_700_006_399));
        assert_eq!(f.query.limit, Some(20));
        assert_eq!(f.before, Some(Cursor { time: 5, id: 9 }));
        assert_eq!(f.given.len(), 7);
        assert!(f.given.iter().all(|(k, _)| k != "before" && k != "x"));
        let older = f.older(Some(Cursor { time: 3, id: 1 })).unwrap();
        assert_eq!(older.last().unwrap(), &("before".into(), "3-1".into()));
        assert_eq!(
            Filter::parse(&pairs("since=2d&until=1699000000"), Target::Held, NOW)
                .unwrap()
                .query
                .since,
            Some(NOW - 2 * 86_400)
        );
    }

    #[test]
    fn bad_values_are_named() {
        for (q, start) in [
            ("status=held", "status \"held\""),
            ("severity=severe", "severity \"severe\""),
            ("policy=pci", "policy \"pci\""),
            ("since=yesterday", "since:"),
            ("before=x", "before \"x\""),
            ("limit=0", "limit \"0\""),
        ] {
            let e = Filter::parse(&pairs(q), Target::Incident, NOW).unwrap_err();
            assert!(e.starts_with(start), "{q}: {e}");
        }
        // `held` is a held message's status.
        assert!(Filter::parse(&pairs("status=held"), Target::Held, NOW).is_ok());
    }

    #[test]
    fn the_form_keeps_the_values_escaped() {
        let f = Filter::parse(
            &pairs("subject=%22%3E%3Cimg+src%3Dx%3E&status=new"),
            Target::Incident,
            NOW,
        )
        .unwrap();
        let out = form("/incidents", Target::Incident, &f, None).into_string();
        assert!(!out.contains("<img src=x"), "{out}");
        assert!(
            out.contains(r#"value="&quot;&gt;&lt;img src=x&gt;""#),
            "{out}"
        );
        assert!(
            out.contains(r#"<option value="new" selected>new</option>"#),
            "{out}"
        );
        let hidden = f.hidden().into_string();
        assert!(hidden.contains(r#"name="status" value="new""#), "{hidden}");
    }
}
