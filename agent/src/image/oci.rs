//! Images in OCI registries, pulled anonymously with `oci-client`: [`Registries::resolve`]
//! fetches and verifies the manifest (following an image index to its wasm entry) and picks
//! the wasm layer; [`Registries::fetch`] downloads that layer and verifies its digest.
//!
//! Registries are reached over HTTPS, except `localhost`, `127.0.0.1`, `[::1]` and those the
//! node lists as insecure, which are plain HTTP.

use bytes::Bytes;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{DigestError, OciDistributionError};
use oci_client::manifest::{
    IMAGE_MANIFEST_LIST_MEDIA_TYPE, IMAGE_MANIFEST_MEDIA_TYPE, ImageIndexEntry,
    OCI_IMAGE_INDEX_MEDIA_TYPE, OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest, OciManifest,
    WASM_LAYER_MEDIA_TYPE,
};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::PullError;
use super::digest::digest_of;
use super::error::root_cause;
use super::http::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT, install_crypto_provider};

/// Layer media types holding a wasm binary: the plain one and the wasm-to-oci one.
pub(crate) const WASM_LAYER_MEDIA_TYPES: [&str; 2] = ["application/wasm", WASM_LAYER_MEDIA_TYPE];

/// Manifest media types asked for (an index is followed to its wasm entry).
const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    OCI_IMAGE_MEDIA_TYPE,
    IMAGE_MANIFEST_MEDIA_TYPE,
    OCI_IMAGE_INDEX_MEDIA_TYPE,
    IMAGE_MANIFEST_LIST_MEDIA_TYPE,
];

/// Largest up-front allocation for a layer, whatever size its descriptor claims.
const MAX_PREALLOCATION: usize = 64 << 20;

/// What a reference points at now.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    /// `<registry>/<repository>@<manifest digest>`: the `imageID` the kubelet reports.
    pub(crate) image_id: String,
    /// The wasm layer.
    pub(crate) layer: OciDescriptor,
}

/// The node's registry clients.
pub(crate) struct Registries {
    tls: Client,
    plain: Client,
    insecure: Vec<String>,
}

impl Registries {
    /// Clients for HTTPS and for plain-HTTP registries (`insecure`, plus loopback ones).
    pub(crate) fn new(insecure: Vec<String>) -> Result<Self, PullError> {
        install_crypto_provider();
        let build = |protocol| {
            Client::try_from(ClientConfig {
                protocol,
                platform_resolver: None,
                connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
                read_timeout: Some(DEFAULT_READ_TIMEOUT),
                user_agent: concat!("skiff-agent/", env!("CARGO_PKG_VERSION")),
                ..ClientConfig::default()
            })
            .map_err(|e| PullError::Client {
                detail: root_cause(&e),
            })
        };
        Ok(Registries {
            tls: build(ClientProtocol::Https)?,
            plain: build(ClientProtocol::Http)?,
            insecure,
        })
    }

    /// Whether `registry` (`host[:port]`) is reached over plain HTTP.
    fn is_plain(&self, registry: &str) -> bool {
        let host = match registry.strip_prefix('[') {
            Some(v6) => v6.split_once(']').map_or(registry, |(h, _)| h),
            None => registry.split_once(':').map_or(registry, |(h, _)| h),
        };
        matches!(host, "localhost" | "127.0.0.1" | "::1")
            || self.insecure.iter().any(|i| i == registry || i == host)
    }

    fn client(&self, r: &Reference) -> &Client {
        if self.is_plain(r.registry()) {
            &self.plain
        } else {
            &self.tls
        }
    }

    /// Fetches `r`'s manifest, verifies it against the reference's digest pin, and picks its
    /// wasm layer.
    pub(crate) async fn resolve(&self, r: &Reference) -> Result<Resolved, PullError> {
        let (manifest, digest) = self.manifest(r).await?;
        if let Some(pin) = r.digest()
            && pin != digest
        {
            return Err(PullError::DigestMismatch {
                what: "manifest",
                expected: pin.to_owned(),
                actual: digest,
            });
        }
        let image = match manifest {
            OciManifest::Image(image) => image,
            OciManifest::ImageIndex(index) => self.platform_manifest(r, &index.manifests).await?,
        };
        let layer = image
            .layers
            .iter()
            .find(|l| WASM_LAYER_MEDIA_TYPES.contains(&l.media_type.as_str()))
            .cloned()
            .ok_or_else(|| PullError::NoWasmLayer {
                reference: r.whole(),
                media_types: image.layers.iter().map(|l| l.media_type.clone()).collect(),
            })?;
        Ok(Resolved {
            image_id: format!("{}/{}@{digest}", r.registry(), r.repository()),
            layer,
        })
    }

