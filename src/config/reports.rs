//! The `[reports]` section: how long the report counters are kept, how long top lists and detail
//! reports are, and the scheduled reports (`[[reports.schedule]]`: which report, how often, at what
//! time, to whom). Defaults in `assets/sluice.toml`; the mailing itself is `report::mail`'s task.

use std::time::Duration;

use toml::Spanned;

use super::raw;
use super::value::{Ctx, Error, Loc};
use crate::report::Which;

/// `[reports]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reports {
    /// Days the hourly and top-N counters are kept (the daily totals are kept for ever).
    pub keep_days: u64,
    /// Entries in each top list of the summary report.
    pub top: usize,
    /// Rows a detail report holds at most.
    pub detail_max_rows: usize,
    /// How often the scheduler looks for a report that is due.
    pub check_interval: Duration,
    pub schedules: Vec<Schedule>,
}

/// How often a scheduled report goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Every {
    /// Each day at `at`, covering the day before.
    Daily,
    /// Each Monday at `at`, covering the seven days before.
    Weekly,
}

/// One `[[reports.schedule]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Unique: the store remembers each schedule's last run by it.
    pub name: String,
    pub report: Which,
    pub every: Every,
    pub to: Vec<String>,
    /// Minutes after midnight UTC.
    pub at: u32,
    /// Detail reports: only these event kinds or categories (empty: all).
    pub types: Vec<String>,
    /// Detail reports: only events with this text in a field.
    pub text: Option<String>,
    /// Start the CSV with a byte order mark (Excel).
    pub bom: bool,
}

pub(super) fn build(cx: &Ctx<'_>, u: raw::Reports, d: raw::Reports) -> Result<Reports, Error> {
    let at = cx
        .pick(u.at, d.at, "reports.at")?
        .parse_with(|s| hh_mm(s))?;
    let mut schedules: Vec<Schedule> = Vec::new();
    for table in u.schedule.unwrap_or_default() {
        let whole = cx.user(table);
        let s = one(cx, &whole, at)?;
        if schedules.iter().any(|o| o.name == s.name) {
            return Err(whole.error(&format!(
                "report schedule name {:?} is used twice (its last run is remembered by name)",
                s.name
            )));
        }
        schedules.push(s);
    }
    Ok(Reports {
        keep_days: cx
            .pick(u.keep_days, d.keep_days, "reports.keep_days")?
            .range(1, 100_000)?,
        top: cx.pick(u.top, d.top, "reports.top")?.range(1, 1000)? as usize,
        detail_max_rows: cx
            .pick(
                u.detail_max_rows,
                d.detail_max_rows,
                "reports.detail_max_rows",
            )?
            .range(1, 10_000_000)? as usize,
        check_interval: cx
            .pick(u.check_interval, d.check_interval, "reports.check_interval")?
            .duration()?,
        schedules,
    })
}

/// A key a schedule must have, else an error at the schedule's table.
fn required<T>(
    v: Option<Spanned<T>>,
    key: &str,
    whole: &Loc<'_, raw::ReportSchedule>,
) -> Result<Spanned<T>, Error> {
    v.ok_or_else(|| whole.error(&format!("a report schedule needs `{key}`")))
}

fn one(
    cx: &Ctx<'_>,
    whole: &Loc<'_, raw::ReportSchedule>,
    default_at: u32,
) -> Result<Schedule, Error> {
    let t = whole.value().clone();
    let name = cx.user(required(t.name, "name", whole)?).parse_with(|s| {
        let s = s.trim();
        if s.is_empty() || s.len() > 64 || s.chars().any(char::is_control) {
            Err("a schedule name has 1 to 64 printable characters".to_string())
        } else {
            Ok(s.to_string())
        }
    });
    let name = name?;
    let report = cx
        .user(required(t.report, "report", whole)?)
        .choice(&[("summary", Which::Summary), ("detail", Which::Detail)])?;
    let every = cx
        .user(required(t.every, "every", whole)?)
        .choice(&[("daily", Every::Daily), ("weekly", Every::Weekly)])?;
    let mut to = Vec::new();
    let list = cx.user(required(t.to, "to", whole)?);
    let empty = list.error("a report schedule needs at least one address in `to`");
    for item in list.items() {
        to.push(item.parse_with(|s| {
            let s = s.trim();
            super::notifications::check_address(s).map(|()| s.to_string())
        })?);
    }
    if to.is_empty() {
        return Err(empty);
    }
    let at = match t.at {
        Some(v) => cx.user(v).parse_with(|s| hh_mm(s))?,
        None => default_at,
    };
    let mut types = Vec::new();
    if let Some(list) = t.types {
        for item in cx.user(list).items() {
            types.push(item.parse_with(|s| crate::report::check_kind(s).map(|()| s.to_string()))?);
        }
    }
    Ok(Schedule {
        name,
        report,
        every,
        to,
        at,
        types,
        text: t
            .text
            .map(|v| v.into_inner())
            .filter(|s| !s.trim().is_empty()),
        bom: t.bom.is_some_and(|v| v.into_inner()),
    })
}

/// `HH:MM` (UTC) -> minutes after midnight.
fn hh_mm(s: &str) -> Result<u32, String> {
    let bad = || format!("{s:?} is not a time of day like \"06:30\" (UTC)");
    let (h, m) = s.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 || !(1..=2).contains(&s.trim().split(':').next().map_or(0, str::len)) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn schedules_are_read_and_checked() {
        let c = Config::parse(
            "[reports]\nkeep_days = 30\n[[reports.schedule]]\nname = \"daily\"\nreport = \"summary\"\nevery = \"daily\"\nto = [\"secops@corp.example\"]\nat = \"07:15\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.reports.keep_days, 30);
        let s = &c.reports.schedules[0];
        assert_eq!(
            (s.report, s.every, s.at),
            (Which::Summary, Every::Daily, 7 * 60 + 15)
        );
        let embedded = Config::embedded().unwrap();
        assert_eq!(embedded.reports.keep_days, 400);
        assert!(embedded.reports.schedules.is_empty());
        for (bad, says) in [
            ("to = []", "at least one address"),
            ("to = [\"nobody\"]", "nobody"),
            ("to = [\"a@b.example\"]\nat = \"25:00\"", "time of day"),
            ("to = [\"a@b.example\"]\ntypes = [\"nope\"]", "nope"),
        ] {
            let text = format!(
                "[[reports.schedule]]\nname = \"x\"\nreport = \"detail\"\nevery = \"weekly\"\n{bad}\n"
            );
            let err = Config::parse(&text, "t.toml").unwrap_err().to_string();
            assert!(
                err.contains(says) && err.contains("t.toml:"),
                "{bad}: {err}"
            );
        }
        let missing =
            "[[reports.schedule]]\nname = \"x\"\nevery = \"daily\"\nto = [\"a@b.example\"]\n";
        let err = Config::parse(missing, "t.toml").unwrap_err().to_string();
        assert!(err.contains("needs `report`"), "{err}");
    }
}
