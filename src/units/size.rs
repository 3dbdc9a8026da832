//! Byte sizes written for people: exactly, as the configuration writes them (`10 MiB`, `10 GB`,
//! `1500 bytes`: `check-config`, `scan`), or approximately with one decimal (`50.8 KiB`: the
//! approval pages and the notices). The one place sizes are formatted.

/// How the approximate units are labelled (both are 1024-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Labels {
    /// `KiB`, `MiB`, `GiB`, `TiB`.
    Binary,
    /// `KB`, `MB`, `GB`, `TB`, as the notice templates have always shown them.
    Notice,
}

/// Bytes as the configuration writes them: `10 MiB`, `64 KiB`, `10 GB`, else `1500 bytes`.
pub fn exact(b: u64) -> String {
    const UNITS: [(u64, &str); 6] = [
        (1 << 30, "GiB"),
        (1_000_000_000, "GB"),
        (1 << 20, "MiB"),
        (1_000_000, "MB"),
        (1 << 10, "KiB"),
        (1000, "kB"),
    ];
    for (unit, name) in UNITS {
        if b >= unit && b.is_multiple_of(unit) {
            return format!("{} {name}", b / unit);
        }
    }
    format!("{b} bytes")
}

/// Bytes below 1 KiB as they are, else one decimal in the largest binary unit that fits
/// (`50.8 KiB`, or `50.8 KB` with [`Labels::Notice`]).
pub fn approximate(bytes: u64, labels: Labels) -> String {
    let units = match labels {
        Labels::Binary => ["KiB", "MiB", "GiB", "TiB"],
        Labels::Notice => ["KB", "MB", "GB", "TB"],
    };
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", units[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sizes_read_as_written() {
        assert_eq!(exact(10 << 20), "10 MiB");
        assert_eq!(exact(64 << 10), "64 KiB");
        assert_eq!(exact(1 << 30), "1 GiB");
        assert_eq!(exact(1500), "1500 bytes");
        assert_eq!(exact(10_000_000_000), "10 GB");
    }

    #[test]
    fn approximate_sizes_for_pages_and_notices() {
        assert_eq!(approximate(512, Labels::Binary), "512 bytes");
        assert_eq!(approximate(52_000, Labels::Binary), "50.8 KiB");
        assert_eq!(approximate(5 << 20, Labels::Binary), "5.0 MiB");
        assert_eq!(approximate(2560, Labels::Notice), "2.5 KB");
        assert_eq!(approximate(3 << 30, Labels::Notice), "3.0 GB");
    }
}
