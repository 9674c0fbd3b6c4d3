//! The node's images: resolving a container's `image` to its wasm bytes under its
//! `imagePullPolicy`, caching them per node by digest, and verifying digest pins.
//!
//! Parts: [`PullPolicy`] (the policy and Kubernetes' defaults), [`ImageStore`] (the cache and
//! the coalescing of concurrent pulls), [`Pulled`] (what a pull yields) and [`PullError`].
//! Inside: `reference` parses the forms accepted (file path, `file://`, `http(s)://`,
//! `skiff://modules/`, OCI); `file`, `http`, `cluster` (the API server's module store) and
//! `oci` fetch from each source; `digest` names content by its sha256; `disk` keeps blobs at
//! `<dir>/sha256/<hex>` and the reference index at `<dir>/index.json`; `memory` keeps the
//! bytes of recently used blobs so that pods of a present image start without any I/O.

mod cluster;
mod digest;
mod disk;
mod error;
mod file;
mod http;
mod memory;
mod oci;
mod reference;

pub use error::PullError;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use tracing::Instrument;

use digest::digest_of;
use disk::{Disk, Entry};
use memory::{DEFAULT_MEMORY_BUDGET, Memory};
use oci::{Registries, Resolved};
use reference::{ImageRef, Source};

/// The first bytes of every wasm module and component.
const WASM_MAGIC: &[u8] = b"\0asm";

/// `imagePullPolicy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PullPolicy {
    /// Check the source on every pull (a changed file or tag is fetched again).
    Always,
    /// Fetch only if the node does not have the image.
    IfNotPresent,
    /// Never fetch: use the node's copy or fail with `ErrImageNeverPull`.
    Never,
}

impl PullPolicy {
    /// The policy from the container's `imagePullPolicy`, or Kubernetes' default when unset
    /// (or not one of the three, which API validation rejects): `Always` for `:latest` or
    /// untagged OCI references, `IfNotPresent` otherwise, including file paths, URLs and
    /// digest-pinned references.
    pub fn of(policy: Option<&str>, image: &str) -> Self {
        match policy {
            Some("Always") => PullPolicy::Always,
            Some("IfNotPresent") => PullPolicy::IfNotPresent,
            Some("Never") => PullPolicy::Never,
            _ => match reference::parse(image) {
                Ok(ImageRef {
                    source: Source::Oci(r),
                    pin: None,
                }) if r.tag() == Some("latest") => PullPolicy::Always,
                _ => PullPolicy::IfNotPresent,
            },
        }
    }
}

/// An image resolved to its bytes.
#[derive(Clone, Debug)]
pub struct Pulled {
    /// `sha256:<hex>` of the wasm bytes.
    pub digest: String,
    /// What `containerStatuses[].imageID` says: `<registry>/<repository>@sha256:<manifest
    /// digest>` for OCI images, otherwise the content digest `sha256:<hex>`.
    pub image_id: String,
    /// The wasm bytes, shared by every pod of the image (cloning does not copy them).
    pub bytes: Bytes,
    /// Whether the bytes were fetched from the source for this call (`false`: served from
    /// the node's cache, "already present on machine"). Every call coalesced onto one fetch
    /// sees `true`.
    pub fetched: bool,
}

/// The node's images. Cheap to clone; clones share the cache and the pulls in flight.
#[derive(Clone)]
pub struct ImageStore {
    inner: Arc<Inner>,
}

/// A pull in flight, awaited by every caller asking for the same reference and policy.
type Flight = Shared<BoxFuture<'static, Result<Pulled, PullError>>>;

struct Inner {
    disk: Disk,
    /// Reference as written → what it resolved to; mirrored to disk by [`Inner::remember`].
    index: Mutex<HashMap<String, Entry>>,
    memory: Mutex<Memory>,
    flights: Mutex<HashMap<(String, PullPolicy), Flight>>,
    /// Serialises index writes so that the last one written is the newest.
    save: tokio::sync::Mutex<()>,
    http: reqwest::Client,
    registries: Registries,
    /// The API server's client, for `skiff://modules/` images.
    api: Option<kube::Client>,
}

