//! Kubernetes resource quantities (`100m`, `0.5`, `64Mi`, `1Gi`, `500M`, `1e3`), read
//! exactly: a quantity is `mantissa × 10^exp10 × 1024^exp1024` and is only rounded when it
//! is converted, up, as Kubernetes' `MilliValue` and `Value` round — cpu is compared in
//! millicores, memory and pod counts in whole units.

/// A quantity that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {input:?}: {reason}")]
pub struct QuantityError {
    input: String,
    reason: &'static str,
}

/// The exact value of a quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity {
    mantissa: i128,
    exp10: i32,
    exp1024: u32,
}

/// Largest decimal exponent accepted (Kubernetes' largest suffix is `E`, 10^18).
const MAX_EXPONENT: i32 = 60;

impl Quantity {
    /// Reads a quantity: a signed decimal number, then a binary suffix (`Ki`..`Ei`), a
    /// decimal suffix (`n`, `u`, `m`, none, `k`, `M`..`E`) or an exponent (`e3`, `E-2`).
    pub fn parse(input: &str) -> Result<Self, QuantityError> {
        let err = |reason| QuantityError {
            input: input.to_string(),
            reason,
        };
        let text = input.trim();
        let (negative, text) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(split);
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(err("no number"));
        }
        if fraction.contains('.') {
            return Err(err("malformed number"));
        }
        let mut mantissa: i128 = 0;
        for digit in whole.bytes().chain(fraction.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(digit - b'0')))
                .ok_or_else(|| err("too many digits"))?;
        }
        let fraction_len = i32::try_from(fraction.len()).map_err(|_| err("too many digits"))?;
        let (exp10, exp1024) = match suffix {
            "Ki" => (0, 1),
            "Mi" => (0, 2),
            "Gi" => (0, 3),
            "Ti" => (0, 4),
            "Pi" => (0, 5),
            "Ei" => (0, 6),
            "n" => (-9, 0),
            "u" => (-6, 0),
            "m" => (-3, 0),
            "" => (0, 0),
            "k" => (3, 0),
            "M" => (6, 0),
            "G" => (9, 0),
            "T" => (12, 0),
            "P" => (15, 0),
            "E" => (18, 0),
            _ => {
                let exponent: i32 = suffix
                    .strip_prefix(['e', 'E'])
                    .ok_or_else(|| err("unknown suffix"))?
                    .parse()
                    .map_err(|_| err("malformed exponent"))?;
                if exponent.abs() > MAX_EXPONENT {
                    return Err(err("exponent out of range"));
                }
                (exponent, 0)
            }
        };
        Ok(Self {
            mantissa: if negative { -mantissa } else { mantissa },
            exp10: exp10 - fraction_len,
            exp1024,
        })
    }

    /// The value in thousandths, rounded up (Kubernetes' `MilliValue`); saturates.
    pub fn milli_value(&self) -> i64 {
        self.scaled_ceil(1000)
    }

    /// The value, rounded up (Kubernetes' `Value`); saturates.
    pub fn value(&self) -> i64 {
        self.scaled_ceil(1)
    }

    /// `ceil(self × scale)`, saturated to the `i64` range.
    fn scaled_ceil(&self, scale: i128) -> i64 {
        let saturate = if self.mantissa < 0 {
            i64::MIN
        } else {
            i64::MAX
        };
        let exact = (|| {
            let mut n = self.mantissa.checked_mul(scale)?;
            n = n.checked_mul(1024i128.checked_pow(self.exp1024)?)?;
            let power = 10i128.checked_pow(self.exp10.unsigned_abs());
            if self.exp10 >= 0 {
                n.checked_mul(power?)
            } else {
                // 10^39 and beyond exceed i128: the value rounds to 0 (or up to 1).
                Some(power.map_or(i128::from(n > 0), |d| ceil_div(n, d)))
            }
        })();
        exact
            .and_then(|n| i64::try_from(n).ok())
            .unwrap_or(saturate)
    }
}

/// `n / d` rounded towards positive infinity (`d > 0`).
fn ceil_div(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d != 0 && n > 0 { q + 1 } else { q }
}

/// Millicores of a cpu quantity; an unreadable one counts as 0, as it cannot have been
/// stored through validation.
pub fn millicores(text: &str) -> i64 {
    Quantity::parse(text).map_or(0, |q| q.milli_value())
}

/// Whole units (bytes, pods) of a quantity; an unreadable one counts as 0.
pub fn units(text: &str) -> i64 {
    Quantity::parse(text).map_or(0, |q| q.value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_reads_in_millicores() {
        assert_eq!(millicores("100m"), 100);
        assert_eq!(millicores("0.5"), 500);
        assert_eq!(millicores(".25"), 250);
        assert_eq!(millicores("2"), 2000);
        assert_eq!(millicores("1.5"), 1500);
        assert_eq!(millicores("2500u"), 3, "rounded up, as MilliValue does");
        assert_eq!(millicores("1e-3"), 1);
        assert_eq!(millicores("1k"), 1_000_000);
    }

    #[test]
    fn memory_reads_in_bytes() {
        assert_eq!(units("64Mi"), 64 << 20);
        assert_eq!(units("1Gi"), 1 << 30);
        assert_eq!(units("1.5Gi"), 3 << 29);
        assert_eq!(units("500M"), 500_000_000);
        assert_eq!(units("1e3"), 1000);
        assert_eq!(units("129E6"), 129_000_000);
        assert_eq!(units("16Ki"), 16 * 1024);
        assert_eq!(units("1500m"), 2, "a fraction of a byte rounds up");
        assert_eq!(units("123"), 123);
    }

    #[test]
    fn huge_values_saturate_instead_of_wrapping() {
        assert_eq!(units("8Ei"), i64::MAX);
        assert_eq!(units("1e60"), i64::MAX);
        assert_eq!(units("1e-60"), 1);
        assert_eq!(units("-1"), -1);
    }

    #[test]
    fn nonsense_is_rejected() {
        for bad in [
            "", "Mi", "12Q", "1.2.3Mi", "abc", ".", "1e", "1e999", "5 Mi",
        ] {
            assert!(Quantity::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(millicores("lots"), 0);
    }
}
