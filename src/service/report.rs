//! The reports: the summary (counters and top lists the store keeps per day, over whole UTC days)
//! and the detail report (the outbox's events in a time range, filtered by type and text), and the
//! counters' time series for the dashboard's charts. The CLI, the admin UI and the scheduled
//! reports all take their numbers from here. Read-only.

use serde::Serialize;

use crate::report::{self, Count, DetailReport, DetailRow, OutcomeRow, PolicyCount, SummaryReport};
use crate::store::stats::{self, name};
use crate::store::{events, tracking};

use super::query::SEVERITIES;
use super::{Error, Result, Service};

/// A counter in buckets: `(bucket start, count)`, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Series {
    pub name: String,
    pub points: Vec<(u64, u64)>,
}

/// The whole UTC days from `from`'s day to `to`'s: (first second, last second).
pub fn whole_days(from: u64, to: u64) -> (u64, u64) {
    (from / 86_400 * 86_400, to / 86_400 * 86_400 + 86_399)
}

fn counts(list: Vec<(String, u64)>) -> Vec<Count> {
    list.into_iter()
        .map(|(key, count)| Count { key, count })
        .collect()
}

fn check_range(from: u64, to: u64) -> Result<()> {
    if from > to {
        return Err(Error::Invalid(
            "from: the range starts after it ends".into(),
        ));
    }
    Ok(())
}

impl Service {
    /// The summary report over the whole UTC days from `from`'s to `to`'s (Unix seconds).
    pub fn summary_report(&self, from: u64, to: u64) -> Result<SummaryReport> {
        check_range(from, to)?;
        let (from, to) = whole_days(from, to);
        let top = self.config.reports.top;
        Ok(self.store.read(|txn| {
            let mut outcomes: Vec<OutcomeRow> = tracking::outcomes()
                .into_iter()
                .map(|o| OutcomeRow {
                    outcome: o.to_string(),
                    ..OutcomeRow::default()
                })
                .collect();
            for (key, n) in stats::top(txn, name::MESSAGE, from, to, usize::MAX)? {
                let (outcome, direction) = key.split_once(' ').unwrap_or((&key, "none"));
                let Some(row) = outcomes.iter_mut().find(|r| r.outcome == outcome) else {
                    continue;
                };
                match direction {
                    "inbound" => row.inbound += n,
                    "outbound" => row.outbound += n,
                    "internal" => row.internal += n,
                    _ => row.unknown += n,
                }
                row.total += n;
            }
            let policies = stats::top(txn, name::POLICY, from, to, top)?
                .into_iter()
                .map(|(key, count)| match key.split_once(' ') {
                    Some((id, name)) if id.parse::<u64>().is_ok() => PolicyCount {
                        id: id.parse().ok(),
                        name: name.to_string(),
                        count,
                    },
                    _ => PolicyCount {
                        id: None,
                        name: key,
                        count,
                    },
                })
                .collect();
            let mut severities = Vec::new();
            for s in SEVERITIES.iter().rev() {
                severities.push(Count {
                    key: s.to_string(),
                    count: stats::sum(txn, &name::severity(s), from, to)?,
                });
            }
            Ok(SummaryReport {
                from,
                to,
                messages: stats::sum(txn, name::MESSAGES, from, to)?,
                bytes: stats::sum(txn, name::MESSAGE_BYTES, from, to)?,
                outcomes,
                incidents: stats::sum(txn, name::INCIDENTS, from, to)?,
                policies,
                severities,
                senders: counts(stats::top(txn, name::SENDER, from, to, top)?),
                recipients: counts(stats::top(txn, name::RECIPIENT, from, to, top)?),
                detectors: counts(stats::top(txn, name::DETECTOR, from, to, top)?),
            })
        })?)
    }

    /// The detail report: the events from `from` to `to` (Unix seconds, inclusive) of the given
    /// kinds or categories (none: all) with `text` in some field, oldest first, at most `limit`
    /// rows (at most `reports.detail_max_rows`).
    pub fn detail_report(
        &self,
        from: u64,
        to: u64,
        kinds: Vec<String>,
        text: Option<String>,
        limit: usize,
    ) -> Result<DetailReport> {
        check_range(from, to)?;
        for k in &kinds {
            report::check_kind(k).map_err(|e| Error::Invalid(format!("type {e}")))?;
        }
        let limit = limit.clamp(1, self.config.reports.detail_max_rows);
        let text = text.unwrap_or_default();
        let (found, more) = self.store.read(|txn| {
            events::between(txn, from, to, limit, |e| {
                report::kind_wanted(e.kind, &kinds) && report::text_matches(e, &text)
            })
        })?;
        Ok(DetailReport {
            from,
            to,
            rows: found.iter().map(DetailRow::of).collect(),
            more,
        })
    }

    /// Counter `name` (see `store::stats::name`) in buckets of `step` seconds from `from` to
    /// `to`: the dashboard's charts.
    pub fn series(&self, name: &str, from: u64, to: u64, step: u64) -> Result<Series> {
        check_range(from, to)?;
        let points = self
            .store
            .read(|txn| stats::series(txn, name, from, to, step))?;
        Ok(Series {
            name: name.to_string(),
            points,
        })
    }

    /// Counters by name summed over the days from `from`'s to `to`'s, and over every day kept
    /// (`since start`) when `from` is `None`.
    pub fn counters(&self, names: &[&str], from: Option<u64>, to: u64) -> Result<Vec<Count>> {
        Ok(self.store.read(|txn| {
            let mut out = Vec::new();
            for n in names {
                let count = match from {
                    Some(f) => stats::sum(txn, n, f, to)?,
                    None => stats::total(txn, n)?,
                };
                out.push(Count {
                    key: n.to_string(),
                    count,
                });
            }
            Ok(out)
        })?)
    }
}
