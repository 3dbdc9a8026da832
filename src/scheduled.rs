//! Scheduled reports (`[[reports.schedule]]`) and the report counters' retention: a task in the
//! app's group that, every `reports.check_interval` (read from the current configuration, so a
//! reload applies), removes hourly and top-N counters older than `reports.keep_days`
//! (`store::stats::prune`), and for each schedule whose time has come builds its report through
//! the service (the numbers the CLI and the UI show), writes it as CSV (`report::csv`) and queues
//! a mail with the CSV attached on the durable delivery queue. The mail and the schedule's
//! last-run mark are written in one store write, so a restart neither repeats nor skips a run:
//! only the latest due run is sent (a server down for three days sends one daily report on
//! return, for the day before).
//!
//! When a schedule is due is pure ([`due`], [`period`]); the mail is built with mail-builder
//! ([`mail`]). Reflecting mode has no next hop of its own: a report is queued all the same and
//! the queue reports it undeliverable (a warning at start says so).

use std::sync::Arc;
use std::time::Duration;

use futures_lite::FutureExt;

use crate::config::Config;
use crate::config::reports::{Every, Schedule};
use crate::hold::Keeper;
use crate::report::{self, Which};
use crate::runtime::Swap;
use crate::service::Service;
use crate::shutdown::Shutdown;
use crate::store::records::{QueueId, QueueKind, Queued};
use crate::store::{Store, StoreError, queue, stats};
use crate::units::time;

/// Stats entries one retention pass removes at most.
const PRUNE_BATCH: usize = 10_000;
/// A report mail is given up after this many seconds undelivered (as notices).
const GIVE_UP: u64 = 5 * 86_400;

/// The latest time at or before `now` when `s` was due (Unix seconds): daily at `at` UTC, weekly
/// on Mondays at `at`.
pub fn due(s: &Schedule, now: u64) -> u64 {
    let at = u64::from(s.at) * 60;
    let today = now / 86_400;
    let mut day = if now % 86_400 >= at {
        today
    } else {
        today.saturating_sub(1)
    };
    if s.every == Every::Weekly {
        // 1970-01-01 was a Thursday: day d is a Monday when (d + 3) % 7 == 0.
        day = day.saturating_sub((day + 3) % 7);
    }
    day * 86_400 + at
}

/// What the run due at `due` covers: the day before (daily) or the seven days before (weekly),
/// whole UTC days, inclusive.
pub fn period(s: &Schedule, due: u64) -> (u64, u64) {
    let day = due / 86_400;
    let days = match s.every {
        Every::Daily => 1,
        Every::Weekly => 7,
    };
    let from = day.saturating_sub(days) * 86_400;
    (from, (day * 86_400).saturating_sub(1).max(from))
}

/// The mail carrying a report: a short text and the CSV attached as `file_name`.
pub fn mail(
    config: &Config,
    s: &Schedule,
    (from, to): (u64, u64),
    file_name: &str,
    csv: &[u8],
    now: u64,
) -> Vec<u8> {
    use crate::notify::build::{mailbox, multipart, unix};
    use mail_builder::MessageBuilder;
    use mail_builder::headers::address::Address;
    use mail_builder::headers::message_id::MessageId;
    use mail_builder::headers::raw::Raw;
    use mail_builder::mime::{BodyPart, MimePart};

    let id = uuid::Uuid::new_v4();
    let hostname = config.server.hostname.as_str();
    let what = match s.report {
        Which::Summary => "Summary report",
        Which::Detail => "Detail report",
    };
    let range = format!("{} - {}", time::format(from), time::format(to));
    let text = format!(
        "{what} of {hostname} for {range} (schedule \"{}\"), attached as {file_name}.\r\n",
        s.name
    );
    let body = multipart(
        "multipart/mixed",
        format!("sluice-{}-1", id.simple()),
        vec![
            MimePart::new("text/plain", text),
            MimePart::new("text/csv", BodyPart::Binary(csv.to_vec().into()))
                .transfer_encoding("base64")
                .attachment(file_name.to_string()),
        ],
    );
    let b = MessageBuilder::new()
        .from(mailbox("Sluice", &config.notifications.from))
        .to(Address::new_list(
            s.to.iter().map(|a| mailbox("", a)).collect(),
        ))
        .subject(format!("Sluice {what}: {range}"))
        .date(mail_builder::headers::date::Date::new(unix(now)))
        .message_id(MessageId::new(format!("{id}@{hostname}")))
        .header("Auto-Submitted", Raw::new("auto-generated"))
        .header("X-Sluice-Notice", Raw::new("report"));
    // Writing into a Vec cannot fail.
    b.body(body).write_to_vec().unwrap_or_default()
}

