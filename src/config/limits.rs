//! The `[decomposition]` and `[pdf]` sections: what inspecting one message may spend (nesting,
//! entries, extracted bytes, compression ratio, parts) and the sandbox of the PDF text child (memory,
//! CPU, wall time, output). Defaults in `assets/sluice.toml`; every value within a sane range.

use std::time::Duration;

use super::raw;
use super::value::{Ctx, Error, Loc, parse_duration};
use crate::decompose::Limits;
use crate::decompose::pdf_child::ChildLimits;

type Pair<T> = (Option<T>, Option<T>);

/// The decomposition limits; `max_text_bytes` is `inspection.max_scan_bytes` (one key, not two).
pub(super) fn decomposition(
    cx: &Ctx<'_>,
    (user, def): Pair<raw::Decomposition>,
    max_text_bytes: u64,
) -> Result<Limits, Error> {
    let (u, d) = (user.unwrap_or_default(), def.unwrap_or_default());
    Ok(Limits {
        max_depth: cx
            .pick(u.max_depth, d.max_depth, "decomposition.max_depth")?
            .range(1, 64)? as u32,
        max_entries_per_container: cx
            .pick(
                u.max_entries_per_container,
                d.max_entries_per_container,
                "decomposition.max_entries_per_container",
            )?
            .range(1, 1_000_000)? as u32,
        max_entries_total: cx
            .pick(
                u.max_entries_total,
                d.max_entries_total,
                "decomposition.max_entries_total",
            )?
            .range(1, 10_000_000)? as u32,
        max_extracted_bytes: cx
            .pick(
                u.max_extracted_bytes,
                d.max_extracted_bytes,
                "decomposition.max_extracted_bytes",
            )?
            .range(1 << 16, 1 << 36)?,
        max_ratio: cx
            .pick(u.max_ratio, d.max_ratio, "decomposition.max_ratio")?
            .range(2, 100_000)?,
        ratio_floor: cx
            .pick(u.ratio_floor, d.ratio_floor, "decomposition.ratio_floor")?
            .range(0, 1 << 32)?,
        max_parts: cx
            .pick(u.max_parts, d.max_parts, "decomposition.max_parts")?
            .range(1, 1_000_000)? as u32,
        max_text_bytes,
    })
}

/// The PDF child's sandbox.
pub(super) fn pdf(cx: &Ctx<'_>, (user, def): Pair<raw::Pdf>) -> Result<ChildLimits, Error> {
    let (u, d) = (user.unwrap_or_default(), def.unwrap_or_default());
    let timeout = within(
        cx.pick(u.timeout, d.timeout, "pdf.timeout")?,
        Duration::from_millis(100),
        Duration::from_secs(600),
    )?;
    let cpu_time = within(
        cx.pick(u.cpu_time, d.cpu_time, "pdf.cpu_time")?,
        Duration::from_secs(1),
        Duration::from_secs(600),
    )?;
    Ok(ChildLimits {
        timeout,
        // RLIMIT_CPU counts whole seconds; a fraction is rounded up.
        cpu_seconds: cpu_time.as_secs() + u64::from(cpu_time.subsec_nanos() > 0),
        memory_bytes: cx
            .pick(u.memory, d.memory, "pdf.memory")?
            .range(64 << 20, 1 << 40)?,
        max_output: cx
            .pick(u.max_output, d.max_output, "pdf.max_output")?
            .range(4096, 1 << 30)? as usize,
    })
}

