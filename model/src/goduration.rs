//! Durations as Kubernetes and Knative read and print them — Go's `time.ParseDuration` syntax
//! ([`parse`]: `60s`, `1m30s`, `1.5h`, `500ms`, `-5s`) and `time.Duration.String()`
//! ([`format`]: `1h0m0s`) — so that annotation values and error messages read as Knative's.

use std::time::Duration;

/// A parsed duration: Go's are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed {
    /// Whether it is below zero.
    pub negative: bool,
    /// Its magnitude.
    pub magnitude: Duration,
}

/// Parses Go's duration syntax: an optional sign, then one or more decimal numbers each
/// with a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`); `0` alone is allowed.
pub fn parse(text: &str) -> Option<Signed> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(Signed {
            negative,
            magnitude: Duration::ZERO,
        });
    }
    if rest.is_empty() {
        return None;
    }
    let mut nanos: f64 = 0.0;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_len..];
        nanos += value * scale;
    }
    if !nanos.is_finite() || nanos > i64::MAX as f64 {
        return None;
    }
    Some(Signed {
        negative,
        magnitude: Duration::from_nanos(nanos.round() as u64),
    })
}

/// Prints a duration as Go does for whole and fractional seconds: `0s`, `6s`, `1m30s`,
/// `1h0m0s`, `1.5s`, `500ms`.
pub fn format(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    if d < Duration::from_secs(1) {
        let nanos = d.as_nanos();
        return if nanos.is_multiple_of(1_000_000) {
            format!("{}ms", nanos / 1_000_000)
        } else if nanos.is_multiple_of(1_000) {
            format!("{}µs", nanos / 1_000)
        } else {
            format!("{nanos}ns")
        };
    }
    let secs = d.as_secs();
    let fraction = d.subsec_nanos();
    let seconds = if fraction == 0 {
        format!("{}s", secs % 60)
    } else {
        let text = format!("{}.{:09}", secs % 60, fraction);
        format!("{}s", text.trim_end_matches('0'))
    };
    match (secs / 3600, (secs / 60) % 60) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Option<Signed> {
        Some(Signed {
            negative: false,
            magnitude: Duration::from_secs(s),
        })
    }

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse("60s"), secs(60));
        assert_eq!(parse("1m30s"), secs(90));
        assert_eq!(parse("1h"), secs(3600));
        assert_eq!(parse("0"), secs(0));
        assert_eq!(
            parse("1.5s").expect("as the test set up").magnitude,
            Duration::from_millis(1500)
        );
        assert_eq!(
            parse("500ms").expect("as the test set up").magnitude,
            Duration::from_millis(500)
        );
        assert!(parse("-5s").expect("as the test set up").negative);
        for bad in ["", "5", "s", "abc", "1x", "--1s", "1.2.3s"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_as_go() {
        assert_eq!(format(Duration::ZERO), "0s");
        assert_eq!(format(Duration::from_secs(6)), "6s");
        assert_eq!(format(Duration::from_secs(90)), "1m30s");
        assert_eq!(format(Duration::from_secs(3600)), "1h0m0s");
        assert_eq!(format(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format(Duration::from_millis(500)), "500ms");
    }
}
