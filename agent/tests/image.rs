//! The agent's image store against real sources: files on disk, a real HTTP server on
//! loopback, and a real OCI registry (Debian's `docker-registry`) that the tests push wasm
//! artifacts to with `oci-client`.
//!
//! Fixtures at the bottom: [`WasmServer`] (an axum server counting its requests) and
//! [`Registry`] (a `docker-registry serve` process, killed on drop).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use oci_client::client::{ClientConfig, ClientProtocol, Config, ImageLayer};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};
use sha2::{Digest, Sha256};
use skiff_agent::image::{ImageStore, PullError, PullPolicy, Pulled};
use skiff_test_programs::{P1_EXIT_CODE, P1_NOOP, read};

use PullPolicy::{Always, IfNotPresent, Never};

/// Every wait in these tests is bounded by this.
const TIMEOUT: Duration = Duration::from_secs(60);

async fn within<T>(what: &str, fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(TIMEOUT, fut)
        .await
        .unwrap_or_else(|_| panic!("{what}: timed out after {TIMEOUT:?}"))
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn store(dir: &Path) -> ImageStore {
    ImageStore::new(dir.join("images"), Vec::new()).expect("open image store")
}

async fn pull(store: &ImageStore, image: &str, policy: PullPolicy) -> Pulled {
    within(image, store.pull(image, policy))
        .await
        .unwrap_or_else(|e| panic!("pull {image} ({policy:?}): {e}"))
}

async fn pull_err(store: &ImageStore, image: &str, policy: PullPolicy) -> PullError {
    match within(image, store.pull(image, policy)).await {
        Ok(p) => panic!("pull {image} ({policy:?}) succeeded with {}", p.digest),
        Err(e) => e,
    }
}

mod file {
    use super::*;

    #[tokio::test]
    async fn second_pull_is_served_from_the_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wasm = read(P1_NOOP);
        let path = dir.path().join("app.wasm");
        std::fs::write(&path, &wasm).expect("write");
        let images = store(dir.path());
        let image = format!("file://{}", path.display());

        let first = pull(&images, &image, IfNotPresent).await;
        assert!(first.fetched);
        assert_eq!(first.bytes, wasm);
        assert_eq!(first.digest, sha256(&wasm));
        assert_eq!(first.image_id, first.digest);
        let blob = dir.path().join("images/sha256").join(&first.digest[7..]);
        assert_eq!(std::fs::read(&blob).expect("blob on disk"), wasm);

        let second = pull(&images, &image, IfNotPresent).await;
        assert!(!second.fetched, "second pull must come from the cache");
        assert_eq!(second.digest, first.digest);
        assert_eq!(
            second.bytes.as_ptr(),
            first.bytes.as_ptr(),
            "one shared copy"
        );

        // A bare path is the same file, another reference.
        let bare = pull(&images, &path.display().to_string(), IfNotPresent).await;
        assert_eq!(bare.digest, first.digest);
    }

    #[tokio::test]
    async fn if_not_present_keeps_the_old_copy_and_always_sees_the_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (old, new) = (read(P1_NOOP), read(P1_EXIT_CODE));
        let path = dir.path().join("app.wasm");
        std::fs::write(&path, &old).expect("write");
        let images = store(dir.path());
        let image = format!("file://{}", path.display());
        assert!(pull(&images, &image, Always).await.fetched);
        let unchanged = pull(&images, &image, Always).await;
        assert!(
            !unchanged.fetched,
            "Always with an unchanged file must not re-read it"
        );
        assert_eq!(unchanged.digest, sha256(&old));

        std::fs::write(&path, &new).expect("rewrite in place");
        let kept = pull(&images, &image, IfNotPresent).await;
        assert!(!kept.fetched);
        assert_eq!(
            kept.digest,
            sha256(&old),
            "IfNotPresent keeps the node's copy"
        );
        let fresh = pull(&images, &image, Always).await;
        assert!(fresh.fetched);
        assert_eq!(fresh.digest, sha256(&new), "Always re-reads a changed file");
        assert_eq!(fresh.bytes, new);
        let after = pull(&images, &image, IfNotPresent).await;
        assert_eq!(
            after.digest,
            sha256(&new),
            "the index follows the latest pull"
        );
    }

    #[tokio::test]
    async fn never_uses_only_the_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app.wasm");
        std::fs::write(&path, read(P1_NOOP)).expect("write");
        let images = store(dir.path());
        let image = format!("file://{}", path.display());

        let e = pull_err(&images, &image, Never).await;
        assert_eq!(e.reason(), "ErrImageNeverPull", "{e}");
        assert!(matches!(e, PullError::NeverPull { .. }), "{e:?}");
        assert!(e.to_string().contains(&image), "{e}");

        pull(&images, &image, IfNotPresent).await;
        std::fs::remove_file(&path).expect("remove");
        let cached = pull(&images, &image, Never).await;
        assert!(!cached.fetched);
    }

    #[tokio::test]
    async fn the_cache_survives_a_restart_and_heals_damaged_blobs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wasm = read(P1_NOOP);
        let path = dir.path().join("app.wasm");
        std::fs::write(&path, &wasm).expect("write");
        let image = format!("file://{}", path.display());
        let digest = pull(&store(dir.path()), &image, IfNotPresent).await.digest;

        // A new store (the agent restarted) knows the image from its index and blob.
        let restarted = store(dir.path());
        let p = pull(&restarted, &image, Never).await;
        assert!(!p.fetched);
        assert_eq!(p.bytes, wasm);

        // A damaged blob is not served: it is discarded and the image fetched again.
        let blob = dir.path().join("images/sha256").join(&digest[7..]);
        std::fs::write(&blob, b"\0asm damaged").expect("damage");
        let restarted = store(dir.path());
        let healed = pull(&restarted, &image, IfNotPresent).await;
        assert!(healed.fetched, "a damaged blob must be fetched again");
        assert_eq!(healed.bytes, wasm);
        assert_eq!(std::fs::read(&blob).expect("blob"), wasm);
    }

    #[tokio::test]
    async fn digest_pins_are_enforced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wasm = read(P1_NOOP);
        let path = dir.path().join("app.wasm");
        std::fs::write(&path, &wasm).expect("write");
        let images = store(dir.path());
        let wrong = sha256(b"something else");
        let e = pull_err(
            &images,
            &format!("{}@{wrong}", path.display()),
            IfNotPresent,
        )
        .await;
        match &e {
            PullError::DigestMismatch {
                expected, actual, ..
            } => {
                assert_eq!(expected, &wrong);
                assert_eq!(actual, &sha256(&wasm));
            }
            other => panic!("expected a digest mismatch, got {other:?}"),
        }
        assert_eq!(e.reason(), "ErrImagePull");
        assert!(e.to_string().contains(&wrong), "{e}");

        let pinned = format!("file://{}@{}", path.display(), sha256(&wasm));
        assert!(pull(&images, &pinned, IfNotPresent).await.fetched);
        // The pin names the blob: once present, any reference pinned to it is served.
        std::fs::remove_file(&path).expect("remove");
        let other_name = format!("/nowhere/else.wasm@{}", sha256(&wasm));
        assert!(!pull(&images, &other_name, Never).await.fetched);
    }

    #[tokio::test]
    async fn bad_files_and_references_fail_clearly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let images = store(dir.path());
        let missing = dir.path().join("missing.wasm");
        let e = pull_err(&images, &missing.display().to_string(), IfNotPresent).await;
        assert!(matches!(e, PullError::FileNotFound { .. }), "{e:?}");
        assert!(
            e.to_string().contains(&missing.display().to_string()),
            "{e}"
        );

        let text = dir.path().join("readme.wasm");
        std::fs::write(&text, "hello").expect("write");
        let e = pull_err(&images, &text.display().to_string(), IfNotPresent).await;
        assert!(e.to_string().contains("not a WebAssembly binary"), "{e}");
        assert_eq!(e.reason(), "ErrImagePull");

        for bad in ["file://relative.wasm", "Upper/Case", "ftp://host/a.wasm"] {
            let e = pull_err(&images, bad, IfNotPresent).await;
            assert_eq!(e.reason(), "InvalidImageName", "{bad}: {e}");
        }
    }
}

