//! The apimachinery types whose JSON form differs from their protobuf message: `Time`,
//! `MicroTime`, `IntOrString`, `Quantity` and `FieldsV1`.
//!
//! Each function takes the message's payload bytes and returns the JSON Go writes for it.

use super::error::Result;
use super::path::Path;
use super::wire::{Reader, WireType, expect};
use serde_json::Value;

/// `meta/v1` Time (`seconds` = 1, `nanos` = 2): RFC 3339 in UTC with whole seconds, or `null`.
///
/// Go writes a zero `Time` as an empty message and reads nanoseconds as 0, so an empty
/// payload is `null` and `nanos` is ignored.
pub(crate) fn time(bytes: &[u8], path: &Path<'_>) -> Result<Value> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let (seconds, _) = timestamp(bytes, path)?;
    rfc3339(i128::from(seconds) * NANOS_PER_SECOND, false, path)
}

/// `meta/v1` MicroTime: RFC 3339 in UTC with six fractional digits, or `null`.
pub(crate) fn micro_time(bytes: &[u8], path: &Path<'_>) -> Result<Value> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    let (seconds, nanos) = timestamp(bytes, path)?;
    let total = i128::from(seconds) * NANOS_PER_SECOND + i128::from(nanos);
    rfc3339(total, true, path)
}

/// `util/intstr` IntOrString (`type` = 1, `intVal` = 2, `strVal` = 3): a number or a string.
pub(crate) fn int_or_string(bytes: &[u8], path: &Path<'_>) -> Result<Value> {
    let mut reader = Reader::new(bytes);
    let (mut kind, mut int_val, mut str_val) = (0u64, 0i32, String::new());
    while !reader.is_empty() {
        let (number, wire) = reader.key().map_err(|e| path.malformed(e))?;
        match number {
            1 => kind = varint(&mut reader, wire, path)?,
            2 => int_val = varint(&mut reader, wire, path)? as u32 as i32,
            3 => str_val = string(&mut reader, wire, path)?,
            _ => reader.skip(wire).map_err(|e| path.malformed(e))?,
        }
    }
    match kind {
        0 => Ok(Value::from(int_val)),
        1 => Ok(Value::String(str_val)),
        _ => Err(path.invalid("an IntOrString's type must be 0 (int) or 1 (string)")),
    }
}

/// `api/resource` Quantity (`string` = 1): the quantity's string; `"0"` when absent, as Go
/// renders a zero quantity.
pub(crate) fn quantity(bytes: &[u8], path: &Path<'_>) -> Result<Value> {
    let mut reader = Reader::new(bytes);
    let mut text = None;
    while !reader.is_empty() {
        let (number, wire) = reader.key().map_err(|e| path.malformed(e))?;
        match number {
            1 => text = Some(string(&mut reader, wire, path)?),
            _ => reader.skip(wire).map_err(|e| path.malformed(e))?,
        }
    }
    Ok(Value::String(text.unwrap_or_else(|| "0".to_owned())))
}

/// `meta/v1` FieldsV1 (`Raw` = 1): the JSON document held in `Raw`, or `null` when empty.
pub(crate) fn fields_v1(bytes: &[u8], path: &Path<'_>) -> Result<Value> {
    let mut reader = Reader::new(bytes);
    let mut raw: &[u8] = &[];
    while !reader.is_empty() {
        let (number, wire) = reader.key().map_err(|e| path.malformed(e))?;
        match number {
            1 => {
                expect(wire, WireType::Len).map_err(|e| path.malformed(e))?;
                raw = reader.bytes().map_err(|e| path.malformed(e))?;
            }
            _ => reader.skip(wire).map_err(|e| path.malformed(e))?,
        }
    }
    if raw.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(raw).map_err(|_| path.invalid("fieldsV1 must hold a JSON document"))
}

const NANOS_PER_SECOND: i128 = 1_000_000_000;
const SECONDS_PER_DAY: i128 = 86_400;

/// Reads a `Timestamp` message: `seconds` = 1, `nanos` = 2.
fn timestamp(bytes: &[u8], path: &Path<'_>) -> Result<(i64, i32)> {
    let mut reader = Reader::new(bytes);
    let (mut seconds, mut nanos) = (0i64, 0i32);
    while !reader.is_empty() {
        let (number, wire) = reader.key().map_err(|e| path.malformed(e))?;
        match number {
            1 => seconds = varint(&mut reader, wire, path)? as i64,
            2 => nanos = varint(&mut reader, wire, path)? as u32 as i32,
            _ => reader.skip(wire).map_err(|e| path.malformed(e))?,
        }
    }
    Ok((seconds, nanos))
}

