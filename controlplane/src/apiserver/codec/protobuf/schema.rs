//! The field tables that drive decoding: for each protobuf field number of a Kubernetes
//! message, its JSON name, its [`Type`] and its [`Shape`].
//!
//! A message is a `&[Field]` (a [`Message`]). The tables in the sibling modules are written
//! with the constructors here, one line per field and in the Go struct's order: [`opt`] and
//! [`keep`] for single values, [`msg`]/[`msgs`] for nested messages, [`list`], [`map`],
//! [`inline`] for embedded structs, and [`unsupported`]. Field numbers and JSON names come
//! from `k8s.io/api/*/generated.proto` (as mirrored by the `k8s-pb` crate) and the Go JSON tags.

/// The fields of one protobuf message. Numbers that are not listed are skipped.
pub(crate) type Message = [Field];

/// One field of a message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    /// The protobuf field number.
    pub(crate) number: u32,
    /// The JSON field name; unused for [`Shape::Inline`].
    pub(crate) json: &'static str,
    /// How one value is encoded and rendered.
    pub(crate) ty: Type,
    /// How often the field occurs and when it appears in JSON.
    pub(crate) shape: Shape,
}

/// How one value is encoded on the wire and rendered in JSON.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Type {
    /// `string`: a JSON string (invalid UTF-8 becomes U+FFFD, as in Go's JSON encoder).
    Str,
    /// `int32`: a JSON number.
    I32,
    /// `int64`: a JSON number.
    I64,
    /// `bool`.
    Bool,
    /// `bytes`: a base64 string, as Go encodes `[]byte`.
    Bytes,
    /// A nested message: a JSON object.
    Msg(&'static Message),
    /// `meta/v1` Time: RFC 3339 with seconds, or `null` when zero.
    Time,
    /// `meta/v1` MicroTime: RFC 3339 with microseconds, or `null` when zero.
    MicroTime,
    /// `util/intstr` IntOrString: a JSON number or string.
    IntOrString,
    /// `api/resource` Quantity: its canonical string.
    Quantity,
    /// `meta/v1` FieldsV1: the JSON document it carries.
    FieldsV1,
}

impl Type {
    /// The wire type a single value of this type uses.
    pub(crate) fn wire(self) -> super::wire::WireType {
        use super::wire::WireType;
        match self {
            Type::I32 | Type::I64 | Type::Bool => WireType::Varint,
            _ => WireType::Len,
        }
    }
}

/// How often a field occurs and when it appears in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A Go value field tagged `omitempty`: left out of JSON when it is zero (`""`, `0`,
    /// `false`). Go's protobuf encoder writes such fields even when zero.
    Opt,
    /// A Go pointer field, a field without `omitempty`, or a message: in JSON whenever it is
    /// on the wire, zero or not (`replicas: 0` must not become "unset").
    Keep,
    /// A repeated field: a JSON array, left out when empty.
    List,
    /// A `map<string, …>` field (repeated key/value entries): a JSON object, left out when
    /// empty.
    Map,
    /// An embedded Go struct (e.g. `LocalObjectReference` in `ConfigMapKeySelector`): a nested
    /// message on the wire whose fields JSON flattens into the parent.
    Inline,
    /// A field this server refuses in protobuf bodies.
    Unsupported,
}

/// A Go `omitempty` value field.
pub(crate) const fn opt(number: u32, json: &'static str, ty: Type) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::Opt,
    }
}

/// A Go pointer field or a field without `omitempty`.
pub(crate) const fn keep(number: u32, json: &'static str, ty: Type) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::Keep,
    }
}

/// A nested message.
pub(crate) const fn msg(number: u32, json: &'static str, message: &'static Message) -> Field {
    keep(number, json, Type::Msg(message))
}

/// A repeated nested message.
pub(crate) const fn msgs(number: u32, json: &'static str, message: &'static Message) -> Field {
    list(number, json, Type::Msg(message))
}

/// A repeated field.
pub(crate) const fn list(number: u32, json: &'static str, ty: Type) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::List,
    }
}

/// A `map<string, ty>` field.
pub(crate) const fn map(number: u32, json: &'static str, ty: Type) -> Field {
    Field {
        number,
        json,
        ty,
        shape: Shape::Map,
    }
}

/// An embedded struct whose fields JSON flattens into the parent.
pub(crate) const fn inline(number: u32, message: &'static Message) -> Field {
    Field {
        number,
        json: "",
        ty: Type::Msg(message),
        shape: Shape::Inline,
    }
}

/// A field refused in protobuf bodies; `json` names it in the error.
pub(crate) const fn unsupported(number: u32, json: &'static str) -> Field {
    Field {
        number,
        json,
        ty: Type::Str,
        shape: Shape::Unsupported,
    }
}
