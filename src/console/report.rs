//! `sluice report summary|detail`: the reports from the command line. Flags in (dates read as
//! whole UTC days where a date is given), one service call (the numbers the admin UI shows), and a
//! readable table, JSON, or a CSV file written by `report::csv`.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{Report, ReportCommand};
use crate::report::{self, DetailReport, SummaryReport};
use crate::units::size;

use super::render::{clean, table};
use super::{EXIT_ERROR, EXIT_OK, fail, flagged, out, time, with_store};

/// Runs a `report` subcommand.
pub fn report(r: Report) -> ExitCode {
    match r.command {
        ReportCommand::Summary(a) => with_store("report summary", &a.store_args(), false, |ctx| {
            let (from, to) = match range(&a.from, &a.to, ctx.service.now()) {
                Ok(r) => r,
                Err(e) => return fail(ctx.cmd, e),
            };
            let found = match ctx.service.summary_report(from, to) {
                Ok(x) => x,
                Err(e) => return fail(ctx.cmd, flagged(e)),
            };
            if let Some(file) = &a.csv {
                return csv(ctx.cmd, file, &report::summary_rows(&found), a.bom);
            }
            if a.json {
                return json(ctx.cmd, &found);
            }
            out(summary_text(&found).as_bytes());
            ExitCode::from(EXIT_OK)
        }),
        ReportCommand::Detail(a) => with_store("report detail", &a.store_args(), false, |ctx| {
            let (from, to) = match range(&a.from, &a.to, ctx.service.now()) {
                Ok(r) => r,
                Err(e) => return fail(ctx.cmd, e),
            };
            let limit = a
                .limit
                .unwrap_or(ctx.service.config().reports.detail_max_rows);
            let found =
                match ctx
                    .service
                    .detail_report(from, to, a.types.clone(), a.text.clone(), limit)
                {
                    Ok(x) => x,
                    Err(e) => return fail(ctx.cmd, flagged(e)),
                };
            if found.more {
                eprintln!(
                    "sluice {}: more events matched than the {} rows shown (narrow the range or raise --limit)",
                    ctx.cmd,
                    found.rows.len()
                );
            }
            if let Some(file) = &a.csv {
                return csv(ctx.cmd, file, &report::detail_rows(&found), a.bom);
            }
            if a.json {
                return json(ctx.cmd, &found);
            }
            out(detail_text(&found).as_bytes());
            ExitCode::from(EXIT_OK)
        }),
    }
}

/// `--from`/`--to` as Unix seconds: a date is midnight UTC for `--from` and the day's last second
/// for `--to` (inclusive of that day); RFC 3339 is taken as written.
fn range(from: &str, to: &str, now: u64) -> Result<(u64, u64), String> {
    let at = |flag: &str, v: &str| time::parse(v, now).map_err(|e| format!("--{flag} {e}"));
    let is_date = |v: &str| v.trim().len() == 10;
    let from = at("from", from)?;
    let mut to_at = at("to", to)?;
    if is_date(to) {
        to_at = to_at.saturating_add(86_399);
    }
    if from > to_at {
        return Err("--from is after --to".into());
    }
    Ok((from, to_at))
}

/// Writes CSV to `file` (`-`: stdout).
fn csv(cmd: &str, file: &Path, rows: &[Vec<String>], bom: bool) -> ExitCode {
    let bytes = report::csv::write(rows, bom);
    if file == Path::new("-") {
        out(&bytes);
        return ExitCode::from(EXIT_OK);
    }
    match std::fs::write(file, &bytes) {
        Ok(()) => {
            eprintln!(
                "sluice {cmd}: {} rows written to {}",
                rows.len().saturating_sub(1),
                file.display()
            );
            ExitCode::from(EXIT_OK)
        }
        Err(e) => fail(cmd, format!("writing {}: {e}", file.display())),
    }
}

fn json(cmd: &str, v: &impl serde::Serialize) -> ExitCode {
    match serde_json::to_string(v) {
        Ok(s) => {
            out(format!("{s}\n").as_bytes());
            ExitCode::from(EXIT_OK)
        }
        Err(e) => {
            eprintln!("sluice {cmd}: {e}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The summary as text: totals, the outcome-by-direction table, and each list.
pub fn summary_text(r: &SummaryReport) -> String {
    let mut s = format!(
        "Summary report {} - {}\n\nMessages: {} ({})\n",
        time::format(r.from),
        time::format(r.to),
        r.messages,
        size::approximate(r.bytes, size::Labels::Binary)
    );
    let rows: Vec<Vec<String>> = r
        .outcomes
        .iter()
        .map(|o| {
            [o.total, o.inbound, o.outbound, o.internal, o.unknown]
                .iter()
                .map(u64::to_string)
                .fold(vec![o.outcome.clone()], |mut v, n| {
                    v.push(n);
                    v
                })
        })
        .collect();
    s.push_str(&table(
        &[
            "OUTCOME", "TOTAL", "INBOUND", "OUTBOUND", "INTERNAL", "UNKNOWN",
        ],
        &rows,
    ));
    s.push_str(&format!("\nIncidents: {}\n", r.incidents));
    let policies: Vec<Vec<String>> = r
        .policies
        .iter()
        .map(|p| {
            vec![
                p.id.map(|i| i.to_string()).unwrap_or_default(),
                clean(&p.name),
                p.count.to_string(),
            ]
        })
        .collect();
    s.push_str(&table(&["POLICY", "NAME", "INCIDENTS"], &policies));
    for (title, list) in [
        ("SEVERITY", &r.severities),
        ("TOP SENDERS", &r.senders),
        ("TOP RECIPIENTS", &r.recipients),
        ("TOP DETECTORS", &r.detectors),
    ] {
        let rows: Vec<Vec<String>> = list
            .iter()
            .map(|c| vec![clean(&c.key), c.count.to_string()])
            .collect();
        s.push('\n');
        s.push_str(&table(&[title, "COUNT"], &rows));
    }
    s
}

/// The detail report as a table: time, event, GUID, from, to, subject, policy, action and reason.
pub fn detail_text(r: &DetailReport) -> String {
    let rows: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|d| {
            vec![
                time::format(d.at),
                d.kind.clone(),
                clean(&d.guid),
                super::render::sender_cell(&d.from),
                clean(&d.to.join(",")),
                super::render::subject_cell(&d.subject),
                clean(&d.policies.join(",")),
                clean(&[d.action.as_str(), d.reason.as_str()].join(" ")),
            ]
        })
        .collect();
    table(
        &[
            "TIME", "EVENT", "GUID", "FROM", "TO", "SUBJECT", "POLICY", "ACTION",
        ],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_to_date_includes_its_whole_day() {
        let day = 1_796_428_800; // 2026-12-05
        assert_eq!(
            range("2026-12-05", "2026-12-05", 0),
            Ok((day, day + 86_399))
        );
        assert_eq!(
            range("2026-12-05T10:00:00Z", "2026-12-05T11:00:00Z", 0),
            Ok((day + 36_000, day + 39_600))
        );
        assert!(range("2026-12-06", "2026-12-05", 0).is_err());
        assert!(
            range("yesterday", "2026-12-05", 0)
                .unwrap_err()
                .starts_with("--from")
        );
    }
}
