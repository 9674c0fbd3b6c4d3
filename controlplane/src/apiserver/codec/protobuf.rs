//! Kubernetes protobuf request bodies, decoded to the JSON the rest of the API works with.
//!
//! From 1.32, kubectl's typed clients (`kubectl create configmap|secret|deployment|…`,
//! `kubectl autoscale`) and every client-go program send built-in objects as
//! `application/vnd.kubernetes.protobuf`: the magic `k8s\0`, then a `runtime.Unknown` whose
//! `raw` bytes are the gogo-protobuf encoding of the object. [`decode`] turns such a body into
//! the `serde_json::Value` that the same client would have sent as JSON, so the server can
//! store and answer JSON only.
//!
//! Decoding is driven by field tables rather than generated types: each message is a list of
//! `(field number, JSON name, type, presence rule)` rows, and one decoder walks the wire
//! format with them. Unknown field numbers are skipped, as protobuf allows; known fields this
//! server does not take in protobuf (exotic volume sources, ephemeral containers) are refused
//! with [`ProtobufError::UnsupportedField`]. `status` is reduced to the fields kubectl's
//! generators fill in: the API server ignores status on create and on updates of the main
//! resource, so `/status` writes should be refused in protobuf by the caller.
//!
//! Parts: `envelope` opens the `k8s\0` + `runtime.Unknown` wrapper; `wire` reads the
//! protobuf wire format; `schema` defines the field tables and `message` walks a message with
//! one, naming the place it decodes with a `path`; `well_known` renders `Time`, `MicroTime`, `IntOrString`, `Quantity` and `FieldsV1`;
//! `error` holds [`ProtobufError`] and [`WireError`]. The tables are `meta`, `config`,
//! `event`, `service`, `pod`, `affinity`, `container`, `probe`, `security`, `volume`, `apps`,
//! `batch`, `autoscaling`, `coordination`, `rbac` and `review` (the create-only access and
//! identity reviews, and TokenRequest); `kinds` lists the top-level kinds. Unit tests
//! sit in each file; `tests` holds the shared helpers and cross-kind tests, and `golden`
//! replays bodies captured from kubectl 1.32.

mod affinity;
mod apps;
mod autoscaling;
mod batch;
mod config;
mod container;
mod coordination;
mod envelope;
mod error;
mod event;
mod kinds;
mod message;
mod meta;
mod path;
mod pod;
mod probe;
mod rbac;
mod review;
mod schema;
mod security;
mod service;
mod volume;
mod well_known;
mod wire;

#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;

pub use envelope::MEDIA_TYPE;
pub use error::{ProtobufError, Result, WireError};

use serde_json::{Map, Value};

/// Decodes a Kubernetes protobuf request body into the object's JSON form.
///
/// The result has `apiVersion` and `kind` from the envelope and the object's fields under
/// their JSON names, as Go's JSON encoding of the same object would write them: fields that
/// Go omits when empty are left out, pointer fields keep explicit zeros, and
/// `metadata.creationTimestamp` of a new object is `null`.
pub fn decode(body: &[u8]) -> Result<Value> {
    let envelope = envelope::open(body)?;
    let Some(table) = kinds::table(&envelope.api_version, &envelope.kind) else {
        return Err(ProtobufError::UnsupportedKind {
            api_version: envelope.api_version,
            kind: envelope.kind,
            supported: kinds::supported_kinds(),
        });
    };
    let mut object = Map::new();
    object.insert("kind".to_owned(), Value::String(envelope.kind));
    object.insert("apiVersion".to_owned(), Value::String(envelope.api_version));
    message::merge(envelope.raw, table, &path::Path::Root, &mut object)?;
    Ok(Value::Object(object))
}