/// Formats nanoseconds since the Unix epoch as RFC 3339 in UTC, as Go's `time.RFC3339`
/// (`micros` false) or `metav1.RFC3339Micro` (`micros` true) layouts do.
fn rfc3339(unix_nanos: i128, micros: bool, path: &Path<'_>) -> Result<Value> {
    let seconds = unix_nanos.div_euclid(NANOS_PER_SECOND);
    let fraction = unix_nanos.rem_euclid(NANOS_PER_SECOND);
    let days = seconds.div_euclid(SECONDS_PER_DAY);
    let of_day = seconds.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    if !(0..=9999).contains(&year) {
        return Err(path.invalid("timestamps must fall in the years 0000 to 9999"));
    }
    let (hour, minute, second) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
    let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
    if micros {
        text.push_str(&format!(".{:06}", fraction / 1000));
    }
    text.push('Z');
    Ok(Value::String(text))
}

/// The proleptic Gregorian (year, month, day) of a day count from 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i128) -> (i128, i128, i128) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i128::from(month <= 2);
    (year, month, day)
}

fn varint(reader: &mut Reader<'_>, wire: WireType, path: &Path<'_>) -> Result<u64> {
    expect(wire, WireType::Varint).map_err(|e| path.malformed(e))?;
    reader.varint().map_err(|e| path.malformed(e))
}

fn string(reader: &mut Reader<'_>, wire: WireType, path: &Path<'_>) -> Result<String> {
    expect(wire, WireType::Len).map_err(|e| path.malformed(e))?;
    let bytes = reader.bytes().map_err(|e| path.malformed(e))?;
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64, nanos: i32, micros: bool) -> Value {
        let total = i128::from(seconds) * NANOS_PER_SECOND + i128::from(nanos);
        rfc3339(total, micros, &Path::Root).expect("in range")
    }

    #[test]
    fn formats_times_like_go() {
        assert_eq!(at(0, 0, false), "1970-01-01T00:00:00Z");
        assert_eq!(at(1_714_979_289, 0, false), "2024-05-06T07:08:09Z");
        assert_eq!(at(951_782_400, 0, false), "2000-02-29T00:00:00Z");
        assert_eq!(at(-1, 0, false), "1969-12-31T23:59:59Z");
        assert_eq!(at(253_402_300_799, 0, false), "9999-12-31T23:59:59Z");
        assert_eq!(at(-62_135_596_800, 0, false), "0001-01-01T00:00:00Z");
        assert_eq!(
            at(1_714_979_289, 123_456_789, true),
            "2024-05-06T07:08:09.123456Z"
        );
        assert_eq!(at(1_714_979_289, 0, true), "2024-05-06T07:08:09.000000Z");
    }

    #[test]
    fn refuses_times_outside_four_digit_years() {
        assert!(rfc3339(i128::from(i64::MAX) * NANOS_PER_SECOND, false, &Path::Root).is_err());
        assert!(rfc3339(i128::from(i64::MIN) * NANOS_PER_SECOND, true, &Path::Root).is_err());
        assert!(rfc3339(253_402_300_800 * NANOS_PER_SECOND, false, &Path::Root).is_err());
    }

    #[test]
    fn empty_time_is_null() {
        assert_eq!(time(&[], &Path::Root).expect("empty is valid"), Value::Null);
        assert_eq!(
            micro_time(&[], &Path::Root).expect("empty is valid"),
            Value::Null
        );
        // seconds = 0 written explicitly is the epoch, not null.
        assert_eq!(
            time(&[0x08, 0x00], &Path::Root).expect("valid"),
            "1970-01-01T00:00:00Z"
        );
    }

    #[test]
    fn renders_int_or_string_and_quantity() {
        assert_eq!(int_or_string(&[0x10, 0x50], &Path::Root).expect("int"), 80);
        let named = [0x08, 0x01, 0x1a, 0x04, b'h', b't', b't', b'p'];
        assert_eq!(int_or_string(&named, &Path::Root).expect("string"), "http");
        assert!(int_or_string(&[0x08, 0x02], &Path::Root).is_err());
        assert_eq!(quantity(&[], &Path::Root).expect("zero"), "0");
        assert_eq!(
            quantity(&[0x0a, 2, b'1', b'm'], &Path::Root).expect("1m"),
            "1m"
        );
    }
}