    /// Downloads `layer` of `r` and verifies its digest.
    pub(crate) async fn fetch(
        &self,
        r: &Reference,
        layer: &OciDescriptor,
    ) -> Result<Bytes, PullError> {
        let capacity = usize::try_from(layer.size)
            .unwrap_or(0)
            .min(MAX_PREALLOCATION);
        let mut out = Vec::with_capacity(capacity);
        self.client(r)
            .pull_blob(r, layer, &mut out)
            .await
            .map_err(|e| registry_error(r, "layer", e))?;
        let actual = digest_of(&out);
        if layer.digest.starts_with("sha256:") && actual != layer.digest {
            return Err(PullError::DigestMismatch {
                what: "layer",
                expected: layer.digest.clone(),
                actual,
            });
        }
        Ok(Bytes::from(out))
    }

    /// The manifest `r` names and the sha256 of its bytes as received.
    async fn manifest(&self, r: &Reference) -> Result<(OciManifest, String), PullError> {
        let (body, _) = self
            .client(r)
            .pull_manifest_raw(r, &RegistryAuth::Anonymous, &MANIFEST_MEDIA_TYPES)
            .await
            .map_err(|e| registry_error(r, "manifest", e))?;
        let digest = digest_of(&body);
        let manifest = serde_json::from_slice(&body).map_err(|e| PullError::Registry {
            registry: r.registry().to_owned(),
            reference: r.whole(),
            message: format!("unreadable manifest: {e}"),
        })?;
        Ok((manifest, digest))
    }

    /// The image manifest of an index's wasm entry: one whose platform architecture is
    /// `wasm`, or the only entry.
    async fn platform_manifest(
        &self,
        r: &Reference,
        entries: &[ImageIndexEntry],
    ) -> Result<OciImageManifest, PullError> {
        let wasm = entries.iter().find(|e| {
            e.platform
                .as_ref()
                .is_some_and(|p| p.architecture.to_string() == "wasm")
        });
        let entry = match (wasm, entries) {
            (Some(entry), _) | (None, [entry]) => entry,
            (None, _) => {
                return Err(PullError::NoWasmPlatform {
                    reference: r.whole(),
                    platforms: entries
                        .iter()
                        .map(|e| match &e.platform {
                            Some(p) => format!("{}/{}", p.os, p.architecture),
                            None => "unspecified".to_owned(),
                        })
                        .collect(),
                });
            }
        };
        let child = r.clone_with_digest(entry.digest.clone());
        let (manifest, digest) = self.manifest(&child).await?;
        if entry.digest.starts_with("sha256:") && digest != entry.digest {
            return Err(PullError::DigestMismatch {
                what: "manifest",
                expected: entry.digest.clone(),
                actual: digest,
            });
        }
        match manifest {
            OciManifest::Image(image) => Ok(image),
            OciManifest::ImageIndex(_) => Err(PullError::Registry {
                registry: r.registry().to_owned(),
                reference: child.whole(),
                message: "an image index entry is itself an index".to_owned(),
            }),
        }
    }
}

/// The user-facing error for an `oci-client` failure fetching `what` of `r`.
fn registry_error(r: &Reference, what: &'static str, e: OciDistributionError) -> PullError {
    let refused = |message: String| PullError::Registry {
        registry: r.registry().to_owned(),
        reference: r.whole(),
        message,
    };
    match e {
        OciDistributionError::RegistryError { envelope, .. } => refused(
            envelope
                .errors
                .iter()
                .map(|e| {
                    if e.message.is_empty() {
                        format!("{:?}", e.code)
                    } else {
                        e.message.clone()
                    }
                })
                .collect::<Vec<_>>()
                .join("; "),
        ),
        OciDistributionError::UnauthorizedError { .. } => refused(
            "unauthorized: the repository does not exist or needs credentials \
             (only anonymous pulls are supported)"
                .to_owned(),
        ),
        OciDistributionError::ServerError { code, url, .. } => PullError::HttpStatus {
            url,
            status: http::StatusCode::from_u16(code)
                .map_or_else(|_| code.to_string(), |s| s.to_string()),
        },
        OciDistributionError::RequestError(e) => PullError::Connect {
            url: e.url().map_or_else(|| r.whole(), ToString::to_string),
            detail: if e.is_timeout() {
                "timed out".to_owned()
            } else {
                root_cause(&e)
            },
        },
        OciDistributionError::DigestError(DigestError::VerificationError { expected, actual }) => {
            PullError::DigestMismatch {
                what,
                expected,
                actual,
            }
        }
        other => refused(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_listed_registries_are_plain_http() {
        let registries =
            Registries::new(vec!["registry.lan:5000".into(), "plain.lan".into()]).expect("clients");
        for plain in [
            "localhost:5000",
            "localhost",
            "127.0.0.1:41234",
            "[::1]:5000",
            "registry.lan:5000",
            "plain.lan:443",
        ] {
            assert!(registries.is_plain(plain), "{plain}");
        }
        for tls in [
            "docker.io",
            "ghcr.io",
            "registry.lan:5001",
            "localhost.example.com",
        ] {
            assert!(!registries.is_plain(tls), "{tls}");
        }
    }
}