impl std::fmt::Debug for ImageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageStore")
            .field("disk", &self.inner.disk)
            .finish_non_exhaustive()
    }
}

impl ImageStore {
    /// Opens the node's image store. `dir` holds the blobs (`<dir>/sha256/<hex>`) and the
    /// reference index (`<dir>/index.json`), and is created if missing. `insecure` lists
    /// registries (`host[:port]`, or `host` for any port) reached over plain HTTP;
    /// `localhost`, `127.0.0.1` and `[::1]` registries always are.
    pub fn new(dir: PathBuf, insecure: Vec<String>) -> Result<Self, PullError> {
        Self::open(dir, insecure, None)
    }

    /// Opens the node's image store like [`ImageStore::new`], fetching `skiff://modules/`
    /// images from the API server through `client` (its kubeconfig's address, TLS and
    /// credentials).
    pub fn with_client(
        dir: PathBuf,
        insecure: Vec<String>,
        client: kube::Client,
    ) -> Result<Self, PullError> {
        Self::open(dir, insecure, Some(client))
    }

    fn open(
        dir: PathBuf,
        insecure: Vec<String>,
        api: Option<kube::Client>,
    ) -> Result<Self, PullError> {
        let disk = Disk::open(dir)?;
        let index = disk.load_index()?.images;
        Ok(ImageStore {
            inner: Arc::new(Inner {
                disk,
                index: Mutex::new(index),
                memory: Mutex::new(Memory::new(DEFAULT_MEMORY_BUDGET)),
                flights: Mutex::default(),
                save: tokio::sync::Mutex::new(()),
                http: http::client()?,
                registries: Registries::new(insecure)?,
                api,
            }),
        })
    }

    /// Resolves `image` to its bytes under `policy`.
    ///
    /// A present image under `IfNotPresent` or `Never` is answered from memory without
    /// I/O. Otherwise concurrent calls for the same reference and policy share one pull,
    /// which runs in its own task so that it completes for the others if a caller gives up.
    pub async fn pull(&self, image: &str, policy: PullPolicy) -> Result<Pulled, PullError> {
        let parsed = reference::parse(image)?;
        if policy != PullPolicy::Always
            && let Some(pulled) = self.inner.in_memory(image, &parsed)
        {
            return Ok(pulled);
        }
        let key = (image.to_owned(), policy);
        let flight = {
            let mut flights = lock(&self.inner.flights);
            match flights.get(&key) {
                Some(flight) => flight.clone(),
                None => {
                    let flight = self.start(key.clone(), parsed);
                    flights.insert(key, flight.clone());
                    flight
                }
            }
        };
        flight.await
    }

    /// Spawns the pull for `key`; it removes itself from the flights when done.
    fn start(&self, key: (String, PullPolicy), parsed: ImageRef) -> Flight {
        let inner = Arc::clone(&self.inner);
        let image = key.0.clone();
        let span = tracing::info_span!("pull", image = %key.0, policy = ?key.1);
        let task = tokio::spawn(
            async move {
                let landing = Landing {
                    inner: Arc::clone(&inner),
                    key,
                };
                inner.resolve(&landing.key.0, &parsed, landing.key.1).await
            }
            .instrument(span),
        );
        async move {
            match task.await {
                Ok(result) => result,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => Err(PullError::Interrupted { image }),
            }
        }
        .boxed()
        .shared()
    }
}

/// Removes a finished (or panicked, or aborted) pull from the flights, so the next call
/// starts afresh. The entry is inserted under the same lock that spawns the task, and
/// removed under it, so it is never removed before it is inserted.
struct Landing {
    inner: Arc<Inner>,
    key: (String, PullPolicy),
}

impl Drop for Landing {
    fn drop(&mut self) {
        lock(&self.inner.flights).remove(&self.key);
    }
}

impl Inner {
    /// What the node knows of `image`: its index entry or, for a pinned file, URL or
    /// cluster module, the blob named by the pin (content-addressed, so valid under any
    /// name).
    fn entry(&self, image: &str, parsed: &ImageRef) -> Option<Entry> {
        if let Some(entry) = lock(&self.index).get(image) {
            return Some(entry.clone());
        }
        match (&parsed.source, &parsed.pin) {
            (Source::File(_) | Source::Http(_) | Source::Cluster(_), Some(pin)) => Some(Entry {
                digest: pin.clone(),
                image_id: pin.clone(),
                file: None,
            }),
            _ => None,
        }
    }

