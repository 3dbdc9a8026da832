//! Dates and times, the one place that turns Unix seconds into a calendar date and back: parsing the
//! CLI's `--since`/`--until` (RFC 3339, a plain UTC date, or a span back from now such as `12h` or
//! `2d`), and formatting, as RFC 3339 UTC ([`format`]: CLI tables, JSON, certificates) or to the
//! minute for people ([`minutes`]: the approval pages). Pure: `now` comes in.

/// Largest span a relative time may name (100 years), so the arithmetic cannot overflow.
const MAX_SPAN: u64 = 100 * 365 * 86_400;

/// Days from 1970-01-01 to the civil date (proleptic Gregorian; Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Unix seconds as a date and a time of day: (year, month, day), (hour, minute, second) in UTC.
/// Unix seconds as the UTC calendar date and time of day: `((year, month, day), (h, m, s))`.
pub(crate) fn civil(t: u64) -> ((i64, u32, u32), (i64, i64, i64)) {
    let secs = i64::try_from(t).unwrap_or(i64::MAX);
    let s = secs.rem_euclid(86_400);
    (
        civil_from_days(secs.div_euclid(86_400)),
        (s / 3600, s / 60 % 60, s % 60),
    )
}

/// Unix seconds as `2024-05-01T08:00:00Z`.
pub fn format(t: u64) -> String {
    let ((y, m, d), (h, mi, s)) = civil(t);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Unix milliseconds as `2024-05-01T08:00:00.123Z` (RFC 3339 with milliseconds: RFC 5424's
/// TIMESTAMP and LEEF's `devTime` as SIEMs parse them).
pub fn format_millis(ms: u64) -> String {
    let ((y, m, d), (h, mi, s)) = civil(ms / 1000);
    format!(
        "{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        ms % 1000
    )
}

/// Unix seconds as BSD syslog writes them (RFC 3164 TIMESTAMP, UTC): `Jan  5 08:00:00`, the day
/// padded with a space.
pub fn bsd(t: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let ((_, m, d), (h, mi, s)) = civil(t);
    let month = MONTHS.get(m as usize - 1).copied().unwrap_or("Jan");
    format!("{month} {d:>2} {h:02}:{mi:02}:{s:02}")
}

/// Unix seconds to the minute, for people: `2024-03-01 14:05 UTC`.
pub fn minutes(t: u64) -> String {
    let ((y, m, d), (h, mi, _)) = civil(t);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02} UTC")
}

fn number(s: &str, digits: usize) -> Option<u32> {
    (s.len() == digits && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// `2024-05-01` -> days since the epoch.
fn date(s: &str) -> Option<i64> {
    let mut it = s.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let (y, m, d) = (i64::from(number(y, 4)?), number(m, 2)?, number(d, 2)?);
    ((1..=12).contains(&m) && (1..=days_in_month(y, m)).contains(&d))
        .then(|| days_from_civil(y, m, d))
}

/// `08:00:00[.123]` -> seconds into the day (a leap second 60 counts as 59).
fn clock(s: &str) -> Option<i64> {
    let s = s.split_once('.').map_or(s, |(whole, frac)| {
        if !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit()) {
            whole
        } else {
            "invalid"
        }
    });
    let mut it = s.split(':');
    let (h, m, sec) = (
        number(it.next()?, 2)?,
        number(it.next()?, 2)?,
        number(it.next()?, 2)?,
    );
    if it.next().is_some() || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(sec.min(59)))
}

/// `Z`, `+02:00` or `-05:30` -> seconds east of UTC.
fn offset(s: &str) -> Option<i64> {
    if s.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match s.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = s[1..].split_once(':')?;
    let (h, m) = (number(h, 2)?, number(m, 2)?);
    (h <= 23 && m <= 59).then(|| sign * (i64::from(h) * 3600 + i64::from(m) * 60))
}

/// A span back from now in the one duration grammar ([`crate::units::duration`]), with its unit
/// written (a bare number is not a time) -> whole seconds.
fn span(s: &str) -> Option<u64> {
    if !s.ends_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let secs = crate::units::duration::parse(s).ok()?.as_secs();
    (secs <= MAX_SPAN).then_some(secs)
}

/// Parses a time flag into Unix seconds: RFC 3339 (`2024-05-01T08:00:00Z`, `...+02:00`), a date
/// (`2024-05-01`, midnight UTC), or a span back from `now` (`12h`, `2d`).
pub fn parse(s: &str, now: u64) -> Result<u64, String> {
    let s = s.trim();
    let bad = || {
        format!(
            "{s:?} is not a time: use RFC 3339 (2024-05-01T08:00:00Z), a date (2024-05-01), or a span back from now (30m, 12h, 2d, 1w)"
        )
    };
    if let Some(secs) = span(s) {
        return Ok(now.saturating_sub(secs));
    }
    let secs = if let Some(days) = date(s) {
        days * 86_400
    } else {
        let (d, rest) = s.split_at_checked(10).ok_or_else(bad)?;
        let rest = rest.strip_prefix(['T', 't', ' ']).ok_or_else(bad)?;
        let zone = rest.find(['Z', 'z', '+', '-']).ok_or_else(bad)?;
        let (c, z) = rest.split_at(zone);
        date(d).ok_or_else(bad)? * 86_400 + clock(c).ok_or_else(bad)? - offset(z).ok_or_else(bad)?
    };
    u64::try_from(secs).map_err(|_| format!("{s:?} is before 1970"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000; // 2023-11-14T22:13:20Z

    #[test]
    fn formats_unix_seconds_as_rfc3339_utc() {
        assert_eq!(format(0), "1970-01-01T00:00:00Z");
        assert_eq!(format(NOW), "2023-11-14T22:13:20Z");
        assert_eq!(format(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn parses_rfc3339_dates_and_spans() {
        assert_eq!(parse("2023-11-14T22:13:20Z", 0), Ok(NOW));
        assert_eq!(parse("2023-11-14t22:13:20.5z", 0), Ok(NOW));
        assert_eq!(parse("2023-11-15T00:13:20+02:00", 0), Ok(NOW));
        assert_eq!(parse("2023-11-14T17:13:20-05:00", 0), Ok(NOW));
        assert_eq!(parse("2023-11-14", 0), Ok(NOW - (22 * 3600 + 13 * 60 + 20)));
        assert_eq!(parse("2d", NOW), Ok(NOW - 2 * 86_400));
        assert_eq!(parse("12h", NOW), Ok(NOW - 12 * 3600));
        assert_eq!(parse("30m", NOW), Ok(NOW - 1800));
        assert_eq!(parse("1w", NOW), Ok(NOW - 7 * 86_400));
        assert_eq!(parse("5s", 3), Ok(0), "clamped at the epoch");
        // The config's unit is a CLI unit too (one grammar).
        assert_eq!(parse("90000ms", NOW), Ok(NOW - 90));
    }

    #[test]
    fn formats_to_the_minute_for_people() {
        assert_eq!(minutes(0), "1970-01-01 00:00 UTC");
        assert_eq!(minutes(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(minutes(NOW), "2023-11-14 22:13 UTC");
        assert_eq!(minutes(4_102_444_799), "2099-12-31 23:59 UTC");
    }

    #[test]
    fn formats_for_syslog_and_siems() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_millis(1_065_910_455_003), "2003-10-11T22:14:15.003Z");
        assert_eq!(bsd(0), "Jan  1 00:00:00");
        assert_eq!(bsd(1_065_910_455), "Oct 11 22:14:15");
        assert_eq!(bsd(951_782_400), "Feb 29 00:00:00");
    }

    #[test]
    fn round_trips_through_format() {
        for t in [0, 86_399, 951_782_400, NOW, 4_102_444_800] {
            assert_eq!(parse(&format(t), 0), Ok(t));
        }
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        for bad in [
            "",
            "yesterday",
            "2d3h",
            "-2d",
            "2023-13-01",
            "2023-02-29",
            "2023-11-14T25:00:00Z",
            "2023-11-14T22:13:20",
            "2023-11-14T22:13Z",
            "2023-11-14T22:13:20+2",
            "1969-12-31",
            "99999999999999999999d",
            "2023-11-14T22:13:20.Z",
            "2023-11-1é",
        ] {
            assert!(parse(bad, NOW).is_err(), "{bad:?}");
        }
    }
}
