//! How the metrics APIs write their figures, as Kubernetes' `resource.Quantity` and
//! `metav1.Duration` print them: [`cpu`] (nanocores, canonical decimal: `250m`,
//! `1234567n`, `2`), [`memory`] (bytes, canonical binary: `64Ki`, `3Mi`, `1500`),
//! [`milli`] (a custom metric's value: `12500m`), [`duration`] (Go's `2s`, `500ms`,
//! `1m30s`).

use std::time::Duration;

/// CPU in cores as metrics-server writes it: whole nanocores, canonical.
pub fn cpu(cores: f64) -> String {
    let nanocores = (cores.max(0.0) * 1e9).round() as i64;
    decimal(nanocores, -9)
}

/// A value as a quantity of whole thousandths, as custom metrics adapters write them.
pub fn milli(value: f64) -> String {
    decimal((value * 1000.0).round() as i64, -3)
}

/// Bytes as a binary quantity, canonical: a multiple of 1024 takes the largest binary
/// suffix that keeps it whole; below 1024 it is written as a plain number.
pub fn memory(bytes: u64) -> String {
    let Ok(mut value) = i64::try_from(bytes) else {
        return decimal(i64::MAX, 0);
    };
    if value < 1024 {
        return decimal(value, 0);
    }
    let mut exponent = 0;
    while value % 1024 == 0 && exponent < 6 {
        value /= 1024;
        exponent += 1;
    }
    let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][exponent];
    format!("{value}{suffix}")
}

/// `value × 10^scale` in canonical decimal form: trailing zeros moved into the
/// exponent, the exponent brought down to a multiple of three, an SI suffix.
fn decimal(value: i64, scale: i32) -> String {
    if value == 0 {
        return "0".to_string();
    }
    let mut mantissa = value;
    let mut exponent = scale;
    while mantissa % 10 == 0 {
        mantissa /= 10;
        exponent += 1;
    }
    while exponent.rem_euclid(3) != 0 {
        mantissa *= 10;
        exponent -= 1;
    }
    let suffix = match exponent {
        -9 => "n",
        -6 => "u",
        -3 => "m",
        0 => "",
        3 => "k",
        6 => "M",
        9 => "G",
        12 => "T",
        15 => "P",
        18 => "E",
        other => return format!("{mantissa}e{other}"),
    };
    format!("{mantissa}{suffix}")
}

/// A duration as Go's `time.Duration` prints it (`metav1.Duration` in JSON), to the
/// millisecond.
pub fn duration(d: Duration) -> String {
    let millis = d.as_millis();
    if millis == 0 {
        return "0s".to_string();
    }
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let hours = millis / 3_600_000;
    let minutes = millis / 60_000 % 60;
    let seconds = millis / 1000 % 60;
    let fraction = millis % 1000;
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&seconds.to_string());
    if fraction > 0 {
        let digits = format!("{fraction:03}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out.push('s');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_print_as_kubernetes_prints_them() {
        assert_eq!(cpu(0.0), "0");
        assert_eq!(cpu(0.25), "250m");
        assert_eq!(cpu(1.5), "1500m");
        assert_eq!(cpu(2.0), "2");
        assert_eq!(cpu(0.001234567), "1234567n");
        assert_eq!(cpu(0.00000123), "1230n");
        assert_eq!(cpu(0.0000012), "1200n");
        assert_eq!(cpu(0.00001), "10u");
        assert_eq!(cpu(10.0), "10");
        assert_eq!(cpu(-1.0), "0");
        assert_eq!(memory(0), "0");
        assert_eq!(memory(500), "500");
        assert_eq!(memory(1000), "1k");
        assert_eq!(memory(1500), "1500");
        assert_eq!(memory(65536), "64Ki");
        assert_eq!(memory(3 << 20), "3Mi");
        assert_eq!(memory((1 << 30) + 4096), "1048580Ki");
        assert_eq!(milli(12.5), "12500m");
        assert_eq!(milli(2.0), "2");
        assert_eq!(milli(0.0), "0");
        assert_eq!(milli(1500.0), "1500");
        assert_eq!(milli(2000.0), "2k");
    }

    #[test]
    fn durations_print_as_go_prints_them() {
        assert_eq!(duration(Duration::ZERO), "0s");
        assert_eq!(duration(Duration::from_millis(500)), "500ms");
        assert_eq!(duration(Duration::from_secs(2)), "2s");
        assert_eq!(duration(Duration::from_millis(2_500)), "2.5s");
        assert_eq!(duration(Duration::from_millis(1_999)), "1.999s");
        assert_eq!(duration(Duration::from_secs(60)), "1m0s");
        assert_eq!(duration(Duration::from_millis(90_500)), "1m30.5s");
        assert_eq!(duration(Duration::from_secs(3_600)), "1h0m0s");
    }
}
