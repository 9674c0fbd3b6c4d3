//! Kubernetes resource quantities (`64Mi`, `1G`, `500m`, `1.5Gi`, `129e6`): as byte counts
//! ([`ByteQuantity`], for `resources.limits.memory` and flags such as `--memory`) and as CPU
//! millicores ([`millicores`]).

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
        let (numerator, denominator) = parse(input)?;
        let bytes = u64::try_from(numerator.div_ceil(denominator)).map_err(|_| QuantityError {
            input: input.to_string(),
            reason: "too large",
        })?;
        Ok(Self {
            text: input.trim().to_string(),
            bytes,
        })
    }
}

/// A CPU quantity (`500m`, `2`, `0.25`) in millicores, rounded up.
pub fn millicores(input: &str) -> Result<u64, QuantityError> {
    let (numerator, denominator) = parse(input)?;
    numerator
        .checked_mul(1000)
        .map(|n| n.div_ceil(denominator))
        .and_then(|m| u64::try_from(m).ok())
        .ok_or_else(|| QuantityError {
            input: input.to_string(),
            reason: "too large",
        })
}

/// The exact value of a quantity as numerator / denominator.
fn parse(input: &str) -> Result<(u128, u128), QuantityError> {
    {
        let err = |reason| QuantityError {
            input: input.to_string(),
            reason,
        };
        let text = input.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+'))
            .unwrap_or(text.len());
        let (number, suffix) = text.split_at(split);
        let number = number.strip_prefix('+').unwrap_or(number);
        if number.is_empty() || number.starts_with('.') && number.len() == 1 {
            return Err(err("no number"));
        }
        let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
        if !int_part.chars().all(|c| c.is_ascii_digit())
            || !frac_part.chars().all(|c| c.is_ascii_digit())
        {
            return Err(err("malformed number"));
        }
        // Multiplier as numerator / denominator, to stay exact for `m` and fractions.
        let (num, den): (u128, u128) = match suffix {
            "" => (1, 1),
            "m" => (1, 1000),
            "k" => (1_000, 1),
            "M" => (1_000_000, 1),
            "G" => (1_000_000_000, 1),
            "T" => (1_000_000_000_000, 1),
            "P" => (1_000_000_000_000_000, 1),
            "E" => (1_000_000_000_000_000_000, 1),
            "Ki" => (1 << 10, 1),
            "Mi" => (1 << 20, 1),
            "Gi" => (1 << 30, 1),
            "Ti" => (1 << 40, 1),
            "Pi" => (1 << 50, 1),
            "Ei" => (1 << 60, 1),
            s if s.starts_with(['e', 'E']) => {
                let exp: u32 = s[1..].parse().map_err(|_| err("malformed exponent"))?;
                if exp > 18 {
                    return Err(err("too large"));
                }
                (10u128.pow(exp), 1)
            }
            _ => return Err(err("unknown suffix")),
        };
        if frac_part.len() > 18 || int_part.len() > 20 {
            return Err(err("too many digits"));
        }
        let scale = 10u128.pow(frac_part.len() as u32);
        let digits: u128 = format!("{int_part}{frac_part}")
            .parse()
            .map_err(|_| err("malformed number"))?;
        let numerator = digits.checked_mul(num).ok_or_else(|| err("too large"))?;
        Ok((numerator, scale * den))
    }
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
        assert_eq!(millicores("500m").expect("500m"), 500);
        assert_eq!(millicores("2").expect("2"), 2000);
        assert_eq!(millicores("0.25").expect("0.25"), 250);
        assert_eq!(millicores("1.5").expect("1.5"), 1500);
        assert!(millicores("1Q").is_err());
    }

    #[test]
    fn displays_as_written() {
        assert_eq!(
            "16Mi".parse::<ByteQuantity>().expect("ok").to_string(),
            "16Mi"
        );
    }
}
