//! The decoding engine: walks a protobuf message with its field table and writes the JSON
//! object Go's encoder would produce for it.
//!
//! [`merge`] decodes one message into a JSON map, naming the place being decoded with a
//! [`Path`] for error messages. Recursion follows the tables, which are not recursive, so its depth is
//! bounded whatever the input; unknown fields are skipped without recursing.

use super::error::{ProtobufError, Result};
use super::path::Path;
use super::schema::{Message, Shape, Type};
use super::well_known;
use super::wire::{Reader, WireType, expect};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

/// Decodes the message `bytes` with `table` and merges its fields into `out`.
///
/// Merging follows protobuf: a repeated single field keeps its last value, a repeated
/// message field merges, list and map entries accumulate.
pub(crate) fn merge(
    bytes: &[u8],
    table: &Message,
    path: &Path<'_>,
    out: &mut Map<String, Value>,
) -> Result<()> {
    let mut reader = Reader::new(bytes);
    while !reader.is_empty() {
        let (number, wire) = reader.key().map_err(|e| path.malformed(e))?;
        let Some(field) = table.iter().find(|field| field.number == number) else {
            reader.skip(wire).map_err(|e| path.malformed(e))?;
            continue;
        };
        let here = Path::Field(path, field.json);
        match (field.shape, field.ty) {
            (Shape::Unsupported, _) => {
                return Err(ProtobufError::UnsupportedField {
                    path: here.to_string(),
                });
            }
            (Shape::Inline, Type::Msg(inner)) => {
                let bytes = payload(&mut reader, wire, path)?;
                merge(bytes, inner, path, out)?;
            }
            (Shape::Opt | Shape::Keep, Type::Msg(inner)) => {
                let bytes = payload(&mut reader, wire, &here)?;
                let slot = out
                    .entry(field.json)
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(existing) = slot {
                    merge(bytes, inner, &here, existing)?;
                }
            }
            (Shape::Opt, ty) => {
                let value = single(&mut reader, wire, ty, &here)?;
                if is_zero(&value) {
                    out.remove(field.json);
                } else {
                    out.insert(field.json.to_owned(), value);
                }
            }
            (Shape::Keep | Shape::Inline, ty) => {
                let value = single(&mut reader, wire, ty, &here)?;
                out.insert(field.json.to_owned(), value);
            }
            (Shape::List, ty) => {
                let items = array_slot(out, field.json);
                if wire == WireType::Len && ty.wire() == WireType::Varint {
                    // A packed list of varints.
                    let mut packed = Reader::new(payload(&mut reader, wire, &here)?);
                    while !packed.is_empty() {
                        let at = Path::Index(&here, items.len());
                        let raw = packed.varint().map_err(|e| at.malformed(e))?;
                        items.push(scalar(raw, ty));
                    }
                } else {
                    let at = Path::Index(&here, items.len());
                    items.push(single(&mut reader, wire, ty, &at)?);
                }
            }
            (Shape::Map, ty) => {
                let bytes = payload(&mut reader, wire, &here)?;
                let (key, value) = entry(bytes, ty, &here)?;
                object_slot(out, field.json).insert(key, value);
            }
        }
    }
    Ok(())
}

/// Reads one value of `ty` whose key has already been read.
fn single(reader: &mut Reader<'_>, wire: WireType, ty: Type, path: &Path<'_>) -> Result<Value> {
    if ty.wire() == WireType::Varint {
        expect(wire, WireType::Varint).map_err(|e| path.malformed(e))?;
        let raw = reader.varint().map_err(|e| path.malformed(e))?;
        return Ok(scalar(raw, ty));
    }
    let bytes = payload(reader, wire, path)?;
    Ok(match ty {
        Type::Str => Value::String(String::from_utf8_lossy(bytes).into_owned()),
        Type::Bytes => Value::String(STANDARD.encode(bytes)),
        Type::Msg(inner) => {
            let mut object = Map::new();
            merge(bytes, inner, path, &mut object)?;
            Value::Object(object)
        }
        Type::Time => well_known::time(bytes, path)?,
        Type::MicroTime => well_known::micro_time(bytes, path)?,
        Type::IntOrString => well_known::int_or_string(bytes, path)?,
        Type::Quantity => well_known::quantity(bytes, path)?,
        Type::FieldsV1 => well_known::fields_v1(bytes, path)?,
        Type::I32 | Type::I64 | Type::Bool => unreachable!("varint types return above"),
    })
}

/// Renders a varint as `ty` (one of the varint types).
fn scalar(raw: u64, ty: Type) -> Value {
    match ty {
        // int32 is sign-extended to 64 bits on the wire; the low 32 bits are the value.
        Type::I32 => Value::from(raw as u32 as i32),
        Type::Bool => Value::Bool(raw != 0),
        _ => Value::from(raw as i64),
    }
}

/// Reads a length-delimited payload, checking the wire type first.
fn payload<'a>(reader: &mut Reader<'a>, wire: WireType, path: &Path<'_>) -> Result<&'a [u8]> {
    expect(wire, WireType::Len).map_err(|e| path.malformed(e))?;
    reader.bytes().map_err(|e| path.malformed(e))
}

/// Decodes one `map<string, ty>` entry: key is field 1, value field 2.
fn entry(bytes: &[u8], ty: Type, path: &Path<'_>) -> Result<(String, Value)> {
    let mut reader = Reader::new(bytes);
    let mut key = String::new();
    let mut value = None;
    while !reader.is_empty() {
        let (number, wire) = reader.key().map_err(|e| path.malformed(e))?;
        match number {
            1 => key = String::from_utf8_lossy(payload(&mut reader, wire, path)?).into_owned(),
            2 => value = Some(single(&mut reader, wire, ty, path)?),
            _ => reader.skip(wire).map_err(|e| path.malformed(e))?,
        }
    }
    Ok((key, value.unwrap_or_else(|| zero(ty))))
}

/// The JSON of a map value missing from its entry: Go's zero value of the type.
fn zero(ty: Type) -> Value {
    match ty {
        Type::Str | Type::Bytes => Value::String(String::new()),
        Type::I32 | Type::I64 | Type::IntOrString => Value::from(0),
        Type::Bool => Value::Bool(false),
        Type::Msg(_) => Value::Object(Map::new()),
        Type::Quantity => Value::String("0".to_owned()),
        Type::Time | Type::MicroTime | Type::FieldsV1 => Value::Null,
    }
}

/// Whether Go's `omitempty` leaves this value out.
fn is_zero(value: &Value) -> bool {
    match value {
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_i64() == Some(0),
        Value::Bool(b) => !b,
        Value::Null => true,
        Value::Array(_) | Value::Object(_) => false,
    }
}

/// The array under `name`, created if absent.
fn array_slot<'m>(out: &'m mut Map<String, Value>, name: &str) -> &'m mut Vec<Value> {
    let slot = out.entry(name).or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    match slot {
        Value::Array(items) => items,
        _ => unreachable!("the slot was just made an array"),
    }
}

/// The object under `name`, created if absent.
fn object_slot<'m>(out: &'m mut Map<String, Value>, name: &str) -> &'m mut Map<String, Value> {
    let slot = out.entry(name).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(object) => object,
        _ => unreachable!("the slot was just made an object"),
    }
}
