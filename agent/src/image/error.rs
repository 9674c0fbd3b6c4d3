//! [`PullError`]: why an image could not be resolved to its bytes, one variant per cause,
//! and the kubelet reason ([`PullError::reason`]) a container waits with because of it.
//!
//! Each message is complete on its own: it becomes a container's `state.waiting.message`
//! and a `Failed` event, read by a user who cannot see the agent's logs. So the cause below
//! this layer (an OS error, a registry's message) is rendered into the text rather than
//! chained as `source`. Errors are `Clone` because one coalesced pull answers many pods.

use std::error::Error as StdError;

/// Why pulling an image failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PullError {
    /// The `image` string is not a reference Skiff understands.
    #[error("invalid image reference {image:?}: {reason}")]
    InvalidReference {
        /// The reference as written in the pod spec.
        image: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The image is not on this node and `imagePullPolicy: Never` forbids fetching it.
    #[error("image {image:?} is not present on this node and imagePullPolicy is Never")]
    NeverPull {
        /// The reference as written in the pod spec.
        image: String,
    },
    /// A `file://` or path reference names a file that does not exist on the node.
    #[error("image file {path} does not exist on this node")]
    FileNotFound {
        /// The path on the node.
        path: String,
    },
    /// A `file://` or path reference names a file that cannot be read.
    #[error("cannot read image file {path}: {detail}")]
    FileRead {
        /// The path on the node.
        path: String,
        /// The operating system's reason.
        detail: String,
    },
    /// An HTTP(S) server answered with a status other than success.
    #[error("GET {url} answered HTTP {status}")]
    HttpStatus {
        /// The URL requested.
        url: String,
        /// The status, with its canonical reason ("404 Not Found").
        status: String,
    },
    /// The server could not be reached, or the transfer broke off.
    #[error("cannot fetch {url}: {detail}")]
    Connect {
        /// The URL requested.
        url: String,
        /// The innermost cause ("Connection refused (os error 111)", a TLS error, a timeout).
        detail: String,
    },
    /// The API server could not supply a `skiff://modules/` image: it does not have the
    /// module, is unreachable, or the agent has no client for it.
    #[error("module {digest} from the API server: {detail}")]
    ClusterModule {
        /// The module's digest, `sha256:<hex>`.
        digest: String,
        /// What went wrong.
        detail: String,
    },
    /// An OCI registry answered with an error (manifest unknown, unauthorized, ...).
    #[error("{reference}: registry {registry} says: {message}")]
    Registry {
        /// The registry, `host[:port]`.
        registry: String,
        /// The OCI reference pulled.
        reference: String,
        /// The registry's own message, e.g. "manifest unknown".
        message: String,
    },
    /// Content does not hash to the digest it was pinned to or advertised with.
    #[error("{what} digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// What was verified: "image content", "manifest" or "layer".
        what: &'static str,
        /// The digest the reference or manifest names.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// An OCI manifest has no layer holding a wasm binary.
    #[error(
        "{reference} has no wasm layer (layer media types: {}); expected application/wasm \
         or application/vnd.wasm.content.layer.v1+wasm",
        if media_types.is_empty() { "none".to_owned() } else { media_types.join(", ") }
    )]
    NoWasmLayer {
        /// The OCI reference pulled.
        reference: String,
        /// The media types of the layers the manifest does have.
        media_types: Vec<String>,
    },
    /// An OCI image index lists no manifest for the wasm platform.
    #[error(
        "{reference} is a multi-platform image without a wasm entry (platforms: {}); \
         expected one with architecture wasm",
        if platforms.is_empty() { "none".to_owned() } else { platforms.join(", ") }
    )]
    NoWasmPlatform {
        /// The OCI reference pulled.
        reference: String,
        /// The index's platforms, `os/architecture`.
        platforms: Vec<String>,
    },
    /// The fetched bytes are not a wasm module or component.
    #[error("{image} is not a WebAssembly binary (it does not start with \\0asm)")]
    NotWasm {
        /// The reference as written in the pod spec.
        image: String,
    },
    /// The node's image cache directory could not be read or written.
    #[error("image cache {path}: {detail}")]
    Cache {
        /// The file or directory involved.
        path: String,
        /// The operating system's reason.
        detail: String,
    },
    /// The HTTP client could not be built (TLS roots, configuration).
    #[error("cannot set up the image HTTP client: {detail}")]
    Client {
        /// The reason.
        detail: String,
    },
    /// The pull was cut short because the agent's runtime is shutting down.
    #[error("pulling {image} was interrupted: the agent is shutting down")]
    Interrupted {
        /// The reference as written in the pod spec.
        image: String,
    },
}

impl PullError {
    /// The kubelet's reason for a container waiting on this error: `InvalidImageName`,
    /// `ErrImageNeverPull`, or `ErrImagePull` for every failure to fetch or verify.
    pub fn reason(&self) -> &'static str {
        match self {
            PullError::InvalidReference { .. } => "InvalidImageName",
            PullError::NeverPull { .. } => "ErrImageNeverPull",
            _ => "ErrImagePull",
        }
    }

    /// A cache I/O error on `path`.
    pub(crate) fn cache(path: &std::path::Path, e: &std::io::Error) -> Self {
        PullError::Cache {
            path: path.display().to_string(),
            detail: e.to_string(),
        }
    }
}

/// The innermost error of a chain: the part a user can act on ("Connection refused"),
/// where the outer layers only restate the operation.
pub(crate) fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_follow_the_kubelet() {
        let invalid = PullError::InvalidReference {
            image: "A".into(),
            reason: "x".into(),
        };
        let never = PullError::NeverPull { image: "a".into() };
        let missing = PullError::FileNotFound { path: "/a".into() };
        assert_eq!(invalid.reason(), "InvalidImageName");
        assert_eq!(never.reason(), "ErrImageNeverPull");
        assert_eq!(missing.reason(), "ErrImagePull");
    }

    #[test]
    fn no_wasm_layer_names_the_media_types_seen() {
        let e = PullError::NoWasmLayer {
            reference: "r/x:1".into(),
            media_types: vec!["application/vnd.oci.image.layer.v1.tar+gzip".into()],
        };
        let text = e.to_string();
        assert!(
            text.contains("application/vnd.oci.image.layer.v1.tar+gzip"),
            "{text}"
        );
        assert!(text.contains("application/wasm"), "{text}");
    }

    #[test]
    fn root_cause_is_the_innermost_error() {
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request")]
        struct Outer(#[source] std::io::Error);
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(root_cause(&Outer(io)), "refused");
    }
}