    /// The image if it is known and its bytes are in memory: no I/O.
    fn in_memory(&self, image: &str, parsed: &ImageRef) -> Option<Pulled> {
        let entry = self.entry(image, parsed)?;
        let bytes = lock(&self.memory).get(&entry.digest)?;
        Some(cached(entry, bytes))
    }

    /// One pull, under `policy`.
    async fn resolve(
        &self,
        image: &str,
        parsed: &ImageRef,
        policy: PullPolicy,
    ) -> Result<Pulled, PullError> {
        match policy {
            PullPolicy::Never => {
                self.present(image, parsed)
                    .await?
                    .ok_or_else(|| PullError::NeverPull {
                        image: image.to_owned(),
                    })
            }
            PullPolicy::IfNotPresent => match self.present(image, parsed).await? {
                Some(pulled) => Ok(pulled),
                None => self.fetch(image, parsed).await,
            },
            PullPolicy::Always => self.refresh(image, parsed).await,
        }
    }

    /// The image from the node's cache (memory, else disk), if it is there.
    async fn present(&self, image: &str, parsed: &ImageRef) -> Result<Option<Pulled>, PullError> {
        let Some(entry) = self.entry(image, parsed) else {
            return Ok(None);
        };
        Ok(self
            .load(&entry.digest)
            .await?
            .map(|bytes| cached(entry, bytes)))
    }

    /// Under `Always`: a file is re-read only if its stamp changed; a URL is fetched; an OCI
    /// reference's manifest is fetched, and its layer only if the node lacks it.
    async fn refresh(&self, image: &str, parsed: &ImageRef) -> Result<Pulled, PullError> {
        if let Source::File(path) = &parsed.source {
            let stamp = file::stamp(path).await?;
            let known = lock(&self.index).get(image).cloned();
            if let Some(entry) = known
                && entry.file == Some(stamp)
                && let Some(bytes) = self.load(&entry.digest).await?
            {
                return Ok(cached(entry, bytes));
            }
        }
        self.fetch(image, parsed).await
    }

    /// Gets the image from its source.
    async fn fetch(&self, image: &str, parsed: &ImageRef) -> Result<Pulled, PullError> {
        let pin = parsed.pin.as_deref();
        match &parsed.source {
            Source::File(path) => {
                let (bytes, stamp) = file::read(path).await?;
                self.admit(image, pin, bytes, None, Some(stamp)).await
            }
            Source::Http(url) => {
                let bytes = http::get(&self.http, url).await?;
                self.admit(image, pin, bytes, None, None).await
            }
            Source::Cluster(_) => {
                // The parser guarantees the pin; it is what the module is fetched by.
                let digest = pin.unwrap_or_default();
                let bytes = cluster::get(self.api.as_ref(), digest).await?;
                self.admit(image, pin, bytes, None, None).await
            }
            Source::Oci(r) => {
                let resolved = self.registries.resolve(r).await?;
                self.registry_layer(image, r, resolved).await
            }
        }
    }

    /// The wasm layer of a resolved OCI image: from the cache when the node has a blob of
    /// that digest (the same content under another tag counts), else downloaded.
    async fn registry_layer(
        &self,
        image: &str,
        r: &oci_client::Reference,
        resolved: Resolved,
    ) -> Result<Pulled, PullError> {
        let layer_digest = &resolved.layer.digest;
        if layer_digest.starts_with("sha256:")
            && let Some(bytes) = self.load(layer_digest).await?
        {
            let entry = Entry {
                digest: layer_digest.clone(),
                image_id: resolved.image_id,
                file: None,
            };
            self.remember(image, entry.clone()).await?;
            return Ok(cached(entry, bytes));
        }
        let bytes = self.registries.fetch(r, &resolved.layer).await?;
        self.admit(image, None, bytes, Some(resolved.image_id), None)
            .await
    }