mod http {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pulls_over_http_and_reports_status_errors() {
        let wasm = read(P1_NOOP);
        let server = WasmServer::start(wasm.clone(), Duration::ZERO).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let images = store(dir.path());
        let url = server.url("/app.wasm");

        let p = pull(&images, &url, IfNotPresent).await;
        assert!(p.fetched);
        assert_eq!(p.bytes, wasm);
        assert_eq!(p.image_id, sha256(&wasm));
        assert!(!pull(&images, &url, IfNotPresent).await.fetched);
        assert_eq!(server.hits(), 1);
        assert!(
            pull(&images, &url, Always).await.fetched,
            "Always fetches again"
        );
        assert_eq!(server.hits(), 2);

        let pinned = format!("{url}@{}", sha256(&wasm));
        assert_eq!(pull(&images, &pinned, IfNotPresent).await.bytes, wasm);
        let wrong = format!("{url}@{}", sha256(b"other"));
        let e = pull_err(&images, &wrong, IfNotPresent).await;
        assert!(matches!(e, PullError::DigestMismatch { .. }), "{e:?}");

        let missing = server.url("/missing.wasm");
        let e = pull_err(&images, &missing, IfNotPresent).await;
        assert_eq!(e.reason(), "ErrImagePull");
        let text = e.to_string();
        assert!(text.contains(&missing) && text.contains("404"), "{text}");

