//! The one duration grammar of Sluice, for config values and CLI flags alike: a whole number and a
//! unit, `ms`, `s`, `m`, `h`, `d` or `w` (`250ms`, `30s`, `5m`, `12h`, `2d`, `1w`; a bare number is
//! seconds), and its formatter, whose output the parser reads back.

use std::time::Duration;

/// The units, longest name first (so `ms` is not read as `m`), with their length in milliseconds.
const UNITS: [(&str, u64); 6] = [
    ("ms", 1),
    ("s", 1000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 7 * 86_400_000),
];

/// Parses `<number>[<unit>]` (spaces around and between allowed). Zero is a valid duration here;
/// callers that need more say so.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| {
        format!("{s:?} is not a duration like \"30s\", \"5m\", \"2d\", \"1w\" or \"250ms\"")
    })?;
    let unit = unit.trim();
    let ms = match UNITS.iter().find(|(name, _)| *name == unit) {
        Some((_, ms)) => *ms,
        None if unit.is_empty() => 1000,
        None => {
            return Err(format!(
                "unknown duration unit {unit:?} in {s:?}: use ms, s, m, h, d or w"
            ));
        }
    };
    n.checked_mul(ms)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{s:?} is too long a duration"))
}

/// A duration as the grammar writes it, in the largest unit up to days that divides it exactly:
/// `2d`, `4h`, `10m`, `30s`, `250ms`.
pub fn format(d: Duration) -> String {
    let s = d.as_secs();
    if d.subsec_nanos() != 0 || s == 0 {
        return format!("{}ms", d.as_millis());
    }
    for (unit, name) in [(86_400, "d"), (3600, "h"), (60, "m")] {
        if s.is_multiple_of(unit) {
            return format!("{}{name}", s / unit);
        }
    }
    format!("{s}s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_of_config_and_cli_parses() {
        let ms = |s: &str| parse(s).map(|d| d.as_millis());
        assert_eq!(ms("250ms"), Ok(250));
        assert_eq!(ms("30s"), Ok(30_000));
        assert_eq!(ms("7"), Ok(7000));
        assert_eq!(ms("5m"), Ok(300_000));
        assert_eq!(ms("12h"), Ok(12 * 3_600_000));
        assert_eq!(ms("2d"), Ok(2 * 86_400_000));
        assert_eq!(ms("1w"), Ok(7 * 86_400_000));
        assert_eq!(ms(" 3 h "), Ok(3 * 3_600_000));
        assert_eq!(ms("0s"), Ok(0));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in [
            "",
            "s",
            "-2d",
            "2d3h",
            "2x",
            "1.5h",
            "2 days",
            "99999999999999999999d",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(parse("30000000000000000w").is_err(), "overflow");
    }

    #[test]
    fn format_is_read_back() {
        for ms in [1, 250, 1000, 90_000, 3_600_000, 86_400_000, 14 * 86_400_000] {
            let d = Duration::from_millis(ms);
            assert_eq!(parse(&format(d)), Ok(d), "{}", format(d));
        }
        assert_eq!(format(Duration::from_secs(30)), "30s");
        assert_eq!(format(Duration::from_secs(600)), "10m");
        assert_eq!(format(Duration::from_secs(2 * 86_400)), "2d");
        assert_eq!(format(Duration::from_millis(250)), "250ms");
    }
}
