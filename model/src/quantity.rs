//! Kubernetes resource quantities (`64Mi`, `1G`, `500m`, `1.5Gi`, `129e6`, `100n`), read
//! exactly: a [`Quantity`] is `mantissa × 10^exp10 × 1024^exp1024` and is only rounded when
//! it is converted, up, as Kubernetes' `MilliValue` and `Value` round.
//!
//! Strict readings for what a user wrote ([`ByteQuantity`] for `resources.limits.memory`
//! and flags such as `--memory`, [`cpu_millicores`] for cpu limits) refuse negative and
//! overflowing values; lenient ones for objects that passed validation ([`millicores`],
//! [`units`]) count an unreadable quantity as 0 and saturate.

use std::fmt;

/// A quantity that could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid quantity {input:?}: {reason} (expected e.g. 64Mi, 512M, 1Gi or 1048576)")]
pub struct QuantityError {
    input: String,
    reason: &'static str,
}

/// A byte count written as a Kubernetes quantity; displays as it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByteQuantity {
    text: String,
    bytes: u64,
}

impl ByteQuantity {
    /// The value in bytes, rounded up to a whole byte.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl fmt::Display for ByteQuantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for ByteQuantity {
    type Err = QuantityError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Ok(Self {
            text: input.trim().to_string(),
            bytes: non_negative(input, 1)?,
        })
    }
}

/// A CPU quantity (`500m`, `2`, `0.25`) in millicores, rounded up; negative or
/// overflowing quantities are errors.
pub fn cpu_millicores(input: &str) -> Result<u64, QuantityError> {
    non_negative(input, 1000)
}

/// `ceil(input × scale)` of a quantity a user wrote, which must be neither negative nor
/// beyond `u64`.
fn non_negative(input: &str, scale: i128) -> Result<u64, QuantityError> {
    let err = |reason| QuantityError {
        input: input.to_string(),
        reason,
    };
    let amount = Quantity::parse(input)?;
    if amount.is_negative() {
        return Err(err("negative"));
    }
    amount
        .scaled_ceil(scale)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| err("too large"))
}

/// Largest decimal exponent accepted (Kubernetes' largest suffix is `E`, 10^18).
const MAX_EXPONENT: i32 = 60;

/// The exact value of a quantity: `mantissa × 10^exp10 × 1024^exp1024`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    mantissa: i128,
    exp10: i32,
    exp1024: u32,
}

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
        let number_len = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(number_len);
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
                let exponent = suffix
                    .strip_prefix(['e', 'E'])
                    .ok_or_else(|| err("unknown suffix"))?
                    .parse::<i32>()
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

    /// Whether the quantity is zero.
    pub fn is_zero(&self) -> bool {
        self.mantissa == 0
    }

    /// Whether the quantity is below zero.
    pub fn is_negative(&self) -> bool {
        self.mantissa < 0
    }

    /// `ceil(self × scale)`, or `None` on overflow.
    pub fn scaled_ceil(&self, scale: i128) -> Option<i128> {
        let mut n = self.mantissa.checked_mul(scale)?;
        n = n.checked_mul(1024i128.checked_pow(self.exp1024)?)?;
        let power = 10i128.checked_pow(self.exp10.unsigned_abs());
        if self.exp10 >= 0 {
            n.checked_mul(power?)
        } else {
            // 10^39 and beyond exceed i128: the value rounds to 0 (or up to 1).
            Some(power.map_or(i128::from(n > 0), |d| ceil_div(n, d)))
        }
    }

    /// The value in thousandths, rounded up (Kubernetes' `MilliValue`); saturates.
    pub fn milli_value(&self) -> i64 {
        self.saturated(1000)
    }

    /// The value, rounded up (Kubernetes' `Value`); saturates.
    pub fn value(&self) -> i64 {
        self.saturated(1)
    }

    /// `ceil(self × scale)`, saturated to the `i64` range.
    fn saturated(&self, scale: i128) -> i64 {
        let saturate = if self.mantissa < 0 {
            i64::MIN
        } else {
            i64::MAX
        };
        self.scaled_ceil(scale)
            .and_then(|n| i64::try_from(n).ok())
            .unwrap_or(saturate)
    }
}

/// `n / d` rounded towards positive infinity.
pub fn ceil_div(n: i128, d: i128) -> i128 {
    let q = n / d;
    if n % d != 0 && (n > 0) == (d > 0) {
        q + 1
    } else {
        q
    }
}

/// Millicores of a cpu quantity in a validated object; an unreadable one counts as 0, as
/// it cannot have been stored through validation.
pub fn millicores(text: &str) -> i64 {
    Quantity::parse(text).map_or(0, |q| q.milli_value())
}

/// Whole units (bytes, pods) of a quantity in a validated object; an unreadable one counts
/// as 0.
pub fn units(text: &str) -> i64 {
    Quantity::parse(text).map_or(0, |q| q.value())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(s: &str) -> u64 {
        s.parse::<ByteQuantity>().expect(s).bytes()
    }

    #[test]
    fn parses_kubernetes_quantities() {
        assert_eq!(bytes("64Mi"), 64 << 20);
        assert_eq!(bytes("1Gi"), 1 << 30);
        assert_eq!(bytes("1.5Gi"), 3 << 29);
        assert_eq!(bytes("512M"), 512_000_000);
        assert_eq!(bytes("129e6"), 129_000_000);
        assert_eq!(bytes("1048576"), 1_048_576);
        assert_eq!(bytes("1500m"), 2);
        assert_eq!(bytes("16Ki"), 16 * 1024);
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "Mi",
            "12Q",
            "1.2.3Mi",
            "-5Mi",
            "99999999999999999999Ei",
            "1e99",
        ] {
            assert!(bad.parse::<ByteQuantity>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn cpu_in_millicores() {
        assert_eq!(cpu_millicores("500m").expect("500m"), 500);
        assert_eq!(cpu_millicores("2").expect("2"), 2000);
        assert_eq!(cpu_millicores("0.25").expect("0.25"), 250);
        assert_eq!(cpu_millicores("1.5").expect("1.5"), 1500);
        assert!(cpu_millicores("1Q").is_err());
        assert!(cpu_millicores("-1").is_err());
    }

    #[test]
    fn amounts_are_exact() {
        let q = |s: &str| Quantity::parse(s).expect(s);
        assert_eq!(q("1e3").scaled_ceil(1), Some(1000));
        assert_eq!(q("1.5k").scaled_ceil(1), Some(1500));
        assert_eq!(q("100n").scaled_ceil(1000), Some(1));
        assert_eq!(q("2Gi").scaled_ceil(1), Some(2 << 30));
        assert_eq!(q(".5").scaled_ceil(1000), Some(500));
        assert_eq!(q("-1").scaled_ceil(1), Some(-1));
        for bad in ["", "abc", "1.2.3", "1Q", "."] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn displays_as_written() {
        assert_eq!(
            "16Mi".parse::<ByteQuantity>().expect("ok").to_string(),
            "16Mi"
        );
    }

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
