//! The protobuf wire format, read-only: varints, field keys, length-delimited payloads, and
//! skipping fields the schema does not know.
//!
//! [`Reader`] never panics and never reads past its slice; every malformed input is a
//! [`WireError`].

use super::error::WireError;

/// How a field's value is laid out on the wire (the low 3 bits of a field key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WireType {
    /// A base-128 varint: integers, bools, enums.
    Varint = 0,
    /// Eight little-endian bytes.
    Fixed64 = 1,
    /// A varint length, then that many bytes: strings, bytes, messages, packed lists.
    Len = 2,
    /// Four little-endian bytes.
    Fixed32 = 5,
}

/// The largest field number protobuf allows (2^29 - 1).
const MAX_FIELD_NUMBER: u64 = (1 << 29) - 1;

/// A cursor over protobuf bytes.
#[derive(Debug, Clone)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// Reads `bytes` from the start.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    /// Whether every byte has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// Reads a base-128 varint of up to 10 bytes.
    pub(crate) fn varint(&mut self) -> Result<u64, WireError> {
        let mut value = 0u64;
        for (i, &byte) in self.rest.iter().enumerate().take(10) {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.rest = &self.rest[i + 1..];
                return Ok(value);
            }
        }
        if self.rest.len() >= 10 {
            Err(WireError::VarintTooLong)
        } else {
            Err(WireError::Truncated)
        }
    }

    /// Reads a field key: the field number and its wire type.
    pub(crate) fn key(&mut self) -> Result<(u32, WireType), WireError> {
        let key = self.varint()?;
        let number = key >> 3;
        let wire = match key & 7 {
            0 => WireType::Varint,
            1 => WireType::Fixed64,
            2 => WireType::Len,
            5 => WireType::Fixed32,
            other => return Err(WireError::BadWireType(other as u8)),
        };
        match u32::try_from(number) {
            Ok(number) if number != 0 && u64::from(number) <= MAX_FIELD_NUMBER => {
                Ok((number, wire))
            }
            _ => Err(WireError::BadFieldNumber(number)),
        }
    }

    /// Reads a length-delimited payload.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], WireError> {
        let len = self.varint()?;
        let len = usize::try_from(len).map_err(|_| WireError::Truncated)?;
        if len > self.rest.len() {
            return Err(WireError::Truncated);
        }
        let (payload, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(payload)
    }

    /// Skips one value of the given wire type.
    pub(crate) fn skip(&mut self, wire: WireType) -> Result<(), WireError> {
        match wire {
            WireType::Varint => self.varint().map(drop),
            WireType::Len => self.bytes().map(drop),
            WireType::Fixed64 => self.advance(8),
            WireType::Fixed32 => self.advance(4),
        }
    }

    fn advance(&mut self, n: usize) -> Result<(), WireError> {
        if n > self.rest.len() {
            return Err(WireError::Truncated);
        }
        self.rest = &self.rest[n..];
        Ok(())
    }
}

/// Checks that a field arrived with the wire type its schema uses.
pub(crate) fn expect(found: WireType, expected: WireType) -> Result<(), WireError> {
    if found == expected {
        Ok(())
    } else {
        Err(WireError::WrongWireType {
            found: found as u8,
            expected: expected as u8,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_varints_of_every_length() {
        for value in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            let mut bytes = Vec::new();
            let mut v = value;
            loop {
                let byte = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    bytes.push(byte);
                    break;
                }
                bytes.push(byte | 0x80);
            }
            let mut reader = Reader::new(&bytes);
            assert_eq!(reader.varint(), Ok(value));
            assert!(reader.is_empty());
        }
    }

    #[test]
    fn rejects_overlong_and_truncated_input() {
        assert_eq!(
            Reader::new(&[0xff; 11]).varint(),
            Err(WireError::VarintTooLong)
        );
        assert_eq!(
            Reader::new(&[0xff, 0xff]).varint(),
            Err(WireError::Truncated)
        );
        assert_eq!(
            Reader::new(&[0x05, b'a']).bytes(),
            Err(WireError::Truncated)
        );
        assert_eq!(Reader::new(&[0x0b]).key(), Err(WireError::BadWireType(3)));
        assert_eq!(
            Reader::new(&[0x02]).key(),
            Err(WireError::BadFieldNumber(0))
        );
        assert_eq!(
            Reader::new(&[0x01, 1, 2]).skip(WireType::Fixed32),
            Err(WireError::Truncated)
        );
    }

    #[test]
    fn skips_each_wire_type() {
        // field 1 varint 150, field 2 fixed64, field 3 "hi", field 4 fixed32, field 5 varint 1
        let bytes = [
            0x08, 0x96, 0x01, 0x11, 1, 2, 3, 4, 5, 6, 7, 8, 0x1a, 2, b'h', b'i', 0x25, 1, 2, 3, 4,
            0x28, 1,
        ];
        let mut reader = Reader::new(&bytes);
        let mut seen = Vec::new();
        while !reader.is_empty() {
            let (number, wire) = reader.key().expect("valid key");
            seen.push(number);
            reader.skip(wire).expect("valid value");
        }
        assert_eq!(seen, [1, 2, 3, 4, 5]);
    }
}
