//! The wrapper around every Kubernetes protobuf object: the magic `k8s\0`, then a
//! `runtime.Unknown` message.
//!
//! `runtime.Unknown` (apimachinery `pkg/runtime/generated.proto`) is `typeMeta` = 1
//! (`apiVersion` = 1, `kind` = 2), `raw` = 2 (the object's own message), `contentEncoding` = 3
//! and `contentType` = 4. client-go writes the last two as empty strings.

use super::error::{ProtobufError, Result};
use super::wire::{Reader, WireType, expect};

/// The media type of Kubernetes protobuf bodies, as sent in `Content-Type`.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The 4 bytes every Kubernetes protobuf body starts with.
pub(crate) const MAGIC: &[u8; 4] = b"k8s\0";

/// An opened envelope: which kind it carries, and the kind's message bytes.
#[derive(Debug)]
pub(crate) struct Envelope<'a> {
    /// `typeMeta.apiVersion`, e.g. `apps/v1`.
    pub(crate) api_version: String,
    /// `typeMeta.kind`, e.g. `Deployment`.
    pub(crate) kind: String,
    /// The object's protobuf message.
    pub(crate) raw: &'a [u8],
}

/// Checks the magic and reads the `runtime.Unknown` that follows it.
pub(crate) fn open(body: &[u8]) -> Result<Envelope<'_>> {
    let unknown = body
        .strip_prefix(MAGIC)
        .ok_or(ProtobufError::MissingMagic)?;
    let mut reader = Reader::new(unknown);
    let (mut api_version, mut kind) = (String::new(), String::new());
    let (mut raw, mut content_encoding, mut content_type): (&[u8], _, _) = (&[], &[][..], &[][..]);
    while !reader.is_empty() {
        let (number, wire) = reader.key().map_err(ProtobufError::Envelope)?;
        match number {
            1 => (api_version, kind) = type_meta(len(&mut reader, wire)?)?,
            2 => raw = len(&mut reader, wire)?,
            3 => content_encoding = len(&mut reader, wire)?,
            4 => content_type = len(&mut reader, wire)?,
            _ => reader.skip(wire).map_err(ProtobufError::Envelope)?,
        }
    }
    if api_version.is_empty() || kind.is_empty() {
        return Err(ProtobufError::MissingTypeMeta);
    }
    if !content_encoding.is_empty() {
        return Err(ProtobufError::ContentEncoding(lossy(content_encoding)));
    }
    if !content_type.is_empty() && content_type != MEDIA_TYPE.as_bytes() {
        return Err(ProtobufError::ContentType(lossy(content_type)));
    }
    Ok(Envelope {
        api_version,
        kind,
        raw,
    })
}

/// Reads `TypeMeta`: `apiVersion` = 1, `kind` = 2.
fn type_meta(bytes: &[u8]) -> Result<(String, String)> {
    let mut reader = Reader::new(bytes);
    let (mut api_version, mut kind) = (String::new(), String::new());
    while !reader.is_empty() {
        let (number, wire) = reader.key().map_err(ProtobufError::Envelope)?;
        match number {
            1 => api_version = lossy(len(&mut reader, wire)?),
            2 => kind = lossy(len(&mut reader, wire)?),
            _ => reader.skip(wire).map_err(ProtobufError::Envelope)?,
        }
    }
    Ok((api_version, kind))
}

fn len<'a>(reader: &mut Reader<'a>, wire: WireType) -> Result<&'a [u8]> {
    expect(wire, WireType::Len)
        .and_then(|()| reader.bytes())
        .map_err(ProtobufError::Envelope)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Wraps `raw` as client-go does; the inverse of [`open`], for tests.
#[cfg(test)]
pub(crate) fn wrap(api_version: &str, kind: &str, raw: &[u8]) -> Vec<u8> {
    fn field(out: &mut Vec<u8>, number: u8, bytes: &[u8]) {
        out.push(number << 3 | 2);
        let mut len = bytes.len();
        while len >= 0x80 {
            out.push((len as u8) | 0x80);
            len >>= 7;
        }
        out.push(len as u8);
        out.extend_from_slice(bytes);
    }
    let mut type_meta = Vec::new();
    field(&mut type_meta, 1, api_version.as_bytes());
    field(&mut type_meta, 2, kind.as_bytes());
    let mut body = MAGIC.to_vec();
    field(&mut body, 1, &type_meta);
    field(&mut body, 2, raw);
    field(&mut body, 3, b"");
    field(&mut body, 4, b"");
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apiserver::codec::protobuf::WireError;

    #[test]
    fn opens_what_it_wraps() {
        let body = wrap("apps/v1", "Deployment", b"\x0a\x00");
        let envelope = open(&body).expect("valid envelope");
        assert_eq!(envelope.api_version, "apps/v1");
        assert_eq!(envelope.kind, "Deployment");
        assert_eq!(envelope.raw, b"\x0a\x00");
    }

    #[test]
    fn refuses_bad_envelopes() {
        assert!(matches!(
            open(b"{\"kind\":\"Pod\"}"),
            Err(ProtobufError::MissingMagic)
        ));
        assert!(matches!(open(b"k8s"), Err(ProtobufError::MissingMagic)));
        assert!(matches!(
            open(b"k8s\0"),
            Err(ProtobufError::MissingTypeMeta)
        ));
        assert!(matches!(
            open(b"k8s\0\x0a\x05\x0a\x02v1"),
            Err(ProtobufError::Envelope(WireError::Truncated))
        ));
        let mut gzip = wrap("v1", "Pod", b"");
        gzip.extend_from_slice(b"\x1a\x04gzip");
        assert!(matches!(open(&gzip), Err(ProtobufError::ContentEncoding(e)) if e == "gzip"));
        let mut json = wrap("v1", "Pod", b"");
        json.extend_from_slice(b"\x22\x10application/json");
        assert!(
            matches!(open(&json), Err(ProtobufError::ContentType(t)) if t == "application/json")
        );
    }
}