/// The CSV of one schedule's report over `range`, and its file name.
fn build(
    service: &Service,
    s: &Schedule,
    (from, to): (u64, u64),
    now: u64,
) -> crate::service::Result<(String, Vec<u8>)> {
    let rows = match s.report {
        Which::Summary => report::summary_rows(&service.summary_report(from, to)?),
        Which::Detail => {
            let limit = service.config().reports.detail_max_rows;
            report::detail_rows(&service.detail_report(
                from,
                to,
                s.types.clone(),
                s.text.clone(),
                limit,
            )?)
        }
    };
    Ok((
        report::file_name(s.report, now),
        report::csv::write(&rows, s.bom),
    ))
}

/// The scheduler task.
pub struct Scheduler {
    swap: Arc<Swap>,
    keeper: Arc<Keeper>,
    shutdown: Arc<Shutdown>,
}

impl Scheduler {
    pub fn new(swap: Arc<Swap>, keeper: Arc<Keeper>, shutdown: Arc<Shutdown>) -> Scheduler {
        Scheduler {
            swap,
            keeper,
            shutdown,
        }
    }

    /// Rounds every `reports.check_interval` until draining begins. No store: nothing to do.
    pub async fn run(self) {
        let Ok(store) = self.keeper.store().cloned() else {
            return;
        };
        let cfg = self.swap.current().config.clone();
        if cfg.relay.route == crate::config::Route::Reflect && !cfg.reports.schedules.is_empty() {
            tracing::warn!(
                "reports.schedule: in reflecting mode there is no next hop to send scheduled reports to; they will bounce"
            );
        }
        loop {
            let config = self.swap.current().config.clone();
            let wait = config.reports.check_interval.max(Duration::from_secs(1));
            let (store2, keeper) = (store.clone(), self.keeper.clone());
            let task = smol::unblock(move || round(&store2, &config, &keeper));
            let stop = async {
                self.shutdown.draining().await;
                true
            };
            let done = async {
                task.await;
                false
            };
            if done.or(stop).await {
                return;
            }
            let stop = async {
                self.shutdown.draining().await;
                true
            }
            .or(async {
                smol::Timer::after(wait).await;
                false
            })
            .await;
            if stop {
                return;
            }
        }
    }
}