    /// Verifies fetched bytes (pin, wasm magic), stores them on disk and in memory, and
    /// records what `image` resolved to.
    async fn admit(
        &self,
        image: &str,
        pin: Option<&str>,
        bytes: Bytes,
        image_id: Option<String>,
        file: Option<disk::FileStamp>,
    ) -> Result<Pulled, PullError> {
        let digest = digest_of(&bytes);
        if let Some(pin) = pin
            && pin != digest
        {
            return Err(PullError::DigestMismatch {
                what: "image content",
                expected: pin.to_owned(),
                actual: digest,
            });
        }
        if !bytes.starts_with(WASM_MAGIC) {
            return Err(PullError::NotWasm {
                image: image.to_owned(),
            });
        }
        self.disk.write_blob(&digest, &bytes).await?;
        lock(&self.memory).insert(&digest, bytes.clone());
        let entry = Entry {
            image_id: image_id.unwrap_or_else(|| digest.clone()),
            digest,
            file,
        };
        self.remember(image, entry.clone()).await?;
        tracing::info!(image, digest = %entry.digest, size = bytes.len(), "pulled image");
        Ok(Pulled {
            digest: entry.digest,
            image_id: entry.image_id,
            bytes,
            fetched: true,
        })
    }

    /// The blob `digest` from memory, else from disk (verified, then kept in memory).
    async fn load(&self, digest: &str) -> Result<Option<Bytes>, PullError> {
        if let Some(bytes) = lock(&self.memory).get(digest) {
            return Ok(Some(bytes));
        }
        let bytes = self.disk.read_blob(digest).await?;
        if let Some(bytes) = &bytes {
            lock(&self.memory).insert(digest, bytes.clone());
        }
        Ok(bytes)
    }

    /// Records that `image` resolves to `entry`, on disk too if that is news.
    async fn remember(&self, image: &str, entry: Entry) -> Result<(), PullError> {
        let _save = self.save.lock().await;
        let snapshot = {
            let mut index = lock(&self.index);
            if index.get(image) == Some(&entry) {
                return Ok(());
            }
            index.insert(image.to_owned(), entry);
            index.clone()
        };
        self.disk.save_index(&snapshot).await
    }
}

/// A pull answered from the node's cache.
fn cached(entry: Entry, bytes: Bytes) -> Pulled {
    Pulled {
        digest: entry.digest,
        image_id: entry.image_id,
        bytes,
        fetched: false,
    }
}

/// Locks a mutex whose sections never leave the data half-updated, so a panic elsewhere
/// while holding it (poisoning) does not make the data unusable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn explicit_policies_win() {
        for image in ["hello", "hello:latest", "/srv/a.wasm"] {
            assert_eq!(PullPolicy::of(Some("Always"), image), PullPolicy::Always);
            assert_eq!(
                PullPolicy::of(Some("IfNotPresent"), image),
                PullPolicy::IfNotPresent
            );
            assert_eq!(PullPolicy::of(Some("Never"), image), PullPolicy::Never);
        }
    }

    #[test]
    fn defaults_follow_kubernetes() {
        let always = [
            "hello",
            "hello:latest",
            "localhost:5000/apps/hello",
            "ghcr.io/a/b:latest",
        ];
        for image in always {
            assert_eq!(PullPolicy::of(None, image), PullPolicy::Always, "{image}");
        }
        let pinned = format!("ghcr.io/a/b@sha256:{HEX}");
        let pinned_latest = format!("ghcr.io/a/b:latest@sha256:{HEX}");
        let if_not_present = [
            "hello:1.0",
            "localhost:5000/apps/hello:v2",
            &pinned,
            &pinned_latest,
            "file:///srv/a.wasm",
            "/srv/a.wasm",
            "https://example.com/a.wasm",
            "Not A Reference",
        ];
        for image in if_not_present {
            assert_eq!(
                PullPolicy::of(None, image),
                PullPolicy::IfNotPresent,
                "{image}"
            );
        }
        assert_eq!(PullPolicy::of(Some(""), "hello"), PullPolicy::Always);
    }

    #[test]
    fn digests_are_sha256_hex() {
        assert_eq!(
            digest_of(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