        // A port nobody listens on: the error names the URL and the cause.
        let closed = format!("http://{}/app.wasm", free_addr());
        let e = pull_err(&images, &closed, IfNotPresent).await;
        assert!(matches!(e, PullError::Connect { .. }), "{e:?}");
        assert!(e.to_string().contains(&closed), "{e}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_pulls_share_one_fetch() {
        let wasm = read(P1_NOOP);
        // The delay keeps the fetch in flight while all 50 callers arrive.
        let server = WasmServer::start(wasm.clone(), Duration::from_millis(300)).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let images = store(dir.path());
        for (policy, path, hits) in [(IfNotPresent, "/a.wasm", 1), (Always, "/b.wasm", 2)] {
            let url = server.url(path);
            let pulls = (0..50).map(|_| {
                let (images, url) = (images.clone(), url.clone());
                tokio::spawn(async move { images.pull(&url, policy).await })
            });
            let results = within("50 pulls", futures::future::join_all(pulls)).await;
            for result in results {
                let p = result.expect("task").expect("pull");
                assert_eq!(p.bytes, wasm);
            }
            assert_eq!(
                server.hits(),
                hits,
                "50 concurrent {policy:?} pulls, one request"
            );
        }
    }
}

mod oci {
    use super::*;

    const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pulls_by_tag_and_by_digest() {
        let registry = Registry::start().await;
        let wasm = read(P1_NOOP);
        let manifest = registry
            .push("apps/noop:v1", &wasm, "application/wasm")
            .await;
        let dir = tempfile::tempdir().expect("tempdir");
        let images = store(dir.path());

        let by_tag = format!("{}/apps/noop:v1", registry.host());
        assert_eq!(PullPolicy::of(None, &by_tag), IfNotPresent);
        let p = pull(&images, &by_tag, IfNotPresent).await;
        assert!(p.fetched);
        assert_eq!(p.bytes, wasm);
        assert_eq!(p.digest, sha256(&wasm));
        assert_eq!(
            p.image_id,
            format!("{}/apps/noop@{manifest}", registry.host())
        );
        assert!(!pull(&images, &by_tag, IfNotPresent).await.fetched);
        let again = pull(&images, &by_tag, Always).await;
        assert!(
            !again.fetched,
            "Always: the manifest is unchanged, the blob is reused"
        );
        assert_eq!(again.image_id, p.image_id);

        let by_digest = format!("{}/apps/noop@{manifest}", registry.host());
        assert_eq!(PullPolicy::of(None, &by_digest), IfNotPresent);
        let p = pull(&images, &by_digest, IfNotPresent).await;
        assert_eq!(p.bytes, wasm);
        assert_eq!(p.image_id, by_digest);

        // A new push under the same tag is seen by Always, not by IfNotPresent.
        let next = read(P1_EXIT_CODE);
        let manifest2 = registry
            .push(
                "apps/noop:v1",
                &next,
                "application/vnd.wasm.content.layer.v1+wasm",
            )
            .await;
        let kept = pull(&images, &by_tag, IfNotPresent).await;
        assert_eq!(kept.digest, sha256(&wasm));
        let fresh = pull(&images, &by_tag, Always).await;
        assert!(fresh.fetched);
        assert_eq!(fresh.bytes, next);
        assert!(fresh.image_id.ends_with(&manifest2), "{}", fresh.image_id);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn wrong_pins_unknown_tags_and_non_wasm_artifacts_fail_clearly() {
        let registry = Registry::start().await;
        let wasm = read(P1_NOOP);
        registry
            .push("apps/noop:v1", &wasm, "application/wasm")
            .await;
        let tarball = b"not wasm, a tar layer".to_vec();
        registry
            .push(
                "apps/linux:v1",
                &tarball,
                "application/vnd.oci.image.layer.v1.tar",
            )
            .await;
        let dir = tempfile::tempdir().expect("tempdir");
        let images = store(dir.path());
        let host = registry.host();

        let wrong = format!("{host}/apps/noop@{}", sha256(b"no such manifest"));
        let e = pull_err(&images, &wrong, IfNotPresent).await;
        assert_eq!(e.reason(), "ErrImagePull");
        assert!(e.to_string().contains("manifest unknown"), "{e}");

        let unknown = format!("{host}/apps/noop:v9");
        let e = pull_err(&images, &unknown, IfNotPresent).await;
        let text = e.to_string();
        assert!(matches!(e, PullError::Registry { .. }), "{e:?}");
        assert!(
            text.contains("manifest unknown") && text.contains(&unknown),
            "{text}"
        );

        let e = pull_err(&images, &format!("{host}/apps/linux:v1"), IfNotPresent).await;
        assert!(matches!(e, PullError::NoWasmLayer { .. }), "{e:?}");
        assert!(
            e.to_string()
                .contains("application/vnd.oci.image.layer.v1.tar"),
            "{e}"
        );

        let e = pull_err(&images, &format!("{host}/apps/noop:v1"), Never).await;
        assert_eq!(e.reason(), "ErrImageNeverPull");
    }

    /// A `docker-registry serve` on a free loopback port, stopped on drop.
    pub(super) struct Registry {
        child: std::process::Child,
        addr: SocketAddr,
        _dir: tempfile::TempDir,
    }

    impl Registry {
        pub(super) async fn start() -> Self {
            // The test's own clients use rustls too, built without a provider.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let dir = tempfile::tempdir().expect("tempdir");
            let addr = free_addr();
            let config = dir.path().join("config.yml");
            let storage = dir.path().join("storage");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n\
                     storage:\n  filesystem:\n    rootdirectory: {}\n\
                     http:\n  addr: {addr}\n",
                    storage.display()
                ),
            )
            .expect("write registry config");
            let child = std::process::Command::new("docker-registry")
                .arg("serve")
                .arg(&config)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("run docker-registry (apt-get install docker-registry)");
            let mut registry = Registry {
                child,
                addr,
                _dir: dir,
            };
            let url = format!("http://{addr}/v2/");
            within("registry start", async {
                loop {
                    if let Some(status) = registry.child.try_wait().expect("wait") {
                        panic!("docker-registry exited early: {status}");
                    }
                    if let Ok(r) = reqwest::get(&url).await
                        && r.status().is_success()
                    {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await;
            registry
        }

        pub(super) fn host(&self) -> String {
            self.addr.to_string()
        }

        /// Pushes `wasm` as a one-layer artifact to `name` (`repo:tag`); returns the
        /// manifest digest.
        pub(super) async fn push(&self, name: &str, wasm: &[u8], media_type: &str) -> String {
            let client = Client::new(ClientConfig {
                protocol: ClientProtocol::Http,
                ..ClientConfig::default()
            });
            let reference: Reference = format!("{}/{name}", self.host()).parse().expect("ref");
            let layer = ImageLayer::new(Bytes::copy_from_slice(wasm), media_type.into(), None);
            let config = Config::new(Bytes::from_static(b"{}"), WASM_CONFIG.into(), None);
            let auth = RegistryAuth::Anonymous;
            within(
                "push",
                client.push(&reference, &[layer], config, &auth, None),
            )
            .await
            .expect("push artifact");
            within("digest", client.fetch_manifest_digest(&reference, &auth))
                .await
                .expect("manifest digest")
        }
    }

    impl Drop for Registry {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An address on loopback that nothing listens on (a port just released by the OS).
fn free_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// An HTTP server on loopback serving one wasm body at every path ending in `.wasm` except
/// `/missing.wasm` (404), after `delay`, counting the requests it answered with the body.
struct WasmServer {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl WasmServer {
    async fn start(body: Vec<u8>, delay: Duration) -> Self {
        use axum::http::StatusCode;
        use axum::http::Uri;

        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        let body = Bytes::from(body);
        let app = axum::Router::new().fallback(move |uri: Uri| {
            let (counter, body) = (Arc::clone(&counter), body.clone());
            async move {
                if uri.path() == "/missing.wasm" || !uri.path().ends_with(".wasm") {
                    return Err(StatusCode::NOT_FOUND);
                }
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                Ok(body)
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve");
        });
        WasmServer { addr, hits, task }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for WasmServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