/// One round (on a blocking thread: it reads the store and builds reports): retention, then
/// every due schedule.
fn round(store: &Store, config: &Arc<Config>, keeper: &Keeper) {
    let now = keeper.clock().now();
    let keep_days = config.reports.keep_days;
    if let Err(e) = store.write_blocking(move |txn| stats::prune(txn, now, keep_days, PRUNE_BATCH))
    {
        tracing::warn!(error = %e, "report counters retention failed");
    }
    let service = Service::new(store.clone(), config.clone(), crate::clock::Clock::system());
    for s in &config.reports.schedules {
        match run_one(store, &service, config, s, now) {
            Ok(Some(id)) => {
                tracing::info!(schedule = %s.name, queue_id = id.0, "scheduled report queued");
                keeper.wake_delivery();
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(schedule = %s.name, error = %e, "scheduled report failed"),
        }
    }
}

/// Sends `s`'s report if its latest due run has not been sent; the queue id when it was queued.
fn run_one(
    store: &Store,
    service: &Service,
    config: &Config,
    s: &Schedule,
    now: u64,
) -> Result<Option<QueueId>, String> {
    let due = due(s, now);
    let name = s.name.clone();
    let last = store
        .read(|txn| stats::last_run(txn, &name))
        .map_err(|e| e.to_string())?;
    if last.is_some_and(|l| l >= due) {
        return Ok(None);
    }
    let range = period(s, due);
    let (file, csv) = build(service, s, range, now).map_err(|e| e.to_string())?;
    let bytes = mail(config, s, range, &file, &csv, now);
    let entry = Queued::own(
        QueueKind::Notice {
            what: "report".into(),
        },
        &s.to,
        "",
        now,
        GIVE_UP,
    );
    store
        .write_blocking(move |txn| {
            // Checked again in the write: another process (a second server on the same store
            // is refused, but a restore may have run) must not make it go out twice.
            if stats::last_run(txn, &name)?.is_some_and(|l| l >= due) {
                return Ok(None);
            }
            let id = queue::insert(txn, entry, &bytes)?;
            stats::set_last_run(txn, &name, due)?;
            Ok::<_, StoreError>(Some(id))
        })
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(every: Every, at: u32) -> Schedule {
        Schedule {
            name: "s".into(),
            report: Which::Summary,
            every,
            to: vec!["a@b.example".into()],
            at,
            types: vec![],
            text: None,
            bom: false,
        }
    }

    // 2026-12-05 was a Saturday; 2026-11-30 a Monday.
    const SAT: u64 = 1_796_428_800; // 2026-12-05T00:00:00Z
    const MON: u64 = SAT - 5 * 86_400;

    #[test]
    fn a_daily_report_is_due_at_its_time_and_covers_the_day_before() {
        let s = schedule(Every::Daily, 6 * 60);
        assert_eq!(time::format(SAT), "2026-12-05T00:00:00Z");
        assert_eq!(due(&s, SAT + 6 * 3600), SAT + 6 * 3600);
        assert_eq!(due(&s, SAT + 5 * 3600), SAT - 86_400 + 6 * 3600);
        let (from, to) = period(&s, SAT + 6 * 3600);
        assert_eq!((from, to), (SAT - 86_400, SAT - 1));
    }

    #[test]
    fn a_weekly_report_is_due_on_mondays_and_covers_the_week_before() {
        let s = schedule(Every::Weekly, 0);
        assert_eq!(time::format(MON), "2026-11-30T00:00:00Z");
        assert_eq!(due(&s, SAT + 3600), MON);
        assert_eq!(due(&s, MON), MON);
        assert_eq!(due(&s, MON - 1), MON - 7 * 86_400);
        assert_eq!(period(&s, MON), (MON - 7 * 86_400, MON - 1));
    }

    #[test]
    fn a_due_report_is_queued_once_and_again_only_when_next_due() {
        let store = Store::memory().unwrap();
        let config = Arc::new(Config::embedded().unwrap());
        let service = Service::new(
            store.clone(),
            config.clone(),
            crate::clock::Clock::fixed(SAT),
        );
        let s = schedule(Every::Daily, 6 * 60);
        let now = SAT + 7 * 3600;
        let first = run_one(&store, &service, &config, &s, now).unwrap();
        assert!(first.is_some());
        // A restart (or the next round) the same day sends nothing more.
        assert_eq!(
            run_one(&store, &service, &config, &s, now + 3600).unwrap(),
            None
        );
        assert_eq!(
            store.read(|txn| stats::last_run(txn, "s")).unwrap(),
            Some(SAT + 6 * 3600)
        );
        // The next day's run goes out.
        assert!(
            run_one(&store, &service, &config, &s, now + 86_400)
                .unwrap()
                .is_some()
        );
        let queued = store
            .read(|txn| txn.len(crate::store::Table::Queue))
            .unwrap();
        assert_eq!(queued, 2);
    }

    #[test]
    fn the_mail_attaches_the_csv_under_its_name() {
        use mail_parser::MimeHeaders;
        let config = Config::embedded().unwrap();
        let s = schedule(Every::Daily, 0);
        let csv = report::csv::write(&[vec!["Section".into(), "Item".into()]], true);
        let m = mail(
            &config,
            &s,
            (0, 86_399),
            "sluice-summary-197001020000.csv",
            &csv,
            86_400,
        );
        let parsed = mail_parser::MessageParser::default().parse(&m).unwrap();
        let att = parsed.attachment(0).unwrap();
        assert_eq!(
            att.attachment_name(),
            Some("sluice-summary-197001020000.csv")
        );
        assert_eq!(att.contents(), csv.as_slice());
        assert_eq!(
            parsed.to().unwrap().first().unwrap().address(),
            Some("a@b.example")
        );
    }
}
