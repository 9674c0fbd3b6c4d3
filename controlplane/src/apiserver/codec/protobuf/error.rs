//! What can go wrong decoding a protobuf body: [`ProtobufError`] for the body as a whole and
//! [`WireError`] for a malformed byte sequence inside it.

/// A `Result` whose error is [`ProtobufError`].
pub type Result<T, E = ProtobufError> = std::result::Result<T, E>;

/// Why a protobuf request body could not be turned into JSON.
///
/// Every variant is the client's doing (a 4xx); the messages say what to send instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtobufError {
    /// The body does not start with the `k8s\0` magic of Kubernetes protobuf.
    #[error(
        "a Kubernetes protobuf body starts with the 4 bytes \"k8s\\0\" and this one does not; \
         send JSON (Content-Type: application/json) or a body written by a Kubernetes protobuf serializer"
    )]
    MissingMagic,
    /// The `runtime.Unknown` envelope after the magic is not valid protobuf.
    #[error("the protobuf envelope (runtime.Unknown) is malformed: {0}")]
    Envelope(WireError),
    /// The envelope does not say which `apiVersion` and `kind` it carries.
    #[error("the protobuf envelope (runtime.Unknown) names no apiVersion and kind")]
    MissingTypeMeta,
    /// The envelope's payload is compressed or otherwise encoded.
    #[error(
        "protobuf bodies with content encoding {0:?} are not supported; send them unencoded, or send JSON"
    )]
    ContentEncoding(String),
    /// The envelope's payload is in another format than protobuf.
    #[error(
        "a protobuf envelope carrying content type {0:?} is not supported; send the object as JSON"
    )]
    ContentType(String),
    /// The body holds a kind this server does not decode from protobuf.
    #[error(
        "protobuf bodies are supported for {supported}; got {api_version} {kind}: \
         send it as JSON (Content-Type: application/json) instead"
    )]
    UnsupportedKind {
        /// The envelope's `apiVersion`.
        api_version: String,
        /// The envelope's `kind`.
        kind: String,
        /// The kinds that are decoded, as one line ("v1 ConfigMap, v1 Secret, ...").
        supported: String,
    },
    /// The object sets a field this server does not take in protobuf form.
    #[error(
        "field {path} is not supported in protobuf request bodies; send this object as JSON \
         (Content-Type: application/json) instead"
    )]
    UnsupportedField {
        /// Where the field is, e.g. `spec.volumes[0].nfs`.
        path: String,
    },
    /// The object's bytes are not valid protobuf.
    #[error("malformed protobuf at {path}: {problem}")]
    Malformed {
        /// Where decoding stopped, e.g. `spec.template.spec.containers[1]`.
        path: String,
        /// What was wrong with the bytes there.
        problem: WireError,
    },
    /// A field holds a value that has no JSON form.
    #[error("invalid value at {path}: {problem}")]
    InvalidValue {
        /// Where the value is, e.g. `spec.ports[0].targetPort`.
        path: String,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// A malformed byte sequence in the protobuf wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The bytes end inside a value.
    #[error("the body ends in the middle of a value")]
    Truncated,
    /// A varint runs past the 10 bytes a 64-bit value can take.
    #[error("a varint is longer than 10 bytes")]
    VarintTooLong,
    /// A field key carries a wire type that is invalid, or a deprecated group.
    #[error("wire type {0} is not used by Kubernetes protobuf")]
    BadWireType(u8),
    /// A field key carries field number 0, or one too large for protobuf.
    #[error("field number {0} is not valid")]
    BadFieldNumber(u64),
    /// A known field arrives with a different wire type than its schema declares.
    #[error("a field has wire type {found} where {expected} was expected")]
    WrongWireType {
        /// The wire type in the body.
        found: u8,
        /// The wire type the field's type uses.
        expected: u8,
    },
}
