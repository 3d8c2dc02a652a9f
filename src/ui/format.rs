//! Short human forms of durations, counts and sizes for narrow panels.

use std::time::Duration;

/// `45s`, `3m07s`, `2h05m`.
pub(crate) fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

/// [`duration`] of a number of seconds from an event; `-` when it is not a valid duration.
pub(crate) fn seconds(x: f64) -> String {
    match Duration::try_from_secs_f64(x) {
        Ok(d) => duration(d),
        Err(_) => "-".into(),
    }
}

/// `950`, `215.4k`, `1.23M`, `2.10G` (parameter counts).
pub(crate) fn count(n: usize) -> String {
    let x = n as f64;
    if n < 1_000 {
        format!("{n}")
    } else if n < 1_000_000 {
        format!("{:.1}k", x / 1e3)
    } else if n < 1_000_000_000 {
        format!("{:.2}M", x / 1e6)
    } else {
        format!("{:.2}G", x / 1e9)
    }
}

/// `512 B`, `841.3 KiB`, `3.20 MiB`.
pub(crate) fn bytes(n: usize) -> String {
    let x = n as f64;
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KiB", x / 1024.0)
    } else if n < 1024 * 1024 * 1024 {
        format!("{:.2} MiB", x / (1024.0 * 1024.0))
    } else {
        format!("{:.2} GiB", x / (1024.0 * 1024.0 * 1024.0))
    }
}

/// `0.62×`: `part / whole`, or `-` when the whole is zero.
pub(crate) fn times(part: f64, whole: f64) -> String {
    if whole > 0.0 && part.is_finite() {
        format!("{:.2}×", part / whole)
    } else {
        "-".into()
    }
}

/// `94.1%` of a fraction in [0, 1].
pub(crate) fn percent(x: f64) -> String {
    format!("{:.1}%", 100.0 * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(duration(Duration::from_secs(45)), "45s");
        assert_eq!(duration(Duration::from_secs(187)), "3m07s");
        assert_eq!(duration(Duration::from_secs(7500)), "2h05m");
        assert_eq!(seconds(61.5), "1m01s");
        assert_eq!(seconds(f64::NAN), "-");
        assert_eq!(seconds(-1.0), "-");
        assert_eq!(count(950), "950");
        assert_eq!(count(215_370), "215.4k");
        assert_eq!(count(1_234_567), "1.23M");
        assert_eq!(bytes(861_480), "841.3 KiB");
        assert_eq!(bytes(3_355_443), "3.20 MiB");
        assert_eq!(times(0.62, 1.0), "0.62×");
        assert_eq!(times(1.0, 0.0), "-");
        assert_eq!(percent(0.9412), "94.1%");
    }
}