/// A duration from `min` to `max`, else an error at the value.
fn within(v: Loc<'_, String>, min: Duration, max: Duration) -> Result<Duration, Error> {
    v.parse_with(|s| {
        let d = parse_duration(s)?;
        if (min..=max).contains(&d) {
            Ok(d)
        } else {
            Err(format!(
                "{s} is out of range: expected {} to {}",
                crate::units::duration::format(min),
                crate::units::duration::format(max)
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::config::Config;

    fn err(text: &str) -> String {
        Config::parse(text, "test.toml").unwrap_err().to_string()
    }

    #[test]
    fn the_shipped_limits_are_the_documented_ones() {
        let c = Config::embedded().unwrap();
        let l = &c.decomposition;
        assert_eq!(
            (
                l.max_depth,
                l.max_entries_per_container,
                l.max_entries_total
            ),
            (8, 1000, 10_000)
        );
        assert_eq!((l.max_extracted_bytes, l.max_ratio), (64 << 20, 100));
        assert_eq!((l.ratio_floor, l.max_parts), (1 << 20, 1000));
        assert_eq!(l.max_text_bytes, c.inspection.max_scan_bytes as u64);
        let p = &c.pdf;
        assert_eq!((p.memory_bytes, p.cpu_seconds), (1 << 30, 5));
        assert_eq!(
            (p.timeout, p.max_output),
            (Duration::from_secs(10), 8 << 20)
        );
        assert_eq!(
            (c.relay.max_reply_line, c.relay.max_reply_lines),
            (4096, 128)
        );
    }

    #[test]
    fn every_limit_can_be_set() {
        let c = Config::parse(
            "[relay]\nmax_reply_line = 1000\nmax_reply_lines = 5\n\
             [inspection]\nmax_scan_bytes = 65536\n\
             [decomposition]\nmax_depth = 2\nmax_entries_per_container = 3\n\
             max_entries_total = 4\nmax_extracted_bytes = 1048576\nmax_ratio = 20\n\
             ratio_floor = 0\nmax_parts = 7\n\
             [pdf]\nmemory = 268435456\ncpu_time = \"1500ms\"\ntimeout = \"2s\"\n\
             max_output = 4096\n",
            "test.toml",
        )
        .unwrap();
        let l = &c.decomposition;
        assert_eq!((l.max_depth, l.max_entries_per_container), (2, 3));
        assert_eq!((l.max_entries_total, l.max_extracted_bytes), (4, 1 << 20));
        assert_eq!((l.max_ratio, l.ratio_floor, l.max_parts), (20, 0, 7));
        assert_eq!(l.max_text_bytes, 65536);
        let p = &c.pdf;
        // RLIMIT_CPU is in whole seconds: a fraction rounds up.
        assert_eq!((p.memory_bytes, p.cpu_seconds), (256 << 20, 2));
        assert_eq!((p.timeout, p.max_output), (Duration::from_secs(2), 4096));
        assert_eq!((c.relay.max_reply_line, c.relay.max_reply_lines), (1000, 5));
    }

    #[test]
    fn limits_out_of_range_are_errors_at_the_value() {
        assert_eq!(
            err("[decomposition]\nmax_depth = 0\n"),
            "test.toml:2:13: 0 is out of range: expected 1 to 64"
        );
        assert_eq!(
            err("[decomposition]\nmax_ratio = 1\n"),
            "test.toml:2:13: 1 is out of range: expected 2 to 100000"
        );
        assert!(err("[decomposition]\nmax_parts = 0\n").starts_with("test.toml:2:13: "));
        assert_eq!(
            err("[pdf]\ntimeout = \"1h\"\n"),
            "test.toml:2:11: 1h is out of range: expected 100ms to 10m"
        );
        assert!(err("[pdf]\ncpu_time = \"0s\"\n").starts_with("test.toml:2:12: "));
        assert!(err("[pdf]\nmemory = 1024\n").starts_with("test.toml:2:10: "));
        assert!(err("[pdf]\ntimeout = \"soon\"\n").starts_with("test.toml:2:11: "));
        assert!(err("[relay]\nmax_reply_line = 100\n").starts_with("test.toml:2:18: "));
        assert!(err("[relay]\nmax_reply_lines = 0\n").starts_with("test.toml:2:19: "));
        assert!(err("[decomposition]\nmax_depht = 3\n").starts_with("test.toml:2:1: "));
    }

    #[test]
    fn check_config_shows_the_limits() {
        let c = Config::parse("[decomposition]\nmax_depth = 3\n", "test.toml").unwrap();
        let text = crate::config::show::summary(&c);
        assert!(text.contains("[decomposition]"), "{text}");
        assert!(text.contains("max_depth = 3"), "{text}");
        assert!(text.contains("max_extracted_bytes = 64 MiB"), "{text}");
        assert!(text.contains("[pdf]"), "{text}");
        assert!(text.contains("cpu_time = 5s"), "{text}");
        assert!(text.contains("timeout = 10s"), "{text}");
        assert!(text.contains("max_reply_lines = 128"), "{text}");
    }
}
